/*
 * Internals shared by lib/kh.c (names, hosts, lines), lib/kh-key.c (key
 * validation) and lib/kh-match.c (writing, matching and hashing hosts).
 */
#ifndef SSHX_KH_INT_H
#define SSHX_KH_INT_H

#include <stddef.h>
#include <stdint.h>

#include "key.h"
#include "kh.h"

#define DEFAULT_PORT	22
#define PORT_MAX	65535

/* Bytes of untrusted text quoted in a message before it is cut short. */
#define SHOWN_MAX	64
/* Room for SHOWN_MAX bytes each escaped as \xHH, "..." and a NUL. */
#define SHOWN_SIZE	(SHOWN_MAX * 4 + 4)

/* Base64 length of SSHX_KH_SALT_LEN bytes, with its one '=' of padding. */
#define B64_SALT_LEN	28
#define HASH_MAGIC	"|1|"
#define HASH_MAGIC_LEN	3

#define SHA1_LEN	20

#define CERT_SUFFIX	"-cert-v01@openssh.com"
#define CERT_SUFFIX_LEN	(sizeof(CERT_SUFFIX) - 1)

/* FIPS 186 sizes of a DSA key accepted with SSHX_KH_ALLOW_WEAK. */
#define DSA_P_MIN_BITS	1024
#define DSA_P_MAX_BITS	3072
/* The floor sshx_key_from_blob applies to RSA whatever the policy. */
#define RSA_FLOOR_BITS	1024

#define WHY_PATTERN_LINE "wildcard patterns are not host names; only " \
	"@cert-authority and @revoked lines may use patterns"

/* Where a caller wants the reason for a failure; s may be NULL. */
struct why {
	char *s;
	size_t len;
};

/* Returns a reason holder over the caller's buffer (s may be NULL), emptied. */
struct why kh_why_init(char *s, size_t len);
/* Replaces the reason with a formatted message; returns r. */
int kh_why_set(struct why *w, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Appends context to the reason already given, as far as it fits. */
void kh_why_add(struct why *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Writes untrusted text fit to quote in a message (escaped, cut short); returns out. */
const char *kh_show(const char *s, size_t len, char out[static SHOWN_SIZE]);
/* Lowercases ASCII only, whatever the locale. */
unsigned char kh_lower(unsigned char c);
int kh_is_hex_digit(unsigned char c);
/* Splits a hashed name "|1|salt|hash" into its two decoded halves. */
int kh_parse_hashed(const char *s, size_t len, uint8_t salt[static SSHX_KH_SALT_LEN],
    uint8_t hash[static SSHX_KH_SALT_LEN], struct why *w);
/* Checks a key type field: known to sshx (DSA included, for the policy to judge). */
int kh_check_type(const char *t, size_t len, enum sshx_key_type *typep, struct why *w);
/* Validates TYPE and BASE64 text as a public key under the policy flags; fills out. */
int kh_parse_key(const char *type, size_t typelen, const char *b64, size_t b64len,
    int flags, struct sshx_kh_line *out, struct why *w);
/* Writes a host as known_hosts shows it ("name" or "[name]:port"); *lenp gets its length. */
int kh_host_text(const char *name, int port, char out[static SSHX_KH_HOSTPORT_SIZE],
    size_t *lenp);

#endif
