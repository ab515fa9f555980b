/*
 * block-ship — what main.c and ship.c share: the exit codes of
 * block-ship(1) and one shipping pass over every tenant.
 */
#ifndef BLOCK_SHIP_H
#define BLOCK_SHIP_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#define EXIT_OK		0
#define EXIT_INVALID	1	/* -once: something was skipped as invalid */
#define EXIT_USAGE	100	/* bad flags, or another block-ship holds the dir */
#define EXIT_SYSTEM	111	/* an upload or the state file failed; retry */

struct ship_config {
	const char			*tsdb_dir;
	const char			*bucket_dir;
	const char			*ingester_id;
	int				 concurrency;
	volatile sig_atomic_t		*stop;
};

struct ship_result {
	size_t		 tenants;
	size_t		 shipped;	/* uploaded by this pass */
	size_t		 found;		/* already complete in the bucket, recorded now */
	size_t		 failed;	/* uploads or state writes that failed */
	size_t		 invalid;	/* tenant dirs or blocks skipped as invalid */
	uint64_t	 bytes;
};

/* One pass: every tenant of cfg->tsdb_dir, at most cfg->concurrency at once. */
void	ship_pass(const struct ship_config *, struct ship_result *);

#endif
