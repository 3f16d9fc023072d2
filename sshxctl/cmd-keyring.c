/* sshxctl keyring ...: create the keyring, change and remember its passphrase. */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "fs.h"
#include "keyring.h"
#include "pass.h"
#include "secret.h"
#include "sshxctl.h"

/* Parses a positive number no larger than max for option opt. */
static int
parse_count(const char *what, const char *opt, const char *v, unsigned long max,
    uint32_t *out)
{
	unsigned long n;
	char *end;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (*v < '0' || *v > '9' || errno != 0 || *end != '\0' || n == 0 || n > max) {
		ctl_error(what, "%s: \"%s\" is not a number from 1 to %lu", opt, v, max);
		return -1;
	}
	*out = (uint32_t)n;
	return 0;
}

/* Gets a new passphrase: from a file when given, else asked twice on the terminal. */
static int
new_passphrase(const char *what, const char *file, struct sshx_buf **passp)
{
	char why[512] = "";
	int r;

	if (file != NULL)
		r = sshx_pass_from_file(file, passp, why, sizeof(why));
	else
		r = sshx_pass_prompt("New keyring passphrase: ", 1, passp, why,
		    sizeof(why));
	if (r != 0)
		ctl_error(what, "%s%s", why[0] ? why : sshx_strerror(r),
		    r == SSHX_ERR_NOT_FOUND ? " (give --passphrase-file FILE)" : "");
	return r;
}

static int
keyring_init_main(int argc, char **argv, const struct globals *g)
{
	static const struct option opts[] = {
		{ "kdf-memory", required_argument, NULL, 'm' },
		{ "kdf-time", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	const char *what = "keyring init";
	struct sshx_kdf_params kdf;
	struct sshx_keyring *kr = NULL;
	struct sshx_buf *pass = NULL;
	char path[PATH_MAX], dir[PATH_MAX], why[512] = "";
	int ch, fd = -1, r, ret = EXIT_RUNTIME;

	sshx_keyring_default_kdf(&kdf);
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'm':
			if (parse_count(what, "--kdf-memory", optarg, 4096,
			    &kdf.m_cost_kib) != 0)
				return EXIT_USAGE;
			if (kdf.m_cost_kib < 8) {
				ctl_error(what, "--kdf-memory: at least 8 MiB");
				return EXIT_USAGE;
			}
			kdf.m_cost_kib *= 1024;
			break;
		case 't':
			if (parse_count(what, "--kdf-time", optarg, 64, &kdf.t_cost) != 0)
				return EXIT_USAGE;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		ctl_error(what, "unexpected argument \"%s\"", argv[optind]);
		return EXIT_USAGE;
	}
	if ((r = ctl_keyring_path(g, path, sizeof(path))) != 0) {
		ctl_error(what, "no keyring path: set --keyring, SSHX_KEYRING, "
		    "XDG_DATA_HOME or HOME");
		return EXIT_USAGE;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	if ((r = sshx_fs_mkdir_private(dirname(dir), why, sizeof(why))) != 0) {
		ctl_error(what, "%s", why[0] ? why : sshx_strerror(r));
		return ctl_exit_code(r);
	}
	if ((r = sshx_fs_lock(path, 10000, &fd)) != 0) {
		ctl_error(what, "cannot lock %s: %s", path, sshx_strerror(r));
		return ctl_exit_code(r);
	}
	if (access(path, F_OK) == 0 || errno != ENOENT) {
		ctl_error(what, "%s already exists; nothing changed", path);
		ret = EXIT_USAGE;
		goto out;
	}
	if ((r = new_passphrase(what, g->passphrase_file, &pass)) != 0) {
		ret = ctl_exit_code(r);
		goto out;
	}
	ctl_progress_kdf_begin(g, &kdf);
	r = sshx_keyring_create(sshx_buf_ptr(pass), sshx_buf_len(pass), &kdf, &kr);
	ctl_progress_kdf_end(r == 0);
	if (r != 0) {
		ctl_error(what, "%s", sshx_strerror(r));
		goto out;
	}
	if ((ret = ctl_keyring_save(what, kr, path)) != 0)
		goto out;
	printf("created keyring %s\n", path);
	ret = EXIT_OK;
 out:
	sshx_keyring_free(kr);
	sshx_buf_free(pass);
	sshx_fs_unlock(fd);
	return ret;
}

static int
keyring_passwd_main(int argc, char **argv, const struct globals *g)
{
	static const struct option opts[] = {
		{ "new-passphrase-file", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	const char *what = "keyring passwd", *newfile = NULL;
	struct sshx_kdf_params kdf;
	struct sshx_keyring *kr = NULL;
	struct sshx_buf *pass = NULL, *old = NULL;
	char path[PATH_MAX], why[512] = "";
	int ch, fd = -1, r, ret, remembered = 0;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'n')
			return EXIT_USAGE;
		newfile = optarg;
	}
	if (optind != argc) {
		ctl_error(what, "unexpected argument \"%s\"", argv[optind]);
		return EXIT_USAGE;
	}
	if (ctl_keyring_path(g, path, sizeof(path)) != 0) {
		ctl_error(what, "no keyring path");
		return EXIT_USAGE;
	}
	if ((ret = ctl_keyring_open(g, what, path, &kr, &fd)) != 0)
		return ret;
	ret = EXIT_RUNTIME;
	if ((r = new_passphrase(what, newfile, &pass)) != 0) {
		ret = ctl_exit_code(r);
		goto out;
	}
	/* The new passphrase gets the default cost, as it always has. */
	sshx_keyring_default_kdf(&kdf);
	ctl_progress_kdf_begin(g, &kdf);
	r = sshx_keyring_set_passphrase(kr, sshx_buf_ptr(pass), sshx_buf_len(pass),
	    &kdf);
	ctl_progress_kdf_end(r == 0);
	if (r != 0) {
		ctl_error(what, "%s", sshx_strerror(r));
		goto out;
	}
	if ((ret = ctl_keyring_save(what, kr, path)) != 0)
		goto out;
	/* A remembered passphrase must follow the change, or agentd cannot start unlocked. */
	if (sshx_secret_lookup(path, SSHX_SECRET_TIMEOUT_MS, &old, why,
	    sizeof(why)) == 0) {
		remembered = 1;
		if ((r = sshx_secret_store(path, sshx_buf_ptr(pass),
		    sshx_buf_len(pass), SSHX_SECRET_TIMEOUT_MS, why,
		    sizeof(why))) != 0)
			ctl_error(what, "passphrase changed, but the Secret Service "
			    "still holds the old one: %s (run sshxctl keyring "
			    "remember)", why);
	}
	printf("changed the passphrase of %s%s\n", path,
	    remembered ? " (and the one the Secret Service remembers)" : "");
	ctl_agent_reload(g);
	ret = EXIT_OK;
 out:
	sshx_keyring_free(kr);
	sshx_buf_free(pass);
	sshx_buf_free(old);
	sshx_fs_unlock(fd);
	return ret;
}

static int
keyring_remember_main(int argc, char **argv, const struct globals *g)
{
	const char *what = "keyring remember";
	struct sshx_keyring *kr = NULL;
	struct sshx_buf *pass = NULL;
	char path[PATH_MAX], why[512] = "";
	int r, ret = EXIT_RUNTIME;

	if (argc != 1) {
		ctl_error(what, "unexpected argument \"%s\"", argv[1]);
		return EXIT_USAGE;
	}
	if (ctl_keyring_path(g, path, sizeof(path)) != 0) {
		ctl_error(what, "no keyring path");
		return EXIT_USAGE;
	}
	if ((r = ctl_passphrase(g, what, path, 1, &pass)) != 0)
		return ctl_exit_code(r);
	/* Remember only a passphrase that opens the keyring. */
	if ((r = sshx_keyring_load(path, sshx_buf_ptr(pass), sshx_buf_len(pass),
	    &kr, why, sizeof(why))) != 0) {
		ctl_error(what, "%s", why[0] ? why : sshx_strerror(r));
		ret = ctl_exit_code(r);
		goto out;
	}
	why[0] = '\0';
	if ((r = sshx_secret_store(path, sshx_buf_ptr(pass), sshx_buf_len(pass),
	    SSHX_SECRET_TIMEOUT_MS, why, sizeof(why))) != 0) {
		ctl_error(what, "%s", why[0] ? why : sshx_strerror(r));
		goto out;
	}
	printf("the Secret Service now remembers the passphrase of %s\n", path);
	ret = EXIT_OK;
 out:
	sshx_keyring_free(kr);
	sshx_buf_free(pass);
	return ret;
}

static int
keyring_forget_main(int argc, char **argv, const struct globals *g)
{
	const char *what = "keyring forget";
	char path[PATH_MAX], why[512] = "";
	int r;

	if (argc != 1) {
		ctl_error(what, "unexpected argument \"%s\"", argv[1]);
		return EXIT_USAGE;
	}
	if (ctl_keyring_path(g, path, sizeof(path)) != 0) {
		ctl_error(what, "no keyring path");
		return EXIT_USAGE;
	}
	if ((r = sshx_secret_clear(path, SSHX_SECRET_TIMEOUT_MS, why,
	    sizeof(why))) != 0) {
		if (r == SSHX_ERR_NOT_FOUND)
			ctl_error(what, "the Secret Service holds no passphrase "
			    "for %s", path);
		else
			ctl_error(what, "%s", why[0] ? why : sshx_strerror(r));
		return ctl_exit_code(r);
	}
	printf("the Secret Service no longer holds the passphrase of %s\n", path);
	return EXIT_OK;
}

static int
keyring_status_main(int argc, char **argv, const struct globals *g)
{
	const char *what = "keyring status", *remembered;
	struct sshx_buf *pass = NULL;
	struct stat st;
	char path[PATH_MAX], why[512] = "";
	int r, exists, safe = 0;

	if (argc != 1) {
		ctl_error(what, "unexpected argument \"%s\"", argv[1]);
		return EXIT_USAGE;
	}
	if (ctl_keyring_path(g, path, sizeof(path)) != 0) {
		ctl_error(what, "no keyring path");
		return EXIT_USAGE;
	}
	exists = lstat(path, &st) == 0;
	if (exists)
		safe = S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
		    (st.st_mode & 077) == 0;
	r = sshx_secret_lookup(path, SSHX_SECRET_TIMEOUT_MS, &pass, why,
	    sizeof(why));
	sshx_buf_free(pass);
	remembered = r == 0 ? "yes" : r == SSHX_ERR_NOT_FOUND ? "no" : "unknown";
	if (g->json) {
		printf("{\"path\":");
		ctl_json_string(stdout, path);
		printf(",\"exists\":%s", exists ? "true" : "false");
		/* Every key is always there, null when it does not apply. */
		if (exists)
			printf(",\"mode\":\"%04o\",\"safe\":%s",
			    (unsigned)(st.st_mode & 07777), safe ? "true" : "false");
		else
			printf(",\"mode\":null,\"safe\":null");
		printf(",\"remembered\":%s", r == 0 ? "true" :
		    r == SSHX_ERR_NOT_FOUND ? "false" : "null");
		printf(",\"secret_service\":");
		if (r != 0 && r != SSHX_ERR_NOT_FOUND)
			ctl_json_string(stdout, why);
		else
			printf("null");
		printf("}\n");
	} else {
		printf("keyring: %s\n", path);
		if (exists)
			printf("file: mode %04o%s\n", (unsigned)(st.st_mode & 07777),
			    safe ? "" : " (UNSAFE: run sshxctl perms fix)");
		else
			printf("file: none (create it with sshxctl keyring init)\n");
		printf("remembered by the Secret Service: %s%s%s\n", remembered,
		    r != 0 && r != SSHX_ERR_NOT_FOUND ? " - " : "",
		    r != 0 && r != SSHX_ERR_NOT_FOUND ? why : "");
	}
	return exists ? (safe ? EXIT_OK : EXIT_NO) : EXIT_NO;
}

const struct command keyring_commands[] = {
	{ "init", keyring_init_main, "[--kdf-memory MIB] [--kdf-time N]",
	    "create an empty keyring, its passphrase from --passphrase-file or "
	    "the terminal" },
	{ "passwd", keyring_passwd_main, "[--new-passphrase-file FILE]",
	    "re-encrypt the keyring under a new passphrase" },
	{ "remember", keyring_remember_main, "",
	    "store the keyring passphrase in the Secret Service, so agentd "
	    "starts unlocked" },
	{ "forget", keyring_forget_main, "",
	    "remove the keyring passphrase from the Secret Service" },
	{ "status", keyring_status_main, "[--json]",
	    "where the keyring is, whether its file is safe and whether its "
	    "passphrase is remembered" },
	{ NULL, NULL, NULL, NULL },
};
