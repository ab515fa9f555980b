# Helpers shared by the bats files: `load ../lib/common`.

# free_port: a TCP port on 127.0.0.1 that nothing listens on, starting from a
# random place so that parallel tests rarely race for the same one.
free_port() {
	local p
	for p in $(seq $((20000 + ($$ * 7 + RANDOM) % 20000)) 65000); do
		if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then
			echo "$p"
			return
		fi
	done
}
