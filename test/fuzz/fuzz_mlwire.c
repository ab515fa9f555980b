/*
 * fuzz_mlwire — arbitrary bytes as a received memberlist packet: label,
 * CRC, compression (LZW, snappy), compounds, then every message through its
 * decoder. Besides "no crash, no overread": a message that decodes
 * re-encodes to bytes that decode and re-encode to the same bytes. An
 * alive's node metadata goes through zone-aware routing's reader.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/gossip/mlwire.h"
#include "lib/gossip/zone.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct buf b1, b2;

#define STABLE(name, type, body) do {					\
	struct type m_;							\
	struct decbuf d_;						\
	struct err e_;							\
	decbuf_init(&d_, (body).p, (body).n);				\
	if (ml_get_##name(&d_, &m_, &e_) == -1)				\
		break;							\
	buf_reset(&b1);							\
	ml_put_##name(&b1, &m_);					\
	decbuf_init(&d_, b1.p, b1.len);					\
	if (ml_get_##name(&d_, &m_, &e_) == -1 || d_.len != 0)		\
		abort();						\
	buf_reset(&b2);							\
	ml_put_##name(&b2, &m_);					\
	if (b1.len != b2.len || memcmp(b1.p, b2.p, b1.len) != 0)	\
		abort();						\
} while (0)

/* The zone named inside the metadata; a member never prefers a node. */
static void
check_zone(struct ml_bytes body)
{
	static struct zone_routing member = { ZONE_MEMBER, "a" }, bridge = { ZONE_BRIDGE, "a" };
	struct ml_alive a;
	struct ml_bytes zone;
	struct decbuf d;
	struct err e;
	int role, preferred;

	decbuf_init(&d, body.p, body.n);
	if (ml_get_alive(&d, &a, &e) == -1)
		return;
	zone_meta_read(a.meta, &role, &zone);
	if (zone.n > 0 && (zone.p < a.meta.p || zone.p + zone.n > a.meta.p + a.meta.n))
		abort();
	zone_select(&member, a.meta, &preferred);
	if (preferred)
		abort();
	zone_select(&bridge, a.meta, &preferred);
}

static int
check_message(void *arg, enum ml_type t, struct ml_bytes body)
{
	switch (t) {
	case ML_PING:
		STABLE(ping, ml_ping, body);
		break;
	case ML_INDIRECT_PING:
		STABLE(indirect_ping, ml_indirect_ping, body);
		break;
	case ML_ACK:
		STABLE(ack, ml_ack, body);
		break;
	case ML_NACK:
		STABLE(nack, ml_nack, body);
		break;
	case ML_SUSPECT:
	case ML_DEAD:
		STABLE(accuse, ml_accuse, body);
		break;
	case ML_ALIVE:
		STABLE(alive, ml_alive, body);
		check_zone(body);
		break;
	case ML_PUSH_PULL:
		STABLE(push_pull_header, ml_push_pull_header, body);
		STABLE(push_node_state, ml_push_node_state, body);
		break;
	case ML_USER:
		STABLE(user_msg_header, ml_user_msg_header, body);
		break;
	case ML_ERR:
		STABLE(err_resp, ml_err_resp, body);
		break;
	default:
		break;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	struct ml_bytes pkt = { p, n }, label;
	struct err e;
	size_t dropped = 0;

	if (ml_label_strip(&pkt, &label, &e) == -1)
		return 0;
	if (label.p != NULL && (label.n == 0 || label.p + label.n != pkt.p))
		abort();
	ml_packet_walk(pkt, check_message, NULL, &dropped, &e);
	return 0;
}
