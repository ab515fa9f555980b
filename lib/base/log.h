/*
 * log — logfmt lines on stderr, one per event:
 *
 *   ts=2026-11-25T04:14:13.123Z level=info prog=block-import msg="block written" ulid=01...
 *
 * The message is always quoted; the optional key/value part is a printf
 * format the caller writes as `key=value key=value`. Values that may hold
 * spaces or quotes go through log_q(), which quotes them logfmt-style.
 * Every function preserves errno. fatal/fatalx exit(111), the "temporary or
 * system error" code of the exit-code table in every man page.
 */
#ifndef RINGTAIL_LOG_H
#define RINGTAIL_LOG_H

enum log_level {
	LOG_DEBUG,
	LOG_INFO,
	LOG_WARN,
	LOG_ERROR,
};

void	 log_init(const char *prog, enum log_level level);
/* Parse "debug", "info", "warn" or "error"; returns 0 or -1. */
int	 log_level_parse(const char *s, enum log_level *out);
int	 log_enabled(enum log_level level);

void	 log_kv(enum log_level level, const char *msg, const char *kvfmt, ...)
	    __attribute__((format(printf, 3, 4)));
#define log_debug(msg, ...)	log_kv(LOG_DEBUG, msg, __VA_ARGS__)
#define log_info(msg, ...)	log_kv(LOG_INFO, msg, __VA_ARGS__)
#define log_warn(msg, ...)	log_kv(LOG_WARN, msg, __VA_ARGS__)
#define log_error(msg, ...)	log_kv(LOG_ERROR, msg, __VA_ARGS__)

/*
 * Quote s for a logfmt value if it needs it. Returns a pointer into one of a
 * few rotating static buffers, valid until the same log call returns.
 */
const char *log_q(const char *s);

/* Log at error level ("msg" plus ": strerror(errno)" for fatal) and exit(111). */
void	 fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	 fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
