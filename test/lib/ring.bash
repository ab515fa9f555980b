# Helpers for tests of a ring of nodes in $DIR (set BIN and DIR first):
# node I is a gossip-agent with run dir $DIR/rI; tsdb-head "head-I" keeps
# its data in $DIR/dataI and logs to $DIR/headI.log. Needs common.bash.

started_since() {	# started_since LOG N: LOG holds more than N "started" lines
	[ "$(grep -c 'msg="started"' "$1")" -gt "$2" ]
}

# start_agent I [JOIN_PORT]: node I's agent (dskit's TCP transport, fast timing).
start_agent() {
	local i=$1 line join=() before
	[ -z "${2:-}" ] || join=(-memberlist.join="127.0.0.1:$2")
	mkdir -p "$DIR/r$i"
	before=$(grep -c 'msg="started"' "$DIR/agent$i.log" 2>/dev/null || true)
	"$BIN/gossip-agent" -run-dir="$DIR/r$i" -memberlist.nodename="agent-$i" \
		-memberlist.randomize-node-name=false -memberlist.bind-addr=127.0.0.1 \
		-memberlist.bind-port=0 -server.http-listen-address=127.0.0.1 \
		-server.http-listen-port=0 -memberlist.probe-interval=500ms \
		-memberlist.probe-timeout=200ms -memberlist.gossip-interval=50ms \
		-memberlist.pullpush-interval=2s -memberlist.left-ingesters-timeout=5m \
		"${join[@]}" >> "$DIR/agent$i.log" 2>&1 3>&- &
	echo $! > "$DIR/agentpid$i"
	# The log may hold an earlier run's line: wait for this one's.
	until_ok 10 started_since "$DIR/agent$i.log" "${before:-0}" || return 1
	line=$(grep 'msg="started"' "$DIR/agent$i.log" | tail -1)
	[[ $line =~ memberlist_port=([0-9]+) ]] || return 1
	echo "${BASH_REMATCH[1]}" > "$DIR/mport$i"
}

# start_head I NODE [flags...]: tsdb-head "head-I" on node NODE's agent
# (flags may name another store).
start_head() {
	local i=$1 node=$2
	shift 2
	"$BIN/tsdb-head" -server.http-listen-address=127.0.0.1 -server.http-listen-port=0 \
		-blocks-storage.tsdb.dir="$DIR/data$i" -run-dir="$DIR/r$node" \
		-ring.store=memberlist -ingester.lifecycler.ID="head-$i" \
		-ingester.heartbeat-period=1s -ingester.min-ready-duration=0s \
		-ingester.final-sleep=0s "$@" >> "$DIR/head$i.log" 2>&1 3>&- &
	echo $! > "$DIR/headpid$i"
}

inspect() {	# inspect NODE [args...]: ring-inspect through node NODE's agent
	local node=$1
	shift
	"$BIN/ring-inspect" -run-dir="$DIR/r$node" "$@"
}

# active_on NODE COUNT: NODE's agent sees COUNT ACTIVE instances.
active_on() {
	[ "$(inspect "$1" -json | jq -s '[.[] | select(.state == "ACTIVE")] | length')" = "$2" ]
}

# state_on NODE ID: the state NODE's agent shows for ID ("" when absent).
state_on() {
	inspect "$1" -json | jq -r --arg id "$2" 'select(.id == $id) | .state'
}

# head_port I: head-I's HTTP port, from its log.
head_port() {
	grep -o 'msg="listening" address=[^ ]* port=[0-9]*' "$DIR/head$1.log" | tail -1 |
		sed 's/.*port=//'
}
