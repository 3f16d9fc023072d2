/*
 * Destination constraints (restrict-destination-v00@openssh.com, OpenSSH
 * PROTOCOL.agent): parsing what ssh-add -h sends, and deciding from the
 * session binds of a connection whether a key may be used there.
 */
#include "config.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "conn.h"
#include "dest.h"
#include "err.h"
#include "key.h"
#include "sigdata.h"

/* Frees what a hop holds and clears it. */
static void
hop_clear(struct dest_hop *h)
{
	size_t i;

	for (i = 0; i < h->nkeys; i++)
		free(h->keys[i]);
	free(h->keys);
	free(h->keylens);
	free(h->is_ca);
	free(h->user);
	free(h->hostname);
	memset(h, 0, sizeof(*h));
}

void
dest_free(struct dest_set *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n; i++) {
		hop_clear(&set->v[i].from);
		hop_clear(&set->v[i].to);
	}
	free(set->v);
	free(set->wire);
	free(set);
}

int
dest_put(const struct dest_set *set, struct sshx_buf *b)
{
	return sshx_buf_put_string(b, set->wire, set->wirelen);
}

/* Reads a user or host name; an empty one means "not given" (NULL). */
static int
get_name(struct sshx_buf *b, char **out)
{
	size_t len;
	int r;

	*out = NULL;
	if ((r = sshx_buf_get_cstring(b, out, &len)) != 0)
		return r;
	if (len > DEST_MAX_NAME) {
		free(*out);
		*out = NULL;
		return SSHX_ERR_STRING_TOO_LARGE;
	}
	if (len == 0) {
		free(*out);
		*out = NULL;
	}
	return 0;
}

/* Appends one host key blob and its CA flag to a hop. */
static int
hop_add_key(struct dest_hop *h, const uint8_t *blob, size_t len, uint8_t ca)
{
	uint8_t **nk, *nca;
	size_t *nl;

	if (h->nkeys >= DEST_MAX_HOP_KEYS)
		return SSHX_ERR_LIMIT;
	if (len == 0 || len > DEST_MAX_KEY_BLOB)
		return SSHX_ERR_INVALID_FORMAT;
	if ((nk = reallocarray(h->keys, h->nkeys + 1, sizeof(*nk))) == NULL)
		return SSHX_ERR_ALLOC;
	h->keys = nk;
	if ((nl = reallocarray(h->keylens, h->nkeys + 1, sizeof(*nl))) == NULL)
		return SSHX_ERR_ALLOC;
	h->keylens = nl;
	if ((nca = reallocarray(h->is_ca, h->nkeys + 1, sizeof(*nca))) == NULL)
		return SSHX_ERR_ALLOC;
	h->is_ca = nca;
	if ((h->keys[h->nkeys] = malloc(len)) == NULL)
		return SSHX_ERR_ALLOC;
	memcpy(h->keys[h->nkeys], blob, len);
	h->keylens[h->nkeys] = len;
	h->is_ca[h->nkeys] = ca;
	h->nkeys++;
	return 0;
}

/*
 * Reads one hop: string user, string hostname, string reserved (must be
 * empty), then (string key, bool is_ca) pairs to the end of b.
 */
static int
parse_hop(struct sshx_buf *b, struct dest_hop *h)
{
	const uint8_t *p;
	size_t len;
	uint8_t ca;
	int r;

	if ((r = get_name(b, &h->user)) != 0 ||
	    (r = get_name(b, &h->hostname)) != 0 ||
	    (r = sshx_buf_get_string_direct(b, &p, &len)) != 0)
		return r;
	if (len != 0)
		return SSHX_ERR_CONSTRAINT;	/* hop extensions: none known */
	while (sshx_buf_len(b) > 0) {
		if ((r = sshx_buf_get_string_direct(b, &p, &len)) != 0 ||
		    (r = sshx_buf_get_u8(b, &ca)) != 0)
			return r;
		if (ca > 1)
			return SSHX_ERR_INVALID_FORMAT;
		if ((r = hop_add_key(h, p, len, ca)) != 0)
			return r;
	}
	return 0;
}

/* Reads one constraint (a string holding from-hop, to-hop and reserved). */
static int
parse_one(struct sshx_buf *m, struct dest_constraint *dc)
{
	struct sshx_buf *b = NULL, *from = NULL, *to = NULL;
	const uint8_t *p;
	size_t len;
	int r;

	if ((r = sshx_buf_froms(m, &b)) != 0 ||
	    (r = sshx_buf_froms(b, &from)) != 0 ||
	    (r = sshx_buf_froms(b, &to)) != 0 ||
	    (r = sshx_buf_get_string_direct(b, &p, &len)) != 0)
		goto out;
	r = SSHX_ERR_CONSTRAINT;
	if (len != 0 || sshx_buf_len(b) != 0)
		goto out;
	if ((r = parse_hop(from, &dc->from)) != 0 ||
	    (r = parse_hop(to, &dc->to)) != 0)
		goto out;
	/* As OpenSSH: "from" is all empty or a host with keys; "to" is complete. */
	r = SSHX_ERR_CONSTRAINT;
	if ((dc->from.hostname == NULL) != (dc->from.nkeys == 0) ||
	    dc->from.user != NULL)
		goto out;
	if (dc->to.hostname == NULL || dc->to.nkeys == 0)
		goto out;
	r = 0;
 out:
	sshx_buf_free(b);
	sshx_buf_free(from);
	sshx_buf_free(to);
	return r;
}

int
dest_parse(struct sshx_buf *m, struct dest_set **setp)
{
	struct dest_set *set = NULL;
	struct dest_constraint *nv;
	struct sshx_buf *b = NULL;
	int r;

	*setp = NULL;
	if ((r = sshx_buf_froms(m, &b)) != 0)
		return r;
	if ((set = calloc(1, sizeof(*set))) == NULL ||
	    (set->wire = malloc(sshx_buf_len(b) + 1)) == NULL) {
		r = SSHX_ERR_ALLOC;
		goto out;
	}
	memcpy(set->wire, sshx_buf_ptr(b), sshx_buf_len(b));
	set->wirelen = sshx_buf_len(b);
	while (sshx_buf_len(b) > 0) {
		if (set->n >= DEST_MAX_CONSTRAINTS) {
			r = SSHX_ERR_LIMIT;
			goto out;
		}
		if ((nv = reallocarray(set->v, set->n + 1, sizeof(*nv))) == NULL) {
			r = SSHX_ERR_ALLOC;
			goto out;
		}
		set->v = nv;
		memset(&set->v[set->n], 0, sizeof(*set->v));
		set->n++;	/* counted now so that a failure frees it */
		if ((r = parse_one(b, &set->v[set->n - 1])) != 0)
			goto out;
	}
	if (set->n == 0) {
		r = SSHX_ERR_CONSTRAINT;
		goto out;
	}
	*setp = set;
	set = NULL;	/* transferred */
	r = 0;
 out:
	dest_free(set);
	sshx_buf_free(b);
	return r;
}

int
dest_has_ca(const struct dest_set *set)
{
	size_t i, k;

	for (i = 0; i < set->n; i++) {
		for (k = 0; k < set->v[i].from.nkeys; k++)
			if (set->v[i].from.is_ca[k])
				return 1;
		for (k = 0; k < set->v[i].to.nkeys; k++)
			if (set->v[i].to.is_ca[k])
				return 1;
	}
	return 0;
}

/*
 * Returns 1 when the hop lists key as a plain host key. CA entries never
 * match: bound host keys are plain keys here (host certificates are not
 * supported), so a CA can vouch for none of them.
 */
static int
hop_has_key(const struct dest_hop *h, const struct sshx_key *key)
{
	const uint8_t *blob;
	size_t i, len;

	if (key == NULL)
		return 0;
	blob = sshx_key_blob(key, &len);
	for (i = 0; i < h->nkeys; i++)
		if (!h->is_ca[i] && h->keylens[i] == len &&
		    memcmp(h->keys[i], blob, len) == 0)
			return 1;
	return 0;
}

/*
 * Returns 1 when one constraint allows the hop from fromkey (NULL: the
 * first hop, from this host) to tokey (NULL: anywhere) for user (NULL: not
 * checked), as OpenSSH's permitted_by_dest_constraints.
 */
static int
hop_permitted(const struct dest_set *set, const struct sshx_key *fromkey,
    const struct sshx_key *tokey, const char *user)
{
	const struct dest_constraint *d;
	size_t i;

	for (i = 0; i < set->n; i++) {
		d = &set->v[i];
		if (fromkey == NULL) {
			if (d->from.hostname != NULL || d->from.nkeys != 0)
				continue;
		} else if (!hop_has_key(&d->from, fromkey))
			continue;
		if (tokey != NULL && !hop_has_key(&d->to, tokey))
			continue;
		if (d->to.user != NULL && user != NULL &&
		    fnmatch(d->to.user, user, FNM_NOESCAPE) != 0)
			continue;
		return 1;
	}
	return 0;
}

int
dest_permitted(const struct dest_set *set, const struct conn *c,
    const char *user, char *why, size_t whylen)
{
	const struct session_bind *last;
	const struct sshx_key *fromkey = NULL;
	char fp[SSHX_FP_LEN];
	size_t i;

	if (c->nbinds == 0) {
		sshx_why(why, whylen, "the key is restricted to destinations "
		    "and the connection is bound to no host (no session-bind)");
		return 0;
	}
	for (i = 0; i < c->nbinds; i++) {
		/* The user is known only for the last hop, the one signed for. */
		if (!hop_permitted(set, fromkey, c->binds[i].hostkey,
		    i == c->nbinds - 1 ? user : NULL)) {
			if (sshx_key_fingerprint(c->binds[i].hostkey, fp) != 0)
				strcpy(fp, "(unknown)");
			sshx_why(why, whylen, "destination restrictions do not "
			    "permit hop %zu (host key %s%s%s)", i + 1, fp,
			    user != NULL && i == c->nbinds - 1 ? ", user " : "",
			    user != NULL && i == c->nbinds - 1 ? user : "");
			return 0;
		}
		fromkey = c->binds[i].hostkey;
	}
	/*
	 * Listing on a forwarded connection: show only keys that may be used
	 * beyond the forwarding host, not just to log in to it.
	 */
	last = &c->binds[c->nbinds - 1];
	if (last->forwarding && user == NULL &&
	    !hop_permitted(set, last->hostkey, NULL, NULL)) {
		sshx_why(why, whylen, "destination restrictions permit the key "
		    "at the forwarding host but not beyond it");
		return 0;
	}
	return 1;
}

/* Returns 1 when the signature algorithm name pkalg fits key's type. */
static int
alg_fits(const uint8_t *alg, size_t len, const struct sshx_key *key)
{
	enum sshx_key_type t = sshx_key_type(key);

	if (t == SSHX_KEY_RSA && ((len == 12 && memcmp(alg, "rsa-sha2-256",
	    12) == 0) || (len == 12 && memcmp(alg, "rsa-sha2-512", 12) == 0)))
		return 1;
	return sshx_key_type_from_name(alg, len) == t;
}

/* Returns 1 when the len bytes at p are exactly the C string s. */
static int
is_str(const uint8_t *p, size_t len, const char *s)
{
	return len == strlen(s) && memcmp(p, s, len) == 0;
}

int
dest_check_userauth(const uint8_t *data, size_t dlen,
    const struct sshx_key *key, const struct conn *c, char **userp,
    char *why, size_t whylen)
{
	const struct session_bind *last;
	struct sshx_userauth ua;
	const uint8_t *blob;
	size_t len;

	*userp = NULL;
	if (c->nbinds == 0) {
		sshx_why(why, whylen, "the connection is bound to no host");
		return SSHX_ERR_PERMISSION;
	}
	last = &c->binds[c->nbinds - 1];
	if (sshx_userauth_parse(data, dlen, &ua) != 0 ||
	    !is_str(ua.service, ua.servicelen, "ssh-connection") ||
	    !alg_fits(ua.alg, ua.alglen, key)) {
		sshx_why(why, whylen, "the data is not an SSH public key "
		    "authentication request for this key");
		return SSHX_ERR_INVALID_FORMAT;
	}
	blob = sshx_key_blob(key, &len);
	if (ua.keylen != len || memcmp(ua.key, blob, len) != 0) {
		sshx_why(why, whylen, "the authentication request names "
		    "another key");
		return SSHX_ERR_INVALID_FORMAT;
	}
	/* ssh binds the session just before it authenticates in it. */
	if (ua.sidlen != last->sidlen || memcmp(ua.sid, last->sid,
	    ua.sidlen) != 0) {
		sshx_why(why, whylen, "the request is for another session than "
		    "the one last bound to the connection");
		return SSHX_ERR_PERMISSION;
	}
	if (c->nbinds > 1 && ua.hostkey == NULL) {
		sshx_why(why, whylen, "a forwarded request does not name the "
		    "host key it is for");
		return SSHX_ERR_PERMISSION;
	}
	if (ua.hostkey != NULL) {
		blob = sshx_key_blob(last->hostkey, &len);
		if (ua.hostkeylen != len || memcmp(ua.hostkey, blob, len) != 0) {
			sshx_why(why, whylen, "the request names another host "
			    "key than the session last bound");
			return SSHX_ERR_PERMISSION;
		}
	}
	if ((*userp = strndup((const char *)ua.user, ua.userlen)) == NULL)
		return SSHX_ERR_ALLOC;
	return 0;
}
