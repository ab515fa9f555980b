#!/usr/bin/env bats
# Every single flipped byte of a block's index and chunk segment is found:
# `block-inspect verify` exits 1 naming a fault, and the reader (dump) fails
# with an error — never exit 0, never a crash (exit >= 128).

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load

setup() {
	BIN=${RINGTAIL_BIN:-$PWD/build/bin}
	"$BIN/block-import" -q -o "$BATS_TEST_TMPDIR/data" "$BATS_TEST_DIRNAME/data/ex.om"
	BLOCK=$(ls -d "$BATS_TEST_TMPDIR"/data/*/)
	BLOCK=${BLOCK%/}
}

# flip FILE OFFSET: xor the byte at OFFSET with 0xff, in place.
flip() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "\\$(printf %03o $((b ^ 255)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# check_every_byte REL: flip each byte of $BLOCK/REL in a fresh copy.
check_every_byte() {
	local size off copy rc bad=0
	size=$(stat -c %s "$BLOCK/$1")
	copy=$BATS_TEST_TMPDIR/copy/$(basename "$BLOCK")
	for off in $(seq 0 $((size - 1))); do
		rm -rf "$BATS_TEST_TMPDIR/copy"
		mkdir -p "$BATS_TEST_TMPDIR/copy"
		cp -r "$BLOCK" "$copy"
		flip "$copy/$1" "$off"
		"$BIN/block-inspect" verify "$copy" > "$BATS_TEST_TMPDIR/v.out" 2>&1
		rc=$?
		if [ "$rc" -ne 1 ] || ! grep -q . "$BATS_TEST_TMPDIR/v.out"; then
			echo "$1 offset $off: verify exited $rc"
			bad=$((bad + 1))
		fi
		"$BIN/block-inspect" dump "$copy" > /dev/null 2> "$BATS_TEST_TMPDIR/d.err"
		rc=$?
		if [ "$rc" -eq 0 ] || [ "$rc" -ge 128 ]; then
			echo "$1 offset $off: dump exited $rc"
			bad=$((bad + 1))
		fi
	done
	return "$bad"
}

@test "the uncorrupted block verifies and dumps" {
	run "$BIN/block-inspect" verify "$BLOCK"
	assert_success
	run "$BIN/block-inspect" dump "$BLOCK"
	assert_success
	assert_line '{__name__="odd"} +Inf 1500'
}

@test "every flipped byte of index is reported by verify and by the reader" {
	run check_every_byte index
	assert_success
}

@test "every flipped byte of chunks/000001 is reported by verify and by the reader" {
	run check_every_byte chunks/000001
	assert_success
}

@test "a truncated index or chunk segment is an error, not a crash" {
	for f in index chunks/000001; do
		for keep in 0 4 7 100; do
			rm -rf "$BATS_TEST_TMPDIR/t"
			cp -r "$BLOCK" "$BATS_TEST_TMPDIR/t"
			truncate -s "$keep" "$BATS_TEST_TMPDIR/t/$f"
			run "$BIN/block-inspect" verify "$BATS_TEST_TMPDIR/t"
			assert_failure 1
			run "$BIN/block-inspect" dump "$BATS_TEST_TMPDIR/t"
			[ "$status" -ne 0 ] && [ "$status" -lt 128 ]
		done
	done
}
