/* One client connection: its buffers, peer credentials and session binds. */
#ifndef AGENTD_CONN_H
#define AGENTD_CONN_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

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
};

struct conn {
	int fd;			/* -1 once closed */
	uid_t uid;
	pid_t pid;
	struct sshx_buf *in;	/* bytes read, not yet processed */
	struct sshx_buf *out;	/* framed replies not yet written */
	int job;		/* a worker job holds this connection */
	struct sshx_buf *held;	/* a reply held back until resume_at */
	uint64_t resume_at;	/* monotonic ms */
	int dead;		/* close as soon as nothing references it */
	int orphan;		/* dropped by the loop; the job that holds it frees it */
	struct session_bind binds[SSHX_AGENT_MAX_BINDS];
	size_t nbinds;
	int bind_failed;	/* a session-bind was refused on this connection */
	unsigned long serial;	/* for log lines */
	const struct sock_scope *scope;	/* keys of the socket, NULL = main socket */
};

/* Returns a new connection for fd (not owned until success), or NULL. */
struct conn *conn_new(int fd, uid_t uid, pid_t pid);
/* Closes the descriptor and frees the connection with its binds; NULL allowed. */
void conn_free(struct conn *c);
/* Returns 1 while a request of this connection is in progress. */
int conn_busy(const struct conn *c);
/* Appends msg (type byte and body) to the output as one frame; 0 or an error. */
int conn_send(struct conn *c, const struct sshx_buf *msg);
/* Appends a one-byte message (SUCCESS, FAILURE, ...) as one frame. */
int conn_send_status(struct conn *c, uint8_t type);

#endif
