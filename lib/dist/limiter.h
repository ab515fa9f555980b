/*
 * limiter — Cortex's per-tenant ingestion rate limit with the local
 * strategy (-distributor.ingestion-rate-limit samples/s refilled
 * continuously, -distributor.ingestion-burst-size at most): a token
 * bucket per tenant, as golang.org/x/time/rate's AllowN.
 */
#ifndef RINGTAIL_LIMITER_H
#define RINGTAIL_LIMITER_H

#include <stddef.h>
#include <stdint.h>

struct limiter;

/* rate <= 0: no limit. */
struct limiter *limiter_new(double rate, double burst);
void	limiter_free(struct limiter *);
/* 1 and the n tokens taken from tenant's bucket at now_ms, or 0 and nothing taken. */
int	limiter_allow(struct limiter *, const char *tenant, double n, int64_t now_ms);

#endif
