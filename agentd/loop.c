/*
 * One thread owns all agent state and every socket. It never blocks on a
 * client: sockets are non-blocking, input is read only while a connection
 * has room and no request in progress (backpressure), and slow work is
 * handed to the worker pool.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "buf.h"
#include "conn.h"
#include "dispatch.h"
#include "err.h"
#include "log.h"
#include "loop.h"
#include "scope.h"
#include "vault.h"
#include "worker.h"

/* Bytes read from one connection per wake-up; keeps the loop fair. */
#define READ_CHUNK	4096
/* Descriptors kept free for logging, askpass pipes and the like. */
#define FD_RESERVE	32

struct loop {
	struct agent *ag;
	struct conn **conns;
	size_t nconns, cap;
	size_t max_conns;
	uint64_t last_limit_log;
};

/* Frees a connection that a job released after the loop let go of it. */
static void
conn_released(struct conn *c)
{
	if (c->orphan)
		conn_free(c);
}

/* Records a connection refused at accept, with what is known of its peer. */
static void
audit_refused_peer(const struct ucred *cred, const char *why)
{
	struct conn peer;

	memset(&peer, 0, sizeof(peer));
	peer.fd = -1;
	peer.uid = cred->uid;
	peer.pid = cred->pid;
	conn_read_exe(&peer);
	audit_simple(&peer, "agent.connect", AUDIT_REFUSED, NULL, why);
	free(peer.exe);
}

/* Accepts pending clients on one listening socket, checking each peer's uid. */
static void
accept_clients(struct loop *lp, int lfd)
{
	struct ucred cred;
	socklen_t len;
	struct conn *c, **nv;
	uint64_t now;
	int fd, i;

	for (i = 0; i < 64; i++) {
		if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				sshx_log_warn("accept: %s", sshx_strerror(SSHX_ERR_SYSTEM));
			return;
		}
		len = sizeof(cred);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1 ||
		    len != sizeof(cred)) {
			sshx_log_warn("refusing connection: cannot read peer "
			    "credentials: %s", sshx_strerror(SSHX_ERR_SYSTEM));
			close(fd);
			continue;
		}
		if (cred.uid != geteuid() && cred.uid != 0) {
			sshx_log_warn("refusing connection from uid %u (pid %d): "
			    "only uid %u and root may use this agent",
			    (unsigned)cred.uid, (int)cred.pid, (unsigned)geteuid());
			audit_refused_peer(&cred, "uid not allowed to use this agent");
			close(fd);
			continue;
		}
		if (lp->nconns >= lp->max_conns) {
			now = agent_now_ms();
			if (now - lp->last_limit_log >= 1000) {
				sshx_log_warn("refusing connection: %zu connections "
				    "open, the limit", lp->nconns);
				lp->last_limit_log = now;
			}
			close(fd);
			continue;
		}
		if (lp->nconns == lp->cap) {
			size_t ncap = lp->cap == 0 ? 64 : lp->cap * 2;

			if ((nv = reallocarray(lp->conns, ncap, sizeof(*nv))) == NULL) {
				close(fd);
				return;
			}
			lp->conns = nv;
			lp->cap = ncap;
		}
		if ((c = conn_new(fd, cred.uid, cred.pid)) == NULL) {
			sshx_log_error("accept: out of memory");
			close(fd);
			return;
		}
		/* Once per connection: the pid may be reused after the peer exits. */
		conn_read_exe(c);
		c->scope = scope_by_listener(lp->ag, lfd);
		lp->conns[lp->nconns++] = c;
		sshx_log_debug("conn %lu: uid %u pid %d exe %s%s%s", c->serial,
		    (unsigned)cred.uid, (int)cred.pid, c->exe != NULL ? c->exe : "?",
		    c->scope != NULL ? " on socket " : "",
		    c->scope != NULL ? c->scope->name : "");
	}
}

/*
 * Returns how many bytes to read into c->in: READ_CHUNK, or the rest of a
 * larger frame whose length is known, within what the buffer may hold.
 * Requests are small, so most connections never hold more than a chunk
 * (a buffer is wiped whole when freed: a large one costs at every close).
 */
static size_t
read_size(const struct conn *c)
{
	const uint8_t *p = sshx_buf_ptr(c->in);
	size_t have = sshx_buf_len(c->in), want = READ_CHUNK, avail;
	uint32_t len;

	if (have >= 4) {
		len = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		    (uint32_t)p[2] << 8 | p[3];
		if (len <= SSHX_AGENT_MAX_FRAME && 4 + (size_t)len > have &&
		    4 + (size_t)len - have > want)
			want = 4 + (size_t)len - have;
	}
	avail = sshx_buf_avail(c->in);
	return want < avail ? want : avail;
}

/* Reads what the client sent, then processes complete requests. */
static void
conn_read(struct loop *lp, struct conn *c)
{
	size_t want = read_size(c);
	uint8_t *p;
	ssize_t n;

	if (want == 0)
		return;
	if (sshx_buf_reserve(c->in, want, &p) != 0) {
		c->dead = 1;
		return;
	}
	n = read(c->fd, p, want);
	if (sshx_buf_consume_end(c->in, n > 0 ? want - (size_t)n : want) != 0) {
		c->dead = 1;
		return;
	}
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
		c->dead = 1;
		return;
	}
	dispatch_input(lp->ag, c);
}

/* Writes pending replies; resumes input once the backlog has drained. */
static void
conn_write(struct loop *lp, struct conn *c)
{
	ssize_t n;

	n = send(c->fd, sshx_buf_ptr(c->out), sshx_buf_len(c->out),
	    MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n == -1) {
		if (errno != EAGAIN && errno != EINTR)
			c->dead = 1;
		return;
	}
	if (sshx_buf_consume(c->out, (size_t)n) != 0) {
		c->dead = 1;
		return;
	}
	dispatch_input(lp->ag, c);
}

/*
 * Drops dead connections. One that a job still holds keeps its descriptor
 * (a worker may be writing the reply to it) and is freed when the job ends.
 */
static void
reap(struct loop *lp)
{
	size_t i = 0;
	struct conn *c;

	while (i < lp->nconns) {
		c = lp->conns[i];
		if (!c->dead) {
			i++;
			continue;
		}
		lp->conns[i] = lp->conns[--lp->nconns];
		if (c->job)
			c->orphan = 1;
		else
			conn_free(c);
	}
}

/* Runs due timers and returns the poll timeout in ms until the next one (-1: none). */
static int
run_timers(struct loop *lp)
{
	struct agent *ag = lp->ag;
	uint64_t now = agent_now_ms(), next = 0, wall, at;
	size_t i;

	if (ag->next_expiry != 0 && ag->next_expiry <= now)
		agent_expire(ag);
	if (ag->vault.next_retire != 0 &&
	    ag->vault.next_retire <= (uint64_t)time(NULL))
		vault_sync(ag);		/* a rotation grace ended */
	next = ag->next_expiry;
	if (ag->vault.next_retire != 0) {
		/* Wall-clock time; the 60 s cap below bounds any clock step. */
		wall = (uint64_t)time(NULL);
		at = now + (ag->vault.next_retire > wall ?
		    (ag->vault.next_retire - wall) * 1000 : 0);
		if (next == 0 || at < next)
			next = at;
	}
	for (i = 0; i < lp->nconns; i++) {
		struct conn *c = lp->conns[i];

		if (c->held == NULL)
			continue;
		if (c->resume_at <= now)
			dispatch_resume(ag, c);
		else if (next == 0 || c->resume_at < next)
			next = c->resume_at;
	}
	if (next == 0)
		return -1;
	now = agent_now_ms();
	if (next <= now)
		return 0;
	/* Round up so that a key never outlives its lifetime by a spin. */
	return next - now > 60000 ? 60000 : (int)(next - now) + 1;
}

int
loop_run(struct agent *ag, const int *listen_fds, size_t nlisten,
    volatile sig_atomic_t *quit, const sigset_t *unblock)
{
	struct loop lp = { .ag = ag };
	struct pollfd *pfd = NULL;
	struct conn **snap = NULL;
	struct rlimit rl;
	size_t i, n, npfd, base;
	int timeout, r = 0, efd = worker_fd();
	struct timespec ts, *tsp;

	dispatch_conn_released = conn_released;
	lp.max_conns = 1024;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur > FD_RESERVE + nlisten)
		lp.max_conns = rl.rlim_cur - FD_RESERVE - nlisten;
	if (lp.max_conns > 65536)
		lp.max_conns = 65536;
	sshx_log_debug("serving up to %zu connections", lp.max_conns);

	while (!*quit) {
		reap(&lp);
		timeout = run_timers(&lp);
		reap(&lp);
		npfd = nlisten + 2 + lp.nconns;
		free(pfd);
		free(snap);
		pfd = calloc(npfd, sizeof(*pfd));
		snap = calloc(lp.nconns + 1, sizeof(*snap));
		if (pfd == NULL || snap == NULL) {
			r = SSHX_ERR_ALLOC;
			break;
		}
		for (i = 0; i < nlisten; i++) {
			pfd[i].fd = listen_fds[i];
			pfd[i].events = POLLIN;
		}
		pfd[nlisten].fd = efd;
		pfd[nlisten].events = POLLIN;
		pfd[nlisten + 1].fd = ag->vault.inotify_fd;
		pfd[nlisten + 1].events = POLLIN;
		base = nlisten + 2;
		for (n = 0; n < lp.nconns; n++) {
			struct conn *c = lp.conns[n];

			snap[n] = c;
			pfd[base + n].fd = c->fd;
			if (sshx_buf_len(c->out) > 0)
				pfd[base + n].events |= POLLOUT;
			if (!conn_busy(c) && sshx_buf_avail(c->in) > 0 &&
			    sshx_buf_len(c->out) < CONN_OUT_HIGH_WATER)
				pfd[base + n].events |= POLLIN;
		}
		if (timeout >= 0) {
			ts.tv_sec = timeout / 1000;
			ts.tv_nsec = (long)(timeout % 1000) * 1000000L;
			tsp = &ts;
		} else
			tsp = NULL;
		if (ppoll(pfd, npfd, tsp, unblock) == -1) {
			if (errno == EINTR)
				continue;
			sshx_log_error("poll: %s", sshx_strerror(SSHX_ERR_SYSTEM));
			r = SSHX_ERR_SYSTEM;
			break;
		}
		if (pfd[nlisten].revents & POLLIN)
			worker_collect();
		if (pfd[nlisten + 1].revents & POLLIN)
			vault_watch_event(ag);
		for (i = 0; i < n; i++) {
			struct conn *c = snap[i];
			short rev = pfd[base + i].revents;

			if (c->dead || rev == 0)
				continue;
			if (rev & POLLOUT)
				conn_write(&lp, c);
			if (!c->dead && (rev & POLLIN))
				conn_read(&lp, c);
			else if (!c->dead && (rev & (POLLHUP | POLLERR | POLLNVAL)))
				c->dead = 1;
		}
		for (i = 0; i < nlisten; i++)
			if (pfd[i].revents & POLLIN)
				accept_clients(&lp, listen_fds[i]);
	}
	reap(&lp);
	for (i = 0; i < lp.nconns; i++)
		lp.conns[i]->dead = 1;
	reap(&lp);
	free(lp.conns);
	free(pfd);
	free(snap);
	return r;
}
