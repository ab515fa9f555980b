#include <stdint.h>

#include "lib/base/base64.h"

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void
b64_encode(const void *src, size_t n, struct buf *out)
{
	const uint8_t *p = src;
	size_t i;

	buf_reserve(out, (n + 2) / 3 * 4);
	for (i = 0; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];

		out->p[out->len++] = (uint8_t)b64chars[v >> 18];
		out->p[out->len++] = (uint8_t)b64chars[(v >> 12) & 63];
		out->p[out->len++] = (uint8_t)b64chars[(v >> 6) & 63];
		out->p[out->len++] = (uint8_t)b64chars[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);

		out->p[out->len++] = (uint8_t)b64chars[v >> 18];
		out->p[out->len++] = (uint8_t)b64chars[(v >> 12) & 63];
		out->p[out->len++] = i + 1 < n ? (uint8_t)b64chars[(v >> 6) & 63] : '=';
		out->p[out->len++] = '=';
	}
}

static int
b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
b64_decode(const char *s, size_t n, struct buf *out, struct err *e)
{
	size_t pad = 0;

	if (n % 4 != 0)
		return err_set(e, "base64: length %zu is not a multiple of 4", n);
	if (n > 0 && s[n - 1] == '=')
		pad = n > 1 && s[n - 2] == '=' ? 2 : 1;
	buf_reserve(out, n / 4 * 3);
	for (size_t i = 0; i < n; i += 4) {
		uint32_t v = 0;
		size_t last = i + 4 == n ? pad : 0;

		for (size_t j = 0; j < 4; j++) {
			int x = j >= 4 - last ? 0 : b64val((unsigned char)s[i + j]);

			if (x < 0)
				return err_set(e, "base64: bad character at offset %zu", i + j);
			v = v << 6 | (uint32_t)x;
		}
		out->p[out->len++] = (uint8_t)(v >> 16);
		if (last < 2)
			out->p[out->len++] = (uint8_t)(v >> 8);
		if (last < 1)
			out->p[out->len++] = (uint8_t)v;
	}
	return 0;
}
