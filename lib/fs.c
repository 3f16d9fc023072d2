/*
 * Files that hold secrets or trust decisions: atomic writes with an explicit
 * mode, reads that refuse unsafe files, private directories and lock files.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "fs.h"

#define TMP_SUFFIX_LEN	6	/* random characters after ".BASE." */
#define TMP_ATTEMPTS	64	/* fresh names tried before giving up on EEXIST */
#define READ_CHUNK	4096	/* read size once the file has grown past fstat's size */
#define LOCK_POLL_MS	10

/* Sets why to "<context>: <strerror(errno)>" and returns SSHX_ERR_SYSTEM with errno kept. */
static int __attribute__((format(printf, 3, 4)))
sys_why(char *why, size_t whylen, const char *fmt, ...)
{
	char ctx[PATH_MAX + 128];
	va_list ap;
	int e = errno;

	if (why != NULL && whylen != 0) {
		va_start(ap, fmt);
		(void)vsnprintf(ctx, sizeof(ctx), fmt, ap);
		va_end(ap);
		sshx_why(why, whylen, "%s: %s", ctx, strerror(e));
	}
	errno = e;
	return SSHX_ERR_SYSTEM;
}

/* Splits path into an allocated directory part and a pointer to its last component. */
static int
path_split(const char *path, char **dirp, const char **basep)
{
	const char *slash, *base;
	size_t n;

	*dirp = NULL;
	*basep = NULL;
	if (path == NULL || *path == '\0')
		return SSHX_ERR_INVALID_ARGUMENT;
	if ((slash = strrchr(path, '/')) == NULL) {
		base = path;
		*dirp = strdup(".");
	} else {
		base = slash + 1;
		/* "a//b" has the directory "a"; "/b" and "//b" have "/". */
		for (n = (size_t)(slash - path); n > 0 && path[n - 1] == '/'; n--)
			;
		*dirp = n == 0 ? strdup("/") : strndup(path, n);
	}
	if (*dirp == NULL)
		return SSHX_ERR_ALLOC;
	if (*base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
		free(*dirp);
		*dirp = NULL;
		return SSHX_ERR_INVALID_ARGUMENT;
	}
	*basep = base;
	return 0;
}

/* 64 symbols, so that masking a random byte keeps every symbol equally likely. */
static const char tmp_set[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Writes ".BASE.XXXXXX" with an unpredictable suffix into name; returns 0 or -1 with errno set. */
static int
tmp_fill(char *name, size_t namesz, const char *base)
{
	unsigned char rnd[TMP_SUFFIX_LEN];
	char sfx[TMP_SUFFIX_LEN + 1];
	ssize_t n;
	size_t i;
	int w;

	do
		n = getrandom(rnd, sizeof(rnd), 0);
	while (n == -1 && errno == EINTR);
	if (n != (ssize_t)sizeof(rnd)) {
		if (n >= 0)
			errno = EIO;
		return -1;
	}
	for (i = 0; i < sizeof(rnd); i++)
		sfx[i] = tmp_set[rnd[i] & 63];
	sfx[TMP_SUFFIX_LEN] = '\0';
	w = snprintf(name, namesz, ".%s.%s", base, sfx);
	if (w < 0 || (size_t)w >= namesz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/*
 * Removes temporary files of base that a killed writer left behind. Only
 * called with the directory's lock held: every writer takes it for its
 * whole write, so no live writer has a temporary file there now. Only
 * our own regular files whose names are exactly ".BASE." and a suffix
 * tmp_fill could have made are removed.
 */
static void
tmp_sweep(int dfd, const char *base)
{
	size_t blen = strlen(base), nlen, i;
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd;

	if ((fd = dup(dfd)) == -1)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		(void)close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		nlen = strlen(de->d_name);
		if (nlen != blen + TMP_SUFFIX_LEN + 2 || de->d_name[0] != '.' ||
		    strncmp(de->d_name + 1, base, blen) != 0 ||
		    de->d_name[1 + blen] != '.')
			continue;
		for (i = nlen - TMP_SUFFIX_LEN; i < nlen; i++)
			if (strchr(tmp_set, de->d_name[i]) == NULL)
				break;
		if (i != nlen ||
		    fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode) || st.st_uid != geteuid())
			continue;
		(void)unlinkat(dfd, de->d_name, 0);
	}
	(void)closedir(d);
}

/*
 * Gives a fresh temporary name in dfd to either a new empty file (O_EXCL,
 * descriptor in *fdp) or, when fdp is NULL, a hard link to base; returns 0
 * or -1 with errno set. O_EXCL|O_NOFOLLOW means a name planted by someone
 * else is never opened.
 */
static int
tmp_make(int dfd, const char *base, char *name, size_t namesz, int *fdp)
{
	int i;

	for (i = 0; i < TMP_ATTEMPTS; i++) {
		if (tmp_fill(name, namesz, base) == -1)
			return -1;
		if (fdp != NULL) {
			*fdp = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL |
			    O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
			if (*fdp != -1)
				return 0;
		} else if (linkat(dfd, base, dfd, name, 0) == 0)
			return 0;
		if (errno != EEXIST)
			return -1;
	}
	return -1;	/* errno is EEXIST */
}

/* Writes all of data to fd, resuming after signals and short writes; returns 0 or -1 with errno. */
static int
write_all(int fd, const void *data, size_t len)
{
	const unsigned char *p = data;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len > SSIZE_MAX ? SSIZE_MAX : len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0) {	/* would loop forever otherwise */
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Refuses a directory where someone else could swap our file: one writable
 * by group/others without the sticky bit, or owned by neither us nor root.
 */
static int
dir_check(int dfd, const char *dir, char *why, size_t whylen)
{
	struct stat st;

	if (fstat(dfd, &st) == -1)
		return sys_why(why, whylen, "cannot stat directory %s", dir);
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st.st_mode & S_ISVTX) == 0) {
		sshx_why(why, whylen, "directory %s is writable by group/others "
		    "(mode %04o); refusing to write in it", dir,
		    (unsigned int)(st.st_mode & 07777));
		return SSHX_ERR_UNSAFE_FILE;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		sshx_why(why, whylen, "directory %s is owned by uid %lu, not by "
		    "you (uid %lu) or root", dir, (unsigned long)st.st_uid,
		    (unsigned long)geteuid());
		return SSHX_ERR_UNSAFE_FILE;
	}
	return 0;
}

/*
 * Makes BASE.bak a complete copy of the file about to be replaced with no
 * moment where it is missing or partial: a hard link to the current file
 * under a temporary name, checked to be that file, renamed over BASE.bak.
 */
static int
backup_keep(int dfd, const char *base, const struct stat *old, const char *path,
    char *name, size_t namesz, char *why, size_t whylen)
{
	struct stat st;
	char *bak = NULL;
	size_t baksz = strlen(base) + sizeof(".bak");
	int r = SSHX_ERR_INTERNAL, linked = 0, e;

	if ((bak = malloc(baksz)) == NULL) {
		sshx_why(why, whylen, "cannot keep a backup of %s: out of memory", path);
		r = SSHX_ERR_ALLOC;
		goto out;
	}
	(void)snprintf(bak, baksz, "%s.bak", base);
	if (tmp_make(dfd, base, name, namesz, NULL) == -1) {
		r = sys_why(why, whylen, "cannot keep a backup of %s", path);
		goto out;
	}
	linked = 1;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		r = sys_why(why, whylen, "cannot keep a backup of %s", path);
		goto out;
	}
	if (st.st_dev != old->st_dev || st.st_ino != old->st_ino) {
		sshx_why(why, whylen, "%s was replaced by someone else while "
		    "being written", path);
		r = SSHX_ERR_UNSAFE_FILE;
		goto out;
	}
	if (renameat(dfd, name, dfd, bak) == -1) {
		r = sys_why(why, whylen, "cannot rename a backup to %s.bak", path);
		goto out;
	}
	/* Our name is unlinked below even now: rename() does nothing when BASE.bak already links to BASE. */
	r = 0;
 out:
	e = errno;
	if (linked)
		(void)unlinkat(dfd, name, 0);
	free(bak);
	errno = e;
	return r;
}

struct sshx_fs_atomic {
	char *path;		/* as given, for messages */
	char *dir;
	const char *base;	/* inside path */
	char *tmp, *btmp;	/* temporary names in dir */
	size_t namesz;
	int dfd, fd;
	int made;		/* tmp exists and must go on failure */
	int have_old;
	struct stat old;
	mode_t mode;
	int flags;
};

/* Closes and removes everything a writer holds; keeps errno. */
static void
atomic_free(struct sshx_fs_atomic *w)
{
	int e = errno;

	if (w == NULL)
		return;
	if (w->fd != -1)
		(void)close(w->fd);
	if (w->made)
		(void)unlinkat(w->dfd, w->tmp, 0);
	if (w->dfd != -1)
		(void)close(w->dfd);	/* releases the directory lock */
	free(w->btmp);
	free(w->tmp);
	free(w->dir);
	free(w->path);
	free(w);
	errno = e;
}

int
sshx_fs_atomic_begin(const char *path, mode_t mode, int flags,
    struct sshx_fs_atomic **wp, char *why, size_t whylen)
{
	struct sshx_fs_atomic *w = NULL;
	int r = SSHX_ERR_INTERNAL;

	if (wp != NULL)
		*wp = NULL;
	if (why != NULL && whylen != 0)
		*why = '\0';
	if (wp == NULL || (mode & ~(mode_t)07777) != 0 ||
	    (flags & ~SSHX_FS_KEEP_BACKUP) != 0) {
		sshx_why(why, whylen, "invalid arguments for writing a file");
		return SSHX_ERR_INVALID_ARGUMENT;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		sshx_why(why, whylen, "cannot write %s: out of memory", path == NULL ?
		    "(null)" : path);
		return SSHX_ERR_ALLOC;
	}
	w->dfd = w->fd = -1;
	w->mode = mode;
	w->flags = flags;
	if (path == NULL || (w->path = strdup(path)) == NULL ||
	    (r = path_split(w->path, &w->dir, &w->base)) != 0) {
		if (path != NULL && w->path == NULL)
			r = SSHX_ERR_ALLOC;
		sshx_why(why, whylen, "cannot write %s: %s", path == NULL ?
		    "(null)" : path, r == SSHX_ERR_ALLOC ? "out of memory" :
		    "not a file name");
		if (r == 0)
			r = SSHX_ERR_INVALID_ARGUMENT;
		goto out;
	}
	w->namesz = strlen(w->base) + TMP_SUFFIX_LEN + 3;	/* '.' base '.' suffix NUL */
	if ((w->tmp = malloc(w->namesz)) == NULL ||
	    (w->btmp = malloc(w->namesz)) == NULL) {
		sshx_why(why, whylen, "cannot write %s: out of memory", path);
		r = SSHX_ERR_ALLOC;
		goto out;
	}
	/* Ancestors may be symlinks (/tmp -> /private/tmp); only the last component must not be. */
	if ((w->dfd = open(w->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		r = sys_why(why, whylen, "cannot open directory %s", w->dir);
		goto out;
	}
	if ((r = dir_check(w->dfd, w->dir, why, whylen)) != 0)
		goto out;
	/*
	 * Writers in one directory take turns (the lock goes with dfd), so two
	 * of ours replacing the same file cannot fail each other's final check.
	 */
	while (flock(w->dfd, LOCK_EX) == -1) {
		if (errno != EINTR) {
			r = sys_why(why, whylen, "cannot lock directory %s", w->dir);
			goto out;
		}
	}
	tmp_sweep(w->dfd, w->base);
	if (fstatat(w->dfd, w->base, &w->old, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISLNK(w->old.st_mode)) {
			sshx_why(why, whylen, "%s is a symlink; refusing to "
			    "write through it", path);
			r = SSHX_ERR_UNSAFE_FILE;
			goto out;
		}
		if (!S_ISREG(w->old.st_mode)) {
			sshx_why(why, whylen, "%s is not a regular file; "
			    "refusing to replace it", path);
			r = SSHX_ERR_UNSAFE_FILE;
			goto out;
		}
		w->have_old = 1;
	} else if (errno != ENOENT) {
		r = sys_why(why, whylen, "cannot stat %s", path);
		goto out;
	}
	if (tmp_make(w->dfd, w->base, w->tmp, w->namesz, &w->fd) == -1) {
		r = sys_why(why, whylen, "cannot create a temporary file in %s", w->dir);
		goto out;
	}
	w->made = 1;
	/* Explicit, so that the umask can neither widen nor narrow what was asked for. */
	if (fchmod(w->fd, mode) == -1) {
		r = sys_why(why, whylen, "cannot set the mode of %s", path);
		goto out;
	}
	*wp = w;
	w = NULL;	/* transferred */
	r = 0;
 out:
	atomic_free(w);
	return r;
}

int
sshx_fs_atomic_write(struct sshx_fs_atomic *w, const void *data, size_t len,
    char *why, size_t whylen)
{
	if (w == NULL || w->fd == -1 || (data == NULL && len != 0)) {
		sshx_why(why, whylen, "invalid arguments for writing a file");
		return SSHX_ERR_INVALID_ARGUMENT;
	}
	if (write_all(w->fd, data, len) == -1)
		return sys_why(why, whylen, "cannot write %s", w->path);
	return 0;
}

void
sshx_fs_atomic_abort(struct sshx_fs_atomic *w)
{
	atomic_free(w);
}

int
sshx_fs_atomic_commit(struct sshx_fs_atomic *w, char *why, size_t whylen)
{
	struct stat tst, st;
	int r = SSHX_ERR_INTERNAL, e;

	if (why != NULL && whylen != 0)
		*why = '\0';
	if (w == NULL || w->fd == -1) {
		sshx_why(why, whylen, "invalid arguments for writing a file");
		atomic_free(w);
		return SSHX_ERR_INVALID_ARGUMENT;
	}
	if (fsync(w->fd) == -1 || fstat(w->fd, &tst) == -1) {
		r = sys_why(why, whylen, "cannot write %s", w->path);
		goto out;
	}
	e = close(w->fd);
	w->fd = -1;
	if (e == -1) {	/* delayed write errors (NFS, quotas) show up here */
		r = sys_why(why, whylen, "cannot write %s", w->path);
		goto out;
	}
	if ((w->flags & SSHX_FS_KEEP_BACKUP) != 0 && w->have_old &&
	    (r = backup_keep(w->dfd, w->base, &w->old, w->path, w->btmp, w->namesz,
	    why, whylen)) != 0)
		goto out;
	if (renameat(w->dfd, w->tmp, w->dfd, w->base) == -1) {
		r = sys_why(why, whylen, "cannot rename a temporary file to %s", w->path);
		goto out;
	}
	w->made = 0;
	/* From here on path holds the new contents; a failure is reported, not undone. */
	if (fsync(w->dfd) == -1) {
		r = sys_why(why, whylen, "cannot sync directory %s", w->dir);
		goto out;
	}
	if (fstatat(w->dfd, w->base, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		r = sys_why(why, whylen, "cannot check %s after writing it", w->path);
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_dev != tst.st_dev ||
	    st.st_ino != tst.st_ino || st.st_uid != geteuid() ||
	    (st.st_mode & 07777) != w->mode || st.st_nlink != 1) {
		sshx_why(why, whylen, "%s is not as written (owner uid %lu, mode "
		    "%04o, %lu links); something else is changing it", w->path,
		    (unsigned long)st.st_uid, (unsigned int)(st.st_mode & 07777),
		    (unsigned long)st.st_nlink);
		r = SSHX_ERR_UNSAFE_FILE;
		goto out;
	}
	r = 0;
 out:
	atomic_free(w);
	return r;
}

int
sshx_fs_write_atomic(const char *path, const void *data, size_t len,
    mode_t mode, int flags, char *why, size_t whylen)
{
	struct sshx_fs_atomic *w = NULL;
	int r;

	if (data == NULL && len != 0) {
		sshx_why(why, whylen, "invalid arguments for writing a file");
		return SSHX_ERR_INVALID_ARGUMENT;
	}
	if ((r = sshx_fs_atomic_begin(path, mode, flags, &w, why, whylen)) != 0)
		return r;
	if ((r = sshx_fs_atomic_write(w, data, len, why, whylen)) != 0) {
		sshx_fs_atomic_abort(w);
		return r;
	}
	return sshx_fs_atomic_commit(w, why, whylen);
}

/* Maps a failed open of path to an error code and a reason. */
static int
read_open_error(const char *path, char *why, size_t whylen)
{
	struct stat st;
	int e = errno;

	if (e == ENOENT) {
		sshx_why(why, whylen, "%s does not exist", path);
		return SSHX_ERR_NOT_FOUND;
	}
	/* ELOOP also comes from too many symlinks in the ancestors: say "symlink" only when it is one. */
	if (e == ELOOP && lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
		sshx_why(why, whylen, "%s is a symlink; refusing to follow it", path);
		errno = e;
		return SSHX_ERR_UNSAFE_FILE;
	}
	errno = e;
	return sys_why(why, whylen, "cannot open %s", path);
}

/* Refuses a secret file that another user owns or that group/others may access. */
static int
private_check(const char *path, const struct stat *st, char *why, size_t whylen)
{
	if (st->st_uid != geteuid()) {
		sshx_why(why, whylen, "%s is owned by uid %lu, not by you (uid %lu)",
		    path, (unsigned long)st->st_uid, (unsigned long)geteuid());
		return SSHX_ERR_UNSAFE_FILE;
	}
	if ((st->st_mode & 077) != 0) {
		sshx_why(why, whylen, "%s is accessible by group/others (mode "
		    "%04o); run: chmod 600 %s or sshxctl perms fix %s", path,
		    (unsigned int)(st->st_mode & 07777), path, path);
		return SSHX_ERR_UNSAFE_FILE;
	}
	return 0;
}

int
sshx_fs_read(const char *path, size_t max, int flags, struct sshx_buf **bufp,
    char *why, size_t whylen)
{
	struct sshx_buf *b = NULL;
	struct stat st;
	size_t lim, have = 0, want;
	uint8_t *p, probe;
	ssize_t n;
	int r = SSHX_ERR_INTERNAL, fd = -1, e;

	if (bufp != NULL)
		*bufp = NULL;
	if (why != NULL && whylen != 0)
		*why = '\0';
	if (path == NULL || bufp == NULL ||
	    (flags & ~(SSHX_FS_PRIVATE | SSHX_FS_SECURE_MEM)) != 0) {
		sshx_why(why, whylen, "invalid arguments for reading a file");
		return SSHX_ERR_INVALID_ARGUMENT;
	}
	lim = max < SSHX_BUF_SIZE_MAX ? max : SSHX_BUF_SIZE_MAX;
	/* O_NONBLOCK: a FIFO planted at path must not block us before fstat refuses it. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY |
	    O_NONBLOCK)) == -1) {
		r = read_open_error(path, why, whylen);
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		r = sys_why(why, whylen, "cannot stat %s", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		sshx_why(why, whylen, "%s is not a regular file", path);
		r = SSHX_ERR_UNSAFE_FILE;
		goto out;
	}
	if ((flags & SSHX_FS_PRIVATE) != 0 &&
	    (r = private_check(path, &st, why, whylen)) != 0)
		goto out;
	if (st.st_size < 0 || (uintmax_t)st.st_size > lim) {
		sshx_why(why, whylen, "%s is %jd bytes, more than the limit of "
		    "%zu", path, (intmax_t)st.st_size, lim);
		r = SSHX_ERR_LIMIT;
		goto out;
	}
	b = (flags & SSHX_FS_SECURE_MEM) != 0 ? sshx_buf_new_secure() : sshx_buf_new();
	if (b == NULL || sshx_buf_set_max(b, lim) != 0) {
		sshx_why(why, whylen, "out of memory reading %s", path);
		r = SSHX_ERR_ALLOC;
		goto out;
	}
	/* The file may change under us: read to EOF, never keeping more than lim bytes. */
	for (;;) {
		if (have == lim) {
			do
				n = read(fd, &probe, 1);
			while (n == -1 && errno == EINTR);
			explicit_bzero(&probe, sizeof(probe));
			if (n == -1) {
				r = sys_why(why, whylen, "cannot read %s", path);
				goto out;
			}
			if (n > 0) {
				sshx_why(why, whylen, "%s grew past the limit of "
				    "%zu bytes while being read", path, lim);
				r = SSHX_ERR_LIMIT;
				goto out;
			}
			break;
		}
		/* One more than the expected size, so the first read also sees EOF. */
		want = have < (size_t)st.st_size ?
		    (size_t)st.st_size - have + 1 : READ_CHUNK;
		if (want > lim - have)
			want = lim - have;
		if ((r = sshx_buf_reserve(b, want, &p)) != 0) {
			sshx_why(why, whylen, "out of memory reading %s", path);
			goto out;
		}
		do
			n = read(fd, p, want);
		while (n == -1 && errno == EINTR);
		e = errno;
		(void)sshx_buf_consume_end(b, want - (n > 0 ? (size_t)n : 0));
		errno = e;
		if (n == -1) {
			r = sys_why(why, whylen, "cannot read %s", path);
			goto out;
		}
		if (n == 0)
			break;
		have += (size_t)n;
	}
	*bufp = b;
	b = NULL;	/* transferred */
	r = 0;
 out:
	e = errno;
	if (fd != -1)
		(void)close(fd);
	sshx_buf_free(b);
	errno = e;
	return r;
}

/*
 * Creates a missing ancestor directory 0700; an existing one need only be a
 * directory, possibly reached through a symlink (/home -> /usr/home).
 */
static int
ancestor_make(const char *p, char *why, size_t whylen)
{
	struct stat st;
	int e;

	if (mkdir(p, 0700) == 0)
		return 0;
	e = errno;	/* EEXIST, or EACCES/EROFS on an existing one */
	if (stat(p, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		e = ENOTDIR;
	}
	errno = e;
	return sys_why(why, whylen, "cannot create directory %s", p);
}

int
sshx_fs_mkdir_private(const char *dir, char *why, size_t whylen)
{
	struct stat st;
	char *d = NULL, *s;
	size_t n;
	int r = SSHX_ERR_INTERNAL, fd = -1, created = 0, e;

	if (why != NULL && whylen != 0)
		*why = '\0';
	if (dir == NULL || *dir == '\0') {
		sshx_why(why, whylen, "no directory name given");
		return SSHX_ERR_INVALID_ARGUMENT;
	}
	if ((d = strdup(dir)) == NULL) {
		r = SSHX_ERR_ALLOC;
		goto out;
	}
	for (n = strlen(d); n > 1 && d[n - 1] == '/'; n--)
		d[n - 1] = '\0';
	for (s = d + 1; (s = strchr(s, '/')) != NULL; s++) {
		if (s[-1] == '/')
			continue;
		*s = '\0';
		r = ancestor_make(d, why, whylen);
		*s = '/';
		if (r != 0)
			goto out;
	}
	if (mkdir(d, 0700) == 0)
		created = 1;
	else if (errno != EEXIST) {
		r = sys_why(why, whylen, "cannot create directory %s", d);
		goto out;
	}
	/* Checked and fixed through one descriptor, so a swap after the check changes nothing. */
	if ((fd = open(d, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		e = errno;
		if ((e == ELOOP || e == ENOTDIR) && lstat(d, &st) == 0) {
			sshx_why(why, whylen, "%s is %s, not a directory", d,
			    S_ISLNK(st.st_mode) ? "a symlink" : "a file");
			r = SSHX_ERR_UNSAFE_FILE;
			goto out;
		}
		errno = e;
		r = sys_why(why, whylen, "cannot open directory %s", d);
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		r = sys_why(why, whylen, "cannot stat directory %s", d);
		goto out;
	}
	if (st.st_uid != geteuid()) {
		sshx_why(why, whylen, "directory %s is owned by uid %lu, not by "
		    "you (uid %lu)", d, (unsigned long)st.st_uid,
		    (unsigned long)geteuid());
		r = SSHX_ERR_UNSAFE_FILE;
		goto out;
	}
	/* Ours with group/other bits (or shaped by an odd umask): tighten rather than refuse. */
	if (((st.st_mode & 077) != 0 || (created && (st.st_mode & 07777) != 0700)) &&
	    fchmod(fd, 0700) == -1) {
		r = sys_why(why, whylen, "cannot chmod 700 %s", d);
		goto out;
	}
	r = 0;
 out:
	e = errno;
	if (fd != -1)
		(void)close(fd);
	free(d);
	errno = e;
	return r;
}

int
sshx_fs_xdg_path(const char *env_var, const char *home_fallback,
    const char *sub, char *out, size_t outlen)
{
	const char *v, *home;
	int w;

	if (out != NULL && outlen != 0)
		*out = '\0';
	if (env_var == NULL || home_fallback == NULL || sub == NULL ||
	    out == NULL || outlen == 0)
		return SSHX_ERR_INVALID_ARGUMENT;
	/* The XDG spec says relative (and empty) values are invalid and must be ignored. */
	if ((v = getenv(env_var)) != NULL && *v == '/')
		w = snprintf(out, outlen, "%s/%s", v, sub);
	else if ((home = getenv("HOME")) != NULL && *home == '/')
		w = snprintf(out, outlen, "%s/%s/%s", home, home_fallback, sub);
	else
		return SSHX_ERR_NOT_FOUND;
	if (w < 0 || (size_t)w >= outlen) {
		*out = '\0';
		return SSHX_ERR_NO_BUFFER_SPACE;
	}
	return 0;
}

int
sshx_fs_db_path(const char *given, char *out, size_t outlen)
{
	const char *env;
	int w;

	if (out == NULL || outlen == 0)
		return SSHX_ERR_INVALID_ARGUMENT;
	*out = '\0';
	if (given == NULL && (env = getenv("SSHX_DB")) != NULL && *env != '\0')
		given = env;
	if (given == NULL)
		return sshx_fs_xdg_path("XDG_DATA_HOME", ".local/share",
		    "sshx/sshx.db", out, outlen);
	if (*given == '\0')
		return SSHX_ERR_INVALID_ARGUMENT;
	w = snprintf(out, outlen, "%s", given);
	if (w < 0 || (size_t)w >= outlen) {
		*out = '\0';
		return SSHX_ERR_NO_BUFFER_SPACE;
	}
	return 0;
}

/* Returns the milliseconds elapsed on the monotonic clock since *start. */
static long
elapsed_ms(const struct timespec *start)
{
	struct timespec now;

	if (clock_gettime(CLOCK_MONOTONIC, &now) == -1)
		return LONG_MAX;	/* give up rather than wait forever */
	return (long)(now.tv_sec - start->tv_sec) * 1000 +
	    (now.tv_nsec - start->tv_nsec) / 1000000;
}

int
sshx_fs_lock(const char *path, int timeout_ms, int *fdp)
{
	struct timespec start, pause = { 0, LOCK_POLL_MS * 1000000L };
	struct stat st;
	char *lp = NULL;
	size_t lpsz;
	int r = SSHX_ERR_INTERNAL, fd = -1, e;

	if (fdp != NULL)
		*fdp = -1;
	if (path == NULL || *path == '\0' || fdp == NULL)
		return SSHX_ERR_INVALID_ARGUMENT;
	lpsz = strlen(path) + sizeof(".lock");
	if ((lp = malloc(lpsz)) == NULL) {
		r = SSHX_ERR_ALLOC;
		goto out;
	}
	(void)snprintf(lp, lpsz, "%s.lock", path);
	fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	/*
	 * On a read-only file system nobody can change the file, so readers
	 * need no lock file; an existing one is still honoured (flock works
	 * on a read-only descriptor), and a writer fails at its write.
	 */
	if (fd == -1 && errno == EROFS &&
	    (fd = open(lp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY)) == -1 &&
	    errno == ENOENT) {
		r = 0;
		goto out;
	}
	if (fd == -1) {
		r = errno == ELOOP ? SSHX_ERR_UNSAFE_FILE : SSHX_ERR_SYSTEM;
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		r = SSHX_ERR_SYSTEM;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = SSHX_ERR_UNSAFE_FILE;
		goto out;
	}
	if (clock_gettime(CLOCK_MONOTONIC, &start) == -1) {
		r = SSHX_ERR_SYSTEM;
		goto out;
	}
	/* Polled, not blocking: flock has no timeout and an alarm would disturb the caller. */
	while (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK) {
			r = SSHX_ERR_SYSTEM;
			goto out;
		}
		if (elapsed_ms(&start) >= (long)timeout_ms) {
			r = SSHX_ERR_BUSY;
			goto out;
		}
		(void)nanosleep(&pause, NULL);
	}
	*fdp = fd;
	fd = -1;	/* transferred */
	r = 0;
 out:
	e = errno;
	if (fd != -1)
		(void)close(fd);
	free(lp);
	errno = e;
	return r;
}

void
sshx_fs_unlock(int fd)
{
	int e = errno;

	/* Closing our only descriptor of the open file releases the flock; the file stays. */
	if (fd >= 0)
		(void)close(fd);
	errno = e;
}
