#!/usr/bin/env bats
# gossip-agent with dskit's TCP-only transport (-memberlist.transport=tcp,
# specs/memberlist-wire.md §2.2): three agents find each other and see a
# killed one die; no UDP socket; garbage, truncated packets and bad
# digests are counted (logged) without harm; a hand-made 0x01 packet
# holding a ping is answered by an ack connection to the address it names.

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ../lib/common

N=3

# start_agent I [flags...]: agent I, gossip and HTTP on ports the kernel
# picks (no race with parallel tests), read back from its "started" line.
start_agent() {
	local i=$1 line
	shift
	mkdir -p "$DIR/r$i"
	"$BIN/gossip-agent" -run-dir="$DIR/r$i" -memberlist.transport=tcp \
		-memberlist.nodename="agent-$i" -memberlist.randomize-node-name=false \
		-memberlist.bind-addr=127.0.0.1 -memberlist.bind-port=0 \
		-server.http-listen-address=127.0.0.1 -server.http-listen-port=0 \
		-memberlist.probe-interval=200ms -memberlist.probe-timeout=100ms \
		-memberlist.gossip-interval=50ms -memberlist.pullpush-interval=2s "$@" \
		>> "$DIR/agent$i.log" 2>&1 &
	echo $! > "$DIR/pid$i"
	until_ok 10 grep -q 'msg="started"' "$DIR/agent$i.log" || return 1
	line=$(grep 'msg="started"' "$DIR/agent$i.log")
	[[ $line =~ memberlist_port=([0-9]+).*http_port=([0-9]+) ]] || return 1
	echo "${BASH_REMATCH[1]}" > "$DIR/mport$i"
	echo "${BASH_REMATCH[2]}" > "$DIR/hport$i"
}

mport() { cat "$DIR/mport$1"; }
http() { echo "http://127.0.0.1:$(cat "$DIR/hport$1")"; }


# state I NAME: the state agent I gives NAME in GET /memberlist/members.
state() {
	curl -sf "$(http "$1")/memberlist/members" | jq -r --arg n "$2" '.[] | select(.name == $n) | .state'
}

alive_count() {	# alive_count I COUNT
	[ "$(curl -sf "$(http "$1")/memberlist/members" | jq '[.[] | select(.state == "alive")] | length')" \
		-eq "$2" ]
}

all_alive() {
	local i
	for i in $(seq "$N"); do
		alive_count "$i" "$N" || return 1
	done
}

is_dead() {	# is_dead I NAME
	[ "$(state "$1" "$2")" = dead ]
}

ready() {
	curl -sf "$(http "$1")/ready"
}

# send_raw PORT FORMAT: printf FORMAT into a fresh TCP connection to the agent.
send_raw() {
	local port=$1
	shift
	(exec 3<>"/dev/tcp/127.0.0.1/$port" && printf "$@" >&3)
}

setup_file() {
	local b=${BUILD:-build} i
	case $b in /*) ;; *) b=$PWD/$b ;; esac
	export BIN=${RINGTAIL_BIN:-$b/bin}
	export DIR=$BATS_FILE_TMPDIR
	start_agent 1
	until_ok 10 ready 1
	for i in $(seq 2 "$N"); do
		start_agent "$i" -memberlist.join="127.0.0.1:$(mport 1)"
	done
	until_ok 30 all_alive || { cat "$DIR"/agent*.log >&3; return 1; }
}

teardown_file() {
	local i
	for i in $(seq "$N"); do
		[ -f "$DIR/pid$i" ] && kill "$(cat "$DIR/pid$i")" 2>/dev/null
	done
	return 0
}

@test "three tcp agents see each other alive" {
	run all_alive
	assert_success
	run state 2 agent-3
	assert_output alive
	# /memberlist for a browser: dskit's status page.
	run curl -sf "$(http 1)/memberlist"
	assert_success
	assert_output --partial '<title>Memberlist Status</title>'
	assert_output --partial '<tr><td>agent-3</td><td>127.0.0.1:'
	assert_output --partial 'State: 0 = Alive, 1 = Suspect, 2 = Dead, 3 = Left'
}

@test "a tcp-mode agent listens on TCP only, not UDP" {
	local i
	for i in $(seq "$N"); do
		run ss -Htln "sport = :$(mport "$i")"
		assert_output --partial LISTEN
		run ss -Huln "sport = :$(mport "$i")"
		assert_output ""
	done
}

@test "-memberlist.transport takes only tcp or udp" {
	run "$BIN/gossip-agent" -run-dir="$DIR" -memberlist.transport=quic
	assert_equal "$status" 100
	assert_output --partial "bad -memberlist.transport"
}

@test "garbage and truncated connections are dropped and counted" {
	local p
	p=$(mport 1)
	send_raw "$p" '\x07junk'
	send_raw "$p" '\x01\x05'
	send_raw "$p" '\x01\x0f127.0.0.1:65000abc'
	until_ok 5 grep -q 'msg="unknown tcp connection type, closed" byte=0x07.*unknown_total=1' \
		"$DIR/agent1.log"
	until_ok 5 grep -q 'reason="truncated address".*errors_total=1' "$DIR/agent1.log"
	until_ok 5 grep -q 'reason="not enough data for the digest".*errors_total=2' \
		"$DIR/agent1.log"
	run ready 1
	assert_success
	run alive_count 1 "$N"
	assert_success
	# dskit's transport counters on /metrics.
	run curl -sf "$(http 1)/metrics"
	assert_line 'memberlist_tcp_transport_unknown_connections_total 1'
	assert_line 'memberlist_tcp_transport_packets_received_errors_total 2'
	echo "$output" | awk '$1 == "memberlist_tcp_transport_packets_received_total" && $2 > 0 { ok = 1 }
	    $1 == "memberlist_tcp_transport_incoming_streams_total" && $2 > 0 { streams = 1 }
	    END { exit !(ok && streams) }'
}

# ping_ack AGENT GOOD|BAD: hand-craft a 0x01 packet holding ping{SeqNo: 42}
# that names a listener of ours as its sender (MD5 right or zeroed), and
# print the framing of the ack connection the agent makes to that listener.
ping_ack() {
	python3 - "$1" "$2" <<'EOF'
import hashlib, socket, sys
agent, mode = int(sys.argv[1]), sys.argv[2]
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
lport = ls.getsockname()[1]
ls.listen(4)
ls.settimeout(5)
me = b"127.0.0.1:%d" % lport
ping = b"\x00\x81\xa5SeqNo\x2a"
digest = hashlib.md5(ping).digest() if mode == "good" else bytes(16)
c = socket.create_connection(("127.0.0.1", agent))
c.sendall(b"\x01" + bytes([len(me)]) + me + ping + digest)
c.close()
conn, _ = ls.accept()
conn.settimeout(5)
data = b""
while True:
    b = conn.recv(65536)
    if not b:
        break
    data += b
n = data[1]
body = data[2 + n:-16]
print("first=%d from=%s md5=%s type=%d seq42=%s" % (data[0], data[2:2 + n].decode(),
      "ok" if hashlib.md5(body).digest() == data[-16:] else "bad", body[0],
      b"\xa5SeqNo\x2a" in body))
EOF
}

@test "a hand-made ping packet is answered by an ack packet to the address it names" {
	command -v python3 > /dev/null || skip "python3 needed for the listener"
	run ping_ack "$(mport 2)" good
	assert_success
	assert_output "first=1 from=127.0.0.1:$(mport 2) md5=ok type=2 seq42=True"
}

@test "a packet with a bad MD5 is still delivered, and counted" {
	command -v python3 > /dev/null || skip "python3 needed for the listener"
	run ping_ack "$(mport 2)" bad
	assert_success
	assert_output "first=1 from=127.0.0.1:$(mport 2) md5=ok type=2 seq42=True"
	until_ok 5 grep -q 'msg="tcp packet digest mismatch, delivered anyway".*mismatches_total=1' \
		"$DIR/agent2.log"
}

@test "kill -9 of one agent: the others mark it dead" {
	kill -9 "$(cat "$DIR/pid3")"
	rm -f "$DIR/pid3"
	until_ok 30 is_dead 1 agent-3
	until_ok 30 is_dead 2 agent-3
	run alive_count 1 2
	assert_success
}
