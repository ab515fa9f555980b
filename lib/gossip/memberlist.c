#include <sys/socket.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* After the C headers: libbsd's defines __unused, a field name in musl's. */
#include "lib/base/tree.h"

#include <event2/event.h>

#include "lib/base/clock.h"
#include "lib/base/hostport.h"
#include "lib/base/log.h"
#include "lib/base/xmalloc.h"
#include "lib/gossip/bqueue.h"
#include "lib/gossip/memberlist.h"
#include "lib/gossip/scale.h"
#include "lib/gossip/transport.h"

/* Our Vsn: protocol 1..5, speaking 2; delegate versions 0 (what dskit expects). */
static const uint8_t our_vsn[ML_VSN_LEN] = { 1, 5, 2, 0, 0, 0 };

#define COMPOUND_HEADER_OVERHEAD	2
#define COMPOUND_OVERHEAD		2
#define USER_MSG_OVERHEAD		1
#define MAX_PARTS			(ML_COMPOUND_MAX_PARTS - 1)

struct node {
	RB_ENTRY(node)	 entry;
	char		*name;
	uint8_t		 addr[16];
	size_t		 addrlen;
	uint16_t	 port;
	struct buf	 meta;
	uint8_t		 vsn[ML_VSN_LEN];
	uint32_t	 incarnation;
	enum ml_state	 state;
	int64_t		 state_change;		/* monotonic ms */
	int64_t		 state_change_wall;
	struct suspicion *susp;
};

RB_HEAD(node_tree, node);

static int
node_cmp(struct node *a, struct node *b)
{
	return strcmp(a->name, b->name);
}
RB_GENERATE_STATIC(node_tree, node, entry, node_cmp)

struct suspicion {
	struct memberlist *m;
	char		*node;
	struct event	*timer;
	int		 k;		/* confirmations expected */
	int		 n;		/* confirmations seen */
	int64_t		 min, max, start;
	char		**from;
	size_t		 nfrom;
};

enum handler_kind { H_PROBE, H_RELAY };

struct handler {
	struct memberlist *m;
	uint32_t	 seq;
	enum handler_kind kind;
	struct event	*expire;	/* removes it */
	struct event	*nack_timer;	/* relay: send the nack when it fires */
	uint32_t	 req_seq;	/* relay: the requester's */
	struct sockaddr_storage req_addr;
	socklen_t	 req_addrlen;
	int		 acked;
	struct handler	*next;
};

struct probe {
	int		 active;
	uint32_t	 seq;
	char		*target;
	int		 acked;
	int		 expected_nacks;
	int		 nacks;
	struct event	*timer;
	int		 indirect;	/* the indirect phase has started */
};

struct memberlist {
	struct event_base	*base;
	struct ml_config	 cfg;
	size_t			 label_len;	/* of cfg.label (ours), 0: no label */
	struct ml_delegate	 d;
	struct transport	*t;
	char			*name;
	uint8_t			 addr[16];
	uint16_t		 port;
	struct buf		 meta;
	struct node_tree	 tree;
	struct node		**nodes;	/* random order */
	size_t			 nnodes, capnodes, probe_index;
	size_t			 nalive;
	uint32_t		 seq;
	struct bqueue		*bq;
	struct handler		*handlers;
	struct probe		 probe;
	int			 health;
	int			 leaving;
	struct event		*probe_ev, *gossip_ev, *pushpull_ev, *leave_ev;
	void			(*leave_done)(void *);
	void			*leave_arg;
	int64_t			 leave_deadline;
	struct ml_stats		 st;
};

static struct timeval
tv_ms(int64_t ms)
{
	struct timeval tv;

	if (ms < 0)
		ms = 0;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	return tv;
}

static void
timer_add(struct event *ev, int64_t ms)
{
	struct timeval tv = tv_ms(ms);

	evtimer_add(ev, &tv);
}

static int
bytes_eq(struct ml_bytes a, const void *p, size_t n)
{
	return a.n == n && (n == 0 || memcmp(a.p, p, n) == 0);
}

void
ml_config_default(struct ml_config *c)
{
	memset(c, 0, sizeof(*c));
	c->bind_port = 7946;
	c->probe_interval = 5000;
	c->probe_timeout = 2000;
	c->indirect_checks = 3;
	c->retransmit_mult = 4;
	c->suspicion_mult = 4;
	c->suspicion_max_timeout_mult = 6;
	c->gossip_interval = 200;
	c->gossip_nodes = 3;
	c->pushpull_nodes = 1;
	c->gossip_to_dead_time = 30000;
	c->pushpull_interval = 30000;
	c->stream_timeout = 10000;
	c->awareness_max = 8;
	c->compression = ML_COMPRESS_LZW;
	c->packet_budget = 1400;
}

/* ---- addresses ---- */

static socklen_t
node_sockaddr(const uint8_t *addr, size_t addrlen, uint16_t port, struct sockaddr_storage *ss)
{
	static const uint8_t v4mapped[12] = { [10] = 0xff, [11] = 0xff };

	memset(ss, 0, sizeof(*ss));
	if (addrlen == 4 || (addrlen == 16 && memcmp(addr, v4mapped, 12) == 0)) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, addr + addrlen - 4, 4);
		sin->sin_port = htons(port);
		return sizeof(*sin);
	}
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	sin6->sin6_family = AF_INET6;
	memcpy(&sin6->sin6_addr, addr, addrlen == 16 ? 16 : 0);
	sin6->sin6_port = htons(port);
	return sizeof(*sin6);
}

/* The 16-byte form Go's net.ParseIP gives (IPv4 mapped). */
static int
parse_ip16(const char *s, uint8_t out[16])
{
	struct in_addr a4;

	if (inet_pton(AF_INET, s, &a4) == 1) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &a4, 4);
		return 0;
	}
	return inet_pton(AF_INET6, s, out) == 1 ? 0 : -1;
}

static void
format_addr(const uint8_t *addr, size_t addrlen, uint16_t port, char *out, size_t cap)
{
	struct sockaddr_storage ss;
	char host[INET6_ADDRSTRLEN] = "?";

	node_sockaddr(addr, addrlen, port, &ss);
	if (ss.ss_family == AF_INET) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof(host));
		snprintf(out, cap, "%s:%u", host, port);
	} else {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host, sizeof(host));
		snprintf(out, cap, "[%s]:%u", host, port);
	}
}

/* ---- the node table ---- */

static struct node *
node_find(struct memberlist *m, const uint8_t *name, size_t n)
{
	struct node key;
	char buf[256];

	if (n >= sizeof(buf))
		return NULL;
	memcpy(buf, name, n);
	buf[n] = '\0';
	key.name = buf;
	return RB_FIND(node_tree, &m->tree, &key);
}

static int
is_self(struct memberlist *m, struct ml_bytes name)
{
	return bytes_eq(name, m->name, strlen(m->name));
}

/* A new node goes to a random place of the list, as memberlist inserts them. */
static struct node *
node_add(struct memberlist *m, struct ml_bytes name)
{
	struct node *n = xcalloc(1, sizeof(*n));
	size_t j;

	n->name = xmalloc(name.n + 1);
	memcpy(n->name, name.p, name.n);
	n->name[name.n] = '\0';
	n->state = ML_STATE_DEAD;
	n->state_change = clock_mono_ms();
	n->state_change_wall = clock_wall_ms();
	RB_INSERT(node_tree, &m->tree, n);
	if (m->nnodes == m->capnodes) {
		m->capnodes = m->capnodes ? 2 * m->capnodes : 16;
		m->nodes = xreallocarray(m->nodes, m->capnodes, sizeof(*m->nodes));
	}
	m->nodes[m->nnodes++] = n;
	j = arc4random_uniform((uint32_t)m->nnodes);
	m->nodes[m->nnodes - 1] = m->nodes[j];
	m->nodes[j] = n;
	return n;
}

static void	suspicion_free(struct suspicion *);

static void
node_free(struct node *n)
{
	suspicion_free(n->susp);
	buf_free(&n->meta);
	free(n->name);
	free(n);
}

static void
set_state(struct memberlist *m, struct node *n, enum ml_state st)
{
	if (n->state == ML_STATE_ALIVE && st != ML_STATE_ALIVE)
		m->nalive--;
	else if (n->state != ML_STATE_ALIVE && st == ML_STATE_ALIVE)
		m->nalive++;
	n->state = st;
	n->state_change = clock_mono_ms();
	n->state_change_wall = clock_wall_ms();
}

/* ---- sending ---- */

/* Our label header, before every packet and dialled stream. */
static void
label_put(const struct memberlist *m, struct buf *b)
{
	struct err e;

	if (m->label_len > 0)
		ml_label_put(b, m->cfg.label, m->label_len, &e);
}

static void
health_add(struct memberlist *m, int delta)
{
	m->health += delta;
	if (m->health < 0)
		m->health = 0;
	if (m->health > m->cfg.awareness_max - 1)
		m->health = m->cfg.awareness_max - 1;
}

/* Our own broadcasts first, then the delegate's, framed as user messages. */
static size_t
get_broadcasts(struct memberlist *m, size_t overhead, size_t limit, struct buf *msgs,
    size_t *lens, size_t maxn)
{
	int tl = ml_retransmit_limit(m->cfg.retransmit_mult, m->nnodes);
	size_t n = bqueue_get(m->bq, overhead, limit, tl, msgs, lens, maxn), used = 0;

	for (size_t i = 0; i < n; i++)
		used += lens[i] + overhead;
	if (m->d.get_broadcasts != NULL && n < maxn && limit > used &&
	    limit - used > overhead + USER_MSG_OVERHEAD) {
		struct buf user = { 0 };
		size_t off = 0, k;

		k = m->d.get_broadcasts(m->d.arg, overhead + USER_MSG_OVERHEAD, limit - used, &user,
		    lens + n, maxn - n);
		for (size_t i = 0; i < k; i++) {
			buf_put_u8(msgs, ML_USER);
			buf_put_bytes(msgs, user.p + off, lens[n + i]);
			off += lens[n + i];
			lens[n + i]++;
		}
		n += k;
		buf_free(&user);
	}
	return n;
}

/* Compress when it helps, add the CRC when the receiver speaks protocol 5, send. */
static void
send_raw(struct memberlist *m, const struct sockaddr *sa, socklen_t salen, const uint8_t *p,
    size_t n, const struct node *dest)
{
	struct buf b = { 0 };
	struct err e;

	if (ml_packet_put(&b, p, n, m->cfg.compression, dest != NULL && dest->vsn[1] >= 5,
	    m->cfg.label, m->label_len, &e) == -1) {
		log_warn("packet not sent", "err=%s", log_q(e.msg));
		buf_free(&b);
		return;
	}
	transport_send(m->t, sa, salen, b.p, b.len);
	m->st.packets_sent++;
	m->st.bytes_sent += b.len;
	buf_free(&b);
}

/* Send parts[0..n) as one message or a compound. */
static void
send_parts(struct memberlist *m, const struct sockaddr *sa, socklen_t salen,
    const struct ml_bytes *parts, size_t n, const struct node *dest)
{
	struct buf c = { 0 };
	struct err e;

	if (n == 1) {
		send_raw(m, sa, salen, parts[0].p, parts[0].n, dest);
		return;
	}
	if (ml_compound_put(&c, parts, n, &e) == -1) {
		/* A part too big for a compound: each alone. */
		for (size_t i = 0; i < n; i++)
			send_raw(m, sa, salen, parts[i].p, parts[i].n, dest);
	} else
		send_raw(m, sa, salen, c.p, c.len, dest);
	buf_free(&c);
}

/* One message with queued broadcasts piggy-backed in the room left. */
static void
send_msg(struct memberlist *m, const struct sockaddr *sa, socklen_t salen, const uint8_t *p,
    size_t n, const struct node *dest)
{
	struct ml_bytes parts[MAX_PARTS + 1];
	size_t lens[MAX_PARTS], k = 0, off = 0;
	struct buf extra = { 0 };

	parts[0].p = p;
	parts[0].n = n;
	if (m->cfg.packet_budget > n + COMPOUND_HEADER_OVERHEAD)
		k = get_broadcasts(m, COMPOUND_OVERHEAD,
		    m->cfg.packet_budget - n - COMPOUND_HEADER_OVERHEAD, &extra, lens, MAX_PARTS);
	for (size_t i = 0; i < k; i++) {
		parts[1 + i].p = extra.p + off;
		parts[1 + i].n = lens[i];
		off += lens[i];
	}
	send_parts(m, sa, salen, parts, 1 + k, dest);
	buf_free(&extra);
}

static void
send_to_node(struct memberlist *m, const struct node *n, const uint8_t *p, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = node_sockaddr(n->addr, n->addrlen, n->port, &ss);

	send_msg(m, (struct sockaddr *)&ss, sl, p, len, n);
}

/* ---- broadcasts of our own messages ---- */

static void
broadcast(struct memberlist *m, const char *about, const struct buf *msg)
{
	bqueue_add(m->bq, about, msg->p, msg->len);
}

static void
encode_alive_self(struct memberlist *m, struct buf *b)
{
	struct ml_alive a = { .incarnation = 0 };
	struct node *self = node_find(m, (const uint8_t *)m->name, strlen(m->name));

	a.incarnation = self->incarnation;
	a.node.p = (const uint8_t *)m->name;
	a.node.n = strlen(m->name);
	a.addr.p = m->addr;
	a.addr.n = 16;
	a.port = m->port;
	a.meta.p = m->meta.p;
	a.meta.n = m->meta.len;
	a.vsn.p = our_vsn;
	a.vsn.n = ML_VSN_LEN;
	buf_put_u8(b, ML_ALIVE);
	ml_put_alive(b, &a);
}

static void
refute(struct memberlist *m, struct node *self, uint32_t accused)
{
	struct buf b = { 0 };
	uint32_t inc = self->incarnation + 1;

	if (accused >= inc)
		inc = accused + 1;
	self->incarnation = inc;
	health_add(m, 1);
	encode_alive_self(m, &b);
	broadcast(m, m->name, &b);
	buf_free(&b);
	log_warn("refuting a suspicion about us", "incarnation=%u", inc);
}

static void
notify(struct memberlist *m, struct node *n, int update)
{
	if (m->d.notify_node != NULL && strcmp(n->name, m->name) != 0)
		m->d.notify_node(m->d.arg, n->name, n->state, update);
}

/* ---- the state machine (specs/memberlist-wire.md §10.5) ---- */

static void	 dead_node(struct memberlist *, const struct ml_accuse *);

static void
suspicion_free(struct suspicion *s)
{
	if (s == NULL)
		return;
	event_free(s->timer);
	for (size_t i = 0; i < s->nfrom; i++)
		free(s->from[i]);
	free(s->from);
	free(s->node);
	free(s);
}

static void
suspicion_fire(evutil_socket_t fd, short what, void *arg)
{
	struct suspicion *s = arg;
	struct memberlist *m = s->m;
	struct node *n = node_find(m, (const uint8_t *)s->node, strlen(s->node));
	struct ml_accuse d;

	if (n == NULL || n->state != ML_STATE_SUSPECT)
		return;
	log_info("marking a suspect node dead", "node=%s confirmations=%d", log_q(n->name), s->n);
	d.incarnation = n->incarnation;
	d.node.p = (const uint8_t *)n->name;
	d.node.n = strlen(n->name);
	d.from.p = (const uint8_t *)m->name;
	d.from.n = strlen(m->name);
	dead_node(m, &d);
}

static void
suspicion_start(struct memberlist *m, struct node *n, struct ml_bytes from)
{
	struct suspicion *s = xcalloc(1, sizeof(*s));

	s->m = m;
	s->node = xstrdup(n->name);
	s->k = m->cfg.suspicion_mult - 2;
	if ((int)m->nnodes - 2 < s->k)
		s->k = 0;
	s->min = ml_suspicion_min(m->cfg.suspicion_mult, m->nnodes, m->cfg.probe_interval);
	s->max = (int64_t)m->cfg.suspicion_max_timeout_mult * s->min;
	s->start = clock_mono_ms();
	s->from = xcalloc(1, sizeof(*s->from));
	s->from[0] = xmalloc(from.n + 1);
	memcpy(s->from[0], from.p, from.n);
	s->from[0][from.n] = '\0';
	s->nfrom = 1;
	s->timer = evtimer_new(m->base, suspicion_fire, s);
	timer_add(s->timer, s->k >= 1 ? s->max : s->min);
	n->susp = s;
}

/* 1 when from is a new confirmation (the timer is then shortened). */
static int
suspicion_confirm(struct suspicion *s, struct ml_bytes from)
{
	if (s->n >= s->k)
		return 0;
	for (size_t i = 0; i < s->nfrom; i++)
		if (bytes_eq(from, s->from[i], strlen(s->from[i])))
			return 0;
	s->from = xreallocarray(s->from, s->nfrom + 1, sizeof(*s->from));
	s->from[s->nfrom] = xmalloc(from.n + 1);
	memcpy(s->from[s->nfrom], from.p, from.n);
	s->from[s->nfrom++][from.n] = '\0';
	s->n++;
	/* Lifeguard: the timeout shrinks from max toward min with each confirmation. */
	timer_add(s->timer, ml_suspicion_timeout(s->n, s->k, s->min, s->max) -
	    (clock_mono_ms() - s->start));
	return 1;
}

static void
cancel_suspicion(struct node *n)
{
	suspicion_free(n->susp);
	n->susp = NULL;
}

static void
encode_accuse(struct buf *b, enum ml_type t, const struct ml_accuse *a)
{
	buf_put_u8(b, t);
	ml_put_accuse(b, a);
}

/* Gossip a suspect or dead message about n (replacing what is queued about it). */
static void
broadcast_accuse(struct memberlist *m, const struct node *n, enum ml_type t,
    const struct ml_accuse *a)
{
	struct buf b = { 0 };

	encode_accuse(&b, t, a);
	broadcast(m, n->name, &b);
	buf_free(&b);
}

static int
vsn_ok(struct ml_bytes v)
{
	return v.n < 3 || (v.p[0] != 0 && v.p[1] != 0 && v.p[0] <= v.p[1]);
}

static void
alive_node(struct memberlist *m, const struct ml_alive *a, int bootstrap)
{
	struct node *n;
	int self = is_self(m, a->node), changed_addr = 0, was_alive, meta_changed;
	struct buf b = { 0 };

	if (m->leaving && self)
		return;
	if (!vsn_ok(a->vsn) || a->node.n == 0 || a->node.n > 255 ||
	    (a->addr.n != 4 && a->addr.n != 16))
		return;
	if ((n = node_find(m, a->node.p, a->node.n)) == NULL) {
		n = node_add(m, a->node);
		memcpy(n->addr, a->addr.p, a->addr.n);
		n->addrlen = a->addr.n;
		n->port = a->port;
	} else if (!bytes_eq(a->addr, n->addr, n->addrlen) || a->port != n->port) {
		int reclaim = m->cfg.dead_node_reclaim_time > 0 &&
		    clock_mono_ms() - n->state_change > m->cfg.dead_node_reclaim_time;

		if (!(n->state == ML_STATE_LEFT || (n->state == ML_STATE_DEAD && reclaim))) {
			char have[64], got[64];

			format_addr(n->addr, n->addrlen, n->port, have, sizeof(have));
			format_addr(a->addr.p, a->addr.n, a->port, got, sizeof(got));
			log_warn("conflicting address for a node", "node=%s have=%s got=%s",
			    log_q(n->name), have, got);
			return;
		}
		changed_addr = 1;
	}
	if (!self && !changed_addr && a->incarnation <= n->incarnation)
		return;
	if (self && a->incarnation < n->incarnation)
		return;
	cancel_suspicion(n);
	if (self && !bootstrap) {
		if (a->incarnation == n->incarnation && bytes_eq(a->meta, m->meta.p, m->meta.len) &&
		    bytes_eq(a->vsn, our_vsn, ML_VSN_LEN))
			return;
		refute(m, n, a->incarnation);
		return;
	}
	buf_put_u8(&b, ML_ALIVE);
	ml_put_alive(&b, a);
	broadcast(m, n->name, &b);
	buf_free(&b);
	if (a->vsn.n == ML_VSN_LEN)
		memcpy(n->vsn, a->vsn.p, ML_VSN_LEN);
	n->incarnation = a->incarnation;
	meta_changed = !bytes_eq(a->meta, n->meta.p, n->meta.len);
	buf_reset(&n->meta);
	buf_put_bytes(&n->meta, a->meta.p, a->meta.n);
	memcpy(n->addr, a->addr.p, a->addr.n);
	n->addrlen = a->addr.n;
	n->port = a->port;
	was_alive = n->state == ML_STATE_ALIVE;
	if (!was_alive) {
		set_state(m, n, ML_STATE_ALIVE);
		if (!self)
			log_info("node joined", "node=%s incarnation=%u", log_q(n->name), n->incarnation);
		notify(m, n, 0);
	} else if (meta_changed)
		notify(m, n, 1);
}

static void
suspect_node(struct memberlist *m, const struct ml_accuse *s)
{
	struct node *n = node_find(m, s->node.p, s->node.n);

	if (n == NULL || s->incarnation < n->incarnation)
		return;
	if (n->susp != NULL) {
		if (suspicion_confirm(n->susp, s->from))
			broadcast_accuse(m, n, ML_SUSPECT, s);
		return;
	}
	if (n->state != ML_STATE_ALIVE)
		return;
	if (is_self(m, s->node)) {
		refute(m, n, s->incarnation);
		return;
	}
	broadcast_accuse(m, n, ML_SUSPECT, s);
	n->incarnation = s->incarnation;
	set_state(m, n, ML_STATE_SUSPECT);
	log_info("node suspected", "node=%s incarnation=%u", log_q(n->name), n->incarnation);
	suspicion_start(m, n, s->from);
	notify(m, n, 0);
}

static void
dead_node(struct memberlist *m, const struct ml_accuse *d)
{
	struct node *n = node_find(m, d->node.p, d->node.n);

	if (n == NULL || d->incarnation < n->incarnation)
		return;
	cancel_suspicion(n);
	if (n->state == ML_STATE_DEAD || n->state == ML_STATE_LEFT)
		return;
	if (is_self(m, d->node) && !m->leaving) {
		refute(m, n, d->incarnation);
		return;
	}
	broadcast_accuse(m, n, ML_DEAD, d);
	n->incarnation = d->incarnation;
	set_state(m, n, bytes_eq(d->node, d->from.p, d->from.n) ? ML_STATE_LEFT : ML_STATE_DEAD);
	log_info(n->state == ML_STATE_LEFT ? "node left" : "node dead", "node=%s incarnation=%u",
	    log_q(n->name), n->incarnation);
	notify(m, n, 0);
}

/* ---- acks, probes and relays ---- */

static struct handler *
handler_take(struct memberlist *m, uint32_t seq)
{
	for (struct handler **hp = &m->handlers; *hp != NULL; hp = &(*hp)->next) {
		struct handler *h = *hp;

		if (h->seq == seq) {
			*hp = h->next;
			return h;
		}
	}
	return NULL;
}

static void
handler_free(struct handler *h)
{
	event_free(h->expire);
	if (h->nack_timer != NULL)
		event_free(h->nack_timer);
	free(h);
}

static void
handler_expire(evutil_socket_t fd, short what, void *arg)
{
	struct handler *h = arg;

	handler_take(h->m, h->seq);
	handler_free(h);
}

static struct handler *
handler_new(struct memberlist *m, uint32_t seq, enum handler_kind kind, int64_t ttl)
{
	struct handler *h = xcalloc(1, sizeof(*h));

	h->m = m;
	h->seq = seq;
	h->kind = kind;
	h->expire = evtimer_new(m->base, handler_expire, h);
	timer_add(h->expire, ttl);
	h->next = m->handlers;
	m->handlers = h;
	return h;
}

static void
encode_ping(struct memberlist *m, struct buf *b, uint32_t seq, struct ml_bytes target)
{
	struct ml_ping p = { .seq_no = seq, .node = target };

	p.source_addr.p = m->addr;
	p.source_addr.n = 16;
	p.source_port = m->port;
	p.source_node.p = (const uint8_t *)m->name;
	p.source_node.n = strlen(m->name);
	buf_put_u8(b, ML_PING);
	ml_put_ping(b, &p);
}

static int64_t
probe_interval(const struct memberlist *m)
{
	return m->cfg.probe_interval * (m->health + 1);
}

static void
probe_end(struct memberlist *m)
{
	struct probe *p = &m->probe;

	if (p->timer != NULL)
		event_free(p->timer);
	free(p->target);
	memset(p, 0, sizeof(*p));
}

static void
probe_failed(struct memberlist *m)
{
	struct probe *p = &m->probe;
	struct node *n = node_find(m, (const uint8_t *)p->target, strlen(p->target));
	struct ml_accuse s;

	m->st.probes_failed++;
	if (p->expected_nacks > 0)
		health_add(m, p->nacks < p->expected_nacks ? p->expected_nacks - p->nacks : 0);
	else
		health_add(m, 1);
	if (n != NULL && n->state == ML_STATE_ALIVE) {
		log_info("probe failed, suspecting", "node=%s", log_q(n->name));
		s.incarnation = n->incarnation;
		s.node.p = (const uint8_t *)n->name;
		s.node.n = strlen(n->name);
		s.from.p = (const uint8_t *)m->name;
		s.from.n = strlen(m->name);
		suspect_node(m, &s);
	}
	probe_end(m);
}

static void
probe_indirect(struct memberlist *m)
{
	struct probe *p = &m->probe;
	struct node *t = node_find(m, (const uint8_t *)p->target, strlen(p->target));
	struct node **cand;
	size_t nc = 0;

	if (t == NULL) {
		probe_end(m);
		return;
	}
	cand = xcalloc(m->nnodes ? m->nnodes : 1, sizeof(*cand));
	for (size_t i = 0; i < m->nnodes; i++) {
		struct node *n = m->nodes[i];

		if (n->state == ML_STATE_ALIVE && n != t && strcmp(n->name, m->name) != 0)
			cand[nc++] = n;
	}
	for (int i = 0; i < m->cfg.indirect_checks && nc > 0; i++) {
		size_t j = arc4random_uniform((uint32_t)nc);
		struct node *peer = cand[j];
		struct ml_indirect_ping ip = { .seq_no = p->seq };
		struct buf b = { 0 };

		cand[j] = cand[--nc];
		ip.target.p = t->addr;
		ip.target.n = t->addrlen;
		ip.port = t->port;
		ip.node.p = (const uint8_t *)t->name;
		ip.node.n = strlen(t->name);
		ip.nack = peer->vsn[1] >= 4;
		ip.source_addr.p = m->addr;
		ip.source_addr.n = 16;
		ip.source_port = m->port;
		ip.source_node.p = (const uint8_t *)m->name;
		ip.source_node.n = strlen(m->name);
		p->expected_nacks += ip.nack;
		buf_put_u8(&b, ML_INDIRECT_PING);
		ml_put_indirect_ping(&b, &ip);
		send_to_node(m, peer, b.p, b.len);
		buf_free(&b);
	}
	free(cand);
}

static void
probe_timer(evutil_socket_t fd, short what, void *arg)
{
	struct memberlist *m = arg;
	struct probe *p = &m->probe;

	if (p->acked) {
		probe_end(m);
		return;
	}
	if (!p->indirect) {
		p->indirect = 1;
		probe_indirect(m);
		if (m->probe.active)
			timer_add(p->timer, probe_interval(m) - m->cfg.probe_timeout);
		return;
	}
	probe_failed(m);
}

static void	reap(struct memberlist *);

static struct node *
probe_next(struct memberlist *m)
{
	for (size_t tries = 0; tries < m->nnodes; tries++) {
		struct node *n;

		if (m->probe_index >= m->nnodes) {
			reap(m);
			/* Shuffle, as memberlist does at every wrap. */
			for (size_t i = m->nnodes; i > 1; i--) {
				size_t j = arc4random_uniform((uint32_t)i);
				struct node *x = m->nodes[i - 1];

				m->nodes[i - 1] = m->nodes[j];
				m->nodes[j] = x;
			}
			m->probe_index = 0;
			if (m->nnodes == 0)
				return NULL;
		}
		n = m->nodes[m->probe_index++];
		if (strcmp(n->name, m->name) == 0 || n->state == ML_STATE_DEAD ||
		    n->state == ML_STATE_LEFT)
			continue;
		return n;
	}
	return NULL;
}

static void
probe_tick(evutil_socket_t fd, short what, void *arg)
{
	struct memberlist *m = arg;
	struct node *n;
	struct buf b = { 0 };

	/*
	 * Probes go on while leaving, as Go's: their pings carry our dead
	 * message too, the only way out when routing leaves no gossip target.
	 */
	timer_add(m->probe_ev, probe_interval(m));
	if (m->probe.active || (n = probe_next(m)) == NULL)
		return;
	m->probe.active = 1;
	m->probe.seq = ++m->seq;
	m->probe.target = xstrdup(n->name);
	m->probe.timer = evtimer_new(m->base, probe_timer, m);
	handler_new(m, m->probe.seq, H_PROBE, probe_interval(m));
	encode_ping(m, &b, m->probe.seq, (struct ml_bytes){ (const uint8_t *)n->name,
	    strlen(n->name) });
	if (n->state == ML_STATE_SUSPECT) {
		/* [ping, suspect] so that it can refute at once; nothing else added. */
		struct buf s = { 0 };
		struct ml_accuse a = { .incarnation = n->incarnation };
		struct ml_bytes parts[2];
		struct sockaddr_storage ss;
		socklen_t sl = node_sockaddr(n->addr, n->addrlen, n->port, &ss);

		a.node.p = (const uint8_t *)n->name;
		a.node.n = strlen(n->name);
		a.from.p = (const uint8_t *)m->name;
		a.from.n = strlen(m->name);
		encode_accuse(&s, ML_SUSPECT, &a);
		parts[0] = (struct ml_bytes){ b.p, b.len };
		parts[1] = (struct ml_bytes){ s.p, s.len };
		send_parts(m, (struct sockaddr *)&ss, sl, parts, 2, n);
		buf_free(&s);
	} else
		send_to_node(m, n, b.p, b.len);
	buf_free(&b);
	timer_add(m->probe.timer, m->cfg.probe_timeout);
}

static void
on_ack(struct memberlist *m, const struct ml_ack *a)
{
	struct handler *h = handler_take(m, a->seq_no);

	if (h == NULL)
		return;
	if (h->kind == H_PROBE && m->probe.active && m->probe.seq == a->seq_no) {
		m->probe.acked = 1;
		health_add(m, -1);
		event_active(m->probe.timer, EV_TIMEOUT, 0);
	} else if (h->kind == H_RELAY) {
		struct ml_ack fwd = { .seq_no = h->req_seq };
		struct buf b = { 0 };

		buf_put_u8(&b, ML_ACK);
		ml_put_ack(&b, &fwd);
		send_msg(m, (struct sockaddr *)&h->req_addr, h->req_addrlen, b.p, b.len, NULL);
		buf_free(&b);
	}
	handler_free(h);
}

static void
relay_nack(evutil_socket_t fd, short what, void *arg)
{
	struct handler *h = arg;
	struct ml_nack nk = { .seq_no = h->req_seq };
	struct buf b = { 0 };

	buf_put_u8(&b, ML_NACK);
	ml_put_nack(&b, &nk);
	send_msg(h->m, (struct sockaddr *)&h->req_addr, h->req_addrlen, b.p, b.len, NULL);
	buf_free(&b);
}

/* Where to answer: the source the message names, else the packet's source. */
static socklen_t
reply_addr(struct ml_bytes addr, uint16_t port, const struct sockaddr *from, socklen_t fromlen,
    struct sockaddr_storage *ss)
{
	if ((addr.n == 4 || addr.n == 16) && port != 0)
		return node_sockaddr(addr.p, addr.n, port, ss);
	memcpy(ss, from, fromlen);
	return fromlen;
}

static void
on_ping(struct memberlist *m, const struct ml_ping *p, const struct sockaddr *from,
    socklen_t fromlen)
{
	struct ml_ack a = { .seq_no = p->seq_no };
	struct sockaddr_storage ss;
	socklen_t sl;
	struct buf b = { 0 };

	if (p->node.n > 0 && !is_self(m, p->node))
		return;
	sl = reply_addr(p->source_addr, p->source_port, from, fromlen, &ss);
	buf_put_u8(&b, ML_ACK);
	ml_put_ack(&b, &a);
	send_msg(m, (struct sockaddr *)&ss, sl, b.p, b.len, NULL);
	buf_free(&b);
}

static void
on_indirect_ping(struct memberlist *m, const struct ml_indirect_ping *ip,
    const struct sockaddr *from, socklen_t fromlen)
{
	struct handler *h;
	struct sockaddr_storage ss;
	socklen_t sl;
	struct buf b = { 0 };
	uint32_t seq = ++m->seq;

	if (ip->target.n != 4 && ip->target.n != 16)
		return;
	h = handler_new(m, seq, H_RELAY, m->cfg.probe_interval);
	h->req_seq = ip->seq_no;
	h->req_addrlen = reply_addr(ip->source_addr, ip->source_port, from, fromlen, &h->req_addr);
	if (ip->nack) {
		h->nack_timer = evtimer_new(m->base, relay_nack, h);
		timer_add(h->nack_timer, m->cfg.probe_timeout);
	}
	encode_ping(m, &b, seq, ip->node);
	sl = node_sockaddr(ip->target.p, ip->target.n, ip->port ? ip->port : m->port, &ss);
	send_msg(m, (struct sockaddr *)&ss, sl, b.p, b.len, NULL);
	buf_free(&b);
}

/* ---- received packets ---- */

struct rx {
	struct memberlist	*m;
	const struct sockaddr	*from;
	socklen_t		 fromlen;
};

static int
on_message(void *arg, enum ml_type t, struct ml_bytes body)
{
	struct rx *rx = arg;
	struct memberlist *m = rx->m;
	struct decbuf d;
	struct err e;
	int rc = 0;
	union {
		struct ml_ping		 ping;
		struct ml_indirect_ping	 ip;
		struct ml_ack		 ack;
		struct ml_nack		 nack;
		struct ml_accuse	 acc;
		struct ml_alive		 alive;
	} u;

	decbuf_init(&d, body.p, body.n);
	switch (t) {
	case ML_PING:
		if ((rc = ml_get_ping(&d, &u.ping, &e)) == 0)
			on_ping(m, &u.ping, rx->from, rx->fromlen);
		break;
	case ML_INDIRECT_PING:
		if ((rc = ml_get_indirect_ping(&d, &u.ip, &e)) == 0)
			on_indirect_ping(m, &u.ip, rx->from, rx->fromlen);
		break;
	case ML_ACK:
		if ((rc = ml_get_ack(&d, &u.ack, &e)) == 0)
			on_ack(m, &u.ack);
		break;
	case ML_NACK:
		if ((rc = ml_get_nack(&d, &u.nack, &e)) == 0 && m->probe.active &&
		    m->probe.seq == u.nack.seq_no)
			m->probe.nacks++;
		break;
	case ML_ALIVE:
		if ((rc = ml_get_alive(&d, &u.alive, &e)) == 0)
			alive_node(m, &u.alive, 0);
		break;
	case ML_SUSPECT:
		if ((rc = ml_get_accuse(&d, &u.acc, &e)) == 0)
			suspect_node(m, &u.acc);
		break;
	case ML_DEAD:
		if ((rc = ml_get_accuse(&d, &u.acc, &e)) == 0)
			dead_node(m, &u.acc);
		break;
	case ML_USER:
		if (m->d.notify_msg != NULL)
			m->d.notify_msg(m->d.arg, body);
		break;
	default:
		log_debug("message type not supported", "type=%d", (int)t);
		break;
	}
	/* As Go: a message that does not decode is logged and dropped, the packet goes on. */
	if (rc == -1) {
		m->st.messages_refused++;
		log_debug("message refused", "type=%d err=%s", (int)t, log_q(e.msg));
	}
	return 0;
}

/*
 * Strip the label header and check it: the same label as ours (none for
 * none), unless the check is off. 0 to go on, -1 with err to drop.
 */
static int
label_check(struct memberlist *m, struct ml_bytes *msg, struct err *e)
{
	struct ml_bytes label;

	if (ml_label_strip(msg, &label, e) == -1)
		return -1;
	if (m->cfg.skip_label_check || (label.n == m->label_len &&
	    (label.n == 0 || memcmp(label.p, m->cfg.label, label.n) == 0)))
		return 0;
	m->st.label_mismatches++;
	return err_set(e, "cluster label %.*s, want %s", (int)label.n,
	    label.p != NULL ? (const char *)label.p : "(none)",
	    m->label_len > 0 ? m->cfg.label : "(none)");
}

static void
on_packet(void *arg, const uint8_t *p, size_t n, const struct sockaddr *from, socklen_t fromlen)
{
	struct memberlist *m = arg;
	struct rx rx = { m, from, fromlen };
	struct ml_bytes pkt = { p, n };
	struct err e;

	m->st.packets_received++;
	m->st.bytes_received += n;
	if (label_check(m, &pkt, &e) == -1 || ml_packet_walk(pkt, on_message, &rx, NULL, &e) == -1) {
		m->st.packets_refused++;
		log_debug("packet refused", "err=%s", log_q(e.msg));
	}
}

/* ---- push/pull ---- */

static void
encode_local_state(struct memberlist *m, int join, struct buf *out)
{
	struct ml_push_pull_header h = { .nodes = (int64_t)m->nnodes, .join = join };
	struct buf user = { 0 }, msg = { 0 };

	if (m->d.local_state != NULL)
		m->d.local_state(m->d.arg, join, &user);
	h.user_state_len = (int64_t)user.len;
	buf_put_u8(&msg, ML_PUSH_PULL);
	ml_put_push_pull_header(&msg, &h);
	for (size_t i = 0; i < m->nnodes; i++) {
		struct node *n = m->nodes[i];
		struct ml_push_node_state s = {
			.name = { (const uint8_t *)n->name, strlen(n->name) },
			.addr = { n->addr, n->addrlen },
			.port = n->port,
			.meta = { n->meta.p, n->meta.len },
			.incarnation = n->incarnation,
			.state = n->state,
			.vsn = { n->vsn, ML_VSN_LEN },
		};

		ml_put_push_node_state(&msg, &s);
	}
	buf_put_bytes(&msg, user.p, user.len);
	/* Streams are always compressed when compression is on. */
	if (m->cfg.compression != ML_COMPRESS_OFF)
		ml_compress_put(out, msg.p, msg.len, m->cfg.compression);
	else
		buf_put_bytes(out, msg.p, msg.len);
	buf_free(&user);
	buf_free(&msg);
}

/* Is this stream message complete? Any decoding failure means "not yet". */
static int
stream_complete(const uint8_t *p, size_t n)
{
	struct decbuf d;
	struct err e;
	union {
		struct ml_compress		 c;
		struct ml_push_pull_header	 h;
		struct ml_push_node_state	 s;
		struct ml_user_msg_header	 u;
		struct ml_ping			 ping;
		struct ml_ack			 ack;
		struct ml_err_resp		 er;
	} u;

	if (n >= 2 && p[0] == ML_HAS_LABEL) {
		if (n < 2 + (size_t)p[1] + 1)
			return 0;
		n -= 2 + p[1];
		p += 2 + p[1];
	}
	decbuf_init(&d, p + 1, n - 1);
	switch (p[0]) {
	case ML_COMPRESS:
		return ml_get_compress(&d, &u.c, &e) == 0;
	case ML_PUSH_PULL: {
		int64_t nodes, user_state_len;

		/* the header is copied out: decoding node states reuses the union */
		if (ml_get_push_pull_header(&d, &u.h, &e) == -1 || u.h.nodes < 0 ||
		    u.h.user_state_len < 0)
			return 0;
		nodes = u.h.nodes;
		user_state_len = u.h.user_state_len;
		for (int64_t i = 0; i < nodes; i++)
			if (ml_get_push_node_state(&d, &u.s, &e) == -1)
				return 0;
		return (uint64_t)user_state_len <= d.len;
	}
	case ML_USER:
		return ml_get_user_msg_header(&d, &u.u, &e) == 0 && u.u.user_msg_len >= 0 &&
		    (uint64_t)u.u.user_msg_len <= d.len;
	case ML_PING:
		return ml_get_ping(&d, &u.ping, &e) == 0;
	case ML_ACK:
		return ml_get_ack(&d, &u.ack, &e) == 0;
	case ML_ERR:
		return ml_get_err_resp(&d, &u.er, &e) == 0;
	default:
		return 1;
	}
}

/* Undo compression: *msg then points at the real message (in out when decompressed). */
static int
stream_open(struct ml_bytes *msg, struct buf *out, struct err *e)
{
	if (msg->n == 0)
		return err_set(e, "empty stream");
	if (msg->p[0] == ML_COMPRESS) {
		if (ml_decompress(out, (struct ml_bytes){ msg->p + 1, msg->n - 1 }, e) == -1)
			return -1;
		msg->p = out->p;
		msg->n = out->len;
	}
	return 0;
}

/* A remote push/pull: check the message is whole, then merge it (§10.5). */
static int
merge_remote(struct memberlist *m, struct ml_bytes msg, int *join, struct err *e)
{
	struct ml_push_pull_header h;
	struct decbuf d;

	if (msg.n == 0 || msg.p[0] != ML_PUSH_PULL)
		return err_set(e, "expected a push/pull, got type %d", msg.n ? msg.p[0] : -1);
	decbuf_init(&d, msg.p + 1, msg.n - 1);
	if (ml_get_push_pull_header(&d, &h, e) == -1)
		return -1;
	if (h.nodes < 0 || h.nodes > (1 << 20) || h.user_state_len < 0)
		return err_set(e, "push/pull of %lld nodes, %lld bytes of user state",
		    (long long)h.nodes, (long long)h.user_state_len);
	*join = h.join;
	for (int64_t i = 0; i < h.nodes; i++) {
		struct ml_push_node_state s;

		if (ml_get_push_node_state(&d, &s, e) == -1)
			return -1;
		if (s.state == ML_STATE_ALIVE) {
			struct ml_alive a = { .incarnation = s.incarnation, .node = s.name,
			    .addr = s.addr, .port = s.port, .meta = s.meta, .vsn = s.vsn };

			alive_node(m, &a, 0);
		} else {
			struct ml_accuse a = { .incarnation = s.incarnation, .node = s.name };

			/* A remote "left" stays left; a remote dead or suspect only makes us suspect. */
			if (s.state == ML_STATE_LEFT) {
				a.from = s.name;
				dead_node(m, &a);
			} else {
				a.from = (struct ml_bytes){ (const uint8_t *)m->name, strlen(m->name) };
				suspect_node(m, &a);
			}
		}
	}
	if ((uint64_t)h.user_state_len > d.len)
		return err_set(e, "push/pull user state cut short");
	if (h.user_state_len > 0 && m->d.merge_remote_state != NULL)
		m->d.merge_remote_state(m->d.arg, (struct ml_bytes){ d.p,
		    (size_t)h.user_state_len }, h.join);
	m->st.pushpulls++;
	return 0;
}

static void
on_stream(void *arg, struct tstream *ts, const uint8_t *p, size_t n)
{
	struct memberlist *m = arg;
	struct ml_bytes msg = { p, n };
	struct buf out = { 0 }, reply = { 0 };
	struct decbuf d;
	struct err e;
	int join = 0;

	if (label_check(m, &msg, &e) == -1) {
		log_warn("stream refused", "err=%s", log_q(e.msg));
		tstream_reply(ts, NULL, 0);
		goto done;
	}
	if (stream_open(&msg, &out, &e) == -1) {
		struct ml_err_resp er = { .error = { (const uint8_t *)e.msg, strlen(e.msg) } };

		buf_put_u8(&reply, ML_ERR);
		ml_put_err_resp(&reply, &er);
		tstream_reply(ts, reply.p, reply.len);
		goto done;
	}
	switch (msg.p[0]) {
	case ML_PUSH_PULL:
		decbuf_init(&d, msg.p + 1, msg.n - 1);
		join = 0;
		{
			struct ml_push_pull_header h;

			if (ml_get_push_pull_header(&d, &h, &e) == 0)
				join = h.join;
		}
		encode_local_state(m, join, &reply);
		tstream_reply(ts, reply.p, reply.len);
		if (merge_remote(m, msg, &join, &e) == -1) {
			m->st.pushpull_errors++;
			log_warn("push/pull refused", "err=%s", log_q(e.msg));
		}
		break;
	case ML_PING: {
		struct ml_ping ping;
		struct ml_ack ack = { 0 };

		decbuf_init(&d, msg.p + 1, msg.n - 1);
		if (ml_get_ping(&d, &ping, &e) == 0 && (ping.node.n == 0 || is_self(m, ping.node))) {
			ack.seq_no = ping.seq_no;
			buf_put_u8(&reply, ML_ACK);
			ml_put_ack(&reply, &ack);
		}
		tstream_reply(ts, reply.p, reply.len);
		break;
	}
	case ML_USER: {
		struct ml_user_msg_header u;

		decbuf_init(&d, msg.p + 1, msg.n - 1);
		if (ml_get_user_msg_header(&d, &u, &e) == 0 && m->d.notify_msg != NULL &&
		    u.user_msg_len >= 0 && (uint64_t)u.user_msg_len <= d.len)
			m->d.notify_msg(m->d.arg, (struct ml_bytes){ d.p, (size_t)u.user_msg_len });
		tstream_reply(ts, NULL, 0);
		break;
	}
	default:
		tstream_reply(ts, NULL, 0);
		break;
	}
done:
	buf_free(&out);
	buf_free(&reply);
}

struct pushpull {
	struct memberlist	*m;
	char			 peer[80];
	void			(*done)(void *, int ok);
	void			*arg;
};

static void
pushpull_done(void *arg, const uint8_t *p, size_t n, const char *error)
{
	struct pushpull *pp = arg;
	struct memberlist *m = pp->m;
	struct ml_bytes msg = { p, n };
	struct buf out = { 0 };
	struct err e;
	int join, ok = 0;

	if (error != NULL)
		err_set(&e, "%s", error);
	else if (stream_open(&msg, &out, &e) == 0) {
		if (msg.p[0] == ML_ERR) {
			struct ml_err_resp er;
			struct decbuf d;

			decbuf_init(&d, msg.p + 1, msg.n - 1);
			if (ml_get_err_resp(&d, &er, &e) == 0)
				err_set(&e, "remote error: %.*s", (int)er.error.n, er.error.p);
		} else
			ok = merge_remote(m, msg, &join, &e) == 0;
	}
	if (!ok) {
		m->st.pushpull_errors++;
		log_warn("push/pull failed", "peer=%s err=%s", pp->peer, log_q(e.msg));
	}
	buf_free(&out);
	if (pp->done != NULL)
		pp->done(pp->arg, ok);
	free(pp);
}

static void
pushpull_start(struct memberlist *m, const struct sockaddr *sa, socklen_t salen, int join,
    void (*done)(void *, int), void *arg)
{
	struct pushpull *pp = xcalloc(1, sizeof(*pp));
	struct buf req = { 0 };
	char host[INET6_ADDRSTRLEN] = "?";

	pp->m = m;
	pp->done = done;
	pp->arg = arg;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, host, sizeof(host));
	else
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, host, sizeof(host));
	snprintf(pp->peer, sizeof(pp->peer), "%s:%u", host, ntohs(sa->sa_family == AF_INET ?
	    ((const struct sockaddr_in *)sa)->sin_port : ((const struct sockaddr_in6 *)sa)->sin6_port));
	label_put(m, &req);
	encode_local_state(m, join, &req);
	transport_exchange(m->t, sa, salen, req.p, req.len, stream_complete, pushpull_done, pp);
	buf_free(&req);
}

/* ---- periodic work ---- */

static int64_t
pushpull_interval(const struct memberlist *m)
{
	return ml_pushpull_scale(m->cfg.pushpull_interval, m->nnodes);
}

typedef int	target_fn(const struct memberlist *, const struct node *, int64_t now);

/*
 * The fork's kRandomNodes: up to k distinct random nodes that are targets,
 * among those the selection hook keeps; a preferred node (one at random)
 * first, if it is a target. out has room for m->nnodes.
 */
static size_t
pick_nodes(const struct memberlist *m, size_t k, target_fn *target, int64_t now,
    struct node **out)
{
	struct node **cand = xcalloc(m->nnodes ? m->nnodes : 1, sizeof(*cand)), *pref = NULL;
	size_t nc = 0, npref = 0, n = 0;
	int with_pref;

	for (size_t i = 0; i < m->nnodes; i++) {
		struct node *x = m->nodes[i];
		int preferred = 0;

		if (m->cfg.select_node != NULL && !m->cfg.select_node(m->cfg.select_arg,
		    (struct ml_bytes){ x->meta.p, x->meta.len }, &preferred))
			continue;
		if (preferred && arc4random_uniform((uint32_t)++npref) == 0)
			pref = x;
		if (target(m, x, now))
			cand[nc++] = x;
	}
	if ((with_pref = pref != NULL && k > 0 && target(m, pref, now)))
		out[n++] = pref;
	while (n < k && nc > 0) {
		size_t j = arc4random_uniform((uint32_t)nc);
		struct node *x = cand[j];

		cand[j] = cand[--nc];
		if (!with_pref || x != pref)
			out[n++] = x;
	}
	free(cand);
	return n;
}

static int
pushpull_target(const struct memberlist *m, const struct node *n, int64_t now)
{
	return n->state == ML_STATE_ALIVE && strcmp(n->name, m->name) != 0;
}

static void
pushpull_tick(evutil_socket_t fd, short what, void *arg)
{
	struct memberlist *m = arg;
	struct node **pick = xcalloc(m->nnodes ? m->nnodes : 1, sizeof(*pick));
	size_t n = pick_nodes(m, (size_t)m->cfg.pushpull_nodes, pushpull_target, 0, pick);

	timer_add(m->pushpull_ev, pushpull_interval(m));
	for (size_t i = 0; i < n; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = node_sockaddr(pick[i]->addr, pick[i]->addrlen, pick[i]->port, &ss);

		pushpull_start(m, (struct sockaddr *)&ss, sl, 0, NULL, NULL);
	}
	free(pick);
}

static int
gossip_target(const struct memberlist *m, const struct node *n, int64_t now)
{
	if (strcmp(n->name, m->name) == 0)
		return 0;
	if (n->state == ML_STATE_ALIVE || n->state == ML_STATE_SUSPECT)
		return 1;
	return n->state == ML_STATE_DEAD && now - n->state_change <= m->cfg.gossip_to_dead_time;
}

/* Go's anyAlive: a peer, alive or suspect, to hear our leave. */
static int
any_peer_alive(const struct memberlist *m)
{
	for (size_t i = 0; i < m->nnodes; i++) {
		const struct node *n = m->nodes[i];

		if (strcmp(n->name, m->name) != 0 &&
		    (n->state == ML_STATE_ALIVE || n->state == ML_STATE_SUSPECT))
			return 1;
	}
	return 0;
}

static void
leave_check(struct memberlist *m)
{
	void (*done)(void *) = m->leave_done;

	if (done == NULL)
		return;
	if (bqueue_len(m->bq) > 0 && clock_mono_ms() < m->leave_deadline &&
	    any_peer_alive(m))
		return;
	m->leave_done = NULL;
	done(m->leave_arg);
}

static void
gossip_tick(evutil_socket_t fd, short what, void *arg)
{
	struct memberlist *m = arg;
	struct node **cand = xcalloc(m->nnodes ? m->nnodes : 1, sizeof(*cand));
	size_t nc = pick_nodes(m, (size_t)m->cfg.gossip_nodes, gossip_target, clock_mono_ms(), cand);

	timer_add(m->gossip_ev, m->cfg.gossip_interval);
	for (size_t i = 0; i < nc; i++) {
		size_t lens[MAX_PARTS], k, off = 0;
		struct ml_bytes parts[MAX_PARTS];
		struct node *n = cand[i];
		struct buf msgs = { 0 };
		struct sockaddr_storage ss;
		socklen_t sl;

		k = get_broadcasts(m, COMPOUND_OVERHEAD, m->cfg.packet_budget -
		    COMPOUND_HEADER_OVERHEAD, &msgs, lens, MAX_PARTS);
		if (k == 0) {
			buf_free(&msgs);
			break;
		}
		for (size_t x = 0; x < k; x++) {
			parts[x] = (struct ml_bytes){ msgs.p + off, lens[x] };
			off += lens[x];
		}
		sl = node_sockaddr(n->addr, n->addrlen, n->port, &ss);
		send_parts(m, (struct sockaddr *)&ss, sl, parts, k, n);
		buf_free(&msgs);
	}
	free(cand);
	leave_check(m);
}

/* Forget nodes dead or left for longer than gossip_to_dead_time. */
static void
reap(struct memberlist *m)
{
	int64_t now = clock_mono_ms();
	size_t j = 0;

	for (size_t i = 0; i < m->nnodes; i++) {
		struct node *n = m->nodes[i];

		if ((n->state == ML_STATE_DEAD || n->state == ML_STATE_LEFT) &&
		    now - n->state_change > m->cfg.gossip_to_dead_time &&
		    strcmp(n->name, m->name) != 0) {
			RB_REMOVE(node_tree, &m->tree, n);
			node_free(n);
			continue;
		}
		m->nodes[j++] = n;
	}
	m->nnodes = j;
}

/* ---- joining and leaving ---- */

struct join {
	struct memberlist	*m;
	size_t			 pending;
	int			 joined;
	void			(*done)(void *, int);
	void			*arg;
};

static void
join_one_done(void *arg, int ok)
{
	struct join *j = arg;

	j->joined += ok;
	if (--j->pending > 0)
		return;
	if (j->done != NULL)
		j->done(j->arg, j->joined);
	free(j);
}

void
ml_join(struct memberlist *m, const char *const *addrs, size_t n,
    void (*done)(void *, int), void *arg)
{
	struct join *j = xcalloc(1, sizeof(*j));

	j->m = m;
	j->done = done;
	j->arg = arg;
	j->pending = 1;		/* held until every address is started */
	for (size_t i = 0; i < n; i++) {
		char host[256], port[8];
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
		int rc, pn;

		if (hostport_parse(addrs[i], host, sizeof(host), 7946, &pn) == -1) {
			log_warn("cannot resolve a join address", "addr=%s err=%s", log_q(addrs[i]),
			    log_q("not host:port"));
			continue;
		}
		snprintf(port, sizeof(port), "%d", pn);
		if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
			log_warn("cannot resolve a join address", "addr=%s err=%s", log_q(addrs[i]),
			    log_q(gai_strerror(rc)));
			continue;
		}
		for (ai = res; ai != NULL; ai = ai->ai_next) {
			j->pending++;
			pushpull_start(m, ai->ai_addr, ai->ai_addrlen, 1, join_one_done, j);
		}
		freeaddrinfo(res);
	}
	join_one_done(j, 0);
}

void
ml_leave(struct memberlist *m, int64_t timeout_ms, void (*done)(void *), void *arg)
{
	struct node *self = node_find(m, (const uint8_t *)m->name, strlen(m->name));
	struct ml_accuse d = { .incarnation = self->incarnation };

	m->leaving = 1;
	d.node.p = d.from.p = (const uint8_t *)m->name;
	d.node.n = d.from.n = strlen(m->name);
	dead_node(m, &d);
	m->leave_done = done;
	m->leave_arg = arg;
	m->leave_deadline = clock_mono_ms() + timeout_ms;
	leave_check(m);
}

/* ---- setup and introspection ---- */

struct memberlist *
ml_create(struct event_base *base, const struct ml_config *cfg, const struct ml_delegate *d,
    struct err *e)
{
	struct memberlist *m = xcalloc(1, sizeof(*m));
	struct transport_cb cb = { on_packet, on_stream, stream_complete };
	static const char *const any[] = { "0.0.0.0" };
	const char *const *bind = cfg->nbind > 0 ? cfg->bind_addrs : any;
	size_t nbind = cfg->nbind > 0 ? cfg->nbind : 1;
	const char *adv = cfg->advertise_addr;
	struct ml_alive a = { .incarnation = 1 };

	m->base = base;
	m->cfg = *cfg;
	m->label_len = cfg->label != NULL ? strlen(cfg->label) : 0;
	if (m->label_len > 255) {
		free(m);
		return err_set(e, "cluster label longer than 255 bytes"), NULL;
	}
	if (d != NULL)
		m->d = *d;
	m->name = xstrdup(cfg->name);
	RB_INIT(&m->tree);
	m->bq = bqueue_new();
	buf_put_bytes(&m->meta, cfg->meta.p, cfg->meta.n);
	if (adv == NULL || *adv == '\0')
		adv = strcmp(bind[0], "0.0.0.0") == 0 || strcmp(bind[0], "::") == 0 ?
		    "127.0.0.1" : bind[0];
	if (parse_ip16(adv, m->addr) == -1) {
		err_set(e, "advertise address %s is not an IP address", adv);
		goto fail;
	}
	m->t = transport_create(base, bind, nbind, cfg->bind_port, (int)cfg->stream_timeout,
	    cfg->transport, adv, cfg->advertise_port, &cb, m, e);
	if (m->t == NULL)
		goto fail;
	m->port = (uint16_t)(cfg->advertise_port > 0 ? cfg->advertise_port : transport_port(m->t));
	/* Ourselves, by an alive with incarnation 1 that never refutes. */
	a.node = (struct ml_bytes){ (const uint8_t *)m->name, strlen(m->name) };
	a.addr = (struct ml_bytes){ m->addr, 16 };
	a.port = m->port;
	a.meta = (struct ml_bytes){ m->meta.p, m->meta.len };
	a.vsn = (struct ml_bytes){ our_vsn, ML_VSN_LEN };
	alive_node(m, &a, 1);
	m->probe_ev = evtimer_new(base, probe_tick, m);
	m->gossip_ev = evtimer_new(base, gossip_tick, m);
	m->pushpull_ev = evtimer_new(base, pushpull_tick, m);
	/* Every periodic timer starts after a random stagger, as memberlist. */
	timer_add(m->probe_ev, arc4random_uniform((uint32_t)cfg->probe_interval + 1));
	timer_add(m->gossip_ev, arc4random_uniform((uint32_t)cfg->gossip_interval + 1));
	timer_add(m->pushpull_ev, arc4random_uniform((uint32_t)cfg->pushpull_interval + 1));
	return m;
fail:
	ml_free(m);
	return NULL;
}

int
ml_port(const struct memberlist *m)
{
	return m->port;
}

const char *
ml_name(const struct memberlist *m)
{
	return m->name;
}

const char *
ml_state_name(enum ml_state s)
{
	static const char *const names[] = { "alive", "suspect", "dead", "left" };

	return (unsigned)s < 4 ? names[s] : "unknown";
}

size_t
ml_num_alive(const struct memberlist *m)
{
	return m->nalive;
}

size_t
ml_members(struct memberlist *m, struct ml_member **out)
{
	struct ml_member *v = xcalloc(m->nnodes ? m->nnodes : 1, sizeof(*v));
	struct node *n;
	size_t i = 0;

	RB_FOREACH(n, node_tree, &m->tree) {
		v[i].name = n->name;
		format_addr(n->addr, n->addrlen, n->port, v[i].addr, sizeof(v[i].addr));
		v[i].state = n->state;
		v[i].incarnation = n->incarnation;
		v[i].state_change = n->state_change_wall;
		v[i].meta = (struct ml_bytes){ n->meta.p, n->meta.len };
		memcpy(v[i].vsn, n->vsn, ML_VSN_LEN);
		i++;
	}
	*out = v;
	return i;
}

void
ml_stats(const struct memberlist *m, struct ml_stats *st)
{
	*st = m->st;
	st->health_score = m->health;
	st->queued_broadcasts = bqueue_len(m->bq);
}

void
ml_transport_stats(const struct memberlist *m, struct transport_stats *st)
{
	transport_stats(m->t, st);
}

void
ml_free(struct memberlist *m)
{
	struct node *n, *next;

	if (m == NULL)
		return;
	probe_end(m);
	while (m->handlers != NULL) {
		struct handler *h = m->handlers;

		m->handlers = h->next;
		handler_free(h);
	}
	RB_FOREACH_SAFE(n, node_tree, &m->tree, next) {
		RB_REMOVE(node_tree, &m->tree, n);
		node_free(n);
	}
	if (m->probe_ev != NULL) {
		event_free(m->probe_ev);
		event_free(m->gossip_ev);
		event_free(m->pushpull_ev);
	}
	transport_free(m->t);
	bqueue_free(m->bq);
	buf_free(&m->meta);
	free(m->nodes);
	free(m->name);
	free(m);
}
