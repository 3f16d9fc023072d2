/*
 * The encrypted keyring file (format in doc/keyring-format.md): a versioned
 * header authenticated as AAD, and an AES-256-GCM body of key records. The
 * key-encryption key comes from the passphrase through argon2id; decrypted
 * keys and the derived key live in libgcrypt secure memory.
 */
#ifndef SSHX_KEYRING_H
#define SSHX_KEYRING_H

#include <stddef.h>
#include <stdint.h>

struct sshx_buf;
struct sshx_key;
struct sshx_keyring;

/* Largest keyring file read, in bytes. */
#define SSHX_KEYRING_MAX_FILE	(64U * 1024 * 1024)
/* Most records in one keyring. */
#define SSHX_KEYRING_MAX_KEYS	100000
/* Longest key name; names are [A-Za-z0-9._@+-], starting with a letter or digit. */
#define SSHX_KEYRING_MAX_NAME	64

enum sshx_key_state {
	SSHX_KEYSTATE_ACTIVE = 0,
	SSHX_KEYSTATE_RETIRING = 1,
	SSHX_KEYSTATE_RETIRED = 2,
};

/* argon2id cost; the defaults are t = 3, m = 65536 KiB, p = 1. */
struct sshx_kdf_params {
	uint32_t t_cost;
	uint32_t m_cost_kib;
	uint32_t parallelism;
};

/*
 * One record, owned by the keyring (valid until the keyring changes). A
 * retired record's key is public only.
 */
struct sshx_keyring_entry {
	const char *name;
	const char *comment;
	uint64_t created;		/* seconds since the epoch */
	enum sshx_key_state state;
	uint64_t retire_at;		/* end of a rotation grace, 0 = none */
	const char *predecessor;	/* name, or "" */
	const char *successor;		/* name, or "" */
	const struct sshx_key *key;
};

/* Returns the default KDF parameters. */
void sshx_keyring_default_kdf(struct sshx_kdf_params *kdf);

/*
 * Creates an empty keyring whose key is derived from pass (kdf NULL for the
 * defaults) with a fresh random salt. Nothing is written until save.
 */
int sshx_keyring_create(const uint8_t *pass, size_t passlen,
    const struct sshx_kdf_params *kdf, struct sshx_keyring **krp);

/*
 * Loads and decrypts the keyring at path. Distinct results, none of which
 * modifies any file: SSHX_ERR_NOT_FOUND (no file), SSHX_ERR_SYSTEM (I/O,
 * errno set), SSHX_ERR_UNSAFE_FILE (owner/mode/symlink; why says how to fix),
 * SSHX_ERR_VERSION (unknown version), SSHX_ERR_BAD_PASSPHRASE (the
 * passphrase does not open this intact file), SSHX_ERR_TAMPERED (empty,
 * truncated, or any byte changed). why gets a one-line explanation.
 */
int sshx_keyring_load(const char *path, const uint8_t *pass, size_t passlen,
    struct sshx_keyring **krp, char *why, size_t whylen);

/*
 * Re-reads path with the key already derived in kr (no passphrase, no KDF
 * run), as after another process saved it. When the file's salt or KDF
 * parameters differ (the passphrase was changed), gives
 * SSHX_ERR_BAD_PASSPHRASE. On success *nkrp is a new keyring.
 */
int sshx_keyring_reload(const struct sshx_keyring *kr, const char *path,
    struct sshx_keyring **nkrp, char *why, size_t whylen);

/*
 * Encrypts with a fresh nonce and writes path atomically with mode 0600,
 * keeping the previous file as path.bak. The caller holds sshx_fs_lock(path)
 * around load-modify-save.
 */
int sshx_keyring_save(const struct sshx_keyring *kr, const char *path,
    char *why, size_t whylen);

/* Re-derives the key from a new passphrase with a new salt (saved on the next save). */
int sshx_keyring_set_passphrase(struct sshx_keyring *kr, const uint8_t *pass,
    size_t passlen, const struct sshx_kdf_params *kdf);

/* Returns the KDF parameters in use. */
void sshx_keyring_kdf(const struct sshx_keyring *kr, struct sshx_kdf_params *kdf);

size_t sshx_keyring_count(const struct sshx_keyring *kr);
/* Returns record i (in the file's order) or NULL. */
const struct sshx_keyring_entry *sshx_keyring_at(const struct sshx_keyring *kr, size_t i);
/* Finds a record by name, or by "SHA256:..." fingerprint; NULL when absent. */
const struct sshx_keyring_entry *sshx_keyring_find(const struct sshx_keyring *kr,
    const char *name_or_fp);

/* Returns 1 when name is a valid key name. */
int sshx_keyring_valid_name(const char *name);

/*
 * Adds a key (taking ownership on success) as an active record named name
 * (NULL: a free name "key-N" is chosen) with comment, created now.
 * SSHX_ERR_EXISTS when the name or the same public key is already there.
 */
int sshx_keyring_add(struct sshx_keyring *kr, struct sshx_key *key,
    const char *name, const char *comment);
/* Removes the record with this name (or fingerprint); SSHX_ERR_NOT_FOUND. */
int sshx_keyring_remove(struct sshx_keyring *kr, const char *name_or_fp);
/*
 * Sets state, retire_at and the rotation links of the named record. Setting
 * SSHX_KEYSTATE_RETIRED wipes the private key and keeps the public one as
 * history; a retired record cannot become active or retiring again
 * (SSHX_ERR_INVALID_ARGUMENT).
 */
int sshx_keyring_set_state(struct sshx_keyring *kr, const char *name,
    enum sshx_key_state state, uint64_t retire_at, const char *predecessor,
    const char *successor);

/*
 * Renames a record (by name or fingerprint) and every rotation link naming
 * it; SSHX_ERR_EXISTS when newname is taken, SSHX_ERR_NOT_FOUND.
 */
int sshx_keyring_rename(struct sshx_keyring *kr, const char *name,
    const char *newname);

/*
 * Appends the derived key with the salt and KDF parameters it belongs to
 * (secret: out must be a secure buffer), so that a process can later reopen
 * the file without the passphrase (agentd's lock seals it away).
 */
int sshx_keyring_export_key(const struct sshx_keyring *kr, struct sshx_buf *out);
/*
 * Reads what sshx_keyring_export_key wrote (consuming it) and returns an
 * empty keyring holding that key; sshx_keyring_reload then reads the file.
 */
int sshx_keyring_import_key(struct sshx_buf *in, struct sshx_keyring **krp);

/* Wipes and frees everything; NULL is allowed. */
void sshx_keyring_free(struct sshx_keyring *kr);

/*
 * Runs the file's header checks (body 0) or the decrypted body's record
 * parser (body 1) on untrusted bytes, as sshx_keyring_load does after the
 * KDF and decryption that a fuzzer cannot get past; returns their result.
 */
int sshx_keyring_parse_untrusted(const uint8_t *d, size_t len, int body);

#endif
