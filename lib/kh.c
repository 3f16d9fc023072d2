/*
 * known_hosts text: host names, ports, host fields and whole lines (see kh.h;
 * keys are checked in kh-key.c, hosts written, matched and hashed in kh-match.c).
 *
 * Everything read here may be hostile and everything accepted is written
 * back into known_hosts files, so every reader is bounded by an explicit
 * length (no input is assumed to be NUL-terminated) and refuses whatever
 * could inject a line, a field or a pattern. Line parsing and hashing run
 * once per host in imports and exports of a million entries, so the hot
 * paths allocate only what the result keeps.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "buf.h"
#include "err.h"
#include "key.h"
#include "kh.h"
#include "kh-int.h"

/* Returns a reason holder over the caller's buffer, emptied. */
struct why
kh_why_init(char *s, size_t len)
{
	struct why w = { s, len };

	if (s != NULL && len != 0)
		s[0] = '\0';
	return w;
}

/* Replaces the reason with a formatted message; returns r. */
int
kh_why_set(struct why *w, int r, const char *fmt, ...)
{
	va_list ap;

	if (w == NULL || w->s == NULL || w->len == 0)
		return r;
	va_start(ap, fmt);
	vsnprintf(w->s, w->len, fmt, ap);
	va_end(ap);
	return r;
}

/* Appends context to the reason already given, as far as it fits. */
void
kh_why_add(struct why *w, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (w == NULL || w->s == NULL || w->len == 0)
		return;
	n = strnlen(w->s, w->len);
	if (n + 1 >= w->len)
		return;
	va_start(ap, fmt);
	vsnprintf(w->s + n, w->len - n, fmt, ap);
	va_end(ap);
}

/*
 * Writes untrusted text fit to quote in a message: printable ASCII as is,
 * every other byte (and the quote and backslash) as \xHH, cut after
 * SHOWN_MAX bytes. Returns out.
 */
const char *
kh_show(const char *s, size_t len, char out[static SHOWN_SIZE])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char c;
	size_t i, o = 0;

	for (i = 0; i < len && i < SHOWN_MAX; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	if (len > SHOWN_MAX) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

/* Returns 1 for the bytes a host name may hold: ASCII letters, digits, '.', '-', '_', ':'. */
static int
is_name_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' || c == ':';
}

int
kh_is_hex_digit(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Lowercases ASCII only, whatever the locale. */
unsigned char
kh_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/*
 * Decodes exactly SSHX_KH_SALT_LEN bytes from strict base64 (28 characters,
 * one '=' of padding). Returns 0 or -1.
 */
static int
b64_get_salt(const char *s, size_t len, uint8_t out[static SSHX_KH_SALT_LEN])
{
	size_t got;

	if (len != B64_SALT_LEN ||
	    sshx_b64_decode_raw(s, len, out, SSHX_KH_SALT_LEN, &got) != 0 ||
	    got != SSHX_KH_SALT_LEN)
		return -1;
	return 0;
}

/* ---- Host names and ports ---- */

/* Sets the reason a host name is refused because of byte c at position i. */
static int
name_char_refused(unsigned char c, size_t i, struct why *w)
{
	const int r = SSHX_ERR_INVALID_FORMAT;

	switch (c) {
	case ' ':
		return kh_why_set(w, r, "host name contains a space");
	case '\n':
	case '\r':
		return kh_why_set(w, r, "host name contains a newline "
		    "(it would start a new known_hosts line)");
	case '#':
		return kh_why_set(w, r, "host name contains '#' (it would start a comment)");
	case '|':
		return kh_why_set(w, r, "host name contains '|' outside a hashed |1| entry");
	case ',':
		return kh_why_set(w, r, "host name contains ',' "
		    "(it separates the names of a known_hosts host field)");
	case '*':
	case '?':
		return kh_why_set(w, r, "host name contains a wildcard ('%c'); "
		    "patterns are not host names", c);
	case '@':
		if (i == 0)
			return kh_why_set(w, r, "host name starts with '@' "
			    "(it would read as a marker)");
		break;
	case '!':
		if (i == 0)
			return kh_why_set(w, r, "host name starts with '!' (negation)");
		break;
	default:
		break;
	}
	if (c < 0x20 || c == 0x7f)
		return kh_why_set(w, r, "host name contains a control character (0x%02x)", c);
	if (c >= 0x80)
		return kh_why_set(w, r, "host name contains a non-ASCII byte (0x%02x); "
		    "write an international name in its punycode (xn--) form", c);
	return kh_why_set(w, r, "host name contains the character '%c'", c);
}

/* Checks a host name (see sshx_kh_check_name); out is written only on success. */
static int
check_name(const char *name, size_t len, char *out, struct why *w)
{
	size_t i;

	if (len == 0)
		return kh_why_set(w, SSHX_ERR_INVALID_FORMAT, "host name is empty");
	if (len > SSHX_KH_NAME_MAX)
		return kh_why_set(w, SSHX_ERR_INVALID_FORMAT,
		    "host name is longer than %d bytes", SSHX_KH_NAME_MAX);
	for (i = 0; i < len; i++)
		if (!is_name_char((unsigned char)name[i]))
			return name_char_refused((unsigned char)name[i], i, w);
	/* Checked in full first: out may be name itself. */
	for (i = 0; i < len; i++)
		out[i] = (char)kh_lower((unsigned char)name[i]);
	out[len] = '\0';
	return 0;
}

/*
 * Checks a name that will stand for a host in a file: check_name, and a name
 * holding ':' must look like an IPv6 address. ssh never looks up "host:22",
 * so such a name is a port written the wrong way, not a host.
 */
static int
check_host_name(const char *name, size_t len, char *out, struct why *w)
{
	size_t i, colons = 0;
	int r;

	if ((r = check_name(name, len, out, w)) != 0)
		return r;
	for (i = 0; i < len; i++)
		if (out[i] == ':')
			colons++;
	if (colons == 0)
		return 0;
	for (i = 0; i < len; i++)
		if (!kh_is_hex_digit((unsigned char)out[i]) && out[i] != ':' && out[i] != '.')
			break;
	if (colons < 2 || i < len) {
		out[0] = '\0';
		return kh_why_set(w, SSHX_ERR_INVALID_FORMAT, "host name contains ':' but "
		    "is not an IPv6 address (write a port as [HOST]:PORT)");
	}
	return 0;
}

/* Parses a decimal port 1..65535 (see sshx_kh_parse_port). */
static int
parse_port(const char *s, size_t len, int *portp, struct why *w)
{
	char shown[SHOWN_SIZE];
	unsigned long v = 0;
	size_t i;

	*portp = 0;
	for (i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			break;
	if (len == 0 || i < len)
		return kh_why_set(w, SSHX_ERR_INVALID_FORMAT, "port '%s' is not a number",
		    kh_show(s, len, shown));
	/* Stops once past the range, so no digit string can overflow. */
	for (i = 0; i < len && v <= PORT_MAX; i++)
		v = v * 10 + (unsigned long)(s[i] - '0');
	if (v == 0 || v > PORT_MAX)
		return kh_why_set(w, SSHX_ERR_INVALID_FORMAT, "port %s is outside 1..%d",
		    kh_show(s, len, shown), PORT_MAX);
	*portp = (int)v;
	return 0;
}

/* Parses "[NAME]:PORT" or "[NAME]" (port 22); s starts with '['. */
static int
parse_bracketed(const char *s, size_t len, struct sshx_kh_host *h, struct why *w)
{
	const char *close, *rest;
	size_t restlen;
	int r;

	if ((close = memchr(s + 1, ']', len - 1)) == NULL)
		return kh_why_set(w, SSHX_ERR_INVALID_FORMAT,
		    "'[' without a closing ']' (write [HOST]:PORT)");
	rest = close + 1;
	restlen = len - (size_t)(rest - s);
	if (restlen != 0 && rest[0] != ':')
		return kh_why_set(w, SSHX_ERR_INVALID_FORMAT,
		    "unexpected text after ']' (write [HOST]:PORT)");
	if ((r = check_host_name(s + 1, (size_t)(close - s - 1), h->name, w)) != 0)
		return r;
	if (restlen == 0) {
		h->port = DEFAULT_PORT;
		return 0;
	}
	return parse_port(rest + 1, restlen - 1, &h->port, w);
}

/* Splits a hashed name "|1|salt|hash" into its two decoded halves. */
int
kh_parse_hashed(const char *s, size_t len, uint8_t salt[static SSHX_KH_SALT_LEN],
    uint8_t hash[static SSHX_KH_SALT_LEN], struct why *w)
{
	const char *p, *bar;
	size_t rem;

	if (len < HASH_MAGIC_LEN || memcmp(s, HASH_MAGIC, HASH_MAGIC_LEN) != 0)
		return kh_why_set(w, SSHX_ERR_INVALID_FORMAT,
		    "malformed hashed host name (it does not start with |1|)");
	p = s + HASH_MAGIC_LEN;
	rem = len - HASH_MAGIC_LEN;
	if ((bar = memchr(p, '|', rem)) == NULL)
		return kh_why_set(w, SSHX_ERR_INVALID_FORMAT,
		    "malformed hashed host name (no '|' between salt and hash)");
	if (b64_get_salt(p, (size_t)(bar - p), salt) != 0)
		return kh_why_set(w, SSHX_ERR_INVALID_FORMAT,
		    "malformed hashed host name (the salt is not %d bytes of base64)",
		    SSHX_KH_SALT_LEN);
	if (b64_get_salt(bar + 1, rem - (size_t)(bar - p) - 1, hash) != 0)
		return kh_why_set(w, SSHX_ERR_INVALID_FORMAT,
		    "malformed hashed host name (the hash is not %d bytes of base64)",
		    SHA1_LEN);
	return 0;
}

/* Parses one name of a host field (see sshx_kh_parse_host_token). */
static int
host_token(const char *s, size_t len, struct sshx_kh_host *h, struct why *w)
{
	uint8_t salt[SSHX_KH_SALT_LEN], hash[SHA1_LEN];
	int r;

	if (len >= HASH_MAGIC_LEN && memcmp(s, HASH_MAGIC, HASH_MAGIC_LEN) == 0) {
		if ((r = kh_parse_hashed(s, len, salt, hash, w)) != 0)
			return r;
		/* A valid hashed name is exactly 60 bytes, well within name. */
		memcpy(h->name, s, len);
		h->name[len] = '\0';
		h->hashed = 1;
		h->port = 0;
		return 0;
	}
	if (len > 0 && s[0] == '[')
		return parse_bracketed(s, len, h, w);
	if (memchr(s, ']', len) != NULL)
		return kh_why_set(w, SSHX_ERR_INVALID_FORMAT,
		    "host name has ']' without '[' (write [HOST]:PORT)");
	if ((r = check_host_name(s, len, h->name, w)) != 0)
		return r;
	h->port = DEFAULT_PORT;
	return 0;
}

/* Parses a host given on the command line (see sshx_kh_parse_host_arg). */
static int
host_arg(const char *s, size_t len, struct sshx_kh_host *h, struct why *w)
{
	const char *colon = NULL;
	size_t i, colons = 0;
	int r;

	if (len >= HASH_MAGIC_LEN && memcmp(s, HASH_MAGIC, HASH_MAGIC_LEN) == 0)
		return kh_why_set(w, SSHX_ERR_INVALID_FORMAT,
		    "hashed names cannot be given on the command line; give the host name");
	if (len > 0 && s[0] == '[')
		return parse_bracketed(s, len, h, w);
	if (memchr(s, ']', len) != NULL)
		return kh_why_set(w, SSHX_ERR_INVALID_FORMAT,
		    "host has ']' without '[' (write [HOST]:PORT)");
	for (i = 0; i < len; i++) {
		if (s[i] == ':') {
			if (colon == NULL)
				colon = s + i;
			colons++;
		}
	}
	if (colons == 1) {
		if ((r = check_name(s, (size_t)(colon - s), h->name, w)) != 0)
			return r;
		return parse_port(colon + 1, len - (size_t)(colon - s) - 1, &h->port, w);
	}
	/* No colon: a name; two or more: a bare IPv6 address. */
	if ((r = check_host_name(s, len, h->name, w)) != 0)
		return r;
	h->port = DEFAULT_PORT;
	return 0;
}

int
sshx_kh_check_name(const char *name, size_t len, char out[static SSHX_KH_NAME_MAX + 1],
    char *why, size_t whylen)
{
	struct why w = kh_why_init(why, whylen);

	if (name == NULL && len != 0)
		return kh_why_set(&w, SSHX_ERR_INVALID_FORMAT, "no host name given");
	return check_name(name, len, out, &w);
}

int
sshx_kh_parse_port(const char *s, size_t len, int *portp, char *why, size_t whylen)
{
	struct why w = kh_why_init(why, whylen);
	int dummy;

	if (portp == NULL)
		portp = &dummy;
	if (s == NULL && len != 0) {
		*portp = 0;
		return kh_why_set(&w, SSHX_ERR_INVALID_FORMAT, "no port given");
	}
	return parse_port(s == NULL ? "" : s, len, portp, &w);
}

int
sshx_kh_parse_host_arg(const char *arg, struct sshx_kh_host *h, char *why, size_t whylen)
{
	struct why w = kh_why_init(why, whylen);
	int r;

	if (h == NULL)
		return kh_why_set(&w, SSHX_ERR_INVALID_ARGUMENT, "no host given");
	memset(h, 0, sizeof(*h));
	if (arg == NULL)
		arg = "";
	if ((r = host_arg(arg, strlen(arg), h, &w)) != 0)
		memset(h, 0, sizeof(*h));
	return r;
}

int
sshx_kh_parse_host_token(const char *s, size_t len, struct sshx_kh_host *h,
    char *why, size_t whylen)
{
	struct why w = kh_why_init(why, whylen);
	int r;

	if (h == NULL || (s == NULL && len != 0))
		return kh_why_set(&w, SSHX_ERR_INVALID_ARGUMENT, "no host given");
	memset(h, 0, sizeof(*h));
	if ((r = host_token(s == NULL ? "" : s, len, h, &w)) != 0)
		memset(h, 0, sizeof(*h));
	return r;
}

/* ---- Host patterns (@cert-authority, @revoked) ---- */

/* Checks the body of one pattern: [a-z0-9._:*?-] after case folding. */
static int
check_pattern_chars(const char *s, size_t len, struct why *w)
{
	const int r = SSHX_ERR_INVALID_FORMAT;
	unsigned char c;
	size_t i;

	if (len == 0)
		return kh_why_set(w, r, "host pattern is empty");
	if (len > SSHX_KH_NAME_MAX)
		return kh_why_set(w, r, "host pattern is longer than %d bytes",
		    SSHX_KH_NAME_MAX);
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (is_name_char(c) || c == '*' || c == '?')
			continue;
		switch (c) {
		case ' ':
			return kh_why_set(w, r, "host pattern contains a space");
		case '\n':
		case '\r':
			return kh_why_set(w, r, "host pattern contains a newline "
			    "(it would start a new known_hosts line)");
		case '#':
			return kh_why_set(w, r, "host pattern contains '#' "
			    "(it would start a comment)");
		case '|':
			return kh_why_set(w, r, "host pattern contains '|' "
			    "(hashed names cannot be part of a pattern)");
		case '@':
			return kh_why_set(w, r, "host pattern contains '@'");
		case '!':
			return kh_why_set(w, r, "host pattern contains '!' after its start");
		default:
			break;
		}
		if (c < 0x20 || c == 0x7f)
			return kh_why_set(w, r, "host pattern contains a control character "
			    "(0x%02x)", c);
		if (c >= 0x80)
			return kh_why_set(w, r, "host pattern contains a non-ASCII byte "
			    "(0x%02x); write international names in punycode (xn--)", c);
		return kh_why_set(w, r, "host pattern contains the character '%c'", c);
	}
	return 0;
}

/* Checks one element of a pattern list: ['!'] PATTERN or ['!'] "[" PATTERN "]:" PORT. */
static int
check_pattern(const char *s, size_t len, struct why *w)
{
	const char *close;
	size_t restlen;
	int port;
	int r;

	if (len == 0)
		return kh_why_set(w, SSHX_ERR_INVALID_FORMAT, "empty name in the host field");
	if (s[0] == '!') {
		s++;
		len--;
		if (len == 0)
			return kh_why_set(w, SSHX_ERR_INVALID_FORMAT,
			    "host pattern is empty after '!'");
	}
	if (s[0] != '[')
		return check_pattern_chars(s, len, w);
	if ((close = memchr(s + 1, ']', len - 1)) == NULL)
		return kh_why_set(w, SSHX_ERR_INVALID_FORMAT,
		    "host pattern has '[' without ']' (write [PATTERN]:PORT)");
	if ((r = check_pattern_chars(s + 1, (size_t)(close - s - 1), w)) != 0)
		return r;
	restlen = len - (size_t)(close + 1 - s);
	/* ssh looks port 22 up as the bare name, so "[pattern]" would never match. */
	if (restlen == 0)
		return kh_why_set(w, SSHX_ERR_INVALID_FORMAT, "host pattern in brackets "
		    "needs a port (write [PATTERN]:PORT, or PATTERN for port 22)");
	if (close[1] != ':')
		return kh_why_set(w, SSHX_ERR_INVALID_FORMAT,
		    "unexpected text after ']' in a host pattern (write [PATTERN]:PORT)");
	return parse_port(close + 2, restlen - 1, &port, w);
}

/* Returns 1 when an element of a host field is a pattern: a wildcard, or a leading '!'. */
static int
field_has_pattern(const char *f, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (f[i] == '*' || f[i] == '?')
			return 1;
		if (f[i] == '!' && (i == 0 || f[i - 1] == ','))
			return 1;
	}
	return 0;
}

/* Validates a whole host field as a pattern list and stores it lowercased in *patp. */
static int
parse_pattern_field(const char *f, size_t len, char **patp, struct why *w)
{
	char shown[SHOWN_SIZE];
	const char *p = f, *end = f + len, *comma;
	char *pat;
	size_t i, elen;
	int r;

	*patp = NULL;
	for (;;) {
		comma = memchr(p, ',', (size_t)(end - p));
		elen = (size_t)((comma == NULL ? end : comma) - p);
		if ((r = check_pattern(p, elen, w)) != 0) {
			if (elen != 0)
				kh_why_add(w, " in '%s'", kh_show(p, elen, shown));
			return r;
		}
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	if ((pat = malloc(len + 1)) == NULL)
		return kh_why_set(w, SSHX_ERR_ALLOC, "out of memory");
	for (i = 0; i < len; i++)
		pat[i] = (char)kh_lower((unsigned char)f[i]);
	pat[len] = '\0';
	*patp = pat;
	return 0;
}

/* Parses the host field of a line into l->hosts or, for patterns, l->pattern. */
static int
parse_hosts(const char *f, size_t len, struct sshx_kh_line *l, struct why *w)
{
	char shown[SHOWN_SIZE];
	const char *p = f, *end = f + len, *comma;
	size_t i, n = 1, elen;
	int r;

	for (i = 0; i < len; i++)
		if (f[i] == ',')
			n++;
	if (n > SSHX_KH_HOSTS_MAX)
		return kh_why_set(w, SSHX_ERR_LIMIT, "host field names more than %d hosts",
		    SSHX_KH_HOSTS_MAX);
	if (field_has_pattern(f, len)) {
		if (l->marker == SSHX_KH_MARK_NONE)
			return kh_why_set(w, SSHX_ERR_INVALID_FORMAT, WHY_PATTERN_LINE);
		return parse_pattern_field(f, len, &l->pattern, w);
	}
	/* A CA is trusted for a set of names, kept as written. */
	if (l->marker == SSHX_KH_MARK_CA)
		return parse_pattern_field(f, len, &l->pattern, w);
	if ((l->hosts = calloc(n, sizeof(*l->hosts))) == NULL)
		return kh_why_set(w, SSHX_ERR_ALLOC, "out of memory");
	for (i = 0; i < n; i++) {
		comma = memchr(p, ',', (size_t)(end - p));
		elen = (size_t)((comma == NULL ? end : comma) - p);
		if (elen == 0)
			return kh_why_set(w, SSHX_ERR_INVALID_FORMAT,
			    "empty name in the host field");
		if ((r = host_token(p, elen, &l->hosts[i], w)) != 0) {
			kh_why_add(w, " in '%s'", kh_show(p, elen, shown));
			return r;
		}
		l->nhosts++;
		p = comma == NULL ? end : comma + 1;
	}
	return 0;
}

/* ---- Lines ---- */

/* Reads the next field of [*pp, end), skipping spaces and tabs; returns 0 at the end. */
static int
next_field(const char **pp, const char *end, const char **fp, size_t *lenp)
{
	const char *p = *pp, *f;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p == end) {
		*pp = p;
		return 0;
	}
	f = p;
	while (p < end && *p != ' ' && *p != '\t')
		p++;
	*fp = f;
	*lenp = (size_t)(p - f);
	*pp = p;
	return 1;
}

/* Reads a marker field (it starts with '@'). */
static int
parse_marker(const char *f, size_t len, int flags, enum sshx_kh_marker *mp,
    struct why *w)
{
	char shown[SHOWN_SIZE];

	if (flags & SSHX_KH_KEYSCAN)
		return kh_why_set(w, SSHX_ERR_INVALID_FORMAT,
		    "markers are not allowed in ssh-keyscan output");
	if (len == 8 && memcmp(f, "@revoked", 8) == 0)
		*mp = SSHX_KH_MARK_REVOKED;
	else if (len == 15 && memcmp(f, "@cert-authority", 15) == 0)
		*mp = SSHX_KH_MARK_CA;
	else
		return kh_why_set(w, SSHX_ERR_INVALID_FORMAT, "unknown marker '%s'",
		    kh_show(f, len, shown));
	return 0;
}

int
sshx_kh_parse_line(const char *line, size_t len, int flags,
    struct sshx_kh_line *out, char *why, size_t whylen)
{
	struct why w = kh_why_init(why, whylen);
	struct sshx_kh_line l;
	const char *p, *end, *f, *type;
	size_t flen, typelen;
	enum sshx_key_type kt;
	int r;

	memset(&l, 0, sizeof(l));
	if (out == NULL || (line == NULL && len != 0))
		return kh_why_set(&w, SSHX_ERR_INVALID_ARGUMENT, "no line given");
	if (line == NULL)
		line = "";
	/* A file with CRLF line ends: the CR belongs to the newline. */
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len > SSHX_KH_LINE_MAX)
		return kh_why_set(&w, SSHX_ERR_LIMIT, "line is longer than %d bytes",
		    SSHX_KH_LINE_MAX);
	if (memchr(line, '\0', len) != NULL)
		return kh_why_set(&w, SSHX_ERR_INVALID_FORMAT, "line contains a NUL byte");
	p = line;
	end = line + len;
	if (!next_field(&p, end, &f, &flen) || f[0] == '#')
		return 1;
	if (f[0] == '@') {
		if ((r = parse_marker(f, flen, flags, &l.marker, &w)) != 0)
			goto out;
		if (!next_field(&p, end, &f, &flen)) {
			r = kh_why_set(&w, SSHX_ERR_INVALID_FORMAT,
			    "missing host name after the marker");
			goto out;
		}
	}
	if ((r = parse_hosts(f, flen, &l, &w)) != 0)
		goto out;
	if (!next_field(&p, end, &type, &typelen)) {
		r = kh_why_set(&w, SSHX_ERR_INVALID_FORMAT, "missing key type");
		goto out;
	}
	if ((r = kh_check_type(type, typelen, &kt, &w)) != 0)
		goto out;
	if (!next_field(&p, end, &f, &flen)) {
		r = kh_why_set(&w, SSHX_ERR_INVALID_FORMAT, "missing key");
		goto out;
	}
	/* Whatever follows the key is a comment. */
	if ((r = kh_parse_key(type, typelen, f, flen, flags, &l, &w)) != 0)
		goto out;
	*out = l;
	memset(&l, 0, sizeof(l));	/* transferred */
	r = 0;
 out:
	sshx_kh_line_clear(&l);
	return r;
}

void
sshx_kh_line_clear(struct sshx_kh_line *line)
{
	if (line == NULL)
		return;
	free(line->hosts);
	free(line->pattern);
	free(line->blob);
	memset(line, 0, sizeof(*line));
}

int
sshx_kh_parse_key(const char *type, const char *b64, size_t b64len, int flags,
    struct sshx_kh_line *out, char *why, size_t whylen)
{
	struct why w = kh_why_init(why, whylen);
	struct sshx_kh_line l;
	int r;

	memset(&l, 0, sizeof(l));
	if (out == NULL || type == NULL || (b64 == NULL && b64len != 0))
		return kh_why_set(&w, SSHX_ERR_INVALID_ARGUMENT, "no key given");
	if (b64len == 0)
		return kh_why_set(&w, SSHX_ERR_INVALID_FORMAT, "missing key");
	/* One byte past the limit is enough to call the type too long. */
	if ((r = kh_parse_key(type, strnlen(type, SSHX_KH_TYPE_MAX + 1), b64, b64len,
	    flags, &l, &w)) != 0)
		goto out;
	*out = l;
	memset(&l, 0, sizeof(l));	/* transferred */
 out:
	sshx_kh_line_clear(&l);
	return r;
}
