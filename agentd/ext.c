/*
 * EXTENSION requests: query, session-bind@openssh.com, and sshx's own
 * status@sshx, reload@sshx and persist@sshx.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "buf.h"
#include "conn.h"
#include "dispatch.h"
#include "err.h"
#include "fs.h"
#include "handlers.h"
#include "identity.h"
#include "key.h"
#include "keyring.h"
#include "log.h"
#include "proto.h"
#include "scope.h"
#include "vault.h"
#include "worker.h"

/* Extensions answered by this agent, in the order "query" lists them. */
static const char *const extensions[] = {
	SSHX_EXT_QUERY,
	SSHX_EXT_SESSION_BIND,
	"status@sshx",
	"reload@sshx",
	"persist@sshx",
};

/* Records an extension request: its name, and the reason when there is one. */
static void
ext_audit(const struct conn *c, const char *name, const char *result,
    const char *fp, const char *why)
{
	char detail[320];

	snprintf(detail, sizeof(detail), "%s%s%s", name, why != NULL ? ": " : "",
	    why != NULL ? why : "");
	audit_simple(c, "agent.extension", result, fp, detail);
}

struct bind_job {
	struct worker_job base;
	struct agent *ag;
	struct conn *c;
	struct sshx_key *hostkey;
	uint8_t sid[SSHX_AGENT_MAX_SID];
	size_t sidlen;
	uint8_t *sig;
	size_t siglen;
	int forwarding;
	int r;
};

static void
bind_run(struct worker_job *job)
{
	struct bind_job *j = (struct bind_job *)job;

	j->r = sshx_key_verify(j->hostkey, j->sig, j->siglen, j->sid,
	    j->sidlen, 0);
}

static void
bind_done(struct worker_job *job)
{
	struct bind_job *j = (struct bind_job *)job;
	struct agent *ag = j->ag;
	struct conn *c = j->c;
	struct session_bind *b;
	char fp[SSHX_FP_LEN];
	const char *why = NULL;
	size_t i;
	int ok = 0;
	struct audit_op op = {
		.action = "agent.session-bind", .host_key = fp,
		.forwarded = j->forwarding,
	};

	fp_of(j->hostkey, fp);
	if (j->r != 0) {
		sshx_log_warn("session-bind refused: host key %s signature: %s",
		    fp, sshx_strerror(j->r));
		why = "bad host key signature";
		goto done;
	}
	for (i = 0; i < c->nbinds; i++) {
		b = &c->binds[i];
		if (b->sidlen == j->sidlen &&
		    memcmp(b->sid, j->sid, j->sidlen) == 0) {
			ok = sshx_key_equal_public(b->hostkey, j->hostkey);
			if (!ok) {
				sshx_log_warn("session-bind refused: session "
				    "already bound to another host key");
				why = "session already bound to another host key";
			} else
				why = "session bound again to the same host key";
			goto done;
		}
	}
	if (c->nbinds >= SSHX_AGENT_MAX_BINDS) {
		sshx_log_warn("session-bind refused: more than %d binds on one "
		    "connection", SSHX_AGENT_MAX_BINDS);
		why = "too many binds on one connection";
		goto done;
	}
	b = &c->binds[c->nbinds++];
	b->hostkey = j->hostkey;
	j->hostkey = NULL;	/* transferred */
	memcpy(b->sid, j->sid, j->sidlen);
	b->sidlen = j->sidlen;
	b->forwarding = j->forwarding;
	memcpy(b->fp, fp, sizeof(b->fp));
	sshx_log_debug("conn %lu: bound to host key %s%s", c->serial, fp,
	    b->forwarding ? " (forwarding)" : "");
	ok = 1;
 done:
	if (!ok)
		c->bind_failed = 1;
	op.result = ok ? AUDIT_OK : AUDIT_REFUSED;
	op.detail = why;
	audit_record(c, &op);
	if (!c->dead)
		send_status(c, ok ? SSH_AGENT_SUCCESS : SSH_AGENT_FAILURE);
	sshx_key_free(j->hostkey);
	free(j->sig);
	free(j);
	job_release_conn(ag, c);
}

static void
process_ext_session_bind(struct agent *ag, struct conn *c, struct sshx_buf *m)
{
	const uint8_t *kblob, *sid, *sig;
	size_t klen, sidlen, siglen;
	struct bind_job *j = NULL;
	const char *why = "malformed request";
	uint8_t fwd;
	int r;

	if ((r = sshx_buf_get_string_direct(m, &kblob, &klen)) != 0 ||
	    (r = sshx_buf_get_string_direct(m, &sid, &sidlen)) != 0 ||
	    (r = sshx_buf_get_string_direct(m, &sig, &siglen)) != 0 ||
	    (r = sshx_buf_get_u8(m, &fwd)) != 0 || sshx_buf_len(m) != 0) {
		sshx_log_info("session-bind refused: malformed request");
		goto fail;
	}
	if (sidlen == 0 || sidlen > SSHX_AGENT_MAX_SID) {
		sshx_log_info("session-bind refused: session id of %zu bytes",
		    sidlen);
		why = "bad session id length";
		goto fail;
	}
	if (fwd > 1) {
		sshx_log_info("session-bind refused: bad forwarding flag");
		why = "bad forwarding flag";
		goto fail;
	}
	why = "out of memory";
	if ((j = calloc(1, sizeof(*j))) == NULL)
		goto fail;
	if ((r = sshx_key_from_blob(kblob, klen, &j->hostkey)) != 0) {
		sshx_log_info("session-bind refused: host key: %s",
		    sshx_strerror(r));
		why = "unusable host key";
		goto fail;
	}
	if ((j->sig = malloc(siglen + 1)) == NULL)
		goto fail;
	memcpy(j->sig, sig, siglen);
	j->siglen = siglen;
	memcpy(j->sid, sid, sidlen);
	j->sidlen = sidlen;
	j->forwarding = fwd;
	j->ag = ag;
	j->c = c;
	j->base.run = bind_run;
	j->base.done = bind_done;
	c->job = 1;
	if (worker_submit(&j->base) != 0) {
		c->job = 0;
		why = "cannot queue the request";
		goto fail;
	}
	return;
 fail:
	audit_simple(c, "agent.session-bind", AUDIT_REFUSED, NULL, why);
	if (j != NULL) {
		sshx_key_free(j->hostkey);
		free(j->sig);
		free(j);
	}
	c->bind_failed = 1;
	send_status(c, SSH_AGENT_FAILURE);
}

static void
process_ext_query(struct conn *c, struct sshx_buf *m)
{
	struct sshx_buf *msg;
	size_t i;
	int r = SSHX_ERR_ALLOC;

	if (sshx_buf_len(m) != 0) {
		send_status(c, SSH_AGENT_EXTENSION_FAILURE);
		return;
	}
	if ((msg = sshx_buf_new()) == NULL)
		goto out;
	if ((r = sshx_buf_put_u8(msg, SSH_AGENT_EXTENSION_RESPONSE)) != 0 ||
	    (r = sshx_buf_put_cstring(msg, SSHX_EXT_QUERY)) != 0)
		goto out;
	/* A scoped socket lists only what it serves. */
	for (i = 0; i < sizeof(extensions) / sizeof(*extensions); i++) {
		if (!scope_extension_allowed(c, extensions[i], strlen(extensions[i])))
			continue;
		if ((r = sshx_buf_put_cstring(msg, extensions[i])) != 0)
			goto out;
	}
	send_msg(c, msg);
 out:
	if (r != 0)
		send_status(c, SSH_AGENT_EXTENSION_FAILURE);
	sshx_buf_free(msg);
}

/* status@sshx: byte locked, uint32 identities, string version. */
static void
process_ext_status(struct agent *ag, struct conn *c, struct sshx_buf *m)
{
	struct sshx_buf *msg;
	int r = SSHX_ERR_ALLOC;

	if (sshx_buf_len(m) != 0) {
		send_status(c, SSH_AGENT_EXTENSION_FAILURE);
		return;
	}
	if ((msg = sshx_buf_new()) == NULL)
		goto out;
	if ((r = sshx_buf_put_u8(msg, SSH_AGENT_EXTENSION_RESPONSE)) != 0 ||
	    (r = sshx_buf_put_cstring(msg, "status@sshx")) != 0 ||
	    (r = sshx_buf_put_u8(msg, ag->locked ? 1 : 0)) != 0 ||
	    (r = sshx_buf_put_u32(msg, (uint32_t)idtab_count(ag->idtab))) != 0 ||
	    (r = sshx_buf_put_cstring(msg, PACKAGE_VERSION)) != 0)
		goto out;
	send_msg(c, msg);
 out:
	if (r != 0)
		send_status(c, SSH_AGENT_EXTENSION_FAILURE);
	sshx_buf_free(msg);
}

/* reload@sshx: re-read the keyring now (sshxctl asks after each change). */
static void
process_ext_reload(struct agent *ag, struct conn *c, struct sshx_buf *m)
{
	const char *why;
	int r;

	if (sshx_buf_len(m) != 0) {
		send_status(c, SSH_AGENT_EXTENSION_FAILURE);
		return;
	}
	if ((r = vault_reload(ag)) != 0) {
		why = r == SSHX_ERR_LOCKED ? "the keyring is locked" :
		    r == SSHX_ERR_NOT_FOUND ? "no keyring is open" : sshx_strerror(r);
		sshx_log_info("reload refused: %s", why);
		ext_audit(c, "reload@sshx", AUDIT_REFUSED, NULL, why);
	} else
		ext_audit(c, "reload@sshx", AUDIT_OK, NULL, NULL);
	send_status(c, r == 0 ? SSH_AGENT_SUCCESS : SSH_AGENT_FAILURE);
}

struct persist_job {
	struct worker_job base;
	struct agent *ag;
	struct conn *c;
	struct sshx_buf *secret;	/* exported keyring key, then the private key */
	char *path, *name, *comment;
	char why[256];
	char fp[SSHX_FP_LEN];
	int r;
};

/* Adds the key to the keyring file under its lock, as sshxctl would. */
static void
persist_run(struct worker_job *job)
{
	struct persist_job *j = (struct persist_job *)job;
	struct sshx_keyring *kr = NULL, *nkr = NULL;
	struct sshx_key *key = NULL;
	int fd = -1;

	if ((j->r = sshx_fs_lock(j->path, 10000, &fd)) != 0 ||
	    (j->r = sshx_keyring_import_key(j->secret, &kr)) != 0 ||
	    (j->r = sshx_keyring_reload(kr, j->path, &nkr, j->why,
	    sizeof(j->why))) != 0 ||
	    (j->r = sshx_key_parse_private(j->secret, &key)) != 0)
		goto out;
	if ((j->r = sshx_keyring_add(nkr, key, *j->name ? j->name : NULL,
	    j->comment)) != 0)
		goto out;
	key = NULL;	/* transferred */
	j->r = sshx_keyring_save(nkr, j->path, j->why, sizeof(j->why));
 out:
	sshx_key_free(key);
	sshx_keyring_free(kr);
	sshx_keyring_free(nkr);
	if (fd != -1)
		sshx_fs_unlock(fd);
}

static void
persist_done(struct worker_job *job)
{
	struct persist_job *j = (struct persist_job *)job;
	struct agent *ag = j->ag;
	struct conn *c = j->c;

	if (j->r == 0) {
		sshx_log_info("stored a key added by a client in keyring %s",
		    j->path);
		vault_reload(ag);
		ext_audit(c, "persist@sshx", AUDIT_OK, j->fp, NULL);
	} else {
		sshx_log_warn("persist refused: %s", j->why[0] ? j->why :
		    sshx_strerror(j->r));
		ext_audit(c, "persist@sshx", AUDIT_FAILED, j->fp,
		    j->why[0] ? j->why : sshx_strerror(j->r));
	}
	if (!c->dead)
		send_status(c, j->r == 0 ? SSH_AGENT_SUCCESS : SSH_AGENT_FAILURE);
	sshx_buf_free(j->secret);
	free(j->path);
	free(j->name);
	free(j->comment);
	free(j);
	job_release_conn(ag, c);
}

/* persist@sshx: string fingerprint, string name (may be empty). */
static void
process_ext_persist(struct agent *ag, struct conn *c, struct sshx_buf *m)
{
	struct persist_job *j = NULL;
	struct identity *id = NULL;
	char *fp = NULL, *name = NULL, idfp[SSHX_FP_LEN];
	const char *why = NULL, *result = AUDIT_REFUSED;
	size_t i;

	idfp[0] = '\0';
	if (sshx_buf_get_cstring(m, &fp, NULL) != 0 ||
	    sshx_buf_get_cstring(m, &name, NULL) != 0 || sshx_buf_len(m) != 0) {
		ext_audit(c, "persist@sshx", AUDIT_FAILED, NULL, "malformed request");
		send_status(c, SSH_AGENT_EXTENSION_FAILURE);
		goto out;
	}
	if (ag->vault.kr == NULL) {
		sshx_log_info("persist refused: no keyring is open");
		why = "no keyring is open";
		goto fail;
	}
	for (i = 0; i < idtab_count(ag->idtab); i++) {
		id = idtab_at(ag->idtab, i);
		if (sshx_key_fingerprint(id->key, idfp) == 0 &&
		    strcmp(idfp, fp) == 0)
			break;
		id = NULL;
	}
	if (id == NULL)
		idfp[0] = '\0';
	if (id == NULL || id->kr_name != NULL) {
		why = id == NULL ? "no such key in the agent" :
		    "the key is already in the keyring";
		sshx_log_info("persist refused: %s", why);
		goto fail;
	}
	if (*name != '\0' && !sshx_keyring_valid_name(name)) {
		sshx_log_info("persist refused: invalid key name");
		why = "invalid key name";
		goto fail;
	}
	result = AUDIT_FAILED;
	why = "out of memory";
	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->secret = sshx_buf_new_secure()) == NULL ||
	    (j->path = strdup(ag->vault.path)) == NULL ||
	    (j->comment = strdup(id->comment)) == NULL ||
	    sshx_keyring_export_key(ag->vault.kr, j->secret) != 0 ||
	    sshx_key_put_private(id->key, j->secret) != 0)
		goto fail;
	j->name = name;
	name = NULL;	/* transferred */
	memcpy(j->fp, idfp, sizeof(j->fp));
	j->ag = ag;
	j->c = c;
	j->base.run = persist_run;
	j->base.done = persist_done;
	c->job = 1;
	if (worker_submit(&j->base) != 0) {
		c->job = 0;
		why = "cannot queue the request";
		goto fail;
	}
	j = NULL;	/* the worker owns it */
	goto out;
 fail:
	ext_audit(c, "persist@sshx", result, idfp[0] ? idfp : NULL, why);
	send_status(c, SSH_AGENT_FAILURE);
	if (j != NULL) {
		sshx_buf_free(j->secret);
		free(j->path);
		free(j->name);
		free(j->comment);
		free(j);
	}
 out:
	free(fp);
	free(name);
}

void
process_extension(struct agent *ag, struct conn *c, struct sshx_buf *m)
{
	char *name = NULL;
	size_t len;

	if (sshx_buf_get_cstring(m, &name, &len) != 0 || len == 0 ||
	    len > SSHX_AGENT_MAX_EXT_NAME) {
		sshx_log_info("conn %lu: malformed extension request", c->serial);
		ext_audit(c, "(malformed)", AUDIT_FAILED, NULL, "malformed request");
		send_status(c, SSH_AGENT_FAILURE);
		goto out;
	}
	if (strcmp(name, SSHX_EXT_QUERY) == 0) {
		process_ext_query(c, m);
		ext_audit(c, name, AUDIT_OK, NULL, NULL);
	} else if (strcmp(name, "status@sshx") == 0) {
		process_ext_status(ag, c, m);
		ext_audit(c, name, AUDIT_OK, NULL, NULL);
	} else if (ag->locked) {
		sshx_log_info("extension %s refused: agent is locked", name);
		ext_audit(c, name, AUDIT_REFUSED, NULL, "agent is locked");
		send_status(c, SSH_AGENT_FAILURE);
	} else if (strcmp(name, SSHX_EXT_SESSION_BIND) == 0)
		process_ext_session_bind(ag, c, m);
	else if (strcmp(name, "reload@sshx") == 0)
		process_ext_reload(ag, c, m);
	else if (strcmp(name, "persist@sshx") == 0)
		process_ext_persist(ag, c, m);
	else {
		/* Unsupported extensions get a plain FAILURE (RFC 9987). */
		sshx_log_debug("conn %lu: unsupported extension", c->serial);
		ext_audit(c, name, AUDIT_REFUSED, NULL, "unsupported extension");
		send_status(c, SSH_AGENT_FAILURE);
	}
 out:
	free(name);
}
