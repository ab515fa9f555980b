# start_etcd DIR: a one-member etcd (Debian's etcd-server) on free loopback
# ports with its data in DIR/etcd; sets ETCD_PORT and ETCD_PID. Tries new
# ports when the chosen ones were taken meanwhile. Needs common.bash.
start_etcd() {
	local dir=$1 try peer
	for try in 1 2 3; do
		ETCD_PORT=$(free_port)
		while peer=$(free_port) && [ "$peer" = "$ETCD_PORT" ]; do :; done
		rm -rf "$dir/etcd"
		(exec etcd --name default --data-dir "$dir/etcd" \
			--listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
			--advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
			--listen-peer-urls "http://127.0.0.1:$peer" \
			--initial-advertise-peer-urls "http://127.0.0.1:$peer" \
			--initial-cluster "default=http://127.0.0.1:$peer" \
			> "$dir/etcd.log" 2>&1 3>&- & echo $! > "$dir/etcd.pid")
		ETCD_PID=$(cat "$dir/etcd.pid")
		if until_ok 15 etcdctl --endpoints "127.0.0.1:$ETCD_PORT" endpoint health; then
			return 0
		fi
		kill -9 "$ETCD_PID" 2>/dev/null || true
	done
	echo "etcd did not start" >&2
	return 1
}
