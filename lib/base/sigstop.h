/*
 * sigstop — how the batch programs (block-import, block-ship, rw-load) are
 * stopped: INT, TERM and HUP only set a flag that their work loops read,
 * so they clean up before they exit. No SA_RESTART: a sleep or a blocking
 * call ends at once with EINTR. PIPE is ignored; a write to a closed peer
 * fails with EPIPE instead.
 */
#ifndef RINGTAIL_SIGSTOP_H
#define RINGTAIL_SIGSTOP_H

#include <signal.h>

/* Installs the handlers; returns the flag, 0 until a stop is asked for. */
volatile sig_atomic_t	*sigstop_init(void);

#endif
