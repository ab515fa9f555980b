#!/usr/bin/env bats
# A cluster started by the supervisor (ringtail up -n 3 -fast): kill -9 of a
# node's tsdb-head under load is restarted by the supervisor, replays its
# WAL and is ACTIVE again, and no acknowledged sample is missing from any
# quorum; a whole node killed (supervisor, agent and all) goes unhealthy
# while pushes keep succeeding and the distributor counts the failed
# replica writes.

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ../lib/common

setup_file() {
	export DIR BIN TOOLS OFF C
	DIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/ringtail-cluster.XXXXXX")
	BIN=${RINGTAIL_BIN:-$BATS_TEST_DIRNAME/../../build/bin}
	TOOLS=$BIN/../tools
	OFF=$((50 + RANDOM % 40))
	C=$DIR/c
	"$BIN/ringtail" up -n 3 -d -fast -dir "$C" -port-offset "$OFF" > "$DIR/up.out" 2>&1 3>&-
}

teardown_file() {
	"$BIN/ringtail" down -dir "$C" > /dev/null 2>&1 || true
	pkill -9 -f "$C/" 2>/dev/null || true
	rm -rf "$DIR"
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] && return
	"$BIN/ringtail" status -dir "$C" || true
	tail -n 5 "$C"/node-*/logs/*.log
}

url() { echo "http://127.0.0.1:$((9009 + $1 * 100 + OFF))"; }		# node N's distributor
head_url() { echo "http://127.0.0.1:$((9095 + $1 * 100 + OFF))"; }	# node N's tsdb-head
pid_of() { cat "$C/node-$1/pids/$2.pid"; }

state_of() {	# state_of ID: as node 1's agent shows it
	"$BIN/ring-inspect" -run-dir "$C/node-1/run" -json |
		jq -r --arg id "$1" 'select(.id == $id) | .state'
}
active() { [ "$(state_of "$1")" = ACTIVE ]; }
head_ready() { curl -sf -o /dev/null "$(head_url "$1")/ready"; }
restarted() {	# restarted N PROGRAM: the supervisor restarted it at least once
	"$BIN/ringtail" status -dir "$C" -json |
		jq -s -e --arg p "$2" --arg n "$1" \
		'[.[] | select(.node == $n and .program == $p and .restarts >= 1)] | length == 1'
}
unhealthy() {
	[ "$("$BIN/ring-inspect" -run-dir "$C/node-1/run" -ring.heartbeat-timeout=15s -json |
		jq -r --arg id "$1" 'select(.id == $id) | .healthy')" = false ]
}

@test "ringtail up -n 3: three ACTIVE tsdb-heads, every distributor ready" {
	# up returns once every distributor can take writes: a quorum, two of
	# the three heads; the third may still be observing the ring (2 s)
	for n in 1 2 3; do
		until_ok 20 active "ingester-$n"
		curl -sf -o /dev/null "$(url "$n")/ready"
	done
	grep -q "Remote write:   $(url 1)/api/v1/push" "$DIR/up.out"
}

@test "kill -9 of a tsdb-head under load: restarted, replayed, ACTIVE again; no acknowledged sample lost" {
	T=$(($(date +%s) * 1000 - 600000))
	"$TOOLS/rw-push" -u "$(url 1)/api/v1/push" -seq 2000 -series 20 -ts "$T" -step 100 \
		> "$DIR/acks" 2>/dev/null 3>&- &
	pusher=$!
	until_ok 10 test -s "$DIR/acks"
	old=$(pid_of 2 tsdb-head)
	kill -9 "$old"
	wait "$pusher"
	assert_equal "$(grep -c '^ack ' "$DIR/acks")" 2000
	until_ok 30 restarted 2 tsdb-head
	[ "$(pid_of 2 tsdb-head)" != "$old" ]
	until_ok 60 head_ready 2
	until_ok 20 active ingester-2
	grep -q 'msg="WAL replayed"' "$C/node-2/logs/tsdb-head.log"
	for n in 1 2 3; do
		"$TOOLS/rw-push" -read '{__name__="seq_total"}' -start 0 -end 4000000000000 \
			-u "$(head_url "$n")/api/v1/read" -t fake | awk '{ print $3, $NF }'
	done | sort | uniq -c | awk '$1 >= 2 { print $2, $3 }' | sort > "$DIR/have"
	awk '$1 == "ack" { for (s = 0; s < 20; s++) print "series=\"" s "\"}", $3 }' "$DIR/acks" |
		sort > "$DIR/want"
	assert_equal "$(comm -23 "$DIR/want" "$DIR/have" | wc -l)" 0
}

@test "a whole node killed: unhealthy after the heartbeat timeout, pushes succeed, failures counted" {
	# As if node 3's machine died: `ringtail up` (which would start the node
	# again on this host) goes first, then all that runs from the node's dir.
	pkill -9 -f "ringtail up .*-dir $C "
	pkill -9 -f "$C/node-3/"
	sleep 0.5
	! pgrep -f "$C/node-3/"
	T=$(($(date +%s) * 1000))
	for i in $(seq 10); do
		echo "{__name__=\"after_kill\", i=\"$i\"} 1 $T" > "$DIR/one"
		run "$TOOLS/rw-push" -u "$(url 1)/api/v1/push" "$DIR/one"
		assert_line --index 0 200
	done
	until_ok 30 unhealthy ingester-3
	run "$TOOLS/rw-push" -u "$(url 2)/api/v1/push" "$DIR/one"
	assert_line --index 0 200
	curl -sf "$(url 1)/metrics" | awk '$1 ~ /^cortex_distributor_ingester_append_failures_total\{ingester="ingester-3"/ { f += $2 }
	    END { exit !(f >= 1) }'
}
