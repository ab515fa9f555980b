/*
 * scale — memberlist's formulas that grow its timings and limits with the
 * cluster (Go 0.2.2's util.go and suspicion.go), computed without libm: the
 * agent links no libm, whose shared pages were 0.3 MB of its resident
 * memory for these five calls. Results equal Go's float64 ones.
 */
#ifndef RINGTAIL_SCALE_H
#define RINGTAIL_SCALE_H

#include <stddef.h>
#include <stdint.h>

/* mult * ceil(log10(nodes + 1)): retransmitLimit. */
int	 ml_retransmit_limit(int mult, size_t nodes);
/* interval * (ceil(log2(nodes) - log2(32)) + 1) above 32 nodes: pushPullScale. */
int64_t	 ml_pushpull_scale(int64_t interval_ms, size_t nodes);
/* mult * max(1, log10(max(1, nodes))) * interval, in whole ms: suspicionTimeout. */
int64_t	 ml_suspicion_min(int mult, size_t nodes, int64_t interval_ms);
/*
 * Lifeguard's timeout after n of k expected confirmations, in whole ms:
 * max - (max - min) * log(n + 1) / log(k + 1), not below min.
 */
int64_t	 ml_suspicion_timeout(int n, int k, int64_t min_ms, int64_t max_ms);
/* The natural logarithm of x > 0, to a few ulp. */
double	 ml_ln(double x);

#endif
