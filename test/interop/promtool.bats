#!/usr/bin/env bats
# Interop with the real peers: promtool and Prometheus 2.42 (Debian package
# `prometheus`). Two generated data sets of 10,000 series x 720 samples
# (counters, gauges, NaN/±Inf/-0/subnormals, label values with UTF-8, quotes
# and backslashes):
#  A: OpenMetrics text, through block-import and through
#     `promtool tsdb create-blocks-from openmetrics`; each side reads the
#     other's blocks, and the bytes are compared.
#  B: the same plus stale markers (which no text format can carry), written
#     through the block-import pipeline by gen-series -block; read by
#     promtool and by a Prometheus server.

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ../lib/common

setup_file() {
	BIN=${RINGTAIL_BIN:-$PWD/${BUILD:-build}/bin}
	TOOLS=${RINGTAIL_TOOLS:-$PWD/${BUILD:-build}/tools}
	export BIN TOOLS
	D=$BATS_FILE_TMPDIR
	"$TOOLS/gen-series" -series 10000 -samples 720 "$D/in.om" "$D/expect.txt"
	"$BIN/block-import" -q -o "$D/ours" "$D/in.om"
	# promtool's dump of 7.2M samples takes half a minute of one core: the
	# three run beside the rest of the setup and each other.
	promtool_dump ours &
	promtool tsdb create-blocks-from openmetrics "$D/in.om" "$D/theirs" >/dev/null
	promtool_dump theirs &
	"$TOOLS/gen-series" -series 10000 -samples 720 -block "$D/stale" "$D/expect-stale.txt"
	promtool_dump stale &
	for j in $(jobs -p); do
		wait "$j" || return 1
	done
}

# promtool_dump NAME: promtool tsdb dump of $D/NAME into $D/promtool-NAME.txt.
promtool_dump() {
	mkdir -p "$D/$1/wal"	# promtool wants one
	promtool tsdb dump "$D/$1" > "$D/promtool-$1.txt" 2> "$D/promtool-$1.err" ||
		{ echo "promtool tsdb dump $1 failed:" >&2; cat "$D/promtool-$1.err" >&2; return 1; }
}

setup() {
	D=$BATS_FILE_TMPDIR
}

# Block dirs of a data dir, by min time.
blocks_of() {
	"$BIN/block-inspect" ls -json "$1" | jq -r '.path'
}

@test "data set: 10,000 series x 720 samples, NaN, Inf, UTF-8, quotes, backslashes" {
	run wc -l < "$D/expect.txt"
	assert_output 7200000
	grep -q 'NaN' "$D/expect.txt"
	grep -q '+Inf' "$D/expect.txt"
	grep -q -- '-Inf' "$D/expect.txt"
	grep -q 'Zürich' "$D/expect.txt"
	grep -q 'say \\"hi\\"' "$D/expect.txt"
	grep -q 'C:\\\\data' "$D/expect.txt"
}

@test "our blocks: promtool tsdb dump = block-inspect dump = the sorted input" {
	"$BIN/block-inspect" dump "$D/ours" > "$D/ringtail-ours.txt"
	cmp "$D/promtool-ours.txt" "$D/expect.txt"
	cmp "$D/ringtail-ours.txt" "$D/expect.txt"
}

@test "our blocks with stale markers: promtool dump = block-inspect dump = the sorted input" {
	run wc -l < "$D/expect-stale.txt"
	assert_output 7200000
	"$BIN/block-inspect" dump "$D/stale" > "$D/ringtail-stale.txt"
	cmp "$D/promtool-stale.txt" "$D/expect-stale.txt"
	cmp "$D/ringtail-stale.txt" "$D/expect-stale.txt"
	run "$BIN/block-inspect" verify "$D/stale"
	assert_success
}

@test "promtool's blocks: block-inspect dump = promtool dump, verify passes" {
	"$BIN/block-inspect" dump "$D/theirs" > "$D/ringtail-theirs.txt"
	cmp "$D/ringtail-theirs.txt" "$D/promtool-theirs.txt"
	cmp "$D/ringtail-theirs.txt" "$D/expect.txt"
	run "$BIN/block-inspect" verify "$D/theirs"
	assert_success
}

@test "same input: our chunk and index bytes equal promtool's, block by block" {
	ours=($(blocks_of "$D/ours"))
	theirs=($(blocks_of "$D/theirs"))
	[ "${#ours[@]}" -ge 2 ]
	[ "${#ours[@]}" -eq "${#theirs[@]}" ]
	for i in "${!ours[@]}"; do
		run jq -c '[.minTime, .maxTime, .stats]' "${ours[$i]}/meta.json"
		want=$(jq -c '[.minTime, .maxTime, .stats]' "${theirs[$i]}/meta.json")
		assert_output "$want"
		(cd "${theirs[$i]}" && ls chunks) > "$D/segs"
		for seg in $(cat "$D/segs"); do
			cmp "${ours[$i]}/chunks/$seg" "${theirs[$i]}/chunks/$seg"
		done
		cmp "${ours[$i]}/index" "${theirs[$i]}/index"
	done
}

@test "promtool tsdb analyze and list agree with block-inspect on our block" {
	for b in $(blocks_of "$D/ours"); do
		id=$(basename "$b")
		promtool tsdb analyze "$D/ours" "$id" > "$D/pa.txt"
		"$BIN/block-inspect" analyze "$b" > "$D/ra.txt"
		run grep -E '^(Block ID|Duration|Series|Label names|Postings)' "$D/ra.txt"
		assert_output "$(grep -E '^(Block ID|Duration|Series|Label names|Postings)' "$D/pa.txt")"
		want=$(promtool tsdb list "$D/ours" | awk -v id="$id" '$1 == id { print $5 }')
		run sh -c "'$BIN/block-inspect' ls -json '$b' | jq -r .numSamples"
		assert_output "$want"
	done
}

# A free TCP port on 127.0.0.1.
@test "Prometheus 2.42 on our block answers PromQL as ringtail's reader computes it" {
	mkdir -p "$D/prom"
	cp -r $(blocks_of "$D/stale") "$D/prom/"
	printf 'global:\n  scrape_interval: 1h\n' > "$D/prom.yml"
	port=$(free_port)
	prometheus --config.file="$D/prom.yml" --storage.tsdb.path="$D/prom" \
		--web.listen-address="127.0.0.1:$port" --storage.tsdb.retention.time=100y \
		> "$D/prom.log" 2>&1 &
	pid=$!
	for i in $(seq 100); do
		curl -sf "http://127.0.0.1:$port/-/ready" >/dev/null && break
		sleep 0.2
	done
	api="http://127.0.0.1:$port/api/v1/query"

	# Evaluation times inside the data, on and off the block boundary, and
	# just after the end, when the targets with trailing stale markers are gone.
	for t in 1700010000000 1700013600000 1700016000000 1700017200000; do
		ts=$((t / 1000))
		# count by (__name__) over every series, against the dump: a series
		# counts when its latest sample in [t-5m, t] is not a stale marker.
		# rt_queue_depth has no NaN but stale markers, so there a NaN is one;
		# Prometheus only sees it as stale if the exact bits survived.
		curl -sf "$api" --data-urlencode 'query=count by (__name__) ({__name__=~".+"})' \
			--data-urlencode "time=$ts" |
			jq -r '.data.result[] | "\(.metric.__name__) \(.value[1])"' | sort > "$D/prom-count.txt"
		"$BIN/block-inspect" dump -min-time $((t - 300000)) -max-time "$t" "$D/stale" |
			awk '{ s = $0; sub(/\} .*/, "}", s); last[s] = $(NF - 1) }
			     END { for (s in last) { match(s, /__name__="[^"]*"/); m = substr(s, RSTART + 10, RLENGTH - 11)
			           if (!(m == "rt_queue_depth" && last[s] == "NaN")) n[m]++ }
			           for (k in n) print k, n[k] }' | sort > "$D/ours-count.txt"
		[ -s "$D/ours-count.txt" ]
		diff "$D/prom-count.txt" "$D/ours-count.txt"
		# After the end, half of the 2,500 rt_queue_depth targets are stale.
		if [ "$t" -eq 1700017200000 ]; then
			grep -qx 'rt_queue_depth 1250' "$D/prom-count.txt"
		fi

		# sum_over_time over 1h of the finite-valued metrics: Prometheus 2.42
		# sums [t-1h, t], stale markers left out, with Neumaier-compensated
		# summation; so do we.
		for m in rt_temperature_celsius rt_requests_total rt_queue_depth; do
			curl -sf "$api" --data-urlencode "query=sum_over_time(${m}[1h])" \
				--data-urlencode "time=$ts" |
				jq -r '.data.result[] | "\(.metric.instance) \(.value[1])"' | sort > "$D/prom-sum.txt"
			"$BIN/block-inspect" dump -match "$m" -min-time $((t - 3600000)) -max-time "$t" "$D/stale" |
				awk '$(NF - 1) == "NaN" { next }
				     { match($0, /instance="[^"]*"/); k = substr($0, RSTART + 10, RLENGTH - 11)
				       v = $(NF - 1) + 0; s = sum[k]; x = s + v
				       if ((s < 0 ? -s : s) >= (v < 0 ? -v : v)) c[k] += (s - x) + v; else c[k] += (v - x) + s
				       sum[k] = x }
				     END { for (k in sum) printf "%s %.17g\n", k, sum[k] + c[k] }' | sort > "$D/ours-sum.txt"
			[ -s "$D/ours-sum.txt" ]
			# Same series, and the same float64 (compared as numbers).
			join "$D/prom-sum.txt" "$D/ours-sum.txt" > "$D/joined.txt"
			[ "$(wc -l < "$D/joined.txt")" -eq "$(wc -l < "$D/prom-sum.txt")" ]
			[ "$(wc -l < "$D/joined.txt")" -eq "$(wc -l < "$D/ours-sum.txt")" ]
			run awk '$2 + 0 != $3 + 0 { print "differs:", $0; bad = 1 } END { exit bad }' "$D/joined.txt"
			assert_success
		done
	done
	kill "$pid"
	wait "$pid" || true
}
