#!/usr/bin/env bats
# block-import against promtool 2.42: the same input must give the same
# block bytes (index, chunks/000001), the same block time ranges and the
# same dump; plus what promtool does not do: bounded memory with spills,
# unsorted input, dump-format input, no partial output on bad input.

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
bats_require_minimum_version 1.5.0

setup() {
	BIN=${RINGTAIL_BIN:-$PWD/build/bin}
	T=$BATS_TEST_TMPDIR
	# Appendix A.1 of specs/tsdb-format.md (451 bytes).
	printf '%s\n' \
		'# TYPE demo gauge' \
		'demo{path="C:\\tmp",msg="say \"hi\"",city="Zürich"} 1 0' \
		'demo{path="C:\\tmp",msg="say \"hi\"",city="Zürich"} 1 15' \
		'demo{path="C:\\tmp",msg="say \"hi\"",city="Zürich"} 2 30' \
		'demo{path="C:\\tmp",msg="say \"hi\"",city="Zürich"} 2.5 46' \
		'demo{path="C:\\tmp",msg="say \"hi\"",city="Zürich"} 2 60' \
		'demo{path="C:\\tmp",msg="say \"hi\"",city="Zürich"} 2 90' \
		'up 1 0' \
		'odd NaN 0' \
		'odd +Inf 1.5' \
		'odd -Inf 2' \
		'odd -0 3' \
		'odd 1e6 4' \
		'odd 0.000012345 5' \
		'# EOF' > "$T/ex.om"
}

# gen_om SERIES SAMPLES INTERVAL_S START_S: OpenMetrics, time-major like
# scrapes, fractional-second timestamps, a few odd values.
gen_om() {
	awk -v ns="$1" -v n="$2" -v iv="$3" -v t0="$4" 'BEGIN {
		for (i = 0; i < n; i++)
			for (s = 0; s < ns; s++) {
				v = (s % 7 == 3 && i % 50 == 7) ? "NaN" : (i * (s + 1)) % 1000 / 8
				printf "m_%d{job=\"j%d\",inst=\"h-%d:90\",q=\"a \\\"b\\\" \\\\ c\"} %s %d.%03d\n",
				    s % 3, s % 5, s, v, t0 + i * iv, (s * 37 + i * 11) % 1000
			}
		print "# EOF"
	}'
}

# Block dirs of a data dir in min-time order, one per line.
blocks_of() {
	for m in "$1"/*/meta.json; do
		printf '%s %s\n' "$(jq .minTime "$m")" "$(dirname "$m")"
	done | sort -n | cut -d' ' -f2
}

# same_blocks A B: same number of blocks, and for each (in time order) the
# same time range, stats, index and chunk segment bytes.
same_blocks() {
	local a b i
	a=($(blocks_of "$1"))
	b=($(blocks_of "$2"))
	[ "${#a[@]}" -ge 1 ]
	[ "${#a[@]}" -eq "${#b[@]}" ]
	for i in "${!a[@]}"; do
		[ "$(jq -c '[.minTime, .maxTime, .stats]' "${a[$i]}/meta.json")" = \
		    "$(jq -c '[.minTime, .maxTime, .stats]' "${b[$i]}/meta.json")" ]
		cmp "${a[$i]}/index" "${b[$i]}/index"
		diff <(ls "${a[$i]}/chunks") <(ls "${b[$i]}/chunks")
		for seg in $(ls "${a[$i]}/chunks"); do
			cmp "${a[$i]}/chunks/$seg" "${b[$i]}/chunks/$seg"
		done
	done
}

@test "Appendix A input: index and chunks byte-identical to promtool's block" {
	run --separate-stderr "$BIN/block-import" -o "$T/ours" "$T/ex.om"
	assert_success
	assert_line --index 0 --regexp '^BLOCK ULID +MIN TIME +MAX TIME +DURATION +NUM SAMPLES +NUM CHUNKS +NUM SERIES +SIZE$'
	assert_line --index 1 --regexp '^[0-9A-Z]{26}  0            90001        1m30.001s    13           3            3            923$'
	promtool tsdb create-blocks-from openmetrics "$T/ex.om" "$T/theirs" > /dev/null
	same_blocks "$T/ours" "$T/theirs"
	b=$(blocks_of "$T/ours")
	[ "$(sha256sum < "$b/index" | cut -d' ' -f1)" = 609f83fe11f22e2d988076525f4c44982ce73a9180a35b706ce2124d465488ad ]
	[ "$(sha256sum < "$b/chunks/000001" | cut -d' ' -f1)" = 218ffece1302ce61d75c083d605a4d0456d248b2adfc14120d866a39f6d78c51 ]
	run jq -c '[.compaction.level, (.compaction.sources | length), .version, has("thanos")]' "$b/meta.json"
	assert_output '[1,1,1,false]'
	[ "$(stat -c %s "$b/meta.json")" -eq 247 ]
	[ "$(stat -c %s "$b/tombstones")" -eq 9 ]
}

@test "several 2h ranges: same block ranges, bytes and dump as promtool" {
	gen_om 20 840 30 1700000000 > "$T/in.om"
	run --separate-stderr "$BIN/block-import" -q -o "$T/ours" "$T/in.om"
	assert_success
	assert_output ''
	promtool tsdb create-blocks-from openmetrics "$T/in.om" "$T/theirs" > /dev/null
	[ "$(ls "$T/ours" | wc -l)" -ge 4 ]
	same_blocks "$T/ours" "$T/theirs"
	mkdir -p "$T/ours/wal" "$T/theirs/wal"
	promtool tsdb dump "$T/ours" > "$T/ours.dump"
	promtool tsdb dump "$T/theirs" > "$T/theirs.dump"
	[ "$(wc -l < "$T/ours.dump")" -eq 16800 ]
	cmp "$T/ours.dump" "$T/theirs.dump"
}

@test "-block-duration 6h: chunk range 12h, same blocks as promtool --max-block-duration=6h" {
	gen_om 6 1300 60 1699990000 > "$T/in.om"
	"$BIN/block-import" -q -block-duration 6h -o "$T/ours" "$T/in.om"
	promtool tsdb create-blocks-from openmetrics --max-block-duration=6h "$T/in.om" "$T/theirs" > /dev/null
	[ "$(ls "$T/ours" | wc -l)" -ge 3 ]
	same_blocks "$T/ours" "$T/theirs"
	for m in "$T"/ours/*/meta.json; do
		# every block inside one 6h-aligned range
		run jq '(.minTime / 21600000 | floor) == ((.maxTime - 1) / 21600000 | floor)' "$m"
		assert_output true
	done
}

@test "block-inspect dump | block-import gives back the same blocks" {
	gen_om 20 840 30 1700000000 > "$T/in.om"
	"$BIN/block-import" -q -o "$T/a" "$T/in.om"
	"$BIN/block-inspect" dump "$T/a" > "$T/a.dump"
	run head -c 1 "$T/a.dump"
	assert_output '{'
	"$BIN/block-inspect" dump "$T/a" | "$BIN/block-import" -q -o "$T/b"
	same_blocks "$T/a" "$T/b"
}

@test "malformed line: exit 1, FILE:LINE: message, no block left" {
	printf 'a 1 1\na 2 2\nb 3\na 3 3\n# EOF\n' > "$T/bad.om"
	run "$BIN/block-import" -o "$T/out" "$T/bad.om"
	assert_failure 1
	assert_output --partial "$T/bad.om:3: expected timestamp"
	[ -d "$T/out" ]
	[ -z "$(ls -A "$T/out")" ]
	# later lines do not matter: the error is found before anything is written
	printf 'a 1 1\n# EOF\n' > "$T/noeof.om"
	printf 'a 1 1\n' >> "$T/noeof.om"
	run "$BIN/block-import" -o "$T/out" "$T/noeof.om"
	assert_failure 1
	assert_output --partial "noeof.om:3: unexpected data after # EOF"
	[ -z "$(ls -A "$T/out")" ]
	printf 'a{x="1",x="2"} 1 1\n# EOF\n' > "$T/dup.om"
	run "$BIN/block-import" -o "$T/out" "$T/dup.om"
	assert_failure 1
	assert_output --partial 'dup.om:1: label name "x" is not unique'
	printf 'a 1 1\n' > "$T/short.om"
	run "$BIN/block-import" -o "$T/out" "$T/short.om"
	assert_failure 1
	assert_output --partial 'short.om:1: data does not end with # EOF'
	[ -z "$(ls -A "$T/out")" ]
}

@test "-max-memory 1MiB: spills, same blocks as an unbounded run" {
	gen_om 100 1500 7 1700000000 > "$T/in.om"
	"$BIN/block-import" -q -o "$T/big" "$T/in.om"
	run "$BIN/block-import" -q -max-memory 1MiB -o "$T/small" "$T/in.om"
	assert_success
	assert_output --regexp 'msg="import done".* spills=[1-9][0-9]*'
	same_blocks "$T/big" "$T/small"
	# no scratch file is left anywhere
	[ -z "$(find "$T/small" -name '.*' -o -name '*tmp*')" ]
}

@test "unsorted input with repeated timestamps: sorted, the first of a repeat kept" {
	gen_om 30 400 15 1700000000 | grep -v EOF > "$T/lines"
	{ cat "$T/lines"; echo '# EOF'; } > "$T/sorted.om"
	# the same lines shuffled, then every line again with another value
	{ shuf --random-source=<(yes) "$T/lines"; awk '{ $(NF - 1) = 12345; print }' "$T/lines"; echo '# EOF'; } > "$T/shuffled.om"
	"$BIN/block-import" -q -o "$T/a" "$T/sorted.om"
	run "$BIN/block-import" -q -o "$T/b" "$T/shuffled.om"
	assert_success
	assert_output --partial 'count=12000'
	same_blocks "$T/a" "$T/b"
	run "$BIN/block-import" -q -max-memory 1MiB -o "$T/c" "$T/shuffled.om"
	assert_success
	same_blocks "$T/a" "$T/c"
}

@test "-label a=b: meta.json gets a Thanos section" {
	run "$BIN/block-import" -q -label a=b -label tenant=t-1 -o "$T/out" "$T/ex.om"
	assert_success
	m=$(ls "$T"/out/*/meta.json)
	run jq -c '.thanos' "$m"
	assert_output '{"version":1,"labels":{"a":"b","tenant":"t-1"},"downsample":{"resolution":0},"source":""}'
	# Thanos writes its meta.json with a trailing newline
	[ "$(tail -c 1 "$m" | od -An -c | tr -d ' ')" = '\n' ]
	promtool tsdb create-blocks-from openmetrics "$T/ex.om" "$T/theirs" > /dev/null
	same_blocks "$T/out" "$T/theirs"
}

@test "stdin, dump-format input, and an input without samples" {
	"$BIN/block-import" -q -o "$T/a" < "$T/ex.om"
	"$BIN/block-import" -q -o "$T/b" "$T/ex.om"
	same_blocks "$T/a" "$T/b"
	printf '{__name__="odd"} NaN 0\n{__name__="odd"} +Inf 1500\n{__name__="odd"} -Inf 2000\n{__name__="odd"} -0 3000\n{__name__="odd"} 1e+06 4000\n{__name__="odd"} 1.2345e-05 5000\n{__name__="up"} 1 0\n' > "$T/part.dump"
	grep -v demo "$T/ex.om" > "$T/part.om"
	"$BIN/block-import" -q -o "$T/c" "$T/part.dump"
	"$BIN/block-import" -q -o "$T/d" "$T/part.om"
	same_blocks "$T/c" "$T/d"
	printf '# HELP x nothing\n# EOF\n' > "$T/none.om"
	run "$BIN/block-import" -o "$T/e" "$T/none.om"
	assert_success
	assert_output --partial 'no samples'
	[ -z "$(ls -A "$T/e")" ]
}

@test "usage errors exit 100" {
	run "$BIN/block-import" -no-such-flag
	assert_failure 100
	run "$BIN/block-import" -block-duration 0s "$T/ex.om"
	assert_failure 100
	run "$BIN/block-import" -block-duration 2x "$T/ex.om"
	assert_failure 100
	run "$BIN/block-import" -max-memory lots "$T/ex.om"
	assert_failure 100
	run "$BIN/block-import" -label novalue "$T/ex.om"
	assert_failure 100
	run "$BIN/block-import" -label a=1 -label a=2 "$T/ex.om"
	assert_failure 100
	run "$BIN/block-import" "$T/ex.om" "$T/ex.om"
	assert_failure 100
	run "$BIN/block-import" -h
	assert_success
	assert_output --partial 'Usage: block-import'
}
