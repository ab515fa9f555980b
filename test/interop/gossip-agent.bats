#!/usr/bin/env bats
# gossip-agent with the real Go memberlist library (Debian's 0.2.2, through
# the small peer in test/interop/mlpeer), over memberlist's own UDP+TCP
# transport: Go nodes and agents in one cluster, joined both ways, every
# node seeing every other; kill -9 seen as dead and a graceful leave seen
# as left, both ways; a killed node restarted under its name seen alive
# again, both ways; with compression on, off and mixed; KV updates as user
# broadcasts and the KV store as push/pull state, both ways.

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
	GOARGS=()
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
	-memberlist.gossip-interval=50ms -memberlist.pullpush-interval=1s
	-memberlist.leave-timeout=5s)
GOFAST=(-probe-interval 200ms -probe-timeout 100ms -gossip-interval 50ms -pushpull-interval 1s)

# spawn NAME CMD...: start CMD, logging to $D/NAME.log, as no job of this
# shell (so a kill -9 goes without a "Killed" line); sets PID_NAME.
spawn() {
	local n=$1
	shift
	(exec "$@" >> "$D/$n.log" 2>&1 3>&- & echo $! > "$D/$n.pid")
	printf -v "PID_$n" %s "$(cat "$D/$n.pid")"
	PIDS+=("$(cat "$D/$n.pid")")
}

# low_port: free_port below the ephemeral range (32768-60999): a port there
# may be held by a TIME_WAIT of one of curl's connections (no SO_REUSEADDR),
# and then listening on it fails.
low_port() {
	local p
	while p=$(free_port) && [ "$p" -ge 32768 ]; do :; done
	echo "$p"
}

# ports NAME: sets PORT_NAME and HTTP_NAME to two free ports, unless set
# already (a restarted node keeps its ports).
ports() {
	local p=PORT_$1 port http
	[ -n "${!p:-}" ] && return
	port=$(low_port)
	while http=$(low_port) && [ "$http" = "$port" ]; do :; done
	printf -v "PORT_$1" %s "$port"
	printf -v "HTTP_$1" %s "$http"
}

# agent NAME [flags...]: a gossip-agent (UDP+TCP transport).
agent() {
	local n=$1 port http
	shift
	ports "$n"
	port=PORT_$n http=HTTP_$n
	mkdir -p "$D/$n"
	printf -v "KIND_$n" agent
	spawn "$n" "$BIN/gossip-agent" -run-dir="$D/$n" -memberlist.transport=udp \
		-memberlist.nodename="$n" -memberlist.randomize-node-name=false \
		-memberlist.bind-addr=127.0.0.1 -memberlist.bind-port="${!port}" \
		-server.http-listen-address=127.0.0.1 -server.http-listen-port="${!http}" \
		"${FAST[@]}" "$@"
	until_ok 10 curl -sf "http://127.0.0.1:${!http}/memberlist"
}

# gonode NAME [flags...]: a Go memberlist node (mlpeer).
gonode() {
	local n=$1 port http
	shift
	ports "$n"
	port=PORT_$n http=HTTP_$n
	printf -v "KIND_$n" go
	spawn "$n" "$TOOLS/mlpeer" -name "$n" -bind 127.0.0.1 -port "${!port}" \
		-http "127.0.0.1:${!http}" "${GOFAST[@]}" "$@"
	until_ok 10 curl -sf "http://127.0.0.1:${!http}/members"
}

# state_on OBSERVER NODE: NODE's state as OBSERVER (agent or Go node) sees it.
state_on() {
	local http=HTTP_$1 kind=KIND_$1 path=/members
	[ "${!kind}" = agent ] && path=/memberlist/members
	curl -s "http://127.0.0.1:${!http}$path" | jq -r --arg n "$2" '.[] | select(.name == $n) | .state'
}

is_state() {	# is_state OBSERVER NODE STATE
	[ "$(state_on "$1" "$2")" = "$3" ]
}

all_see_alive() {	# all_see_alive NODE...: every node sees every node (itself too) alive
	local o n
	for o in "$@"; do
		for n in "$@"; do
			is_state "$o" "$n" alive || return 1
		done
	done
}

# all_see STATE NODE OBSERVER...: every OBSERVER comes to see NODE in STATE
# (20 s each); says who did not.
all_see() {
	local state=$1 node=$2 o
	shift 2
	for o in "$@"; do
		until_ok 20 is_state "$o" "$node" "$state" ||
			{ echo "$o sees $node as '$(state_on "$o" "$node")', not $state"; return 1; }
	done
}

metric() {	# metric AGENT NAME: a counter's value on an agent's /metrics
	local http=HTTP_$1
	curl -s "http://127.0.0.1:${!http}/metrics" | awk -v n="$2" '$1 == n { print $2 }'
}

pushpulls() {	# pushpulls AGENT N: the agent has merged at least N push/pulls
	[ "$(metric "$1" ringtail_memberlist_pushpulls_total)" -ge "$2" ]
}

# clean AGENT...: each agent, once it has merged push/pulls past its join,
# has refused no packet (bad CRC, label, compression or encoding).
clean() {
	local a
	for a in "$@"; do
		until_ok 10 pushpulls "$a" 3 || { echo "$a merged no periodic push/pull"; return 1; }
		[ "$(metric "$a" ringtail_memberlist_packets_refused_total)" = 0 ] ||
			{ echo "$a refused packets"; return 1; }
	done
}

# cluster_of_four [agent flags...]: a1; go1 joins a1 (a Go node joins an
# agent); a2 joins go1 (an agent joins a Go node); go2 joins a2. Go nodes
# get ${GOARGS[@]}. Every node sees all four alive.
cluster_of_four() {
	agent a1 "$@"
	gonode go1 -join "127.0.0.1:$PORT_a1" ${GOARGS[@]+"${GOARGS[@]}"}
	agent a2 -memberlist.join="127.0.0.1:$PORT_go1" "$@"
	gonode go2 -join "127.0.0.1:$PORT_a2" ${GOARGS[@]+"${GOARGS[@]}"}
	run until_ok 20 all_see_alive a1 a2 go1 go2
	assert_success
	run clean a1 a2
	assert_success
}

@test "Go nodes and agents join each other both ways and all see all four alive" {
	cluster_of_four
}

@test "kill -9 of a Go node is seen as dead by the agents, and of an agent by the Go nodes" {
	cluster_of_four
	kill -9 "$PID_go2"
	run all_see dead go2 a1 a2 go1
	assert_success
	kill -9 "$PID_a2"
	run all_see dead a2 go1 a1
	assert_success
}

@test "a graceful leave is seen as left, both ways" {
	cluster_of_four
	curl -sf -XPOST "http://127.0.0.1:$HTTP_go2/leave"
	run all_see left go2 a1 a2 go1
	assert_success
	kill -TERM "$PID_a2"
	run all_see left a2 go1 a1
	assert_success
	run until_ok 10 sh -c "! kill -0 $PID_a2"	# and it exits
	assert_success
}

@test "a node killed and restarted under its name and address is alive again, both ways" {
	cluster_of_four
	kill -9 "$PID_go2"
	run all_see dead go2 a1 a2
	assert_success
	gonode go2 -join "127.0.0.1:$PORT_a1"
	run until_ok 20 all_see_alive a1 a2 go1 go2
	assert_success
	kill -9 "$PID_a2"
	run all_see dead a2 go1 go2
	assert_success
	agent a2 -memberlist.join="127.0.0.1:$PORT_go1"
	run until_ok 20 all_see_alive a1 a2 go1 go2
	assert_success
}

@test "the same cluster with compression off on both sides" {
	GOARGS=(-compression=false)
	cluster_of_four -memberlist.compression-enabled=false
	kill -9 "$PID_go2"
	run all_see dead go2 a1 a2 go1
	assert_success
}

@test "the same cluster with compression mixed: agents on and Go nodes off, then the reverse" {
	GOARGS=(-compression=false)
	cluster_of_four -memberlist.compression-enabled=true
	kill -9 "${PIDS[@]}"
	PIDS=()
	unset PORT_a1 PORT_a2 PORT_go1 PORT_go2
	GOARGS=(-compression=true)
	cluster_of_four -memberlist.compression-enabled=false
}

@test "a node that left and comes back under its name and address is alive again, both ways" {
	cluster_of_four
	curl -sf -XPOST "http://127.0.0.1:$HTTP_go2/leave"
	run all_see left go2 a1 a2
	assert_success
	gonode go2 -join "127.0.0.1:$PORT_a1"
	run until_ok 20 all_see_alive a1 a2 go1 go2
	assert_success
	kill -TERM "$PID_a2"
	run all_see left a2 go1 go2
	assert_success
	until_ok 10 sh -c "! kill -0 $PID_a2"
	agent a2 -memberlist.join="127.0.0.1:$PORT_go1"
	run until_ok 20 all_see_alive a1 a2 go1 go2
	assert_success
}

@test "a node paused until declared dead refutes it when resumed, both ways" {
	cluster_of_four
	kill -STOP "$PID_a2"
	run all_see dead a2 go1 go2 a1
	assert_success
	kill -CONT "$PID_a2"
	run until_ok 20 all_see_alive a1 a2 go1 go2
	assert_success
	kill -STOP "$PID_go2"
	run all_see dead go2 a1 a2 go1
	assert_success
	kill -CONT "$PID_go2"
	run until_ok 20 all_see_alive a1 a2 go1 go2
	assert_success
}

# The KV store across the Go library: the Go peer relays raw user messages
# and push/pull state, the agents speak dskit's KeyValuePair in them.
hex_of() { printf %s "$1" | od -An -tx1 | tr -d ' \n'; }
sock() { echo "$D/$1/gossip-agent.sock"; }
has_instance() {	# has_instance AGENT ID
	"$TOOLS/kv-tool" "$(sock "$1")" get collectors/ring | grep -q "\"id\":\"$2\""
}
received() {	# received GONODE HEX: the Go node got a user message containing HEX
	local http=HTTP_$1
	curl -s "http://127.0.0.1:${!http}/received" | grep -q "$2"
}
remote_state_has() {	# remote_state_has GONODE HEX
	local http=HTTP_$1
	curl -s "http://127.0.0.1:${!http}/remote-state" | grep -q "$2"
}

@test "user broadcasts cross both ways: a CAS reaches the Go nodes, a Go broadcast the agents" {
	cluster_of_four
	"$TOOLS/kv-tool" "$(sock a1)" register collectors/ring ing-a1 10.0.0.1:9095 16
	run until_ok 20 received go2 "$(hex_of ing-a1)"
	assert_success
	"$TOOLS/kv-tool" - pair collectors/ring ing-go 10.0.0.9:9095 | head -1 | xxd -r -p > "$D/pair"
	curl -s --data-binary @"$D/pair" "http://127.0.0.1:$HTTP_go1/broadcast"
	run until_ok 20 has_instance a2 ing-go
	assert_success
	run until_ok 20 has_instance a1 ing-go
	assert_success
}

@test "push/pull user state crosses both ways, compression on and off" {
	local c
	for c in true false; do
		agent "s$c" -memberlist.compression-enabled=$c
		"$TOOLS/kv-tool" "$(sock "s$c")" register collectors/ring "ing-s$c" 10.0.0.2:9095 8
		# a Go node joining an agent takes the agent's state
		local port=PORT_s$c
		gonode "g$c" -compression=$c -join "127.0.0.1:${!port}"
		run until_ok 20 remote_state_has "g$c" "$(hex_of "ing-s$c")"
		assert_success
		# an agent joining a Go node takes the Go node's state
		"$TOOLS/kv-tool" - pair collectors/ring "ing-g$c" | tail -1 | xxd -r -p > "$D/state"
		local http=HTTP_g$c gport=PORT_g$c
		curl -s -XPUT --data-binary @"$D/state" "http://127.0.0.1:${!http}/state"
		agent "k$c" -memberlist.compression-enabled=$c -memberlist.join="127.0.0.1:${!gport}"
		run until_ok 20 has_instance "k$c" "ing-g$c"
		assert_success
	done
}
