/* sshxctl: shared definitions of the command-line tool. */
#ifndef SSHXCTL_H
#define SSHXCTL_H

#include <stdint.h>
#include <stdio.h>

#include "key.h"

/* Exit codes (DESIGN.md). */
#define EXIT_OK		0
#define EXIT_NO		1	/* "no", not found, check failed */
#define EXIT_USAGE	2	/* usage or input error */
#define EXIT_RUNTIME	3	/* runtime failure */

/* Options accepted before or after the subcommand. */
struct globals {
	const char *db;
	const char *keyring;
	const char *passphrase_file;
	const char *agent_socket;
	int json;
	int quiet;	/* --quiet: no informational messages on stderr */
	int verbose;	/* --verbose: more detail on stderr */
};

struct sshx_key;

struct command {
	const char *name;
	int (*fn)(int argc, char **argv, const struct globals *g);
	const char *args;
	const char *description;
};

struct command_group {
	const char *name;
	const struct command *commands;	/* NULL-name terminated */
	const char *description;
};

/* Prints "sshxctl: <what>: <why>" on stderr. */
void ctl_error(const char *what, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/*
 * Writes s as a JSON string literal (quoted and escaped) to f; a byte that
 * is not part of valid UTF-8 becomes U+FFFD, so the output is always JSON.
 */
void ctl_json_string(FILE *f, const char *s);
/* Prints an informational message on stderr unless --quiet was given. */
void ctl_note(const struct globals *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prints a detail on stderr, as "sshxctl: ...", only when --verbose was given. */
void ctl_verbose(const struct globals *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* How a status word is coloured on a terminal. */
enum ctl_tone {
	CTL_TONE_GOOD,
	CTL_TONE_BAD,
	CTL_TONE_WARN,
};

/*
 * Returns 1 when status words on stdout may be coloured: stdout is a
 * terminal, NO_COLOR is unset or empty and TERM is set and not "dumb".
 */
int ctl_color(void);
/* Prints printf-style text to stdout, coloured by tone when ctl_color() allows. */
void ctl_status(enum ctl_tone tone, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

struct sshx_buf;
struct sshx_keyring;

/* Maps an SSHX_ERR_* code to an exit code (DESIGN.md). */
int ctl_exit_code(int r);
/* Writes the keyring path (--keyring, $SSHX_KEYRING or the XDG default) to out. */
int ctl_keyring_path(const struct globals *g, char *out, size_t len);
/*
 * Gets the keyring passphrase from --passphrase-file, then the Secret
 * Service (unless skip_secret), then the terminal; prints why on failure.
 * Returns 0 or an SSHX_ERR_* code.
 */
int ctl_passphrase(const struct globals *g, const char *what,
    const char *keyring_path, int skip_secret, struct sshx_buf **passp);
/*
 * Locks and loads the keyring at path for reading or for an update; prints
 * errors as "sshxctl: what: why". On success *lockfdp holds the file lock
 * (release it with sshx_fs_unlock) and the return value is 0; otherwise an
 * exit code.
 */
int ctl_keyring_open(const struct globals *g, const char *what,
    const char *path, struct sshx_keyring **krp, int *lockfdp);
/* Saves the keyring; returns 0 or an exit code after printing the error. */
int ctl_keyring_save(const char *what, struct sshx_keyring *kr, const char *path);
/* Asks a running agentd (on -a or SSH_AUTH_SOCK) to re-read the keyring; silent when none answers. */
void ctl_agent_reload(const struct globals *g);
/* Prints the authorized_keys line of a key: "TYPE BASE64 COMMENT". */
int ctl_print_public(FILE *f, const struct sshx_key *key, const char *comment);
/* Prints "TYPE BASE64" of a key as a JSON string; returns 0 or an SSHX_ERR_* code. */
int ctl_json_public(FILE *f, const struct sshx_key *key);

/* ---- the host database (hostdb.c) ---- */

struct sshx_store;
struct sshx_kh_host;
struct sshx_kh_hasher;

/* Writes the database path (--db, $SSHX_DB or the XDG default) to out. */
int ctl_db_path(const struct globals *g, char *out, size_t len);
/*
 * Opens the host database (creating it when create is set), its path written
 * to path; prints errors. *createdp (may be NULL) tells whether this call
 * made the file. Returns 0 or an exit code.
 */
int ctl_store_open(const struct globals *g, const char *what, int create,
    struct sshx_store **sp, char *path, size_t pathlen, int *createdp);
/* Removes a database file (and its -wal/-shm) that a failed command created. */
void ctl_store_discard_new(const char *path);
/* Prints a database error and returns its exit code. */
int ctl_store_error(const char *what, struct sshx_store *s, int r);
/* Appends an audit row for an sshxctl change; returns 0 or an SSHX_ERR_* code. */
int ctl_audit(struct sshx_store *s, const char *action, const char *host,
    const char *fingerprint, const char *detail);
/* Checks a --host / list PATTERN given on the command line; prints why and returns -1 when bad. */
int ctl_host_filter_check(const char *what, const char *pattern);
/*
 * Returns 1 when a host matches a filter pattern (NULL matches everything):
 * "[pattern]:port" matches that port, a pattern without brackets any port; a
 * hashed host matches only a literal host name whose hash it is.
 */
int ctl_host_filter_match(struct sshx_kh_hasher *hs, const char *pattern,
    const char *name, int port, int hashed);
/* Finds a host by name and port, or among hashed hosts; 0, SSHX_ERR_NOT_FOUND or an error. */
int ctl_resolve_host(struct sshx_store *s, const struct sshx_kh_host *h, int64_t *idp);
/* Formats seconds since the epoch as UTC ISO 8601. */
const char *ctl_iso_time(int64_t t, char out[static 32]);
/* Parses a duration "0", "90s", "30m", "12h", "7d", "2w" (at most ten years); 0 or -1. */
int ctl_parse_duration(const char *s, int64_t *secondsp);

/* Parses a --type name of sshxctl key; prints why and returns -1 when unknown. */
int ctl_key_type_parse(const char *what, const char *s, enum sshx_key_type *typep);
/* Parses --bits (RSA: a multiple of 8 from 2048 to 16384); prints why and returns -1. */
int ctl_key_bits_parse(const char *what, const char *s, unsigned int *bitsp);
/* Checks a comment given on the command line (printable, one line, capped); NULL is fine. */
int ctl_check_comment(const char *what, const char *comment);
/*
 * Records a change made outside the database (the keyring) in its audit
 * log, creating the database when missing. A failure only warns: the change
 * itself was made.
 */
void ctl_audit_change(const struct globals *g, const char *what,
    const char *action, const char *fingerprint, const char *detail);

/* ---- progress of long operations on stderr (progress.c) ---- */

struct sshx_kdf_params;

/*
 * Starts showing "what: N/TOTAL (P%)" (total 0: "what: N") on stderr, when
 * stderr is a terminal and not g->quiet; otherwise every progress call does
 * nothing. One operation at a time; what must outlive it.
 */
void ctl_progress_start(const struct globals *g, const char *what,
    unsigned long total);
/* Counts n more done; redraws at most ten times a second. */
void ctl_progress_step(unsigned long n);
/* Erases a drawn progress line before other output on stderr (ctl_error does). */
void ctl_progress_clear(void);
/* Draws the final count, erases the line and ends the operation. */
void ctl_progress_done(void);
/* On a terminal, prints the one-line note that an argon2id derivation has started. */
void ctl_progress_kdf_begin(const struct globals *g,
    const struct sshx_kdf_params *kdf);
/* Ends the note with how long the derivation took (ok 0: it failed). */
void ctl_progress_kdf_end(int ok);

int key_rotate_main(int argc, char **argv, const struct globals *g);
int key_retire_main(int argc, char **argv, const struct globals *g);

extern const struct command agent_commands[];
extern const struct command key_commands[];
extern const struct command keyring_commands[];
extern const struct command hosts_commands[];
extern const struct command known_hosts_commands[];
extern const struct command perms_commands[];
extern const struct command audit_commands[];
extern const struct command log_commands[];

#endif
