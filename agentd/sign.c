/* SIGN_REQUEST: policy checks on the loop, the signature (and any confirmation) on a worker. */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "audit.h"
#include "buf.h"
#include "conn.h"
#include "dispatch.h"
#include "err.h"
#include "handlers.h"
#include "identity.h"
#include "key.h"
#include "log.h"
#include "proto.h"
#include "scope.h"
#include "sigdata.h"
#include "worker.h"

extern char **environ;

struct sign_job {
	struct worker_job base;
	struct agent *ag;
	struct conn *c;
	struct identity *id;
	uint8_t *data;
	size_t dlen;
	uint32_t flags;
	int confirm;
	char *askpass;
	uint32_t askpass_timeout;
	char prompt[512];
	struct sshx_buf *sig;
	int direct_fd;		/* write the reply from the worker, or -1 */
	size_t sent;		/* bytes of the framed reply already written */
	struct sshx_buf *reply;	/* the framed reply when written directly */
	struct sshx_sigdata sd;	/* what was signed, for the audit trail */
	char fp[SSHX_FP_LEN];	/* the key's fingerprint, for the audit trail */
	int r;
};

/* Copies s into out for a prompt, replacing anything that is not printable ASCII. */
static void
sanitize(char *out, size_t outlen, const char *s)
{
	size_t i;

	for (i = 0; i + 1 < outlen && s[i] != '\0'; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	out[i] = '\0';
}

/*
 * Runs the askpass program with SSH_ASKPASS_PROMPT=confirm, as OpenSSH does;
 * returns 1 only when it exits 0 with an empty answer or "yes" in time.
 */
static int
ask_confirm(const char *askpass, const char *prompt, uint32_t timeout_s)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	char answer[256], **envp = NULL;
	char *argv[3];
	sigset_t none, all;
	size_t n = 0, nenv, i;
	int pfd[2] = { -1, -1 }, status = 0, allowed = 0, done_reading = 0;
	uint64_t deadline = agent_now_ms() + (uint64_t)timeout_s * 1000;
	pid_t pid = -1;
	ssize_t got;

	if (askpass == NULL)
		return 0;
	for (nenv = 0; environ[nenv] != NULL; nenv++)
		;
	if ((envp = calloc(nenv + 2, sizeof(*envp))) == NULL)
		return 0;
	for (i = 0; i < nenv; i++)
		envp[i] = environ[i];
	envp[nenv] = "SSH_ASKPASS_PROMPT=confirm";
	if (pipe2(pfd, O_CLOEXEC) == -1) {
		free(envp);
		return 0;
	}
	argv[0] = (char *)askpass;
	argv[1] = (char *)prompt;
	argv[2] = NULL;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	if (posix_spawn(&pid, askpass, &fa, &attr, argv, envp) != 0) {
		sshx_log_warn("confirm: cannot run askpass program %s", askpass);
		pid = -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	free(envp);
	close(pfd[1]);
	while (pid != -1 && !done_reading) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		uint64_t now = agent_now_ms();
		int pr;

		if (now >= deadline) {
			sshx_log_warn("confirm: askpass did not answer within %u s; "
			    "refusing", timeout_s);
			kill(pid, SIGKILL);
			break;
		}
		pr = poll(&p, 1, (int)(deadline - now));
		if (pr == -1 && errno == EINTR)
			continue;
		if (pr <= 0)
			continue;
		got = read(pfd[0], answer + n, sizeof(answer) - 1 - n);
		if (got > 0 && (n += (size_t)got) < sizeof(answer) - 1)
			continue;
		done_reading = 1;	/* EOF, error or a full buffer */
	}
	close(pfd[0]);
	if (pid != -1) {
		while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
			;
		answer[n] = '\0';
		answer[strcspn(answer, "\r\n")] = '\0';
		allowed = done_reading && WIFEXITED(status) &&
		    WEXITSTATUS(status) == 0 &&
		    (answer[0] == '\0' || strcasecmp(answer, "yes") == 0);
	}
	explicit_bzero(answer, sizeof(answer));
	return allowed;
}

/* Asks for confirmation when needed, signs, and writes the reply when it may. */
static void
sign_and_send(struct sign_job *j)
{
	ssize_t n;

	if (j->confirm && !ask_confirm(j->askpass, j->prompt, j->askpass_timeout)) {
		j->r = SSHX_ERR_AGENT_FAILURE;
		return;
	}
	if ((j->sig = sshx_buf_new()) == NULL) {
		j->r = SSHX_ERR_ALLOC;
		return;
	}
	if ((j->r = sshx_key_sign(j->id->key, j->data, j->dlen, j->flags,
	    j->sig)) != 0 || j->direct_fd == -1)
		return;
	/*
	 * The connection had nothing queued and reads nothing more until this
	 * job is done, so the reply can go out from here without waiting for
	 * the loop to wake up; whatever does not fit is queued by sign_done().
	 */
	if ((j->reply = sshx_buf_new()) == NULL ||
	    sshx_buf_put_u32(j->reply, (uint32_t)(5 + sshx_buf_len(j->sig))) != 0 ||
	    sshx_buf_put_u8(j->reply, SSH_AGENT_SIGN_RESPONSE) != 0 ||
	    sshx_buf_put_stringb(j->reply, j->sig) != 0) {
		sshx_buf_free(j->reply);
		j->reply = NULL;
		return;
	}
	n = send(j->direct_fd, sshx_buf_ptr(j->reply), sshx_buf_len(j->reply),
	    MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n > 0)
		j->sent = (size_t)n;
}

static void
sign_run(struct worker_job *job)
{
	struct sign_job *j = (struct sign_job *)job;

	sign_and_send(j);
	/*
	 * What the audit trail needs is worked out here, after the reply has
	 * left and on this thread, so that neither the client nor the loop
	 * waits for it.
	 */
	sshx_sigdata_parse(j->data, j->dlen, &j->sd);
	if (sshx_key_fingerprint(j->id->key, j->fp) != 0)
		strcpy(j->fp, "(unknown)");
}

/* Records the outcome of a signature job. */
static void
sign_audit(struct sign_job *j, int r)
{
	struct audit_op op = {
		.action = "agent.sign", .fingerprint = j->fp, .sd = &j->sd,
		.forwarded = -1,
	};

	if (r == 0)
		op.result = AUDIT_OK;
	else if (j->confirm && r == SSHX_ERR_AGENT_FAILURE) {
		op.result = AUDIT_REFUSED;
		op.detail = "confirmation denied";
	} else {
		op.result = AUDIT_FAILED;
		op.detail = sshx_strerror(r);
	}
	audit_record(j->c, &op);
}

static void
sign_done(struct worker_job *job)
{
	struct sign_job *j = (struct sign_job *)job;
	struct sshx_buf *msg = NULL;
	const char *fp = j->fp;
	int r = j->r;

	if (!j->c->dead && r == 0 && j->reply != NULL) {
		/* Written (at least in part) by the worker: queue the rest. */
		if (sshx_buf_consume(j->reply, j->sent) != 0 ||
		    sshx_buf_put(j->c->out, sshx_buf_ptr(j->reply),
		    sshx_buf_len(j->reply)) != 0)
			j->c->dead = 1;
		sshx_log_debug("conn %lu: signed with %s", j->c->serial, fp);
	} else if (!j->c->dead) {
		if (r == 0 && ((msg = sshx_buf_new()) == NULL ||
		    (r = sshx_buf_put_u8(msg, SSH_AGENT_SIGN_RESPONSE)) != 0 ||
		    (r = sshx_buf_put_stringb(msg, j->sig)) != 0))
			r = r == 0 ? SSHX_ERR_ALLOC : r;
		if (r == 0) {
			send_msg(j->c, msg);
			sshx_log_debug("conn %lu: signed with %s", j->c->serial, fp);
		} else {
			if (j->confirm && r == SSHX_ERR_AGENT_FAILURE)
				sshx_log_info("sign with %s refused: use not "
				    "confirmed", fp);
			else
				sshx_log_warn("sign with %s failed: %s", fp,
				    sshx_strerror(r));
			send_status(j->c, SSH_AGENT_FAILURE);
		}
	}
	sign_audit(j, r);
	sshx_buf_free(msg);
	sshx_buf_free(j->sig);
	sshx_buf_free(j->reply);
	identity_unref(j->id);
	if (j->data != NULL) {
		explicit_bzero(j->data, j->dlen);
		free(j->data);
	}
	free(j->askpass);
	job_release_conn(j->ag, j->c);
	free(j);
}

/*
 * Records a sign request refused (or failed) before it reached a worker:
 * parsed here on the loop, which only refusals pay for.
 */
static void
sign_refused(struct conn *c, const char *result, const uint8_t *blob,
    size_t bloblen, const uint8_t *data, size_t dlen, const char *why)
{
	struct sshx_sigdata sd;
	char fp[SSHX_FP_LEN];
	struct audit_op op = {
		.action = "agent.sign", .result = result, .detail = why,
		.forwarded = -1,
	};

	if (blob != NULL) {
		sshx_key_fingerprint_blob(blob, bloblen, fp);
		op.fingerprint = fp;
	}
	if (data != NULL) {
		sshx_sigdata_parse(data, dlen, &sd);
		op.sd = &sd;
	}
	audit_record(c, &op);
}

void
process_sign_request(struct agent *ag, struct conn *c, struct sshx_buf *m)
{
	const uint8_t *blob = NULL, *data = NULL;
	size_t bloblen = 0, dlen = 0;
	struct sign_job *j = NULL;
	struct identity *id;
	char fp[SSHX_FP_LEN], comment[256], scope_why[256];
	const char *why = "malformed request", *result = AUDIT_FAILED;
	uint32_t flags;
	int r, fwd_confirm;

	if ((r = sshx_buf_get_string_direct(m, &blob, &bloblen)) != 0 ||
	    (r = sshx_buf_get_string_direct(m, &data, &dlen)) != 0 ||
	    (r = sshx_buf_get_u32(m, &flags)) != 0 || sshx_buf_len(m) != 0) {
		sshx_log_info("conn %lu: malformed sign request", c->serial);
		blob = data = NULL;
		goto fail;
	}
	result = AUDIT_REFUSED;
	if ((id = idtab_find(ag->idtab, blob, bloblen)) == NULL) {
		sshx_log_debug("conn %lu: sign request for a key not held",
		    c->serial);
		why = "key not held";
		goto fail;
	}
	/* The same rule that decided whether the key is listed here. */
	if (!scope_permits(ag, c, id, data, dlen, &fwd_confirm, scope_why,
	    sizeof(scope_why))) {
		sshx_log_warn("refusing signature with %s: %s",
		    fp_of(id->key, fp), scope_why);
		why = scope_why;
		goto fail;
	}
	if (sshx_key_type(id->key) == SSHX_KEY_RSA &&
	    (flags & (SSH_AGENT_RSA_SHA2_256 | SSH_AGENT_RSA_SHA2_512)) == 0 &&
	    !ag->policy.allow_sha1) {
		sshx_log_warn("refusing SHA-1 \"ssh-rsa\" signature with %s: "
		    "SHA-1 signatures are forgeable; the client must ask for "
		    "rsa-sha2-256/512 (or start agentd with --allow-sha1 for "
		    "old servers)", fp_of(id->key, fp));
		why = "SHA-1 signature refused";
		goto fail;
	}
	result = AUDIT_FAILED;
	why = "out of memory";
	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (dlen > 0 && (j->data = malloc(dlen)) == NULL))
		goto fail;
	if (dlen > 0)
		memcpy(j->data, data, dlen);
	j->base.run = sign_run;
	j->base.done = sign_done;
	j->ag = ag;
	j->c = c;
	j->id = id;
	j->dlen = dlen;
	j->flags = flags;
	j->confirm = id->confirm || fwd_confirm;
	/* Only when nothing is queued: replies must leave in order. */
	j->direct_fd = (sshx_buf_len(c->out) == 0 && worker_threads() > 0) ?
	    c->fd : -1;
	if (j->confirm) {
		if (ag->policy.askpass == NULL) {
			sshx_log_warn("refusing signature with %s: the key needs "
			    "confirmation and no askpass program is available "
			    "(set SSH_ASKPASS)", fp_of(id->key, fp));
			result = AUDIT_REFUSED;
			why = "confirmation needed and no askpass program";
			goto fail;
		}
		if ((j->askpass = strdup(ag->policy.askpass)) == NULL)
			goto fail;
		j->askpass_timeout = ag->policy.askpass_timeout;
		sanitize(comment, sizeof(comment), id->comment);
		if (fwd_confirm)
			scope_fwd_prompt(c, comment, fp_of(id->key, fp),
			    j->prompt, sizeof(j->prompt));
		else
			snprintf(j->prompt, sizeof(j->prompt),
			    "Allow use of key %s?\nKey fingerprint %s.", comment,
			    fp_of(id->key, fp));
	}
	identity_ref(id);
	c->job = 1;
	r = j->confirm ? worker_submit_slow(&j->base) : worker_submit(&j->base);
	if (r != 0) {
		/* Not queued: undo and refuse. */
		identity_unref(id);
		c->job = 0;
		sshx_log_warn("sign with %s: cannot queue: %s",
		    fp_of(id->key, fp), sshx_strerror(r));
		why = "cannot queue the signature";
		goto fail;
	}
	return;
 fail:
	sign_refused(c, result, blob, bloblen, data, dlen, why);
	if (j != NULL) {
		if (j->data != NULL)
			explicit_bzero(j->data, j->dlen);
		free(j->data);
		free(j->askpass);
		free(j);
	}
	send_status(c, SSH_AGENT_FAILURE);
}
