/* The event loop: listening sockets, connections, worker completions, timers. */
#ifndef AGENTD_LOOP_H
#define AGENTD_LOOP_H

#include <signal.h>
#include <stddef.h>

struct agent;

/*
 * Serves clients on the listening sockets until *quit becomes non-zero.
 * Signals in *unblock are delivered only while waiting in ppoll. Returns 0
 * or a negative SSHX_ERR_* on a fatal error.
 */
int loop_run(struct agent *ag, const int *listen_fds, size_t nlisten,
    volatile sig_atomic_t *quit, const sigset_t *unblock);

#endif
