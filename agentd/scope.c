/*
 * The one place that decides which keys a connection sees and may sign
 * with: the socket's scope, the forwarding policy of each key, destination
 * constraints and failed session binds. Listing and signing both ask
 * scope_permits(), so a key is listed exactly when it may be used there
 * (Paramiko drops the whole connection when a listed key fails to sign).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "conn.h"
#include "dest.h"
#include "dispatch.h"
#include "err.h"
#include "identity.h"
#include "key.h"
#include "proto.h"
#include "scope.h"

const struct sock_scope *
scope_by_listener(const struct agent *ag, int fd)
{
	const struct scope_conf *sc = ag->policy.scopes;
	size_t i;

	for (i = 0; sc != NULL && i < sc->nsocks; i++)
		if (sc->socks[i]->fd == fd)
			return sc->socks[i];
	return NULL;
}

int
scope_extension_allowed(const struct conn *c, const void *name, size_t len)
{
	if (c->scope == NULL)
		return 1;
	return (len == strlen(SSHX_EXT_QUERY) &&
	    memcmp(name, SSHX_EXT_QUERY, len) == 0) ||
	    (len == strlen(SSHX_EXT_SESSION_BIND) &&
	    memcmp(name, SSHX_EXT_SESSION_BIND, len) == 0);
}

int
scope_request_allowed(const struct conn *c, uint8_t type,
    const struct sshx_buf *m)
{
	const uint8_t *name;
	size_t len;

	if (c->scope == NULL)
		return 1;
	if (type == SSH_AGENTC_REQUEST_IDENTITIES ||
	    type == SSH_AGENTC_SIGN_REQUEST)
		return 1;
	if (type != SSH_AGENTC_EXTENSION ||
	    sshx_buf_peek_string_direct(m, &name, &len) != 0)
		return 0;
	return scope_extension_allowed(c, name, len);
}

/* Returns 1 when a selector (key name or fingerprint) names the identity. */
static int
selects(const char *sel, const struct identity *id, const char *fp)
{
	if (strncmp(sel, "SHA256:", 7) == 0)
		return strcmp(sel, fp) == 0;
	return id->kr_name != NULL && strcmp(sel, id->kr_name) == 0;
}

/* Returns the forwarding policy of an identity: its [key] section, else the default. */
static int
fwd_policy_of(const struct agent *ag, const struct identity *id, const char *fp)
{
	const struct scope_conf *sc = ag->policy.scopes;
	size_t i;

	for (i = 0; sc != NULL && i < sc->nrules; i++)
		if (selects(sc->rules[i]->selector, id, fp))
			return sc->rules[i]->forwarding;
	return ag->policy.forwarding;
}

/* Returns 1 when the socket the connection came through exposes the identity. */
static int
in_scope(const struct sock_scope *s, const struct identity *id, const char *fp)
{
	size_t i;

	for (i = 0; i < s->nkeys; i++)
		if (selects(s->keys[i], id, fp))
			return 1;
	return 0;
}

int
scope_permits(const struct agent *ag, const struct conn *c,
    const struct identity *id, const uint8_t *data, size_t dlen,
    int *fwd_confirmp, char *why, size_t whylen)
{
	char fp[SSHX_FP_LEN] = "", *user = NULL;
	int pol, ok;

	*fwd_confirmp = 0;
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (c->bind_failed) {
		sshx_why(why, whylen, "a session-bind on this connection failed");
		return 0;
	}
	/* Only scopes and forwarding need it: plain local listings stay cheap. */
	if ((c->scope != NULL || conn_forwarded(c) == 1) &&
	    sshx_key_fingerprint(id->key, fp) != 0) {
		sshx_why(why, whylen, "cannot compute the key's fingerprint");
		return 0;
	}
	if (c->scope != NULL && !in_scope(c->scope, id, fp)) {
		sshx_why(why, whylen, "socket \"%s\" does not expose the key",
		    c->scope->name);
		return 0;
	}
	if (conn_forwarded(c) == 1) {
		pol = fwd_policy_of(ag, id, fp);
		if (pol == FWD_DENY) {
			sshx_why(why, whylen, "the key may not be used through "
			    "a forwarded agent (forwarding = deny)");
			return 0;
		}
		*fwd_confirmp = pol == FWD_CONFIRM;
	}
	if (id->dests == NULL)
		return 1;
	if (data == NULL)
		return dest_permitted(id->dests, c, NULL, why, whylen);
	if (dest_check_userauth(data, dlen, id->key, c, &user, why,
	    whylen) != 0)
		return 0;
	ok = dest_permitted(id->dests, c, user, why, whylen);
	free(user);
	return ok;
}

/* Appends id to v unless already there; returns the new count. */
static size_t
add_unique(struct identity **v, size_t n, size_t max, struct identity *id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] == id)
			return n;
	if (n < max)
		v[n++] = id;
	return n;
}

size_t
scope_list(const struct agent *ag, const struct conn *c, struct identity **v,
    size_t max)
{
	struct identity *id;
	char fp[SSHX_FP_LEN];
	size_t i, k, n = 0, count = idtab_count(ag->idtab);
	int conf;

	if (c->scope == NULL) {
		for (i = 0; i < count; i++) {
			id = idtab_at(ag->idtab, i);
			if (scope_permits(ag, c, id, NULL, 0, &conf, NULL, 0))
				n = add_unique(v, n, max, id);
		}
		return n;
	}
	/* A scoped socket lists in the order its "keys" line gives. */
	for (k = 0; k < c->scope->nkeys; k++) {
		for (i = 0; i < count; i++) {
			id = idtab_at(ag->idtab, i);
			if (sshx_key_fingerprint(id->key, fp) != 0 ||
			    !selects(c->scope->keys[k], id, fp))
				continue;
			if (scope_permits(ag, c, id, NULL, 0, &conf, NULL, 0))
				n = add_unique(v, n, max, id);
		}
	}
	return n;
}

void
scope_fwd_prompt(const struct conn *c, const char *comment, const char *fp,
    char *out, size_t outlen)
{
	char dest[SSHX_FP_LEN] = "(unknown)", via[SSHX_FP_LEN] = "(unknown)";
	size_t i, at = 0;

	/* The forwarding host: the last hop that relays the agent. */
	for (i = c->nbinds; i > 0; i--) {
		if (c->binds[i - 1].forwarding) {
			at = i;
			if (sshx_key_fingerprint(c->binds[i - 1].hostkey, via) != 0)
				strcpy(via, "(unknown)");
			break;
		}
	}
	/* A bind after it is the host that the forwarding host logs in to. */
	if (at < c->nbinds && sshx_key_fingerprint(c->binds[c->nbinds - 1].hostkey,
	    dest) != 0)
		strcpy(dest, "(unknown)");
	if (at < c->nbinds)
		snprintf(out, outlen, "Allow forwarded use of key %s?\n"
		    "Key fingerprint %s.\nForwarded to the host with key %s;\n"
		    "destination host key %s.", comment, fp, via, dest);
	else
		snprintf(out, outlen, "Allow forwarded use of key %s?\n"
		    "Key fingerprint %s.\nForwarded to the host with key %s;\n"
		    "no further destination named.", comment, fp, via);
}
