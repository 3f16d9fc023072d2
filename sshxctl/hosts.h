/* sshxctl: what the hosts commands share (hosts-apply.c). */
#ifndef SSHXCTL_HOSTS_H
#define SSHXCTL_HOSTS_H

#include <stddef.h>

struct globals;
struct sshx_kh_line;
struct sshx_store;

/* Read size of the line reader; larger than the longest line accepted. */
#define READ_CHUNK		(1024 * 1024)

/* Reads lines from fd through a buffer of READ_CHUNK bytes (buf, allocated by the caller). */
struct line_reader {
	int fd;
	char *buf;
	size_t start, end;
	int eof;
	unsigned long lineno;
};

/*
 * Returns 1 with the next line (without its newline) in linep and lenp, 0 at
 * the end, SSHX_ERR_LIMIT for a line longer than SSHX_KH_LINE_MAX (skipped
 * entirely), or SSHX_ERR_SYSTEM on a read error.
 */
int ctl_reader_next(struct line_reader *lr, const char **linep, size_t *lenp);

/* One write transaction's worth of entries recorded in the store. */
struct apply {
	const char *what;
	struct sshx_store *s;
	const char *source;
	/* counts of what changed */
	unsigned long added, revoked, patterns, unchanged, new_hosts;
	/* set when the key could not be applied; message in why */
	char why[1536];
};

/*
 * Applies one parsed entry inside the caller's transaction: every host of
 * the line or none of them. Returns 0, -1 when the entry is refused (a->why
 * says why), or a negative SSHX_ERR_* code for a database failure.
 */
int ctl_apply_entry(struct apply *a, const struct sshx_kh_line *l);

/* Returns 1 for a fingerprint written as ssh-keygen -l prints it ("SHA256:" + 43 base64). */
int ctl_valid_fingerprint(const char *s);

int hosts_import_main(int argc, char **argv, const struct globals *g);
int hosts_add_main(int argc, char **argv, const struct globals *g);

#endif
