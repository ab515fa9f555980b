#!/usr/bin/env bats
# gossip-agent's KV store across ten agents: a CAS on one agent reaches
# every agent, watches fire, forget leaves a tombstone that hides the
# instance everywhere, a late joiner gets the whole store by push/pull;
# the Unix socket's mode, uid check and bad frames; /metrics names.
# The client is test/tools/kv-tool; the Go memberlist peer is in
# test/interop/gossip-agent.bats.

load /usr/lib/bats/bats-support/load
load /usr/lib/bats/bats-assert/load
load ../lib/common

N=10

# start_agent I [flags...]: agent I with its run dir $DIR/rI, gossip and HTTP on free
# ports (gossip on $MPORT if set), started through $WRAP if set.
start_agent() {
	local i=$1 mport hport
	shift
	mport=${MPORT:-$(free_port)}
	while hport=$(free_port) && [ "$hport" = "$mport" ]; do :; done
	mkdir -p "$DIR/r$i"
	echo "$mport" > "$DIR/mport$i"
	echo "$hport" > "$DIR/hport$i"
	$WRAP "$BIN/gossip-agent" -run-dir="$DIR/r$i" -memberlist.transport=udp \
		-memberlist.nodename="agent-$i" -memberlist.randomize-node-name=false \
		-memberlist.bind-addr=127.0.0.1 -memberlist.bind-port="$mport" \
		-server.http-listen-address=127.0.0.1 -server.http-listen-port="$hport" \
		-memberlist.probe-interval=300ms -memberlist.probe-timeout=150ms \
		-memberlist.gossip-interval=50ms -memberlist.pullpush-interval=2s \
		-memberlist.obsolete-entries-timeout=3s "$@" \
		>> "$DIR/agent$i.log" 2>&1 3>&- &
	echo $! > "$DIR/pid$i"
}

sock() { echo "$DIR/r$1/gossip-agent.sock"; }

page_total_is_sum_of_keys() {	# page_total_is_sum_of_keys I: /memberlist's total size, per /memberlist/kv
	local total
	total=$(curl -sf "$(http "$1")/memberlist" |
		sed -n 's|.*<td colspan="6">Total size</td><td>\([0-9]*\)</td>.*|\1|p')
	[ -n "$total" ] && [ "$total" -eq "$(curl -sf "$(http "$1")/memberlist/kv" | jq -s '[.[0][].bytes] | add')" ]
}

stop_agent() {	# stop_agent I: SIGTERM, then wait until it has left
	kill -TERM "$(cat "$DIR/pid$1")"
	until_ok 10 grep -q 'msg="left the cluster"' "$DIR/agent$1.log"
}
http() { echo "http://127.0.0.1:$(cat "$DIR/hport$1")"; }


members_alive() {	# members_alive I COUNT
	[ "$("$TOOLS/kv-tool" "$(sock "$1")" members | grep -c ' alive$')" -eq "$2" ]
}

has_instance() {	# has_instance I KEY ID
	"$TOOLS/kv-tool" "$(sock "$1")" get "$2" | grep -q "\"id\":\"$3\""
}

lacks_instance() {
	! has_instance "$@"
}

key_deleted() {	# key_deleted I KEY: hidden from readers, kept marked deleted
	! "$TOOLS/kv-tool" "$(sock "$1")" get "$2" > /dev/null &&
		curl -sf "$(http "$1")/memberlist/kv" | jq -s -e --arg k "$2" '.[0] | any(.key == $k and .deleted)' > /dev/null
}

key_forgotten() {	# key_forgotten I KEY: no longer stored at all
	curl -sf "$(http "$1")/memberlist/kv" | jq -s -e --arg k "$2" '.[0] | all(.key != $k)' > /dev/null
}

all_agents() {	# all_agents CHECK ARGS...: CHECK I ARGS for every agent
	local f=$1 i
	shift
	for i in $(seq "$N"); do
		"$f" "$i" "$@" || return 1
	done
}

setup_file() {
	local b=${BUILD:-build} i
	case $b in /*) ;; *) b=$PWD/$b ;; esac
	export BIN=${RINGTAIL_BIN:-$b/bin} TOOLS=${RINGTAIL_TOOLS:-$b/tools}
	export DIR=$BATS_FILE_TMPDIR
	start_agent 1
	until_ok 10 test -S "$(sock 1)"
	for i in $(seq 2 "$N"); do
		start_agent "$i" -memberlist.join="127.0.0.1:$(cat "$DIR/mport1")"
	done
	for i in $(seq "$N"); do
		until_ok 10 test -S "$(sock "$i")"
	done
	until_ok 30 all_agents members_alive "$N"
}

teardown_file() {
	local f
	for f in "$DIR"/pid*; do
		kill -9 "$(cat "$f")" 2>/dev/null || true
	done
}

teardown() {
	local i
	if [ -z "$BATS_TEST_COMPLETED" ]; then
		echo "--- agent-1 log"
		tail -20 "$DIR/agent1.log"
		# the agents a test started itself, and what they see
		for i in $(seq 11 33); do
			[ -f "$DIR/agent$i.log" ] || continue
			echo "--- agent-$i log, then its members"
			tail -10 "$DIR/agent$i.log"
			"$TOOLS/kv-tool" "$(sock "$i")" members 2>&1 || true
		done
	fi
}

@test "ten agents see each other through the socket's members list" {
	run all_agents members_alive "$N"
	assert_success
	run "$TOOLS/kv-tool" "$(sock 4)" members
	assert_output --partial "agent-1 127.0.0.1:$(cat "$DIR/mport1") alive"
}

@test "a CAS on one agent is seen on every agent; CAS on two agents merge" {
	run "$TOOLS/kv-tool" "$(sock 1)" register collectors/ring ing-1 10.0.0.1:9095 128
	assert_success
	run until_ok 20 all_agents has_instance collectors/ring ing-1
	assert_success
	run "$TOOLS/kv-tool" "$(sock 7)" register collectors/ring ing-2 10.0.0.2:9095 128 JOINING
	assert_success
	run until_ok 20 all_agents has_instance collectors/ring ing-2
	assert_success
	run "$TOOLS/kv-tool" "$(sock 3)" get collectors/ring
	assert_success
	assert_output --partial '"id":"ing-1","addr":"10.0.0.1:9095","zone":"","state":"ACTIVE"'
	assert_output --partial '"id":"ing-2","addr":"10.0.0.2:9095","zone":"","state":"JOINING"'
	assert_output --partial '"tokens":128'
	run "$TOOLS/kv-tool" "$(sock 5)" get collectors/nothing
	assert_failure 1
}

@test "a watch on one agent fires when another agent changes the key" {
	"$TOOLS/kv-tool" "$(sock 10)" watch 'collectors/*' 1 > "$DIR/watch.out" &
	local w=$!
	sleep 0.3
	"$TOOLS/kv-tool" "$(sock 2)" register collectors/distributor dist-1 10.0.0.9:9095 0
	run until_ok 20 grep -q '^collectors/distributor ' "$DIR/watch.out"
	kill "$w" 2>/dev/null || true
	assert_success
}

@test "forget leaves a tombstone: the instance is gone on every agent" {
	run "$TOOLS/kv-tool" "$(sock 1)" register collectors/ring ing-3 10.0.0.3:9095 16
	assert_success
	run until_ok 20 all_agents has_instance collectors/ring ing-3
	assert_success
	run "$TOOLS/kv-tool" "$(sock 9)" forget collectors/ring ing-3
	assert_success
	run until_ok 20 all_agents lacks_instance collectors/ring ing-3
	assert_success
	run "$TOOLS/kv-tool" "$(sock 9)" forget collectors/ring no-such
	assert_failure 1
	# the tombstone is still stored (and gossiped) until -memberlist.left-ingesters-timeout
	run curl -s "$(http 4)/memberlist/kv"
	assert_output --partial '"key":"collectors/ring"'
}

@test "ring-inspect delete marks a key deleted everywhere; it is forgotten after -memberlist.obsolete-entries-timeout" {
	run "$TOOLS/kv-tool" "$(sock 2)" register collectors/compactor comp-1 10.0.0.7:9095 4
	assert_success
	run until_ok 20 all_agents has_instance collectors/compactor comp-1
	assert_success
	# comp-1 still heartbeats (it registered just now): refused without -force
	run "$BIN/ring-inspect" -run-dir="$DIR/r6" -ring.key=compactor delete
	assert_failure 1
	assert_output --partial 'healthy=1'
	assert_output --partial 'use -force'
	run "$BIN/ring-inspect" -run-dir="$DIR/r6" -ring.key=compactor -force delete
	assert_success
	assert_output 'deleted collectors/compactor'
	run until_ok 20 all_agents key_deleted collectors/compactor
	assert_success
	grep -q 'msg="deleted a key" key=collectors/compactor' "$DIR/agent6.log"
	# the other keys are untouched
	run has_instance 4 collectors/ring ing-1
	assert_success
	# 3 s after the delete every agent forgets it (dskit's cleanupObsoleteEntries)
	run until_ok 20 all_agents key_forgotten collectors/compactor
	assert_success
	grep -q 'msg="forgot deleted keys" keys=1' "$DIR/agent1.log"
	# a key not in the store is named
	run "$BIN/ring-inspect" -run-dir="$DIR/r6" -ring.key=compactor delete
	assert_failure 1
	assert_output --partial 'nothing to delete'
	# and the key can be written afresh
	run "$TOOLS/kv-tool" "$(sock 8)" register collectors/compactor comp-2 10.0.0.8:9095 4
	assert_success
	run until_ok 20 all_agents has_instance collectors/compactor comp-2
	assert_success
}

@test "an agent joining later gets the whole store by push/pull" {
	"$TOOLS/kv-tool" "$(sock 1)" register collectors/ring ing-4 10.0.0.4:9095 8
	start_agent 11 -memberlist.join="127.0.0.1:$(cat "$DIR/mport5")"
	run until_ok 10 test -S "$(sock 11)"
	assert_success
	run until_ok 20 has_instance 11 collectors/ring ing-4
	assert_success
	run until_ok 20 has_instance 11 collectors/ring ing-1
	assert_success
}

@test "the socket is 0600; other users are refused; bad frames close the connection" {
	run stat -c %a "$(sock 1)"
	assert_output 600
	if id nobody > /dev/null 2>&1 && command -v setpriv > /dev/null; then
		# the mode stops them at connect; with the mode opened, the uid check does
		run setpriv --reuid=nobody --regid=nogroup --clear-groups "$TOOLS/kv-tool" "$(sock 1)" members
		assert_failure 2
		chmod 0666 "$(sock 1)"
		local d=$DIR/r1
		while [ "$d" != / ] && [ "$d" != /tmp ]; do
			chmod o+x "$d"
			d=$(dirname "$d")
		done
		run setpriv --reuid=nobody --regid=nogroup --clear-groups "$TOOLS/kv-tool" "$(sock 1)" members
		chmod 0600 "$(sock 1)"
		assert_failure 2
		assert_output --regexp 'closed the connection|Broken pipe|reset by peer'
		run curl -s "$(http 1)/metrics"
		assert_output --regexp 'ringtail_agent_socket_refused_total [1-9]'
	fi
	run "$TOOLS/kv-tool" "$(sock 1)" raw ffffffff00
	assert_output closed
	run "$TOOLS/kv-tool" "$(sock 1)" raw 00000003ffffff
	assert_output --partial 'undecodable request'
	run "$TOOLS/kv-tool" "$(sock 1)" members
	assert_success
}

@test "/metrics has dskit's memberlist_client names" {
	run curl -s "$(http 1)/metrics"
	assert_output --regexp 'memberlist_client_cluster_members_count 1[01][^0-9]'
	assert_output --regexp 'memberlist_client_cas_success_total [1-9]'
	assert_output --partial 'memberlist_client_messages_in_broadcast_queue{queue="local"}'
	assert_output --partial 'memberlist_client_kv_store_count 3'
	# test 4's tombstone, per key as dskit's
	assert_output --regexp 'memberlist_client_kv_store_value_tombstones\{key="collectors/ring"\} [1-9]'
	assert_output --partial 'memberlist_client_kv_store_value_tombstones_removed_total{key="collectors/ring"} 0'
	assert_output --regexp 'memberlist_client_messages_in_broadcast_queue_bytes [0-9]'
	run curl -s "$(http 6)/metrics"
	assert_output --regexp 'memberlist_client_received_broadcasts_total [1-9]'
}

@test "/memberlist keeps a message history with -memberlist.message-history-buffer-bytes: messages, values and the key are viewed and downloaded" {
	local page id
	start_agent 15 -memberlist.message-history-buffer-bytes=65536 \
		-memberlist.join="127.0.0.1:$(cat "$DIR/mport1")"
	until_ok 20 has_instance 15 collectors/ring ing-1
	run "$TOOLS/kv-tool" "$(sock 2)" register collectors/ring ing-15 10.0.0.15:9095 16
	assert_success
	# the change arrives as a broadcast: a received message whose merge changed ing-15
	until_ok 20 sh -c "curl -sf '$(http 15)/memberlist' | grep -q '<td>ing-15</td>'"
	page=$(curl -sf "$(http 15)/memberlist")
	id=$(echo "$page" | grep '<td>ing-15</td>' | head -1 | sed 's|^<tr><td>\([0-9]*\)</td>.*|\1|')
	[[ $id =~ ^[0-9]+$ ]]
	[[ $page == *"<h3>Received Messages</h3>"* && $page == *"<h3>Sent Messages</h3>"* ]]
	[[ $page == *"<li>Zone-aware routing: disabled</li>"* ]]
	# the same as JSON, the way Go encodes dskit's StatusPageData
	run curl -sf -H 'Accept: application/json' "$(http 15)/memberlist"
	assert_success
	echo "$output" | jq -s -e --argjson id "$id" '.[0] |
		(.SortedMembers | map(.Name) | index("agent-15") != null) and
		(.SortedMembers[0] | .PMin == 1 and .PMax == 5 and (.Port | type) == "number") and
		.Store["collectors/ring"].CodecID == "ringDesc" and
		(.ReceivedMessages[] | select(.ID == $id) | .Pair.key == "collectors/ring" and
			(.Changes | index("ing-15") != null) and (.Pair.value | type) == "string")'
	until_ok 10 page_total_is_sum_of_keys 15
	run curl -sf "$(http 15)/memberlist?viewMsg=$id&format=json"
	assert_success
	echo "$output" | jq -s -e '.[0].ingesters["ing-15"] | .addr == "10.0.0.15:9095" and (.tokens | length) == 16'
	run curl -sf "$(http 15)/memberlist?viewKey=collectors/ring&format=json-pretty"
	assert_success
	echo "$output" | jq -s -e '.[0].ingesters["ing-1"].tokens | length == 128'
	# the download is the codec's bytes: as many as /memberlist/kv says
	run curl -sf -D "$DIR/hdr15" -o "$DIR/ring15" "$(http 15)/memberlist?downloadKey=collectors/ring"
	assert_success
	grep -qi '^content-disposition: attachment; filename=[0-9]*-ring' "$DIR/hdr15"
	[ "$(stat -c %s "$DIR/ring15")" -eq "$(curl -sf "$(http 15)/memberlist/kv" |
		jq -s '.[0][] | select(.key == "collectors/ring") | .bytes')" ]
	# bad requests are named
	run curl -s -w ' %{http_code}' "$(http 15)/memberlist?viewMsg=abc"
	assert_output 'viewMsg: abc is not a message ID
 400'
	run curl -s -w ' %{http_code}' "$(http 15)/memberlist?viewKey=collectors/none"
	assert_output 'value not found
 404'
	# a peer's value that does not decode is kept, and named when viewed: one UDP
	# packet, a user message (8) with a KeyValuePair whose value is not snappy
	printf '\x08\x0a\x0fcollectors/ring\x12\x08garbage!\x1a\x08ringDesc' > "$DIR/bad.pkt"
	cat "$DIR/bad.pkt" > "/dev/udp/127.0.0.1/$(cat "$DIR/mport15")"
	until_ok 10 sh -c "curl -sf '$(http 15)/memberlist' | grep -q 'size: 37, codec: ringDesc'"
	id=$(curl -sf "$(http 15)/memberlist" | grep 'size: 37, codec: ringDesc' | head -1 |
		sed 's|^<tr><td>\([0-9]*\)</td>.*|\1|')
	run curl -s -w ' %{http_code}' "$(http 15)/memberlist?viewMsg=$id"
	assert_output "message $id: failed to decode: ringDesc: corrupt snappy block
 422"
	# delete: a redirect, and the message is gone
	run curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "$(http 15)/memberlist?deleteMessages=true"
	assert_output --regexp '^302 .*deleteMessages=false$'
	run curl -s -w ' %{http_code}' "$(http 15)/memberlist?viewMsg=$id"
	assert_output 'message not found
 404'
	# off by default, and a negative size is refused
	run curl -sf "$(http 1)/memberlist"
	assert_output --partial 'Message history buffer is disabled'
	run "$BIN/gossip-agent" -run-dir="$DIR/r15" -memberlist.message-history-buffer-bytes=-1
	assert_failure 100
	assert_output --partial 'bad -memberlist.message-history-buffer-bytes'
}

@test "at shutdown the KV changes made here are gossiped before the leave, for at most -memberlist.broadcast-timeout-for-local-updates-on-shutdown" {
	start_agent 16 -memberlist.broadcast-timeout-for-local-updates-on-shutdown=2s \
		-memberlist.join="127.0.0.1:$(cat "$DIR/mport1")"
	until_ok 20 has_instance 16 collectors/ring ing-1
	"$TOOLS/kv-tool" "$(sock 16)" register collectors/ring ing-16 10.0.0.16:9095 16
	# 1000 tokens never fit a UDP packet: that change waits for push/pull, so it stays queued
	"$TOOLS/kv-tool" "$(sock 16)" register collectors/ring ing-16b 10.0.0.17:9095 1000
	stop_agent 16
	run cat "$DIR/agent16.log"
	assert_output --regexp 'msg="waiting for locally-generated broadcast messages to be sent out" count=[12] nodes=1[0-9]'
	assert_output --regexp 'msg="locally-generated broadcast messages left the queue" count=1 nodes=1[0-9]'
	run until_ok 10 has_instance 1 collectors/ring ing-16
	assert_success
	# alone, nobody is there to hear: the leave does not wait
	start_agent 17
	until_ok 10 test -S "$(sock 17)"
	"$TOOLS/kv-tool" "$(sock 17)" register collectors/ring ing-17 10.0.0.18:9095 16
	stop_agent 17
	run cat "$DIR/agent17.log"
	refute_output --partial 'waiting for locally-generated'
	assert_output --partial 'msg="locally-generated broadcast messages left the queue" count=1 nodes=1'
}

@test "cluster labels: agents with another label are refused, the same label joins" {
	start_agent 12 -memberlist.cluster-label=blue \
		-memberlist.join="127.0.0.1:$(cat "$DIR/mport1")"
	start_agent 13 -memberlist.cluster-label=blue
	run until_ok 10 test -S "$(sock 13)"
	assert_success
	start_agent 14 -memberlist.cluster-label=blue \
		-memberlist.join="127.0.0.1:$(cat "$DIR/mport13")"
	run until_ok 20 members_alive 14 2
	assert_success
	run until_ok 20 members_alive 13 2
	assert_success
	run "$TOOLS/kv-tool" "$(sock 1)" members
	refute_output --partial agent-12
	refute_output --partial agent-13
	run curl -s "$(http 1)/metrics"
	assert_output --regexp 'ringtail_memberlist_cluster_label_mismatches_total [1-9]'
	run members_alive 12 1
	assert_success
}

@test "the join at start is retried with backoff: a seed that comes up late is joined" {
	local p
	p=$(free_port)
	start_agent 20 -memberlist.join="127.0.0.1:$p" -memberlist.min-join-backoff=200ms \
		-memberlist.max-join-backoff=400ms -memberlist.max-join-retries=50
	run until_ok 10 grep -q 'no address answered; retrying' "$DIR/agent20.log"
	assert_success
	MPORT=$p start_agent 21
	run until_ok 20 members_alive 20 2
	assert_success
	run until_ok 20 members_alive 21 2
	assert_success
	run grep -c 'retrying' "$DIR/agent20.log"
	assert_output --regexp '^[1-9]'
	grep -q 'msg="joined the cluster"' "$DIR/agent20.log"
}

@test "-memberlist.abort-if-join-fails exits 1 once -memberlist.max-join-retries are spent; -memberlist.abort-if-fast-join-fails at the first failure" {
	local p
	p=$(free_port)
	mkdir -p "$DIR/r17"
	run timeout 30 "$BIN/gossip-agent" -run-dir="$DIR/r17" -memberlist.transport=udp \
		-memberlist.bind-addr=127.0.0.1 -memberlist.bind-port=0 \
		-server.http-listen-address=127.0.0.1 -server.http-listen-port=0 \
		-memberlist.join="127.0.0.1:$p" -memberlist.abort-if-join-fails \
		-memberlist.min-join-backoff=100ms -memberlist.max-join-backoff=200ms \
		-memberlist.max-join-retries=3
	assert_failure 1
	assert_output --partial 'retry=3 max_retries=3'
	refute_output --partial 'retry=4'
	assert_output --partial 'level=error prog=gossip-agent msg="joining the cluster failed: no address answered" addresses=1 retries=3'
	# 0 retries: the first failure is final.
	run timeout 30 "$BIN/gossip-agent" -run-dir="$DIR/r17" -memberlist.transport=udp \
		-memberlist.bind-addr=127.0.0.1 -memberlist.bind-port=0 \
		-server.http-listen-address=127.0.0.1 -server.http-listen-port=0 \
		-memberlist.join="127.0.0.1:$p" -memberlist.abort-if-join-fails \
		-memberlist.max-join-retries=0
	assert_failure 1
	refute_output --partial 'retrying'
	# the fast join is the first one: no retry, whatever -memberlist.max-join-retries says
	run timeout 30 "$BIN/gossip-agent" -run-dir="$DIR/r17" -memberlist.transport=udp \
		-memberlist.bind-addr=127.0.0.1 -memberlist.bind-port=0 \
		-server.http-listen-address=127.0.0.1 -server.http-listen-port=0 \
		-memberlist.join="127.0.0.1:$p" -memberlist.abort-if-fast-join-fails
	assert_failure 1
	refute_output --partial 'retrying'
	assert_output --partial 'level=error prog=gossip-agent msg="fast-joining the cluster failed: no address answered" addresses=1 retries=0'
	run "$BIN/gossip-agent" -memberlist.max-join-retries=-1
	assert_failure 100
	assert_output --partial 'must not be negative'
}

@test "join addresses take dskit's DNS service discovery: dns+ joins; a missing port or an unknown scheme is named" {
	start_agent 18 -memberlist.join="dns+localhost:$(cat "$DIR/mport21")" \
		-memberlist.join=dns+no-port -memberlist.join=srv+x
	run until_ok 20 members_alive 18 3
	assert_success
	run until_ok 20 members_alive 20 3
	assert_success
	run cat "$DIR/agent18.log"
	assert_output --partial 'msg="missing port in address given for dns+ service discovery" addr=dns+no-port'
	assert_output --partial 'msg="invalid lookup scheme in a join address: want dns+, dnssrv+ or dnssrvnoa+" addr=srv+x'
}

@test "a dnssrv+ join address is looked up in DNS (dnsmasq) and its targets are joined" {
	local ns
	unshare -m true || skip "needs a private mount namespace (unshare -m) to point the resolver at a test DNS server"
	ns=127.0.$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))
	dnsmasq -k --conf-file=/dev/null --no-resolv --no-hosts --listen-address="$ns" \
		--bind-interfaces --port=53 --pid-file= --log-queries --log-facility="$DIR/dnsmasq.log" \
		--srv-host="_memberlist._tcp.ringtail.test,localhost,$(cat "$DIR/mport20")" \
		--srv-host="_memberlist._tcp.ringtail.test,localhost,$(cat "$DIR/mport21")" 3>&- &
	echo $! > "$DIR/pid-dnsmasq"
	run until_ok 10 grep -q started "$DIR/dnsmasq.log"
	assert_success
	# The agent alone sees this resolv.conf, in a mount namespace of its own.
	printf 'nameserver %s\n' "$ns" > "$DIR/resolv.conf"
	printf '#!/bin/sh\nmount --bind "%s" /etc/resolv.conf && exec "$@"\n' "$DIR/resolv.conf" > "$DIR/in-ns"
	chmod +x "$DIR/in-ns"
	WRAP="unshare -m $DIR/in-ns" start_agent 19 -memberlist.join=dnssrv+_memberlist._tcp.ringtail.test
	run until_ok 20 members_alive 19 4
	assert_success
	run cat "$DIR/dnsmasq.log"
	assert_output --partial 'query[SRV] _memberlist._tcp.ringtail.test'
	run grep 'msg="joined the cluster"' "$DIR/agent19.log"
	assert_output --partial 'nodes_contacted=2'
}

@test "-memberlist.compression-algorithm=snappy: an agent sending snappy and the LZW agents read each other" {
	start_agent 22 -memberlist.compression-algorithm=snappy \
		-memberlist.join="127.0.0.1:$(cat "$DIR/mport3")"
	run until_ok 20 has_instance 22 collectors/ring ing-1
	assert_success
	"$TOOLS/kv-tool" "$(sock 22)" register collectors/ring ing-22 10.0.0.22:9095 16
	run until_ok 20 all_agents has_instance collectors/ring ing-22
	assert_success
	"$TOOLS/kv-tool" "$(sock 5)" register collectors/ring ing-5 10.0.0.5:9095 16
	run until_ok 20 has_instance 22 collectors/ring ing-5
	assert_success
	stop_agent 22
	run "$BIN/gossip-agent" -memberlist.compression-algorithm=zstd
	assert_failure 100
	assert_output --partial 'msg="invalid memberlist compression algorithm: want lzw or snappy" value=zstd'
}

@test "-memberlist.notify-interval: a watcher gets a key's changes at most that often, whatever it asks" {
	start_agent 23 -memberlist.notify-interval=3s
	until_ok 10 test -S "$(sock 23)"
	"$TOOLS/kv-tool" "$(sock 23)" watch collectors/burst > "$DIR/burst.out" &
	local w=$! i
	until_ok 10 test -s "$DIR/burst.out"	# the current value (none) comes at once
	for i in 1 2 3 4 5; do
		"$TOOLS/kv-tool" "$(sock 23)" register collectors/burst "b-$i" "10.0.1.$i:9095" 4
		sleep 0.3
	done
	# the five changes (1.5 s) come as one event after the interval, not five
	run until_ok 10 grep -q '^collectors/burst [0-9]* 5 ' "$DIR/burst.out"
	kill "$w" 2>/dev/null || true
	assert_success
	run wc -l < "$DIR/burst.out"
	assert_output 2
	stop_agent 23
	run "$BIN/gossip-agent" -memberlist.notify-interval=-1s
	assert_failure 100
	assert_output --partial 'must not be negative'
}

@test "-memberlist.bind-addr is repeatable: an agent listens on every address given, at one port" {
	start_agent 24 -memberlist.bind-addr=127.0.0.2
	until_ok 10 test -S "$(sock 24)"
	# joined through the second address (push/pull is TCP); it advertises the first
	start_agent 25 -memberlist.join="127.0.0.2:$(cat "$DIR/mport24")"
	run until_ok 20 members_alive 25 2
	assert_success
	run "$TOOLS/kv-tool" "$(sock 25)" members
	assert_output --partial "agent-24 127.0.0.1:$(cat "$DIR/mport24") alive"
	stop_agent 25
	stop_agent 24
	run "$BIN/gossip-agent" -memberlist.bind-addr=127.0.0.1 -memberlist.bind-addr=localhost \
		-memberlist.bind-port=0 -server.http-listen-port=0 -run-dir="$DIR/r24"
	assert_failure 111
	assert_output --partial 'bind address localhost'
}

@test "zone-aware routing: two zones joined by their bridges converge; our metadata is dskit's" {
	local za="-memberlist.zone-aware-routing.enabled -memberlist.zone-aware-routing.instance-availability-zone" i
	# shellcheck disable=SC2086
	start_agent 30 $za=a
	until_ok 10 test -S "$(sock 30)"
	# shellcheck disable=SC2086
	start_agent 31 $za=b -memberlist.join="127.0.0.1:$(cat "$DIR/mport30")"
	# each joins all the others (joins are not routed): membership news
	# crosses zones only through the bridges and probes, too slowly to wait for
	# shellcheck disable=SC2086
	start_agent 32 $za=a -memberlist.zone-aware-routing.role=bridge \
		-memberlist.join="127.0.0.1:$(cat "$DIR/mport30")" \
		-memberlist.join="127.0.0.1:$(cat "$DIR/mport31")"
	# shellcheck disable=SC2086
	start_agent 33 $za=b -memberlist.zone-aware-routing.role=bridge \
		-memberlist.join="127.0.0.1:$(cat "$DIR/mport30")" \
		-memberlist.join="127.0.0.1:$(cat "$DIR/mport31")" \
		-memberlist.join="127.0.0.1:$(cat "$DIR/mport32")"
	for i in 30 31 32 33; do
		run until_ok 20 members_alive "$i" 4
		assert_success
	done
	# node metadata, version 1: member of zone "a", bridge of zone "b"
	run curl -sf -H 'Accept: application/json' "$(http 30)/memberlist"
	echo "$output" | jq -e '.SortedMembers | map({(.Name): .Meta}) | add |
		.["agent-30"] == "AQEBYQ==" and .["agent-33"] == "AQIBYg=="'
	run curl -sf "$(http 30)/memberlist"
	assert_output --partial '<li>Zone-aware routing: enabled (zone a, role member)</li>'
	assert_output --partial "<tr><td>agent-33</td><td>127.0.0.1:$(cat "$DIR/mport33")</td><td>0</td><td>b</td><td>bridge</td></tr>"
	"$TOOLS/kv-tool" "$(sock 30)" register collectors/zones za-1 10.0.2.1:9095 4
	"$TOOLS/kv-tool" "$(sock 31)" register collectors/zones zb-1 10.0.2.2:9095 4
	for i in 30 31 32 33; do
		run until_ok 20 has_instance "$i" collectors/zones za-1
		assert_success
		run until_ok 20 has_instance "$i" collectors/zones zb-1
		assert_success
	done
	grep -q 'msg="zone-aware routing enabled" zone=b role=bridge' "$DIR/agent33.log"
	for i in 33 32 31 30; do
		stop_agent "$i"
	done
	run "$BIN/gossip-agent" -memberlist.zone-aware-routing.enabled
	assert_failure 100
	assert_output --partial 'zone-aware routing is enabled but zone is not set'
	run "$BIN/gossip-agent" -memberlist.zone-aware-routing.enabled \
		-memberlist.zone-aware-routing.instance-availability-zone=a \
		-memberlist.zone-aware-routing.role=leader
	assert_failure 100
	assert_output --partial 'invalid role: leader (valid values: member, bridge)'
}
