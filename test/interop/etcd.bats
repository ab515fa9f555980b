#!/usr/bin/env bats
# The etcd KV backend (lib/kv/etcd.c) against a real etcd 3.4 (Debian's
# etcd-server), through build/tools/kv-etcd-tool: CAS registrations read
# back; two concurrent CAS writers that both land; a watch that delivers
# the current value and then each change; a corrupt value in etcd that
# gives a clear error; the stored bytes as etcdctl sees them (the ring
# codec, snappy of ring.Desc); endpoints tried in order; etcd stopped;
# etcd with authentication on; etcd with mutual TLS.

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ../lib/common
load ../lib/etcd

setup_file() {
	local b=${BUILD:-build}
	case $b in /*) ;; *) b=$PWD/$b ;; esac
	export TOOLS=${RINGTAIL_TOOLS:-$b/tools}
	export BIN=${RINGTAIL_BIN:-$b/bin}
}

setup() {
	D=$BATS_TEST_TMPDIR
	PIDS=()
	start_etcd "$D"
	PORT=$ETCD_PORT
	PIDS+=("$ETCD_PID")
	TOOL=("$TOOLS/kv-etcd-tool" -endpoints "127.0.0.1:$PORT" -dial-timeout 2000)
	CTL=(etcdctl --endpoints "127.0.0.1:$PORT")
}

teardown() {
	local p
	for p in "${PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null || true
	done
	if [ -z "$BATS_TEST_COMPLETED" ]; then
		tail -n 15 "$D"/*.log "$D"/*.err 2>/dev/null || true
	fi
}

ids() {	# the instance IDs of the ring JSON on stdin, comma-separated
	sed '1d;$d;s/,$//' | jq -r .id | paste -sd, -
}

# field ID NAME: a field of one instance of the ring JSON on stdin
field() {
	sed '1d;$d;s/,$//' | jq -r "select(.id == \"$1\") | .$2"
}

@test "CAS registrations read back; forget; an absent key" {
	run "${TOOL[@]}" get collectors/ring
	assert_failure 1
	"${TOOL[@]}" register collectors/ring ing-1 10.0.0.1:9095
	"${TOOL[@]}" register collectors/ring ing-2 10.0.0.2:9095 4 JOINING
	run "${TOOL[@]}" get collectors/ring
	assert_success
	assert_line --partial '"id":"ing-1","addr":"10.0.0.1:9095","zone":"","state":"ACTIVE"'
	assert_line --partial '"id":"ing-2","addr":"10.0.0.2:9095","zone":"","state":"JOINING"'
	assert_line --partial '"tokens":128}'
	assert_line --partial '"tokens":4}'
	# A heartbeat keeps registered_timestamp.
	reg=$("${TOOL[@]}" get collectors/ring | field ing-1 registered_timestamp)
	sleep 1
	"${TOOL[@]}" register collectors/ring ing-1 10.0.0.1:9095
	[ "$("${TOOL[@]}" get collectors/ring | field ing-1 registered_timestamp)" = "$reg" ]
	[ "$("${TOOL[@]}" get collectors/ring | field ing-1 timestamp)" -gt "$reg" ]
	"${TOOL[@]}" forget collectors/ring ing-1
	[ "$("${TOOL[@]}" get collectors/ring | ids)" = ing-2 ]
	# etcd counts the versions: two registrations, a heartbeat and a forget.
	[ "$("${CTL[@]}" get collectors/ring -w json | jq -r '.kvs[0].version')" = 4 ]
}

@test "two concurrent CAS writers, 20 instances each: all 40 land" {
	"${TOOL[@]}" register-many collectors/ring a 20 > "$D/a.out" 2> "$D/a.err" 3>&- &
	local pa=$!
	"${TOOL[@]}" register-many collectors/ring b 20 > "$D/b.out" 2> "$D/b.err" 3>&- &
	local pb=$!
	wait "$pa"
	wait "$pb"
	run "${TOOL[@]}" get collectors/ring
	assert_success
	[ "$(echo "$output" | grep -c '"id":"a-')" = 20 ]
	[ "$(echo "$output" | grep -c '"id":"b-')" = 20 ]
	# 40 successful compare-and-puts: etcd's version of the key.
	[ "$("${CTL[@]}" get collectors/ring -w json | jq -r '.kvs[0].version')" = 40 ]
	# The callback calls beyond 40 are the conflicts retried.
	echo "# cas calls: $(cat "$D/a.out" "$D/b.out" | tr '\n' ' ')" >&3
}

@test "watch: the current value first, then each change, a delete as an empty ring" {
	"${TOOL[@]}" register collectors/ring ing-1
	"${TOOL[@]}" watch collectors/ring 4 10000 > "$D/watch.out" 2> "$D/watch.err" 3>&- &
	local pw=$!
	until_ok 5 grep -q . "$D/watch.out"
	"${TOOL[@]}" register collectors/ring ing-2
	"${TOOL[@]}" forget collectors/ring ing-1
	"${CTL[@]}" del collectors/ring
	wait "$pw"
	run cat "$D/watch.out"
	assert_output "collectors/ring 1 ing-1
collectors/ring 2 ing-1,ing-2
collectors/ring 1 ing-2
collectors/ring 0 -"
}

@test "watch a prefix: every key under it, current values first" {
	"${TOOL[@]}" register collectors/ring ing-1
	"${TOOL[@]}" register collectors/distributor d-1
	"${TOOL[@]}" register other/ring x-1
	"${TOOL[@]}" watch 'collectors/*' 4 10000 > "$D/watch.out" 2> "$D/watch.err" 3>&- &
	local pw=$!
	until_ok 5 grep -q ring "$D/watch.out"
	"${TOOL[@]}" register other/ring x-2
	"${TOOL[@]}" register collectors/ring ing-2
	"${TOOL[@]}" register collectors/compactor c-1
	wait "$pw"
	run cat "$D/watch.out"
	assert_output "collectors/distributor 1 d-1
collectors/ring 1 ing-1
collectors/ring 2 ing-1,ing-2
collectors/compactor 1 c-1"
}

@test "a corrupt value: a clear error naming the key, no crash; a watch skips it" {
	"${CTL[@]}" put collectors/ring garbage
	run "${TOOL[@]}" get collectors/ring
	assert_failure 2
	assert_output --partial "etcd: key collectors/ring: ringDesc:"
	run "${TOOL[@]}" register collectors/ring ing-1
	assert_failure 2
	assert_output --partial "etcd: key collectors/ring: ringDesc:"
	# A valid snappy block of a truncated protobuf.
	printf '\003\010\012\377\377' | "${CTL[@]}" put collectors/ring
	run "${TOOL[@]}" get collectors/ring
	assert_failure 2
	assert_output --partial "etcd: key collectors/ring: ring.Desc"
	# An empty value is snappy of nothing, an empty ring (dskit's codec).
	"${CTL[@]}" put collectors/ring ''
	run "${TOOL[@]}" get collectors/ring
	assert_success
	assert_output '{"instances":[
]}'
	# The watch logs the bad value and goes on.
	"${CTL[@]}" put collectors/ring garbage
	"${TOOL[@]}" watch collectors/ring 1 10000 > "$D/watch.out" 2> "$D/watch.err" 3>&- &
	local pw=$!
	until_ok 5 grep -q skipping "$D/watch.err"
	"${CTL[@]}" del collectors/ring
	"${TOOL[@]}" register collectors/ring ing-1
	wait "$pw"
	run cat "$D/watch.out"
	assert_output "collectors/ring 0 -"
	grep -q 'err="etcd: key collectors/ring: ringDesc:' "$D/watch.err"
}

@test "the stored value is the ring codec: etcdctl's bytes decode as snappy of ring.Desc" {
	"${TOOL[@]}" register collectors/ring ing-1 10.0.0.1:9095 16
	"${TOOL[@]}" register collectors/ring ing-2 10.0.0.2:9095 8 LEAVING
	"${CTL[@]}" get collectors/ring -w json | jq -r '.kvs[0].value' | base64 -d > "$D/value"
	# The bytes etcd holds are those the codec makes of the ring read back.
	[ "$(od -An -v -tx1 "$D/value" | tr -d ' \n')" = "$("${TOOL[@]}" encode collectors/ring)" ]
	run "$TOOLS/kv-etcd-tool" decode "$D/value"
	assert_success
	[ "$output" = "$("${TOOL[@]}" get collectors/ring)" ]
	assert_line --partial '"id":"ing-2","addr":"10.0.0.2:9095","zone":"","state":"LEAVING"'
}

@test "endpoints are tried in order: a dead one first, then the live one" {
	local dead
	dead=$(free_port)
	run "$TOOLS/kv-etcd-tool" -endpoints "127.0.0.1:$dead,127.0.0.1:$PORT" \
		register collectors/ring ing-1
	assert_success
	run "$TOOLS/kv-etcd-tool" -endpoints "127.0.0.1:$dead, http://127.0.0.1:$PORT" \
		get collectors/ring
	assert_success
	assert_line --partial '"id":"ing-1"'
}

# blackhole MODE PORT: a listener on 127.0.0.1:PORT that never answers.
# full: its accept queue is filled, so a connect hangs; silent: connections
# are accepted and never answered. Ends after 30 s.
blackhole() {
	(exec python3 - "$1" "$2" > "$D/blackhole.log" 2>&1 3>&- <<'EOF' & echo $! > "$D/bh.pid"
import socket, sys, time
port = int(sys.argv[2])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
cs = []
if sys.argv[1] == "full":
    s.listen(0)
    for i in range(4):
        c = socket.socket()
        c.setblocking(False)
        try:
            c.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        cs.append(c)
    print("ready", flush=True)
    time.sleep(30)
else:
    s.listen(16)
    s.settimeout(30)
    print("ready", flush=True)
    try:
        while True:
            cs.append(s.accept()[0])
    except socket.timeout:
        pass
EOF
	)
	PIDS+=("$(cat "$D/bh.pid")")
	until_ok 5 grep -q ready "$D/blackhole.log"
}

@test "dial timeout: a connect that hangs gives up after -dial-timeout" {
	command -v python3 > /dev/null || skip "python3 needed for the listener"
	local hole
	hole=$(free_port)
	blackhole full "$hole"
	SECONDS=0
	run "$TOOLS/kv-etcd-tool" -endpoints "127.0.0.1:$hole" -dial-timeout 500 get collectors/ring
	assert_failure 2
	assert_output "kv-etcd-tool: etcd 127.0.0.1:$hole: connect timeout after 500 ms"
	[ "$SECONDS" -le 3 ]
	# The next endpoint is tried after it.
	run "$TOOLS/kv-etcd-tool" -endpoints "127.0.0.1:$hole,127.0.0.1:$PORT" -dial-timeout 500 \
		register collectors/ring ing-1
	assert_success
}

@test "request timeout: an endpoint that never replies, then the next one" {
	command -v python3 > /dev/null || skip "python3 needed for the listener"
	local hole
	hole=$(free_port)
	blackhole silent "$hole"
	"${TOOL[@]}" register collectors/ring ing-1
	run "$TOOLS/kv-etcd-tool" -endpoints "127.0.0.1:$hole,127.0.0.1:$PORT" get collectors/ring
	assert_success
	assert_line --partial '"id":"ing-1"'
	run "$TOOLS/kv-etcd-tool" -endpoints "127.0.0.1:$hole" get collectors/ring
	assert_failure 2
	assert_output "kv-etcd-tool: etcd 127.0.0.1:$hole: /v3/kv/range: no reply within 10000 ms"
}

@test "etcd stopped: a clear connection error naming the endpoint" {
	"${TOOL[@]}" register collectors/ring ing-1
	"${TOOL[@]}" watch collectors/ring 2 20000 > "$D/watch.out" 2> "$D/watch.err" 3>&- &
	local pw=$!
	until_ok 5 grep -q ing-1 "$D/watch.out"
	kill "$ETCD_PID"
	until_ok 10 eval "! kill -0 $ETCD_PID"
	run "${TOOL[@]}" get collectors/ring
	assert_failure 2
	assert_output "kv-etcd-tool: etcd 127.0.0.1:$PORT: connection refused"
	run "${TOOL[@]}" register collectors/ring ing-2
	assert_failure 2
	assert_output --partial "etcd 127.0.0.1:$PORT: connection refused"
	# The watch breaks with the same error.
	run wait "$pw"
	assert_equal "$status" 2
	run cat "$D/watch.err"
	assert_output --partial "etcd 127.0.0.1:$PORT: connection refused"
}

@test "authentication: a user's token; without it etcd refuses" {
	"${CTL[@]}" user add root:rootpw > /dev/null
	"${CTL[@]}" auth enable > /dev/null
	run "${TOOL[@]}" -username root -password rootpw register collectors/ring ing-1
	assert_success
	run "${TOOL[@]}" -username root -password rootpw get collectors/ring
	assert_success
	assert_line --partial '"id":"ing-1"'
	run "${TOOL[@]}" get collectors/ring
	assert_failure 2
	assert_output --partial "etcd 127.0.0.1:$PORT: /v3/kv/range: HTTP"
	run "${TOOL[@]}" -username root -password wrong get collectors/ring
	assert_failure 2
	assert_output --partial "authenticate as root"
}

@test "TLS: mutual TLS with the CA's certificates; a wrong CA, a wrong name, no client certificate refused with the reason" {
	mkdir -p "$D/tls"
	make_certs "$D/tls" good
	make_certs "$D/tls" other
	start_etcd "$D/tls" "$D/tls/good"
	PIDS+=("$ETCD_PID")
	local ep=127.0.0.1:$ETCD_PORT
	local tool=("$TOOLS/kv-etcd-tool" -endpoints "$ep" -dial-timeout 2000)
	local client=(-tls-cert "$D/tls/good-client.pem" -tls-key "$D/tls/good-client.key")

	run "${tool[@]}" -tls-ca "$D/tls/good-ca.pem" "${client[@]}" register collectors/ring ing-1 10.0.0.1:9095
	assert_success
	run "${tool[@]}" -tls-ca "$D/tls/good-ca.pem" "${client[@]}" get collectors/ring
	assert_success
	assert_line --partial '"id":"ing-1","addr":"10.0.0.1:9095"'
	# a watch is its own long-lived TLS stream: the current value comes first
	run "${tool[@]}" -tls-ca "$D/tls/good-ca.pem" "${client[@]}" watch collectors/ring 1 5000
	assert_success
	assert_output --partial "collectors/ring 1 ing-1"
	# the programs' flags (dskit's names): ring-inspect reads the ring over TLS
	run "$BIN/ring-inspect" -ring.store=etcd \
		-ring.etcd.endpoints="$ep" -ring.etcd.tls-enabled -ring.etcd.tls-ca-path="$D/tls/good-ca.pem" \
		-ring.etcd.tls-cert-path="$D/tls/good-client.pem" \
		-ring.etcd.tls-key-path="$D/tls/good-client.key" -json
	assert_success
	assert_output --partial '"id":"ing-1"'
	# etcdctl over TLS reads what we wrote
	run etcdctl --endpoints "https://$ep" --cacert "$D/tls/good-ca.pem" \
		--cert "$D/tls/good-client.pem" --key "$D/tls/good-client.key" get collectors/ring --keys-only
	assert_output collectors/ring

	run "${tool[@]}" -tls-ca "$D/tls/other-ca.pem" "${client[@]}" get collectors/ring
	assert_failure 2
	assert_output --partial "etcd $ep: TLS: certificate verify failed: unable to get local issuer certificate"
	run "${tool[@]}" -tls-ca "$D/tls/good-ca.pem" -tls-server-name etcd.example "${client[@]}" get collectors/ring
	assert_failure 2
	assert_output --partial "etcd $ep: TLS: certificate verify failed: hostname mismatch"
	run "${tool[@]}" -tls-ca "$D/tls/other-ca.pem" -tls-insecure true "${client[@]}" get collectors/ring
	assert_success
	run "${tool[@]}" -tls-ca "$D/tls/good-ca.pem" get collectors/ring
	assert_failure 2
	assert_output --partial "etcd $ep: TLS: sslv3 alert bad certificate"
	run "${tool[@]}" -tls-cert "$D/tls/good-client.pem" get collectors/ring
	assert_failure 2
	assert_output --partial "etcd: certificate given but no key configured"
	run "${tool[@]}" -tls-ca "$D/tls/missing.pem" get collectors/ring
	assert_failure 2
	assert_output --partial "etcd: error loading ca cert: $D/tls/missing.pem"
	# plain HTTP to a TLS port: no answer it can read, and it says so
	run "${tool[@]}" get collectors/ring
	assert_failure 2
	assert_output --partial "etcd $ep: connection closed before a reply"
}
