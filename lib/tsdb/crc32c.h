/*
 * crc32c — CRC-32C (Castagnoli), the checksum of every TSDB file section.
 * Uses the SSE4.2 instruction when the CPU has it, else slicing-by-8.
 */
#ifndef RINGTAIL_CRC32C_H
#define RINGTAIL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continue a CRC: start with crc32c(0, p, n); chain with the previous value. */
uint32_t	crc32c(uint32_t crc, const void *p, size_t n);

#endif
