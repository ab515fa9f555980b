#!/usr/bin/env bats
# gossip-agent with the real Go memberlist library (Debian's 0.2.2, through
# the small peer in test/interop/mlpeer): Go nodes and agents in one
# cluster, joined both ways; kill -9 seen as dead and graceful leave seen
# as left, both ways; user broadcasts and push/pull state across, both
# ways; with compression on and off.

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ../lib/common

setup_file() {
	local b=${BUILD:-build}
	case $b in /*) ;; *) b=$PWD/$b ;; esac
	export BIN=${RINGTAIL_BIN:-$b/bin} TOOLS=${RINGTAIL_TOOLS:-$b/tools}
	BUILD=$b test/interop/mlpeer/build > /dev/null
}

setup() {
	D=$BATS_TEST_TMPDIR
	PIDS=()
}

teardown() {
	local p
	for p in "${PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null || true
	done
	if [ -z "$BATS_TEST_COMPLETED" ]; then
		tail -n 15 "$D"/*.log
	fi
}

FAST=(-memberlist.probe-interval=200ms -memberlist.probe-timeout=100ms
	-memberlist.gossip-interval=50ms -memberlist.pullpush-interval=1s)
GOFAST=(-probe-interval 200ms -probe-timeout 100ms -gossip-interval 50ms -pushpull-interval 1s)

# agent NAME [flags...]: an agent on free ports; sets PORT_NAME, HTTP_NAME, PID_NAME.
agent() {
	local n=$1 port http
	shift
	port=$(free_port)
	http=$(free_port)
	mkdir -p "$D/$n"
	"$BIN/gossip-agent" -run-dir="$D/$n" -memberlist.transport=udp -memberlist.nodename="$n" \
		-memberlist.randomize-node-name=false -memberlist.bind-addr=127.0.0.1 \
		-memberlist.bind-port="$port" -server.http-listen-address=127.0.0.1 \
		-server.http-listen-port="$http" "${FAST[@]}" "$@" >> "$D/$n.log" 2>&1 3>&- &
	PIDS+=($!)
	printf -v "PORT_$n" %s "$port"
	printf -v "HTTP_$n" %s "$http"
	printf -v "PID_$n" %s "$!"
	until_ok 10 test -S "$D/$n/gossip-agent.sock"
}

# gonode NAME [flags...]: a Go memberlist node; sets PORT_NAME, HTTP_NAME, PID_NAME.
gonode() {
	local n=$1 port http
	shift
	port=$(free_port)
	http=$(free_port)
	"$TOOLS/mlpeer" -name "$n" -bind 127.0.0.1 -port "$port" -http "127.0.0.1:$http" \
		"${GOFAST[@]}" "$@" >> "$D/$n.log" 2>&1 3>&- &
	PIDS+=($!)
	printf -v "PORT_$n" %s "$port"
	printf -v "HTTP_$n" %s "$http"
	printf -v "PID_$n" %s "$!"
	until_ok 10 curl -sf "http://127.0.0.1:$http/members"
}


# state_on OBSERVER NODE: NODE's state as OBSERVER (agent or Go node) sees it.
state_on() {
	local http_var=HTTP_$1 url
	url=http://127.0.0.1:${!http_var}
	if [ -S "$D/$1/gossip-agent.sock" ]; then
		curl -s "$url/memberlist"
	else
		curl -s "$url/members"
	fi | jq -r --arg n "$2" '.[] | select(.name == $n) | .state'
}

is_state() {	# is_state OBSERVER NODE STATE
	[ "$(state_on "$1" "$2")" = "$3" ]
}

all_see_alive() {	# all_see_alive NODE...: every node sees every node alive
	local o n
	for o in "$@"; do
		for n in "$@"; do
			[ "$o" = "$n" ] && [ -S "$D/$o/gossip-agent.sock" ] && continue
			is_state "$o" "$n" alive || return 1
		done
	done
}

cluster_of_four() {	# go1 <- a1 (Go joins an agent), a2 -> go1 (an agent joins a Go node)
	agent a1 "$@"
	gonode go1 -join "127.0.0.1:$PORT_a1" ${GOARGS[@]+"${GOARGS[@]}"}
	agent a2 -memberlist.join="127.0.0.1:$PORT_go1" "$@"
	gonode go2 -join "127.0.0.1:$PORT_a2" ${GOARGS[@]+"${GOARGS[@]}"}
	until_ok 20 all_see_alive a1 a2 go1 go2
}

@test "Go nodes and agents join each other both ways and all see all" {
	cluster_of_four
	run state_on a1 go2
	assert_output alive
	run state_on go1 a2
	assert_output alive
}

@test "the same cluster with compression off on both sides" {
	GOARGS=(-compression=false)
	cluster_of_four -memberlist.compression-enabled=false
}

@test "kill -9 of a Go node is seen as dead by the agents, and of an agent by the Go nodes" {
	cluster_of_four
	kill -9 "$PID_go2"
	run until_ok 20 is_state a1 go2 dead
	assert_success
	run until_ok 20 is_state a2 go2 dead
	assert_success
	kill -9 "$PID_a2"
	run until_ok 20 is_state go1 a2 dead
	assert_success
	run until_ok 20 is_state a1 a2 dead
	assert_success
}

@test "a graceful leave is seen as left, both ways" {
	cluster_of_four
	curl -s -XPOST "http://127.0.0.1:$HTTP_go2/leave"
	run until_ok 20 is_state a1 go2 left
	assert_success
	kill -TERM "$PID_a2"
	run until_ok 20 is_state go1 a2 left
	assert_success
	run until_ok 20 is_state a1 a2 left
	assert_success
}

@test "user broadcasts cross both ways: a CAS reaches the Go nodes, a Go broadcast reaches the agents" {
	cluster_of_four
	"$TOOLS/kv-tool" "$D/a1/gossip-agent.sock" register collectors/ring ing-a1 10.0.0.1:9095 16
	key=$(printf collectors/ring | od -An -tx1 | tr -d ' \n')
	run until_ok 20 sh -c "curl -s http://127.0.0.1:$HTTP_go2/received | grep -q $key"
	assert_success
	"$TOOLS/kv-tool" - pair collectors/ring ing-go 10.0.0.9:9095 | head -1 | xxd -r -p > "$D/pair"
	curl -s --data-binary @"$D/pair" "http://127.0.0.1:$HTTP_go1/broadcast"
	run until_ok 20 sh -c "$TOOLS/kv-tool $D/a2/gossip-agent.sock get collectors/ring | grep -q ing-go"
	assert_success
	run until_ok 20 sh -c "$TOOLS/kv-tool $D/a1/gossip-agent.sock get collectors/ring | grep -q ing-go"
	assert_success
}

@test "push/pull user state crosses both ways, compression on and off" {
	for c in true false; do
		agent "s$c" -memberlist.compression-enabled=$c
		local port=PORT_s$c http
		"$TOOLS/kv-tool" "$D/s$c/gossip-agent.sock" register collectors/ring "ing-s$c" 10.0.0.2:9095 8
		gonode "g$c" -compression=$c
		http=HTTP_g$c
		"$TOOLS/kv-tool" - pair collectors/ring "ing-g$c" | tail -1 | xxd -r -p > "$D/state"
		curl -s -XPUT --data-binary @"$D/state" "http://127.0.0.1:${!http}/state"
		# the agent joins the Go node: one push/pull each way
		agent "j$c" -memberlist.compression-enabled=$c -memberlist.join="127.0.0.1:${!port}"
		curl -s -XPOST --data-binary @"$D/state" "http://127.0.0.1:${!http}/state"
		run until_ok 20 sh -c "$TOOLS/kv-tool $D/j$c/gossip-agent.sock get collectors/ring | grep -q ing-s$c"
		assert_success
		# a Go node pulls an agent's state when it joins it
		gonode "h$c" -compression=$c -join "127.0.0.1:${!port}"
		local hh=HTTP_h$c
		run until_ok 20 sh -c "curl -s http://127.0.0.1:${!hh}/remote-state | grep -q \$(printf ing-s$c | od -An -tx1 | tr -d ' \n')"
		assert_success
		# and an agent joining a Go node takes the Go node's state
		agent "k$c" -memberlist.compression-enabled=$c -memberlist.join="127.0.0.1:$(eval echo \$PORT_g$c)"
		run until_ok 20 sh -c "$TOOLS/kv-tool $D/k$c/gossip-agent.sock get collectors/ring | grep -q ing-g$c"
		assert_success
	done
}
