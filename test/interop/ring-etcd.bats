#!/usr/bin/env bats
# The ring in a real etcd 3.4 (Debian's etcd-server), then seed 002's live
# migration to memberlist: tsdb-heads on -ring.store=multi with etcd
# primary and memberlist mirrored; the primary switched through the
# runtime config, no restart; etcd stopped; the ring goes on.

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ../lib/common
load ../lib/ring
load ../lib/etcd

setup() {
	DIR=$BATS_TEST_TMPDIR
	BIN=${RINGTAIL_BIN:-$BATS_TEST_DIRNAME/../../build/bin}
	start_etcd "$DIR"
	ETCD=127.0.0.1:$ETCD_PORT
}

teardown() {
	local f
	for f in "$DIR"/headpid* "$DIR"/agentpid* "$DIR/etcd.pid"; do
		[ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
	done
	if [ -z "${BATS_TEST_COMPLETED:-}" ]; then
		tail -n 12 "$DIR"/*.log 2>/dev/null || true
	fi
}

etcd_inspect() {	# etcd_inspect [args...]: ring-inspect reading etcd
	"$BIN/ring-inspect" -ring.store=etcd -ring.etcd.endpoints="$ETCD" "$@"
}

etcd_active() {	# etcd_active COUNT
	[ "$(etcd_inspect -json | jq -s '[.[] | select(.state == "ACTIVE")] | length')" = "$1" ]
}

gone_from_etcd() {	# gone_from_etcd ID
	etcd_inspect -json > "$DIR/ring.json" && ! jq -s -e --arg id "$1" '.[] | select(.id == $id)' "$DIR/ring.json"
}

metric() {	# metric I NAME{labels}: head-I's value of one series
	curl -sf "http://127.0.0.1:$(head_port "$1")/metrics" |
		awk -v m="$2" '$1 == m { print $2 }'
}

metric_is() {	# metric_is I SERIES VALUE
	[ "$(metric "$1" "$2")" = "$3" ]
}

metric_above() {	# metric_above I SERIES VALUE
	awk -v v="$(metric "$1" "$2")" -v min="$3" 'BEGIN { exit !(v != "" && v > min) }'
}

create_revision() {	# the etcd revision that created collectors/ring
	etcdctl --endpoints "$ETCD" get collectors/ring -w json | jq -e '.kvs[0].create_revision'
}

fresh_heartbeats() {	# fresh_heartbeats NODE: every instance beat in the last 2 s
	inspect "$1" -ring.heartbeat-timeout=2s -json | jq -s -e 'length == 2 and all(.[]; .healthy)'
}

@test "the ring in etcd: heads register, ring-inspect reads it, a stop removes the entry" {
	for i in 1 2; do
		start_head "$i" "$i" -ring.store=etcd -ring.etcd.endpoints="$ETCD"
	done
	until_ok 20 etcd_active 2
	run etcd_inspect -json
	echo "$output" | jq -s -e 'all(.[]; .tokens == 128)'
	etcdctl --endpoints "$ETCD" get --keys-only --prefix collectors/ | grep -qx collectors/ring
	run etcd_inspect owners '{__name__="up"}'
	assert_success
	assert_line --index 0 --partial '2 replicas'
	kill -TERM "$(cat "$DIR/headpid2")"
	# etcd holds whole values: an unregistered instance is gone, no tombstone.
	until_ok 15 gone_from_etcd head-2
	until_ok 15 etcd_active 1
	until_ok 10 curl -sf -o /dev/null "http://127.0.0.1:$(head_port 1)/ready"
}

@test "seed 002 live: etcd primary mirrored to memberlist, the runtime config switches, etcd goes" {
	start_agent 1
	start_agent 2 "$(cat "$DIR/mport1")"
	printf 'multi_kv_config:\n  primary: etcd\n  mirror_enabled: true\n' > "$DIR/runtime.yaml"
	for i in 1 2; do
		start_head "$i" "$i" -ring.store=multi -ring.multi.primary=etcd \
			-ring.multi.secondary=memberlist -ring.multi.mirror-enabled=true \
			-ring.etcd.endpoints="$ETCD" -runtime-config.file="$DIR/runtime.yaml" \
			-runtime-config.reload-period=500ms
	done
	until_ok 20 etcd_active 2
	# Every write reached memberlist too: both agents show the same ring.
	until_ok 15 active_on 1 2
	until_ok 15 active_on 2 2
	for i in 1 2; do
		until_ok 10 metric_above "$i" 'cortex_multikv_mirror_writes_total{kv_name="ingester-lifecycler"}' 2
		metric_is "$i" 'cortex_multikv_mirror_write_errors_total{kv_name="ingester-lifecycler"}' 0
		metric_is "$i" 'cortex_multikv_mirror_enabled{kv_name="ingester-lifecycler"}' 1
		metric_is "$i" 'cortex_multikv_primary_store{kv_name="ingester-lifecycler",store="etcd"}' 1
	done
	# Switch the primary with no restart, mirroring off: etcd is no longer written.
	printf 'multi_kv_config:\n  primary: memberlist\n  mirror_enabled: false\n' > "$DIR/runtime.yaml"
	for i in 1 2; do
		until_ok 10 metric_is "$i" \
			'cortex_multikv_primary_store{kv_name="ingester-lifecycler",store="memberlist"}' 1
		metric_is "$i" 'cortex_multikv_mirror_enabled{kv_name="ingester-lifecycler"}' 0
		grep -q 'msg="multi KV: primary store switched".*from=etcd to=memberlist' "$DIR/head$i.log"
	done
	kill -9 "$ETCD_PID"
	# Heartbeats go on through memberlist after etcd is gone.
	sleep 3
	for n in 1 2; do
		until_ok 10 fresh_heartbeats "$n"
	done
	run inspect 2 -check
	assert_success
	for i in 1 2; do
		metric_is "$i" 'cortex_multikv_mirror_write_errors_total{kv_name="ingester-lifecycler"}' 0
		kill -0 "$(cat "$DIR/headpid$i")"
		curl -sf -o /dev/null "http://127.0.0.1:$(head_port "$i")/ready"
	done
	# A graceful stop now leaves the memberlist ring.
	kill -TERM "$(cat "$DIR/headpid2")"
	until_ok 15 active_on 1 1
}

@test "ring-inspect delete removes the ring's key from etcd; a head still running writes it again" {
	start_head 1 1 -ring.store=etcd -ring.etcd.endpoints="$ETCD"
	until_ok 20 etcd_active 1
	local created
	created=$(create_revision)
	run etcd_inspect delete
	assert_failure 1
	assert_output --partial 'use -force'
	run etcd_inspect -force delete
	assert_success
	assert_output 'deleted collectors/ring'
	# the key itself went (DeleteRange): the heartbeat creates it anew
	until_ok 20 etcd_active 1
	[ "$(create_revision)" -gt "$created" ]
}

@test "a corrupt ring value in etcd: clear errors and a metric, no crash; the ring comes back" {
	start_head 1 1 -ring.store=etcd -ring.etcd.endpoints="$ETCD"
	until_ok 20 etcd_active 1
	etcdctl --endpoints "$ETCD" put collectors/ring 'not snappy at all' > /dev/null
	run etcd_inspect
	assert_equal "$status" 111
	assert_output --partial 'collectors/ring'
	until_ok 10 grep -q 'msg="ring update failed".*collectors/ring' "$DIR/head1.log"
	until_ok 10 metric_above 1 \
		'cortex_kv_request_duration_seconds_count{kv_name="ingester-lifecycler",operation="CAS",role="primary",status_code="500"}' 0
	kill -0 "$(cat "$DIR/headpid1")"
	# Once the key is cleared the next heartbeat registers the instance again.
	etcdctl --endpoints "$ETCD" del collectors/ring > /dev/null
	until_ok 10 etcd_active 1
	run etcd_inspect tokens head-1
	assert_success
	assert_equal "$(echo "$output" | wc -l)" 128
}
