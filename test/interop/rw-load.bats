#!/usr/bin/env bats
# rw-load against the real receiver: Prometheus 2.42 with
# --web.enable-remote-write-receiver must accept every request, and hold
# exactly the series and samples rw-load says it got through.

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ../lib/common
bats_require_minimum_version 1.5.0

setup() {
	BIN=${RINGTAIL_BIN:-$PWD/build/bin}
	TOOLS=${RINGTAIL_TOOLS:-$PWD/${BUILD:-build}/tools}
	T=$BATS_TEST_TMPDIR
}

teardown() {
	if [ -n "${PROM_PID:-}" ]; then
		kill "$PROM_PID" 2>/dev/null || true
		wait "$PROM_PID" 2>/dev/null || true
	fi
}

start_prom() {
	printf 'global:\n  scrape_interval: 1h\n' > "$T/prom.yml"
	PORT=$(free_port)
	prometheus --config.file="$T/prom.yml" --storage.tsdb.path="$T/prom" \
		--web.listen-address="127.0.0.1:$PORT" --web.enable-remote-write-receiver \
		> "$T/prom.log" 2>&1 3>&- &
	PROM_PID=$!
	for _ in $(seq 150); do
		curl -sf "http://127.0.0.1:$PORT/-/ready" > /dev/null && return 0
		sleep 0.2
	done
	cat "$T/prom.log"
	return 1
}

# query EXPR: the single value of an instant query.
query() {
	curl -sf "http://127.0.0.1:$PORT/api/v1/query" --data-urlencode "query=$1" |
	    jq -r '.data.result[0].value[1]'
}

# metric NAME{LABELS}: a value from Prometheus' own /metrics.
metric() {
	curl -sf "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m { printf "%d\n", $2 }'
}

load_run() {
	"$BIN/rw-load" -url "http://127.0.0.1:$PORT/api/v1/write" -json "$@" 2> "$T/load.log" > "$T/r.json"
}

@test "full speed: every request 204, Prometheus holds exactly the series and samples sent" {
	start_prom
	load_run -series 3000 -concurrency 4 -duration 3s
	r=$T/r.json
	[ "$(jq .errors "$r")" -eq 0 ]
	[ "$(jq .samples "$r")" -gt 0 ]
	[ "$(jq .samples_ok "$r")" -eq "$(jq .samples "$r")" ]
	[ "$(jq '.status["204"]' "$r")" -eq "$(jq .requests "$r")" ]
	[ "$(jq .series_created "$r")" -eq 3000 ]
	[ "$(query 'count({job="node"})')" -eq 3000 ]
	# node_exporter-like: a few hundred metric names, per-CPU, per-mode series.
	names=$(jq .metric_names "$r")
	[ "$names" -ge 200 ]
	[ "$(query 'count(count by (__name__) ({job="node"}))')" -eq "$names" ]
	[ "$(query 'count(node_cpu_seconds_total{instance="host-0:9100"})')" -eq 64 ]
	[ "$(query 'count(count by (device) (node_disk_read_bytes_total))')" -eq 4 ]
	[ "$(query 'count(node_filesystem_avail_bytes{mountpoint="/",fstype="ext4"})')" -ge 4 ]
	# Every sample Prometheus took is one rw-load counted as acknowledged.
	[ "$(metric 'prometheus_tsdb_head_samples_appended_total{type="float"}')" -eq "$(jq .samples_ok "$r")" ]
	[ "$(metric 'prometheus_http_requests_total{code="204",handler="/api/v1/write"}')" -eq "$(jq .requests "$r")" ]
	# Counters never go down, and timestamps only forward: nothing out of order.
	for c in node_cpu_seconds_total node_disk_read_bytes_total \
	    node_network_receive_packets_total go_memstats_mallocs_total; do
		[ "$(query "sum(resets($c[1h]))")" -eq 0 ]
		[ "$(query "sum(changes($c[1h]))")" -gt 0 ]
	done
	[ "$(metric 'prometheus_tsdb_out_of_order_samples_total{type="float"}')" -eq 0 ]
	# The latency report is ordered.
	jq -e '.latency_ms | .p50 <= .p90 and .p90 <= .p99 and .p99 <= .max and .p50 > 0' "$r"
}

@test "churn replaces the series it says, and Prometheus sees each new one" {
	start_prom
	load_run -series 1000 -churn 6 -concurrency 2 -duration 3s
	r=$T/r.json
	[ "$(jq .errors "$r")" -eq 0 ]
	created=$(jq .series_created "$r")
	# 600% per minute for 3 s: about 300 replacements.
	[ "$created" -ge 1200 ] && [ "$created" -le 1400 ]
	[ "$(query 'count({job="node"})')" -eq "$created" ]
}

@test "-rate holds the target rate" {
	start_prom
	load_run -series 2000 -rate 4000 -batch 100 -concurrency 4 -duration 3s
	r=$T/r.json
	[ "$(jq .errors "$r")" -eq 0 ]
	n=$(jq .samples "$r")
	# 12000 due in 3 s; each worker sends its first batch at once.
	[ "$n" -ge 9600 ] && [ "$n" -le 12400 ]
	[ "$(metric 'prometheus_tsdb_head_samples_appended_total{type="float"}')" -eq "$n" ]
}

@test "the request carries the remote-write headers; error statuses are counted, exit 1" {
	[ -x "$TOOLS/rr-capture" ] || skip "no $TOOLS/rr-capture"
	PORT=$(free_port)
	"$TOOLS/rr-capture" -n 2 -s 400 "$PORT" "$T/cap" 2> "$T/cap.log" 3>&- &
	PROM_PID=$!
	for _ in $(seq 100); do
		grep -q listening "$T/cap.log" && break
		sleep 0.05
	done
	run "$BIN/rw-load" -url "http://127.0.0.1:$PORT/api/v1/push" -series 10 -batch 5 \
	    -concurrency 1 -duration 1s -timeout 1s -tenant team-a
	[ "$status" -eq 1 ]
	assert_output --partial 'status_400 2'
	assert_output --regexp 'errors [1-9]'
	tr -d '\r' < "$T/cap.1.head" > "$T/head"
	assert_equal "$(head -1 "$T/head")" "POST /api/v1/push HTTP/1.1"
	for h in 'Content-Encoding: snappy' 'Content-Type: application/x-protobuf' \
	    'X-Prometheus-Remote-Write-Version: 0.1.0' 'X-Scope-OrgID: team-a' \
	    "Content-Length: $(stat -c %s "$T/cap.1.body")"; do
		grep -qxF "$h" "$T/head"
	done
	# Snappy block format: the body starts with the uvarint length of the protobuf.
	[ "$(head -c1 "$T/cap.1.body" | od -An -tx1 | tr -d ' ')" != "ff" ]
}

@test "bad flags exit 100" {
	run "$BIN/rw-load" -url https://127.0.0.1:1/x -duration 1s
	[ "$status" -eq 100 ]
	run "$BIN/rw-load" -churn abc
	[ "$status" -eq 100 ]
	run "$BIN/rw-load" -series 0
	[ "$status" -eq 100 ]
	run "$BIN/rw-load" -h
	assert_success
	assert_output --partial '-concurrency int'
}

@test "nothing listening: exit 111" {
	PORT=$(free_port)
	run "$BIN/rw-load" -url "http://127.0.0.1:$PORT/api/v1/write" -duration 500ms
	[ "$status" -eq 111 ]
	assert_output --partial 'status_error'
}
