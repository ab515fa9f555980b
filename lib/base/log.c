#include <sys/time.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/base/log.h"

static const char *log_prog = "ringtail";
static enum log_level log_min = LOG_INFO;

static const char *const level_names[] = {
	[LOG_DEBUG] = "debug",
	[LOG_INFO] = "info",
	[LOG_WARN] = "warn",
	[LOG_ERROR] = "error",
};

void
log_init(const char *prog, enum log_level level)
{
	log_prog = prog;
	log_min = level;
}

int
log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

int
log_enabled(enum log_level level)
{
	return level >= log_min;
}

/* Append s to the buffer as a logfmt value, quoting only when needed. */
static size_t
quote_into(char *dst, size_t cap, const char *s, int force)
{
	size_t n = 0;
	int need = force || *s == '\0';

	for (const char *p = s; *p && !need; p++)
		if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\')
			need = 1;
	if (!need)
		return (size_t)snprintf(dst, cap, "%s", s);
#define PUT(c) do { if (n + 1 < cap) dst[n] = (c); n++; } while (0)
	PUT('"');
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '"' || c == '\\') {
			PUT('\\');
			PUT((char)c);
		} else if (c == '\n') {
			PUT('\\');
			PUT('n');
		} else if (c == '\t') {
			PUT('\\');
			PUT('t');
		} else if (c < 0x20) {
			char hex[5];
			snprintf(hex, sizeof(hex), "\\x%02x", c);
			for (int i = 0; i < 4; i++)
				PUT(hex[i]);
		} else
			PUT((char)c);
	}
	PUT('"');
#undef PUT
	if (cap)
		dst[n < cap ? n : cap - 1] = '\0';
	return n;
}

const char *
log_q(const char *s)
{
	static char bufs[4][1024];
	static int next;
	char *b = bufs[next++ & 3];

	quote_into(b, sizeof(bufs[0]), s ? s : "", 0);
	return b;
}

static void
log_vwrite(enum log_level level, const char *msg, const char *kvfmt, va_list ap)
{
	char line[4096], ts[32];
	struct timeval tv;
	struct tm tm;
	size_t n;
	int saved = errno;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	n = (size_t)snprintf(line, sizeof(line), "ts=%s.%03ldZ level=%s prog=%s msg=",
	    ts, (long)(tv.tv_usec / 1000), level_names[level], log_prog);
	if (n < sizeof(line))
		n += quote_into(line + n, sizeof(line) - n, msg, 1);
	if (kvfmt != NULL && *kvfmt != '\0' && n + 1 < sizeof(line)) {
		line[n++] = ' ';
		n += (size_t)vsnprintf(line + n, sizeof(line) - n, kvfmt, ap);
	}
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	fwrite(line, 1, n, stderr);
	errno = saved;
}

void
log_kv(enum log_level level, const char *msg, const char *kvfmt, ...)
{
	va_list ap;

	if (level < log_min)
		return;
	va_start(ap, kvfmt);
	log_vwrite(level, msg, kvfmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	char msg[1024];
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_kv(LOG_ERROR, msg, "err=%s", log_q(strerror(saved)));
	exit(111);
}

void
fatalx(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_kv(LOG_ERROR, msg, "%s", "");
	exit(111);
}
