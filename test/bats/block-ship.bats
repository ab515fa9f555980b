#!/usr/bin/env bats
# block-ship: blocks made by block-import in a tsdb-head-like data dir
# (<dir>/<tenant>/<ULID>/) go to <bucket>/<tenant>/<ULID>/ with the Thanos
# section a Cortex ingester writes, thanos.shipper.json records them, and
# no reader ever sees a partial block, whatever moment block-ship is
# killed at (issue 3, must-show item 3).

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
bats_require_minimum_version 1.5.0

ULID_RE='^[0-7][0-9A-HJKMNP-TV-Z]{25}$'

setup() {
	BIN=${RINGTAIL_BIN:-$PWD/build/bin}
	T=$BATS_TEST_TMPDIR
	D=$T/tsdb
	B=$T/bucket
	mkdir -p "$D"
}

teardown() {
	if [ -n "${DAEMON:-}" ]; then
		kill "$DAEMON" 2>/dev/null || true
		wait "$DAEMON" 2>/dev/null || true
	fi
	if [ -n "${WATCHER:-}" ]; then
		touch "$T/stop-watch"
		wait "$WATCHER" 2>/dev/null || true
	fi
}

# mkblocks TENANT MINUTES: 1-minute blocks of 3 series scraped every 15s.
mkblocks() {
	awk -v n="$2" 'BEGIN {
		for (i = 0; i < n * 4; i++)
			for (s = 0; s < 3; s++)
				printf "up_%d{job=\"j\",instance=\"h%d\"} %d %d\n", s, s, i * (s + 1), i * 15
		print "# EOF"
	}' > "$T/$1.om"
	"$BIN/block-import" -q -block-duration 1m -o "$D/$1" "$T/$1.om" 2>/dev/null
}

ship() {
	"$BIN/block-ship" -blocks-storage.tsdb.dir "$D" -blocks-storage.backend=filesystem \
	    -blocks-storage.filesystem.dir "$B" -ingester.lifecycler.ID ing-7 "$@"
}

# For `ship_exec ... &`: $! is then block-ship itself, not a subshell.
ship_exec() {
	exec "$BIN/block-ship" -blocks-storage.tsdb.dir "$D" -blocks-storage.backend=filesystem \
	    -blocks-storage.filesystem.dir "$B" -ingester.lifecycler.ID ing-7 "$@" 3>&-
}

# ULIDs of a tenant's local blocks in min-time order.
local_blocks() {
	for m in "$D/$1"/*/meta.json; do
		[[ $(basename "$(dirname "$m")") =~ $ULID_RE ]] || continue
		printf '%s %s\n' "$(jq .minTime "$m")" "$(jq -r .ulid "$m")"
	done | sort -n -k1,1 -k2,2 | cut -d' ' -f2
}

# The meta.json a Cortex 1.15 ingester's shipper puts in the bucket, from
# the local one: labels, source, segment files and the file list with sizes.
expected_meta() {
	local tenant=$1 u=$2 dir=$D/$1/$2 files segs
	segs=$(cd "$dir/chunks" && ls | jq -R . | jq -s .)
	files=$( (cd "$dir" && for f in chunks/* index; do
		printf '{"rel_path":"%s","size_bytes":%s}\n' "$f" "$(stat -c %s "$f")"
	done; echo '{"rel_path":"meta.json"}') | jq -s .)
	jq --tab --arg t "$tenant" --argjson segs "$segs" --argjson files "$files" \
	    '. + {thanos: {labels: {"__ingester_id__": "ing-7", "__org_id__": $t},
	      downsample: {resolution: 0}, source: "receive",
	      segment_files: $segs, files: $files}}' "$dir/meta.json"
}

same_block() {
	local tenant=$1 u=$2
	[ -f "$B/$tenant/$u/meta.json" ] || { echo "no $tenant/$u/meta.json"; return 1; }
	cmp "$D/$tenant/$u/index" "$B/$tenant/$u/index" || return 1
	for c in "$D/$tenant/$u"/chunks/*; do
		cmp "$c" "$B/$tenant/$u/chunks/$(basename "$c")" || return 1
	done
	[ "$(ls "$B/$tenant/$u/chunks" | wc -l)" -eq "$(ls "$D/$tenant/$u/chunks" | wc -l)" ]
}

# same_files LOCAL BUCKET: the bucket's tenant dir holds exactly the
# chunks and index files of the local one, with the same bytes.
same_files() {
	local a b
	a=$(cd "$1" && find . -path '*/chunks/*' -o -name index -type f | sort | xargs md5sum)
	b=$(cd "$2" && find . -type f ! -name meta.json | sort | xargs md5sum)
	[ -n "$a" ] && [ "$a" = "$b" ]
}

# The state file Thanos' shipper writes for the given ULIDs.
expected_state() {
	if [ $# -eq 0 ]; then
		printf '{\n\t"version": 1,\n\t"uploaded": null\n}\n'
		return
	fi
	printf '%s\n' "$@" | jq -R . | jq -s --tab '{version: 1, uploaded: .}'
}

@test "every finished block is shipped with the Thanos section a Cortex ingester writes" {
	mkblocks tenant-a 5
	mkblocks tenant-b 3
	run --separate-stderr ship -once
	assert_success
	[ "$(grep -c 'msg="block shipped"' <<< "$stderr")" -eq 8 ]
	for t in tenant-a tenant-b; do
		for u in $(local_blocks $t); do
			same_block $t "$u"
			# Byte for byte: Go's tab indent, keys in struct order, trailing newline.
			expected_meta $t "$u" | cmp - "$B/$t/$u/meta.json"
			[ ! -e "$B/$t/$u/tombstones" ]
			grep -q "tenant=$t block=$u " <<< "$stderr"
		done
	done
	[ "$(ls "$B/tenant-a" | wc -l)" -eq 5 ]
	[ "$(ls "$B/tenant-b" | wc -l)" -eq 3 ]
	# The bucket's tenant dir is a Prometheus data dir: promtool reads it.
	run promtool tsdb list "$B/tenant-a"
	assert_success
	[ "${#lines[@]}" -eq 6 ]
	for u in $(local_blocks tenant-a); do
		assert_output --partial "$u"
	done
}

@test "thanos.shipper.json lists the shipped blocks once each, in min-time order" {
	mkblocks tenant-a 4
	run ship -once
	assert_success
	expected_state $(local_blocks tenant-a) | cmp - "$D/tenant-a/thanos.shipper.json"
	[ ! -e "$D/tenant-a/thanos.shipper.json.tmp" ]
}

@test "a second run ships nothing and changes nothing" {
	mkblocks tenant-a 3
	run ship -once
	assert_success
	before=$(cd "$B" && find . -printf '%p %i %T@ %s\n' | sort; stat -c '%i %Y' "$D/tenant-a/thanos.shipper.json")
	run --separate-stderr ship -once
	assert_success
	refute_output --partial 'block shipped'
	[ "$(grep -c 'block shipped' <<< "$stderr")" -eq 0 ]
	after=$(cd "$B" && find . -printf '%p %i %T@ %s\n' | sort; stat -c '%i %Y' "$D/tenant-a/thanos.shipper.json")
	[ "$before" = "$after" ]
}

@test "blocks being written and empty blocks are not shipped; broken ones make -once exit 1" {
	mkblocks tenant-a 2
	u=$(local_blocks tenant-a | head -1)
	# A block Prometheus is still writing carries another name.
	cp -r "$D/tenant-a/$u" "$D/tenant-a/01HZZZZZZZZZZZZZZZZZZZZZZZ.tmp-for-creation"
	# An empty block (no samples) is never shipped and never listed.
	e=01HZZZZZZZZZZZZZZZZZZZZZZY
	cp -r "$D/tenant-a/$u" "$D/tenant-a/$e"
	jq --tab --arg u $e '.ulid = $u | .compaction.sources = [$u] | .stats = {}' \
	    "$D/tenant-a/$u/meta.json" > "$T/m" && mv "$T/m" "$D/tenant-a/$e/meta.json"
	run ship -once
	assert_success
	[ "$(ls "$B/tenant-a" | wc -l)" -eq 2 ]
	[ ! -e "$B/tenant-a/$e" ]
	expected_state $(local_blocks tenant-a | grep -v $e) | cmp - "$D/tenant-a/thanos.shipper.json"

	# A ULID dir without a valid meta.json, and a dir that is no tenant ID.
	mkdir -p "$D/tenant-a/01HZZZZZZZZZZZZZZZZZZZZZZX" "$D/no tenant"
	cp "$D/tenant-a/$u/index" "$D/tenant-a/01HZZZZZZZZZZZZZZZZZZZZZZX/"
	mkblocks tenant-b 1
	run --separate-stderr ship -once
	[ "$status" -eq 1 ]
	grep -q 'msg="block skipped: no valid meta.json".*block=01HZZZZZZZZZZZZZZZZZZZZZZX' <<< "$stderr"
	grep -q 'msg="directory skipped: not a valid tenant ID" dir="no tenant"' <<< "$stderr"
	# The rest is shipped all the same.
	same_block tenant-b "$(local_blocks tenant-b)"
	[ ! -e "$B/tenant-a/01HZZZZZZZZZZZZZZZZZZZZZZX" ]
	[ ! -e "$B/no tenant" ]
}

@test "after a crash between rename and state write, blocks are recorded, not copied again" {
	mkblocks tenant-a 3
	run ship -once
	assert_success
	u=$(local_blocks tenant-a | head -1)
	ino=$(stat -c %i "$B/tenant-a/$u/meta.json")
	rm "$D/tenant-a/thanos.shipper.json"
	# Staging leftovers: one of our blocks (removed), one of another ingester's (kept).
	mkdir -p "$B/tenant-a/$u.tmp-0badc0de/chunks" "$B/tenant-a/01HAAAAAAAAAAAAAAAAAAAAAAA.tmp-1"
	head -c 100 "$D/tenant-a/$u/index" > "$B/tenant-a/$u.tmp-0badc0de/index"
	run --separate-stderr ship -once
	assert_success
	[ "$(grep -c 'msg="block already in the bucket"' <<< "$stderr")" -eq 3 ]
	grep -q 'msg="removed staging leftovers of an interrupted upload" tenant=tenant-a count=1' <<< "$stderr"
	[ "$(stat -c %i "$B/tenant-a/$u/meta.json")" = "$ino" ]
	[ ! -e "$B/tenant-a/$u.tmp-0badc0de" ]
	[ -d "$B/tenant-a/01HAAAAAAAAAAAAAAAAAAAAAAA.tmp-1" ]
	expected_state $(local_blocks tenant-a) | cmp - "$D/tenant-a/thanos.shipper.json"
}

@test "a partial block from a non-atomic writer is replaced; a block being deleted is not shipped again" {
	mkblocks tenant-a 3
	run ship -once
	assert_success
	set -- $(local_blocks tenant-a)
	rm "$D/tenant-a/thanos.shipper.json"
	# As Cortex's own filesystem backend can leave it: no meta.json, a short index.
	rm "$B/tenant-a/$1/meta.json"
	truncate -s 10 "$B/tenant-a/$1/index"
	# Deletion removes meta.json first and deletion-mark.json last.
	rm "$B/tenant-a/$2/meta.json"
	printf '{"id":"%s","version":1,"deletion_time":1687432000}' "$2" > "$B/tenant-a/$2/deletion-mark.json"
	run --separate-stderr ship -once
	assert_success
	grep -q "msg=\"partial block in the bucket, replacing it\" tenant=tenant-a block=$1" <<< "$stderr"
	grep -q "msg=\"block is being deleted from the bucket, not shipped again\" tenant=tenant-a block=$2" <<< "$stderr"
	same_block tenant-a "$1"
	expected_meta tenant-a "$1" | cmp - "$B/tenant-a/$1/meta.json"
	[ ! -e "$B/tenant-a/$2/meta.json" ]
	[ "$(ls "$B/tenant-a" | grep -c tmp)" -eq 0 ]
	expected_state "$1" "$2" "$3" | cmp - "$D/tenant-a/thanos.shipper.json"
}

@test "a corrupt state file costs a look into the bucket, never a second copy" {
	mkblocks tenant-a 2
	run ship -once
	assert_success
	echo '{"version":1,"uploaded":["nope"' > "$D/tenant-a/thanos.shipper.json"
	run --separate-stderr ship -once
	assert_success
	grep -q 'msg="shipper state unreadable, checking the bucket for every block"' <<< "$stderr"
	[ "$(grep -c 'block shipped' <<< "$stderr")" -eq 0 ]
	expected_state $(local_blocks tenant-a) | cmp - "$D/tenant-a/thanos.shipper.json"
	echo '{"version":2,"uploaded":null}' > "$D/tenant-a/thanos.shipper.json"
	run --separate-stderr ship -once
	assert_success
	grep -q 'unexpected shipper file version' <<< "$stderr"
}

@test "blocks deleted locally drop out of the state file, and stay in the bucket" {
	mkblocks tenant-a 3
	run ship -once
	assert_success
	set -- $(local_blocks tenant-a)
	rm -r "${D:?}/tenant-a/$1"
	run ship -once
	assert_success
	expected_state "$2" "$3" | cmp - "$D/tenant-a/thanos.shipper.json"
	same_block tenant-a "$2"
	[ -f "$B/tenant-a/$1/meta.json" ]
	# Nothing left locally: the list is null, as Go writes an empty slice it never filled.
	rm -r "${D:?}/tenant-a/$2" "${D:?}/tenant-a/$3"
	run ship -once
	assert_success
	expected_state | cmp - "$D/tenant-a/thanos.shipper.json"
}

@test "bad flags exit 100, and so does a second block-ship on the same directory" {
	run ship -once -blocks-storage.backend=s3
	[ "$status" -eq 100 ]
	run "$BIN/block-ship" -blocks-storage.tsdb.dir "$D" -once
	[ "$status" -eq 100 ]
	run ship -once -no-such-flag
	[ "$status" -eq 100 ]
	run ship -once -blocks-storage.tsdb.ship-concurrency 0
	[ "$status" -eq 100 ]
	run ship -h
	assert_success
	assert_output --partial '-blocks-storage.tsdb.ship-interval duration'
	ship_exec -blocks-storage.tsdb.ship-interval 1h 2> "$T/daemon.log" &
	DAEMON=$!
	for _ in $(seq 100); do
		grep -q 'ship pass done\|block-ship started' "$T/daemon.log" && break
		sleep 0.05
	done
	run --separate-stderr ship -once
	[ "$status" -eq 100 ]
	grep -q 'msg="another block-ship is running on this directory"' <<< "$stderr"
}

@test "the daemon ships new blocks every interval and exits 0 on SIGTERM" {
	mkblocks tenant-a 2
	ship_exec -blocks-storage.tsdb.ship-interval 200ms -blocks-storage.tsdb.ship-concurrency 2 \
	    2> "$T/daemon.log" &
	DAEMON=$!
	for _ in $(seq 200); do
		[ "$(grep -c 'block shipped' "$T/daemon.log")" -eq 2 ] && break
		sleep 0.05
	done
	mkblocks tenant-c 3
	for _ in $(seq 200); do
		[ "$(grep -c 'block shipped' "$T/daemon.log")" -eq 5 ] && break
		sleep 0.05
	done
	kill -TERM "$DAEMON"
	rc=0
	wait "$DAEMON" || rc=$?
	DAEMON=
	[ "$rc" -eq 0 ]
	grep -q 'msg="block-ship stopped"' "$T/daemon.log"
	for u in $(local_blocks tenant-c); do
		same_block tenant-c "$u"
	done
	expected_state $(local_blocks tenant-c) | cmp - "$D/tenant-c/thanos.shipper.json"
}

# Complete blocks in the bucket (names that are ULIDs).
in_bucket() {
	ls "$B"/*/ 2>/dev/null | grep -cE '^[0-7][0-9A-HJKMNP-TV-Z]{25}$' || true
}

# watch EXPECTED FAILS SCANS: until $T/stop-watch exists, list the bucket
# again and again; every ULID directory must hold meta.json and exactly the
# source block's files at their final sizes. While $T/pause exists (the
# test empties the bucket), it stops and says so with $T/paused.
watch_bucket() {
	while [ ! -e "$T/stop-watch" ]; do
		if [ -e "$T/pause" ]; then
			touch "$T/paused"
			sleep 0.01
			continue
		fi
		# (mawk has no {n} intervals: the length is checked apart.)
		find "$B" -mindepth 2 -printf '%y %P %s\n' 2>/dev/null | awk '
		FNR == NR { ex[$1] = $2; split($1, p, "/"); want[p[1] "/" p[2]]++; next }
		{
			n = split($2, p, "/")
			if (length(p[2]) != 26 || p[2] !~ /^[0-7][0-9A-HJKMNP-TV-Z]+$/)
				next
			b = p[1] "/" p[2]
			if (n == 2) { blocks[b] = 1; next }
			if ($1 != "f")
				next
			rel = substr($2, length(b) + 2)
			if (rel == "meta.json") { meta[b] = $3; next }
			if (!($2 in ex)) print "unexpected file " $2
			else if (ex[$2] != $3) print "size " $3 " != " ex[$2] ": " $2
			got[b]++
		}
		END {
			for (b in blocks) {
				if (!(b in meta) || meta[b] == 0) print "no meta.json: " b
				if (got[b] != want[b]) print "files " got[b] "/" want[b] ": " b
			}
		}' "$1" - >> "$2"
		echo >> "$3"
	done
}

# Empty the bucket and the shipper state, the watcher paused meanwhile.
empty_bucket() {
	rm -f "$T/paused"
	touch "$T/pause"
	while [ ! -e "$T/paused" ]; do sleep 0.01; done
	rm -rf "${B:?}"
	rm "$T/pause"
	rm -f "$D"/*/thanos.shipper.json
}

@test "kill -9 at random moments, 10 times: no partial block is ever visible, all shipped exactly once" {
	for t in tenant-a tenant-b tenant-c; do
		mkblocks $t 30
	done
	total=$(ls -d "$D"/*/*/ | wc -l)
	[ "$total" -eq 90 ]
	declare -A order
	for t in tenant-a tenant-b tenant-c; do
		order[$t]=$(local_blocks $t)
	done
	(cd "$D" && find . -path '*/chunks/*' -o -name index -type f) | sed 's|^\./||' |
	    while read -r f; do printf '%s %s\n' "$f" "$(stat -c %s "$D/$f")"; done > "$T/expected"

	: > "$T/fails"
	: > "$T/scans"
	watch_bucket "$T/expected" "$T/fails" "$T/scans" 3>&- &
	WATCHER=$!

	# How long one uninterrupted pass takes, watcher running, to spread the kills over it.
	t0=$(date +%s%N)
	run ship -once
	assert_success
	pass_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	[ "$pass_ms" -ge 1 ]
	mid=0
	kills=0
	for rep in $(seq 10); do
		empty_bucket
		# Kills until one has landed inside a pass (a pass can outrun the
		# poll, so a kill that found 0 or all blocks is tried again): the
		# first of each rep once a random number of blocks is in (SIGSTOP at
		# once, so the count is what the kill interrupted), later ones at a
		# random time of a pass.
		landed=0
		for kill in 1 2 3 4 5 6 7 8; do
			ship_exec -once 2>> "$T/ship.log" &
			pid=$!
			if [ $kill -eq 1 ]; then
				want=$((1 + RANDOM % (total - 1)))
				while kill -0 "$pid" 2>/dev/null && [ "$(in_bucket)" -lt $want ]; do
					:
				done
			else
				sleep "$(awk -v ms=$((RANDOM % pass_ms)) 'BEGIN { printf "%.3f", ms / 1000 }')"
			fi
			kill -STOP "$pid" 2>/dev/null || true
			n=$(in_bucket)
			kill -9 "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
			kills=$((kills + 1))
			if [ "$n" -gt 0 ] && [ "$n" -lt "$total" ]; then
				landed=1
				mid=$((mid + 1))
				if [ $kill -ge 2 ]; then break; fi
			fi
			# A try that finished the pass: the next starts from an empty bucket.
			if [ "$(in_bucket)" -eq "$total" ]; then empty_bucket; fi
		done
		[ $landed -eq 1 ]
		run ship -once
		assert_success
		for t in tenant-a tenant-b tenant-c; do
			same_files "$D/$t" "$B/$t"
			[ "$(ls "$B/$t" | wc -l)" -eq 30 ]
			expected_state ${order[$t]} | cmp - "$D/$t/thanos.shipper.json"
			[ "$(jq '.uploaded | length' "$D/$t/thanos.shipper.json")" -eq 30 ]
			[ "$(jq '.uploaded | unique | length' "$D/$t/thanos.shipper.json")" -eq 30 ]
		done
	done
	touch "$T/stop-watch"
	wait "$WATCHER"
	WATCHER=
	if [ -s "$T/fails" ]; then
		sort "$T/fails" | uniq -c | head -20
		false
	fi
	echo "# watcher scans: $(wc -l < "$T/scans"), kills that landed mid-pass: $mid/$kills" >&3
	[ "$(wc -l < "$T/scans")" -ge 20 ]
}
