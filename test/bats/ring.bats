#!/usr/bin/env bats
# The ring over memberlist: three nodes, each a gossip-agent and a
# tsdb-head whose lifecycler registers through the agent's socket.
# ring-inspect reads it through any node's agent or as a member itself;
# graceful stops leave, kill -9 goes unhealthy and forget removes it
# everywhere; two heads started with the same tokens file settle without
# a shared token.

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ../lib/common
load ../lib/ring

state_is() {	# state_is NODE ID STATE...: one of the states ("" for absent)
	local st
	st=$(state_on "$1" "$2")
	shift 2
	for want in "$@"; do
		[ "$st" = "$want" ] && return 0
	done
	return 1
}

# unhealthy ID: with a 3 s heartbeat timeout, node 1's agent shows ID unhealthy.
unhealthy() {
	[ "$(inspect 1 -ring.heartbeat-timeout=3s -json |
		jq -r --arg id "$1" 'select(.id == $id) | .healthy')" = false ]
}

gone_everywhere() {	# gone_everywhere ID
	local n
	for n in 1 2 3; do
		[ -z "$(state_on "$n" "$1")" ] || return 1
	done
}

setup_file() {
	export DIR BIN
	DIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/ringtail-ring.XXXXXX")
	BIN=${RINGTAIL_BIN:-$BATS_TEST_DIRNAME/../../build/bin}
	start_agent 1
	start_agent 2 "$(cat "$DIR/mport1")"
	start_agent 3 "$(cat "$DIR/mport1")"
	for i in 1 2 3; do
		start_head "$i" "$i"
	done
}

teardown_file() {
	local f
	for f in "$DIR"/headpid* "$DIR"/agentpid*; do
		[ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
	done
	rm -rf "$DIR"
}

teardown() {
	if [ -n "${BATS_TEST_COMPLETED:-}" ]; then
		return
	fi
	for f in "$DIR"/head*.log "$DIR"/agent1.log; do
		echo "--- $f"
		tail -15 "$f"
	done
}

@test "three tsdb-heads: three ACTIVE instances of 128 tokens, each owning about a third" {
	for n in 1 2 3; do
		until_ok 20 active_on "$n" 3
	done
	run inspect 2 -json
	assert_success
	echo "$output" | jq -s -e 'length == 3 and all(.[]; .tokens == 128 and .healthy)'
	# Ownership sums to 100% and each share is within 8 points of a third.
	echo "$output" | jq -s -e '(map(.ownership) | add) > 99.99 and (map(.ownership) | add) < 100.01'
	echo "$output" | jq -s -e 'all(.[]; .ownership > 25.33 and .ownership < 41.33)'
	echo "$output" | jq -s -e 'map(.address | test("^127\\.0\\.0\\.1:[0-9]+$")) | all'
	for i in 1 2 3; do
		until_ok 10 curl -sf -o /dev/null "http://$(echo "$output" |
			jq -r --arg id "head-$i" 'select(.id == $id) | .address')/ready"
	done
}

@test "the table, -check and tokens" {
	run inspect 1
	assert_success
	assert_line --index 0 --regexp '^INSTANCE +ZONE +STATE +ADDRESS +REGISTERED +HEARTBEAT +TOKENS +OWNERSHIP +HEALTH'
	assert_line --regexp '^head-1 +- +ACTIVE +127\.0\.0\.1:[0-9]+ .* 128 +[0-9.]+% +ok'
	assert_output --partial '3 instances, 3 healthy, 384 tokens, ownership 100%'
	refute_output --partial $'\033['
	run inspect 1 -color=always
	assert_output --partial $'\033[32mACTIVE'
	COLUMNS=60 run inspect 1
	refute_line --index 0 --partial REGISTERED
	assert_line --index 0 --partial HEARTBEAT
	run inspect 1 -check
	assert_success
	assert_output --partial 'OK 3 instances ACTIVE and healthy'
	run inspect 3 -check -check.max-ownership-skew=0
	assert_equal "$status" 1
	assert_output --partial 'fair share'
	run inspect 2 tokens head-3
	assert_success
	assert_equal "$(echo "$output" | wc -l)" 128
	assert_equal "$(echo "$output" | sort -n | uniq | wc -l)" 128
	assert_equal "$output" "$(echo "$output" | sort -n)"
	run inspect 2 tokens no-such-head
	assert_equal "$status" 1
}

@test "owners: the same three replicas from every agent and from a passive member" {
	run inspect 1 owners -tenant t '{__name__="up",job="x"}'
	assert_success
	assert_line --index 0 --regexp '^# token [0-9]+, 3 replicas, 1 may fail$'
	assert_equal "$(echo "$output" | tail -n +2 | cut -f1 | sort | tr '\n' ' ')" "head-1 head-2 head-3 "
	first=$output
	for n in 2 3; do
		run inspect "$n" owners -tenant t 'up{job="x"}'
		assert_equal "$output" "$first"
	done
	run "$BIN/ring-inspect" -memberlist.join="127.0.0.1:$(cat "$DIR/mport2")" \
		-memberlist.bind-addr=127.0.0.1 owners -tenant t '{job="x",__name__="up"}'
	assert_success
	assert_equal "$output" "$first"
	# The token depends on the tenant and on every label.
	a=$(inspect 1 owners -json -tenant t '{__name__="up",job="x"}' | jq .token)
	b=$(inspect 1 owners -json -tenant u '{__name__="up",job="x"}' | jq .token)
	c=$(inspect 1 owners -json -tenant t '{__name__="up",job="y"}' | jq .token)
	[ "$a" != "$b" ] && [ "$a" != "$c" ]
	run inspect 1 owners -tenant t '{job=~"x"}'
	assert_equal "$status" 100
	assert_output --partial 'name=\"value\" pairs only'
}

@test "a graceful stop: LEAVING, then gone on every agent" {
	kill -TERM "$(cat "$DIR/headpid3")"
	until_ok 10 state_is 1 head-3 LEAVING ""
	until_ok 20 gone_everywhere head-3
	grep -q 'msg="unregistered from the ring"' "$DIR/head3.log"
	grep -q 'to=LEAVING' "$DIR/head3.log"
	# A memberlist ring keeps the removal as a LEFT tombstone, hidden from readers.
	kv=$(curl -sf "http://127.0.0.1:$(grep -o 'http_port=[0-9]*' "$DIR/agent1.log" | head -1 | cut -d= -f2)/memberlist/kv")
	echo "$kv" | jq -e '.[] | select(.key == "collectors/ring")'
}

@test "kill -9: unhealthy after the heartbeat timeout, forget removes it everywhere" {
	kill -9 "$(cat "$DIR/headpid2")"
	until_ok 15 unhealthy head-2
	run inspect 1 -ring.heartbeat-timeout=3s
	assert_line --regexp '^head-2 .* UNHEALTHY'
	run inspect 1 -ring.heartbeat-timeout=3s -check
	assert_equal "$status" 1
	assert_output --partial 'FAIL instance head-2: last heartbeat'
	run inspect 3 -ring.heartbeat-timeout=3s forget head-1
	assert_equal "$status" 1
	assert_output --partial 'healthy: use -force'
	run inspect 3 -ring.heartbeat-timeout=3s forget head-2
	assert_success
	until_ok 10 gone_everywhere head-2
	[ "$(state_on 2 head-1)" = ACTIVE ]
}

@test "two heads started with the same tokens file: the conflict is found and no token is shared" {
	for i in $(seq 128); do echo $(( (RANDOM << 17 | RANDOM << 2 | RANDOM & 3) & 0xffffffff )); done |
		sort -nu | jq -s -c '{tokens: .}' > "$DIR/tokens.json"
	cp "$DIR/tokens.json" "$DIR/tokens4.json"
	cp "$DIR/tokens.json" "$DIR/tokens5.json"
	start_head 4 1 -ingester.observe-period=2s -ingester.tokens-file-path="$DIR/tokens4.json"
	start_head 5 3 -ingester.observe-period=2s -ingester.tokens-file-path="$DIR/tokens5.json"
	until_ok 30 state_is 2 head-4 ACTIVE
	until_ok 30 state_is 2 head-5 ACTIVE
	until_ok 10 grep -q 'token conflict' "$DIR/head5.log"
	# The instance with the larger ID lost and took new tokens, kept in its file.
	[ "$(jq -c .tokens "$DIR/tokens5.json")" != "$(jq -c .tokens "$DIR/tokens.json")" ]
	assert_equal "$(jq -c .tokens "$DIR/tokens4.json")" "$(jq -c .tokens "$DIR/tokens.json")"
	for id in head-1 head-4 head-5; do
		run inspect 2 tokens "$id"
		assert_success
		assert_equal "$(echo "$output" | wc -l)" 128
		echo "$output"
	done > "$DIR/all-tokens"
	assert_equal "$(sort -n "$DIR/all-tokens" | uniq -d | wc -l)" 0
	assert_equal "$(wc -l < "$DIR/all-tokens")" 384
	assert_equal "$(jq -c '.tokens' "$DIR/tokens5.json" | jq length)" 128
}

@test "the ring survives an instance without tokens, a heartbeat from the future and a duplicate ID" {
	KVTOOL=$BIN/../tools/kv-tool
	"$KVTOOL" "$DIR/r1/gossip-agent.sock" register collectors/ring no-tokens 10.9.9.9:1 0
	"$KVTOOL" "$DIR/r1/gossip-agent.sock" register collectors/ring skewed 10.9.9.8:1 16 ACTIVE 7200
	until_ok 10 state_is 3 skewed ACTIVE
	until_ok 10 state_is 3 no-tokens ACTIVE
	run inspect 3 -json
	assert_success
	echo "$output" | jq -s -e '.[] | select(.id == "no-tokens") | .tokens == 0 and .ownership == 0'
	echo "$output" | jq -s -e '.[] | select(.id == "skewed") | .healthy and .heartbeat_age_seconds < -7000'
	run inspect 3
	assert_line --regexp '^skewed .* in 7[0-9]{3}s '
	run inspect 2 owners -tenant t '{__name__="up"}'
	assert_success
	# forget through a passive member: the tombstone is gossiped to every agent.
	run "$BIN/ring-inspect" -memberlist.join="127.0.0.1:$(cat "$DIR/mport3")" \
		-memberlist.bind-addr=127.0.0.1 -force forget no-tokens
	assert_success
	until_ok 10 gone_everywhere no-tokens
	# A second process heartbeating as head-1: one entry, nobody crashes.
	start_head 6 2 -ingester.lifecycler.ID=head-1
	sleep 3
	kill -0 "$(cat "$DIR/headpid6")"
	kill -0 "$(cat "$DIR/headpid1")"
	for n in 1 2 3; do
		kill -0 "$(cat "$DIR/agentpid$n")"
		[ "$(inspect "$n" -json | jq -s '[.[] | select(.id == "head-1")] | length')" = 1 ]
	done
}

@test "-watch prints the ring again when it changes" {
	"$BIN/ring-inspect" -run-dir="$DIR/r2" -watch -json > "$DIR/watch.out" 2>&1 3>&- &
	watcher=$!
	until_ok 10 grep -q '"id":"head-1"' "$DIR/watch.out"
	! grep -q '"id":"watched"' "$DIR/watch.out"
	"$BIN/../tools/kv-tool" "$DIR/r1/gossip-agent.sock" register collectors/ring watched 10.9.9.7:1 4
	until_ok 10 grep -q '"id":"watched"' "$DIR/watch.out"
	kill -INT "$watcher"
	wait "$watcher"
}
