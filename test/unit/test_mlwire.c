/*
 * Vectors made by the real memberlist 0.2.2 (Debian's
 * golang-github-hashicorp-memberlist-dev, go-msgpack 0.5.5, Go 1.19):
 * memberlist's own encode(), makeCompoundMessage() and compressPayload()
 * called from a file added to a copy of the package, and the CRC header as
 * rawSendMsgPacket writes it.
 */
#include <stdlib.h>
#include <string.h>

#include <snappy-c.h>

#include "lib/gossip/mlwire.h"
#include "test/unit/unit.h"

#define IP16	"00000000000000000000ffff0a000001"

static const char PING[] = "00 85a44e6f6465a26e32a55365714e6f01aa536f7572636541646472b0" IP16
    "aa536f757263654e6f6465a26e31aa536f75726365506f7274cd1f0a";
static const char PING_BARE[] = "00 82a44e6f6465da00236e6f64652d776974682d612d6c6f6e672d6e616d65"
    "2d6f7665722d33312d6279746573a55365714e6fce00011170";
static const char INDIRECT[] = "01 88a44e61636bc3a44e6f6465a26e33a4506f7274cd1f0ba55365714e6fcd012c"
    "aa536f7572636541646472b0" IP16 "aa536f757263654e6f6465a26e31aa536f75726365506f7274cd1f0a"
    "a6546172676574a47f000001";
static const char ACK[] = "02 82a75061796c6f6164c0a55365714e6f01";
static const char ACK_PAYLOAD[] = "02 82a75061796c6f6164a4706f6e67a55365714e6fceffffffff";
static const char NACK[] = "0b 81a55365714e6fcc80";
static const char SUSPECT[] = "03 83a446726f6da26e31ab496e6361726e6174696f6e02a44e6f6465a26e32";
static const char DEAD[] = "05 83a446726f6da26e31ab496e6361726e6174696f6e03a44e6f6465a26e31";
static const char ALIVE[] = "04 86a441646472b0" IP16 "ab496e6361726e6174696f6e01a44d657461c0"
    "a44e6f6465a26e31a4506f7274cd1f0aa356736ea6010502000000";
static const char ALIVE_META[] = "04 86a441646472a47f000001ab496e6361726e6174696f6ece00010000"
    "a44d657461a0a44e6f6465a26e31a4506f7274cdffffa356736ea6010502000000";
static const char ERR[] = "0d 81a54572726f72a3626164";
static const char PUSH_PULL_HEADER[] = "06 83a44a6f696ec3a54e6f64657301ac5573657253746174654c656ecd012c";
static const char PUSH_NODE_STATE[] = "06 87a441646472b0" IP16 "ab496e6361726e6174696f6e05"
    "a44d657461c0a44e616d65a26e31a4506f7274cd1f0aa5537461746502a356736ea6010502000000";
static const char USER_MSG_HEADER[] = "08 81aa557365724d73674c656ece00011170";
static const char CRC_COMPRESSED_COMPOUND[] = "0c1a76f817"
    "0982a4416c676f00a3427566da0057000f080090048004008548397943a68c2837324a4d29136761005553de"
    "d49133a64c103264e4c00240b2a4c97fff1490bc987163c7850d1fc6c0a8916319286fe4d069f64181004"
    "1a7a084c9c3e64d1832c02452b41810";

static const uint8_t ip16[16] = { [10] = 0xff, [11] = 0xff, [12] = 10, [15] = 1 };
static const uint8_t vsn[6] = { 1, 5, 2, 0, 0, 0 };

#define B(s)		((struct ml_bytes){ (const uint8_t *)(s), sizeof(s) - 1 })
#define BN(p, n)	((struct ml_bytes){ (const uint8_t *)(p), (n) })
#define CHECK_BYTES(got, want) CHECK_MEM((got).p, (got).n, (want).p, (want).n)

/* Encode with fn after the type byte and compare with the Go vector. */
#define CHECK_ENCODES(type, name, msg, hex) do {			\
	struct buf b_ = { 0 };						\
	uint8_t *w_;							\
	size_t wn_;							\
	buf_put_u8(&b_, type);						\
	ml_put_##name(&b_, msg);					\
	w_ = unit_hex(hex, &wn_);					\
	CHECK_MEM(b_.p, b_.len, w_, wn_);				\
	free(w_);							\
	buf_free(&b_);							\
} while (0)

/* Decode the Go vector (after its type byte) into *msg; the hex buffer is kept in *keep. */
#define DECODE(name, hex, msg, keep) do {				\
	struct decbuf d_;						\
	struct err e_;							\
	size_t n_;							\
	*(keep) = unit_hex(hex, &n_);					\
	decbuf_init(&d_, *(keep) + 1, n_ - 1);				\
	CHECK_INT(ml_get_##name(&d_, msg, &e_), 0);			\
	CHECK_INT(d_.len, 0);						\
} while (0)

static void
ping_and_indirect_ping_as_go(void)
{
	struct ml_ping p = { .seq_no = 1, .node = B("n2"), .source_addr = BN(ip16, 16),
	    .source_node = B("n1"), .source_port = 7946 }, bare = {
	    .seq_no = 70000, .node = B("node-with-a-long-name-over-31-bytes") }, got;
	struct ml_indirect_ping ip = { .seq_no = 300, .target = B("\x7f\0\0\x01"), .port = 7947,
	    .node = B("n3"), .nack = 1, .source_addr = BN(ip16, 16), .source_node = B("n1"),
	    .source_port = 7946 }, igot;
	uint8_t *keep;

	CHECK_ENCODES(ML_PING, ping, &p, PING);
	CHECK_ENCODES(ML_PING, ping, &bare, PING_BARE);
	CHECK_ENCODES(ML_INDIRECT_PING, indirect_ping, &ip, INDIRECT);
	DECODE(ping, PING, &got, &keep);
	CHECK_INT(got.seq_no, 1);
	CHECK_BYTES(got.node, B("n2"));
	CHECK_BYTES(got.source_addr, BN(ip16, 16));
	CHECK_BYTES(got.source_node, B("n1"));
	CHECK_INT(got.source_port, 7946);
	free(keep);
	DECODE(ping, PING_BARE, &got, &keep);
	CHECK_INT(got.seq_no, 70000);
	CHECK(got.source_addr.p == NULL && got.source_node.n == 0 && got.source_port == 0);
	free(keep);
	DECODE(indirect_ping, INDIRECT, &igot, &keep);
	CHECK_INT(igot.nack, 1);
	CHECK_INT(igot.port, 7947);
	CHECK_INT(igot.seq_no, 300);
	CHECK_BYTES(igot.target, B("\x7f\0\0\x01"));
	free(keep);
}

static void
acks_and_accusations_as_go(void)
{
	struct ml_ack a = { .seq_no = 1 }, ap = { .seq_no = 4294967295u, .payload = B("pong") }, ag;
	struct ml_nack n = { .seq_no = 128 };
	struct ml_accuse s = { .incarnation = 2, .node = B("n2"), .from = B("n1") };
	struct ml_accuse d = { .incarnation = 3, .node = B("n1"), .from = B("n1") }, dg;
	struct ml_err_resp er = { .error = B("bad") };
	uint8_t *keep;

	CHECK_ENCODES(ML_ACK, ack, &a, ACK);
	CHECK_ENCODES(ML_ACK, ack, &ap, ACK_PAYLOAD);
	CHECK_ENCODES(ML_NACK, nack, &n, NACK);
	CHECK_ENCODES(ML_SUSPECT, accuse, &s, SUSPECT);
	CHECK_ENCODES(ML_DEAD, accuse, &d, DEAD);
	CHECK_ENCODES(ML_ERR, err_resp, &er, ERR);
	DECODE(ack, ACK, &ag, &keep);
	CHECK(ag.payload.p == NULL);
	CHECK_INT(ag.seq_no, 1);
	free(keep);
	DECODE(ack, ACK_PAYLOAD, &ag, &keep);
	CHECK_BYTES(ag.payload, B("pong"));
	CHECK_U64(ag.seq_no, 4294967295u);
	free(keep);
	DECODE(accuse, DEAD, &dg, &keep);
	CHECK_INT(dg.incarnation, 3);
	CHECK_BYTES(dg.node, dg.from);
	free(keep);
}

static void
alive_and_push_pull_as_go(void)
{
	struct ml_alive al = { .incarnation = 1, .node = B("n1"), .addr = BN(ip16, 16),
	    .port = 7946, .vsn = BN(vsn, 6) }, alm = { .incarnation = 65536, .node = B("n1"),
	    .addr = B("\x7f\0\0\x01"), .port = 65535, .meta = BN("", 0), .vsn = BN(vsn, 6) }, g;
	struct ml_push_pull_header h = { .nodes = 1, .user_state_len = 300, .join = 1 }, hg;
	struct ml_push_node_state ns = { .name = B("n1"), .addr = BN(ip16, 16), .port = 7946,
	    .incarnation = 5, .state = ML_STATE_DEAD, .vsn = BN(vsn, 6) }, nsg;
	struct ml_user_msg_header u = { .user_msg_len = 70000 };
	uint8_t *keep;

	CHECK_ENCODES(ML_ALIVE, alive, &al, ALIVE);
	CHECK_ENCODES(ML_ALIVE, alive, &alm, ALIVE_META);
	CHECK_ENCODES(ML_PUSH_PULL, push_pull_header, &h, PUSH_PULL_HEADER);
	CHECK_ENCODES(ML_PUSH_PULL, push_node_state, &ns, PUSH_NODE_STATE);
	CHECK_ENCODES(ML_USER, user_msg_header, &u, USER_MSG_HEADER);
	DECODE(alive, ALIVE_META, &g, &keep);
	CHECK(g.meta.p != NULL && g.meta.n == 0);	/* empty, not nil */
	CHECK_INT(g.incarnation, 65536);
	CHECK_INT(g.port, 65535);
	CHECK_BYTES(g.vsn, BN(vsn, 6));
	free(keep);
	DECODE(push_node_state, PUSH_NODE_STATE, &nsg, &keep);
	CHECK_INT(nsg.state, ML_STATE_DEAD);
	CHECK_BYTES(nsg.name, B("n1"));
	free(keep);
	/* go-msgpack v2 (memberlist >= 0.5.1) writes the int 300 as int16. */
	DECODE(push_pull_header, "06 83a44a6f696ec3a54e6f64657301ac5573657253746174654c656ed1012c",
	    &hg, &keep);
	CHECK_INT(hg.user_state_len, 300);
	CHECK_INT(hg.nodes, 1);
	CHECK_INT(hg.join, 1);
	free(keep);
}

/* Unknown keys are skipped, missing ones zero; a value of the wrong type is named. */
static void
decoder_tolerance_and_errors(void)
{
	struct ml_nack n;
	struct ml_ping p;
	struct decbuf d;
	struct err e;
	uint8_t *x;
	size_t len;

	x = unit_hex("82 a5 4578747261 93 01 02 03 a5 5365714e6f cd 0102", &len);
	decbuf_init(&d, x, len);
	CHECK_INT(ml_get_nack(&d, &n, &e), 0);
	CHECK_INT(n.seq_no, 258);
	free(x);
	x = unit_hex("80", &len);
	decbuf_init(&d, x, len);
	CHECK_INT(ml_get_ping(&d, &p, &e), 0);
	CHECK(p.node.p == NULL && p.seq_no == 0);
	free(x);
	x = unit_hex("81 a5 5365714e6f a2 6e31", &len);
	decbuf_init(&d, x, len);
	CHECK_INT(ml_get_nack(&d, &n, &e), -1);
	CHECK_STR(e.msg, "nack: bad value for SeqNo");
	free(x);
	x = unit_hex("81 a4 506f7274 ce 00010000", &len);	/* a port over 65535 */
	decbuf_init(&d, x, len);
	CHECK_INT(ml_get_alive(&d, &(struct ml_alive){ 0 }, &e), -1);
	CHECK_STR(e.msg, "alive: bad value for Port");
	free(x);
	x = unit_hex("92 01 02", &len);
	decbuf_init(&d, x, len);
	CHECK_INT(ml_get_nack(&d, &n, &e), -1);
	CHECK_STR(e.msg, "nack: not a msgpack map");
	free(x);
}

/* Bodies live only during the callback: keep copies. */
struct seen {
	int		 n;
	enum ml_type	 type[8];
	struct ml_bytes	 body[8];
	uint8_t		 copy[8][512];
};

static int
record(void *arg, enum ml_type t, struct ml_bytes body)
{
	struct seen *s = arg;

	if (s->n < 8) {
		s->type[s->n] = t;
		s->body[s->n].n = body.n < sizeof(s->copy[0]) ? body.n : sizeof(s->copy[0]);
		memcpy(s->copy[s->n], body.p, s->body[s->n].n);
		s->body[s->n].p = s->copy[s->n];
	}
	s->n++;
	return 0;
}

/* Go's packet: CRC over LZW over a compound of a ping and an ack. */
static void
packet_layers_as_go(void)
{
	struct seen s = { 0 };
	struct ml_ping p;
	struct decbuf d;
	struct err e;
	size_t n, dropped = 0;
	uint8_t *x = unit_hex(CRC_COMPRESSED_COMPOUND, &n), *ping;
	size_t pn;

	CHECK_INT(ml_packet_walk(BN(x, n), record, &s, &dropped, &e), 0);
	CHECK_INT(s.n, 2);
	CHECK_INT(dropped, 0);
	CHECK_INT(s.type[0], ML_PING);
	CHECK_INT(s.type[1], ML_ACK);
	ping = unit_hex(PING, &pn);
	CHECK_MEM(s.body[0].p, s.body[0].n, ping + 1, pn - 1);
	decbuf_init(&d, s.body[0].p, s.body[0].n);
	CHECK_INT(ml_get_ping(&d, &p, &e), 0);
	CHECK_INT(p.source_port, 7946);
	/* One flipped bit anywhere after the header: the CRC refuses the packet. */
	x[n - 1] ^= 0x01;
	s.n = 0;
	CHECK_INT(ml_packet_walk(BN(x, n), record, &s, &dropped, &e), -1);
	CHECK(strncmp(e.msg, "packet CRC 1a76f817, computed ", 30) == 0);
	CHECK_INT(s.n, 0);
	free(x);
	free(ping);
}

/* Our layers, read back by our walker: compound, LZW, CRC, label. */
static void
packet_layers_round_trip(void)
{
	struct ml_bytes parts[3] = { B("\x08hello"), B("\x0b\x81\xa5SeqNo\x07"), B("\x08") };
	struct buf c = { 0 }, z = { 0 }, pkt = { 0 };
	struct seen s = { 0 };
	struct ml_bytes in, label;
	struct err e;

	CHECK_INT(ml_compound_put(&c, parts, 3, &e), 0);
	ml_compress_put(&z, c.p, c.len, ML_COMPRESS_LZW);
	CHECK_INT(ml_label_put(&pkt, "prod", 4, &e), 0);
	ml_crc_put(&pkt, z.p, z.len);
	in = BN(pkt.p, pkt.len);
	CHECK_INT(ml_label_strip(&in, &label, &e), 0);
	CHECK_BYTES(label, B("prod"));
	CHECK_INT(ml_packet_walk(in, record, &s, NULL, &e), 0);
	CHECK_INT(s.n, 3);
	for (int i = 0; i < 3; i++) {
		CHECK_INT(s.type[i], parts[i].p[0]);
		CHECK_MEM(s.body[i].p, s.body[i].n, parts[i].p + 1, parts[i].n - 1);
	}
	CHECK_INT(ml_compound_put(&c, parts, 0, &e), -1);
	CHECK_INT(ml_label_put(&pkt, "", 0, &e), -1);
	buf_free(&c);
	buf_free(&z);
	buf_free(&pkt);
}

/*
 * ml_packet_put, every mix of label, CRC and compression, read back. The
 * compressible message is larger than its first layers, so a framing that
 * copied the packet onto itself would show (ASan found one in the agent).
 */
static void
packet_put_every_layer(void)
{
	uint8_t msg[300];
	struct err e;

	msg[0] = ML_USER;
	memset(msg + 1, 'x', sizeof(msg) - 1);
	for (int mix = 0; mix < 12; mix++) {
		int crc = mix & 2, labelled = mix & 4;
		enum ml_compression algo = mix & 8 ? ML_COMPRESS_SNAPPY :
		    mix & 1 ? ML_COMPRESS_LZW : ML_COMPRESS_OFF;
		int compress = algo != ML_COMPRESS_OFF;
		struct buf pkt = { 0 };
		struct seen s = { 0 };
		struct ml_bytes in, label;
		size_t at = 0;

		CHECK_INT(ml_packet_put(&pkt, msg, sizeof(msg), algo, crc,
		    labelled ? "blue" : NULL, labelled ? 4 : 0, &e), 0);
		if (labelled) {
			CHECK_INT(pkt.p[0], ML_HAS_LABEL);
			at = 6;
		}
		if (crc) {
			CHECK_INT(pkt.p[at], ML_HAS_CRC);
			at += 5;
		}
		CHECK_INT(pkt.p[at], compress ? ML_COMPRESS : ML_USER);
		/* compress{Algo, Buf}: a fixmap of 2, "Algo", then the algorithm's number */
		if (compress)
			CHECK_INT(pkt.p[at + 7], algo);
		CHECK(compress ? pkt.len < sizeof(msg) : pkt.len == at + sizeof(msg));
		in = BN(pkt.p, pkt.len);
		CHECK_INT(ml_label_strip(&in, &label, &e), 0);
		CHECK_INT(label.n, labelled ? 4 : 0);
		CHECK_INT(ml_packet_walk(in, record, &s, NULL, &e), 0);
		CHECK_INT(s.n, 1);
		CHECK_INT(s.type[0], ML_USER);
		CHECK_MEM(s.body[0].p, s.body[0].n, msg + 1, sizeof(msg) - 1);
		buf_free(&pkt);
	}
	/* What compression does not shrink goes as it is. */
	{
		struct buf pkt = { 0 };

		CHECK_INT(ml_packet_put(&pkt, "\x08hi", 3, ML_COMPRESS_LZW, 0, NULL, 0, &e), 0);
		CHECK_MEM(pkt.p, pkt.len, "\x08hi", 3);
		buf_reset(&pkt);
		CHECK_INT(ml_packet_put(&pkt, "\x08hi", 3, ML_COMPRESS_SNAPPY, 0, NULL, 0, &e), 0);
		CHECK_MEM(pkt.p, pkt.len, "\x08hi", 3);
		CHECK_INT(ml_packet_put(&pkt, "\x08hi", 3, ML_COMPRESS_OFF, 0, "", 0, &e), 0);
		CHECK_INT(ml_packet_put(&pkt, "\x08hi", 3, ML_COMPRESS_OFF, 0, "x", 256, &e), -1);
		buf_free(&pkt);
	}
}

/* Truncated compounds keep the parts that fit (as Go); other damage refuses the packet. */
static void
packet_damage(void)
{
	struct seen s = { 0 };
	struct ml_bytes in, label;
	struct err e;
	size_t dropped = 0, n;
	uint8_t *x;

	x = unit_hex("07 03 0002 0002 0009 0801 0802 0803", &n);
	CHECK_INT(ml_packet_walk(BN(x, n), record, &s, &dropped, &e), 0);
	CHECK_INT(s.n, 2);
	CHECK_INT(dropped, 1);
	free(x);
	x = unit_hex("07 03 0002 00", &n);
	CHECK_INT(ml_packet_walk(BN(x, n), record, &s, &dropped, &e), -1);
	CHECK_STR(e.msg, "compound: 3 part lengths, 3 bytes");
	free(x);
	x = unit_hex("07 02 0000 0002 0801", &n);	/* Go logs the empty part, keeps the other */
	s.n = 0;
	dropped = 0;
	CHECK_INT(ml_packet_walk(BN(x, n), record, &s, &dropped, &e), 0);
	CHECK_INT(s.n, 1);
	CHECK_INT(dropped, 1);
	free(x);
	/* compound in compound in ... deeper than Go peers ever send */
	x = unit_hex("07 01 0016 07 01 0012 07 01 000e 07 01 000a 07 01 0006 07 01 0002 0801", &n);
	CHECK_INT(ml_packet_walk(BN(x, n), record, &s, &dropped, &e), -1);
	CHECK_STR(e.msg, "messages nested deeper than 4");
	free(x);
	x = unit_hex("09 82 a4 416c676f 07 a3 427566 a1 00", &n);
	CHECK_INT(ml_packet_walk(BN(x, n), record, &s, &dropped, &e), -1);
	CHECK_STR(e.msg, "compress: unknown algorithm 7");
	free(x);
	x = unit_hex("f4 00 08", &n);
	in = BN(x, n);
	CHECK_INT(ml_label_strip(&in, &label, &e), -1);
	CHECK_STR(e.msg, "label header of length 0");
	free(x);
	x = unit_hex("f4 05 6162", &n);
	in = BN(x, n);
	CHECK_INT(ml_label_strip(&in, &label, &e), -1);
	free(x);
	/* Short packets starting with 12 are not CRC headers (Go: unknown type). */
	x = unit_hex("0c 01", &n);
	s.n = 0;
	CHECK_INT(ml_packet_walk(BN(x, n), record, &s, &dropped, &e), 0);
	CHECK_INT(s.n, 1);
	CHECK_INT(s.type[0], ML_HAS_CRC);
	free(x);
}

/* Algo 1 (grafana/memberlist's snappy) is read too. */
static void
snappy_compress_read(void)
{
	const char msg[] = "\x08user-message-user-message-user-message";
	char z[128];
	size_t zn = sizeof(z);
	struct ml_compress c = { .algo = 1 };
	struct buf pkt = { 0 };
	struct seen s = { 0 };
	struct err e;

	CHECK_INT(snappy_compress(msg, sizeof(msg) - 1, z, &zn), SNAPPY_OK);
	c.buf = BN(z, zn);
	buf_put_u8(&pkt, ML_COMPRESS);
	ml_put_compress(&pkt, &c);
	CHECK_INT(ml_packet_walk(BN(pkt.p, pkt.len), record, &s, NULL, &e), 0);
	CHECK_INT(s.n, 1);
	CHECK_MEM(s.body[0].p, s.body[0].n, msg + 1, sizeof(msg) - 2);
	buf_free(&pkt);
}

UNIT_CASES(
	UNIT_CASE(ping_and_indirect_ping_as_go),
	UNIT_CASE(acks_and_accusations_as_go),
	UNIT_CASE(alive_and_push_pull_as_go),
	UNIT_CASE(decoder_tolerance_and_errors),
	UNIT_CASE(packet_layers_as_go),
	UNIT_CASE(packet_layers_round_trip),
	UNIT_CASE(packet_put_every_layer),
	UNIT_CASE(packet_damage),
	UNIT_CASE(snappy_compress_read),
);
