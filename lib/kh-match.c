/*
 * Hosts as known_hosts files write them, OpenSSH pattern matching, and the
 * HMAC-SHA1 hashed names of ssh-keygen -H (run a million times in a hashed
 * export: one libgcrypt handle, re-keyed per name, nothing allocated).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gcrypt.h>

#include "b64.h"
#include "crypto.h"
#include "err.h"
#include "kh.h"
#include "kh-int.h"

/* Longest derivation key whose keyed state is kept between calls. */
#define DERIVE_KEY_MAX	64

struct sshx_kh_hasher {
	gcry_md_hd_t md;	/* HMAC-SHA1, re-keyed for every name (the salt) */
	gcry_md_hd_t derive;	/* HMAC-SHA1 under the derivation key, keyed once */
	uint8_t derive_key[DERIVE_KEY_MAX];
	size_t derive_keylen;	/* 0: not keyed yet */
};

/* Writes "name" for port 22 and "[name]:port" otherwise, with its length. */
int
kh_host_text(const char *name, int port, char out[static SSHX_KH_HOSTPORT_SIZE],
    size_t *lenp)
{
	char digits[5];
	size_t n, o = 0, d = 0;

	*lenp = 0;
	out[0] = '\0';
	if (name == NULL || port < 1 || port > PORT_MAX)
		return SSHX_ERR_INVALID_ARGUMENT;
	if ((n = strnlen(name, SSHX_KH_NAME_MAX + 1)) > SSHX_KH_NAME_MAX)
		return SSHX_ERR_NO_BUFFER_SPACE;
	if (n == 0)
		return SSHX_ERR_INVALID_ARGUMENT;
	if (port == DEFAULT_PORT) {
		memcpy(out, name, n);
		out[n] = '\0';
		*lenp = n;
		return 0;
	}
	out[o++] = '[';
	memcpy(out + o, name, n);
	o += n;
	out[o++] = ']';
	out[o++] = ':';
	for (; port > 0; port /= 10)
		digits[d++] = (char)('0' + port % 10);
	while (d > 0)
		out[o++] = digits[--d];
	out[o] = '\0';
	*lenp = o;
	return 0;
}

int
sshx_kh_format_host(const struct sshx_kh_host *h, char out[static SSHX_KH_HOSTPORT_SIZE])
{
	size_t n;

	out[0] = '\0';
	if (h == NULL)
		return SSHX_ERR_INVALID_ARGUMENT;
	if (!h->hashed)
		return kh_host_text(h->name, h->port, out, &n);
	if ((n = strnlen(h->name, sizeof(h->name))) >= sizeof(h->name))
		return SSHX_ERR_NO_BUFFER_SPACE;
	memcpy(out, h->name, n + 1);
	return 0;
}

/*
 * Matches text against one glob ('*' any run, '?' one byte), ignoring ASCII
 * case. Iterative with one backtracking point, so any pattern costs at most
 * len(pattern) * len(text) steps, where OpenSSH's recursion can take
 * exponential time on "*a*a*a...".
 */
static int
glob_match(const char *p, size_t plen, const char *s, size_t slen)
{
	size_t pi = 0, si = 0, star = 0, mark = 0;
	int have_star = 0;

	while (si < slen) {
		if (pi < plen && p[pi] == '*') {
			have_star = 1;
			star = pi++;
			mark = si;
		} else if (pi < plen && (p[pi] == '?' ||
		    kh_lower((unsigned char)p[pi]) == kh_lower((unsigned char)s[si]))) {
			pi++;
			si++;
		} else if (have_star) {
			pi = star + 1;
			si = ++mark;
		} else {
			return 0;
		}
	}
	while (pi < plen && p[pi] == '*')
		pi++;
	return pi == plen;
}

int
sshx_kh_match_patterns(const char *patterns, const char *name, int port)
{
	char host[SSHX_KH_HOSTPORT_SIZE];
	const char *p, *end, *comma;
	size_t hlen, elen;
	int negated, positive = 0;

	if (patterns == NULL || kh_host_text(name, port, host, &hlen) != 0)
		return 0;
	p = patterns;
	end = p + strlen(p);
	for (;;) {
		comma = memchr(p, ',', (size_t)(end - p));
		elen = (size_t)((comma == NULL ? end : comma) - p);
		negated = elen > 0 && p[0] == '!';
		if (negated) {
			p++;
			elen--;
		}
		/* As match_pattern_list: one negated match outweighs any positive one. */
		if (elen > 0 && glob_match(p, elen, host, hlen)) {
			if (negated)
				return 0;
			positive = 1;
		}
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	return positive;
}

struct sshx_kh_hasher *
sshx_kh_hasher_new(void)
{
	struct sshx_kh_hasher *hs;

	if ((hs = calloc(1, sizeof(*hs))) == NULL)
		return NULL;
	if (gcry_md_open(&hs->md, GCRY_MD_SHA1, GCRY_MD_FLAG_HMAC) != 0) {
		free(hs);
		return NULL;
	}
	if (gcry_md_open(&hs->derive, GCRY_MD_SHA1, GCRY_MD_FLAG_HMAC) != 0) {
		gcry_md_close(hs->md);
		free(hs);
		return NULL;
	}
	return hs;
}

void
sshx_kh_hasher_free(struct sshx_kh_hasher *hs)
{
	if (hs == NULL)
		return;
	/* libgcrypt wipes the HMAC pads when it closes the handle. */
	gcry_md_close(hs->md);
	gcry_md_close(hs->derive);
	explicit_bzero(hs->derive_key, sizeof(hs->derive_key));
	free(hs);
}

/* Computes HMAC-SHA1(key, data), re-keying hs's handle or, when hs is NULL, a temporary one. */
static int
hmac_sha1(struct sshx_kh_hasher *hs, const uint8_t *key, size_t keylen,
    const void *data, size_t len, uint8_t out[static SHA1_LEN])
{
	gcry_md_hd_t tmp = NULL, md;
	const unsigned char *mac;
	int r = SSHX_ERR_CRYPTO;

	if (hs == NULL) {
		if (gcry_md_open(&tmp, GCRY_MD_SHA1, GCRY_MD_FLAG_HMAC) != 0)
			return SSHX_ERR_CRYPTO;
		md = tmp;
	} else
		md = hs->md;
	if (gcry_md_setkey(md, key, keylen) != 0)
		goto out;
	/* Back to the state right after keying, whatever the last call left. */
	gcry_md_reset(md);
	gcry_md_write(md, data, len);
	if ((mac = gcry_md_read(md, GCRY_MD_SHA1)) == NULL)
		goto out;
	memcpy(out, mac, SHA1_LEN);
	r = 0;
 out:
	if (tmp != NULL)
		gcry_md_close(tmp);
	return r;
}

int
sshx_kh_hash_host(struct sshx_kh_hasher *hs, const uint8_t salt[static SSHX_KH_SALT_LEN],
    const char *name, int port, char out[static SSHX_KH_HASHED_SIZE])
{
	char host[SSHX_KH_HOSTPORT_SIZE];
	uint8_t mac[SHA1_LEN];
	size_t hlen, o;
	int r;

	out[0] = '\0';
	if ((r = kh_host_text(name, port, host, &hlen)) != 0 ||
	    (r = hmac_sha1(hs, salt, SSHX_KH_SALT_LEN, host, hlen, mac)) != 0)
		return r;
	memcpy(out, HASH_MAGIC, HASH_MAGIC_LEN);
	o = HASH_MAGIC_LEN;
	o += sshx_b64_encode_raw(salt, SSHX_KH_SALT_LEN, out + o, 1);
	out[o++] = '|';
	(void)sshx_b64_encode_raw(mac, sizeof(mac), out + o, 1);
	return 0;
}

int
sshx_kh_derive_salt(struct sshx_kh_hasher *hs, const uint8_t *key, size_t keylen,
    const char *name, int port, uint8_t salt[static SSHX_KH_SALT_LEN])
{
	char host[SSHX_KH_HOSTPORT_SIZE];
	size_t hlen;
	int r;

	const unsigned char *mac;

	memset(salt, 0, SSHX_KH_SALT_LEN);
	if (key == NULL || keylen == 0)
		return SSHX_ERR_INVALID_ARGUMENT;
	if ((r = kh_host_text(name, port, host, &hlen)) != 0)
		return r;
	if (hs == NULL || keylen > DERIVE_KEY_MAX)
		return hmac_sha1(hs, key, keylen, host, hlen, salt);
	/* The key is the same for a whole export: key the handle once, then only reset it. */
	if (hs->derive_keylen != keylen ||
	    !sshx_crypto_equal(hs->derive_key, key, keylen)) {
		hs->derive_keylen = 0;
		if (gcry_md_setkey(hs->derive, key, keylen) != 0)
			return SSHX_ERR_CRYPTO;
		memcpy(hs->derive_key, key, keylen);
		hs->derive_keylen = keylen;
	}
	gcry_md_reset(hs->derive);
	gcry_md_write(hs->derive, host, hlen);
	if ((mac = gcry_md_read(hs->derive, GCRY_MD_SHA1)) == NULL)
		return SSHX_ERR_CRYPTO;
	memcpy(salt, mac, SSHX_KH_SALT_LEN);
	return 0;
}

int
sshx_kh_hashed_matches(struct sshx_kh_hasher *hs, const char *hashed,
    const char *name, int port)
{
	char host[SSHX_KH_HOSTPORT_SIZE];
	uint8_t salt[SSHX_KH_SALT_LEN], hash[SHA1_LEN], mac[SHA1_LEN];
	size_t hlen;

	if (hashed == NULL ||
	    kh_parse_hashed(hashed, strnlen(hashed, SSHX_KH_HASHED_SIZE), salt, hash,
	    NULL) != 0 ||
	    kh_host_text(name, port, host, &hlen) != 0 ||
	    hmac_sha1(hs, salt, sizeof(salt), host, hlen, mac) != 0)
		return 0;
	return sshx_crypto_equal(mac, hash, sizeof(mac));
}

/* Export order: strongest and most common first, as ssh offers them. */
int
sshx_kh_type_rank(const char *type)
{
	static const char *const order[] = {
		"ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
		"ecdsa-sha2-nistp521", "ssh-rsa", "ssh-dss",
	};
	size_t i;

	if (type == NULL)
		return 9;
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (strcmp(type, order[i]) == 0)
			return (int)i;
	return 9;
}
