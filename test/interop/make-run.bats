#!/usr/bin/env bats
# `make run` as a user meets it (contrib/demo/run, the ports moved by an
# offset): within 60 s three ACTIVE instances in the ring, the real
# Prometheus' remote write answered 2xx, each of its series on all three
# tsdb-heads; SIGTERM stops everything.

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ../lib/common

setup() {
	D=$BATS_TEST_TMPDIR
	BUILD=${BUILD:-build}
	BIN=$(cd "$BUILD/bin" && pwd)
	TOOLS=$(cd "$BUILD/tools" && pwd)
	OFFSET=$((10 + RANDOM % 40))
	PROM=$(free_port)
}

teardown() {
	[ -z "${DEMO:-}" ] || kill -TERM "$DEMO" 2>/dev/null || true
	"$BIN/ringtail" down -dir "$D/demo/cluster" > /dev/null 2>&1 || true
	if [ -z "${BATS_TEST_COMPLETED:-}" ]; then
		tail -n 20 "$D/demo.out" "$D"/demo/prometheus.log 2>/dev/null || true
	fi
}

three_active() {
	[ "$("$BIN/ring-inspect" -run-dir "$D/demo/cluster/node-1/run" -json |
		jq -s '[.[] | select(.state == "ACTIVE" and .healthy)] | length')" = 3 ]
}

remote_write_ok() {	# Prometheus sent samples and none failed
	local m
	m=$(curl -sf "http://127.0.0.1:$PROM/metrics") || return 1
	echo "$m" | awk '$1 ~ /^prometheus_remote_storage_samples_total/ { s += $2 }
	    $1 ~ /^prometheus_remote_storage_samples_failed_total/ { f += $2 }
	    END { exit !(s > 0 && f == 0) }'
}

on_head() {	# on_head N: node N's tsdb-head holds Prometheus' own up series
	"$TOOLS/rw-push" -read 'up{job="prometheus"}' -start 0 -end 9999999999999 \
		-u "http://127.0.0.1:$((9095 + $1 * 100 + OFFSET))/api/v1/read" -t fake | grep -q '^{'
}

@test "make run: a 3-node cluster that Prometheus writes into, every series on three tsdb-heads" {
	RINGTAIL_DEMO_DIR=$D/demo RINGTAIL_DEMO_PORT=$PROM RINGTAIL_DEMO_PORT_OFFSET=$OFFSET \
		BUILD=$BUILD contrib/demo/run > "$D/demo.out" 2>&1 3>&- &
	DEMO=$!
	start=$(date +%s)
	until_ok 60 three_active
	until_ok $((60 - ($(date +%s) - start) + 15)) remote_write_ok
	for n in 1 2 3; do
		until_ok 20 on_head "$n"
	done
	echo "ready after $(($(date +%s) - start)) s" >&3
	grep -q 'Remote write:   http://127.0.0.1:' "$D/demo.out"
	kill -TERM "$DEMO"
	wait "$DEMO" || true
	DEMO=
	# Nothing of the cluster or Prometheus is left running.
	! pgrep -f "$D/demo" > /dev/null
}
