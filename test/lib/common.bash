# Helpers shared by the bats files: `load ../lib/common`.

# free_port: a TCP port on 127.0.0.1 that nothing listens on, starting from a
# random place so that parallel tests rarely race for the same one; below the
# ephemeral range (32768-60999), where curl's own connections could hold it.
free_port() {
	local p start=$((20000 + ($$ * 7 + RANDOM) % 12000))
	for p in $(seq "$start" 32767) $(seq 20000 "$start"); do
		if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then
			echo "$p"
			return
		fi
	done
}

# until_ok SECONDS CMD...: run CMD every 0.1 s until it succeeds; 1 after SECONDS.
until_ok() {
	local deadline=$(($(date +%s) + $1))
	shift
	while ! "$@" > /dev/null 2>&1; do
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# tsdb-head on its own: its ring in-process, ready as soon as the WAL is
# replayed, no final sleep at shutdown (use unquoted).
HEAD_ALONE="-ring.store=inmemory -ingester.min-ready-duration=0s -ingester.final-sleep=0s"
