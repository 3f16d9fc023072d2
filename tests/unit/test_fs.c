/*
 * Safe file handling: atomic writes with exact modes and backups, refusal of
 * symlinks, odd files and unsafe directories, permission-checked reads,
 * private directories, XDG paths and lock files. Tests run as root (so they
 * can chown files to another uid and mount a small tmpfs to fill it).
 */
#include "config.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"

#include "buf.h"
#include "err.h"
#include "fs.h"

#define OTHER_UID	65534	/* nobody */

static char base[PATH_MAX];	/* one per test case, made and removed by the runner */
static char tdir[PATH_MAX];	/* one per test, inside base */
static char why[512];

static int
rm_one(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_DP ? rmdir(p) : unlink(p);
}

/* Runs in the runner process, so the directories go even when a test fails. */
static void
base_setup(void)
{
	strcpy(base, "/tmp/sshx-test-fs-XXXXXX");
	if (mkdtemp(base) == NULL) {
		perror("mkdtemp");
		abort();
	}
}

static void
base_teardown(void)
{
	(void)nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
setup(void)
{
	ck_assert_int_lt(snprintf(tdir, sizeof(tdir), "%.*s/t-XXXXXX",
	    (int)sizeof(tdir) - 16, base), (int)sizeof(tdir));
	ck_assert_msg(mkdtemp(tdir) != NULL, "expected mkdtemp to work, got %s",
	    strerror(errno));
	why[0] = '\0';
}

/* Formats into a PATH_MAX buffer; a truncated path fails the test rather than testing another file. */
static char * __attribute__((format(printf, 2, 3)))
fmt(char *out, const char *f, ...)
{
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(out, PATH_MAX, f, ap);
	va_end(ap);
	ck_assert_msg(n >= 0 && n < PATH_MAX, "expected a string under "
	    "PATH_MAX, got %d bytes", n);
	return out;
}

/* Writes tdir/name into out. */
static char *
pj(char *out, const char *name)
{
	return fmt(out, "%s/%s", tdir, name);
}

/* Creates path with exactly the given contents and mode, the plain way. */
static void
put_file(const char *path, const char *s, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	ck_assert_msg(fd != -1, "expected to create %s, got %s", path, strerror(errno));
	ck_assert_int_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s));
	ck_assert_int_eq(fchmod(fd, mode), 0);
	ck_assert_int_eq(close(fd), 0);
}

/* Checks that path is a one-link regular file with exactly contents s and the mode. */
static void
assert_file(const char *path, const char *s, mode_t mode)
{
	char got[256];
	struct stat st;
	ssize_t n;
	int fd;

	ck_assert_msg(lstat(path, &st) == 0, "expected %s to exist, got %s",
	    path, strerror(errno));
	ck_assert_msg(S_ISREG(st.st_mode) && st.st_nlink == 1, "expected %s to "
	    "be a regular file with 1 link, got mode %o with %lu links", path,
	    (unsigned int)st.st_mode, (unsigned long)st.st_nlink);
	ck_assert_msg((st.st_mode & 07777) == mode, "expected %s to have mode "
	    "%04o, got %04o", path, (unsigned int)mode,
	    (unsigned int)(st.st_mode & 07777));
	ck_assert_int_ne(fd = open(path, O_RDONLY), -1);
	n = read(fd, got, sizeof(got) - 1);
	close(fd);
	ck_assert_int_ge(n, 0);
	got[n] = '\0';
	ck_assert_msg(strcmp(got, s) == 0, "expected %s to hold \"%s\", got "
	    "\"%s\"", path, s, got);
}

static int
not_dots(const struct dirent *d)
{
	return strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0;
}

/* Returns the sorted names in dir joined by spaces (static storage). */
static const char *
listing(const char *dir)
{
	static char out[1024];
	struct dirent **ents;
	int i, n;

	out[0] = '\0';
	ck_assert_int_ge(n = scandir(dir, &ents, not_dots, alphasort), 0);
	for (i = 0; i < n; i++) {
		if (i > 0)
			strncat(out, " ", sizeof(out) - strlen(out) - 1);
		strncat(out, ents[i]->d_name, sizeof(out) - strlen(out) - 1);
		free(ents[i]);
	}
	free(ents);
	return out;
}

static void
assert_listing(const char *dir, const char *want)
{
	const char *got = listing(dir);

	ck_assert_msg(strcmp(got, want) == 0, "expected %s to hold exactly "
	    "\"%s\", got \"%s\"", dir, want, got);
}

static void
assert_why_has(const char *part)
{
	ck_assert_msg(strstr(why, part) != NULL, "expected why to contain "
	    "\"%s\", got \"%s\"", part, why);
	ck_assert_msg(strchr(why, '\n') == NULL, "expected why on one line, "
	    "got \"%s\"", why);
}

#define ASSERT_R(got, want) ck_assert_msg((got) == (want), "expected %s "     \
	"(%d), got %d (%s); why \"%s\"", #want, (want), (got),                \
	sshx_strerror(got), why)

/* write */

START_TEST(write_creates_file_with_exactly_the_mode_asked_whatever_the_umask)
{
	static const mode_t masks[] = { 0, 077 }, modes[] = { 0600, 0644 };
	char p[PATH_MAX];
	mode_t old = umask(0);
	size_t i, j;

	for (i = 0; i < 2; i++) {
		for (j = 0; j < 2; j++) {
			umask(masks[i]);
			fmt(p, "%s/f%zu%zu", tdir, i, j);
			ASSERT_R(sshx_fs_write_atomic(p, "data", 4, modes[j], 0,
			    why, sizeof(why)), 0);
			assert_file(p, "data", modes[j]);
		}
	}
	umask(old);
	assert_listing(tdir, "f00 f01 f10 f11");
}
END_TEST

START_TEST(write_replaces_existing_contents_and_mode)
{
	char p[PATH_MAX];

	put_file(pj(p, "f"), "old and longer contents", 0644);
	ASSERT_R(sshx_fs_write_atomic(p, "new", 3, 0600, 0, why, sizeof(why)), 0);
	assert_file(p, "new", 0600);
	assert_listing(tdir, "f");
}
END_TEST

START_TEST(write_keeps_previous_version_as_bak_and_replaces_it_next_time)
{
	char p[PATH_MAX], b[PATH_MAX];

	pj(p, "f");
	pj(b, "f.bak");
	ASSERT_R(sshx_fs_write_atomic(p, "v1", 2, 0600, SSHX_FS_KEEP_BACKUP,
	    why, sizeof(why)), 0);
	assert_listing(tdir, "f");	/* nothing to back up yet */
	ASSERT_R(sshx_fs_write_atomic(p, "v2", 2, 0600, SSHX_FS_KEEP_BACKUP,
	    why, sizeof(why)), 0);
	assert_file(p, "v2", 0600);
	assert_file(b, "v1", 0600);
	ASSERT_R(sshx_fs_write_atomic(p, "v3", 2, 0600, SSHX_FS_KEEP_BACKUP,
	    why, sizeof(why)), 0);
	assert_file(p, "v3", 0600);
	assert_file(b, "v2", 0600);
	ASSERT_R(sshx_fs_write_atomic(p, "v4", 2, 0600, 0, why, sizeof(why)), 0);
	assert_file(b, "v2", 0600);	/* untouched without the flag */
	assert_listing(tdir, "f f.bak");
}
END_TEST

START_TEST(stepwise_write_joins_the_pieces_and_replaces_atomically)
{
	struct sshx_fs_atomic *w = NULL;
	char p[PATH_MAX];

	put_file(pj(p, "f"), "old", 0644);
	ASSERT_R(sshx_fs_atomic_begin(p, 0600, 0, &w, why, sizeof(why)), 0);
	ASSERT_R(sshx_fs_atomic_write(w, "one ", 4, why, sizeof(why)), 0);
	ASSERT_R(sshx_fs_atomic_write(w, "", 0, why, sizeof(why)), 0);
	ASSERT_R(sshx_fs_atomic_write(w, "two", 3, why, sizeof(why)), 0);
	/* Until commit the old file is what readers see. */
	assert_file(p, "old", 0644);
	ASSERT_R(sshx_fs_atomic_commit(w, why, sizeof(why)), 0);
	assert_file(p, "one two", 0600);
	assert_listing(tdir, "f");
}
END_TEST

START_TEST(write_sweeps_temp_files_a_killed_writer_left)
{
	char p[PATH_MAX], q[PATH_MAX];

	put_file(pj(p, "f"), "old", 0600);
	/* What a writer killed mid-write leaves: ".f." and six suffix characters. */
	put_file(pj(q, ".f.Ab3-_z"), "stale", 0600);
	put_file(pj(q, ".f.QQQQQQ"), "stale", 0600);
	/* Not ours to remove: another file's, a wrong length, a wrong character, a link. */
	put_file(pj(q, ".g.Ab3-_z"), "other", 0600);
	put_file(pj(q, ".f.Ab3-_"), "short", 0600);
	put_file(pj(q, ".f.Ab3+_z"), "plus", 0600);
	ck_assert_int_eq(symlink("f", pj(q, ".f.LINKED")), 0);
	ASSERT_R(sshx_fs_write_atomic(p, "new", 3, 0600, 0, why, sizeof(why)), 0);
	assert_file(p, "new", 0600);
	assert_listing(tdir, ".f.Ab3+_z .f.Ab3-_ .f.LINKED .g.Ab3-_z f");
}
END_TEST

START_TEST(stepwise_abort_keeps_the_old_file_and_leaves_no_temp)
{
	struct sshx_fs_atomic *w = NULL;
	char p[PATH_MAX];

	put_file(pj(p, "f"), "old", 0600);
	ASSERT_R(sshx_fs_atomic_begin(p, 0600, 0, &w, why, sizeof(why)), 0);
	ASSERT_R(sshx_fs_atomic_write(w, "partial", 7, why, sizeof(why)), 0);
	sshx_fs_atomic_abort(w);
	assert_file(p, "old", 0600);
	assert_listing(tdir, "f");
}
END_TEST

START_TEST(stepwise_begin_refuses_a_symlink_and_creates_nothing)
{
	struct sshx_fs_atomic *w = (struct sshx_fs_atomic *)1;
	char p[PATH_MAX], t[PATH_MAX];

	put_file(pj(t, "target"), "target", 0600);
	ck_assert_int_eq(symlink(t, pj(p, "link")), 0);
	ASSERT_R(sshx_fs_atomic_begin(p, 0600, 0, &w, why, sizeof(why)),
	    SSHX_ERR_UNSAFE_FILE);
	ck_assert_ptr_null(w);
	assert_why_has("symlink");
	assert_file(t, "target", 0600);
	assert_listing(tdir, "link target");
}
END_TEST

START_TEST(write_refuses_symlink_at_target_and_leaves_its_target_unchanged)
{
	char p[PATH_MAX], v[PATH_MAX];
	struct stat st;

	put_file(pj(v, "victim"), "precious", 0644);
	ck_assert_int_eq(symlink(v, pj(p, "f")), 0);
	ASSERT_R(sshx_fs_write_atomic(p, "evil", 4, 0600, SSHX_FS_KEEP_BACKUP,
	    why, sizeof(why)), SSHX_ERR_UNSAFE_FILE);
	assert_why_has("is a symlink; refusing to write through it");
	assert_file(v, "precious", 0644);
	ck_assert_msg(lstat(p, &st) == 0 && S_ISLNK(st.st_mode),
	    "expected %s to still be a symlink", p);
	assert_listing(tdir, "f victim");
}
END_TEST

START_TEST(write_refuses_directory_at_target)
{
	char p[PATH_MAX];

	ck_assert_int_eq(mkdir(pj(p, "f"), 0700), 0);
	ASSERT_R(sshx_fs_write_atomic(p, "x", 1, 0600, 0, why, sizeof(why)),
	    SSHX_ERR_UNSAFE_FILE);
	assert_why_has("not a regular file");
	assert_listing(tdir, "f");
	assert_listing(p, "");
}
END_TEST

/* Tries to write d/f where d has the given mode and owner; returns the result. */
static int
write_in_dir(mode_t dmode, uid_t owner)
{
	char d[PATH_MAX], p[PATH_MAX];

	ck_assert_int_eq(mkdir(pj(d, "d"), 0700), 0);
	ck_assert_int_eq(chown(d, owner, 0), 0);
	ck_assert_int_eq(chmod(d, dmode), 0);
	fmt(p, "%s/f", d);
	return sshx_fs_write_atomic(p, "x", 1, 0600, 0, why, sizeof(why));
}

START_TEST(write_refuses_group_writable_parent)
{
	char d[PATH_MAX];

	ASSERT_R(write_in_dir(0775, 0), SSHX_ERR_UNSAFE_FILE);
	assert_why_has(pj(d, "d"));
	assert_why_has("mode 0775");
	assert_listing(d, "");
}
END_TEST

START_TEST(write_refuses_world_writable_parent_without_sticky_bit)
{
	char d[PATH_MAX];

	ASSERT_R(write_in_dir(0757, 0), SSHX_ERR_UNSAFE_FILE);
	assert_why_has("mode 0757");
	assert_listing(pj(d, "d"), "");
}
END_TEST

START_TEST(write_accepts_sticky_world_writable_parent_owned_by_root)
{
	char d[PATH_MAX], p[PATH_MAX];

	ck_assert_msg(geteuid() == 0, "expected the tests to run as root, "
	    "got uid %lu", (unsigned long)geteuid());
	ASSERT_R(write_in_dir(01777, 0), 0);
	fmt(p, "%s/f", pj(d, "d"));
	assert_file(p, "x", 0600);
	assert_listing(d, "f");
}
END_TEST

START_TEST(write_refuses_parent_owned_by_another_user)
{
	char d[PATH_MAX];

	ASSERT_R(write_in_dir(0755, OTHER_UID), SSHX_ERR_UNSAFE_FILE);
	assert_why_has("owned by uid 65534");
	assert_listing(pj(d, "d"), "");
}
END_TEST

START_TEST(write_of_zero_bytes_creates_an_empty_file)
{
	char p[PATH_MAX], q[PATH_MAX];

	ASSERT_R(sshx_fs_write_atomic(pj(p, "e"), NULL, 0, 0600, 0, why,
	    sizeof(why)), 0);
	assert_file(p, "", 0600);
	put_file(pj(q, "g"), "something", 0600);
	ASSERT_R(sshx_fs_write_atomic(q, "", 0, 0640, 0, why, sizeof(why)), 0);
	assert_file(q, "", 0640);
	assert_listing(tdir, "e g");
}
END_TEST

START_TEST(write_accepts_a_relative_path)
{
	int cwd = open(".", O_RDONLY | O_DIRECTORY);
	char p[PATH_MAX];

	ck_assert_int_ne(cwd, -1);
	ck_assert_int_eq(chdir(tdir), 0);
	ASSERT_R(sshx_fs_write_atomic("rel", "r", 1, 0600, 0, why, sizeof(why)), 0);
	ck_assert_int_eq(fchdir(cwd), 0);
	close(cwd);
	assert_file(pj(p, "rel"), "r", 0600);
}
END_TEST

START_TEST(write_refuses_names_that_are_not_files)
{
	char p[PATH_MAX];

	ASSERT_R(sshx_fs_write_atomic(pj(p, "f/"), "x", 1, 0600, 0, why,
	    sizeof(why)), SSHX_ERR_INVALID_ARGUMENT);
	ASSERT_R(sshx_fs_write_atomic("", "x", 1, 0600, 0, why, sizeof(why)),
	    SSHX_ERR_INVALID_ARGUMENT);
	ASSERT_R(sshx_fs_write_atomic(pj(p, "f"), "x", 1, 010600, 0, why,
	    sizeof(why)), SSHX_ERR_INVALID_ARGUMENT);
	assert_listing(tdir, "");
}
END_TEST

/*
 * Fills a 64 KiB tmpfs; every result is collected before unmounting so that
 * a failed assertion cannot leave the mount behind.
 */
START_TEST(write_on_full_disk_fails_with_enospc_keeps_old_file_and_no_temp)
{
	char mnt[PATH_MAX], p[PATH_MAX], fill[PATH_MAX], want[PATH_MAX];
	char big[16384], got[64], list[PATH_MAX];
	int r_old, r, e, fd, filled_errno = 0, um;
	ssize_t n = 0;

	ck_assert_int_eq(mkdir(pj(mnt, "mnt"), 0700), 0);
	ck_assert_msg(mount("tmpfs", mnt, "tmpfs", 0, "size=64k,mode=0700") == 0,
	    "expected mount -t tmpfs -o size=64k tmpfs %s to work (the tests "
	    "run as root), got %s", mnt, strerror(errno));
	fmt(p, "%s/f", mnt);
	fmt(fill, "%s/filler", mnt);
	memset(big, 'x', sizeof(big));
	r_old = sshx_fs_write_atomic(p, "old", 3, 0600, 0, why, sizeof(why));
	if ((fd = open(fill, O_WRONLY | O_CREAT, 0600)) != -1) {
		while ((n = write(fd, big, sizeof(big))) > 0)
			;
		filled_errno = errno;
		close(fd);
	}
	r = sshx_fs_write_atomic(p, big, sizeof(big), 0600, SSHX_FS_KEEP_BACKUP,
	    why, sizeof(why));
	e = errno;
	got[0] = '\0';
	if ((fd = open(p, O_RDONLY)) != -1) {
		if ((n = read(fd, got, sizeof(got) - 1)) >= 0)
			got[n] = '\0';
		close(fd);
	}
	fmt(list, "%s", listing(mnt));
	um = umount(mnt);
	ck_assert_msg(um == 0, "expected to unmount %s, got %s", mnt, strerror(errno));
	ASSERT_R(r_old, 0);
	ck_assert_msg(filled_errno == ENOSPC, "expected the filler to hit "
	    "ENOSPC, got %s", strerror(filled_errno));
	ASSERT_R(r, SSHX_ERR_SYSTEM);
	ck_assert_msg(e == ENOSPC, "expected errno ENOSPC, got %s", strerror(e));
	fmt(want, "cannot write %s: No space left on device", p);
	ck_assert_msg(strcmp(why, want) == 0, "expected why \"%s\", got \"%s\"",
	    want, why);
	ck_assert_msg(strcmp(got, "old") == 0, "expected %s to still hold "
	    "\"old\", got \"%s\"", p, got);
	ck_assert_msg(strcmp(list, "f filler") == 0, "expected the full disk "
	    "to hold \"f filler\", got \"%s\"", list);
}
END_TEST

/* read */

/* Reads path into a buffer and checks it holds exactly want[0..len). */
static void
assert_read(const char *path, int flags, const void *want, size_t len)
{
	struct sshx_buf *b = NULL;

	ASSERT_R(sshx_fs_read(path, 1 << 20, flags, &b, why, sizeof(why)), 0);
	ck_assert_msg(sshx_buf_len(b) == len, "expected %zu bytes from %s, got "
	    "%zu", len, path, sshx_buf_len(b));
	ck_assert_msg(len == 0 || memcmp(sshx_buf_ptr(b), want, len) == 0,
	    "expected the exact bytes of %s", path);
	ck_assert_msg(sshx_buf_is_secure(b) == ((flags & SSHX_FS_SECURE_MEM) != 0),
	    "expected secure %d, got %d", (flags & SSHX_FS_SECURE_MEM) != 0,
	    sshx_buf_is_secure(b));
	sshx_buf_free(b);
}

/* Expects sshx_fs_read(path, flags) to fail with want and leave *bufp NULL. */
static void
assert_read_fails(const char *path, size_t max, int flags, int want)
{
	struct sshx_buf *b = (struct sshx_buf *)&b;	/* must be cleared */

	ASSERT_R(sshx_fs_read(path, max, flags, &b, why, sizeof(why)), want);
	ck_assert_msg(b == NULL, "expected no buffer after a failed read");
}

START_TEST(read_of_private_file_returns_the_exact_bytes)
{
	static const char data[] = "secret\0with\nbinary\xff bytes";
	char p[PATH_MAX];

	ASSERT_R(sshx_fs_write_atomic(pj(p, "k"), data, sizeof(data), 0600, 0,
	    why, sizeof(why)), 0);
	assert_read(p, SSHX_FS_PRIVATE, data, sizeof(data));
	assert_read(p, SSHX_FS_PRIVATE | SSHX_FS_SECURE_MEM, data, sizeof(data));
}
END_TEST

START_TEST(read_of_large_file_returns_every_byte)
{
	static unsigned char data[300000];
	char p[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 7 + i / 251);
	ASSERT_R(sshx_fs_write_atomic(pj(p, "big"), data, sizeof(data), 0600, 0,
	    why, sizeof(why)), 0);
	assert_read(p, SSHX_FS_PRIVATE, data, sizeof(data));
}
END_TEST

START_TEST(read_of_empty_file_returns_an_empty_buffer)
{
	char p[PATH_MAX];

	put_file(pj(p, "empty"), "", 0600);
	assert_read(p, SSHX_FS_PRIVATE | SSHX_FS_SECURE_MEM, "", 0);
}
END_TEST

START_TEST(read_refuses_symlink)
{
	char p[PATH_MAX], v[PATH_MAX];

	put_file(pj(v, "real"), "x", 0600);
	ck_assert_int_eq(symlink(v, pj(p, "link")), 0);
	assert_read_fails(p, 100, 0, SSHX_ERR_UNSAFE_FILE);
	assert_why_has("link is a symlink");
}
END_TEST

START_TEST(read_private_refuses_group_readable_0640)
{
	char p[PATH_MAX], fix[PATH_MAX];

	put_file(pj(p, "k"), "x", 0640);
	assert_read_fails(p, 100, SSHX_FS_PRIVATE, SSHX_ERR_UNSAFE_FILE);
	assert_why_has("accessible by group/others (mode 0640)");
	fmt(fix, "chmod 600 %s or sshxctl perms fix %s", p, p);
	assert_why_has(fix);
}
END_TEST

START_TEST(read_private_refuses_world_readable_0604)
{
	char p[PATH_MAX];

	put_file(pj(p, "k"), "x", 0604);
	assert_read_fails(p, 100, SSHX_FS_PRIVATE, SSHX_ERR_UNSAFE_FILE);
	assert_why_has("(mode 0604)");
}
END_TEST

START_TEST(read_private_refuses_file_of_another_owner)
{
	char p[PATH_MAX], want[PATH_MAX];

	put_file(pj(p, "k"), "x", 0600);
	ck_assert_int_eq(chown(p, OTHER_UID, OTHER_UID), 0);
	assert_read_fails(p, 100, SSHX_FS_PRIVATE, SSHX_ERR_UNSAFE_FILE);
	fmt(want, "is owned by uid 65534, not by you (uid %lu)",
	    (unsigned long)geteuid());
	assert_why_has(want);
}
END_TEST

START_TEST(read_without_private_accepts_a_shared_file)
{
	char p[PATH_MAX];

	put_file(pj(p, "pub"), "public", 0644);
	assert_read(p, 0, "public", 6);
}
END_TEST

START_TEST(read_refuses_fifo_without_blocking_and_directory)
{
	char p[PATH_MAX];

	ck_assert_int_eq(mkfifo(pj(p, "fifo"), 0600), 0);
	assert_read_fails(p, 100, SSHX_FS_PRIVATE, SSHX_ERR_UNSAFE_FILE);
	assert_why_has("not a regular file");
	ck_assert_int_eq(mkdir(pj(p, "dir"), 0700), 0);
	assert_read_fails(p, 100, 0, SSHX_ERR_UNSAFE_FILE);
	assert_why_has("not a regular file");
}
END_TEST

START_TEST(read_refuses_file_over_max_and_accepts_exactly_max)
{
	char p[PATH_MAX], data[101];

	memset(data, 'a', sizeof(data) - 1);
	data[100] = '\0';
	put_file(pj(p, "k"), data, 0600);
	assert_read_fails(p, 99, SSHX_FS_PRIVATE, SSHX_ERR_LIMIT);
	assert_why_has("100 bytes");
	assert_read(p, SSHX_FS_PRIVATE, data, 100);
	assert_read_fails(p, 0, 0, SSHX_ERR_LIMIT);
}
END_TEST

START_TEST(read_of_missing_file_is_not_found)
{
	char p[PATH_MAX];

	assert_read_fails(pj(p, "nothing"), 100, SSHX_FS_PRIVATE, SSHX_ERR_NOT_FOUND);
}
END_TEST

/* mkdir_private */

static void
assert_dir_mode(const char *d, mode_t mode)
{
	struct stat st;

	ck_assert_msg(lstat(d, &st) == 0 && S_ISDIR(st.st_mode), "expected %s "
	    "to be a directory", d);
	ck_assert_msg((st.st_mode & 07777) == mode, "expected %s to have mode "
	    "%04o, got %04o", d, (unsigned int)mode,
	    (unsigned int)(st.st_mode & 07777));
}

START_TEST(mkdir_private_creates_nested_directories_0700)
{
	char p[PATH_MAX];
	mode_t old = umask(022);

	ASSERT_R(sshx_fs_mkdir_private(pj(p, "a/b/c"), why, sizeof(why)), 0);
	assert_dir_mode(pj(p, "a"), 0700);
	assert_dir_mode(pj(p, "a/b"), 0700);
	assert_dir_mode(pj(p, "a/b/c"), 0700);
	ASSERT_R(sshx_fs_mkdir_private(pj(p, "a/b/c/"), why, sizeof(why)), 0);
	ASSERT_R(sshx_fs_mkdir_private(pj(p, "a//b/d//"), why, sizeof(why)), 0);
	assert_dir_mode(pj(p, "a/b/d"), 0700);
	umask(old);
}
END_TEST

START_TEST(mkdir_private_fixes_a_0755_directory_of_ours_to_0700)
{
	char p[PATH_MAX];

	ck_assert_int_eq(mkdir(pj(p, "d"), 0700), 0);
	ck_assert_int_eq(chmod(p, 0755), 0);
	ASSERT_R(sshx_fs_mkdir_private(p, why, sizeof(why)), 0);
	assert_dir_mode(p, 0700);
}
END_TEST

START_TEST(mkdir_private_refuses_symlink_in_place_of_the_directory)
{
	char p[PATH_MAX], real[PATH_MAX];

	ck_assert_int_eq(mkdir(pj(real, "real"), 0755), 0);
	ck_assert_int_eq(chmod(real, 0755), 0);
	ck_assert_int_eq(symlink(real, pj(p, "d")), 0);
	ASSERT_R(sshx_fs_mkdir_private(p, why, sizeof(why)), SSHX_ERR_UNSAFE_FILE);
	assert_why_has("is a symlink");
	assert_dir_mode(real, 0755);
}
END_TEST

START_TEST(mkdir_private_refuses_directory_of_another_uid)
{
	char p[PATH_MAX];

	ck_assert_int_eq(mkdir(pj(p, "d"), 0755), 0);
	ck_assert_int_eq(chown(p, OTHER_UID, OTHER_UID), 0);
	ck_assert_int_eq(chmod(p, 0755), 0);
	ASSERT_R(sshx_fs_mkdir_private(p, why, sizeof(why)), SSHX_ERR_UNSAFE_FILE);
	assert_why_has("owned by uid 65534");
	assert_dir_mode(p, 0755);
}
END_TEST

START_TEST(mkdir_private_refuses_a_file_in_place_of_the_directory)
{
	char p[PATH_MAX];

	put_file(pj(p, "d"), "x", 0600);
	ASSERT_R(sshx_fs_mkdir_private(p, why, sizeof(why)), SSHX_ERR_UNSAFE_FILE);
	assert_why_has("not a directory");
}
END_TEST

/* xdg_path */

static void
assert_xdg(const char *xdg, const char *home, int want_r, const char *want)
{
	char out[PATH_MAX];
	int r;

	if (xdg != NULL)
		setenv("XDG_DATA_HOME", xdg, 1);
	else
		unsetenv("XDG_DATA_HOME");
	if (home != NULL)
		setenv("HOME", home, 1);
	else
		unsetenv("HOME");
	r = sshx_fs_xdg_path("XDG_DATA_HOME", ".local/share", "sshx/keyring",
	    out, sizeof(out));
	ck_assert_msg(r == want_r && strcmp(out, want) == 0, "XDG_DATA_HOME=%s "
	    "HOME=%s: expected %d \"%s\", got %d \"%s\"", xdg ? xdg : "(unset)",
	    home ? home : "(unset)", want_r, want, r, out);
}

START_TEST(xdg_path_uses_the_variable_when_absolute)
{
	assert_xdg("/srv/data", "/home/u", 0, "/srv/data/sshx/keyring");
}
END_TEST

START_TEST(xdg_path_falls_back_to_home_when_unset_empty_or_relative)
{
	assert_xdg(NULL, "/home/u", 0, "/home/u/.local/share/sshx/keyring");
	assert_xdg("", "/home/u", 0, "/home/u/.local/share/sshx/keyring");
	assert_xdg("rel/data", "/home/u", 0, "/home/u/.local/share/sshx/keyring");
}
END_TEST

START_TEST(xdg_path_is_not_found_without_usable_home_and_checks_space)
{
	char out[12];

	assert_xdg(NULL, NULL, SSHX_ERR_NOT_FOUND, "");
	assert_xdg("", "relative/home", SSHX_ERR_NOT_FOUND, "");
	setenv("XDG_DATA_HOME", "/srv/data", 1);
	ck_assert_int_eq(sshx_fs_xdg_path("XDG_DATA_HOME", ".local/share",
	    "sshx/keyring", out, sizeof(out)), SSHX_ERR_NO_BUFFER_SPACE);
	ck_assert_str_eq(out, "");
}
END_TEST

/* lock */

struct lock_result {
	int r;
	long ms;
};

/* Runs sshx_fs_lock(path, timeout_ms) in a child process; returns its result and duration. */
static struct lock_result
lock_in_child(const char *path, int timeout_ms)
{
	struct lock_result res = { SSHX_ERR_INTERNAL, -1 };
	struct timespec a, b;
	int pfd[2], status, fd;
	pid_t pid;

	ck_assert_int_eq(pipe(pfd), 0);
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		close(pfd[0]);
		clock_gettime(CLOCK_MONOTONIC, &a);
		res.r = sshx_fs_lock(path, timeout_ms, &fd);
		clock_gettime(CLOCK_MONOTONIC, &b);
		res.ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
		if (write(pfd[1], &res, sizeof(res)) != (ssize_t)sizeof(res))
			_exit(1);
		_exit(0);
	}
	close(pfd[1]);
	ck_assert_int_eq(read(pfd[0], &res, sizeof(res)), (ssize_t)sizeof(res));
	close(pfd[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return res;
}

START_TEST(lock_held_by_parent_makes_child_time_out_busy_then_succeed_after_unlock)
{
	struct lock_result res;
	char p[PATH_MAX], lp[PATH_MAX];
	int fd = -1;
	struct stat st;

	ASSERT_R(sshx_fs_lock(pj(p, "keyring"), 0, &fd), 0);
	ck_assert_int_ge(fd, 0);
	res = lock_in_child(p, 200);
	ASSERT_R(res.r, SSHX_ERR_BUSY);
	ck_assert_msg(res.ms >= 190 && res.ms < 2000, "expected the child to "
	    "wait about 200 ms, got %ld ms", res.ms);
	sshx_fs_unlock(fd);
	res = lock_in_child(p, 1000);
	ASSERT_R(res.r, 0);
	ck_assert_msg(lstat(pj(lp, "keyring.lock"), &st) == 0 &&
	    S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0600,
	    "expected %s to remain as a 0600 file", lp);
	assert_listing(tdir, "keyring.lock");
}
END_TEST

START_TEST(lock_waits_for_a_holder_that_releases_within_the_timeout)
{
	char p[PATH_MAX], lp[PATH_MAX];
	int fd = -1, status, cfd;
	pid_t pid;

	pj(p, "db");
	pj(lp, "db.lock");
	ck_assert_int_ne(pid = fork(), -1);
	if (pid == 0) {
		struct timespec t = { 0, 300 * 1000000L };

		if (sshx_fs_lock(p, 0, &cfd) != 0)
			_exit(1);
		nanosleep(&t, NULL);
		_exit(0);	/* the lock goes with the process */
	}
	/* Give the child time to take the lock first. */
	while (access(lp, F_OK) != 0)
		usleep(1000);
	usleep(50000);
	ASSERT_R(sshx_fs_lock(p, 0, &fd), SSHX_ERR_BUSY);
	ck_assert_int_eq(fd, -1);
	ASSERT_R(sshx_fs_lock(p, 3000, &fd), 0);
	sshx_fs_unlock(fd);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "expected the holder to have locked and exited 0, got status %d", status);
}
END_TEST

START_TEST(lock_refuses_a_symlinked_lock_file)
{
	char p[PATH_MAX], v[PATH_MAX];
	int fd = 7;

	put_file(pj(v, "victim"), "x", 0644);
	ck_assert_int_eq(symlink(v, pj(p, "k.lock")), 0);
	ASSERT_R(sshx_fs_lock(pj(p, "k"), 0, &fd), SSHX_ERR_UNSAFE_FILE);
	ck_assert_int_eq(fd, -1);
	assert_file(v, "x", 0644);
}
END_TEST

static Suite *
fs_suite(void)
{
	Suite *s = suite_create("fs");
	TCase *w = tcase_create("write"), *r = tcase_create("read");
	TCase *m = tcase_create("mkdir_private"), *x = tcase_create("xdg_path");
	TCase *l = tcase_create("lock");

	tcase_add_unchecked_fixture(w, base_setup, base_teardown);
	tcase_add_checked_fixture(w, setup, NULL);
	tcase_add_test(w, write_creates_file_with_exactly_the_mode_asked_whatever_the_umask);
	tcase_add_test(w, write_replaces_existing_contents_and_mode);
	tcase_add_test(w, write_keeps_previous_version_as_bak_and_replaces_it_next_time);
	tcase_add_test(w, write_refuses_symlink_at_target_and_leaves_its_target_unchanged);
	tcase_add_test(w, stepwise_write_joins_the_pieces_and_replaces_atomically);
	tcase_add_test(w, stepwise_abort_keeps_the_old_file_and_leaves_no_temp);
	tcase_add_test(w, write_sweeps_temp_files_a_killed_writer_left);
	tcase_add_test(w, stepwise_begin_refuses_a_symlink_and_creates_nothing);
	tcase_add_test(w, write_refuses_directory_at_target);
	tcase_add_test(w, write_refuses_group_writable_parent);
	tcase_add_test(w, write_refuses_world_writable_parent_without_sticky_bit);
	tcase_add_test(w, write_accepts_sticky_world_writable_parent_owned_by_root);
	tcase_add_test(w, write_refuses_parent_owned_by_another_user);
	tcase_add_test(w, write_of_zero_bytes_creates_an_empty_file);
	tcase_add_test(w, write_accepts_a_relative_path);
	tcase_add_test(w, write_refuses_names_that_are_not_files);
	tcase_add_test(w, write_on_full_disk_fails_with_enospc_keeps_old_file_and_no_temp);
	suite_add_tcase(s, w);

	tcase_add_unchecked_fixture(r, base_setup, base_teardown);
	tcase_add_checked_fixture(r, setup, NULL);
	tcase_add_test(r, read_of_private_file_returns_the_exact_bytes);
	tcase_add_test(r, read_of_large_file_returns_every_byte);
	tcase_add_test(r, read_of_empty_file_returns_an_empty_buffer);
	tcase_add_test(r, read_refuses_symlink);
	tcase_add_test(r, read_private_refuses_group_readable_0640);
	tcase_add_test(r, read_private_refuses_world_readable_0604);
	tcase_add_test(r, read_private_refuses_file_of_another_owner);
	tcase_add_test(r, read_without_private_accepts_a_shared_file);
	tcase_add_test(r, read_refuses_fifo_without_blocking_and_directory);
	tcase_add_test(r, read_refuses_file_over_max_and_accepts_exactly_max);
	tcase_add_test(r, read_of_missing_file_is_not_found);
	suite_add_tcase(s, r);

	tcase_add_unchecked_fixture(m, base_setup, base_teardown);
	tcase_add_checked_fixture(m, setup, NULL);
	tcase_add_test(m, mkdir_private_creates_nested_directories_0700);
	tcase_add_test(m, mkdir_private_fixes_a_0755_directory_of_ours_to_0700);
	tcase_add_test(m, mkdir_private_refuses_symlink_in_place_of_the_directory);
	tcase_add_test(m, mkdir_private_refuses_directory_of_another_uid);
	tcase_add_test(m, mkdir_private_refuses_a_file_in_place_of_the_directory);
	suite_add_tcase(s, m);

	tcase_add_test(x, xdg_path_uses_the_variable_when_absolute);
	tcase_add_test(x, xdg_path_falls_back_to_home_when_unset_empty_or_relative);
	tcase_add_test(x, xdg_path_is_not_found_without_usable_home_and_checks_space);
	suite_add_tcase(s, x);

	tcase_add_unchecked_fixture(l, base_setup, base_teardown);
	tcase_add_checked_fixture(l, setup, NULL);
	tcase_add_test(l, lock_held_by_parent_makes_child_time_out_busy_then_succeed_after_unlock);
	tcase_add_test(l, lock_waits_for_a_holder_that_releases_within_the_timeout);
	tcase_add_test(l, lock_refuses_a_symlinked_lock_file);
	suite_add_tcase(s, l);
	return s;
}

int
main(void)
{
	return sshx_run_suite(fs_suite());
}
