#!/usr/bin/env bats
# The WAL of lib/tsdb against Prometheus 2.42 (Debian package `prometheus`):
#  - promtool tsdb dump (a read-only head replay) and a Prometheus server
#    replay WALs written by build/tools/wal-write (lib/tsdb/wal + walrec +
#    checkpoint): plain and snappy, many small segments, a checkpoint plus
#    the segments after it; the samples come back exactly;
#  - after a torn tail, Prometheus' own repair and ours keep the same data;
#  - our reader reads the WAL Prometheus writes while scraping itself,
#    snappy-compressed (its default) and plain, and replays to the very
#    samples promtool replays.

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ../lib/common

setup_file() {
	TOOLS=${RINGTAIL_TOOLS:-$PWD/${BUILD:-build}/tools}
	export TOOLS
	D=$BATS_FILE_TMPDIR
	# 50 series x 240 samples with NaN, +-Inf, -0, subnormals, UTF-8, quotes
	"$TOOLS/gen-series" -series 50 -samples 240 /dev/null "$D/expect.txt"
}

setup() {
	D=$BATS_FILE_TMPDIR
}

teardown() {
	if [ -n "${PROM_PID:-}" ]; then
		kill "$PROM_PID" 2>/dev/null || true
		wait "$PROM_PID" 2>/dev/null || true
	fi
}

# A free TCP port on 127.0.0.1.
# start_prom DATA_DIR CONFIG [FLAGS...]: a Prometheus on PORT, waits for /-/ready.
start_prom() {
	local data=$1 config=$2
	shift 2
	PORT=$(free_port)
	prometheus --config.file="$config" --storage.tsdb.path="$data" \
		--web.listen-address="127.0.0.1:$PORT" --storage.tsdb.retention.time=100y \
		"$@" > "$data.log" 2>&1 &
	PROM_PID=$!
	for i in $(seq 150); do
		curl -sf "http://127.0.0.1:$PORT/-/ready" > /dev/null && return 0
		sleep 0.2
	done
	cat "$data.log"
	return 1
}

# SIGTERM, as a service manager stops it: a clean shutdown.
stop_prom() {
	kill -TERM "$PROM_PID"
	wait "$PROM_PID" || true
	PROM_PID=
}

@test "promtool replays our WAL: many segments, plain and snappy, dump = input" {
	for comp in "" -compress; do
		dir="$D/ours$comp"
		"$TOOLS/wal-write" $comp -batch 77 -segment-size 32768 "$dir" < "$D/expect.txt"
		# the data spans several segments; nothing else is in the dir
		[ "$(ls "$dir/wal" | wc -l)" -ge 3 ]
		[ "$(ls "$dir")" = wal ]
		promtool tsdb dump "$dir" > "$D/promtool$comp.txt"
		cmp "$D/promtool$comp.txt" "$D/expect.txt"
		"$TOOLS/wal-write" -dump "$dir" > "$D/ours$comp.txt"
		cmp "$D/ours$comp.txt" "$D/expect.txt"
	done
	# snappy shrank what it could (and the reader took it apart again)
	[ "$(cat "$D/ours-compress/wal/"* | wc -c)" -lt "$(cat "$D/ours/wal/"* | wc -c)" ]
}

@test "promtool replays our checkpoint and the segments after it" {
	dir="$D/cp"
	"$TOOLS/wal-write" -compress -batch 50 -cut 20 -checkpoint "$dir" < "$D/expect.txt"
	cp=$(ls "$dir/wal" | grep '^checkpoint\.[0-9]*$')
	[ -n "$cp" ]
	n=$((10#${cp#checkpoint.}))
	# the segments the checkpoint covers are gone, the one after it is there
	first=$(ls "$dir/wal" | grep -E '^[0-9]{8}$' | head -1)
	[ "$first" = "$(printf %08d $((n + 1)))" ]
	[ "$(ls "$dir/wal/$cp" | wc -l)" -ge 1 ]
	promtool tsdb dump "$dir" > "$D/promtool-cp.txt"
	cmp "$D/promtool-cp.txt" "$D/expect.txt"
	"$TOOLS/wal-write" -dump "$dir" > "$D/ours-cp.txt"
	cmp "$D/ours-cp.txt" "$D/expect.txt"
}

@test "Prometheus replays our WAL with a checkpoint and serves the samples" {
	dir="$D/serve"
	# three series, one hour at 15 s; values that JSON and dump print alike
	awk 'BEGIN {
		for (s = 0; s < 3; s++) for (i = 0; i < 240; i++)
			printf "{__name__=\"wt_%c\", job=\"wal\", n=\"%d\"} %s %.0f\n",
			    97 + s, s, i * 0.5 + s * 1000, 1700000000000 + i * 15000
	}' > "$D/serve-in.txt"
	"$TOOLS/wal-write" -compress -batch 40 -cut 3 -checkpoint "$dir" < "$D/serve-in.txt"
	ls "$dir/wal" | grep -q '^checkpoint\.'
	printf 'global:\n  scrape_interval: 1h\n' > "$D/serve.yml"
	start_prom "$dir" "$D/serve.yml"
	curl -sf "http://127.0.0.1:$PORT/api/v1/query" \
		--data-urlencode 'query={__name__=~"wt_.+"}[2h]' --data-urlencode 'time=1700003600' |
		jq -r '.data.result[] | (.metric | to_entries | map("\(.key)=\"\(.value)\"") | join(", ")) as $m
			| .values[] | "{\($m)} \(.[1]) \(.[0] * 1000 | round)"' > "$D/serve-out.txt"
	stop_prom
	sort "$D/serve-in.txt" > "$D/serve-want.txt"
	sort "$D/serve-out.txt" > "$D/serve-got.txt"
	[ "$(wc -l < "$D/serve-got.txt")" -eq 720 ]
	cmp "$D/serve-got.txt" "$D/serve-want.txt"
	grep -q 'WAL checkpoint loaded' "$dir.log"
	# Prometheus added its own segment at start; our reader replays the dir it left
	"$TOOLS/wal-write" -dump "$dir" | sort > "$D/serve-after.txt"
	cmp "$D/serve-after.txt" "$D/serve-want.txt"
}

@test "torn tail: Prometheus' repair and ours keep the same samples" {
	"$TOOLS/wal-write" -batch 100 -crash "$D/torn" < "$D/expect.txt"
	# cut into the last samples record, as a crash mid-write leaves it
	truncate -s -10 "$D/torn/wal/00000000"
	cp -r "$D/torn" "$D/torn-prom"
	# promtool, read-only, refuses the damage; Prometheus repairs it
	run promtool tsdb dump "$D/torn"
	assert_failure
	assert_output --partial "unexpected checksum"
	run "$TOOLS/wal-write" -dump "$D/torn"
	assert_failure
	printf 'global:\n  scrape_interval: 1h\n' > "$D/torn.yml"
	start_prom "$D/torn-prom" "$D/torn.yml"
	stop_prom
	grep -q 'Starting corruption repair' "$D/torn-prom.log"
	run "$TOOLS/wal-write" -repair "$D/torn"
	assert_success
	assert_output --partial 'msg="wal repaired" segment=0'
	assert_output --partial 'torn=1'
	promtool tsdb dump "$D/torn-prom" > "$D/torn-prom.txt"
	promtool tsdb dump "$D/torn" > "$D/torn-ours.txt"
	[ "$(wc -l < "$D/torn-ours.txt")" -eq 11900 ]
	cmp "$D/torn-ours.txt" "$D/torn-prom.txt"
	# what is lost is the last commit: 100 samples
	"$TOOLS/wal-write" -dump "$D/torn" > "$D/torn-dump.txt"
	cmp "$D/torn-dump.txt" "$D/torn-ours.txt"
}

@test "our reader replays Prometheus' own WAL (snappy and plain) as promtool does" {
	for comp in "" --no-storage.tsdb.wal-compression; do
		dir="$D/self$comp"
		mkdir -p "$dir"
		port=$(free_port)
		printf 'global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: self\n    static_configs:\n      - targets: ["127.0.0.1:%s"]\n' \
			"$port" > "$dir.yml"
		PORT=$port
		prometheus --config.file="$dir.yml" --storage.tsdb.path="$dir/data" $comp \
			--web.listen-address="127.0.0.1:$port" > "$dir/log" 2>&1 &
		PROM_PID=$!
		# targets are applied after 5 s; then a few scrapes
		for i in $(seq 150); do
			n=$(curl -sf "http://127.0.0.1:$port/api/v1/query" \
				--data-urlencode 'query=count_over_time(up[1m])' |
				jq -r '.data.result[0].value[1] // 0')
			[ "${n:-0}" -ge 4 ] && break
			sleep 0.2
		done
		[ "$n" -ge 4 ]
		stop_prom
		promtool tsdb dump "$dir/data" > "$dir/promtool.txt"
		"$TOOLS/wal-write" -dump "$dir/data" > "$dir/ours.txt"
		[ "$(wc -l < "$dir/ours.txt")" -gt 1000 ]
		cmp "$dir/ours.txt" "$dir/promtool.txt"
		h=$(head -c 1 "$dir/data/wal/00000000" | od -An -tx1 | tr -d ' ')
		if [ -z "$comp" ]; then
			[ "$h" = 09 ] || [ "$h" = 0a ]
		else
			[ "$h" = 01 ] || [ "$h" = 02 ]
		fi
	done
}
