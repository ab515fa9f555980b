#!/usr/bin/env bats
# block-inspect against blocks written by promtool itself
# (`promtool tsdb create-blocks-from openmetrics`): ls, dump and analyze
# print what `promtool tsdb list`, `dump` and `analyze` print; verify passes
# clean blocks and names the fault in damaged ones; nothing crashes.

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load

# Five hours of samples (three 2h blocks): counters of which some start or
# stop midway (churn), a gauge with quotes, a backslash and UTF-8 in label
# values, and NaN, +Inf, -Inf and -0 values. Timestamps are in seconds.
gen_om() {
	awk 'BEGIN {
		print "# HELP http_requests_total Requests."
		print "# TYPE http_requests_total counter"
		for (t = 600; t <= 18600; t += 60) {
			for (j = 0; j < 2; j++) for (i = 0; i < 3; i++) for (c = 0; c < 2; c++) {
				if (i == 2 && c == 1 && t > 9000) continue
				if (j == 1 && i == 0 && t < 7000) continue
				n = t / 60 * (i + 1) * (c + 1) + j
				printf "http_requests_total{job=\"%s\",instance=\"host-%d:9100\",code=\"%d\"} %d %d\n",
				    j ? "web" : "api", i, c ? 500 : 200, n, t
			}
			printf "temperature{room=\"attic \\\"top\\\"\",city=\"Zürich\",path=\"C:\\\\tmp\"} %.3f %d\n",
			    -5.5 + t / 1000, t
			if (t % 600 == 0)
				printf "temperature{room=\"kitchen\"} %.4f %d.5\n", 20 + (t % 7) / 10, t
		}
		print "odd NaN 600"
		print "odd +Inf 601.5"
		print "odd -Inf 602"
		print "odd -0 603"
		print "odd 1e6 604"
		print "odd 0.000012345 605"
		print "# EOF"
	}'
}

setup_file() {
	local d=$BATS_FILE_TMPDIR
	gen_om > "$d/in.om"
	promtool tsdb create-blocks-from openmetrics "$d/in.om" "$d/data" > /dev/null
	# A second import that overlaps the first block: the same samples of
	# one series again plus a new series.
	awk 'BEGIN {
		for (t = 600; t <= 3000; t += 60)
			printf "http_requests_total{job=\"api\",instance=\"host-1:9100\",code=\"200\"} %d %d\n", t / 60 * 2, t
		for (t = 630; t <= 3000; t += 60)
			printf "late_metric{zone=\"b\"} %d %d\n", t, t
		print "# EOF"
	}' > "$d/overlap.om"
	promtool tsdb create-blocks-from openmetrics "$d/overlap.om" "$d/overlap" > /dev/null
}

setup() {
	BIN=${RINGTAIL_BIN:-$PWD/build/bin}
	T=$BATS_TEST_TMPDIR
	cp -r "$BATS_FILE_TMPDIR/data" "$T/data"
	mkdir -p "$T/data/wal"	# promtool tsdb dump needs it
	BLOCKS=($(cd "$T/data" && ls -d 0*))
}

# flip FILE OFFSET: xor the byte at OFFSET with 0xff, in place.
flip() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "\\$(printf %03o $((b ^ 255)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# be64 FILE OFFSET: the big-endian 64-bit value there.
be64() {
	od -An -tu1 -j "$2" -N8 "$1" | awk '{ v = 0; for (i = 1; i <= NF; i++) v = v * 256 + $i; print v }'
}

# Sort the lines inside each blank-line-separated section: promtool prints
# the ties of analyze's lists in random order.
sort_sections() {
	awk 'function flush() { if (n) { cmd = "sort"; for (i = 0; i < n; i++) print buf[i] | cmd; close(cmd) } n = 0 }
	     /^$/ { flush(); print; next } { buf[n++] = $0 } END { flush() }'
}

@test "the fixture: promtool made three blocks" {
	[ "${#BLOCKS[@]}" -eq 3 ]
}

@test "ls prints promtool tsdb list's table, and -r its human-readable one" {
	promtool tsdb list "$T/data" > "$T/want"
	run "$BIN/block-inspect" ls "$T/data"
	assert_success
	assert_output "$(cat "$T/want")"
	promtool tsdb list -r "$T/data" > "$T/want"
	run "$BIN/block-inspect" ls -r "$T/data"
	assert_success
	assert_output "$(cat "$T/want")"
}

@test "ls of one block directory prints its row" {
	run "$BIN/block-inspect" ls "$T/data/${BLOCKS[1]}"
	assert_success
	assert_equal "${#lines[@]}" 2
	assert_line --index 1 --regexp "^${BLOCKS[1]}  "
}

@test "ls -json: one object per block with the numbers of promtool's table" {
	"$BIN/block-inspect" ls -json "$T/data" > "$T/json"
	run wc -l < "$T/json"
	assert_output 3
	jq -r '[.ulid, .minTime, .maxTime, .numSamples, .numChunks, .numSeries, .sizeBytes] | @tsv' \
		"$T/json" | tr '\t' ' ' > "$T/got"
	promtool tsdb list "$T/data" | awk 'NR > 1 { print $1, $2, $3, $5, $6, $7, $8 }' > "$T/want"
	diff "$T/want" "$T/got"
	run jq -r '.path' "$T/json"
	assert_line --index 0 "$T/data/${BLOCKS[0]}"
	run jq -e 'has("tenant")' "$T/json"
	assert_failure
}

@test "ls of a bucket adds a TENANT column and a tenant field" {
	mkdir -p "$T/bucket/team-a" "$T/bucket/team-b/markers"
	cp -r "$T/data/${BLOCKS[0]}" "$T/data/${BLOCKS[2]}" "$T/bucket/team-b/"
	cp -r "$T/data/${BLOCKS[1]}" "$T/bucket/team-a/"
	run "$BIN/block-inspect" ls "$T/bucket"
	assert_success
	assert_line --index 0 --regexp '^TENANT       BLOCK ULID                  MIN TIME'
	assert_line --index 1 --regexp "^team-a       ${BLOCKS[1]}  "
	assert_line --index 2 --regexp "^team-b       ${BLOCKS[0]}  "
	assert_line --index 3 --regexp "^team-b       ${BLOCKS[2]}  "
	run sh -c "'$BIN/block-inspect' ls -json '$T/bucket' | jq -r '.tenant + \" \" + .ulid'"
	assert_output "team-a ${BLOCKS[1]}
team-b ${BLOCKS[0]}
team-b ${BLOCKS[2]}"
}

@test "dump prints exactly what promtool tsdb dump prints" {
	promtool tsdb dump "$T/data" > "$T/want"
	[ "$(wc -l < "$T/want")" -gt 3000 ]
	grep -q 'Zürich' "$T/want"
	grep -q '{__name__="odd"} -0 603000' "$T/want"
	"$BIN/block-inspect" dump "$T/data" > "$T/got"
	cmp "$T/want" "$T/got"
}

@test "dump -match -min-time -max-time selects like promtool" {
	set -f
	for args in "--match=http_requests_total{code=\"500\",instance!~\"host-[01].*\"}" \
	    "--match={room=\"\",job=\"api\"}" \
	    "--match={__name__=~\"temp.*|odd\",city!=\"Zürich\"}" \
	    "--min-time=7200000 --max-time=9000000" \
	    "--match=odd --min-time=601500 --max-time=603000" \
	    "--match=nothing_here"; do
		promtool tsdb dump $args "$T/data" > "$T/want"
		"$BIN/block-inspect" dump $args "$T/data" > "$T/got"
		cmp "$T/want" "$T/got" || { echo "differs for: $args"; return 1; }
	done
}

@test "dump merges overlapping blocks and drops duplicate samples, like promtool" {
	cp -r "$BATS_FILE_TMPDIR"/overlap/0* "$T/data/"
	promtool tsdb dump "$T/data" > "$T/want"
	"$BIN/block-inspect" dump "$T/data" > "$T/got"
	cmp "$T/want" "$T/got"
	run grep -c 'late_metric' "$T/got"
	assert_output 40
	# a duplicated series appears once per timestamp
	run sh -c "grep -F '{__name__=\"http_requests_total\", code=\"200\", instance=\"host-1:9100\", job=\"api\"} 20 600000' '$T/got' | wc -l"
	assert_output 1
}

@test "analyze prints promtool's report, for the last and for a named block" {
	for id in "" "${BLOCKS[0]}" "${BLOCKS[1]}"; do
		promtool tsdb analyze --limit=1000 "$T/data" $id | sort_sections > "$T/want"
		"$BIN/block-inspect" analyze -limit 1000 "$T/data" $id | sort_sections > "$T/got"
		diff "$T/want" "$T/got"
	done
	run "$BIN/block-inspect" analyze "$T/data"
	assert_line --index 0 "Block ID: ${BLOCKS[2]}"
}

@test "analyze -limit caps each list and keeps the largest numbers" {
	promtool tsdb analyze "$T/data" "${BLOCKS[0]}" > "$T/want"
	run "$BIN/block-inspect" analyze -limit 2 "$T/data" "${BLOCKS[0]}"
	assert_success
	assert_line --index 0 "Block ID: ${BLOCKS[0]}"
	# the numbers of each list are promtool's first two
	awk '/:$/ { sec = $0; n = 0; next } /^[0-9]+ / && n < 2 { print sec, $1; n++ }' "$T/want" > "$T/w"
	printf '%s\n' "${lines[@]}" | awk '/:$/ { sec = $0; n = 0; next } /^[0-9]+ / { print sec, $1; n++ }' > "$T/g"
	diff "$T/w" "$T/g"
}

@test "analyze -extended adds promtool's compaction analysis" {
	promtool tsdb analyze --extended "$T/data" "${BLOCKS[1]}" | sed -n '/^Compaction analysis:/,$p' > "$T/want"
	[ -s "$T/want" ]
	"$BIN/block-inspect" analyze -extended "$T/data" "${BLOCKS[1]}" | sed -n '/^Compaction analysis:/,$p' > "$T/got"
	diff "$T/want" "$T/got"
}

@test "verify: every clean block is ok" {
	cp -r "$BATS_FILE_TMPDIR"/overlap/0* "$T/data/"
	run "$BIN/block-inspect" verify "$T/data"
	assert_success
	assert_equal "${#lines[@]}" 4
	for b in "${BLOCKS[@]}"; do
		assert_line "$b ok"
	done
}

@test "a flipped byte in a chunk: verify names the chunk, dump fails cleanly" {
	b=$T/data/${BLOCKS[0]}
	flip "$b/chunks/000001" 100
	run "$BIN/block-inspect" verify "$T/data"
	assert_failure 1
	assert_line --regexp "^${BLOCKS[0]}: chunks: series [0-9]+ \{.*\}: chunk [0-9]+ \(ref [0-9]+\): .*checksum"
	assert_line "${BLOCKS[1]} ok"
	run "$BIN/block-inspect" dump "$T/data"
	[ "$status" -ne 0 ] && [ "$status" -lt 128 ]
	assert_output --partial 'level=error'
}

@test "a flipped byte in the index: verify names it, dump fails cleanly" {
	b=$T/data/${BLOCKS[1]}
	size=$(stat -c %s "$b/index")
	series=$(be64 "$b/index" $((size - 52 + 8)))
	postings=$(be64 "$b/index" $((size - 52 + 32)))
	# a series entry
	cp "$b/index" "$T/index.orig"
	flip "$b/index" $(( (series + 15) / 16 * 16 + 3 ))
	run "$BIN/block-inspect" verify "$b"
	assert_failure 1
	assert_output --regexp "^${BLOCKS[1]}: index: series entry at offset [0-9]+: checksum mismatch"
	run "$BIN/block-inspect" dump "$T/data"
	[ "$status" -ne 0 ] && [ "$status" -lt 128 ]
	# a postings list: only verify's walk or dump's byte check reads it
	cp "$T/index.orig" "$b/index"
	flip "$b/index" $(( (postings + 3) / 4 * 4 + 9 ))
	run "$BIN/block-inspect" verify "$b"
	assert_failure 1
	assert_output --regexp "^${BLOCKS[1]}: index: postings list at offset [0-9]+: checksum mismatch"
	run "$BIN/block-inspect" dump "$T/data"
	[ "$status" -ne 0 ] && [ "$status" -lt 128 ]
	# the TOC: the index does not open
	cp "$T/index.orig" "$b/index"
	flip "$b/index" $((size - 20))
	run "$BIN/block-inspect" verify "$b"
	assert_failure 1
	assert_output --regexp "^${BLOCKS[1]}: index: "
	run "$BIN/block-inspect" dump "$T/data"
	[ "$status" -ne 0 ] && [ "$status" -lt 128 ]
}

@test "meta.json stats that disagree with the data are faults" {
	b=$T/data/${BLOCKS[2]}
	jq '.stats.numSamples += 1 | .stats.numSeries = 7' "$b/meta.json" > "$T/m" && mv "$T/m" "$b/meta.json"
	run "$BIN/block-inspect" verify "$b"
	assert_failure 1
	assert_line --regexp "^${BLOCKS[2]}: meta.json: numSeries 7, the index holds [0-9]+ series$"
	assert_line --regexp "^${BLOCKS[2]}: meta.json: numSamples [0-9]+, the chunks hold [0-9]+ samples$"
}

# flip_many REL STEP: flip every STEP-th byte of block 0's REL, each in a
# fresh copy; every command must end without a crash, verify with 1.
flip_many() {
	local b=${BLOCKS[0]} size off cmd rc bad=0
	size=$(stat -c %s "$T/data/$b/$1")
	for off in $(seq 0 "$2" $((size - 1))); do
		rm -rf "$T/c"
		mkdir "$T/c"
		cp -r "$T/data/$b" "$T/c/"
		flip "$T/c/$b/$1" "$off"
		for cmd in verify dump ls analyze; do
			rc=0
			"$BIN/block-inspect" $cmd "$T/c" > /dev/null 2>&1 || rc=$?
			if [ "$rc" -ge 128 ]; then
				echo "$cmd crashed ($rc) with $1 offset $off"
				bad=$((bad + 1))
			fi
			if [ "$cmd" = verify ] && [ "$rc" -ne 1 ]; then
				echo "verify exited $rc with $1 offset $off"
				bad=$((bad + 1))
			fi
		done
	done
	return "$bad"
}

@test "bytes flipped all over a block never crash any command" {
	run flip_many index 7
	assert_success
	run flip_many chunks/000001 11
	assert_success
}

@test "usage errors exit 100, -h exits 0" {
	run "$BIN/block-inspect"
	assert_failure 100
	run "$BIN/block-inspect" frobnicate "$T/data"
	assert_failure 100
	run "$BIN/block-inspect" ls -bogus "$T/data"
	assert_failure 100
	run "$BIN/block-inspect" ls
	assert_failure 100
	run "$BIN/block-inspect" ls "$T/nonexistent"
	assert_failure 100
	assert_output --partial 'level=error'
	run "$BIN/block-inspect" dump -match '{oops' "$T/data"
	assert_failure 100
	run "$BIN/block-inspect" analyze "$T/data" 01ARZ3NDEKTSV4RRFFQ69G5FAV
	assert_failure 100
	run "$BIN/block-inspect" dump -min-time=soon "$T/data"
	assert_failure 100
	run "$BIN/block-inspect" -h
	assert_success
	assert_output --partial 'Usage: block-inspect COMMAND'
	for c in ls analyze dump verify; do
		run "$BIN/block-inspect" $c -h
		assert_success
		assert_output --partial "Usage: block-inspect $c"
	done
}
