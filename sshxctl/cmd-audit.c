/*
 * sshxctl audit paramiko: is the Paramiko an application runs known to be
 * vulnerable? Finds the installed version (by asking an interpreter, or by
 * reading a site-packages directory), compares it with an advisory list
 * shipped with sshx (data/paramiko-advisories) or given with --advisories,
 * and answers with an exit code a CI step can act on.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "fs.h"
#include "sshxctl.h"

/* Exit codes: 0 clean, 1 an advisory applies, 2 Paramiko not found, then these (sysexits.h). */
#define AUDIT_EXIT_FOUND	1
#define AUDIT_EXIT_NOT_FOUND	2
#define AUDIT_EXIT_USAGE	64
#define AUDIT_EXIT_RUNTIME	70

#define VERSION_PARTS		6	/* release numbers compared: 1.2.3.4.5.6 */
#define VERSION_TEXT_MAX	64
#define ADVISORIES_MAX		1024
#define ADVISORY_FILE_MAX	(1024 * 1024)
#define METADATA_MAX		(4 * 1024 * 1024)
#define INSTALLS_MAX		16
#define PYTHON_TIMEOUT_MS	15000

/* The list compiled in from data/paramiko-advisories. */
extern const char sshx_paramiko_advisories[];

/* A version as Paramiko (PEP 440) writes them: release numbers, then a pre/post/dev tag. */
struct version {
	unsigned long part[VERSION_PARTS];
	int phase;		/* 0 .dev, 1 a, 2 b, 3 rc, 4 final, 5 .post */
	unsigned long phase_n;
	char text[VERSION_TEXT_MAX + 1];
};

enum cmp_op { OP_LT, OP_LE, OP_GT, OP_GE, OP_EQ };

struct condition {
	enum cmp_op op;
	struct version v;
};

struct advisory {
	char id[64];
	struct condition cond[4];
	size_t ncond;
	char affected[128];	/* as written */
	struct version fixed;
	char summary[512];
};

struct install {
	struct version v;
	char where[PATH_MAX];
};

/* Returns 1 for a byte that may appear in an advisory id. */
static int
id_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* Reads an unsigned decimal at *pp (at most 9 digits); returns -1 when there is none. */
static int
read_number(const char **pp, const char *end, unsigned long *np)
{
	const char *p = *pp;
	unsigned long n = 0;
	int digits = 0;

	while (p < end && *p >= '0' && *p <= '9' && digits < 9) {
		n = n * 10 + (unsigned long)(*p - '0');
		p++;
		digits++;
	}
	if (digits == 0 || (p < end && *p >= '0' && *p <= '9'))
		return -1;
	*pp = p;
	*np = n;
	return 0;
}

/*
 * Parses a version ("2.12.0", "3.4.0rc1", "2.10.1.post1", "3.0.0.dev2",
 * "2.12.0+deb"); the local label after '+' is ignored. Returns 0 or -1.
 */
static int
version_parse(const char *s, size_t len, struct version *v)
{
	const char *p = s, *end = s + len, *plus;
	size_t n = 0;

	memset(v, 0, sizeof(*v));
	if (len == 0 || len > VERSION_TEXT_MAX)
		return -1;
	memcpy(v->text, s, len);
	v->text[len] = '\0';
	if ((plus = memchr(s, '+', len)) != NULL)
		end = plus;
	for (;;) {
		if (n == VERSION_PARTS || read_number(&p, end, &v->part[n]) != 0)
			return -1;
		n++;
		if (p + 1 < end && *p == '.' && p[1] >= '0' && p[1] <= '9') {
			p++;
			continue;
		}
		break;
	}
	v->phase = 4;
	if (p == end)
		return 0;
	if (end - p >= 2 && strncmp(p, "rc", 2) == 0) {
		v->phase = 3;
		p += 2;
	} else if (*p == 'a' || *p == 'b') {
		v->phase = *p == 'a' ? 1 : 2;
		p++;
	} else if (end - p >= 5 && strncmp(p, ".post", 5) == 0) {
		v->phase = 5;
		p += 5;
	} else if (end - p >= 4 && strncmp(p, ".dev", 4) == 0) {
		v->phase = 0;
		p += 4;
	} else
		return -1;
	if (read_number(&p, end, &v->phase_n) != 0 || p != end)
		return -1;
	return 0;
}

/* Compares two versions: negative, zero or positive. */
static int
version_cmp(const struct version *a, const struct version *b)
{
	size_t i;

	for (i = 0; i < VERSION_PARTS; i++)
		if (a->part[i] != b->part[i])
			return a->part[i] < b->part[i] ? -1 : 1;
	if (a->phase != b->phase)
		return a->phase < b->phase ? -1 : 1;
	if (a->phase_n != b->phase_n)
		return a->phase_n < b->phase_n ? -1 : 1;
	return 0;
}

/* Returns 1 when v satisfies every condition of the advisory line. */
static int
advisory_applies(const struct advisory *a, const struct version *v)
{
	size_t i;
	int c;

	for (i = 0; i < a->ncond; i++) {
		c = version_cmp(v, &a->cond[i].v);
		switch (a->cond[i].op) {
		case OP_LT:
			if (!(c < 0))
				return 0;
			break;
		case OP_LE:
			if (!(c <= 0))
				return 0;
			break;
		case OP_GT:
			if (!(c > 0))
				return 0;
			break;
		case OP_GE:
			if (!(c >= 0))
				return 0;
			break;
		case OP_EQ:
			if (c != 0)
				return 0;
			break;
		}
	}
	return 1;
}

/* Parses "<V,>=W" into conditions; writes why on failure. */
static int
parse_affected(const char *s, size_t len, struct advisory *a, char *why, size_t whylen)
{
	const char *p = s, *end = s + len, *comma;
	size_t n;

	if (len == 0 || len >= sizeof(a->affected)) {
		snprintf(why, whylen, "the affected range is empty or too long");
		return -1;
	}
	memcpy(a->affected, s, len);
	a->affected[len] = '\0';
	while (p < end) {
		if (a->ncond == sizeof(a->cond) / sizeof(a->cond[0])) {
			snprintf(why, whylen, "more than %zu conditions in the affected range",
			    sizeof(a->cond) / sizeof(a->cond[0]));
			return -1;
		}
		if ((comma = memchr(p, ',', (size_t)(end - p))) == NULL)
			comma = end;
		if (comma - p >= 2 && strncmp(p, "<=", 2) == 0)
			a->cond[a->ncond].op = OP_LE, n = 2;
		else if (comma - p >= 2 && strncmp(p, ">=", 2) == 0)
			a->cond[a->ncond].op = OP_GE, n = 2;
		else if (comma - p >= 2 && strncmp(p, "==", 2) == 0)
			a->cond[a->ncond].op = OP_EQ, n = 2;
		else if (comma - p >= 1 && *p == '<')
			a->cond[a->ncond].op = OP_LT, n = 1;
		else if (comma - p >= 1 && *p == '>')
			a->cond[a->ncond].op = OP_GT, n = 1;
		else {
			snprintf(why, whylen, "a condition of the affected range must "
			    "start with <, <=, >, >= or ==");
			return -1;
		}
		if (version_parse(p + n, (size_t)(comma - p) - n,
		    &a->cond[a->ncond].v) != 0) {
			snprintf(why, whylen, "\"%.*s\" is not a version", (int)((comma -
			    p) - (ptrdiff_t)n > 64 ? 64 : (comma - p) - (ptrdiff_t)n),
			    p + n);
			return -1;
		}
		a->ncond++;
		p = comma == end ? end : comma + 1;
		if (comma != end && p == end) {
			snprintf(why, whylen, "the affected range ends with ','");
			return -1;
		}
	}
	return 0;
}

/* Parses one "ID|AFFECTED|FIXED|SUMMARY" line. */
static int
parse_advisory(const char *line, size_t len, struct advisory *a, char *why, size_t whylen)
{
	const char *f[4], *end = line + len, *bar;
	size_t flen[4], i;
	const char *p = line;

	memset(a, 0, sizeof(*a));
	for (i = 0; i < 4; i++) {
		bar = i < 3 ? memchr(p, '|', (size_t)(end - p)) : NULL;
		if (i < 3 && bar == NULL) {
			snprintf(why, whylen, "expected ID|AFFECTED|FIXED|SUMMARY "
			    "(4 fields separated by '|')");
			return -1;
		}
		f[i] = p;
		flen[i] = (size_t)((i < 3 ? bar : end) - p);
		p = i < 3 ? bar + 1 : end;
	}
	if (flen[0] == 0 || flen[0] >= sizeof(a->id)) {
		snprintf(why, whylen, "the advisory id is empty or too long");
		return -1;
	}
	for (i = 0; i < flen[0]; i++) {
		if (!id_char((unsigned char)f[0][i])) {
			snprintf(why, whylen, "the advisory id may hold only letters, "
			    "digits, '-' and '_'");
			return -1;
		}
	}
	memcpy(a->id, f[0], flen[0]);
	if (parse_affected(f[1], flen[1], a, why, whylen) != 0)
		return -1;
	if (version_parse(f[2], flen[2], &a->fixed) != 0) {
		snprintf(why, whylen, "the fixed version is not a version");
		return -1;
	}
	if (flen[3] == 0 || flen[3] >= sizeof(a->summary) ||
	    memchr(f[3], '|', flen[3]) != NULL) {
		snprintf(why, whylen, "the summary is empty, too long or has a '|'");
		return -1;
	}
	for (i = 0; i < flen[3]; i++) {
		if ((unsigned char)f[3][i] < 0x20 || f[3][i] == 0x7f) {
			snprintf(why, whylen, "the summary holds a control character");
			return -1;
		}
	}
	memcpy(a->summary, f[3], flen[3]);
	/* A fixed version must itself be outside the range it fixes. */
	if (advisory_applies(a, &a->fixed)) {
		snprintf(why, whylen, "the fixed version %s is inside the affected "
		    "range %s", a->fixed.text, a->affected);
		return -1;
	}
	return 0;
}

/* Parses a whole advisory list; returns the count, or -1 after printing the error. */
static int
parse_advisories(const char *what, const char *name, const char *text, size_t len,
    struct advisory **listp)
{
	struct advisory *list = NULL;
	const char *p = text, *end = text + len, *nl;
	char why[256];
	size_t n = 0, llen;
	unsigned long lineno = 0;

	*listp = NULL;
	if ((list = calloc(ADVISORIES_MAX, sizeof(*list))) == NULL) {
		ctl_error(what, "out of memory");
		return -1;
	}
	while (p < end) {
		lineno++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		llen = (size_t)(nl - p);
		if (llen > 0 && p[llen - 1] == '\r')
			llen--;
		if (memchr(p, '\0', llen) != NULL) {
			ctl_error(what, "%s: line %lu: a NUL byte", name, lineno);
			goto fail;
		}
		if (llen > 0 && p[0] != '#') {
			if (n == ADVISORIES_MAX) {
				ctl_error(what, "%s: more than %d advisories", name,
				    ADVISORIES_MAX);
				goto fail;
			}
			if (parse_advisory(p, llen, &list[n], why, sizeof(why)) != 0) {
				ctl_error(what, "%s: line %lu: %s", name, lineno, why);
				goto fail;
			}
			n++;
		}
		p = nl == end ? end : nl + 1;
	}
	if (n == 0) {
		ctl_error(what, "%s holds no advisory", name);
		goto fail;
	}
	*listp = list;
	return (int)n;
 fail:
	free(list);
	return -1;
}

/* Reads a "Version: X" header from a METADATA / PKG-INFO file. */
static int
metadata_version(const char *path, struct version *v)
{
	struct sshx_buf *b = NULL;
	const char *p, *end, *nl;
	int r = -1;

	if (sshx_fs_read(path, METADATA_MAX, 0, &b, NULL, 0) != 0)
		return -1;
	p = (const char *)sshx_buf_ptr(b);
	end = p + sshx_buf_len(b);
	/* The headers end at the first blank line. */
	while (p < end && *p != '\n') {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (nl - p > 9 && strncmp(p, "Version: ", 9) == 0) {
			r = version_parse(p + 9, (size_t)(nl - p - 9) -
			    (nl[-1] == '\r' ? 1 : 0), v);
			break;
		}
		p = nl == end ? end : nl + 1;
	}
	sshx_buf_free(b);
	return r;
}

/* Returns 1 for a directory entry that names a Paramiko distribution. */
static int
paramiko_entry(const char *name, const char **suffixp)
{
	static const char *const suffixes[] = { ".dist-info", ".egg-info" };
	size_t i, n = strlen(name), s;

	if (strncasecmp(name, "paramiko-", 9) != 0)
		return 0;
	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		s = strlen(suffixes[i]);
		if (n > 9 + s && strcmp(name + n - s, suffixes[i]) == 0) {
			*suffixp = suffixes[i];
			return 1;
		}
	}
	return 0;
}

/* Finds the Paramiko distributions in a site-packages directory. */
static int
find_in_site(const char *what, const char *dir, struct install *out, size_t *np)
{
	struct dirent *de;
	const char *suffix;
	char path[PATH_MAX];
	DIR *d;
	int n;

	*np = 0;
	if ((d = opendir(dir)) == NULL) {
		ctl_error(what, "cannot read %s: %s", dir, strerror(errno));
		return errno == ENOENT || errno == ENOTDIR ? AUDIT_EXIT_USAGE :
		    AUDIT_EXIT_RUNTIME;
	}
	while ((de = readdir(d)) != NULL && *np < INSTALLS_MAX) {
		if (!paramiko_entry(de->d_name, &suffix))
			continue;
		/* dist-info: METADATA; egg-info: a directory with PKG-INFO, or the file itself. */
		n = snprintf(path, sizeof(path), "%s/%s/%s", dir, de->d_name,
		    strcmp(suffix, ".dist-info") == 0 ? "METADATA" : "PKG-INFO");
		if (n < 0 || (size_t)n >= sizeof(path))
			continue;
		if (metadata_version(path, &out[*np].v) != 0) {
			n = snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			if (n < 0 || (size_t)n >= sizeof(path) ||
			    metadata_version(path, &out[*np].v) != 0) {
				ctl_error(what, "%s/%s: no readable Version", dir,
				    de->d_name);
				continue;
			}
		}
		snprintf(out[*np].where, sizeof(out[*np].where), "%s/%s", dir,
		    de->d_name);
		(*np)++;
	}
	closedir(d);
	return 0;
}

/*
 * Asks an interpreter for its Paramiko's version through importlib.metadata
 * (Paramiko itself is not imported), from the root directory so that files
 * in the current directory cannot answer for it.
 */
static int
find_with_python(const char *what, const char *python, struct install *out, size_t *np)
{
	static const char code[] =
	    "import sys\n"
	    "try:\n"
	    "    from importlib.metadata import version, PackageNotFoundError\n"
	    "except ImportError:\n"
	    "    sys.exit(3)\n"
	    "try:\n"
	    "    v = version('paramiko')\n"
	    "except PackageNotFoundError:\n"
	    "    sys.exit(2)\n"
	    "sys.stdout.write(v + '\\n' + sys.executable)\n";
	char buf[VERSION_TEXT_MAX + PATH_MAX + 4], *nl;
	struct pollfd pfd;
	struct timespec t0, t1;
	size_t got = 0;
	ssize_t r;
	int p[2], status, left, rc = AUDIT_EXIT_RUNTIME;
	pid_t pid;

	*np = 0;
	if (pipe2(p, O_CLOEXEC) == -1) {
		ctl_error(what, "pipe: %s", strerror(errno));
		return AUDIT_EXIT_RUNTIME;
	}
	if ((pid = fork()) == -1) {
		ctl_error(what, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return AUDIT_EXIT_RUNTIME;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		if (devnull == -1 || dup2(devnull, STDIN_FILENO) == -1 ||
		    dup2(p[1], STDOUT_FILENO) == -1 || chdir("/") == -1)
			_exit(126);
		execlp(python, python, "-c", code, (char *)NULL);
		_exit(errno == ENOENT ? 127 : 126);
	}
	close(p[1]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		left = PYTHON_TIMEOUT_MS - (int)((t1.tv_sec - t0.tv_sec) * 1000 +
		    (t1.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0) {
			kill(pid, SIGKILL);
			ctl_error(what, "%s did not answer within %d s", python,
			    PYTHON_TIMEOUT_MS / 1000);
			break;
		}
		pfd.fd = p[0];
		pfd.events = POLLIN;
		if (poll(&pfd, 1, left) == -1 && errno != EINTR)
			break;
		if (pfd.revents == 0)
			continue;
		r = read(p[0], buf + got, sizeof(buf) - 1 - got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
		if (got == sizeof(buf) - 1) {
			kill(pid, SIGKILL);
			break;
		}
	}
	close(p[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	buf[got] = '\0';
	if (!WIFEXITED(status)) {
		ctl_error(what, "%s failed", python);
		return AUDIT_EXIT_RUNTIME;
	}
	switch (WEXITSTATUS(status)) {
	case 0:
		break;
	case 2:
		return AUDIT_EXIT_NOT_FOUND;
	case 127:
		ctl_error(what, "%s: no such interpreter", python);
		return AUDIT_EXIT_NOT_FOUND;
	case 3:
		ctl_error(what, "%s has no importlib.metadata (Python 3.8 or later "
		    "is needed); use --site DIR", python);
		return AUDIT_EXIT_RUNTIME;
	default:
		ctl_error(what, "%s exited with status %d", python,
		    WEXITSTATUS(status));
		return AUDIT_EXIT_RUNTIME;
	}
	if ((nl = strchr(buf, '\n')) == NULL ||
	    version_parse(buf, (size_t)(nl - buf), &out[0].v) != 0) {
		ctl_error(what, "%s gave no version that sshx understands", python);
		return rc;
	}
	snprintf(out[0].where, sizeof(out[0].where), "%s", nl + 1);
	*np = 1;
	return 0;
}

/*
 * Prints what applies to one install; returns how many advisory lines
 * matched and sets *belowp when it is older than --min-version.
 */
static size_t
report_install(const struct globals *g, const struct install *in,
    const struct advisory *adv, size_t nadv, const struct version *min,
    struct version *upgrade, int first, int *belowp)
{
	size_t i, hits = 0;
	int below = min != NULL && version_cmp(&in->v, min) < 0;

	if (g->json) {
		printf("%s{\"version\":", first ? "" : ",");
		ctl_json_string(stdout, in->v.text);
		printf(",\"location\":");
		ctl_json_string(stdout, in->where);
		printf(",\"below_minimum\":%s,\"advisories\":[", below ? "true" : "false");
	} else
		printf("paramiko %s (%s)\n", in->v.text, in->where);
	for (i = 0; i < nadv; i++) {
		if (!advisory_applies(&adv[i], &in->v))
			continue;
		if (version_cmp(&adv[i].fixed, upgrade) > 0)
			*upgrade = adv[i].fixed;
		if (g->json) {
			printf("%s{\"id\":", hits == 0 ? "" : ",");
			ctl_json_string(stdout, adv[i].id);
			printf(",\"affected\":");
			ctl_json_string(stdout, adv[i].affected);
			printf(",\"fixed\":");
			ctl_json_string(stdout, adv[i].fixed.text);
			printf(",\"summary\":");
			ctl_json_string(stdout, adv[i].summary);
			printf("}");
		} else
			printf("  %s: affected (%s), fixed in %s: %s\n", adv[i].id,
			    adv[i].affected, adv[i].fixed.text, adv[i].summary);
		hits++;
	}
	if (below) {
		if (version_cmp(min, upgrade) > 0)
			*upgrade = *min;
		if (!g->json)
			printf("  below the required minimum version %s\n", min->text);
	}
	if (g->json)
		printf("]}");
	if (below)
		*belowp = 1;
	return hits;
}

static int
audit_paramiko_main(int argc, char **argv, const struct globals *g)
{
	static const struct option opts[] = {
		{ "python", required_argument, NULL, 'p' },
		{ "site", required_argument, NULL, 's' },
		{ "advisories", required_argument, NULL, 'a' },
		{ "min-version", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	const char *what = "audit paramiko", *python = NULL, *site = NULL, *file = NULL;
	struct install installs[INSTALLS_MAX];
	struct advisory *adv = NULL;
	struct version min, upgrade;
	struct sshx_buf *b = NULL;
	char why[PATH_MAX + 256];
	size_t ninst = 0, i, hits = 0;
	int ch, nadv, have_min = 0, below = 0, r, ret = AUDIT_EXIT_RUNTIME;

	optind = 0;
	opterr = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			python = optarg;
			break;
		case 's':
			site = optarg;
			break;
		case 'a':
			file = optarg;
			break;
		case 'm':
			if (version_parse(optarg, strlen(optarg), &min) != 0) {
				ctl_error(what, "--min-version: \"%s\" is not a version",
				    optarg);
				return AUDIT_EXIT_USAGE;
			}
			have_min = 1;
			break;
		default:
			return AUDIT_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		ctl_error(what, "unexpected argument \"%s\"", argv[optind]);
		return AUDIT_EXIT_USAGE;
	}
	if (python != NULL && site != NULL) {
		ctl_error(what, "give --python or --site, not both");
		return AUDIT_EXIT_USAGE;
	}
	if (file != NULL) {
		if ((r = sshx_fs_read(file, ADVISORY_FILE_MAX, 0, &b, why,
		    sizeof(why))) != 0) {
			ctl_error(what, "%s", why[0] ? why : sshx_strerror(r));
			return r == SSHX_ERR_SYSTEM ? AUDIT_EXIT_RUNTIME : AUDIT_EXIT_USAGE;
		}
		nadv = parse_advisories(what, file, (const char *)sshx_buf_ptr(b),
		    sshx_buf_len(b), &adv);
	} else
		nadv = parse_advisories(what, "the built-in advisory list",
		    sshx_paramiko_advisories, strlen(sshx_paramiko_advisories), &adv);
	if (nadv < 0) {
		ret = AUDIT_EXIT_USAGE;
		goto out;
	}
	if (site != NULL)
		r = find_in_site(what, site, installs, &ninst);
	else
		r = find_with_python(what, python != NULL ? python : "python3",
		    installs, &ninst);
	if (r != 0 && r != AUDIT_EXIT_NOT_FOUND) {
		ret = r;
		goto out;
	}
	if (ninst == 0) {
		if (g->json) {
			printf("{\"installs\":[],\"status\":\"not-found\","
			    "\"upgrade_to\":null}\n");
		} else
			ctl_error(what, "no Paramiko found %s %s", site != NULL ? "in" :
			    "for", site != NULL ? site : python != NULL ? python :
			    "python3");
		ret = AUDIT_EXIT_NOT_FOUND;
		goto out;
	}
	memset(&upgrade, 0, sizeof(upgrade));
	if (g->json)
		printf("{\"installs\":[");
	for (i = 0; i < ninst; i++)
		hits += report_install(g, &installs[i], adv, (size_t)nadv,
		    have_min ? &min : NULL, &upgrade, i == 0, &below);
	if (g->json) {
		printf("],\"status\":\"%s\",\"upgrade_to\":", hits > 0 ?
		    "vulnerable" : below ? "below-minimum" : "clean");
		if (hits > 0 || below)
			ctl_json_string(stdout, upgrade.text);
		else
			printf("null");
		printf("}\n");
	} else if (hits > 0 || below) {
		ctl_status(CTL_TONE_BAD, "%zu %s%s", hits, hits == 1 ?
		    "advisory applies" : "advisories apply", below ?
		    " and it is below the required minimum" : "");
		printf(": upgrade Paramiko to %s or later\n", upgrade.text);
	} else {
		ctl_status(CTL_TONE_GOOD, "no known advisory applies");
		printf("\n");
	}
	ret = hits > 0 || below ? AUDIT_EXIT_FOUND : EXIT_OK;
 out:
	sshx_buf_free(b);
	free(adv);
	return ret;
}

const struct command audit_commands[] = {
	{ "paramiko", audit_paramiko_main,
	    "[--python PATH | --site DIR] [--advisories FILE] [--min-version V] "
	    "[--json]",
	    "check the installed Paramiko against known advisories: exit 0 "
	    "clean, 1 an advisory applies or below --min-version, 2 Paramiko "
	    "not found, 64 usage or input error, 70 failure" },
	{ NULL, NULL, NULL, NULL },
};
