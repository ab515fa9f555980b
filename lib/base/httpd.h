/*
 * httpd — a thin layer over libevent's evhttp for the daemons: bind an
 * address and a port, route exact paths (with their allowed methods) to
 * handlers, cap request bodies, and answer. Every request is timed into
 * Cortex's cortex_request_duration_seconds{method,route,status_code,ws}
 * histogram when it is answered.
 *
 * A handler gets a struct httpd_req and must answer it exactly once with
 * one of the httpd_reply* calls, which free it; it may keep it and answer
 * from a later callback (a deferred reply, e.g. after a group fsync).
 * Unknown paths answer 404 "404 page not found", known paths with another
 * method 405 "method not allowed".
 *
 * One thread: everything runs in the event loop of the base given.
 */
#ifndef RINGTAIL_HTTPD_H
#define RINGTAIL_HTTPD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/base/err.h"
#include "lib/base/metrics.h"

struct event_base;
struct evhttp_request;

#define HTTPD_GET	0x01
#define HTTPD_POST	0x02
#define HTTPD_PUT	0x04
#define HTTPD_DELETE	0x08
#define HTTPD_HEAD	0x10

struct httpd;
struct httpd_req;

typedef void	httpd_handler(struct httpd_req *, void *arg);

/*
 * max_body caps every request body (bigger ones are refused by evhttp with
 * its own 413 page before they are read); m may be NULL (no metrics).
 */
struct httpd	*httpd_create(struct event_base *, struct metrics *, size_t max_body);
/* Listen on addr:port; addr "" means every address (IPv6 and IPv4). 0 or -1. */
int		 httpd_bind(struct httpd *, const char *addr, int port, struct err *);
/* The port actually bound (useful with port 0); -1 before httpd_bind. */
int		 httpd_port(const struct httpd *);
/*
 * Route path (exact match, no query) to fn for the methods given. route is
 * the value of the metric's route label ("api_v1_push").
 */
void		 httpd_route(struct httpd *, const char *path, const char *route,
		    int methods, httpd_handler *fn, void *arg);
/* Stop accepting connections; requests already read are still answered. */
void		 httpd_stop_listening(struct httpd *);
/* Close everything; requests not answered yet are dropped. */
void		 httpd_free(struct httpd *);

/* HTTPD_GET, HTTPD_POST, ... */
int		 httpd_req_method(const struct httpd_req *);
const char	*httpd_req_path(const struct httpd_req *);
/* A request header (case-insensitive), or NULL. */
const char	*httpd_req_header(struct httpd_req *, const char *name);
/* The body as one block (valid until the reply); *n gets its length. */
const uint8_t	*httpd_req_body(struct httpd_req *, size_t *n);
/*
 * The values of a parameter from the query string and, for a form POST
 * (application/x-www-form-urlencoded), the body: up to max into out (valid
 * until the reply); returns how many there are in all.
 */
size_t		 httpd_req_params(struct httpd_req *, const char *key,
		    const char **out, size_t max);
/* Seconds since the request was handed to its handler. */
double		 httpd_req_age(const struct httpd_req *);
struct evhttp_request *httpd_req_ev(struct httpd_req *);

/* Add a response header before replying. */
void		 httpd_reply_header(struct httpd_req *, const char *name, const char *value);
/* Answer with body[0..n) (ctype NULL: no Content-Type), and free the request. */
void		 httpd_reply(struct httpd_req *, int code, const char *ctype,
		    const void *body, size_t n);
/* Answer text/plain; charset=utf-8: the formatted text plus "\n", as Go's http.Error. */
void		 httpd_reply_text(struct httpd_req *, int code, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));
/* Write s to fp with < > & " ' as HTML entities: names from peers go into status pages. */
void		 httpd_html_text(FILE *fp, const char *s);
/* Answer with the registry in Prometheus' text format (for GET /metrics). */
void		 httpd_reply_metrics(struct httpd_req *, struct metrics *);
/* A chunked answer: start, any number of chunks, end (which frees the request). */
void		 httpd_reply_start(struct httpd_req *, int code, const char *ctype);
void		 httpd_reply_chunk(struct httpd_req *, const void *, size_t);
void		 httpd_reply_end(struct httpd_req *);

#endif
