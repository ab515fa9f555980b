#!/usr/bin/env bats
# tsdb-head against the real thing: Prometheus 2.42 (Debian) scraping
# itself and a node_exporter every second, remote-writing to tsdb-head.
#  - the samples arrive, and a second Prometheus with remote_read pointed at
#    tsdb-head answers PromQL exactly as the first one over its own TSDB;
#  - Prometheus logs our 400's first line, and a series limit holds;
#  - kill -9 of tsdb-head while Prometheus pushes: Prometheus itself,
#    started on a copy of the tenant directory, replays our WAL and holds
#    what tsdb-head serves after its own restart;
#  - /ingester/flush cuts blocks that promtool analyzes, and whose dump
#    equals promtool's dump of the first Prometheus' own TSDB.
# Debian's Prometheus 2.42 never sends remote_write/remote_read `headers`
# (its patch 91-Disable_opentelemetry drops the transport that adds them),
# so X-Scope-OrgID cannot come from it: tsdb-head runs with
# -auth.enabled=false here, Cortex's single-tenant mode (tenant "fake").

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ../lib/common

# Wait for a process that is not our child (started by setup_file) to exit.
wait_gone() {
	local i
	for i in $(seq 600); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.05
	done
	return 1
}

wait_http() {	# wait_http URL: until it answers 200 (20 s)
	local i
	for i in $(seq 400); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" = 200 ] && return 0
		sleep 0.05
	done
	echo "timeout waiting for $1" >&2
	return 1
}

start_head() {	# start_head PORT DIR [flags]: sets HEAD_PID
	local port=$1 dir=$2
	shift 2
	# Not a job of this shell, so a kill -9 goes without a "Killed" line.
	(exec "$BIN/tsdb-head" -server.http-listen-address=127.0.0.1 -server.http-listen-port="$port" \
		-blocks-storage.tsdb.dir="$dir" $HEAD_ALONE "$@" >> "$D/head-$port.log" 2>&1 &
	echo $! > "$D/head-$port.pid")
	HEAD_PID=$(cat "$D/head-$port.pid")
	wait_http "http://127.0.0.1:$port/ready"
}

start_prometheus() {	# start_prometheus NAME CONFIG DATADIR: sets PROM_PID, PROM_PORT
	PROM_PORT=$(free_port)
	prometheus --config.file="$2" --storage.tsdb.path="$3" \
		--web.listen-address="127.0.0.1:$PROM_PORT" --storage.tsdb.retention.time=100y \
		> "$D/$1.log" 2>&1 &
	PROM_PID=$!
	echo "$PROM_PID" > "$D/$1.pid"
	echo "$PROM_PORT" > "$D/$1.port"
	wait_http "http://127.0.0.1:$PROM_PORT/-/ready"
}

# Newest timestamp tsdb-head holds for a selector (0 when none).
newest() {
	"$TOOLS/rw-push" -u "http://127.0.0.1:$HEAD" -read "$1" |
		awk 'BEGIN { m = 0 } $NF > m { m = $NF } END { print m }'
}

wait_newest() {	# wait_newest SELECTOR MS: until tsdb-head holds a sample at or after MS
	local i
	for i in $(seq 300); do
		[ "$(newest "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	echo "tsdb-head never got $1 at $2" >&2
	return 1
}

setup_file() {
	local b=${BUILD:-build}
	case $b in /*) ;; *) b=$PWD/$b ;; esac
	export BIN=${RINGTAIL_BIN:-$b/bin} TOOLS=${RINGTAIL_TOOLS:-$b/tools}
	export D=$BATS_FILE_TMPDIR
	export HEAD=$(free_port)
	start_head "$HEAD" "$D/heads" -auth.enabled=false
	export LIMITED=$(free_port)
	start_head "$LIMITED" "$D/limited" -auth.enabled=false -ingester.max-series-per-user=50
	export NODE=$(free_port)
	(exec prometheus-node-exporter --web.listen-address="127.0.0.1:$NODE" > "$D/node.log" 2>&1 &
	echo $! > "$D/node.pid")
	wait_http "http://127.0.0.1:$NODE/metrics"
	export PROMA_PORT=$(free_port)
	cat > "$D/a.yml" <<-EOF
	global:
	  scrape_interval: 1s
	  evaluation_interval: 1s
	scrape_configs:
	  - job_name: prometheus
	    static_configs: [{targets: ['127.0.0.1:$PROMA_PORT']}]
	  - job_name: node
	    static_configs: [{targets: ['127.0.0.1:$NODE']}]
	remote_write:
	  - url: http://127.0.0.1:$HEAD/api/v1/push
	    queue_config: {batch_send_deadline: 1s, min_backoff: 50ms, max_backoff: 500ms}
	  - url: http://127.0.0.1:$LIMITED/api/v1/push
	    queue_config: {batch_send_deadline: 1s}
	EOF
	prometheus --config.file="$D/a.yml" --storage.tsdb.path="$D/a" \
		--web.listen-address="127.0.0.1:$PROMA_PORT" --storage.tsdb.retention.time=100y \
		> "$D/a.log" 2>&1 &
	echo $! > "$D/a.pid"
	wait_http "http://127.0.0.1:$PROMA_PORT/-/ready"
	export START=$(($(date +%s%3N)))
}

teardown_file() {
	local f
	for f in "$D"/*.pid; do
		[ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null || true
	done
}

@test "Prometheus remote-writes its own and node_exporter's samples into tsdb-head" {
	# Prometheus' queue first reads its WAL (a few seconds), then sends.
	wait_newest 'up{job="node"}' $((START + 8000))
	wait_newest 'prometheus_build_info' $((START + 8000))
	"$TOOLS/rw-push" -u "http://127.0.0.1:$HEAD" -read '{__name__=~".+"}' > "$D/arrived"
	series=$(sed 's/} .*/}/' "$D/arrived" | sort -u | wc -l)
	[ "$series" -gt 500 ]
	grep -q '^{__name__="node_cpu_seconds_total", cpu="0", instance="127.0.0.1:'"$NODE"'", job="node", mode="idle"} ' "$D/arrived"
	run grep -c '^{__name__="up", instance="127.0.0.1:'"$NODE"'", job="node"} 1 ' "$D/arrived"
	[ "$output" -ge 3 ]
	# Prometheus answered 200 every time: nothing failed on its side.
	curl -s "http://127.0.0.1:$PROMA_PORT/metrics" |
		grep -E '^prometheus_remote_storage_samples_failed_total\{.*url="http://127.0.0.1:'"$HEAD"'/api/v1/push"\} 0$'
}

@test "Prometheus with remote_read to tsdb-head answers PromQL as Prometheus over its own TSDB" {
	cat > "$D/b.yml" <<-EOF
	global:
	  scrape_interval: 1h
	remote_read:
	  - url: http://127.0.0.1:$HEAD/api/v1/read
	    read_recent: true
	EOF
	start_prometheus b "$D/b.yml" "$D/b"
	# An evaluation time whose 10 s windows tsdb-head holds completely.
	t=$((($(date +%s) - 2)))
	wait_newest 'up{job="node"}' $(((t + 3) * 1000))
	wait_newest 'up{job="prometheus"}' $(((t + 3) * 1000))
	for q in 'up' \
	    'count_over_time({__name__=~"node_cpu_seconds_total|prometheus_tsdb_head_series"}[10s])' \
	    'sum by (mode) (rate(node_cpu_seconds_total[10s]))' \
	    'max_over_time(prometheus_tsdb_head_samples_appended_total[10s])' \
	    'count({__name__=~".+"})' \
	    'count_over_time(prometheus_http_requests_total[10s])'; do
		for p in "$PROMA_PORT" "$PROM_PORT"; do
			curl -sf "http://127.0.0.1:$p/api/v1/query" --data-urlencode "query=$q" \
				--data-urlencode "time=$t" |
				jq -S '.data.result | sort_by(.metric | tostring)' > "$D/q-$p.json"
		done
		[ "$(jq length "$D/q-$PROMA_PORT.json")" -gt 0 ]
		diff "$D/q-$PROMA_PORT.json" "$D/q-$PROM_PORT.json"
	done
	# A range query too, and over a raw range vector.
	for p in "$PROMA_PORT" "$PROM_PORT"; do
		curl -sf "http://127.0.0.1:$p/api/v1/query_range" \
			--data-urlencode 'query=rate(prometheus_http_requests_total[5s])' \
			--data-urlencode "start=$((t - 8))" --data-urlencode "end=$t" \
			--data-urlencode step=1 | jq -S '.data.result | sort_by(.metric | tostring)' > "$D/r-$p.json"
		curl -sf "http://127.0.0.1:$p/api/v1/query" --data-urlencode 'query=up[15s]' \
			--data-urlencode "time=$t" | jq -S '.data.result | sort_by(.metric | tostring)' >> "$D/r-$p.json"
	done
	diff "$D/r-$PROMA_PORT.json" "$D/r-$PROM_PORT.json"
	kill "$PROM_PID"
	wait "$PROM_PID" || true
}

@test "limits: Prometheus logs tsdb-head's 400 first line; exactly the limit of series is kept" {
	for i in $(seq 100); do
		grep -q 'per-user series limit of 50 exceeded' "$D/a.log" && break
		sleep 0.1
	done
	grep 'server returned HTTP status 400 Bad Request: user=fake: per-user series limit of 50 exceeded, please contact administrator to raise it (local limit: 50 global limit: 0 actual local limit: 50)' "$D/a.log"
	run sh -c "'$TOOLS/rw-push' -u http://127.0.0.1:$LIMITED -read '{__name__=~\".+\"}' | sed 's/} .*/}/' | sort -u | wc -l"
	assert_output 50
	curl -s "http://127.0.0.1:$LIMITED/metrics" |
		grep -E '^cortex_discarded_samples_total\{reason="per_user_series_limit",user="fake"\} [1-9]'
}

@test "kill -9 while Prometheus pushes: Prometheus replays a copy of our tenant dir and holds what we serve" {
	sleep 2
	killed=$(date +%s%3N)
	kill -9 "$(cat "$D/head-$HEAD.pid")"
	wait_gone "$(cat "$D/head-$HEAD.pid")"
	cp -r "$D/heads/fake" "$D/copy"
	sleep 2		# Prometheus retries meanwhile
	start_head "$HEAD" "$D/heads" -auth.enabled=false
	grep -q 'msg="WAL replay completed" user=fake' "$D/head-$HEAD.log"
	# The copy holds every scrape older than the batches in flight at the kill.
	cut=$((killed - 3000))
	[ "$cut" -gt "$START" ]
	# Prometheus' own WAL replay (promtool opens the dir as Prometheus does) = our remote read.
	promtool tsdb dump --max-time="$cut" "$D/copy" | sort > "$D/prom-replay"
	"$TOOLS/rw-push" -u "http://127.0.0.1:$HEAD" -read '{__name__=~".+"}' -end "$cut" |
		sort > "$D/ours"
	[ "$(wc -l < "$D/prom-replay")" -gt 1000 ]
	cmp "$D/prom-replay" "$D/ours"
	# And a Prometheus server on the copy answers from our WAL.
	printf 'global:\n  scrape_interval: 1h\n' > "$D/c.yml"
	start_prometheus c "$D/c.yml" "$D/copy"
	curl -sf "http://127.0.0.1:$PROM_PORT/api/v1/query" \
		--data-urlencode 'query={__name__=~".+"}[1h]' \
		--data-urlencode "time=$((cut / 1000)).$(printf %03d $((cut % 1000)))" > "$D/matrix.json"
	# Range vectors leave stale markers out.
	want=$("$TOOLS/rw-push" -u "http://127.0.0.1:$HEAD" -read '{__name__=~".+"}' \
		-end "$cut" -bits | grep -vc ' 0x7ff0000000000002 ')
	assert_equal "$(jq '[.data.result[].values | length] | add' "$D/matrix.json")" "$want"
	assert_equal "$(jq '.data.result | length' "$D/matrix.json")" \
		"$(sed 's/} .*/}/' "$D/ours" | sort -u | wc -l)"
	kill "$PROM_PID"
	wait "$PROM_PID" || true
}

@test "flush and block-ship: promtool analyzes the shipped block; its dump equals promtool's dump of Prometheus' own TSDB" {
	sleep 3
	end=$(($(date +%s%3N) - 2000))
	kill "$(cat "$D/a.pid")"
	wait_gone "$(cat "$D/a.pid")"
	grep -q 'Remote storage stopped' "$D/a.log"
	run curl -s -o /dev/null -w '%{http_code}' -XPOST "http://127.0.0.1:$HEAD/ingester/flush?wait=true"
	assert_output 204
	run "$BIN/block-ship" -once -blocks-storage.tsdb.dir="$D/heads" \
		-blocks-storage.backend=filesystem -blocks-storage.filesystem.dir="$D/bucket"
	assert_success
	shipped=$("$BIN/block-inspect" ls -json "$D/bucket/fake" | jq -r '.ulid')
	[ -n "$shipped" ]
	[ "$shipped" = "$("$BIN/block-inspect" ls -json "$D/heads/fake" | jq -r '.ulid')" ]
	# promtool wants a TSDB dir: the tenant's bucket dir is one (plus wal/).
	mkdir -p "$D/bucket/fake/wal"
	for b in $shipped; do
		promtool tsdb analyze "$D/bucket/fake" "$b" > "$D/analyze"
		grep -q '^Series:' "$D/analyze"
	done
	"$BIN/block-inspect" dump -min-time "$START" -max-time "$end" "$D/bucket/fake" | sort > "$D/ours"
	promtool tsdb dump --min-time="$START" --max-time="$end" "$D/a" | sort > "$D/theirs"
	[ "$(wc -l < "$D/theirs")" -gt 10000 ]
	cmp "$D/theirs" "$D/ours"
}
