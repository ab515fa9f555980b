/*
 * watcher — a program's view of the ring, kept current by a thread that
 * watches the ring's key through its own KV client (as dskit's ring.Ring
 * client does) and publishes a new snapshot on every change. The
 * program's thread takes the newest one when it wants it: snapshots are
 * immutable, so nothing is locked while they are used.
 */
#ifndef RINGTAIL_RING_WATCHER_H
#define RINGTAIL_RING_WATCHER_H

#include "lib/base/err.h"
#include "lib/ring/ring.h"

struct kv;
struct ring_watcher;

/* Start watching key through kv (owned from now on); cfg is copied. */
struct ring_watcher *ring_watcher_start(struct kv *, const char *key, const struct ring_config *);
/*
 * The newest snapshot if it changed since the last call (the caller owns
 * it: ring_free), else NULL. *status gets "" while the ring is read fine,
 * else why not (the last KV error), in up to len bytes.
 */
struct ring *ring_watcher_take(struct ring_watcher *, char *status, size_t len);
void	 ring_watcher_stop(struct ring_watcher *);

#endif
