/*
 * etcd_json — the bytes of etcd v3's JSON gateway (etcd 3.4: /v3/kv/range,
 * /v3/kv/txn, /v3/watch, /v3/auth/authenticate), without the network: request
 * bodies out, replies in. Keys and values travel as standard base64, int64
 * fields as JSON strings, false/zero/empty fields are left out. Every reply
 * is outside input: each field is type-checked and each length bounded, a
 * bad one is an error, never a crash (fuzz_etcd_json). Used by lib/kv/etcd.c.
 */
#ifndef RINGTAIL_KV_ETCD_JSON_H
#define RINGTAIL_KV_ETCD_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "lib/base/err.h"
#include "lib/tsdb/encoding.h"

/* A key-value of a range reply, or a watch event. */
struct etcd_kv {
	char		*key;		/* NUL-terminated, no NUL inside */
	uint8_t		*value;		/* vlen bytes (NULL when empty) */
	size_t		 vlen;
	int64_t		 create_revision, mod_revision, version;
	int		 deleted;	/* a watch DELETE event */
};

/* One decoded reply (range, txn) or watch message. */
struct etcd_msg {
	int64_t		 revision;	/* header.revision */
	struct etcd_kv	*kvs;		/* range: kvs; watch: events in order */
	size_t		 nkvs;
	int		 succeeded;	/* txn: the compare held */
	int		 created, canceled;	/* watch */
	int64_t		 compact_revision;	/* watch canceled: history compacted */
	char		 reason[256];	/* watch cancel_reason */
};

void	etcd_msg_free(struct etcd_msg *);

/* Replies with HTTP 200. 0 and *m filled (free it), -1 with e (nothing to free). */
int	etcd_decode_range(const void *, size_t, struct etcd_msg *m, struct err *);
int	etcd_decode_txn(const void *, size_t, struct etcd_msg *m, struct err *);
/* One object of the watch stream: {"result":{...}}, or {"error":{...}} (-1, its message). */
int	etcd_decode_watch(const void *, size_t, struct etcd_msg *m, struct err *);
/* /v3/auth/authenticate: the token (malloc'd). */
int	etcd_decode_auth(const void *, size_t, char **token, struct err *);
/*
 * An error reply's text: etcd's "message" (or "error"), else the body's
 * printable start; *code its gRPC code (16 Unauthenticated), -1 if none.
 */
void	etcd_decode_error(const void *, size_t, int *code, char *msg, size_t msgsz);

/* Request bodies (malloc'd JSON text). */
char	*etcd_range_body(const char *key, int prefix);
/* Put value if version(key) == version (0: the key is absent). */
char	*etcd_txn_put_body(const char *key, int64_t version, const void *value, size_t vlen);
char	*etcd_watch_body(const char *key, int prefix, int64_t start_revision);
char	*etcd_auth_body(const char *user, const char *password);
/* The range_end that makes key a prefix (etcd's GetPrefixRangeEnd); appends. */
void	etcd_prefix_end(const char *key, struct buf *out);
/* key lies in the watched range (the key itself, or under the prefix). */
int	etcd_key_matches(const char *watched, int prefix, const char *key);

/*
 * The watch reply: newline-delimited JSON objects in HTTP chunks cut
 * anywhere. Feed the bytes, take whole lines.
 */
struct etcd_stream {
	struct buf	 b;
	size_t		 off;		/* consumed */
	size_t		 max;		/* longest line accepted */
};

void	etcd_stream_init(struct etcd_stream *, size_t max_line);
void	etcd_stream_free(struct etcd_stream *);
/* -1 with e when a line grows past max_line. */
int	etcd_stream_feed(struct etcd_stream *, const void *, size_t, struct err *);
/* 1 and the next whole line (without '\n'; valid until the next call), 0 when none. */
int	etcd_stream_line(struct etcd_stream *, const char **p, size_t *n);

#endif
