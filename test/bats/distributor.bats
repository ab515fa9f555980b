#!/usr/bin/env bats
# The distributor over three nodes (gossip-agent and tsdb-head each): every
# series lands on its three replicas; bad input answers as tsdb-head does
# and stores the valid rest everywhere; the rate limit answers 429 and
# stores nothing; kill -9 of a tsdb-head under load loses no acknowledged
# sample on any quorum, and the restarted head replays and rejoins; a
# whole node killed goes unhealthy while pushes go on; /ring in HTML and
# JSON, and its Forget button.

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ../lib/common
load ../lib/ring

setup_file() {
	export DIR BIN TOOLS DPORT
	DIR=$(mktemp -d "${BATS_TMPDIR:-/tmp}/ringtail-dist.XXXXXX")
	BIN=${RINGTAIL_BIN:-$BATS_TEST_DIRNAME/../../build/bin}
	TOOLS=$BIN/../tools
	start_agent 1
	start_agent 2 "$(cat "$DIR/mport1")"
	start_agent 3 "$(cat "$DIR/mport1")"
	for i in 1 2 3; do
		start_head "$i" "$i"
	done
	start_distributor dist 1 -distributor.ingestion-rate-limit=0
	until_ok 30 curl -sf -o /dev/null "http://127.0.0.1:$DPORT/ready"
}

teardown_file() {
	local f
	for f in "$DIR"/headpid* "$DIR"/agentpid* "$DIR"/*.pid; do
		[ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
	done
	rm -rf "$DIR"
}

teardown() {
	[ -n "${BATS_TEST_COMPLETED:-}" ] && return
	for f in "$DIR"/dist.log "$DIR"/head*.log; do
		echo "--- $f"
		tail -8 "$f"
	done
}

# start_distributor NAME NODE [flags]: a distributor on node NODE's agent with
# a 5 s heartbeat timeout; sets DPORT.
start_distributor() {
	local name=$1 node=$2 line
	shift 2
	"$BIN/distributor" -server.http-listen-address=127.0.0.1 -server.http-listen-port=0 \
		-run-dir="$DIR/r$node" -ring.heartbeat-timeout=5s -distributor.remote-timeout=1s \
		"$@" >> "$DIR/$name.log" 2>&1 3>&- &
	echo $! > "$DIR/$name.pid"
	until_ok 10 grep -q 'msg="listening"' "$DIR/$name.log"
	line=$(grep 'msg="listening"' "$DIR/$name.log" | tail -1)
	[[ $line =~ port=([0-9]+) ]]
	DPORT=${BASH_REMATCH[1]}
}

push() {	# push TENANT FILE [rw-push flags]: status line, then the body
	local t=$1 f=$2
	shift 2
	"$TOOLS/rw-push" -u "http://127.0.0.1:$DPORT/api/v1/push" -t "$t" "$@" "$f"
}

read_head() {	# read_head I TENANT SELECTOR: the samples head-I holds
	"$TOOLS/rw-push" -read "$3" -start 0 -end 4000000000000 \
		-u "http://127.0.0.1:$(head_port "$1")/api/v1/read" -t "$2"
}

metric() {	# metric SERIES: the distributor's value
	curl -sf "http://127.0.0.1:$DPORT/metrics" | awk -v m="$1" '$1 == m { print $2 }'
}

@test "every series is on its three tsdb-heads" {
	T=$(($(date +%s) * 1000))
	for s in $(seq 50); do echo "{__name__=\"three\", s=\"$s\"} $s $T"; done > "$DIR/three"
	run push t "$DIR/three"
	assert_success
	assert_line --index 0 200
	for i in 1 2 3; do
		run read_head "$i" t '{__name__="three"}'
		assert_success
		assert_equal "$(echo "$output" | wc -l)" 50
	done
	[ "$(metric 'cortex_distributor_received_samples_total{user="t"}')" = 50 ]
	[ "$(metric 'cortex_distributor_ingester_appends_total{ingester="head-2",type="samples"}')" -ge 1 ]
}

@test "bad input: tsdb-head's answers, the valid rest stored on every replica" {
	T=$(($(date +%s) * 1000))
	printf '{__name__="ok_a"} 1 %s\n{__name__="bad-name"} 1 %s\n{__name__="ok_b", a="x"} 2 %s\n' \
		"$T" "$T" "$T" > "$DIR/mixed"
	run push b "$DIR/mixed"
	assert_failure
	assert_line --index 0 400
	assert_output --partial 'sample invalid metric name: "bad-name"'
	for i in 1 2 3; do
		[ "$(read_head "$i" b '{__name__=~"ok_.*"}' | wc -l)" = 2 ]
	done
	[ "$(metric 'cortex_discarded_samples_total{reason="metric_name_invalid",user="b"}')" = 1 ]
	run push b "$DIR/mixed" -raw
	assert_line --index 0 400
	assert_output --partial 'snappy: corrupt input'
	run push b "$DIR/mixed" -truncate 7
	assert_line --index 0 400
	assert_output --partial 'proto:'
	run "$TOOLS/rw-push" -u "http://127.0.0.1:$DPORT/api/v1/push" "$DIR/mixed"
	assert_line --index 0 401
	assert_output --partial 'no org id'
	run push '../x' "$DIR/mixed"
	assert_line --index 0 400
	assert_output --partial "unsupported character '/'"
	printf '{__name__="dup", a="1", a="2"} 1 %s\n' "$T" > "$DIR/dup"
	run push b "$DIR/dup"
	assert_line --index 0 400
	assert_output --partial 'duplicate label name'
	printf '{__name__="future"} 1 %s\n' "$((T + 3600000))" > "$DIR/future"
	run push b "$DIR/future"
	assert_line --index 0 400
	assert_output --partial 'timestamp too new'
	head -c 104857700 /dev/zero > "$DIR/big"
	run "$TOOLS/rw-push" -u "http://127.0.0.1:$DPORT/api/v1/push" -t b -body "$DIR/big"
	assert_line --index 0 413
	# An out-of-order sample fails on all three heads: their 400 is passed on.
	printf '{__name__="ok_a"} 0 %s\n' "$((T - 60000))" > "$DIR/old"
	run push b "$DIR/old"
	assert_line --index 0 400
	assert_output --partial 'out of order'
}

@test "the rate limit: 429 over the limit, nothing of the rejected request stored" {
	main=$DPORT
	start_distributor limited 2 -distributor.ingestion-rate-limit=20000 \
		-distributor.ingestion-burst-size=20000
	until_ok 30 curl -sf -o /dev/null "http://127.0.0.1:$DPORT/ready"
	T=$(($(date +%s) * 1000))
	seq 15000 | awk -v t="$T" '{ print "{__name__=\"lim\", s=\"" $1 "\"} 1 " t }' > "$DIR/lim1"
	seq 15000 | awk -v t="$T" '{ print "{__name__=\"lim2\", s=\"" $1 "\"} 1 " t }' > "$DIR/lim2"
	run push slow "$DIR/lim1"
	assert_line --index 0 200
	run push slow "$DIR/lim2"
	assert_line --index 0 429
	assert_output --partial 'ingestion rate limit (20000) exceeded while adding 15000 samples and 0 metadata'
	for i in 1 2 3; do
		[ "$(read_head "$i" slow '{__name__="lim2"}' | wc -l)" = 0 ]
	done
	[ "$(metric 'cortex_discarded_samples_total{reason="rate_limited",user="slow"}')" = 15000 ]
	kill -TERM "$(cat "$DIR/limited.pid")"
	DPORT=$main
}

@test "/ring as HTML and JSON; /ready" {
	run curl -sf "http://127.0.0.1:$DPORT/ring"
	assert_success
	assert_output --partial '<title>Ring Status</title>'
	assert_output --partial '<button name="forget" value="head-1" type="submit">Forget</button>'
	run curl -sf -H 'Accept: application/json' "http://127.0.0.1:$DPORT/ring"
	echo "$output" | jq -e '.shards | length == 3 and all(.[]; (.tokens | length) == 128)'
	run curl -sf "http://127.0.0.1:$DPORT/ready"
	assert_output ready
}

@test "kill -9 of a tsdb-head under load: no acknowledged sample lost on a quorum; it replays and rejoins" {
	T=$(($(date +%s) * 1000 - 600000))
	"$TOOLS/rw-push" -u "http://127.0.0.1:$DPORT/api/v1/push" -t k -seq 3000 -series 20 \
		-ts "$T" -step 100 > "$DIR/acks" 2>/dev/null 3>&- &
	pusher=$!
	until_ok 10 test -s "$DIR/acks"
	kill -9 "$(cat "$DIR/headpid3")"
	wait "$pusher"
	# Two replicas of three always answer: every push is acknowledged.
	assert_equal "$(grep -c '^ack ' "$DIR/acks")" 3000
	[ "$(metric 'cortex_distributor_ingester_append_failures_total{ingester="head-3",status="5xx",type="samples"}')" -ge 1 ]
	start_head 3 3
	# head_port reads the log each time: the restarted head logs a new port.
	until_ok 30 head_ready 3
	grep -q 'msg="WAL replayed"' "$DIR/head3.log"
	until_ok 10 state_is_active 3
	# Every acknowledged sample is on at least two of the three heads.
	for i in 1 2 3; do
		read_head "$i" k '{__name__="seq_total"}' | awk '{ print $3, $NF }'
	done | sort | uniq -c | awk '$1 >= 2 { print $2, $3 }' | sort > "$DIR/have"
	awk '$1 == "ack" { for (s = 0; s < 20; s++) print "series=\"" s "\"}", $3 }' "$DIR/acks" |
		sort > "$DIR/want"
	missing=$(comm -23 "$DIR/want" "$DIR/have" | wc -l)
	[ "$missing" -eq 0 ]
}

head_ready() {	# head_ready I: head-I's /ready answers 200
	curl -sf -o /dev/null "http://127.0.0.1:$(head_port "$1")/ready"
}

state_is_active() {	# state_is_active I: head-I is ACTIVE for the distributor's agent
	[ "$(state_on 1 "head-$1")" = ACTIVE ]
}

@test "a whole node killed: unhealthy after the heartbeat timeout, pushes go on, failures counted" {
	kill -9 "$(cat "$DIR/headpid2")" "$(cat "$DIR/agentpid2")"
	T=$(($(date +%s) * 1000))
	echo "{__name__=\"after\"} 1 $T" > "$DIR/after"
	run push n "$DIR/after"
	assert_line --index 0 200
	[ "$(metric 'cortex_distributor_ingester_append_failures_total{ingester="head-2",status="5xx",type="samples"}')" -ge 1 ]
	until_ok 20 unhealthy_on_1 head-2
	echo "{__name__=\"after\"} 2 $((T + 1000))" > "$DIR/after2"
	run push n "$DIR/after2"
	assert_line --index 0 200
	for i in 1 3; do
		[ "$(read_head "$i" n '{__name__="after"}' | wc -l)" = 2 ]
	done
	# Forget it from the ring page.
	run curl -s -o /dev/null -w '%{http_code}' -d forget=head-2 "http://127.0.0.1:$DPORT/ring"
	assert_output 302
	until_ok 10 gone_on_1 head-2
}

unhealthy_on_1() {
	[ "$(inspect 1 -ring.heartbeat-timeout=5s -json |
		jq -r --arg id "$1" 'select(.id == $id) | .healthy')" = false ]
}

gone_on_1() {
	[ -z "$(state_on 1 "$1")" ]
}
