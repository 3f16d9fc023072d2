/*
 * The sections of agentd.conf that scope keys: "[key SELECTOR]" with a
 * per-key forwarding policy, and "[socket NAME]" with the keys an extra
 * socket serves. Strict: anything unknown, repeated or incomplete is an
 * error naming the file and line, and the agent does not start.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "keyring.h"
#include "policy.h"
#include "scope.h"

/* Base64 characters of a SHA256 fingerprint without padding. */
#define FP_B64_LEN	43

int
scope_parse_fwd(const char *v)
{
	if (strcmp(v, "deny") == 0)
		return FWD_DENY;
	if (strcmp(v, "confirm") == 0)
		return FWD_CONFIRM;
	if (strcmp(v, "allow") == 0)
		return FWD_ALLOW;
	return -1;
}

/* Returns 1 for a keyring key name or a "SHA256:" fingerprint. */
static int
valid_selector(const char *s)
{
	size_t i;

	if (strncmp(s, "SHA256:", 7) != 0)
		return sshx_keyring_valid_name(s);
	s += 7;
	for (i = 0; s[i] != '\0'; i++)
		if (!(s[i] >= 'A' && s[i] <= 'Z') && !(s[i] >= 'a' && s[i] <= 'z') &&
		    !(s[i] >= '0' && s[i] <= '9') && s[i] != '+' && s[i] != '/')
			return 0;
	return i == FP_B64_LEN;
}

/* Returns 1 for a socket name: [A-Za-z0-9._-]+, not "." or "..". */
static int
valid_sock_name(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > SCOPE_MAX_NAME || strcmp(s, ".") == 0 ||
	    strcmp(s, "..") == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (!(s[i] >= 'A' && s[i] <= 'Z') && !(s[i] >= 'a' && s[i] <= 'z') &&
		    !(s[i] >= '0' && s[i] <= '9') && strchr("._-", s[i]) == NULL)
			return 0;
	return 1;
}

static void
sock_free(struct sock_scope *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->nkeys; i++)
		free(s->keys[i]);
	free(s->keys);
	free(s->name);
	free(s->path);
	free(s);
}

void
scope_conf_free(struct scope_conf *sc)
{
	size_t i;

	if (sc == NULL)
		return;
	for (i = 0; i < sc->nrules; i++) {
		free(sc->rules[i]->selector);
		free(sc->rules[i]);
	}
	for (i = 0; i < sc->nsocks; i++)
		sock_free(sc->socks[i]);
	free(sc->rules);
	free(sc->socks);
	free(sc);
}

/* Starts a [key SELECTOR] section. */
static int
new_rule(struct scope_conf *sc, struct scope_parser *sp, const char *sel,
    const char *where, char *err, size_t errlen)
{
	struct key_rule *rule, **nv;
	size_t i;

	if (!valid_selector(sel)) {
		snprintf(err, errlen, "%s: [key %.*s]: expected a keyring key "
		    "name or a SHA256: fingerprint", where, SCOPE_MAX_SELECTOR, sel);
		return SSHX_ERR_INVALID_FORMAT;
	}
	for (i = 0; i < sc->nrules; i++) {
		if (strcmp(sc->rules[i]->selector, sel) == 0) {
			snprintf(err, errlen, "%s: duplicate section [key %s]",
			    where, sel);
			return SSHX_ERR_INVALID_FORMAT;
		}
	}
	if (sc->nrules >= SCOPE_MAX_KEY_RULES) {
		snprintf(err, errlen, "%s: more than %d [key] sections", where,
		    SCOPE_MAX_KEY_RULES);
		return SSHX_ERR_LIMIT;
	}
	if ((nv = reallocarray(sc->rules, sc->nrules + 1, sizeof(*nv))) == NULL)
		return SSHX_ERR_ALLOC;
	sc->rules = nv;
	if ((rule = calloc(1, sizeof(*rule))) == NULL ||
	    (rule->selector = strdup(sel)) == NULL) {
		free(rule);
		return SSHX_ERR_ALLOC;
	}
	sc->rules[sc->nrules++] = rule;
	sp->rule = rule;
	return 0;
}

/* Starts a [socket NAME] section. */
static int
new_sock(struct scope_conf *sc, struct scope_parser *sp, const char *name,
    const char *where, char *err, size_t errlen)
{
	struct sock_scope *s, **nv;
	size_t i;

	if (!valid_sock_name(name)) {
		snprintf(err, errlen, "%s: [socket %.*s]: a socket name is 1 to "
		    "%d of A-Z a-z 0-9 . _ -", where, SCOPE_MAX_NAME, name,
		    SCOPE_MAX_NAME);
		return SSHX_ERR_INVALID_FORMAT;
	}
	for (i = 0; i < sc->nsocks; i++) {
		if (strcmp(sc->socks[i]->name, name) == 0) {
			snprintf(err, errlen, "%s: duplicate section [socket %s]",
			    where, name);
			return SSHX_ERR_INVALID_FORMAT;
		}
	}
	if (sc->nsocks >= SCOPE_MAX_SOCKETS) {
		snprintf(err, errlen, "%s: more than %d [socket] sections", where,
		    SCOPE_MAX_SOCKETS);
		return SSHX_ERR_LIMIT;
	}
	if ((nv = reallocarray(sc->socks, sc->nsocks + 1, sizeof(*nv))) == NULL)
		return SSHX_ERR_ALLOC;
	sc->socks = nv;
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->name = strdup(name)) == NULL) {
		free(s);
		return SSHX_ERR_ALLOC;
	}
	s->fd = -1;
	s->line = sp->line;
	sc->socks[sc->nsocks++] = s;
	sp->sock = s;
	return 0;
}

/* Formats "file:line" for messages. */
static const char *
where_of(const struct scope_parser *sp, unsigned int lineno, char *out,
    size_t len)
{
	snprintf(out, len, "%.400s:%u", sp->path, lineno);
	return out;
}

int
scope_conf_section(struct agent_policy *p, struct scope_parser *sp,
    char *line, unsigned int lineno, char *err, size_t errlen)
{
	char *kind, *name, *e, where[512];
	const char *path = sp->path;
	int r;

	/* The previous section must be complete before another starts. */
	if ((r = scope_conf_end(sp, err, errlen)) != 0)
		return r;
	memset(sp, 0, sizeof(*sp));
	sp->path = path;
	sp->line = lineno;
	where_of(sp, lineno, where, sizeof(where));
	e = line + strlen(line);
	if (e - line < 3 || line[0] != '[' || e[-1] != ']') {
		snprintf(err, errlen, "%s: expected \"[key SELECTOR]\" or "
		    "\"[socket NAME]\"", where);
		return SSHX_ERR_INVALID_FORMAT;
	}
	e[-1] = '\0';
	kind = line + 1;
	kind += strspn(kind, " \t");
	name = kind + strcspn(kind, " \t");
	if (*name != '\0')
		*name++ = '\0';
	name += strspn(name, " \t");
	e = name + strcspn(name, " \t");
	if (*e != '\0' && e[strspn(e, " \t")] != '\0') {
		snprintf(err, errlen, "%s: a section header names one thing",
		    where);
		return SSHX_ERR_INVALID_FORMAT;
	}
	*e = '\0';
	if (strcmp(kind, "key") != 0 && strcmp(kind, "socket") != 0) {
		snprintf(err, errlen, "%s: unknown section \"%.32s\" (expected "
		    "key or socket)", where, kind);
		return SSHX_ERR_INVALID_FORMAT;
	}
	if (*name == '\0') {
		snprintf(err, errlen, "%s: [%s] needs a name", where, kind);
		return SSHX_ERR_INVALID_FORMAT;
	}
	if (p->scopes == NULL &&
	    (p->scopes = calloc(1, sizeof(*p->scopes))) == NULL)
		return SSHX_ERR_ALLOC;
	if (strcmp(kind, "key") == 0)
		return new_rule(p->scopes, sp, name, where, err, errlen);
	return new_sock(p->scopes, sp, name, where, err, errlen);
}

/* Appends one selector to a socket's key list. */
static int
sock_add_key(struct sock_scope *s, const char *sel, const char *where,
    char *err, size_t errlen)
{
	char **nv;
	size_t i;

	if (!valid_selector(sel)) {
		snprintf(err, errlen, "%s: keys: \"%.*s\" is neither a keyring "
		    "key name nor a SHA256: fingerprint", where,
		    SCOPE_MAX_SELECTOR, sel);
		return SSHX_ERR_INVALID_FORMAT;
	}
	for (i = 0; i < s->nkeys; i++) {
		if (strcmp(s->keys[i], sel) == 0) {
			snprintf(err, errlen, "%s: keys: %s is listed twice",
			    where, sel);
			return SSHX_ERR_INVALID_FORMAT;
		}
	}
	if (s->nkeys >= SCOPE_MAX_SOCKET_KEYS) {
		snprintf(err, errlen, "%s: keys: more than %d entries", where,
		    SCOPE_MAX_SOCKET_KEYS);
		return SSHX_ERR_LIMIT;
	}
	if ((nv = reallocarray(s->keys, s->nkeys + 1, sizeof(*nv))) == NULL)
		return SSHX_ERR_ALLOC;
	s->keys = nv;
	if ((s->keys[s->nkeys] = strdup(sel)) == NULL)
		return SSHX_ERR_ALLOC;
	s->nkeys++;
	return 0;
}

/* Parses "a, b, c" into the socket's key list. */
static int
parse_keys(struct sock_scope *s, const char *v, const char *where, char *err,
    size_t errlen)
{
	char item[SCOPE_MAX_SELECTOR + 1];
	const char *p = v, *end;
	size_t n;
	int r;

	if (*v == '\0') {
		snprintf(err, errlen, "%s: keys: the list is empty", where);
		return SSHX_ERR_INVALID_FORMAT;
	}
	for (;;) {
		p += strspn(p, " \t");
		end = p + strcspn(p, ",");
		n = (size_t)(end - p);
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n == 0) {
			snprintf(err, errlen, "%s: keys: empty entry in the list",
			    where);
			return SSHX_ERR_INVALID_FORMAT;
		}
		if (n > SCOPE_MAX_SELECTOR) {
			snprintf(err, errlen, "%s: keys: an entry is longer than "
			    "%d bytes", where, SCOPE_MAX_SELECTOR);
			return SSHX_ERR_INVALID_FORMAT;
		}
		memcpy(item, p, n);
		item[n] = '\0';
		if ((r = sock_add_key(s, item, where, err, errlen)) != 0)
			return r;
		if (*end == '\0')
			return 0;
		p = end + 1;
	}
}

int
scope_conf_setting(struct scope_parser *sp, const char *k, const char *v,
    unsigned int lineno, char *err, size_t errlen)
{
	char where[512];
	int f;

	where_of(sp, lineno, where, sizeof(where));

	if (sp->rule != NULL && strcmp(k, "forwarding") == 0) {
		if (sp->seen_fwd++)
			goto twice;
		if ((f = scope_parse_fwd(v)) < 0)
			goto bad_value;
		sp->rule->forwarding = f;
		return 0;
	}
	if (sp->sock != NULL && strcmp(k, "keys") == 0) {
		if (sp->seen_keys++)
			goto twice;
		return parse_keys(sp->sock, v, where, err, errlen);
	}
	if (sp->sock != NULL && strcmp(k, "path") == 0) {
		if (sp->seen_path++)
			goto twice;
		if (v[0] != '/' || strlen(v) >= 108) {
			snprintf(err, errlen, "%s: path: expected an absolute "
			    "socket path shorter than 108 bytes", where);
			return SSHX_ERR_INVALID_FORMAT;
		}
		if ((sp->sock->path = strdup(v)) == NULL)
			return SSHX_ERR_ALLOC;
		return 0;
	}
	snprintf(err, errlen, "%s: unknown setting \"%.64s\" in a [%s] section "
	    "(expected %s)", where, k, sp->rule != NULL ? "key" : "socket",
	    sp->rule != NULL ? "forwarding" : "keys or path");
	return SSHX_ERR_INVALID_FORMAT;
 twice:
	snprintf(err, errlen, "%s: %s given twice in one section", where, k);
	return SSHX_ERR_INVALID_FORMAT;
 bad_value:
	snprintf(err, errlen, "%s: bad value for %s: \"%.64s\" (expected deny, "
	    "confirm or allow)", where, k, v);
	return SSHX_ERR_INVALID_FORMAT;
}

int
scope_conf_end(struct scope_parser *sp, char *err, size_t errlen)
{
	char where[512];

	where_of(sp, sp->line, where, sizeof(where));
	if (sp->sock != NULL && !sp->seen_keys) {
		snprintf(err, errlen, "%s: [socket %s] has no \"keys = ...\"",
		    where, sp->sock->name);
		return SSHX_ERR_INVALID_FORMAT;
	}
	if (sp->rule != NULL && !sp->seen_fwd) {
		snprintf(err, errlen, "%s: [key %s] sets nothing (expected "
		    "\"forwarding = deny|confirm|allow\")", where,
		    sp->rule->selector);
		return SSHX_ERR_INVALID_FORMAT;
	}
	sp->sock = NULL;
	sp->rule = NULL;
	return 0;
}
