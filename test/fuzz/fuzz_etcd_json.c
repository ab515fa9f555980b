/*
 * The etcd gateway's replies (lib/kv/etcd_json.c) on arbitrary bytes: never
 * crash. The first byte picks the decoder: 0 range, 1 txn, 2 the watch
 * stream (the rest cut into chunks of the second byte's size, each whole
 * line decoded), 3 authenticate, 4 an error body, 5 base64 (what decodes
 * encodes back to the same text). Values that decode go through the ring
 * codec as lib/kv/etcd.c does.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/base64.h"
#include "lib/kv/etcd_json.h"
#include "lib/ring/desc.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
values(const struct etcd_msg *m)
{
	for (size_t i = 0; i < m->nkvs; i++) {
		struct ring_desc d;
		struct err e;

		if (m->kvs[i].key == NULL || strlen(m->kvs[i].key) == 0)
			abort();
		(void)etcd_key_matches("collectors/", 1, m->kvs[i].key);
		if (ring_desc_decode(&d, m->kvs[i].value, m->kvs[i].vlen, &e) == 0)
			ring_desc_free(&d);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct etcd_msg m;
	struct err e;
	const uint8_t *p = data + 1;
	size_t n = size - 1;

	if (size < 1)
		return 0;
	switch (data[0] % 6) {
	case 0:
		if (etcd_decode_range(p, n, &m, &e) == 0) {
			values(&m);
			etcd_msg_free(&m);
		}
		break;
	case 1:
		if (etcd_decode_txn(p, n, &m, &e) == 0)
			etcd_msg_free(&m);
		break;
	case 2: {
		struct etcd_stream s;
		size_t chunk = n > 0 ? (size_t)p[0] % 64 + 1 : 1;
		const char *line;
		size_t len;

		etcd_stream_init(&s, 4096);
		for (size_t off = n > 0 ? 1 : 0; off < n; off += chunk) {
			size_t k = n - off < chunk ? n - off : chunk;

			if (etcd_stream_feed(&s, p + off, k, &e) == -1)
				break;
			while (etcd_stream_line(&s, &line, &len) == 1) {
				if (len == 0 || memchr(line, '\n', len) != NULL)
					abort();
				if (etcd_decode_watch(line, len, &m, &e) == 0) {
					values(&m);
					etcd_msg_free(&m);
				}
			}
		}
		etcd_stream_free(&s);
		break;
	}
	case 3: {
		char *token;

		if (etcd_decode_auth(p, n, &token, &e) == 0)
			free(token);
		break;
	}
	case 4: {
		char msg[64];
		int code;

		etcd_decode_error(p, n, &code, msg, sizeof(msg));
		if (strlen(msg) >= sizeof(msg))
			abort();
		break;
	}
	case 5: {
		struct buf a = { 0 }, b = { 0 };

		if (b64_decode((const char *)p, n, &a, &e) == 0) {
			b64_encode(a.p, a.len, &b);
			/* Canonical input (zero trailing bits) encodes back to itself. */
			if (b.len != n)
				abort();
		}
		buf_free(&a);
		buf_free(&b);
		break;
	}
	}
	return 0;
}
