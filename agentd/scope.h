/*
 * Who may see and use which key: sockets that expose a named set of keys,
 * the per-key forwarding policy and destination constraints. One function,
 * scope_permits(), decides for listing and signing alike, so that a client
 * is never shown a key it may then not use.
 */
#ifndef AGENTD_SCOPE_H
#define AGENTD_SCOPE_H

#include <stddef.h>
#include <stdint.h>

struct agent;
struct agent_policy;
struct conn;
struct identity;
struct sshx_buf;

/* What a key may do on a connection forwarded by ssh -A. */
enum fwd_policy {
	FWD_DENY = 0,		/* not listed, no signature */
	FWD_CONFIRM,		/* listed; each signature asks through askpass */
	FWD_ALLOW,
};

/* Caps on the configuration file's sections. */
#define SCOPE_MAX_KEY_RULES	256
#define SCOPE_MAX_SOCKETS	16
#define SCOPE_MAX_SOCKET_KEYS	64
#define SCOPE_MAX_SELECTOR	128	/* a key name or a SHA256: fingerprint */
#define SCOPE_MAX_NAME		64	/* a socket name */

/* A [key SELECTOR] section. */
struct key_rule {
	char *selector;		/* keyring key name or "SHA256:..." */
	int forwarding;		/* enum fwd_policy */
};

/* A [socket NAME] section: an extra socket serving only these keys. */
struct sock_scope {
	char *name;
	char *path;		/* as configured, NULL for the default */
	char **keys;		/* selectors, in the order served */
	size_t nkeys;
	int fd;			/* the listening socket, -1 while closed */
	unsigned int line;	/* where the section starts */
};

struct scope_conf {
	struct key_rule **rules;
	size_t nrules;
	struct sock_scope **socks;
	size_t nsocks;
};

/* The section being read, while config_load walks the file. */
struct scope_parser {
	const char *path;		/* the file, for messages */
	struct sock_scope *sock;	/* in a [socket] section */
	struct key_rule *rule;		/* in a [key] section */
	int seen_keys, seen_path, seen_fwd;
	unsigned int line;		/* of the section header */
};

/* Returns the enum fwd_policy for "deny", "confirm" or "allow", or -1. */
int scope_parse_fwd(const char *v);
/*
 * Starts the section of a "[kind name]" line (brackets included). Returns 0,
 * or a negative SSHX_ERR_* with a message naming where in err.
 */
int scope_conf_section(struct agent_policy *p, struct scope_parser *sp,
    char *line, unsigned int lineno, char *err, size_t errlen);
/* Takes one "k = v" line inside a section; 0 or an error as above. */
int scope_conf_setting(struct scope_parser *sp, const char *k, const char *v,
    unsigned int lineno, char *err, size_t errlen);
/* Ends the current section, checking that it is complete; 0 or an error. */
int scope_conf_end(struct scope_parser *sp, char *err, size_t errlen);
/* Frees the sections (the sockets are closed by their owner); NULL allowed. */
void scope_conf_free(struct scope_conf *sc);

/* Returns the scope of a listening socket, or NULL for the main socket. */
const struct sock_scope *scope_by_listener(const struct agent *ag, int fd);
/*
 * Returns 1 when a request of this type may be served on c: a scoped socket
 * serves listing, signing and the query and session-bind extensions only.
 */
int scope_request_allowed(const struct conn *c, uint8_t type,
    const struct sshx_buf *m);
/* Returns 1 when the extension named by the len bytes at name may be served on c. */
int scope_extension_allowed(const struct conn *c, const void *name, size_t len);
/*
 * Decides whether c may see (data NULL) or sign data with (data non-NULL)
 * identity id. Returns 1 when permitted, with *fwd_confirmp set when the
 * use is forwarded and the key's policy asks for a confirmation; returns 0
 * with the reason in why otherwise.
 */
int scope_permits(const struct agent *ag, const struct conn *c,
    const struct identity *id, const uint8_t *data, size_t dlen,
    int *fwd_confirmp, char *why, size_t whylen);
/*
 * Fills v (room for max) with the identities c may see, in the order they
 * are listed: the socket's configured order, else the table's. Returns the
 * count.
 */
size_t scope_list(const struct agent *ag, const struct conn *c,
    struct identity **v, size_t max);
/* Writes the askpass prompt for a forwarded use of a key. */
void scope_fwd_prompt(const struct conn *c, const char *comment,
    const char *fp, char *out, size_t outlen);

#endif
