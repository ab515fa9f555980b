/*
 * watcher — the watch loop: watch, take changes, publish; when the watch
 * breaks (the agent restarted, etcd went away), say so and watch again
 * after a pause, reading the ring afresh.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/base/log.h"
#include "lib/base/xmalloc.h"
#include "lib/kv/client.h"
#include "lib/ring/watcher.h"

#define RETRY_MS	1000
#define POLL_MS		200	/* how often the thread looks at the stop flag */

struct ring_watcher {
	struct kv		*kv;
	char			*key;
	struct ring_config	 cfg;
	char			*excluded;
	pthread_t		 thread;
	pthread_mutex_t		 mu;
	int			 stop;
	struct ring		*fresh;		/* published, not taken yet */
	char			 status[sizeof(((struct err *)0)->msg)];
};

static void
publish(struct ring_watcher *w, const struct ring_desc *d)
{
	struct ring *r = ring_new(d, &w->cfg);

	pthread_mutex_lock(&w->mu);
	ring_free(w->fresh);
	w->fresh = r;
	w->status[0] = '\0';
	pthread_mutex_unlock(&w->mu);
}

static void
set_status(struct ring_watcher *w, const char *why)
{
	pthread_mutex_lock(&w->mu);
	snprintf(w->status, sizeof(w->status), "%s", why);
	pthread_mutex_unlock(&w->mu);
}

static int
stopping(struct ring_watcher *w)
{
	int s;

	pthread_mutex_lock(&w->mu);
	s = w->stop;
	pthread_mutex_unlock(&w->mu);
	return s;
}

static void *
run(void *arg)
{
	struct ring_watcher *w = arg;
	struct err e;

	while (!stopping(w)) {
		struct ring_desc d;
		char *key = NULL;
		int rc;

		/* An absent key is an empty ring: the watch says nothing about it. */
		ring_desc_init(&d);
		rc = kv_get(w->kv, w->key, &d, &e);
		if (rc >= 0)
			publish(w, &d);
		ring_desc_free(&d);
		if (rc == -1 || kv_watch(w->kv, w->key, 0, &e) == -1) {
			set_status(w, e.msg);
			log_warn("cannot watch the ring; retrying", "key=%s err=%s", log_q(w->key),
			    log_q(e.msg));
			nanosleep(&(struct timespec){ RETRY_MS / 1000, 0 }, NULL);
			continue;
		}
		for (;;) {
			ring_desc_init(&d);
			rc = kv_next(w->kv, POLL_MS, &key, &d, &e);
			free(key);
			key = NULL;
			if (rc == 1)
				publish(w, &d);
			ring_desc_free(&d);
			if (rc == -1) {
				set_status(w, e.msg);
				log_warn("the ring's watch broke; watching again", "err=%s",
				    log_q(e.msg));
				break;
			}
			if (stopping(w))
				return NULL;
		}
	}
	return NULL;
}

struct ring_watcher *
ring_watcher_start(struct kv *kv, const char *key, const struct ring_config *cfg)
{
	struct ring_watcher *w = xcalloc(1, sizeof(*w));

	w->kv = kv;
	w->key = xstrdup(key);
	w->cfg = *cfg;
	if (cfg->excluded_zones != NULL)
		w->cfg.excluded_zones = w->excluded = xstrdup(cfg->excluded_zones);
	snprintf(w->status, sizeof(w->status), "the ring has not been read yet");
	pthread_mutex_init(&w->mu, NULL);
	if ((errno = pthread_create(&w->thread, NULL, run, w)) != 0)
		fatal("pthread_create");
	return w;
}

struct ring *
ring_watcher_take(struct ring_watcher *w, char *status, size_t len)
{
	struct ring *r;

	pthread_mutex_lock(&w->mu);
	r = w->fresh;
	w->fresh = NULL;
	snprintf(status, len, "%s", w->status);
	pthread_mutex_unlock(&w->mu);
	return r;
}

void
ring_watcher_stop(struct ring_watcher *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	ring_free(w->fresh);
	kv_close(w->kv);
	free(w->key);
	free(w->excluded);
	pthread_mutex_destroy(&w->mu);
	free(w);
}
