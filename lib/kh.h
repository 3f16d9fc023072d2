/*
 * known_hosts text as sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT" describes it and
 * as Paramiko reads it: host names and ports, whole lines (markers, comma
 * lists, [host]:port, hashed |1| names), key validation and hashing.
 *
 * Everything here is strict: a name that could inject a line, a field or a
 * pattern into a known_hosts file is refused with a reason a person can act on.
 */
#ifndef SSHX_KH_H
#define SSHX_KH_H

#include <stddef.h>
#include <stdint.h>

#include "key.h"

/* Longest host name (DNS limit). */
#define SSHX_KH_NAME_MAX	255
/* Longest known_hosts line accepted, without its newline. */
#define SSHX_KH_LINE_MAX	(64 * 1024)
/* Most names in one comma-separated host field. */
#define SSHX_KH_HOSTS_MAX	256
/* Length of a hashed name's salt and HMAC-SHA1 (ssh-keygen -H). */
#define SSHX_KH_SALT_LEN	20
/* Size of a hashed name "|1|" b64(20) "|" b64(20) with its NUL. */
#define SSHX_KH_HASHED_SIZE	(3 + 28 + 1 + 28 + 1)
/* Size of a host as written in a file: "[" name "]:" port, NUL. */
#define SSHX_KH_HOSTPORT_SIZE	(1 + SSHX_KH_NAME_MAX + 2 + 5 + 1)
/* Longest key type name accepted. */
#define SSHX_KH_TYPE_MAX	64

/* One host: a lowercase name and port, or a hashed name (port 0). */
struct sshx_kh_host {
	char name[SSHX_KH_NAME_MAX + 1];	/* lowercase; or "|1|salt|hash" */
	int port;				/* 1..65535; 0 when hashed */
	int hashed;
};

enum sshx_kh_marker {
	SSHX_KH_MARK_NONE = 0,
	SSHX_KH_MARK_REVOKED,		/* @revoked */
	SSHX_KH_MARK_CA,		/* @cert-authority */
};

/* sshx_kh_parse_line flags. */
#define SSHX_KH_KEYSCAN		0x1	/* ssh-keyscan output: no markers, one host per line */
#define SSHX_KH_ALLOW_WEAK	0x2	/* accept ssh-dss and RSA of 1024..2047 bits */

/* A parsed entry line. Free the allocated parts with sshx_kh_line_clear. */
struct sshx_kh_line {
	enum sshx_kh_marker marker;
	/*
	 * Plain lines and @revoked lines naming concrete hosts: hosts[0..nhosts).
	 * @cert-authority lines, and @revoked lines whose host field holds a
	 * pattern (wildcards or negation): nhosts is 0 and pattern holds the
	 * whole field, lowercased and validated.
	 */
	struct sshx_kh_host *hosts;
	size_t nhosts;
	char *pattern;
	char type[SSHX_KH_TYPE_MAX + 1];	/* "ssh-ed25519", ... */
	uint8_t *blob;				/* decoded public key blob */
	size_t bloblen;
	unsigned int bits;			/* key size (RSA modulus bits, ...) */
	char fingerprint[SSHX_FP_LEN];		/* "SHA256:..." of blob */
};

/*
 * Checks a host name and writes its lowercase form to out (which may be
 * name itself). Accepts ASCII letters, digits, '.', '-', '_' and, for IPv6
 * literals, ':'; 1..255 bytes. Refuses, each with its own reason in why:
 * empty, too long, space, newline, other control characters, '#', a leading
 * '@', '|', ',', '*', '?', '!', '[', ']', non-ASCII bytes, anything else.
 * Returns 0 or SSHX_ERR_INVALID_FORMAT.
 */
int sshx_kh_check_name(const char *name, size_t len, char out[static SSHX_KH_NAME_MAX + 1],
    char *why, size_t whylen);

/*
 * Parses a port written in decimal (no sign, no spaces); 1..65535.
 * Returns 0 or SSHX_ERR_INVALID_FORMAT with why set.
 */
int sshx_kh_parse_port(const char *s, size_t len, int *portp, char *why, size_t whylen);

/*
 * Parses a host as given on the command line: HOST, HOST:PORT, [HOST]:PORT,
 * [HOST] or a bare IPv6 literal (two or more colons, port 22). Port defaults
 * to 22. Hashed names are refused here. Returns 0 or SSHX_ERR_INVALID_FORMAT.
 */
int sshx_kh_parse_host_arg(const char *arg, struct sshx_kh_host *h, char *why, size_t whylen);

/*
 * Parses one name of a known_hosts host field: HOST, [HOST]:PORT, [HOST]
 * (port 22) or a hashed |1|salt|hash name (20-byte salt and hash, strict
 * base64). Returns 0 or SSHX_ERR_INVALID_FORMAT.
 */
int sshx_kh_parse_host_token(const char *s, size_t len, struct sshx_kh_host *h,
    char *why, size_t whylen);

/*
 * Parses one line (without its newline; len bytes, NULs refused) of a
 * known_hosts file or of ssh-keyscan output. Fields are separated by runs of
 * spaces or tabs; anything after the key is a comment and ignored.
 * Returns 1 for a blank or comment line (out untouched), 0 for an entry (out
 * filled; clear it with sshx_kh_line_clear), or a negative SSHX_ERR_* code
 * with why saying what is wrong with the line: SSHX_ERR_LIMIT for a line over
 * SSHX_KH_LINE_MAX, SSHX_ERR_INVALID_FORMAT for bad syntax, names, ports or
 * base64, SSHX_ERR_KEY_TYPE_UNKNOWN, SSHX_ERR_KEY_TYPE_MISMATCH (the blob's
 * own type differs from the stated one), SSHX_ERR_KEY_INVALID,
 * SSHX_ERR_KEY_TOO_SMALL / SSHX_ERR_KEY_TYPE_REFUSED (RSA under 2048 bits,
 * DSA; accepted with SSHX_KH_ALLOW_WEAK).
 */
int sshx_kh_parse_line(const char *line, size_t len, int flags,
    struct sshx_kh_line *out, char *why, size_t whylen);

/* Frees what sshx_kh_parse_line allocated and zeroes *line; safe to repeat. */
void sshx_kh_line_clear(struct sshx_kh_line *line);

/*
 * Validates a public key given as TYPE and BASE64 text (hosts add): known
 * type, strict base64, blob type equal to TYPE, valid key, policy as in
 * sshx_kh_parse_line. On success fills type, blob, bloblen, bits and
 * fingerprint of out (marker NONE, no hosts); clear with sshx_kh_line_clear.
 */
int sshx_kh_parse_key(const char *type, const char *b64, size_t b64len, int flags,
    struct sshx_kh_line *out, char *why, size_t whylen);

/*
 * Writes a host as it appears in a known_hosts file and as ssh and Paramiko
 * look it up: "name" for port 22, "[name]:port" otherwise; a hashed name as
 * is. Returns 0 or SSHX_ERR_NO_BUFFER_SPACE.
 */
int sshx_kh_format_host(const struct sshx_kh_host *h, char out[static SSHX_KH_HOSTPORT_SIZE]);

/*
 * Export order of key types: ssh-ed25519 0, ecdsa-sha2-nistp256 1, -nistp384
 * 2, -nistp521 3, ssh-rsa 4, ssh-dss 5; anything else 9.
 */
int sshx_kh_type_rank(const char *type);

/*
 * Returns 1 when the host matches an OpenSSH pattern list ("*.example.com,
 * !bad.example.com,[10.0.0.?]:2222"): some positive pattern matches and no
 * negated one does; '*' and '?' wildcards. As in ssh, patterns are matched
 * against the host text of sshx_kh_format_host, so "*.example.com" matches
 * port 22 only while "*" matches every host and port. Returns 0 otherwise.
 */
int sshx_kh_match_patterns(const char *patterns, const char *name, int port);

/* A reusable HMAC-SHA1 context for hashing many names. */
struct sshx_kh_hasher;

/* Returns a new hasher, or NULL when out of memory or libgcrypt fails. */
struct sshx_kh_hasher *sshx_kh_hasher_new(void);
void sshx_kh_hasher_free(struct sshx_kh_hasher *hs);

/*
 * Writes the hashed form "|1|b64(salt)|b64(HMAC-SHA1(salt, host))" of a host
 * (host text as sshx_kh_format_host writes it), exactly as ssh-keygen -H
 * does. hs may be NULL (a temporary one is used). Returns 0 or an error.
 */
int sshx_kh_hash_host(struct sshx_kh_hasher *hs, const uint8_t salt[static SSHX_KH_SALT_LEN],
    const char *name, int port, char out[static SSHX_KH_HASHED_SIZE]);

/*
 * Derives a 20-byte salt for a host from a secret key: HMAC-SHA1(key, host
 * text). Used so that a hashed export is the same for the same input
 * (deploy diffs stay quiet) while salts stay unpredictable without the key.
 */
int sshx_kh_derive_salt(struct sshx_kh_hasher *hs, const uint8_t *key, size_t keylen,
    const char *name, int port, uint8_t salt[static SSHX_KH_SALT_LEN]);

/*
 * Returns 1 when a hashed name "|1|salt|hash" is the hash of name:port,
 * 0 when it is not (or is malformed). Compares in constant time.
 */
int sshx_kh_hashed_matches(struct sshx_kh_hasher *hs, const char *hashed,
    const char *name, int port);

#endif
