/*
 * restrict-destination-v00@openssh.com: the hops a key may be used on
 * (ssh-add -h), checked against a connection's session binds the way
 * OpenSSH's agent does it.
 */
#ifndef AGENTD_DEST_H
#define AGENTD_DEST_H

#include <stddef.h>
#include <stdint.h>

struct conn;
struct sshx_buf;
struct sshx_key;

/* Most destination constraints in one add. */
#define DEST_MAX_CONSTRAINTS	256
/* Most host keys listed for one hop. */
#define DEST_MAX_HOP_KEYS	64
/* Longest host key blob accepted in a hop. */
#define DEST_MAX_KEY_BLOB	16384
/* Longest user name or host name accepted in a hop. */
#define DEST_MAX_NAME		1025

/* One end of a hop: who and where, and the host keys that identify it. */
struct dest_hop {
	char *user;		/* pattern for the remote user, NULL = any */
	char *hostname;		/* for log lines only; NULL = none */
	uint8_t **keys;		/* public key blobs (compared, never parsed) */
	size_t *keylens;
	uint8_t *is_ca;		/* the key is a CA for host certificates */
	size_t nkeys;
};

struct dest_constraint {
	struct dest_hop from;	/* empty for the first hop (the local host) */
	struct dest_hop to;
};

struct dest_set {
	struct dest_constraint *v;
	size_t n;
	uint8_t *wire;		/* the constraint list as received, to seal it */
	size_t wirelen;
};

/*
 * Reads the body of the constraint extension (one string holding the
 * constraints) from m into a new set; 0 or a negative SSHX_ERR_*.
 */
int dest_parse(struct sshx_buf *m, struct dest_set **setp);
/* Appends the set as dest_parse reads it (a lock seals it with the key). */
int dest_put(const struct dest_set *set, struct sshx_buf *b);
/* Frees a set; NULL is allowed. */
void dest_free(struct dest_set *set);
/* Returns 1 when some hop of the set names a certificate authority. */
int dest_has_ca(const struct dest_set *set);
/*
 * Returns 1 when the connection's binds satisfy the set hop by hop. user is
 * the remote user of a signature request, or NULL for a listing (then a key
 * reaching a forwarding host must also be usable beyond it). A connection
 * without binds is never permitted: its destination is unknown.
 */
int dest_permitted(const struct dest_set *set, const struct conn *c,
    const char *user, char *why, size_t whylen);
/*
 * Checks that data is an SSH userauth "publickey" request signed with key,
 * bound to the last session of the connection, and returns its user in
 * *userp (caller frees); 0 or SSHX_ERR_INVALID_FORMAT / SSHX_ERR_PERMISSION
 * with the reason in why.
 */
int dest_check_userauth(const uint8_t *data, size_t dlen,
    const struct sshx_key *key, const struct conn *c, char **userp,
    char *why, size_t whylen);

#endif
