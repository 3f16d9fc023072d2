/*
 * sshxctl: the administration tool. main() pulls out the global options,
 * then finds the command in a table that also generates the usage text.
 */
#include "config.h"

#include <sys/stat.h>

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "sshxctl.h"

static const struct command_group groups[] = {
	{ "agent", agent_commands, "query and control a running agentd" },
	{ "key", key_commands, "keys in the encrypted keyring" },
	{ "keyring", keyring_commands, "the encrypted keyring file and its passphrase" },
	{ "hosts", hosts_commands, "pinned host keys in the database" },
	{ "known-hosts", known_hosts_commands, "known_hosts files made from the pinned keys" },
	{ "perms", perms_commands, "permissions of keys, known_hosts files and directories" },
	{ "audit", audit_commands, "checks for a CI step: the installed Paramiko's advisories" },
	{ "log", log_commands, "the audit trail" },
	{ NULL, NULL, NULL },
};

void
ctl_error(const char *what, const char *fmt, ...)
{
	va_list ap;

	ctl_progress_clear();
	fprintf(stderr, "sshxctl: %s: ", what);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
ctl_json_string(FILE *f, const char *s)
{
	const unsigned char *p;

	fputc('"', f);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void
usage(FILE *f)
{
	const struct command_group *grp;
	const struct command *cmd;

	fprintf(f, "usage: sshxctl [--json] [-a SOCKET] [--db PATH] [--keyring PATH]\n"
	    "               [--passphrase-file FILE] COMMAND [ARGS]\n\ncommands:\n");
	for (grp = groups; grp->name != NULL; grp++)
		for (cmd = grp->commands; cmd->name != NULL; cmd++)
			fprintf(f, "  %s%s%s%s%s\n      %s\n", grp->name,
			    cmd->name[0] ? " " : "", cmd->name, cmd->args[0] ? " " : "",
			    cmd->args, cmd->description);
	fprintf(f, "\nglobal options may also follow the command; "
	    "--help after a command explains it.\n");
}

static void
command_usage(FILE *f, const struct command_group *grp, const struct command *cmd)
{
	fprintf(f, "usage: sshxctl %s%s%s%s%s\n  %s\n", grp->name,
	    cmd->name[0] ? " " : "", cmd->name, cmd->args[0] ? " " : "", cmd->args,
	    cmd->description);
}

/* Takes the value of a global option written as "--opt VALUE" or "--opt=VALUE". */
static int
take_value(int *i, int argc, char **argv, const char *opt, const char **out)
{
	size_t n = strlen(opt);

	if (strcmp(argv[*i], opt) == 0) {
		if (*i + 1 >= argc) {
			ctl_error(opt, "needs a value");
			return -1;
		}
		*out = argv[++*i];
		return 1;
	}
	if (strncmp(argv[*i], opt, n) == 0 && argv[*i][n] == '=') {
		*out = argv[*i] + n + 1;
		return 1;
	}
	return 0;
}

/*
 * Removes global options from argv wherever they stand (up to "--"),
 * compacting the rest; returns the new argc or -1 on a usage error.
 */
static int
extract_globals(int argc, char **argv, struct globals *g)
{
	int i, out = 0, r, rest = 0;

	for (i = 0; i < argc; i++) {
		if (rest) {
			argv[out++] = argv[i];
			continue;
		}
		if (strcmp(argv[i], "--") == 0) {
			rest = 1;
			argv[out++] = argv[i];
			continue;
		}
		if (strcmp(argv[i], "--json") == 0) {
			g->json = 1;
			continue;
		}
		if ((r = take_value(&i, argc, argv, "--db", &g->db)) != 0 ||
		    (r = take_value(&i, argc, argv, "--keyring", &g->keyring)) != 0 ||
		    (r = take_value(&i, argc, argv, "--passphrase-file",
		    &g->passphrase_file)) != 0 ||
		    (r = take_value(&i, argc, argv, "-a", &g->agent_socket)) != 0) {
			if (r < 0)
				return -1;
			continue;
		}
		argv[out++] = argv[i];
	}
	argv[out] = NULL;
	return out;
}

/*
 * hosts verify and audit paramiko answer with exit codes 0..3, so their own
 * usage and runtime failures are 64 and 70 (sysexits.h); main's follow suit.
 */
static int
failure_exit(int argc, char **argv, int code)
{
	int i;

	for (i = 0; i + 1 < argc; i++)
		if ((strcmp(argv[i], "hosts") == 0 && strcmp(argv[i + 1], "verify") == 0) ||
		    (strcmp(argv[i], "audit") == 0 && strcmp(argv[i + 1], "paramiko") == 0))
			return code == EXIT_USAGE ? 64 : 70;
	return code;
}

/*
 * The secure-memory pool this run needs. Locking a pool costs about 1.5 ms
 * per MiB at start and exit, so a short command takes 1 MiB; one that may
 * load the keyring gets room for its decrypted records (about three times
 * the file), up to the agent's size.
 */
static size_t
secmem_for(const struct globals *g)
{
	char path[PATH_MAX];
	struct stat st;
	size_t n = SSHX_SECMEM_MIN;

	if (ctl_keyring_path(g, path, sizeof(path)) == 0 &&
	    stat(path, &st) == 0 && st.st_size > 0)
		n += 3 * (size_t)st.st_size;
	return n > SSHX_SECMEM_SIZE ? SSHX_SECMEM_SIZE : n;
}

int
main(int argc, char **argv)
{
	const struct command_group *grp;
	const struct command *cmd;
	struct globals g = { 0 };
	int n;

	/* Files are written with explicit modes; anything else we create stays private. */
	umask(077);
	if (getenv("SSHX_DB") != NULL)
		g.db = getenv("SSHX_DB");
	if (getenv("SSHX_KEYRING") != NULL)
		g.keyring = getenv("SSHX_KEYRING");
	if ((n = extract_globals(argc - 1, argv + 1, &g)) < 0)
		return failure_exit(argc - 1, argv + 1, EXIT_USAGE);
	argv++;
	if (n == 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0 ||
	    strcmp(argv[0], "help") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[0], "--version") == 0 || strcmp(argv[0], "version") == 0) {
		printf("sshxctl (sshx) %s\n", PACKAGE_VERSION);
		return EXIT_OK;
	}
	for (grp = groups; grp->name != NULL; grp++)
		if (strcmp(grp->name, argv[0]) == 0)
			break;
	if (grp->name == NULL) {
		ctl_error(argv[0], "unknown command (see sshxctl --help)");
		return EXIT_USAGE;
	}
	/* A group whose one command has no name is itself the command (sshxctl log). */
	if (grp->commands[0].name != NULL && grp->commands[0].name[0] == '\0') {
		cmd = &grp->commands[0];
		if (n > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
			command_usage(stdout, grp, cmd);
			return EXIT_OK;
		}
		if (sshx_crypto_init(secmem_for(&g)) != 0) {
			ctl_error("libgcrypt", "cannot initialise");
			return EXIT_RUNTIME;
		}
		return cmd->fn(n, argv, &g);
	}
	if (n < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		FILE *f = n < 2 ? stderr : stdout;

		fprintf(f, "sshxctl %s: %s\n", grp->name, grp->description);
		for (cmd = grp->commands; cmd->name != NULL; cmd++)
			command_usage(f, grp, cmd);
		return n < 2 ? EXIT_USAGE : EXIT_OK;
	}
	for (cmd = grp->commands; cmd->name != NULL; cmd++)
		if (strcmp(cmd->name, argv[1]) == 0)
			break;
	if (cmd->name == NULL) {
		ctl_error(grp->name, "unknown subcommand \"%s\" (see sshxctl %s "
		    "--help)", argv[1], grp->name);
		return EXIT_USAGE;
	}
	if (n > 2 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
		command_usage(stdout, grp, cmd);
		return EXIT_OK;
	}
	if (sshx_crypto_init(secmem_for(&g)) != 0) {
		ctl_error("libgcrypt", "cannot initialise");
		return failure_exit(n, argv, EXIT_RUNTIME);
	}
	/* The command sees its own name as argv[0], as getopt expects. */
	return cmd->fn(n - 1, argv + 1, &g);
}
