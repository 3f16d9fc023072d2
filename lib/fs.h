/*
 * Files that hold secrets or trust decisions: written atomically with an
 * explicit mode, read only when their permissions are safe.
 */
#ifndef SSHX_FS_H
#define SSHX_FS_H

#include <sys/types.h>

#include <stddef.h>

struct sshx_buf;

/* sshx_fs_write_atomic flags. */
#define SSHX_FS_KEEP_BACKUP	0x1	/* keep the previous file as PATH.bak */

/* sshx_fs_read flags. */
#define SSHX_FS_PRIVATE		0x1	/* refuse unless owned by us and not group/other accessible */
#define SSHX_FS_SECURE_MEM	0x2	/* read into a libgcrypt secure-memory buffer */

/*
 * Writes len bytes to path atomically: a temporary file in the same
 * directory opened O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC, fchmod(mode), write,
 * fsync, renameat over path, fsync of the directory, then a re-check of the
 * result (regular file, owned by us, the mode asked for, one link). Refuses a
 * symlink or a non-regular file at path, and a parent directory that is
 * group/world writable (without the sticky bit) or not owned by us or root.
 * Concurrent writers in one directory are serialised by an flock on it.
 * With SSHX_FS_KEEP_BACKUP the file being replaced is kept as path.bak
 * (itself replaced atomically). On failure path is unchanged, no temporary
 * file is left, and why (if not NULL) says what went wrong.
 * Returns 0 or SSHX_ERR_UNSAFE_FILE, SSHX_ERR_SYSTEM (errno set), ...
 */
int sshx_fs_write_atomic(const char *path, const void *data, size_t len,
    mode_t mode, int flags, char *why, size_t whylen);

/*
 * The same write in steps, for contents made piece by piece (a large
 * export): begin does every check and creates the temporary file (holding
 * the directory's lock until commit or abort), write appends, commit does
 * the rest of sshx_fs_write_atomic. commit and abort free the writer; after
 * abort, or a failed begin, write or commit, path is as it was.
 */
struct sshx_fs_atomic;
int sshx_fs_atomic_begin(const char *path, mode_t mode, int flags,
    struct sshx_fs_atomic **wp, char *why, size_t whylen);
int sshx_fs_atomic_write(struct sshx_fs_atomic *w, const void *data, size_t len,
    char *why, size_t whylen);
int sshx_fs_atomic_commit(struct sshx_fs_atomic *w, char *why, size_t whylen);
void sshx_fs_atomic_abort(struct sshx_fs_atomic *w);

/*
 * Reads the whole regular file at path (no symlink followed at the last
 * component) into a new buffer in *bufp. Files larger than max give
 * SSHX_ERR_LIMIT. With SSHX_FS_PRIVATE, a file not owned by the effective
 * uid or accessible by group/other gives SSHX_ERR_UNSAFE_FILE and why says
 * which and how to fix it ("chmod 600 PATH" / "sshxctl perms fix PATH").
 * A missing file gives SSHX_ERR_NOT_FOUND.
 */
int sshx_fs_read(const char *path, size_t max, int flags, struct sshx_buf **bufp,
    char *why, size_t whylen);

/*
 * Creates dir with mode 0700 (and missing parents with 0700), or checks an
 * existing one: a real directory owned by us, not group/world writable.
 * Returns 0 or SSHX_ERR_UNSAFE_FILE / SSHX_ERR_SYSTEM with why set.
 */
int sshx_fs_mkdir_private(const char *dir, char *why, size_t whylen);

/*
 * Builds a default path under an XDG base directory: $env_var/sub, or
 * $HOME/home_fallback/sub when the variable is unset or not absolute.
 * Returns 0, or SSHX_ERR_NOT_FOUND when neither is usable, or
 * SSHX_ERR_NO_BUFFER_SPACE when out is too small.
 */
int sshx_fs_xdg_path(const char *env_var, const char *home_fallback,
    const char *sub, char *out, size_t outlen);

/*
 * Builds the path of sshx's database: given (a --db option) when not NULL,
 * else $SSHX_DB when set and not empty, else $XDG_DATA_HOME/sshx/sshx.db
 * (sshx_fs_xdg_path). An empty given path is SSHX_ERR_INVALID_ARGUMENT;
 * otherwise the codes of sshx_fs_xdg_path.
 */
int sshx_fs_db_path(const char *given, char *out, size_t outlen);

/*
 * Takes an exclusive advisory lock on path.lock (created 0600 if missing),
 * waiting at most timeout_ms; returns 0 and the descriptor in *fdp, or
 * SSHX_ERR_BUSY. On a read-only file system without a lock file there is
 * nothing to lock against: 0 with *fdp = -1. Release with sshx_fs_unlock.
 */
int sshx_fs_lock(const char *path, int timeout_ms, int *fdp);
void sshx_fs_unlock(int fd);

#endif
