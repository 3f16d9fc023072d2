/*
 * sshxctl hosts import and hosts add: pinning keys. Each command is one
 * transaction: it changes everything it was asked to or nothing at all.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "kh.h"
#include "store.h"
#include "hosts.h"
#include "sshxctl.h"

/* Invalid lines named one by one before the rest are only counted. */
#define ERRORS_SHOWN		20
/* Most --expect-fingerprint options. */
#define EXPECT_MAX		64

/* ---- hosts import ---- */

struct import_opts {
	int flags;		/* SSHX_KH_* */
	int skip_invalid;
	const char *expect[EXPECT_MAX];
	int expect_seen[EXPECT_MAX];
	size_t nexpect;
};

/* Returns the index of fp among the expected fingerprints, or -1. */
static int
expected_index(const struct import_opts *o, const char *fp)
{
	size_t i;

	for (i = 0; i < o->nexpect; i++)
		if (strcmp(o->expect[i], fp) == 0)
			return (int)i;
	return -1;
}

struct invalid_line {
	unsigned long lineno;
	char why[1536];
};

struct import_result {
	struct invalid_line shown[ERRORS_SHOWN];
	size_t nshown;
	unsigned long ninvalid;
	unsigned long entries;
	int fatal;		/* an expected-fingerprint or database failure */
};

/* Notes an invalid line: the first few are kept to be printed. */
static void
note_invalid(struct import_result *res, unsigned long lineno, const char *why)
{
	if (res->nshown < ERRORS_SHOWN) {
		res->shown[res->nshown].lineno = lineno;
		snprintf(res->shown[res->nshown].why,
		    sizeof(res->shown[res->nshown].why), "%s", why);
		res->nshown++;
	}
	res->ninvalid++;
}

/* Reads and applies every line of the input inside the open transaction. */
static int
import_lines(struct apply *a, int fd, struct import_opts *o, struct import_result *res)
{
	struct sshx_kh_line l;
	struct line_reader lr = { .fd = fd };
	const char *line;
	char why[512];
	size_t len;
	int r, idx;

	memset(&l, 0, sizeof(l));
	if ((lr.buf = malloc(READ_CHUNK)) == NULL)
		return SSHX_ERR_ALLOC;
	for (;;) {
		r = ctl_reader_next(&lr, &line, &len);
		if (r == 0)
			break;
		if (r == SSHX_ERR_SYSTEM) {
			ctl_error(a->what, "cannot read the input: %s", strerror(errno));
			goto out;
		}
		ctl_progress_step(1);
		if (r == SSHX_ERR_LIMIT) {
			note_invalid(res, lr.lineno, "line is longer than 65536 bytes");
			continue;
		}
		why[0] = '\0';
		r = sshx_kh_parse_line(line, len, o->flags, &l, why, sizeof(why));
		if (r == 1)
			continue;
		if (r < 0) {
			note_invalid(res, lr.lineno, why[0] ? why : sshx_strerror(r));
			continue;
		}
		res->entries++;
		if (o->nexpect > 0) {
			if ((idx = expected_index(o, l.fingerprint)) < 0) {
				snprintf(why, sizeof(why), "key %s (%s) is not one of the "
				    "expected fingerprints", l.fingerprint, l.type);
				note_invalid(res, lr.lineno, why);
				res->fatal = 1;
				sshx_kh_line_clear(&l);
				continue;
			}
			o->expect_seen[idx] = 1;
		}
		r = ctl_apply_entry(a, &l);
		sshx_kh_line_clear(&l);
		if (r == -1) {
			note_invalid(res, lr.lineno, a->why);
			continue;
		}
		if (r != 0) {
			res->fatal = 1;
			if (a->why[0] != '\0')
				ctl_error(a->what, "line %lu: %s", lr.lineno, a->why);
			else
				(void)ctl_store_error(a->what, a->s, r);
			goto out;
		}
	}
	r = 0;
 out:
	sshx_kh_line_clear(&l);
	free(lr.buf);
	return r;
}

/* Prints the invalid lines of an import: as errors, or as what --skip-invalid skipped. */
static void
print_invalid(const char *what, const char *input, const struct import_result *res,
    int skipped)
{
	size_t i;

	for (i = 0; i < res->nshown; i++)
		fprintf(stderr, "sshxctl: %s: %s: line %lu: %s%s\n", what, input,
		    res->shown[i].lineno, res->shown[i].why, skipped ? " (skipped)" : "");
	if (res->ninvalid > res->nshown)
		fprintf(stderr, "sshxctl: %s: %s: ... and %lu more invalid lines\n",
		    what, input, res->ninvalid - res->nshown);
}

int
hosts_import_main(int argc, char **argv, const struct globals *g)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "expect-fingerprint", required_argument, NULL, 'e' },
		{ "skip-invalid", no_argument, NULL, 's' },
		{ "allow-weak", no_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	const char *what = "hosts import", *input, *fmt = "known_hosts";
	struct import_opts o = { 0 };
	struct import_result res = { 0 };
	struct apply a = { .what = what };
	struct sshx_store *s = NULL;
	char path[PATH_MAX], source[PATH_MAX + 16], detail[PATH_MAX + 256];
	size_t i;
	int ch, fd = -1, created = 0, r, ret = EXIT_RUNTIME, changed;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			if (strcmp(optarg, "keyscan") == 0)
				o.flags |= SSHX_KH_KEYSCAN;
			else if (strcmp(optarg, "known_hosts") != 0) {
				ctl_error(what, "--format: \"%s\" is not keyscan or "
				    "known_hosts", optarg);
				return EXIT_USAGE;
			}
			fmt = optarg;
			break;
		case 'e':
			if (!ctl_valid_fingerprint(optarg)) {
				ctl_error(what, "--expect-fingerprint: \"%s\" is not a "
				    "SHA256:... fingerprint as ssh-keygen -l prints it",
				    optarg);
				return EXIT_USAGE;
			}
			if (o.nexpect == EXPECT_MAX) {
				ctl_error(what, "more than %d --expect-fingerprint options",
				    EXPECT_MAX);
				return EXIT_USAGE;
			}
			o.expect[o.nexpect++] = optarg;
			break;
		case 's':
			o.skip_invalid = 1;
			break;
		case 'w':
			o.flags |= SSHX_KH_ALLOW_WEAK;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		ctl_error(what, optind == argc ? "name the input FILE (or - for "
		    "standard input)" : "one input only; unexpected \"%s\"",
		    argv[optind + 1 < argc ? optind + 1 : optind]);
		return EXIT_USAGE;
	}
	input = argv[optind];
	if (strcmp(input, "-") == 0) {
		fd = STDIN_FILENO;
		input = "standard input";
		snprintf(source, sizeof(source), "%s:stdin", fmt);
	} else {
		if ((fd = open(input, O_RDONLY | O_CLOEXEC)) == -1) {
			ctl_error(what, "cannot open %s: %s", input, strerror(errno));
			return errno == ENOENT ? EXIT_USAGE : EXIT_RUNTIME;
		}
		snprintf(source, sizeof(source), "%s:%s", fmt, input);
	}
	a.source = source;
	if ((ret = ctl_store_open(g, what, 1, &s, path, sizeof(path), &created)) != 0)
		goto out;
	a.s = s;
	if ((r = sshx_store_begin(s)) != 0) {
		ret = ctl_store_error(what, s, r);
		goto out;
	}
	/*
	 * The input's length in lines is not known before it has been read. A
	 * terminal on the input is someone typing: no line to redraw under them.
	 */
	if (!isatty(fd))
		ctl_progress_start(g, what, 0);
	r = import_lines(&a, fd, &o, &res);
	ctl_progress_done();
	if (r != 0) {
		ret = r == SSHX_ERR_SYSTEM ? EXIT_RUNTIME : ctl_exit_code(r);
		if (ret == EXIT_OK)
			ret = EXIT_RUNTIME;
		goto out;
	}
	for (i = 0; i < o.nexpect; i++) {
		if (!o.expect_seen[i]) {
			ctl_error(what, "expected fingerprint %s is not in %s; nothing "
			    "imported", o.expect[i], input);
			res.fatal = 1;
		}
	}
	if (res.ninvalid > 0 && (!o.skip_invalid || res.fatal)) {
		print_invalid(what, input, &res, 0);
		ctl_error(what, "%s: %lu invalid line%s; nothing imported%s", input,
		    res.ninvalid, res.ninvalid == 1 ? "" : "s", res.fatal ? "" :
		    " (--skip-invalid imports the valid ones)");
		ret = EXIT_USAGE;
		goto out;
	}
	if (res.fatal) {
		ret = EXIT_USAGE;
		goto out;
	}
	if (res.entries == 0) {
		if (res.ninvalid > 0)
			print_invalid(what, input, &res, 1);
		ctl_error(what, "no host keys in %s; nothing imported", input);
		ret = EXIT_USAGE;
		goto out;
	}
	if (res.ninvalid > 0)
		print_invalid(what, input, &res, 1);
	changed = a.added + a.revoked + a.patterns > 0;
	if (changed) {
		snprintf(detail, sizeof(detail), "source %s: %lu keys pinned (%lu new "
		    "hosts), %lu revoked, %lu pattern entries, %lu unchanged, %lu "
		    "lines skipped", source, a.added, a.new_hosts, a.revoked,
		    a.patterns, a.unchanged, res.ninvalid);
		if ((r = ctl_audit(s, "hosts.import", NULL, NULL, detail)) != 0 ||
		    (r = sshx_store_commit(s)) != 0) {
			ret = ctl_store_error(what, s, r);
			goto out;
		}
	} else
		sshx_store_rollback(s);
	if (g->json)
		printf("{\"pinned\":%lu,\"new_hosts\":%lu,\"revoked\":%lu,"
		    "\"patterns\":%lu,\"unchanged\":%lu,\"skipped\":%lu,"
		    "\"changed\":%s}\n", a.added, a.new_hosts, a.revoked, a.patterns,
		    a.unchanged, res.ninvalid, changed ? "true" : "false");
	else if (!changed)
		printf("nothing changed: all %lu keys from %s are already in %s\n",
		    a.unchanged, input, path);
	else
		printf("imported from %s: %lu keys pinned (%lu new hosts), %lu revoked, "
		    "%lu pattern entries; %lu already present%s\n", input, a.added,
		    a.new_hosts, a.revoked, a.patterns, a.unchanged,
		    res.ninvalid > 0 ? "; invalid lines skipped" : "");
	ret = EXIT_OK;
 out:
	if (s != NULL)
		sshx_store_rollback(s);
	sshx_store_close(s);
	if (ret != EXIT_OK && created)
		ctl_store_discard_new(path);
	if (fd != -1 && fd != STDIN_FILENO)
		close(fd);
	return ret;
}

/* ---- hosts add ---- */

/* Reads the keys of an OpenSSH public key file ("TYPE BASE64 [COMMENT]" lines). */
static int
read_key_file(const char *what, const char *file, int flags,
    struct sshx_kh_line **keysp, size_t *nkeysp)
{
	struct line_reader lr = { .fd = -1 };
	struct sshx_kh_line *keys = NULL, *tmp;
	const char *line, *p, *type_end, *b64, *b64_end, *end;
	char type[SSHX_KH_TYPE_MAX + 1], why[512];
	size_t len, nkeys = 0;
	int r, ret = EXIT_USAGE;

	*keysp = NULL;
	*nkeysp = 0;
	if ((lr.fd = open(file, O_RDONLY | O_CLOEXEC)) == -1) {
		ctl_error(what, "cannot open %s: %s", file, strerror(errno));
		return EXIT_USAGE;
	}
	if ((lr.buf = malloc(READ_CHUNK)) == NULL) {
		ret = EXIT_RUNTIME;
		goto out;
	}
	while ((r = ctl_reader_next(&lr, &line, &len)) != 0) {
		if (r < 0) {
			ctl_error(what, "%s: line %lu: %s", file, lr.lineno,
			    r == SSHX_ERR_LIMIT ? "line is longer than 65536 bytes" :
			    strerror(errno));
			goto out;
		}
		end = line + len;
		for (p = line; p < end && (*p == ' ' || *p == '\t' || *p == '\r'); p++)
			;
		if (p == end || *p == '#')
			continue;
		for (type_end = p; type_end < end && *type_end != ' ' &&
		    *type_end != '\t'; type_end++)
			;
		for (b64 = type_end; b64 < end && (*b64 == ' ' || *b64 == '\t'); b64++)
			;
		for (b64_end = b64; b64_end < end && *b64_end != ' ' &&
		    *b64_end != '\t' && *b64_end != '\r'; b64_end++)
			;
		if ((size_t)(type_end - p) > SSHX_KH_TYPE_MAX || b64 == b64_end ||
		    memchr(p, '\0', (size_t)(type_end - p)) != NULL) {
			ctl_error(what, "%s: line %lu: not an OpenSSH public key line "
			    "(TYPE BASE64 [COMMENT])", file, lr.lineno);
			goto out;
		}
		memcpy(type, p, (size_t)(type_end - p));
		type[type_end - p] = '\0';
		if ((tmp = reallocarray(keys, nkeys + 1, sizeof(*keys))) == NULL) {
			ret = EXIT_RUNTIME;
			goto out;
		}
		keys = tmp;
		memset(&keys[nkeys], 0, sizeof(*keys));
		why[0] = '\0';
		if ((r = sshx_kh_parse_key(type, b64, (size_t)(b64_end - b64), flags,
		    &keys[nkeys], why, sizeof(why))) != 0) {
			ctl_error(what, "%s: line %lu: %s", file, lr.lineno,
			    why[0] ? why : sshx_strerror(r));
			goto out;
		}
		nkeys++;
	}
	if (nkeys == 0) {
		ctl_error(what, "%s holds no public key", file);
		goto out;
	}
	*keysp = keys;
	*nkeysp = nkeys;
	keys = NULL;	/* transferred */
	nkeys = 0;
	ret = 0;
 out:
	while (nkeys > 0)
		sshx_kh_line_clear(&keys[--nkeys]);
	free(keys);
	free(lr.buf);
	close(lr.fd);
	return ret;
}

int
hosts_add_main(int argc, char **argv, const struct globals *g)
{
	static const struct option opts[] = {
		{ "key-file", required_argument, NULL, 'k' },
		{ "allow-weak", no_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	const char *what = "hosts add", *key_file = NULL;
	struct sshx_kh_line *keys = NULL;
	struct sshx_kh_host host;
	struct sshx_store *s = NULL;
	struct apply a = { .what = what };
	char path[PATH_MAX], why[512] = "", hp[SSHX_KH_HOSTPORT_SIZE];
	char source[PATH_MAX + 16], detail[PATH_MAX + 128];
	size_t nkeys = 0, i;
	unsigned long before;
	int ch, flags = 0, created = 0, r, ret = EXIT_RUNTIME;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'k':
			key_file = optarg;
			break;
		case 'w':
			flags |= SSHX_KH_ALLOW_WEAK;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (argc - optind != (key_file != NULL ? 1 : 3)) {
		ctl_error(what, "usage: sshxctl hosts add HOST[:PORT] TYPE BASE64, "
		    "or HOST[:PORT] --key-file FILE");
		return EXIT_USAGE;
	}
	if (sshx_kh_parse_host_arg(argv[optind], &host, why, sizeof(why)) != 0) {
		ctl_error(what, "%s", why);
		return EXIT_USAGE;
	}
	(void)sshx_kh_format_host(&host, hp);
	if (key_file != NULL) {
		if ((ret = read_key_file(what, key_file, flags, &keys, &nkeys)) != 0)
			return ret;
		snprintf(source, sizeof(source), "add:%s", key_file);
	} else {
		if ((keys = calloc(1, sizeof(*keys))) == NULL)
			return EXIT_RUNTIME;
		nkeys = 1;
		if ((r = sshx_kh_parse_key(argv[optind + 1], argv[optind + 2],
		    strlen(argv[optind + 2]), flags, &keys[0], why, sizeof(why))) != 0) {
			ctl_error(what, "%s", why[0] ? why : sshx_strerror(r));
			ret = EXIT_USAGE;
			goto out;
		}
		snprintf(source, sizeof(source), "add");
	}
	a.source = source;
	if ((ret = ctl_store_open(g, what, 1, &s, path, sizeof(path), &created)) != 0)
		goto out;
	a.s = s;
	if ((r = sshx_store_begin(s)) != 0) {
		ret = ctl_store_error(what, s, r);
		goto out;
	}
	for (i = 0; i < nkeys; i++) {
		keys[i].hosts = &host;	/* borrowed; detached before clearing */
		keys[i].nhosts = 1;
		before = a.added;
		r = ctl_apply_entry(&a, &keys[i]);
		keys[i].hosts = NULL;
		keys[i].nhosts = 0;
		if (r == -1) {
			ctl_error(what, "%s", a.why);
			ret = EXIT_USAGE;
			goto out;
		}
		if (r != 0) {
			ret = ctl_store_error(what, s, r);
			goto out;
		}
		if (a.added > before) {
			snprintf(detail, sizeof(detail), "pinned %s key (source %s)",
			    keys[i].type, source);
			if ((r = ctl_audit(s, "hosts.add", hp, keys[i].fingerprint,
			    detail)) != 0) {
				ret = ctl_store_error(what, s, r);
				goto out;
			}
		}
	}
	if (a.added > 0 && (r = sshx_store_commit(s)) != 0) {
		ret = ctl_store_error(what, s, r);
		goto out;
	}
	for (i = 0; i < nkeys; i++) {
		if (g->json) {
			printf("%s{\"host\":", i == 0 ? "[" : ",");
			ctl_json_string(stdout, hp);
			printf(",\"type\":\"%s\",\"fingerprint\":\"%s\"}%s",
			    keys[i].type, keys[i].fingerprint, i + 1 == nkeys ?
			    "]\n" : "");
		} else
			printf("%s %s %s\n", hp, keys[i].type, keys[i].fingerprint);
	}
	if (!g->json && a.added > 0)
		ctl_note(g, "pinned %lu key%s for %s (%lu already pinned)\n",
		    a.added, a.added == 1 ? "" : "s", hp, a.unchanged);
	else if (!g->json)
		ctl_note(g, "nothing changed: %s already has %s key%s pinned\n",
		    hp, nkeys == 1 ? "this" : "these", nkeys == 1 ? "" : "s");
	ret = EXIT_OK;
 out:
	if (s != NULL)
		sshx_store_rollback(s);
	sshx_store_close(s);
	if (ret != EXIT_OK && created)
		ctl_store_discard_new(path);
	for (i = 0; i < nkeys; i++)
		sshx_kh_line_clear(&keys[i]);
	free(keys);
	return ret;
}

