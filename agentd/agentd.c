/*
 * agentd: an ssh-agent that keeps private keys in locked memory and refuses
 * weak algorithms. This file holds start-up: options, hardening, the
 * listening socket, daemonising and signals.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "crypto.h"
#include "dispatch.h"
#include "err.h"
#include "fs.h"
#include "log.h"
#include "loop.h"
#include "scope.h"
#include "settings.h"
#include "vault.h"
#include "worker.h"

#define SD_LISTEN_FDS_START	3

static volatile sig_atomic_t quit;

/* The sockets this process created (main first) and must unlink at exit. */
static char sock_paths[1 + SCOPE_MAX_SOCKETS][sizeof(((struct sockaddr_un *)0)->sun_path)];
static size_t nsock_paths;
static pid_t sock_owner = -1;

static void
on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: agentd [-cDdks] [-a SOCKET] [-t LIFETIME] [--allow-sha1]\n"
	    "              [--config PATH] [--keyring PATH] [--passphrase-file FILE]\n"
	    "              [--no-secret-service] [--db PATH] [--no-audit]\n"
	    "  -a SOCKET      listen on SOCKET (default $XDG_RUNTIME_DIR/sshx/agent.sock)\n"
	    "  -c, -s         print C-shell or Bourne-shell commands when daemonising\n"
	    "  -D             stay in the foreground\n"
	    "  -d             stay in the foreground and log debug messages\n"
	    "  -k             kill the agent named by SSH_AGENT_PID\n"
	    "  -t LIFETIME    default lifetime of added keys, in seconds\n"
	    "  --allow-sha1   sign with SHA-1 \"ssh-rsa\" when a client asks (old servers)\n"
	    "  --config PATH  configuration file (default $XDG_CONFIG_HOME/sshx/agentd.conf)\n"
	    "  --keyring PATH the encrypted keyring (default $XDG_DATA_HOME/sshx/keyring)\n"
	    "  --passphrase-file FILE  unlock the keyring with this file (0600/0400)\n"
	    "  --no-secret-service     do not ask the Secret Service for the passphrase\n"
	    "  --db PATH      record the audit trail in this database (default $SSHX_DB,\n"
	    "                 else $XDG_DATA_HOME/sshx/sshx.db)\n"
	    "  --no-audit     keep the audit trail out of the database (it is still logged)\n"
	    "  --version      print the version\n");
}

/* Removes the sockets when this process created them. */
static void
cleanup_socket(void)
{
	size_t i;

	if (sock_owner != getpid())
		return;
	for (i = 0; i < nsock_paths; i++)
		unlink(sock_paths[i]);
}

/* Builds the default directory path for the socket into out. */
static int
default_socket_dir(char *out, size_t len)
{
	const char *rt = getenv("XDG_RUNTIME_DIR");
	int n;

	if (rt != NULL && rt[0] == '/')
		n = snprintf(out, len, "%s/sshx", rt);
	else
		n = snprintf(out, len, "/tmp/sshx-%u", (unsigned)geteuid());
	return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

/*
 * Creates dir with mode 0700, or checks that an existing one is a real
 * directory owned by us that nobody else can enter.
 */
static int
secure_dir(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		sshx_log_error("cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	if (lstat(dir, &st) == -1) {
		sshx_log_error("%s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		sshx_log_error("%s is not a directory (a symlink?); refusing to "
		    "put the agent socket there", dir);
		return -1;
	}
	if (st.st_uid != geteuid()) {
		sshx_log_error("%s is owned by uid %u, not by you; refusing to "
		    "put the agent socket there", dir, (unsigned)st.st_uid);
		return -1;
	}
	if ((st.st_mode & 077) != 0) {
		if (chmod(dir, 0700) == -1) {
			sshx_log_error("%s has mode %04o and cannot be made 0700: %s",
			    dir, (unsigned)(st.st_mode & 07777), strerror(errno));
			return -1;
		}
		sshx_log_info("%s had mode %04o; set it to 0700", dir,
		    (unsigned)(st.st_mode & 07777));
	}
	return 0;
}

/*
 * Deals with something already at the socket path: a live agent is an
 * error, a stale socket is removed, anything else is refused.
 */
static int
clear_stale(const char *path)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd, live;

	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		sshx_log_error("%s exists and is not a socket; refusing to "
		    "replace it", path);
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	live = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	if (live) {
		sshx_log_error("an agent is already listening on %s", path);
		return -1;
	}
	sshx_log_info("removing stale socket %s", path);
	if (unlink(path) == -1 && errno != ENOENT) {
		sshx_log_error("cannot remove stale socket %s: %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Creates, binds and listens on the unix socket at path (mode 0600). */
static int
listen_unix(const char *path)
{
	struct sockaddr_un sun;
	mode_t old;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (nsock_paths >= sizeof(sock_paths) / sizeof(*sock_paths))
		return -1;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		sshx_log_error("socket path too long (%zu bytes, at most %zu): %s",
		    strlen(path), sizeof(sun.sun_path) - 1, path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	if (clear_stale(path) != 0)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1) {
		sshx_log_error("socket: %s", strerror(errno));
		return -1;
	}
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		sshx_log_error("bind %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	umask(old);
	/* Length checked above. */
	memcpy(sock_paths[nsock_paths++], path, strlen(path) + 1);
	sock_owner = getpid();
	if (chmod(path, 0600) == -1 || listen(fd, SOMAXCONN) == -1) {
		sshx_log_error("listen %s: %s", path, strerror(errno));
		close(fd);
		cleanup_socket();
		return -1;
	}
	return fd;
}

/*
 * Opens the extra socket of each [socket NAME] section: its "path", else
 * NAME.sock beside the main socket given with -a, else in the default
 * directory (made safe as for the main socket). Appends the descriptors to
 * fds; 0 or -1.
 */
static int
open_scoped_sockets(struct agent *ag, const char *sockarg, int *fds,
    size_t *nfds)
{
	struct scope_conf *sc = ag->policy.scopes;
	struct sock_scope *s;
	char dir[PATH_MAX], path[PATH_MAX];
	const char *slash;
	size_t i;
	int n;

	for (i = 0; sc != NULL && i < sc->nsocks; i++) {
		s = sc->socks[i];
		if (s->path != NULL)
			n = snprintf(path, sizeof(path), "%s", s->path);
		else if (sockarg != NULL &&
		    (slash = strrchr(sockarg, '/')) != NULL)
			n = snprintf(path, sizeof(path), "%.*s/%s.sock",
			    (int)(slash - sockarg), sockarg, s->name);
		else if (sockarg != NULL)
			n = snprintf(path, sizeof(path), "%s.sock", s->name);
		else {
			if (default_socket_dir(dir, sizeof(dir)) != 0 ||
			    secure_dir(dir) != 0)
				return -1;
			n = snprintf(path, sizeof(path), "%s/%s.sock", dir,
			    s->name);
		}
		if (n < 0 || (size_t)n >= sizeof(path)) {
			sshx_log_error("socket path of [socket %s] too long",
			    s->name);
			return -1;
		}
		if ((s->fd = listen_unix(path)) == -1)
			return -1;
		fds[(*nfds)++] = s->fd;
		sshx_log_info("listening on %s for [socket %s]: %zu key%s; "
		    "adding, removing, locking and sshx control requests are "
		    "refused there", path, s->name, s->nkeys,
		    s->nkeys == 1 ? "" : "s");
	}
	return 0;
}

/* Returns the socket handed over by systemd (LISTEN_FDS), or -1 when there is none. */
static int
activation_socket(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	int fd = SD_LISTEN_FDS_START, type;
	socklen_t len = sizeof(type);

	if (pid == NULL || fds == NULL || atol(pid) != (long)getpid())
		return -1;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (atoi(fds) < 1)
		return -1;
	if (atoi(fds) > 1)
		sshx_log_warn("socket activation passed %s sockets; using the "
		    "first", fds);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1 ||
	    type != SOCK_STREAM) {
		sshx_log_error("socket activation: descriptor %d is not a "
		    "stream socket", fd);
		return -2;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1)
		return -2;
	return fd;
}

/* Makes this process hard to inspect: no core dumps, no ptrace by the same uid. */
static void
harden(void)
{
	struct rlimit rl = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &rl) == -1)
		sshx_log_warn("cannot disable core dumps: %s", strerror(errno));
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		sshx_log_warn("cannot mark the process undumpable: %s",
		    strerror(errno));
	/* Room for many clients: raise the descriptor limit to the hard one. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max > 65536 ? 65536 : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			sshx_log_warn("cannot raise the descriptor limit: %s",
			    strerror(errno));
	}
}

/* Prints the environment for the shell, like ssh-agent. */
static void
print_env(FILE *f, int csh, const char *path, pid_t pid)
{
	if (csh)
		fprintf(f, "setenv SSH_AUTH_SOCK %s;\nsetenv SSH_AGENT_PID %ld;\n"
		    "echo Agent pid %ld;\n", path, (long)pid, (long)pid);
	else
		fprintf(f, "SSH_AUTH_SOCK=%s; export SSH_AUTH_SOCK;\n"
		    "SSH_AGENT_PID=%ld; export SSH_AGENT_PID;\n"
		    "echo Agent pid %ld;\n", path, (long)pid, (long)pid);
	fflush(f);
}

/* Kills the agent named by SSH_AGENT_PID (-k). */
static int
kill_agent(int csh)
{
	const char *s = getenv("SSH_AGENT_PID");
	char *end;
	long pid;

	if (s == NULL || *s == '\0') {
		fprintf(stderr, "agentd: SSH_AGENT_PID is not set, cannot kill "
		    "the agent\n");
		return 1;
	}
	errno = 0;
	pid = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || pid < 2 || pid > INT_MAX) {
		fprintf(stderr, "agentd: SSH_AGENT_PID=\"%s\" is not a process "
		    "id\n", s);
		return 1;
	}
	if (kill((pid_t)pid, SIGTERM) == -1) {
		fprintf(stderr, "agentd: kill %ld: %s\n", pid, strerror(errno));
		return 1;
	}
	printf(csh ? "unsetenv SSH_AUTH_SOCK;\nunsetenv SSH_AGENT_PID;\n" :
	    "unset SSH_AUTH_SOCK;\nunset SSH_AGENT_PID;\n");
	printf("echo Agent pid %ld killed;\n", pid);
	return 0;
}

/* Returns 1 when $SHELL looks like a C shell. */
static int
shell_is_csh(void)
{
	const char *sh = getenv("SHELL");
	size_t n;

	if (sh == NULL)
		return 0;
	n = strlen(sh);
	return n >= 3 && strcmp(sh + n - 3, "csh") == 0;
}

/* Picks the askpass program for confirm prompts: $SSH_ASKPASS or the system one. */
static char *
find_askpass(void)
{
	static const char *const defaults[] = {
		"/usr/bin/ssh-askpass", "/usr/lib/ssh/ssh-askpass",
		"/usr/libexec/openssh/ssh-askpass",
	};
	const char *a = getenv("SSH_ASKPASS");
	size_t i;

	if (a != NULL && *a != '\0')
		return strdup(a);
	for (i = 0; i < sizeof(defaults) / sizeof(*defaults); i++)
		if (access(defaults[i], X_OK) == 0)
			return strdup(defaults[i]);
	return NULL;
}

enum {
	OPT_ALLOW_SHA1 = 256, OPT_CONFIG, OPT_KEYRING, OPT_DB, OPT_VERSION,
	OPT_PASSFILE, OPT_NO_SECRET, OPT_NO_AUDIT,
};

/*
 * Resolves where the audit trail is written (--db, $SSHX_DB, the XDG
 * default) into out as an absolute path, since agentd leaves its working
 * directory when it daemonises; "" when there is none.
 */
static void
audit_db_path(const char *given, char *out, size_t len)
{
	char rel[PATH_MAX], cwd[PATH_MAX];
	int n;

	if (sshx_fs_db_path(given, rel, sizeof(rel)) != 0) {
		sshx_log_warn("audit: no database path (set --db or SSHX_DB, or "
		    "HOME); the audit trail goes to syslog/stderr only");
		out[0] = '\0';
		return;
	}
	if (rel[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		n = snprintf(out, len, "%s", rel);
	else
		n = snprintf(out, len, "%s/%s", cwd, rel);
	if (n < 0 || (size_t)n >= len) {
		sshx_log_warn("audit: database path too long; the audit trail "
		    "goes to syslog/stderr only");
		out[0] = '\0';
	}
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "allow-sha1", no_argument, NULL, OPT_ALLOW_SHA1 },
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "keyring", required_argument, NULL, OPT_KEYRING },
		{ "db", required_argument, NULL, OPT_DB },
		{ "passphrase-file", required_argument, NULL, OPT_PASSFILE },
		{ "no-secret-service", no_argument, NULL, OPT_NO_SECRET },
		{ "no-audit", no_argument, NULL, OPT_NO_AUDIT },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct agent ag;
	struct sigaction sa;
	sigset_t block, unblock;
	char dir[PATH_MAX], path[PATH_MAX], cfgpath[PATH_MAX], err[512];
	const char *sockarg = NULL, *config = NULL, *xdg, *keyring = NULL;
	const char *passfile = NULL, *dbarg = NULL;
	char krpath[PATH_MAX], dbpath[PATH_MAX];
	int ch, foreground = 0, debug = 0, csh = -1, do_kill = 0, no_secret = 0;
	int no_audit = 0;
	int allow_sha1 = 0, lfd, r, ret = 1, fds[1 + SCOPE_MAX_SOCKETS];
	size_t nfds = 0, i;
	long lifetime = -1, ncpu;
	char *end;
	pid_t pid;

	while ((ch = getopt_long(argc, argv, "a:cDdhkst:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			sockarg = optarg;
			break;
		case 'c':
			csh = 1;
			break;
		case 's':
			csh = 0;
			break;
		case 'D':
			foreground = 1;
			break;
		case 'd':
			foreground = debug = 1;
			break;
		case 'k':
			do_kill = 1;
			break;
		case 't':
			errno = 0;
			lifetime = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || lifetime < 1 ||
			    lifetime > UINT32_MAX) {
				fprintf(stderr, "agentd: -t: \"%s\" is not a number "
				    "of seconds from 1 to %u\n", optarg, UINT32_MAX);
				return 2;
			}
			break;
		case OPT_ALLOW_SHA1:
			allow_sha1 = 1;
			break;
		case OPT_CONFIG:
			config = optarg;
			break;
		case OPT_KEYRING:
			keyring = optarg;
			break;
		case OPT_PASSFILE:
			passfile = optarg;
			break;
		case OPT_NO_SECRET:
			no_secret = 1;
			break;
		case OPT_DB:
			dbarg = optarg;
			break;
		case OPT_NO_AUDIT:
			no_audit = 1;
			break;
		case OPT_VERSION:
			printf("agentd (sshx) %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "agentd: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (csh == -1)
		csh = shell_is_csh();
	if (do_kill)
		return kill_agent(csh);

	sshx_log_init("agentd", 0, debug ? SSHX_LOG_DEBUG : SSHX_LOG_INFO);
	harden();
	if (agent_init(&ag) != 0) {
		sshx_log_error("out of memory");
		return 3;
	}
	if (config == NULL && (xdg = getenv("XDG_CONFIG_HOME")) != NULL &&
	    xdg[0] == '/')
		snprintf(cfgpath, sizeof(cfgpath), "%s/sshx/agentd.conf", xdg);
	else if (config == NULL && getenv("HOME") != NULL)
		snprintf(cfgpath, sizeof(cfgpath), "%s/.config/sshx/agentd.conf",
		    getenv("HOME"));
	else
		snprintf(cfgpath, sizeof(cfgpath), "%s", config ? config : "");
	if (cfgpath[0] != '\0' &&
	    config_load(cfgpath, config == NULL, &ag.policy, err, sizeof(err)) != 0) {
		fprintf(stderr, "agentd: %s\n", err);
		agent_free(&ag);
		return 2;
	}
	if (allow_sha1)
		ag.policy.allow_sha1 = 1;
	if (lifetime > 0)
		ag.policy.default_lifetime = (uint32_t)lifetime;
	ag.policy.askpass = find_askpass();
	if (ag.policy.allow_sha1)
		sshx_log_warn("SHA-1 \"ssh-rsa\" signatures are allowed "
		    "(--allow-sha1): use only for servers that need them");

	if ((r = sshx_crypto_init(SSHX_SECMEM_SIZE)) != 0) {
		sshx_log_error("cannot initialise libgcrypt with %d bytes of "
		    "secure memory", SSHX_SECMEM_SIZE);
		goto out;
	}
	if (!sshx_crypto_secmem_locked())
		sshx_log_warn("secure memory (%zu bytes) could not be locked in "
		    "RAM: keys may be swapped to disk; raise RLIMIT_MEMLOCK "
		    "(ulimit -l, LimitMEMLOCK=)", sshx_crypto_secmem_size());

	if (keyring == NULL)
		keyring = getenv("SSHX_KEYRING");
	if (keyring != NULL && *keyring != '\0')
		snprintf(krpath, sizeof(krpath), "%s", keyring);
	else if (sshx_fs_xdg_path("XDG_DATA_HOME", ".local/share",
	    "sshx/keyring", krpath, sizeof(krpath)) != 0)
		krpath[0] = '\0';
	if (krpath[0] != '\0' && vault_open(&ag, krpath, passfile, no_secret) != 0)
		goto out;
	if (krpath[0] == '\0')
		sshx_log_info("no keyring path (HOME unset): serving keys added "
		    "with ssh-add only");

	dbpath[0] = '\0';
	if (!no_audit)
		audit_db_path(dbarg, dbpath, sizeof(dbpath));

	if ((lfd = activation_socket()) == -2)
		goto out;
	if (lfd >= 0) {
		snprintf(path, sizeof(path), "(socket activation)");
	} else {
		if (sockarg != NULL) {
			snprintf(path, sizeof(path), "%s", sockarg);
		} else {
			if (default_socket_dir(dir, sizeof(dir)) != 0 ||
			    secure_dir(dir) != 0)
				goto out;
			r = snprintf(path, sizeof(path), "%s/agent.sock", dir);
			if (r < 0 || (size_t)r >= sizeof(path)) {
				sshx_log_error("socket directory path too long");
				goto out;
			}
		}
		if ((lfd = listen_unix(path)) == -1)
			goto out;
	}
	fds[nfds++] = lfd;
	if (open_scoped_sockets(&ag, sockarg, fds, &nfds) != 0) {
		cleanup_socket();
		goto out;
	}

	if (!foreground) {
		if ((pid = fork()) == -1) {
			sshx_log_error("fork: %s", strerror(errno));
			cleanup_socket();
			goto out;
		}
		if (pid != 0) {
			print_env(stdout, csh, path, pid);
			_exit(0);
		}
		sock_owner = getpid();
		if (setsid() == -1)
			sshx_log_warn("setsid: %s", strerror(errno));
		if (chdir("/") == -1)
			sshx_log_warn("chdir /: %s", strerror(errno));
		sshx_log_init("agentd", 1, SSHX_LOG_INFO);
		if ((r = open("/dev/null", O_RDWR)) != -1) {
			dup2(r, STDIN_FILENO);
			dup2(r, STDOUT_FILENO);
			dup2(r, STDERR_FILENO);
			if (r > STDERR_FILENO)
				close(r);
		}
	} else if (sock_owner != -1) {
		print_env(stdout, csh, path, getpid());
		sshx_log_info("listening on %s; in another shell: export "
		    "SSH_AUTH_SOCK=%s, then ssh-add KEY and ssh-add -l", path, path);
	} else {
		sshx_log_info("listening on the socket passed by systemd");
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	/* Signals are only delivered inside ppoll: no race with the quit check. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &unblock);
	sigdelset(&unblock, SIGTERM);
	sigdelset(&unblock, SIGINT);
	sigdelset(&unblock, SIGHUP);

	/* After the fork and with signals blocked, like the workers. */
	if ((r = audit_start(no_audit || dbpath[0] == '\0' ? NULL : dbpath)) != 0) {
		sshx_log_error("cannot start the audit writer: %s", sshx_strerror(r));
		cleanup_socket();
		goto out;
	}
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu < 2)
		ncpu = 2;
	if (ncpu > 16)
		ncpu = 16;
	if ((r = worker_start((unsigned int)ncpu)) != 0) {
		sshx_log_error("cannot start worker threads: %s", sshx_strerror(r));
		cleanup_socket();
		audit_stop();
		goto out;
	}
	sshx_log_debug("%ld signing threads", ncpu);
	r = loop_run(&ag, fds, nfds, &quit, &unblock);
	cleanup_socket();
	worker_stop();
	/* Everything queued reaches the database before agentd exits. */
	audit_stop();
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	if (r == 0) {
		sshx_log_info("exiting");
		ret = 0;
	}
 out:
	agent_free(&ag);
	return ret;
}
