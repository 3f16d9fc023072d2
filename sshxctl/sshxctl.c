/*
 * sshxctl: the administration tool. main() pulls out the global options,
 * then finds the command in a table that also generates the usage text.
 */
#include "config.h"

#include <sys/stat.h>

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

/*
 * Returns the length of the well-formed UTF-8 sequence at p (1 to 4), or 0
 * when the bytes there are not one: overlong forms, surrogates and code
 * points above U+10FFFF are refused as RFC 3629 says.
 */
static size_t
utf8_sequence(const unsigned char *p)
{
	size_t n, i;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		cp = p[0] & 0x07;
	} else
		return 0;
	/* A NUL ends the string and is not a continuation byte, so this stops there. */
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

void
ctl_json_string(FILE *f, const char *s)
{
	const unsigned char *p;
	size_t n;

	fputc('"', f);
	for (p = (const unsigned char *)s; *p != '\0'; p += n) {
		n = utf8_sequence(p);
		if (n == 0) {
			/* Not UTF-8: JSON cannot carry the byte, so it becomes U+FFFD. */
			fputs("\\ufffd", f);
			n = 1;
		} else if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fwrite(p, 1, n, f);
	}
	fputc('"', f);
}

void
ctl_note(const struct globals *g, const char *fmt, ...)
{
	va_list ap;

	if (g->quiet)
		return;
	ctl_progress_clear();
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

void
ctl_verbose(const struct globals *g, const char *fmt, ...)
{
	va_list ap;

	if (!g->verbose || g->quiet)
		return;
	ctl_progress_clear();
	fputs("sshxctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
ctl_color(void)
{
	static int cached = -1;
	const char *no_color = getenv("NO_COLOR"), *term = getenv("TERM");

	if (cached < 0)
		cached = isatty(STDOUT_FILENO) &&
		    (no_color == NULL || *no_color == '\0') &&
		    term != NULL && *term != '\0' && strcmp(term, "dumb") != 0;
	return cached;
}

void
ctl_status(enum ctl_tone tone, const char *fmt, ...)
{
	static const char *const sgr[] = {
		[CTL_TONE_GOOD] = "\033[32m",
		[CTL_TONE_BAD] = "\033[1;31m",
		[CTL_TONE_WARN] = "\033[33m",
	};
	int color = ctl_color();
	va_list ap;

	if (color)
		fputs(sgr[tone], stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (color)
		fputs("\033[0m", stdout);
}

static void
usage(FILE *f)
{
	const struct command_group *grp;
	const struct command *cmd;

	fprintf(f, "usage: sshxctl [--json] [-a SOCKET] [--db PATH] [--keyring PATH]\n"
	    "               [--passphrase-file FILE] [--quiet|--verbose] COMMAND [ARGS]\n"
	    "       sshxctl --help | --version\n\ncommands:\n");
	for (grp = groups; grp->name != NULL; grp++)
		for (cmd = grp->commands; cmd->name != NULL; cmd++)
			fprintf(f, "  %s%s%s%s%s\n      %s\n", grp->name,
			    cmd->name[0] ? " " : "", cmd->name, cmd->args[0] ? " " : "",
			    cmd->args, cmd->description);
	fprintf(f, "\nglobal options may also follow the command; "
	    "--help after a command explains it.\n"
	    "--quiet leaves out informational messages (never errors); --verbose "
	    "adds detail.\n"
	    "status words are coloured on a terminal unless NO_COLOR is set.\n");
}

static void
command_usage(FILE *f, const struct command_group *grp, const struct command *cmd)
{
	fprintf(f, "usage: sshxctl %s%s%s%s%s\n  %s\n", grp->name,
	    cmd->name[0] ? " " : "", cmd->name, cmd->args[0] ? " " : "", cmd->args,
	    cmd->description);
}

/* The global options: name, and the value each takes ("" for none). */
static const char *const global_options[][2] = {
	{ "--db", "PATH" },
	{ "--keyring", "PATH" },
	{ "--passphrase-file", "FILE" },
	{ "-a", "SOCKET" },
	{ "--json", "" },
	{ "--quiet", "" },
	{ "--verbose", "" },
	{ "--help", "" },
};

/* Returns 1 when word appears as a whole word in args before offset. */
static int
seen_before(const char *args, size_t offset, const char *word)
{
	size_t n = strlen(word);
	const char *p;

	for (p = args; (p = strstr(p, word)) != NULL && (size_t)(p - args) < offset; p++)
		if ((p == args || strchr(" [|", p[-1]) != NULL) &&
		    strchr(" ]|.", p[n]) != NULL)
			return 1;
	return 0;
}

/*
 * Prints the options and operands of a command, read from its usage text
 * so that the completion cannot drift from what --help says. In that text
 * "[--opt VALUE]" takes a value, "[--opt]" does not, "--a|--b" are flags
 * and a word outside any option is an operand.
 */
static void
print_command_table(const struct command_group *grp, const struct command *cmd)
{
	char words[512], *w, *next, *save = NULL, *bar, *value;
	size_t len;

	if (snprintf(words, sizeof(words), "%s", cmd->args) >= (int)sizeof(words))
		return;
	next = strtok_r(words, " ", &save);
	while ((w = next) != NULL) {
		next = strtok_r(NULL, " ", &save);
		while (*w == '[')
			w++;
		len = strlen(w);
		if (len >= 3 && strcmp(w + len - 3, "...") == 0)
			w[len -= 3] = '\0';
		if (w[0] != '-' || w[1] != '-') {
			/* "[PATTERN]" loses its bracket; "HOST[:PORT]" keeps its own. */
			while (len > 0 && w[len - 1] == ']' && strchr(w, '[') == NULL)
				w[--len] = '\0';
			if (len > 0 && strcmp(w, "|") != 0 &&
			    !seen_before(cmd->args, (size_t)(w - words), w))
				printf("operand\t%s\t%s\t%s\n", grp->name,
				    cmd->name[0] ? cmd->name : "-", w);
			continue;
		}
		value = NULL;
		/* "[--opt]" closes at once; "--opt V" and "[--opt V]" take a value. */
		if (w[len - 1] != ']' && strchr(w, '|') == NULL && next != NULL &&
		    next[0] != '-' && next[0] != '[' && strcmp(next, "|") != 0) {
			value = next;
			next = strtok_r(NULL, " ", &save);
			len = strlen(value);
			while (len > 0 && strchr("].", value[len - 1]) != NULL)
				value[--len] = '\0';
		}
		w[strcspn(w, "]")] = '\0';
		for (; w != NULL; w = bar) {
			if ((bar = strchr(w, '|')) != NULL)
				*bar++ = '\0';
			if (seen_before(cmd->args, (size_t)(w - words), w))
				continue;
			printf("option\t%s\t%s\t%s%s%s\n", grp->name,
			    cmd->name[0] ? cmd->name : "-", w, value ? "\t" : "",
			    value ? value : "");
		}
	}
}

/*
 * Prints the dispatch table for shell completion, one tab-separated record
 * a line: "global OPTION [VALUE]", "first OPTION" (only before the command),
 * "group NAME", "command GROUP NAME" (NAME "-" when the group is the
 * command), "option GROUP NAME OPTION [VALUE]" and "operand GROUP NAME WORD".
 */
static void
print_table(void)
{
	const struct command_group *grp;
	const struct command *cmd;
	size_t i;

	for (i = 0; i < sizeof(global_options) / sizeof(global_options[0]); i++)
		printf("global\t%s%s%s\n", global_options[i][0],
		    global_options[i][1][0] ? "\t" : "", global_options[i][1]);
	printf("first\t--version\n");
	for (grp = groups; grp->name != NULL; grp++) {
		printf("group\t%s\n", grp->name);
		for (cmd = grp->commands; cmd->name != NULL; cmd++) {
			printf("command\t%s\t%s\n", grp->name,
			    cmd->name[0] ? cmd->name : "-");
			print_command_table(grp, cmd);
		}
	}
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
		if (strcmp(argv[i], "--quiet") == 0) {
			g->quiet = 1;
			continue;
		}
		if (strcmp(argv[i], "--verbose") == 0) {
			g->verbose = 1;
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

/* Milliseconds on the monotonic clock, for --verbose timings. */
static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs a command and, under --verbose, says how long it took and how it ended. */
static int
run_command(const struct command_group *grp, const struct command *cmd,
    int argc, char **argv, const struct globals *g)
{
	long long start = now_ms();
	int ret;

	ret = cmd->fn(argc, argv, g);
	ctl_verbose(g, "%s%s%s: exit %d after %lld ms", grp->name,
	    cmd->name[0] ? " " : "", cmd->name, ret, now_ms() - start);
	return ret;
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
	/* Hidden: what the bash completion reads. */
	if (strcmp(argv[0], "__complete") == 0) {
		print_table();
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
		return run_command(grp, cmd, n, argv, &g);
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
	return run_command(grp, cmd, n - 1, argv + 1, &g);
}
