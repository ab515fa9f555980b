#!/usr/bin/env bats
# The ringtail supervisor: `up -n 3 -d` on seed 000's port scheme moved by
# -port-offset; status shows every program running and ready; kill -9 of a
# tsdb-head is restarted (restarts=1) and ready again; SIGTERM stops each
# node in order (distributor, block-ship, tsdb-head, gossip-agent) and
# leaves nothing running; `down` stops a detached cluster; `node -config`
# runs one node and ignores stale pid files; bad configs exit 100.

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ../lib/common

# free_offset NODES: a port offset under which every port of NODES nodes
# (9i09, 9i95, 9i10, 7945+i) is free.
free_offset() {
	local n=$1 off i p busy
	for _ in $(seq 50); do
		off=$((11000 + RANDOM % 9000))
		busy=
		for i in $(seq "$n"); do
			for p in $((9009 + 100 * i + off)) $((9095 + 100 * i + off)) \
				$((9010 + 100 * i + off)) $((7945 + i + off)); do
				if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
					busy=1
				fi
			done
		done
		[ -n "$busy" ] || {
			echo "$off"
			return
		}
	done
	return 1
}

setup_file() {
	export DIR BIN RT OFF TOOLS
	DIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/ringtail-sup.XXXXXX")
	BIN=${RINGTAIL_BIN:-$BATS_TEST_DIRNAME/../../build/bin}
	BIN=$(cd "$BIN" && pwd)
	TOOLS=$BIN/../tools
	RT=$BIN/ringtail
	OFF=$(free_offset 3)
	"$RT" up -n 3 -d -fast -dir "$DIR/c" -port-offset "$OFF" -wait 60 \
		> "$DIR/up.out" 2> "$DIR/up.err" 3>&-
}

teardown_file() {
	local f p
	# Whatever a failed test left: supervisors first, then their programs.
	for f in "$DIR"/*/ringtail.pid "$DIR"/*/node-*/pids/ringtail.pid "$DIR"/*/pids/ringtail.pid; do
		[ -f "$f" ] && kill -TERM "$(cat "$f")" 2>/dev/null
	done
	sleep 1
	for f in "$DIR"/*/node-*/pids/*.pid "$DIR"/*/pids/*.pid; do
		[ -f "$f" ] || continue
		p=$(cat "$f")
		tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -qF "$DIR" && kill -9 "$p"
	done
	rm -rf "$DIR"
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] && return
	echo "--- up"
	cat "$DIR/up.out" "$DIR/up.err"
	for f in "$DIR"/c/node-*/logs/ringtail.log "$DIR"/c/node-2/logs/tsdb-head.log; do
		echo "--- $f"
		tail -12 "$f"
	done
}

status_json() {	# status_json NODE PROGRAM: its status line
	"$RT" status -dir "$DIR/c" -json | jq -c --arg n "$1" --arg p "$2" \
		'select(.node == $n and .program == $p)'
}

# restarted_and_ready OLD_PID: node 2's tsdb-head is another process, ready,
# with one restart.
restarted_and_ready() {
	status_json 2 tsdb-head | jq -e --argjson old "$1" \
		'.running and .ready and .restarts == 1 and .pid != $old'
}

@test "up -n 3 -d: seed 000's ports moved by the offset, the URL and prometheus.yml printed" {
	run cat "$DIR/up.out"
	assert_output --partial "Remote write:   http://127.0.0.1:$((9109 + OFF))/api/v1/push"
	assert_output --partial "- url: http://127.0.0.1:$((9109 + OFF))/api/v1/push"
	assert_output --partial "- url: http://127.0.0.1:$((9195 + OFF))/api/v1/read"
	assert_output --partial "ring-inspect -run-dir $DIR/c/node-1/run"
	assert_output --regexp "3 +127.0.0.1:$((9309 + OFF)) +127.0.0.1:$((9395 + OFF)) +127.0.0.1:$((9310 + OFF)) +127.0.0.1:$((7948 + OFF))"
	grep -q "^JOIN=127.0.0.1:$((7946 + OFF))$" "$DIR/c/node-3/node.conf"
	! grep -q '^JOIN=' "$DIR/c/node-1/node.conf"
	[ -d "$DIR/c/bucket" ]
	for i in 1 2 3; do
		for d in run tsdb logs pids; do
			[ -d "$DIR/c/node-$i/$d" ]
		done
	done
}

@test "status: every program of every node running and ready; columns and -json" {
	run "$RT" status -dir "$DIR/c" -json
	assert_success
	echo "$output" | jq -s -e 'length == 15 and all(.[]; .running and .ready and .restarts == 0)'
	echo "$output" | jq -s -e '[.[] | select(.program == "distributor") | .address] ==
		["127.0.0.1:'$((9109 + OFF))'", "127.0.0.1:'$((9209 + OFF))'", "127.0.0.1:'$((9309 + OFF))'"]'
	run "$RT" status -dir "$DIR/c"
	assert_success
	assert_line --index 0 --regexp '^NODE +PROGRAM +PID +UPTIME +RESTARTS +READY +ADDRESS$'
	assert_line --regexp "^ingester-2 +tsdb-head +[0-9]+ +[0-9]+s +0 +yes +127.0.0.1:$((9295 + OFF))$"
	# Three ACTIVE instances named by the supervisor, and a push through node 1.
	"$BIN/ring-inspect" -run-dir "$DIR/c/node-1/run" -json |
		jq -s -e 'map(select(.state == "ACTIVE") | .id) | sort == ["ingester-1", "ingester-2", "ingester-3"]'
	T=$(($(date +%s) * 1000))
	echo "{__name__=\"via_ringtail\"} 1 $T" > "$DIR/sample"
	run "$TOOLS/rw-push" -u "http://127.0.0.1:$((9109 + OFF))/api/v1/push" "$DIR/sample"
	assert_line --index 0 200
}

@test "kill -9 of a node's tsdb-head: restarted with backoff, restarts=1, ready again" {
	old=$(status_json 2 tsdb-head | jq -r .pid)
	kill -9 "$old"
	until_ok 30 restarted_and_ready "$old"
	run grep 'msg="program exited; restarting"' "$DIR/c/node-2/logs/ringtail.log"
	assert_output --regexp "program=tsdb-head pid=$old status=137 uptime=[0-9]+s restarts=1 backoff=1s"
	# The others were not touched.
	"$RT" status -dir "$DIR/c" -json |
		jq -s -e 'all(.[]; .running and (.restarts == 0 or (.node == "2" and .program == "tsdb-head")))'
	grep -q 'msg="WAL replayed"' "$DIR/c/node-2/logs/tsdb-head.log"
}

@test "logs: a node's program, and every log of a node" {
	run "$RT" logs -dir "$DIR/c" -no-follow -n 5 2 tsdb-head
	assert_success
	assert_output --partial 'prog=tsdb-head'
	refute_output --partial 'prog=distributor'
	run "$RT" logs -dir "$DIR/c" -no-follow -n 1 ingester-3
	assert_success
	assert_output --partial "==> $DIR/c/node-3/logs/distributor.log <=="
	assert_output --partial "==> $DIR/c/node-3/logs/ringtail.log <=="
	run "$RT" logs -dir "$DIR/c" -no-follow 7
	assert_failure 1
}

@test "a second up on the same directory or ports is refused" {
	run "$RT" up -n 3 -dir "$DIR/c" -port-offset "$OFF"
	assert_failure 111
	assert_output --partial 'ringtail already runs in this directory'
	run "$RT" up -n 1 -dir "$DIR/other" -port-offset "$OFF"
	assert_failure 111
	assert_output --partial 'port in use'
}

@test "SIGTERM: each node stops distributor, block-ship, tsdb-head, gossip-agent in turn; nothing left" {
	pids=$("$RT" status -dir "$DIR/c" -json | jq -r '.pid')
	[ "$(echo "$pids" | wc -l)" = 15 ]
	kill -TERM "$(cat "$DIR/c/ringtail.pid")"
	until_ok 60 bash -c "! kill -0 $(cat "$DIR/c/ringtail.pid") 2>/dev/null"
	for p in $pids; do
		! kill -0 "$p" 2>/dev/null
	done
	for i in 1 2 3; do
		order=$(grep -o 'msg="stopped" node=ingester-'$i' program=[a-z-]*' \
			"$DIR/c/node-$i/logs/ringtail.log" | sed 's/.*program=//' | tr '\n' ' ')
		assert_equal "$order" "distributor block-ship tsdb-head gossip-agent "
		grep -q 'msg="node stopped"' "$DIR/c/node-$i/logs/ringtail.log"
		# tsdb-head left the ring cleanly (exit 0, LEAVING first).
		grep -q 'program=tsdb-head pid=[0-9]* status=0' "$DIR/c/node-$i/logs/ringtail.log"
		grep -q 'to=LEAVING' "$DIR/c/node-$i/logs/tsdb-head.log"
	done
	run "$RT" status -dir "$DIR/c" -json
	assert_failure 1
	echo "$output" | jq -s -e 'all(.[]; (.running | not) and .pid == null)'
	[ ! -e "$DIR/c/ringtail.pid" ]
}

@test "up -n 1 -d, then down: stopped in order, nothing left" {
	off=$(free_offset 1)
	run "$RT" up -n 1 -d -fast -dir "$DIR/one" -port-offset "$off" -wait 60 3>&-
	assert_success
	assert_output --partial "ringtail: 1 node(s) ready"
	grep -q '^REPLICATION_FACTOR=1$' "$DIR/one/node-1/node.conf"
	pids=$("$RT" status -dir "$DIR/one" -json | jq -r '.pid')
	run "$RT" down -dir "$DIR/one"
	assert_success
	assert_output "ringtail: stopped $DIR/one"
	for p in $pids; do
		! kill -0 "$p" 2>/dev/null
	done
	run "$RT" down -dir "$DIR/one"
	assert_success
	assert_output --partial 'nothing runs'
}

# node_conf FILE OFFSET [KEY=value]...: a one-node config under $DIR/n.
node_conf() {
	local f=$1 off=$2
	shift 2
	{
		echo "# test node"
		echo "NODE=1"
		echo "DIR=$DIR/n"
		echo "BUCKET = '$DIR/bucket'"
		echo "PORT_OFFSET=$off"
		echo "REPLICATION_FACTOR=1"
		echo "TSDB_HEAD_FLAGS=-ingester.min-ready-duration=0s -ingester.final-sleep=0s"
		echo "GOSSIP_AGENT_FLAGS=-memberlist.leave-timeout=1s"
		printf '%s\n' "$@"
	} > "$f"
}

@test "node -config: one node in the foreground; stale pid files ignored; SIGTERM stops it in order" {
	off=$(free_offset 1)
	node_conf "$DIR/node.conf" "$off"
	# Stale pid files: a live process that is not ours, a dead pid.
	mkdir -p "$DIR/n/pids"
	sleep 120 3>&- &
	other=$!
	echo "$other" > "$DIR/n/pids/tsdb-head.pid"
	echo "$other" > "$DIR/n/pids/ringtail.pid"
	echo 999999 > "$DIR/n/pids/distributor.pid"
	"$RT" node -config "$DIR/node.conf" 2> "$DIR/node.log" 3>&- &
	sup=$!
	until_ok 30 "$RT" status -dir "$DIR/n"
	kill -0 "$other"
	run "$RT" status -dir "$DIR/n" -json
	echo "$output" | jq -s -e 'length == 5 and all(.[]; .running and .ready)'
	grep -q "msg=\"started\" node=ingester-1 program=distributor" "$DIR/node.log"
	curl -sf "http://127.0.0.1:$((9109 + off))/ready"
	kill -TERM "$sup"
	wait "$sup"
	kill -0 "$other"
	kill "$other"
	order=$(grep -o 'msg="stopping" node=ingester-1 program=[a-z-]*' "$DIR/node.log" |
		sed 's/.*program=//' | tr '\n' ' ')
	assert_equal "$order" "distributor block-ship tsdb-head gossip-agent "
	run "$RT" status -dir "$DIR/n"
	assert_failure 1
}

@test "backoff: a program that keeps failing waits 1 s, 2 s, 4 s; a stuck tsdb-head gets SIGKILL after STOP_TIMEOUT" {
	off=$(free_offset 1)
	node_conf "$DIR/stuck.conf" "$off" "PROGRAMS=gossip-agent tsdb-head block-ship" \
		"STOP_TIMEOUT=1" "BLOCK_SHIP_FLAGS=-no-such-flag" \
		"TSDB_HEAD_FLAGS=-ingester.min-ready-duration=0s -ingester.final-sleep=30s"
	sed -i 's#^DIR=.*#DIR='"$DIR"'/stuck#' "$DIR/stuck.conf"
	"$RT" node -config "$DIR/stuck.conf" 2> "$DIR/stuck.log" 3>&- &
	sup=$!
	until_ok 20 grep -q 'program=block-ship .*restarts=3 backoff=4s' "$DIR/stuck.log"
	run grep -o 'level=error prog=ringtail msg="program exited; restarting" node=ingester-1 program=block-ship .*' "$DIR/stuck.log"
	assert_line --index 0 --regexp 'status=100 .*restarts=1 backoff=1s$'
	assert_line --index 1 --regexp 'status=100 .*restarts=2 backoff=2s$'
	assert_line --index 2 --regexp 'status=100 .*restarts=3 backoff=4s$'
	until_ok 20 curl -sf "http://127.0.0.1:$((9195 + off))/ready"
	head=$(cat "$DIR/stuck/pids/tsdb-head.pid")
	kill -TERM "$sup"
	wait "$sup"
	! kill -0 "$head" 2>/dev/null
	grep -q "msg=\"did not stop in time; killing it\" node=ingester-1 program=tsdb-head pid=$head timeout=1s" "$DIR/stuck.log"
	grep -q "msg=\"stopped\" node=ingester-1 program=tsdb-head pid=$head status=137" "$DIR/stuck.log"
	grep -q 'msg="stopped" node=ingester-1 program=gossip-agent' "$DIR/stuck.log"
}

@test "node -config with a bad config: a clear error, exit 100" {
	run "$RT" node -config "$DIR/missing.conf"
	assert_failure 100
	assert_output --partial 'msg="bad node config"'
	assert_output --partial 'cannot read the file'
	node_conf "$DIR/bad1.conf" 0 "COLOUR=blue"
	run "$RT" node -config "$DIR/bad1.conf"
	assert_failure 100
	assert_output --regexp 'msg="bad node config" file=[^ ]*bad1.conf line=9 err="unknown key COLOUR"'
	node_conf "$DIR/bad2.conf" 0 "DISTRIBUTOR_PORT=99999"
	run "$RT" node -config "$DIR/bad2.conf"
	assert_failure 100
	assert_output --partial 'DISTRIBUTOR_PORT: not a port: 99999'
	node_conf "$DIR/bad3.conf" 0 'JOIN=$(touch '"$DIR"'/pwned)'
	run "$RT" node -config "$DIR/bad3.conf"
	assert_failure 100
	assert_output --partial 'JOIN: not HOST:PORT'
	[ ! -e "$DIR/pwned" ]
	printf 'NODE=1\njust words\n' > "$DIR/bad4.conf"
	run "$RT" node -config "$DIR/bad4.conf"
	assert_failure 100
	assert_output --partial 'line=2 err="not KEY=value"'
	printf 'NODE=x\nDIR=%s/n\n' "$DIR" > "$DIR/bad5.conf"
	run "$RT" node -config "$DIR/bad5.conf"
	assert_failure 100
	assert_output --partial 'DISTRIBUTOR_PORT is required when NODE is not a number'
	run "$RT" node
	assert_failure 100
	assert_output --partial 'node: -config FILE is required'
}

@test "-h, unknown commands and flags" {
	run "$RT" -h
	assert_success
	assert_output --partial 'Usage: ringtail COMMAND'
	run "$RT" frobnicate
	assert_failure 100
	run "$RT" up -n zero
	assert_failure 100
	run "$RT" status -bogus
	assert_failure 100
	run "$RT"
	assert_failure 100
}

@test "the script is POSIX sh: dash parses it, shellcheck finds nothing" {
	dash -n "$BATS_TEST_DIRNAME/../../contrib/ringtail/ringtail"
	shellcheck -s sh "$BATS_TEST_DIRNAME/../../contrib/ringtail/ringtail"
}
