/*
 * sshxctl perms ...: finds (check) and removes (fix) permission bits that
 * expose keys, the keyring, known_hosts files, the database and the
 * directories holding them, by the rules OpenSSH users expect.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sshxctl.h"

/* How many levels below a directory given on the command line are checked. */
#define PERMS_MAX_DEPTH		16
/* How many entries inside directories one run checks at most. */
#define PERMS_MAX_ENTRIES	100000

/* The most a directory, a public key and any other file may allow. */
#define ALLOW_DIR	0700
#define ALLOW_PUBLIC	0644
#define ALLOW_PRIVATE	0600

enum problem {
	PROBLEM_MODE,
	PROBLEM_OWNER,
	PROBLEM_SYMLINK,
};

/* The state of one check or fix run. */
struct perms_run {
	int fix;
	int json;
	uid_t euid;
	unsigned long paths;		/* paths looked at */
	unsigned long problems;		/* problems found */
	unsigned long fixed;		/* of those, fixed */
	unsigned long entries;		/* entries read from directories */
	int missing;			/* a path given does not exist */
	int failed;			/* a runtime error: the answer is incomplete */
	int stop;			/* the entry limit was reached */
	FILE *jf;			/* --json: the problems array, built while walking */
	char *jbuf;
	size_t jlen;
};

/* One path being looked at, and how to reach it without following a symlink. */
struct object {
	int dirfd;		/* AT_FDCWD for a path given on the command line */
	const char *name;	/* relative to dirfd */
	const char *path;	/* as shown to people */
	struct stat st;		/* lstat, taken before anything is opened */
	const char *kind;	/* "directory", "file", "public-key", "symlink" */
	mode_t allowed;		/* the permission bits it may have */
};

/* Copies a path for a message, control characters (which could forge a line) as '?'. */
static const char *
shown(const char *path, char out[static PATH_MAX])
{
	size_t i;

	for (i = 0; path[i] != '\0' && i < PATH_MAX - 1; i++)
		out[i] = (unsigned char)path[i] < 0x20 || path[i] == 0x7f ?
		    '?' : path[i];
	out[i] = '\0';
	return out;
}

/* Formats " (name)" for a uid that has an account, else nothing. */
static const char *
user_name(uid_t uid, char *out, size_t len)
{
	struct passwd *pw;

	out[0] = '\0';
	if ((pw = getpwuid(uid)) != NULL && pw->pw_name != NULL)
		snprintf(out, len, " (%s)", pw->pw_name);
	return out;
}

/* Decides the kind of an object and the bits it may have, from its type and name. */
static void
classify(struct object *o)
{
	const char *base = strrchr(o->path, '/');
	size_t n;

	base = base == NULL ? o->path : base + 1;
	n = strlen(base);
	if (S_ISLNK(o->st.st_mode)) {
		o->kind = "symlink";
		o->allowed = 0;
	} else if (S_ISDIR(o->st.st_mode)) {
		o->kind = "directory";
		o->allowed = ALLOW_DIR;
	} else if (S_ISREG(o->st.st_mode) && n > 4 &&
	    strcmp(base + n - 4, ".pub") == 0) {
		o->kind = "public-key";
		o->allowed = ALLOW_PUBLIC;
	} else {
		o->kind = "file";
		o->allowed = ALLOW_PRIVATE;
	}
}

/* Prints one problem as a line of text. */
static void
print_problem(const struct perms_run *run, const struct object *o,
    enum problem what, mode_t mode, int fixed)
{
	char p[PATH_MAX], have[300], want[300];

	shown(o->path, p);
	switch (what) {
	case PROBLEM_MODE:
		if (fixed)
			printf("%s: mode %04o -> %04o\n", p, (unsigned)mode,
			    (unsigned)(mode & o->allowed));
		else
			printf("%s: mode %04o, should be %04o or stricter\n", p,
			    (unsigned)mode, (unsigned)o->allowed);
		break;
	case PROBLEM_OWNER:
		user_name(o->st.st_uid, have, sizeof(have));
		if (run->fix)
			printf("%s: cannot fix: owned by uid %lu%s; chown it\n", p,
			    (unsigned long)o->st.st_uid, have);
		else
			printf("%s: owned by uid %lu%s, should be uid %lu%s\n", p,
			    (unsigned long)o->st.st_uid, have,
			    (unsigned long)run->euid,
			    user_name(run->euid, want, sizeof(want)));
		break;
	case PROBLEM_SYMLINK:
		printf("%s: is a symlink; not followed\n", p);
		break;
	}
}

/* Records one problem: counts it and prints it as text or adds it to the JSON array. */
static void
add_problem(struct perms_run *run, const struct object *o, enum problem what,
    mode_t mode, int fixed)
{
	static const char *const names[] = {
		[PROBLEM_MODE] = "mode",
		[PROBLEM_OWNER] = "owner",
		[PROBLEM_SYMLINK] = "symlink",
	};

	run->problems++;
	if (fixed)
		run->fixed++;
	if (!run->json) {
		print_problem(run, o, what, mode, fixed);
		return;
	}
	fprintf(run->jf, "%s\n  {\"path\":", run->problems > 1 ? "," : "");
	ctl_json_string(run->jf, o->path);
	fprintf(run->jf, ",\"kind\":\"%s\",\"mode\":\"%04o\",\"expected\":",
	    o->kind, (unsigned)mode);
	if (what == PROBLEM_SYMLINK)
		fprintf(run->jf, "null");
	else
		fprintf(run->jf, "\"%04o\"", (unsigned)o->allowed);
	fprintf(run->jf, ",\"owner_uid\":%lu,\"problem\":\"%s\",\"fixed\":%s}",
	    (unsigned long)o->st.st_uid, names[what], fixed ? "true" : "false");
}

/*
 * Opens the object inspected in o without following a symlink and checks
 * that it is still the inode lstat saw; fills *now from the descriptor.
 * Directories and regular files are opened for reading (non-blocking, so a
 * FIFO swapped in cannot hang us); anything else, or what we may not read,
 * only as O_PATH: opening a device can act on it and a socket cannot be
 * opened at all. Returns the descriptor (*pathonly says which kind), or -1
 * after printing why.
 */
static int
open_object(const struct object *o, int *pathonly, struct stat *now)
{
	int dir = S_ISDIR(o->st.st_mode) ? O_DIRECTORY : 0;
	char p[PATH_MAX];
	int fd = -1;

	*pathonly = 0;
	if (dir || S_ISREG(o->st.st_mode)) {
		fd = openat(o->dirfd, o->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
		    O_NONBLOCK | O_NOCTTY | dir);
		if (fd == -1 && errno != EACCES) {
			ctl_error("perms", "%s: cannot open: %s%s", shown(o->path, p),
			    strerror(errno), errno == ELOOP ?
			    " (replaced by a symlink while being checked)" : "");
			return -1;
		}
	}
	if (fd == -1) {
		fd = openat(o->dirfd, o->name, O_PATH | O_NOFOLLOW | O_CLOEXEC | dir);
		if (fd == -1) {
			ctl_error("perms", "%s: cannot open: %s", shown(o->path, p),
			    strerror(errno));
			return -1;
		}
		*pathonly = 1;
	}
	if (fstat(fd, now) != 0) {
		ctl_error("perms", "%s: %s", shown(o->path, p), strerror(errno));
		close(fd);
		return -1;
	}
	if (now->st_dev != o->st.st_dev || now->st_ino != o->st.st_ino ||
	    (now->st_mode & S_IFMT) != (o->st.st_mode & S_IFMT)) {
		ctl_error("perms", "%s: replaced while being checked; left alone",
		    shown(o->path, p));
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Sets the mode of the inode open as fd. An O_PATH descriptor cannot be
 * fchmod'ed; chmod on its /proc/self/fd link acts on that same inode, never
 * on whatever the name points to now. Returns 0, or -1 after printing why.
 */
static int
set_mode(const struct object *o, int fd, int pathonly, mode_t mode)
{
	char proc[64], p[PATH_MAX];
	struct stat after;
	int r;

	if (pathonly) {
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		r = chmod(proc, mode);
	} else
		r = fchmod(fd, mode);
	if (r != 0) {
		ctl_error("perms", "%s: cannot chmod %04o: %s%s", shown(o->path, p),
		    (unsigned)mode, strerror(errno), pathonly && errno == ENOENT ?
		    " (is /proc mounted?)" : "");
		return -1;
	}
	if (fstat(fd, &after) != 0 || (after.st_mode & 07777) != mode) {
		ctl_error("perms", "%s: mode is not %04o after chmod",
		    shown(o->path, p), (unsigned)mode);
		return -1;
	}
	return 0;
}

/* Fixes the mode of an object open as fd, deciding on the descriptor's fresh stat. */
static void
fix_mode(struct perms_run *run, const struct object *o, int fd, int pathonly,
    const struct stat *now)
{
	mode_t mode = now->st_mode & 07777;
	char p[PATH_MAX];
	int fixed = 0;

	if ((mode & ~o->allowed) == 0)
		return;		/* someone else fixed it meanwhile */
	if (now->st_uid != run->euid) {
		ctl_error("perms", "%s: changed owner while being checked; left alone",
		    shown(o->path, p));
		run->failed = 1;
	} else if (set_mode(o, fd, pathonly, mode & o->allowed) == 0)
		fixed = 1;
	else
		run->failed = 1;
	add_problem(run, o, PROBLEM_MODE, mode, fixed);
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void inspect(struct perms_run *run, int dirfd, const char *name,
    const char *path, int depth);

/*
 * Reads the names in directory d, sorted so that the report is stable,
 * within the depth and entry limits. Returns how many it put in *namesp, or
 * -1 after printing why.
 */
static long
read_names(struct perms_run *run, DIR *d, const char *path, int depth,
    char ***namesp)
{
	char **names = NULL, **tmp, p[PATH_MAX];
	size_t n = 0, cap = 0;
	struct dirent *de;

	*namesp = NULL;
	for (errno = 0; (de = readdir(d)) != NULL; errno = 0) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (depth >= PERMS_MAX_DEPTH) {
			ctl_error("perms", "%s: more than %d levels below the path "
			    "given; its entries were not checked", shown(path, p),
			    PERMS_MAX_DEPTH);
			goto fail;
		}
		if (run->entries >= PERMS_MAX_ENTRIES) {
			ctl_error("perms", "more than %d entries; stopped in %s "
			    "(check smaller parts of the tree)", PERMS_MAX_ENTRIES,
			    shown(path, p));
			run->stop = 1;
			goto fail;
		}
		run->entries++;
		if (n == cap) {
			cap = cap == 0 ? 32 : cap * 2;
			if ((tmp = reallocarray(names, cap, sizeof(*names))) == NULL)
				goto oom;
			names = tmp;
		}
		if ((names[n] = strdup(de->d_name)) == NULL)
			goto oom;
		n++;
	}
	if (errno != 0) {
		ctl_error("perms", "%s: cannot list its entries: %s", shown(path, p),
		    strerror(errno));
		goto fail;
	}
	if (n > 0)
		qsort(names, n, sizeof(*names), name_cmp);
	*namesp = names;
	return (long)n;
 oom:
	ctl_error("perms", "out of memory");
 fail:
	while (n > 0)
		free(names[--n]);
	free(names);
	return -1;
}

/* Inspects every entry of the directory open as fd (which it takes). */
static void
walk_dir(struct perms_run *run, int fd, const char *path, int depth)
{
	char **names = NULL, child[PATH_MAX], p[PATH_MAX];
	size_t len = strlen(path);
	const char *sep = len > 0 && path[len - 1] == '/' ? "" : "/";
	long i, n;
	DIR *d;
	int r;

	if ((d = fdopendir(fd)) == NULL) {
		ctl_error("perms", "%s: cannot list its entries: %s",
		    shown(path, p), strerror(errno));
		close(fd);
		run->failed = 1;
		return;
	}
	if ((n = read_names(run, d, path, depth, &names)) < 0) {
		run->failed = 1;
		n = 0;
	}
	for (i = 0; i < n && !run->stop; i++) {
		r = snprintf(child, sizeof(child), "%s%s%s", path, sep, names[i]);
		if (r < 0 || (size_t)r >= sizeof(child)) {
			ctl_error("perms", "%s: a name inside is too long; not checked",
			    shown(path, p));
			run->failed = 1;
			continue;
		}
		inspect(run, dirfd(d), names[i], child, depth + 1);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
}

/*
 * Checks one path (given on the command line when depth is 0, else an entry
 * of the directory open as dirfd), fixes its mode if asked, and descends
 * into it when it is a directory.
 */
static void
inspect(struct perms_run *run, int dirfd, const char *name, const char *path,
    int depth)
{
	struct object o = { .dirfd = dirfd, .name = name, .path = path };
	struct stat now;
	char p[PATH_MAX];
	int fd = -1, pathonly = 0, bad_owner, bad_mode;
	mode_t mode;

	if (fstatat(dirfd, name, &o.st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno == ENOENT && depth == 0) {
			ctl_error("perms", "%s does not exist", shown(path, p));
			run->missing = 1;
		} else if (errno != ENOENT) {
			ctl_error("perms", "%s: %s", shown(path, p), strerror(errno));
			run->failed = 1;
		}
		/* An entry removed since the directory was read has nothing to check. */
		return;
	}
	run->paths++;
	classify(&o);
	mode = o.st.st_mode & 07777;
	if (S_ISLNK(o.st.st_mode)) {
		if (depth == 0)
			add_problem(run, &o, PROBLEM_SYMLINK, mode, 0);
		else
			ctl_error("perms", "%s: symlink, not followed; check its target",
			    shown(path, p));
		return;
	}
	bad_owner = o.st.st_uid != run->euid;
	bad_mode = (mode & ~o.allowed) != 0;
	if (bad_owner)
		add_problem(run, &o, PROBLEM_OWNER, mode, 0);
	/* Someone else's object is left as it is, even when root could chmod it. */
	if (S_ISDIR(o.st.st_mode) || (run->fix && bad_mode && !bad_owner)) {
		if ((fd = open_object(&o, &pathonly, &now)) == -1) {
			run->failed = 1;
			if (bad_mode)
				add_problem(run, &o, PROBLEM_MODE, mode, 0);
			return;
		}
	}
	if (bad_mode && run->fix && !bad_owner)
		fix_mode(run, &o, fd, pathonly, &now);
	else if (bad_mode)
		add_problem(run, &o, PROBLEM_MODE, mode, 0);
	if (!S_ISDIR(o.st.st_mode)) {
		if (fd != -1)
			close(fd);
		return;
	}
	if (pathonly) {
		ctl_error("perms", "%s: cannot list its entries: %s", shown(path, p),
		    strerror(EACCES));
		close(fd);
		run->failed = 1;
		return;
	}
	walk_dir(run, fd, path, depth);
}

/* Prints the summary line, or the whole JSON document. */
static int
print_result(struct perms_run *run)
{
	if (run->json) {
		if (fclose(run->jf) != 0) {
			run->jf = NULL;
			ctl_error("perms", "out of memory");
			return -1;
		}
		run->jf = NULL;
		printf("{\"paths\":%lu,\"problems\":[%s%s],\"fixed\":%lu}\n",
		    run->paths, run->jbuf, run->problems > 0 ? "\n" : "",
		    run->fixed);
	} else if (run->problems == 0) {
		ctl_status(CTL_TONE_GOOD, "no problems");
		printf(" in %lu path%s\n", run->paths, run->paths == 1 ? "" : "s");
	} else if (run->fix) {
		ctl_status(run->fixed == run->problems ? CTL_TONE_GOOD :
		    CTL_TONE_BAD, "fixed %lu of %lu", run->fixed, run->problems);
		printf(" problem%s\n", run->problems == 1 ? "" : "s");
	} else {
		ctl_status(CTL_TONE_BAD, "%lu problem%s", run->problems,
		    run->problems == 1 ? "" : "s");
		printf(" in %lu path%s\n", run->paths, run->paths == 1 ? "" : "s");
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		ctl_error("perms", "cannot write the report: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Runs check (fix = 0) or fix over the paths on the command line. */
static int
perms_run(int argc, char **argv, const struct globals *g, int fix)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *what = fix ? "perms fix" : "perms check";
	const char *name = fix ? "fix" : "check";
	const struct command *cmd;
	struct perms_run run = { .fix = fix, .json = g->json, .euid = geteuid() };
	char opt[64];
	int ch, i, ret;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			for (cmd = perms_commands; strcmp(cmd->name, name) != 0; cmd++)
				;
			printf("usage: sshxctl %s %s\n  %s\n", what, cmd->args,
			    cmd->description);
			return EXIT_OK;
		default:
			/* A short option inside a cluster leaves optind on its word. */
			if (optopt != 0 && strncmp(argv[optind - 1], "--", 2) != 0)
				snprintf(opt, sizeof(opt), "-%c", optopt);
			else
				snprintf(opt, sizeof(opt), "%s", argv[optind - 1]);
			ctl_error(what, "unknown option \"%s\" (a PATH starting "
			    "with '-' goes after \"--\")", opt);
			return EXIT_USAGE;
		}
	}
	if (optind == argc) {
		ctl_error(what, "give at least one PATH (see sshxctl %s --help)",
		    what);
		return EXIT_USAGE;
	}
	if (run.json && (run.jf = open_memstream(&run.jbuf, &run.jlen)) == NULL) {
		ctl_error(what, "out of memory");
		return EXIT_RUNTIME;
	}
	for (i = optind; i < argc && !run.stop; i++)
		inspect(&run, AT_FDCWD, argv[i], argv[i], 0);
	if (print_result(&run) != 0 || run.failed)
		ret = EXIT_RUNTIME;
	else if (run.missing)
		ret = EXIT_USAGE;
	else if (run.problems > run.fixed)
		ret = EXIT_NO;
	else
		ret = EXIT_OK;
	if (run.jf != NULL)
		fclose(run.jf);
	free(run.jbuf);
	return ret;
}

static int
perms_check_main(int argc, char **argv, const struct globals *g)
{
	return perms_run(argc, argv, g, 0);
}

static int
perms_fix_main(int argc, char **argv, const struct globals *g)
{
	return perms_run(argc, argv, g, 1);
}

const struct command perms_commands[] = {
	{ "check", perms_check_main, "[--json] PATH...",
	    "report what is more open than OpenSSH wants (directories 0700, "
	    "*.pub 0644, other files 0600, all owned by you); directories "
	    "recursively, symlinks never followed; changes nothing; exit 1 "
	    "when something is wrong" },
	{ "fix", perms_fix_main, "[--json] PATH...",
	    "remove the excess bits check finds (0644 -> 0600, never widening), "
	    "never through a symlink; what someone else owns is reported, not "
	    "changed; exit 0 when nothing remains wrong" },
	{ NULL, NULL, NULL, NULL },
};
