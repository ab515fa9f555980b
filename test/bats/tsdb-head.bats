#!/usr/bin/env bats
# tsdb-head as a process: flags and config, the push and read endpoints
# with every kind of bad input (status, message, and that the request's
# good samples were stored), the WAL across SIGTERM and kill -9, flush,
# /ready during replay, /metrics, the data dir lock. The client is
# test/tools/rw-push; real Prometheus is in test/interop/tsdb-head.bats.

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ../lib/common

setup_file() {
	local b=${BUILD:-build}
	case $b in /*) ;; *) b=$PWD/$b ;; esac
	export BIN=${RINGTAIL_BIN:-$b/bin} TOOLS=${RINGTAIL_TOOLS:-$b/tools}
}

setup() {
	D=$BATS_TEST_TMPDIR
	PIDS=()
}

teardown() {
	local p
	for p in "${PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	if [ -n "$BATS_TEST_COMPLETED" ] || [ ! -f "$D/head.log" ]; then
		return
	fi
	echo "--- tsdb-head log"
	tail -30 "$D/head.log"
}

# start_head [flags...]: a tsdb-head on a free port over $D/data; sets PORT, PID, URL.
start_head() {
	PORT=$(free_port)
	"$BIN/tsdb-head" -server.http-listen-address=127.0.0.1 -server.http-listen-port="$PORT" \
		-blocks-storage.tsdb.dir="$D/data" $HEAD_ALONE "$@" >> "$D/head.log" 2>&1 &
	PID=$!
	PIDS+=("$PID")
	URL=http://127.0.0.1:$PORT
	wait_ready
}

wait_ready() {
	local i
	for i in $(seq 200); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/ready")" = 200 ] && return 0
		kill -0 "$PID" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

stop_head() {
	kill -TERM "$PID"
	wait "$PID"
}

push() {	# push TENANT [rw-push flags] < lines
	local t=$1
	shift
	"$TOOLS/rw-push" -u "$URL" -t "$t" "$@"
}

read_all() {	# read_all TENANT [selector] [flags]
	"$TOOLS/rw-push" -u "$URL" -t "$1" -read "${2:-{__name__=~\".+\"\}}" "${@:3}"
}

T=1700000000000

@test "-h lists every flag with its default; bad flags and -ring.store exit 100" {
	run "$BIN/tsdb-head" -h
	assert_success
	for f in server.http-listen-address server.http-listen-port blocks-storage.tsdb.dir \
	    config.file log.level auth.enabled distributor.max-recv-msg-size \
	    ingester.max-series-per-user ingester.max-series-per-metric \
	    validation.max-label-names-per-series validation.max-length-label-name \
	    validation.max-length-label-value blocks-storage.tsdb.block-ranges-period \
	    blocks-storage.tsdb.head-compaction-interval blocks-storage.tsdb.retention-period \
	    blocks-storage.tsdb.flush-blocks-on-shutdown blocks-storage.tsdb.wal-fsync-interval \
	    ring.store; do
		assert_output --partial "-$f "
	done
	assert_output --partial "(default 104857600)"
	run "$BIN/tsdb-head" -no-such-flag
	assert_equal "$status" 100
	run "$BIN/tsdb-head" -ring.store=consul -blocks-storage.tsdb.dir="$D/x"
	assert_equal "$status" 100
	assert_output --partial '-ring.store=consul is not supported'
	run "$BIN/tsdb-head" -blocks-storage.tsdb.head-compaction-interval=6m -blocks-storage.tsdb.dir="$D/x"
	assert_equal "$status" 100
}

@test "config file sets Cortex's YAML paths; the command line wins" {
	PORT=$(free_port)
	cat > "$D/c.yaml" <<-EOF
	auth_enabled: false
	server:
	  http_listen_address: 127.0.0.1
	  http_listen_port: $PORT
	blocks_storage:
	  tsdb:
	    dir: $D/from-yaml
	limits:
	  max_series_per_user: 1
	EOF
	"$BIN/tsdb-head" -config.file="$D/c.yaml" -ingester.max-series-per-user=2 $HEAD_ALONE \
		>> "$D/head.log" 2>&1 &
	PID=$!
	PIDS+=("$PID")
	URL=http://127.0.0.1:$PORT
	wait_ready
	printf '{__name__="a"} 1 %s\n{__name__="b"} 1 %s\n{__name__="c"} 1 %s\n' $T $T $T > "$D/in"
	run push "" "$D/in"
	assert_equal "${lines[0]}" 400
	assert_output --partial 'user=fake: per-user series limit of 2 exceeded'
	[ -d "$D/from-yaml/fake/wal" ]
	echo 'server: [' > "$D/bad.yaml"
	run "$BIN/tsdb-head" -config.file="$D/bad.yaml"
	assert_equal "$status" 100
	assert_output --partial "bad.yaml:2:1:"
}

@test "push then remote read: SAMPLES and STREAMED_XOR_CHUNKS, both push paths" {
	start_head
	cat > "$D/in" <<-EOF
	{__name__="demo_requests_total", job="demo", instance="a"} 1 $T 2 $((T + 15000))
	{__name__="demo_temp_celsius", job="demo"} 21.5 $T
	EOF
	run push team "$D/in"
	assert_success
	assert_output 200
	printf '{__name__="legacy"} 5 %s\n' $T | "$TOOLS/rw-push" -u "$URL/api/prom/push" -t team
	run read_all team
	assert_success
	assert_output "$(printf '%s\n' \
	    "{__name__=\"demo_requests_total\", instance=\"a\", job=\"demo\"} 1 $T" \
	    "{__name__=\"demo_requests_total\", instance=\"a\", job=\"demo\"} 2 $((T + 15000))" \
	    "{__name__=\"demo_temp_celsius\", job=\"demo\"} 21.5 $T" \
	    "{__name__=\"legacy\"} 5 $T")"
	run read_all team '{job="demo"}' -streamed
	assert_success
	assert_line --index 0 "{__name__=\"demo_requests_total\", instance=\"a\", job=\"demo\"} 1 $T"
	assert_line --index 2 "{__name__=\"demo_temp_celsius\", job=\"demo\"} 21.5 $T"
	# The range is inclusive at both ends; another tenant sees nothing.
	run read_all team '{job="demo"}' -start $((T + 15000)) -end $((T + 15000))
	assert_output "{__name__=\"demo_requests_total\", instance=\"a\", job=\"demo\"} 2 $((T + 15000))"
	run read_all other
	assert_success
	assert_output ""
}

@test "tenants: 401 without X-Scope-OrgID, Cortex's texts for invalid IDs, fake without auth" {
	start_head
	echo "{__name__=\"x\"} 1 $T" > "$D/in"
	run push "" "$D/in"
	assert_output "$(printf '401\nno org id')"
	run push "../x" "$D/in"
	assert_output "$(printf "400\ntenant ID '../x' contains unsupported character '/'")"
	run push ".." "$D/in"
	assert_output "$(printf "400\ntenant ID is '.' or '..'")"
	run push "__markers__" "$D/in"
	assert_output "$(printf "400\ntenant ID '__markers__' is not allowed")"
	run push "$(printf 'a%.0s' $(seq 151))" "$D/in"
	assert_output "$(printf '400\ntenant ID is too long: max 150 characters')"
	run read_all "a/b"
	assert_failure
	assert_line --index 0 400
	# No directory was made for any of them.
	[ -z "$(find "$D/data" -mindepth 1 -type d)" ]
	stop_head
	start_head -auth.enabled=false
	run push "ignored" "$D/in"
	assert_output 200
	[ -d "$D/data/fake/wal" ]
}

@test "bad bodies: not snappy, truncated protobuf, wrong media types, too large" {
	start_head -distributor.max-recv-msg-size=1000
	echo "{__name__=\"x\", job=\"j\"} 1 $T" > "$D/in"
	run push t -raw "$D/in"
	assert_output "$(printf '400\nsnappy: corrupt input')"
	run push t -truncate 20 "$D/in"
	assert_line --index 0 400
	assert_line --index 1 --regexp '^proto: .*truncated'
	printf 'garbage' > "$D/garbage"
	run push t -body "$D/garbage"
	assert_output "$(printf '400\nsnappy: corrupt input')"
	run push t -content-type text/plain "$D/in"
	assert_output "$(printf '415\nexpected application/x-protobuf as the first (media) part, got text/plain content-type')"
	run push t -content-encoding gzip "$D/in"
	assert_output "$(printf '415\ngzip encoding (compression) is not accepted by this server; only snappy is acceptable')"
	# Over the limit compressed, and under it compressed but over it decoded.
	head -c 1500 /dev/urandom > "$D/big"
	run push t -body "$D/big"
	assert_output "$(printf '413\nreceived message larger than max (1500 vs 1000)')"
	for i in $(seq 40); do echo "{__name__=\"x\", job=\"j\", i=\"$i\"} 1 $T"; done > "$D/many"
	run push t "$D/many"
	assert_line --index 0 413
	assert_line --index 1 --regexp '^received message larger than max \([0-9]+ vs 1000\)$'
	# Nothing of these was stored; a good push still works.
	run push t "$D/in"
	assert_output 200
	run read_all t
	assert_output "{__name__=\"x\", job=\"j\"} 1 $T"
}

@test "labels: Cortex's checks, each refusing its series and storing the others" {
	start_head -validation.max-label-names-per-series=3 -validation.max-length-label-name=10 \
		-validation.max-length-label-value=12
	good="{__name__=\"good\", job=\"j\"} 1 $T"
	check() {	# check 'bad line' 'expected first line of the message'
		printf '%s\n%s\n' "$1" "$good" > "$D/in"
		run push t "$D/in"
		assert_line --index 0 400
		assert_line --index 1 "$2"
		assert_line --index 2 "1 error; 1 of 2 samples rejected"
	}
	check "{__name__=\"m\", a=\"1\", a=\"2\"} 1 $T" \
		'duplicate label name: "a" metric "m{a=\"1\", a=\"2\"}"'
	check "{__name__=\"1bad metric\"} 1 $T" 'sample invalid metric name: "1bad metric"'
	check "{job=\"no name\"} 1 $T" 'sample missing metric name'
	check "{__name__=\"m\", bad-name=\"x\"} 1 $T" 'sample invalid label: "bad-name" metric "m{bad-name=\"x\"}"'
	check "{__name__=\"m\", a=\"1\", b=\"2\", c=\"3\"} 1 $T" \
		"series has too many labels (actual: 4, limit: 3) series: 'm{a=\"1\", b=\"2\", c=\"3\"}'"
	check "{__name__=\"m\", abcdefghijk=\"1\"} 1 $T" \
		'label name too long for metric (actual: 11, limit: 10) metric: "m{abcdefghijk=\"1\"}" label name: "abcdefghijk"'
	check "{__name__=\"m\", a=\"0123456789abc\"} 1 $T" \
		'label value too long for metric (actual: 13, limit: 12) metric: "m{a=\"0123456789abc\"}" label name: "a" label value: "0123456789abc"'
	# Unsorted labels are sorted; an empty value means the label is absent.
	printf '%s\n' "{job=\"j\", __name__=\"sorted\", a=\"\"} 7 $T" > "$D/in"
	run push t "$D/in"
	assert_output 200
	run read_all t '{__name__=~"good|sorted"}'
	assert_output "$(printf '%s\n' "{__name__=\"good\", job=\"j\"} 1 $T" "{__name__=\"sorted\", job=\"j\"} 7 $T")"
	curl -s "$URL/metrics" > "$D/metrics"
	grep -qx 'cortex_discarded_samples_total{reason="duplicate_label_names",user="t"} 1' "$D/metrics"
	grep -qx 'cortex_discarded_samples_total{reason="label_value_too_long",user="t"} 1' "$D/metrics"
	grep -qx 'cortex_discarded_samples_total{reason="max_label_names_per_series",user="t"} 1' "$D/metrics"
}

@test "samples: out of order, duplicate, out of bounds refused; NaN and stale markers stored bit for bit" {
	start_head
	printf '{__name__="s"} 1 %s 2 %s\n' $T $((T + 1000)) > "$D/in"
	push t "$D/in"
	cat > "$D/in" <<-EOF
	{__name__="s"} 5 $((T + 500))
	{__name__="s"} 9 $((T + 1000))
	{__name__="s"} 2 $((T + 1000))
	{__name__="s"} 3 $((T + 3600000 + 1000))
	{__name__="nan"} NaN $T stale $((T + 1000)) 0x7ff8000000000001 $((T + 2000))
	EOF
	run push t "$D/in"
	assert_line --index 0 400
	assert_line --index 1 'user=t: err: out of order sample. timestamp=2023-11-14T22:13:20.5Z, series={__name__="s"}'
	assert_line --index 2 'user=t: err: duplicate sample for timestamp. timestamp=2023-11-14T22:13:21Z, series={__name__="s"}'
	assert_line --index 3 '2 errors; 2 of 7 samples rejected'
	# The head's max is now T+1h+1s: one hour behind it is the limit.
	printf '{__name__="s"} 4 %s\n{__name__="s2"} 1 %s\n' $((T + 1000)) $((T + 999)) > "$D/in"
	run push t "$D/in"
	assert_line --index 1 'user=t: err: out of order sample. timestamp=2023-11-14T22:13:21Z, series={__name__="s"}'
	assert_line --index 2 'user=t: err: out of bounds. timestamp=2023-11-14T22:13:20.999Z, series={__name__="s2"}'
	run read_all t '{__name__=~"s|nan"}' -bits
	assert_output "$(printf '%s\n' \
	    "{__name__=\"nan\"} 0x7ff8000000000000 $T" \
	    "{__name__=\"nan\"} 0x7ff0000000000002 $((T + 1000))" \
	    "{__name__=\"nan\"} 0x7ff8000000000001 $((T + 2000))" \
	    "{__name__=\"s\"} 0x3ff0000000000000 $T" \
	    "{__name__=\"s\"} 0x4000000000000000 $((T + 1000))" \
	    "{__name__=\"s\"} 0x4008000000000000 $((T + 3601000))")"
	curl -s "$URL/metrics" > "$D/metrics"
	grep -qx 'cortex_discarded_samples_total{reason="sample-out-of-order",user="t"} 2' "$D/metrics"
	grep -qx 'cortex_discarded_samples_total{reason="new-value-for-timestamp",user="t"} 1' "$D/metrics"
	grep -qx 'cortex_discarded_samples_total{reason="sample-out-of-bounds",user="t"} 1' "$D/metrics"
	grep -qx 'cortex_ingester_ingested_samples_total 7' "$D/metrics"
}

@test "series limits: per user and per metric, Cortex's texts, other series still stored" {
	start_head -ingester.max-series-per-user=3 -ingester.max-series-per-metric=2
	cat > "$D/in" <<-EOF
	{__name__="m", i="1"} 1 $T
	{__name__="m", i="2"} 1 $T
	{__name__="m", i="3"} 1 $T
	{__name__="n", i="1"} 1 $T
	{__name__="o", i="1"} 1 $T
	EOF
	run push t "$D/in"
	assert_line --index 0 400
	assert_line --index 1 'user=t: per-metric series limit of 2 exceeded for metric m, please contact administrator to raise it (local limit: 2 global limit: 0 actual local limit: 2) for series {__name__="m", i="3"}'
	assert_line --index 2 'user=t: per-user series limit of 3 exceeded, please contact administrator to raise it (local limit: 3 global limit: 0 actual local limit: 3)'
	run read_all t
	assert_equal "${#lines[@]}" 3
	grep -q 'cortex_discarded_samples_total{reason="per_user_series_limit",user="t"} 1' <(curl -s "$URL/metrics")
}

@test "SIGTERM then restart: the WAL replays what was acknowledged; a second instance is refused" {
	start_head
	run "$BIN/tsdb-head" -server.http-listen-port=0 -blocks-storage.tsdb.dir="$D/data"
	assert_equal "$status" 100
	assert_output --partial 'already running'
	for i in $(seq 0 99); do echo "{__name__=\"w\", i=\"$((i % 7))\"} $i $((T + i * 1000))"; done > "$D/in"
	push t "$D/in"
	read_all t > "$D/before"
	[ "$(wc -l < "$D/before")" -eq 100 ]
	stop_head
	grep -q 'msg="stopped"' "$D/head.log"
	start_head
	grep -q 'msg="WAL replay completed" user=t series=7 samples=100' "$D/head.log"
	read_all t > "$D/after"
	cmp "$D/before" "$D/after"
}

@test "kill -9 ten times during a sustained push: every acknowledged sample survives" {
	start_head
	: > "$D/acks"
	for round in $(seq 0 9); do
		"$TOOLS/rw-push" -u "$URL" -t k -seq 100000 -series 20 -ts $((T + round * 100000000)) \
			-step 1000 >> "$D/acks" 2>/dev/null &
		pusher=$!
		sleep "0.$((RANDOM % 8 + 2))"
		kill -9 "$PID"
		wait "$PID" 2>/dev/null || true
		wait "$pusher" || true
		start_head
	done
	read_all k '{__name__="seq_total"}' > "$D/stored"
	acked=$(grep -c '^ack ' "$D/acks")
	[ "$acked" -gt 50 ]
	# Every acknowledged request's 20 samples are there, with the value pushed.
	awk '$1 == "ack" { print $3, $2 }' "$D/acks" | sort > "$D/want"
	awk '{ print $NF, $(NF - 1) }' "$D/stored" | sort | uniq -c |
		awk '$1 == 20 { print $2, $3 }' | sort > "$D/have"
	missing=$(comm -23 "$D/want" "$D/have" | wc -l)
	[ "$missing" -eq 0 ]
	grep -c 'msg="WAL replay completed"' "$D/head.log"
}

@test "flush cuts blocks that block-inspect reads back; /ready is 503 during a long replay" {
	start_head
	"$TOOLS/rw-push" -u "$URL" -t f -bench -series 20000 -batch 500 -requests 400 > /dev/null
	run curl -s -o /dev/null -w '%{http_code}' -XPOST "$URL/ingester/flush?wait=true"
	assert_output 204
	n=$(ls -d "$D"/data/f/01* | wc -l)
	[ "$n" -ge 1 ]
	"$BIN/block-inspect" dump "$D/data/f" | sort > "$D/dump"
	read_all f | sort > "$D/read"
	[ "$(wc -l < "$D/read")" -eq 200000 ]
	cmp "$D/dump" "$D/read"
	grep -q 'msg="flushed" user=f' "$D/head.log"
	# A WAL big enough to take a moment: /ready and pushes answer 503 meanwhile.
	"$TOOLS/rw-push" -u "$URL" -t g -bench -series 100000 -batch 1000 -requests 200 -ts $((T + 7200000)) > /dev/null
	stop_head
	"$BIN/tsdb-head" -server.http-listen-address=127.0.0.1 -server.http-listen-port="$PORT" \
		-blocks-storage.tsdb.dir="$D/data" $HEAD_ALONE >> "$D/head.log" 2>&1 &
	PID=$!
	PIDS+=("$PID")
	codes=""
	for i in $(seq 400); do
		c=$(curl -s -o /dev/null -w '%{http_code}' "$URL/ready" || true)
		codes="$codes $c"
		[ "$c" = 200 ] && break
		sleep 0.005
	done
	[[ "$codes" == *503*200 ]]
	grep -q 'msg="WAL segment loaded" user=g' "$D/head.log"
}

@test "/metrics: Cortex's names in the text format; flush=GET/POST; unknown paths 404" {
	start_head
	echo "{__name__=\"x\"} 1 $T" | "$TOOLS/rw-push" -u "$URL" -t m > /dev/null
	run curl -s -D "$D/h" "$URL/metrics"
	assert_success
	grep -qi '^Content-Type: text/plain; version=0.0.4' "$D/h"
	for m in cortex_ingester_ingested_samples_total cortex_ingester_memory_series \
	    cortex_ingester_memory_users cortex_ingester_memory_series_created_total \
	    cortex_request_duration_seconds_bucket cortex_ingester_tsdb_wal_fsync_duration_seconds_count \
	    process_resident_memory_bytes; do
		assert_output --partial "$m"
	done
	assert_output --partial 'cortex_request_duration_seconds_count{method="POST",route="api_v1_push",status_code="200",ws="false"} 1'
	assert_output --partial 'cortex_ingester_memory_users 1'
	run curl -s -w '%{http_code}' "$URL/nope"
	assert_output "$(printf '404 page not found\n404')"
	run curl -s -w '%{http_code}' "$URL/api/v1/push"
	assert_output "$(printf 'method not allowed\n405')"
}

@test "exit codes: 111 when the port is taken, 0 after SIGTERM" {
	start_head
	run "$BIN/tsdb-head" -server.http-listen-address=127.0.0.1 -server.http-listen-port="$PORT" \
		-blocks-storage.tsdb.dir="$D/other" $HEAD_ALONE
	assert_equal "$status" 111
	assert_output --partial 'cannot listen'
	kill -TERM "$PID"
	st=0
	wait "$PID" || st=$?
	assert_equal "$st" 0
}
