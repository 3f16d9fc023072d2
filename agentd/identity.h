/*
 * The agent's identity table: keys in the order they were added, with their
 * constraints. Only the loop thread touches it; jobs that use a key hold a
 * reference so that a removal during a signature frees the key afterwards.
 */
#ifndef AGENTD_IDENTITY_H
#define AGENTD_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

struct dest_set;
struct sshx_key;

struct identity {
	struct sshx_key *key;
	char *comment;
	uint64_t death;		/* monotonic ms when it expires, 0 = never */
	int confirm;		/* ask through askpass before each use */
	char *kr_name;		/* name in the keyring, or NULL (added by a client) */
	int retiring;		/* a rotated-out keyring key in its grace: listed last */
	int served;		/* vault_sync: its keyring record is still served */
	unsigned int refs;	/* table + jobs */
	int removed;		/* no longer in the table */
	struct dest_set *dests;	/* restrict-destination constraints, or NULL */
};

struct idtab;

/* Returns a new, empty table or NULL. */
struct idtab *idtab_new(void);
/* Removes every identity and frees the table. */
void idtab_free(struct idtab *tab);
/* Returns the number of identities. */
size_t idtab_count(const struct idtab *tab);
/* Returns the identity at position i (insertion order), or NULL. */
struct identity *idtab_at(const struct idtab *tab, size_t i);
/* Returns the identity with this public blob, or NULL. */
struct identity *idtab_find(const struct idtab *tab, const uint8_t *blob, size_t len);
/*
 * Adds key (taking ownership of key and comment on success), or updates the
 * comment and constraints of the identity holding the same key (then key is
 * freed). Returns 0, SSHX_ERR_LIMIT when the table is full, or another error.
 */
int idtab_add(struct idtab *tab, struct sshx_key *key, char *comment,
    uint64_t death, int confirm, size_t max);
/* Removes one identity from the table; it is freed when its last reference goes. */
void idtab_remove(struct idtab *tab, struct identity *id);
/* Removes every identity. */
void idtab_remove_all(struct idtab *tab);
/*
 * Removes identities whose lifetime ended at or before now (ms); returns how
 * many, and in *nextp the earliest remaining death (0 when none).
 */
size_t idtab_expire(struct idtab *tab, uint64_t now, uint64_t *nextp);
/* Takes a reference for a job. */
void identity_ref(struct identity *id);
/* Drops a reference; the identity is wiped and freed with its last one. */
void identity_unref(struct identity *id);

#endif
