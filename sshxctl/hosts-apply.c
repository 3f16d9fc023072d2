/*
 * What the hosts commands share: a bounded line reader, and recording parsed
 * entries in the store with the conflict rules (a revoked key is not pinned
 * again; a second pinned key of one type needs the first revoked).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "kh.h"
#include "store.h"
#include "hosts.h"
#include "sshxctl.h"

/* ---- a bounded line reader ---- */

/* Refills the buffer as needed; see hosts.h. */
int
ctl_reader_next(struct line_reader *lr, const char **linep, size_t *lenp)
{
	char *nl;
	ssize_t n;
	int skipping = 0;

	for (;;) {
		nl = memchr(lr->buf + lr->start, '\n', lr->end - lr->start);
		if (nl != NULL) {
			*linep = lr->buf + lr->start;
			*lenp = (size_t)(nl - *linep);
			lr->start = (size_t)(nl - lr->buf) + 1;
			lr->lineno++;
			if (skipping || *lenp > SSHX_KH_LINE_MAX + 1)
				return SSHX_ERR_LIMIT;
			/* One byte more is allowed for the '\r' of a CRLF line. */
			if (*lenp == SSHX_KH_LINE_MAX + 1 && (*linep)[*lenp - 1] != '\r')
				return SSHX_ERR_LIMIT;
			return 1;
		}
		if (lr->end - lr->start > SSHX_KH_LINE_MAX + 1) {
			/* Too long already: drop what we have and look for its end. */
			skipping = 1;
			lr->start = lr->end = 0;
		}
		if (lr->eof) {
			if (lr->end == lr->start && !skipping)
				return 0;
			*linep = lr->buf + lr->start;
			*lenp = lr->end - lr->start;
			lr->start = lr->end;
			lr->lineno++;
			return skipping ? SSHX_ERR_LIMIT : 1;
		}
		if (lr->start > 0) {
			memmove(lr->buf, lr->buf + lr->start, lr->end - lr->start);
			lr->end -= lr->start;
			lr->start = 0;
		}
		n = read(lr->fd, lr->buf + lr->end, READ_CHUNK - lr->end);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return SSHX_ERR_SYSTEM;
		if (n == 0)
			lr->eof = 1;
		lr->end += (size_t)n;
	}
}

/* ---- applying entries to the store ---- */

/* Checks whether a key may be recorded for a host; fills a->why and returns -1 when not. */
static int
host_key_check(struct apply *a, const struct sshx_kh_host *h, int revoke,
    const struct sshx_kh_line *l, int64_t *host_idp, struct sshx_store_lookup *lk)
{
	char hp[SSHX_KH_HOSTPORT_SIZE];
	int r;

	memset(lk, 0, sizeof(*lk));
	*host_idp = 0;
	(void)sshx_kh_format_host(h, hp);
	r = sshx_store_find_host(a->s, h->name, h->port, host_idp);
	if (r == SSHX_ERR_NOT_FOUND)
		return 0;
	if (r != 0 || (r = sshx_store_lookup_key(a->s, *host_idp, l->type, l->blob,
	    l->bloblen, lk)) != 0) {
		snprintf(a->why, sizeof(a->why), "database: %s (%s)",
		    sshx_strerror(r), sshx_store_errmsg(a->s));
		return -2;
	}
	if (revoke)
		return 0;
	if (lk->same_id != 0 && lk->same_state == SSHX_STORE_REVOKED) {
		snprintf(a->why, sizeof(a->why), "%s: key %s is revoked for this "
		    "host; a revoked key is not pinned again (sshxctl hosts remove "
		    "%s --key %s removes the revocation)", hp, l->fingerprint, hp,
		    l->fingerprint);
		return -1;
	}
	if (lk->same_id == 0 && lk->other_id != 0) {
		snprintf(a->why, sizeof(a->why), "%s already has a pinned %s key %s; "
		    "this key %s differs. If the host key really changed, revoke "
		    "the old one first: sshxctl hosts revoke %s --key %s", hp,
		    l->type, lk->other_fingerprint, l->fingerprint, hp,
		    lk->other_fingerprint);
		return -1;
	}
	return 0;
}

/* Records a pinned or revoked key for a host whose check passed. */
static int
host_key_apply(struct apply *a, const struct sshx_kh_host *h, int revoke,
    const struct sshx_kh_line *l, int64_t host_id, const struct sshx_store_lookup *lk)
{
	int r;

	if (lk->same_id != 0) {
		if (revoke && lk->same_state == SSHX_STORE_PINNED) {
			if ((r = sshx_store_set_key_state(a->s, lk->same_id,
			    SSHX_STORE_REVOKED)) != 0)
				return r;
			a->revoked++;
		} else
			a->unchanged++;
		return 0;
	}
	if (host_id == 0) {
		if ((r = sshx_store_add_host(a->s, h->name, h->port, h->hashed,
		    &host_id)) != 0)
			return r;
		a->new_hosts++;
	}
	if ((r = sshx_store_add_key(a->s, host_id, l->type, l->blob, l->bloblen,
	    l->fingerprint, revoke ? SSHX_STORE_REVOKED : SSHX_STORE_PINNED,
	    a->source)) != 0)
		return r;
	if (revoke)
		a->revoked++;
	else
		a->added++;
	return 0;
}

/* Checks every host of the entry first, then records it for each; see hosts.h. */
int
ctl_apply_entry(struct apply *a, const struct sshx_kh_line *l)
{
	struct sshx_store_lookup *lks = NULL;
	int64_t *ids = NULL;
	size_t i;
	int revoke = l->marker == SSHX_KH_MARK_REVOKED, r;

	a->why[0] = '\0';
	if (l->nhosts == 0) {
		r = sshx_store_add_pattern(a->s, l->marker == SSHX_KH_MARK_CA ?
		    SSHX_STORE_MARK_CA : SSHX_STORE_MARK_REVOKED, l->pattern,
		    l->type, l->blob, l->bloblen, l->fingerprint, a->source);
		if (r == SSHX_ERR_EXISTS) {
			a->unchanged++;
			return 0;
		}
		if (r == 0)
			a->patterns++;
		return r;
	}
	if ((lks = calloc(l->nhosts, sizeof(*lks))) == NULL ||
	    (ids = calloc(l->nhosts, sizeof(*ids))) == NULL) {
		r = SSHX_ERR_ALLOC;
		goto out;
	}
	for (i = 0; i < l->nhosts; i++) {
		if ((r = host_key_check(a, &l->hosts[i], revoke, l, &ids[i],
		    &lks[i])) != 0) {
			r = r == -1 ? -1 : SSHX_ERR_INTERNAL;
			goto out;
		}
	}
	for (i = 0; i < l->nhosts; i++) {
		/* A name listed twice on one line was added by its first mention. */
		if (i > 0 && ids[i] == 0 &&
		    sshx_store_find_host(a->s, l->hosts[i].name, l->hosts[i].port,
		    &ids[i]) == 0 && (r = sshx_store_lookup_key(a->s, ids[i], l->type,
		    l->blob, l->bloblen, &lks[i])) != 0)
			goto out;
		if ((r = host_key_apply(a, &l->hosts[i], revoke, l, ids[i],
		    &lks[i])) != 0)
			goto out;
	}
	r = 0;
 out:
	free(lks);
	free(ids);
	return r;
}

int
ctl_valid_fingerprint(const char *s)
{
	size_t i, n = strlen(s);

	if (n != 7 + 43 || strncmp(s, "SHA256:", 7) != 0)
		return 0;
	for (i = 7; i < n; i++)
		if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789+/", s[i]) == NULL)
			return 0;
	return 1;
}

