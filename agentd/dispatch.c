/*
 * Agent message handlers: the dispatch switch with the lock gate in front of
 * it, the framing of requests, and the handlers for listing, adding and
 * removing identities. Signing, locking and extensions have files of their own.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "buf.h"
#include "conn.h"
#include "dest.h"
#include "dispatch.h"
#include "err.h"
#include "handlers.h"
#include "identity.h"
#include "key.h"
#include "log.h"
#include "proto.h"
#include "scope.h"

void (*dispatch_conn_released)(struct conn *c);

uint64_t
agent_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
agent_init(struct agent *ag)
{
	memset(ag, 0, sizeof(*ag));
	if ((ag->idtab = idtab_new()) == NULL)
		return SSHX_ERR_ALLOC;
	ag->policy.min_rsa_bits = POLICY_DEFAULT_MIN_RSA_BITS;
	ag->policy.askpass_timeout = POLICY_DEFAULT_ASKPASS_TIMEOUT;
	ag->max_identities = SSHX_AGENT_MAX_IDENTITIES;
	ag->vault.inotify_fd = -1;
	return 0;
}

void
agent_free(struct agent *ag)
{
	idtab_free(ag->idtab);
	ag->idtab = NULL;
	vault_free(ag);
	free(ag->policy.askpass);
	ag->policy.askpass = NULL;
	scope_conf_free(ag->policy.scopes);
	ag->policy.scopes = NULL;
}

void
agent_expire(struct agent *ag)
{
	size_t n;

	n = idtab_expire(ag->idtab, agent_now_ms(), &ag->next_expiry);
	if (n > 0)
		sshx_log_info("removed %zu expired identit%s", n, n == 1 ? "y" : "ies");
}

/* Sends a status reply, or marks the connection dead when even that fails. */
void
send_status(struct conn *c, uint8_t type)
{
	if (conn_send_status(c, type) != 0)
		c->dead = 1;
}

void
send_msg(struct conn *c, struct sshx_buf *msg)
{
	if (conn_send(c, msg) != 0)
		c->dead = 1;
}

/* Formats the fingerprint of a key for log lines. */
const char *
fp_of(const struct sshx_key *key, char out[static SSHX_FP_LEN])
{
	if (sshx_key_fingerprint(key, out) != 0)
		strcpy(out, "(unknown)");
	return out;
}

/* ---- REQUEST_IDENTITIES ---- */

/*
 * Moves the keys in a rotation grace after all others, each group in its
 * order, so that a client trying keys in order logs in with the new key
 * first. 0 or SSHX_ERR_ALLOC.
 */
static int
retiring_last(struct identity **v, size_t n)
{
	struct identity **t;
	size_t i, k = 0;

	for (i = 0; i < n && !v[i]->retiring; i++)
		;
	if (i == n)
		return 0;
	if ((t = calloc(n, sizeof(*t))) == NULL)
		return SSHX_ERR_ALLOC;
	for (i = 0; i < n; i++)
		if (!v[i]->retiring)
			t[k++] = v[i];
	for (i = 0; i < n; i++)
		if (v[i]->retiring)
			t[k++] = v[i];
	memcpy(v, t, n * sizeof(*v));
	free(t);
	return 0;
}

/*
 * Logs that a list reply was cut to n of total keys, once for each new pair
 * rather than on every request: clients list on every connection.
 */
static void
list_truncated(struct agent *ag, size_t n, size_t total, int by_size)
{
	if (ag->cut_listed == n && ag->cut_of == total)
		return;
	ag->cut_listed = n;
	ag->cut_of = total;
	if (by_size)
		sshx_log_warn("identity list truncated to %zu of %zu keys: the "
		    "reply would exceed %u bytes; the others still sign when "
		    "asked by key, or serve them through a scoped socket", n,
		    total, SSHX_AGENT_MAX_FRAME);
	else
		sshx_log_warn("identity list truncated to %zu of %zu keys: "
		    "OpenSSH clients refuse a list of more than %u; the others "
		    "still sign when asked by key, or serve them through a "
		    "scoped socket", n, total, SSHX_AGENT_MAX_LISTED);
}

static void
process_request_identities(struct agent *ag, struct conn *c)
{
	struct sshx_buf *msg = NULL, *list = NULL;
	struct identity *id, **v = NULL;
	const uint8_t *blob;
	size_t i, len, room, need, nv = 0;
	char detail[64];
	uint32_t n = 0;
	int r = SSHX_ERR_ALLOC;

	if ((msg = sshx_buf_new()) == NULL || (list = sshx_buf_new()) == NULL)
		goto out;
	/* A locked agent lists nothing: nothing it holds is usable. */
	if (!ag->locked && idtab_count(ag->idtab) > 0) {
		if ((v = calloc(idtab_count(ag->idtab), sizeof(*v))) == NULL)
			goto out;
		/* Only what this connection may use, in its order (scope.c). */
		nv = scope_list(ag, c, v, idtab_count(ag->idtab));
		if ((r = retiring_last(v, nv)) != 0)
			goto out;
		r = SSHX_ERR_ALLOC;
	}
	for (i = 0; i < nv; i++) {
		id = v[i];
		blob = sshx_key_blob(id->key, &len);
		need = 8 + len + strlen(id->comment);
		room = SSHX_AGENT_MAX_FRAME - 5 - sshx_buf_len(list);
		if (n == SSHX_AGENT_MAX_LISTED || need > room) {
			list_truncated(ag, n, nv, need > room);
			break;
		}
		if ((r = sshx_buf_put_string(list, blob, len)) != 0 ||
		    (r = sshx_buf_put_cstring(list, id->comment)) != 0)
			goto out;
		n++;
	}
	if (i == nv)
		ag->cut_listed = ag->cut_of = 0;
	if ((r = sshx_buf_put_u8(msg, SSH_AGENT_IDENTITIES_ANSWER)) != 0 ||
	    (r = sshx_buf_put_u32(msg, n)) != 0 ||
	    (r = sshx_buf_put(msg, sshx_buf_ptr(list), sshx_buf_len(list))) != 0)
		goto out;
	send_msg(c, msg);
	sshx_log_debug("conn %lu: listed %u identities", c->serial, n);
	snprintf(detail, sizeof(detail), "%u identit%s listed%s", n,
	    n == 1 ? "y" : "ies", ag->locked ? " (agent locked)" : "");
	audit_simple(c, "agent.list", AUDIT_OK, NULL, detail);
	r = 0;
 out:
	if (r != 0) {
		sshx_log_error("list identities: %s", sshx_strerror(r));
		audit_simple(c, "agent.list", AUDIT_FAILED, NULL, sshx_strerror(r));
		send_status(c, SSH_AGENT_FAILURE);
	}
	sshx_buf_free(msg);
	sshx_buf_free(list);
	free(v);
}

/* Ends a job's hold on its connection: frees it if it died, or carries on with its input. */
void
job_release_conn(struct agent *ag, struct conn *c)
{
	c->job = 0;
	if (c->dead) {
		if (dispatch_conn_released != NULL)
			dispatch_conn_released(c);
		return;
	}
	dispatch_input(ag, c);
}

/* ---- ADD_IDENTITY / ADD_ID_CONSTRAINED ---- */

/* Reads the constraints of an ADD_ID_CONSTRAINED; 0 or an error (the add then fails). */
static int
parse_constraints(struct sshx_buf *m, uint32_t *lifetimep, int *confirmp,
    struct dest_set **destsp, const char **whyp)
{
	int seen_life = 0, seen_confirm = 0;
	unsigned int count = 0;
	char *name = NULL;
	uint8_t ctype;
	int r;

	while (sshx_buf_len(m) > 0) {
		if (++count > SSHX_AGENT_MAX_CONSTRAINTS) {
			sshx_log_info("add refused: more than %d constraints",
			    SSHX_AGENT_MAX_CONSTRAINTS);
			*whyp = "too many constraints";
			return SSHX_ERR_LIMIT;
		}
		*whyp = "malformed constraint";
		if ((r = sshx_buf_get_u8(m, &ctype)) != 0)
			return r;
		switch (ctype) {
		case SSH_AGENT_CONSTRAIN_LIFETIME:
			if (seen_life++) {
				sshx_log_info("add refused: lifetime given twice");
				*whyp = "lifetime given twice";
				return SSHX_ERR_CONSTRAINT;
			}
			if ((r = sshx_buf_get_u32(m, lifetimep)) != 0)
				return r;
			if (*lifetimep == 0) {
				sshx_log_info("add refused: lifetime of 0 seconds");
				*whyp = "lifetime of 0 seconds";
				return SSHX_ERR_CONSTRAINT;
			}
			break;
		case SSH_AGENT_CONSTRAIN_CONFIRM:
			if (seen_confirm++) {
				sshx_log_info("add refused: confirm given twice");
				*whyp = "confirm given twice";
				return SSHX_ERR_CONSTRAINT;
			}
			*confirmp = 1;
			break;
		case SSH_AGENT_CONSTRAIN_EXTENSION:
			if ((r = sshx_buf_get_cstring(m, &name, NULL)) != 0)
				return r;
			if (strcmp(name, SSHX_EXT_RESTRICT_DEST) == 0 &&
			    *destsp == NULL) {
				free(name);
				if ((r = dest_parse(m, destsp)) != 0) {
					sshx_log_info("add refused: bad destination "
					    "constraint: %s", sshx_strerror(r));
					*whyp = "bad destination constraint";
					return r;
				}
				break;
			}
			/* Accepting an unknown restriction would drop it silently. */
			sshx_log_info("add refused: constraint extension \"%.64s\" "
			    "is %s", name, *destsp != NULL ? "given twice" :
			    "not supported");
			*whyp = *destsp != NULL ? "destination constraint given "
			    "twice" : "constraint extension not supported";
			free(name);
			return SSHX_ERR_CONSTRAINT;
		default:
			sshx_log_info("add refused: unknown constraint %u", ctype);
			*whyp = "unknown constraint";
			return SSHX_ERR_CONSTRAINT;
		}
	}
	*whyp = NULL;
	return 0;
}

/* Returns a copy of a key's public blob, or NULL. */
static uint8_t *
dup_blob(const struct sshx_key *key, size_t *lenp)
{
	const uint8_t *b = sshx_key_blob(key, lenp);
	uint8_t *p;

	if ((p = malloc(*lenp)) != NULL)
		memcpy(p, b, *lenp);
	return p;
}

static void
process_add_identity(struct agent *ag, struct conn *c, struct sshx_buf *m,
    int constrained)
{
	struct sshx_key *key = NULL;
	struct dest_set *dests = NULL;
	struct identity *id;
	char *comment = NULL, fp[SSHX_FP_LEN] = "", detail[96];
	const char *why = NULL, *result = AUDIT_REFUSED;
	uint8_t *blob = NULL;
	size_t bloblen;
	uint32_t lifetime = 0;
	uint64_t death = 0;
	int confirm = 0, r;

	if ((r = sshx_key_parse_private(m, &key)) != 0) {
		if (r == SSHX_ERR_KEY_TYPE_REFUSED) {
			sshx_log_warn("add refused: DSA keys are weak (1024-bit, "
			    "SHA-1) and not accepted");
			why = "DSA keys are not accepted";
		} else {
			sshx_log_info("add refused: cannot read the key: %s",
			    sshx_strerror(r));
			why = "cannot read the key";
		}
		goto fail;
	}
	fp_of(key, fp);
	if ((r = sshx_buf_get_cstring(m, &comment, NULL)) != 0) {
		sshx_log_info("add refused: bad comment: %s", sshx_strerror(r));
		why = "bad comment";
		goto fail;
	}
	if (strlen(comment) > SSHX_AGENT_MAX_COMMENT) {
		sshx_log_info("add refused: comment longer than %d bytes",
		    SSHX_AGENT_MAX_COMMENT);
		why = "comment too long";
		goto fail;
	}
	if (constrained) {
		if ((r = parse_constraints(m, &lifetime, &confirm, &dests,
		    &why)) != 0)
			goto fail;
	} else if (sshx_buf_len(m) != 0) {
		sshx_log_info("add refused: trailing bytes after the comment");
		why = "trailing bytes after the comment";
		goto fail;
	}
	if (sshx_key_type(key) == SSHX_KEY_RSA &&
	    sshx_key_bits(key) < ag->policy.min_rsa_bits) {
		sshx_log_warn("add refused: RSA key %s has %u bits, under the "
		    "minimum of %u", fp, sshx_key_bits(key),
		    ag->policy.min_rsa_bits);
		why = "RSA key under the minimum size";
		goto fail;
	}
	if (lifetime == 0)
		lifetime = ag->policy.default_lifetime;
	if (lifetime != 0)
		death = agent_now_ms() + (uint64_t)lifetime * 1000;
	if (dests != NULL && dest_has_ca(dests))
		sshx_log_warn("add %s: destination constraints name host "
		    "certificate authorities; those entries never match (host "
		    "certificates are not supported)", fp);
	/* Kept to find the identity again: idtab_add may free key. */
	if ((blob = dup_blob(key, &bloblen)) == NULL) {
		why = "out of memory";
		result = AUDIT_FAILED;
		goto fail;
	}
	if ((r = idtab_add(ag->idtab, key, comment, death, confirm,
	    ag->max_identities)) != 0) {
		if (r == SSHX_ERR_LIMIT) {
			sshx_log_warn("add refused: the agent already holds %zu "
			    "identities", ag->max_identities);
			why = "identity limit reached";
		} else {
			sshx_log_error("add refused: %s", sshx_strerror(r));
			why = sshx_strerror(r);
			result = AUDIT_FAILED;
		}
		goto fail;
	}
	key = NULL;		/* transferred */
	comment = NULL;		/* transferred */
	/* Re-adding a key replaces its destination constraints too, as OpenSSH. */
	if ((id = idtab_find(ag->idtab, blob, bloblen)) != NULL) {
		dest_free(id->dests);
		id->dests = dests;
		dests = NULL;	/* transferred */
	}
	if (death != 0 && (ag->next_expiry == 0 || death < ag->next_expiry))
		ag->next_expiry = death;
	sshx_log_info("added %s%s%s%s", fp,
	    lifetime ? " with a lifetime" : "", confirm ? " (confirm)" : "",
	    id != NULL && id->dests != NULL ? " restricted to destinations" : "");
	if (lifetime != 0)
		snprintf(detail, sizeof(detail), "lifetime %u s%s%s", lifetime,
		    confirm ? ", confirm" : "", id != NULL && id->dests != NULL ?
		    ", restricted to destinations" : "");
	else
		snprintf(detail, sizeof(detail), "%s%s", confirm ? "confirm" : "",
		    id != NULL && id->dests != NULL ? (confirm ?
		    ", restricted to destinations" : "restricted to destinations") :
		    "");
	audit_simple(c, "agent.add", AUDIT_OK, fp, detail[0] ? detail : NULL);
	free(blob);
	send_status(c, SSH_AGENT_SUCCESS);
	return;
 fail:
	audit_simple(c, "agent.add", result, fp[0] ? fp : NULL,
	    why != NULL ? why : "malformed request");
	sshx_key_free(key);
	free(comment);
	free(blob);
	dest_free(dests);
	send_status(c, SSH_AGENT_FAILURE);
}

/* ---- REMOVE_IDENTITY / REMOVE_ALL ---- */

static void
process_remove_identity(struct agent *ag, struct conn *c, struct sshx_buf *m)
{
	const uint8_t *blob;
	struct identity *id;
	char fp[SSHX_FP_LEN];
	size_t len;

	if (sshx_buf_get_string_direct(m, &blob, &len) != 0 ||
	    sshx_buf_len(m) != 0) {
		sshx_log_info("conn %lu: malformed remove request", c->serial);
		audit_simple(c, "agent.remove", AUDIT_FAILED, NULL,
		    "malformed request");
		send_status(c, SSH_AGENT_FAILURE);
		return;
	}
	if ((id = idtab_find(ag->idtab, blob, len)) == NULL) {
		/* A public blob: its fingerprint says which key was asked for. */
		sshx_key_fingerprint_blob(blob, len, fp);
		audit_simple(c, "agent.remove", AUDIT_REFUSED, fp, "key not held");
		send_status(c, SSH_AGENT_FAILURE);
		return;
	}
	sshx_log_info("removed %s", fp_of(id->key, fp));
	idtab_remove(ag->idtab, id);
	audit_simple(c, "agent.remove", AUDIT_OK, fp, NULL);
	send_status(c, SSH_AGENT_SUCCESS);
}

static void
process_remove_all(struct agent *ag, struct conn *c)
{
	char detail[64];

	sshx_log_info("removed all %zu identities", idtab_count(ag->idtab));
	snprintf(detail, sizeof(detail), "%zu identit%s removed",
	    idtab_count(ag->idtab), idtab_count(ag->idtab) == 1 ? "y" : "ies");
	audit_simple(c, "agent.remove-all", AUDIT_OK, NULL, detail);
	idtab_remove_all(ag->idtab);
	ag->next_expiry = 0;
	send_status(c, SSH_AGENT_SUCCESS);
}

/* ---- dispatch ---- */

void
dispatch_message(struct agent *ag, struct conn *c, const uint8_t *p, size_t len)
{
	struct sshx_buf *m;
	char detail[48];
	uint8_t type;

	if (len == 0 || (m = sshx_buf_from(p + 1, len - 1)) == NULL) {
		send_status(c, SSH_AGENT_FAILURE);
		return;
	}
	type = p[0];
	/* A scoped socket serves its keys, nothing that changes the agent. */
	if (!scope_request_allowed(c, type, m)) {
		sshx_log_info("conn %lu: request %u refused on a scoped socket: "
		    "only listing, signing, query and session-bind are served "
		    "there", c->serial, type);
		send_status(c, SSH_AGENT_FAILURE);
		sshx_buf_free(m);
		return;
	}
	/* Policy gate: a locked agent answers only listing, unlock and extensions. */
	if (ag->locked && type != SSH_AGENTC_UNLOCK &&
	    type != SSH_AGENTC_REQUEST_IDENTITIES && type != SSH_AGENTC_EXTENSION) {
		sshx_log_info("conn %lu: request %u refused: agent is locked",
		    c->serial, type);
		audit_simple(c, audit_action_of(type), AUDIT_REFUSED, NULL,
		    "agent is locked");
		send_status(c, SSH_AGENT_FAILURE);
		sshx_buf_free(m);
		return;
	}
	switch (type) {
	case SSH_AGENTC_REQUEST_IDENTITIES:
		process_request_identities(ag, c);
		break;
	case SSH_AGENTC_SIGN_REQUEST:
		process_sign_request(ag, c, m);
		break;
	case SSH_AGENTC_ADD_IDENTITY:
		process_add_identity(ag, c, m, 0);
		break;
	case SSH_AGENTC_ADD_ID_CONSTRAINED:
		process_add_identity(ag, c, m, 1);
		break;
	case SSH_AGENTC_REMOVE_IDENTITY:
		process_remove_identity(ag, c, m);
		break;
	case SSH_AGENTC_REMOVE_ALL_IDENTITIES:
		process_remove_all(ag, c);
		break;
	case SSH_AGENTC_LOCK:
		process_lock(ag, c, m, 0);
		break;
	case SSH_AGENTC_UNLOCK:
		process_lock(ag, c, m, 1);
		break;
	case SSH_AGENTC_EXTENSION:
		process_extension(ag, c, m);
		break;
	case SSH_AGENTC_ADD_SMARTCARD_KEY:
	case SSH_AGENTC_REMOVE_SMARTCARD_KEY:
	case SSH_AGENTC_ADD_SMARTCARD_KEY_CONSTRAINED:
		sshx_log_info("conn %lu: PKCS#11 keys are not supported", c->serial);
		audit_simple(c, "agent.smartcard", AUDIT_REFUSED, NULL,
		    "PKCS#11 keys are not supported");
		send_status(c, SSH_AGENT_FAILURE);
		break;
	default:
		sshx_log_info("conn %lu: unknown request type %u", c->serial, type);
		snprintf(detail, sizeof(detail), "unknown request type %u", type);
		audit_simple(c, "agent.unknown", AUDIT_REFUSED, NULL, detail);
		send_status(c, SSH_AGENT_FAILURE);
		break;
	}
	sshx_buf_free(m);
}

static void dispatch_frames(struct agent *ag, struct conn *c);

void
dispatch_input(struct agent *ag, struct conn *c)
{
	/*
	 * A job that completes inline (no worker threads: unit tests and
	 * fuzzers) releases the connection from inside the loop below, before
	 * its frame is consumed: the running loop carries on instead.
	 */
	if (c->dispatching)
		return;
	c->dispatching = 1;
	dispatch_frames(ag, c);
	c->dispatching = 0;
}

/* The body of dispatch_input: handles the complete frames at the front of c->in. */
static void
dispatch_frames(struct agent *ag, struct conn *c)
{
	const uint8_t *p;
	uint8_t *w;
	uint32_t len;

	while (!c->dead && !conn_busy(c) &&
	    sshx_buf_len(c->out) < CONN_OUT_HIGH_WATER &&
	    sshx_buf_len(c->in) >= 4) {
		p = sshx_buf_ptr(c->in);
		len = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		    (uint32_t)p[2] << 8 | p[3];
		if (len > SSHX_AGENT_MAX_FRAME) {
			sshx_log_warn("conn %lu: frame of %u bytes is over the "
			    "%u-byte limit; closing", c->serial, len,
			    SSHX_AGENT_MAX_FRAME);
			c->dead = 1;
			return;
		}
		if (sshx_buf_len(c->in) - 4 < len)
			return;		/* wait for the rest */
		dispatch_message(ag, c, p + 4, len);
		/* Requests may carry private keys or passphrases: wipe them. */
		if ((w = sshx_buf_mutable_ptr(c->in)) != NULL)
			explicit_bzero(w, 4 + (size_t)len);
		if (sshx_buf_consume(c->in, 4 + (size_t)len) != 0) {
			c->dead = 1;
			return;
		}
	}
}
