/*
 * Classifying the data a client asks the agent to sign (sigdata.h). Reads
 * through a read-only wire buffer, so every length is checked before use.
 */
#include "config.h"

#include <string.h>

#include "buf.h"
#include "err.h"
#include "key.h"
#include "sigdata.h"

/* The byte that starts a userauth request (RFC 4252 section 6). */
#define SSH2_MSG_USERAUTH_REQUEST	50
#define SSHSIG_MAGIC			"SSHSIG"
#define SSHSIG_MAGIC_LEN		6
#define METHOD_PUBLICKEY		"publickey"
#define METHOD_HOSTBOUND		"publickey-hostbound-v00@openssh.com"

void
sshx_sigdata_text(char *out, size_t outlen, const uint8_t *s, size_t len)
{
	size_t i, n;

	if (out == NULL || outlen == 0)
		return;
	n = len < outlen - 1 ? len : outlen - 1;
	for (i = 0; i < n; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? (char)s[i] : '?';
	out[n] = '\0';
	if (len > outlen - 1 && outlen >= 4)
		memcpy(out + outlen - 4, "...", 4);
}

const char *
sshx_sigdata_kind_name(enum sshx_sigdata_kind kind)
{
	switch (kind) {
	case SSHX_SIGDATA_USERAUTH:
		return "userauth";
	case SSHX_SIGDATA_SSHSIG:
		return "sshsig";
	default:
		return "unknown";
	}
}

/* Reads a string of at most max bytes; 0 or -1. */
static int
get_capped(struct sshx_buf *b, size_t max, const uint8_t **p, size_t *len)
{
	if (sshx_buf_get_string_direct(b, p, len) != 0 || *len > max)
		return -1;
	return 0;
}

/* Returns 1 when the len bytes at p are exactly the C string s. */
static int
equals(const uint8_t *p, size_t len, const char *s)
{
	return len == strlen(s) && memcmp(p, s, len) == 0;
}

int
sshx_userauth_parse(const uint8_t *data, size_t len, struct sshx_userauth *ua)
{
	struct sshx_buf *b;
	const uint8_t *method;
	size_t mlen;
	uint8_t type, has_sig;
	int r = SSHX_ERR_INVALID_FORMAT;

	memset(ua, 0, sizeof(*ua));
	if (data == NULL || len == 0 || (b = sshx_buf_from(data, len)) == NULL)
		return r;
	if (get_capped(b, SSHX_SIGDATA_MAX_SID, &ua->sid, &ua->sidlen) != 0 ||
	    ua->sidlen == 0 ||
	    sshx_buf_get_u8(b, &type) != 0 || type != SSH2_MSG_USERAUTH_REQUEST ||
	    get_capped(b, SSHX_SIGDATA_MAX_NAME, &ua->user, &ua->userlen) != 0 ||
	    memchr(ua->user, '\0', ua->userlen) != NULL ||
	    get_capped(b, SSHX_SIGDATA_MAX_NAME, &ua->service,
	    &ua->servicelen) != 0 ||
	    get_capped(b, SSHX_SIGDATA_MAX_NAME, &method, &mlen) != 0 ||
	    sshx_buf_get_u8(b, &has_sig) != 0 || has_sig != 1 ||
	    get_capped(b, SSHX_SIGDATA_MAX_NAME, &ua->alg, &ua->alglen) != 0 ||
	    get_capped(b, SSHX_SIGDATA_MAX_BLOB, &ua->key, &ua->keylen) != 0 ||
	    ua->keylen == 0)
		goto out;
	if (equals(method, mlen, METHOD_HOSTBOUND)) {
		if (get_capped(b, SSHX_SIGDATA_MAX_BLOB, &ua->hostkey,
		    &ua->hostkeylen) != 0 || ua->hostkeylen == 0)
			goto out;
	} else if (!equals(method, mlen, METHOD_PUBLICKEY))
		goto out;
	if (sshx_buf_len(b) == 0)
		r = 0;
 out:
	sshx_buf_free(b);
	if (r != 0)
		memset(ua, 0, sizeof(*ua));
	return r;
}

/* "SSHSIG", string namespace, string reserved, string hash_alg, string hash. */
static int
parse_sshsig(struct sshx_buf *b, struct sshx_sigdata *out)
{
	const uint8_t *ns, *reserved, *halg, *hash;
	size_t nslen, rlen, hlen, hashlen;

	if (sshx_buf_consume(b, SSHSIG_MAGIC_LEN) != 0 ||
	    get_capped(b, SSHX_SIGDATA_MAX_NAME, &ns, &nslen) != 0 ||
	    nslen == 0 || memchr(ns, '\0', nslen) != NULL ||
	    get_capped(b, SSHX_SIGDATA_MAX_NAME, &reserved, &rlen) != 0 ||
	    get_capped(b, SSHX_SIGDATA_MAX_NAME, &halg, &hlen) != 0 || hlen == 0 ||
	    get_capped(b, SSHX_SIGDATA_MAX_NAME, &hash, &hashlen) != 0 ||
	    hashlen == 0 || sshx_buf_len(b) != 0)
		return -1;
	sshx_sigdata_text(out->ns, sizeof(out->ns), ns, nslen);
	return 0;
}

enum sshx_sigdata_kind
sshx_sigdata_parse(const uint8_t *data, size_t len, struct sshx_sigdata *out)
{
	struct sshx_userauth ua;
	struct sshx_buf *b;
	int sshsig;

	memset(out, 0, sizeof(*out));
	if (data == NULL || len == 0 || (b = sshx_buf_from(data, len)) == NULL)
		return out->kind;
	/* A userauth request starts with a length, never with "SSHSIG". */
	sshsig = len >= SSHSIG_MAGIC_LEN &&
	    memcmp(data, SSHSIG_MAGIC, SSHSIG_MAGIC_LEN) == 0;
	if (sshsig && parse_sshsig(b, out) == 0)
		out->kind = SSHX_SIGDATA_SSHSIG;
	else if (!sshsig && sshx_userauth_parse(data, len, &ua) == 0) {
		out->kind = SSHX_SIGDATA_USERAUTH;
		sshx_sigdata_text(out->user, sizeof(out->user), ua.user,
		    ua.userlen);
		if (ua.hostkey != NULL)
			sshx_key_fingerprint_blob(ua.hostkey, ua.hostkeylen,
			    out->hostkey_fp);
	} else
		memset(out, 0, sizeof(*out));
	sshx_buf_free(b);
	return out->kind;
}
