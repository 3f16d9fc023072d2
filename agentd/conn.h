/* One client connection: its buffers, peer credentials and session binds. */
#ifndef AGENTD_CONN_H
#define AGENTD_CONN_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "key.h"
#include "proto.h"

struct sshx_buf;
struct sshx_key;
struct sock_scope;

/* Longest session identifier accepted in a bind (a SHA-512 hash is 64 bytes). */
#define SSHX_AGENT_MAX_SID	128
/* Bytes of replies a client may leave unread before its input is paused. */
#define CONN_OUT_HIGH_WATER	(256 * 1024)

struct session_bind {
	struct sshx_key *hostkey;
	uint8_t sid[SSHX_AGENT_MAX_SID];
	size_t sidlen;
	int forwarding;
	char fp[SSHX_FP_LEN];	/* the host key's fingerprint, for the audit trail */
};

struct conn {
	int fd;			/* -1 once closed */
	uid_t uid;
	pid_t pid;
	char *exe;		/* the peer's executable at accept, or NULL */
	struct sshx_buf *in;	/* bytes read, not yet processed */
	struct sshx_buf *out;	/* framed replies not yet written */
	int job;		/* a worker job holds this connection */
	struct sshx_buf *held;	/* a reply held back until resume_at */
	uint64_t resume_at;	/* monotonic ms */
	int dead;		/* close as soon as nothing references it */
	int dispatching;	/* dispatch_input is running for it */
	int orphan;		/* dropped by the loop; the job that holds it frees it */
	struct session_bind binds[SSHX_AGENT_MAX_BINDS];
	size_t nbinds;
	int bind_failed;	/* a session-bind was refused on this connection */
	unsigned long serial;	/* for log lines */
	const struct sock_scope *scope;	/* keys of the socket, NULL = main socket */
};

/* Returns a new connection for fd (not owned until success), or NULL. */
struct conn *conn_new(int fd, uid_t uid, pid_t pid);
/*
 * Reads the executable of the peer (/proc/PID/exe) into c->exe once; it
 * stays NULL when the process is gone or the link cannot be read.
 */
void conn_read_exe(struct conn *c);
/* Returns 1 when a session-bind of c asked for forwarding, 0 when none did, -1 without binds. */
int conn_forwarded(const struct conn *c);
/* Returns the fingerprint of the host key of c's last session-bind, or NULL. */
const char *conn_bound_host(const struct conn *c);
/* Closes the descriptor and frees the connection with its binds; NULL allowed. */
void conn_free(struct conn *c);
/* Returns 1 while a request of this connection is in progress. */
int conn_busy(const struct conn *c);
/* Appends msg (type byte and body) to the output as one frame; 0 or an error. */
int conn_send(struct conn *c, const struct sshx_buf *msg);
/* Appends a one-byte message (SUCCESS, FAILURE, ...) as one frame. */
int conn_send_status(struct conn *c, uint8_t type);

#endif
