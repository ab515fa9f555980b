/*
 * lzw — Go's compress/lzw with LSB order and 8-bit literals, the
 * compression of memberlist's compress message (Algo 0): GIF-style LZW,
 * clear code 256, eof code 257, codes 9 to 12 bits wide packed from the
 * least significant bit. The output is byte for byte what Go writes.
 */
#ifndef RINGTAIL_LZW_H
#define RINGTAIL_LZW_H

#include <stddef.h>

#include "lib/base/err.h"
#include "lib/tsdb/encoding.h"

/* As Go's lzw.NewWriter(w, lzw.LSB, 8): a leading clear code, the eof code at the end. */
void	lzw_compress(struct buf *out, const void *in, size_t n);
/*
 * As Go's lzw.NewReader(r, lzw.LSB, 8): with or without a leading clear
 * code; the eof code is required; bytes after it are ignored. Appends to
 * out; fails on a bad code, on input ending before eof, or when the output
 * would pass max bytes.
 */
int	lzw_decompress(struct buf *out, const void *in, size_t n, size_t max, struct err *);

#endif
