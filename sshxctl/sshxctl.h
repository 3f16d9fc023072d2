/* sshxctl: shared definitions of the command-line tool. */
#ifndef SSHXCTL_H
#define SSHXCTL_H

#include <stdio.h>

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
};

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
/* Writes s as a JSON string literal (quoted and escaped) to f. */
void ctl_json_string(FILE *f, const char *s);

extern const struct command agent_commands[];

#endif
