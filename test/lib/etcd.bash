# make_certs DIR NAME: a CA (DIR/NAME-ca.pem) and two certificates it signs,
# each with its key: DIR/NAME-server.pem for 127.0.0.1 and localhost, and
# DIR/NAME-client.pem for a client (P-256 keys, valid two days).
make_certs() {
	local d=$1 n=$2 who
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=$n test CA" -keyout "$d/$n-ca.key" -out "$d/$n-ca.pem" 2> /dev/null
	# etcd's JSON gateway dials etcd itself with the server certificate:
	# that one must be good for client authentication too.
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' \
		> "$d/$n-server.ext"
	printf 'extendedKeyUsage=clientAuth\n' > "$d/$n-client.ext"
	for who in server client; do
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-subj "/CN=$n $who" -keyout "$d/$n-$who.key" -out "$d/$n-$who.csr" 2> /dev/null
		openssl x509 -req -in "$d/$n-$who.csr" -CA "$d/$n-ca.pem" -CAkey "$d/$n-ca.key" \
			-CAcreateserial -days 2 -extfile "$d/$n-$who.ext" -out "$d/$n-$who.pem" 2> /dev/null
	done
}

# start_etcd DIR [CERTS]: a one-member etcd (Debian's etcd-server) on free
# loopback ports with its data in DIR/etcd; sets ETCD_PORT and ETCD_PID.
# With CERTS (a make_certs DIR/NAME), clients must use TLS with a
# certificate of that CA. Tries new ports when the chosen ones were taken
# meanwhile. Needs common.bash.
start_etcd() {
	local dir=$1 certs=${2:-} try peer scheme=http tls=() ctl=()
	if [ -n "$certs" ]; then
		scheme=https
		tls=(--cert-file "$certs-server.pem" --key-file "$certs-server.key"
			--client-cert-auth --trusted-ca-file "$certs-ca.pem")
		ctl=(--cacert "$certs-ca.pem" --cert "$certs-client.pem" --key "$certs-client.key")
	fi
	for try in 1 2 3; do
		ETCD_PORT=$(free_port)
		while peer=$(free_port) && [ "$peer" = "$ETCD_PORT" ]; do :; done
		rm -rf "$dir/etcd"
		(exec etcd --name default --data-dir "$dir/etcd" "${tls[@]}" \
			--listen-client-urls "$scheme://127.0.0.1:$ETCD_PORT" \
			--advertise-client-urls "$scheme://127.0.0.1:$ETCD_PORT" \
			--listen-peer-urls "http://127.0.0.1:$peer" \
			--initial-advertise-peer-urls "http://127.0.0.1:$peer" \
			--initial-cluster "default=http://127.0.0.1:$peer" \
			> "$dir/etcd.log" 2>&1 3>&- & echo $! > "$dir/etcd.pid")
		ETCD_PID=$(cat "$dir/etcd.pid")
		if until_ok 15 etcdctl --endpoints "$scheme://127.0.0.1:$ETCD_PORT" "${ctl[@]}" \
			endpoint health; then
			return 0
		fi
		kill -9 "$ETCD_PID" 2>/dev/null || true
	done
	echo "etcd did not start" >&2
	return 1
}
