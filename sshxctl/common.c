/* What several sshxctl commands share: paths, passphrases, keyring access. */
#include "config.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agentc.h"
#include "b64.h"
#include "buf.h"
#include "err.h"
#include "fs.h"
#include "key.h"
#include "keyring.h"
#include "pass.h"
#include "proto.h"
#include "secret.h"
#include "sshxctl.h"

/* How long a command waits for another one that holds the keyring lock. */
#define KEYRING_LOCK_TIMEOUT_MS	10000

int
ctl_exit_code(int r)
{
	switch (r) {
	case 0:
		return EXIT_OK;
	case SSHX_ERR_NOT_FOUND:
		return EXIT_NO;
	case SSHX_ERR_BAD_PASSPHRASE:
	case SSHX_ERR_INVALID_ARGUMENT:
	case SSHX_ERR_INVALID_FORMAT:
	case SSHX_ERR_UNSAFE_FILE:
	case SSHX_ERR_KEY_ENCRYPTED:
	case SSHX_ERR_KEY_TYPE_UNKNOWN:
	case SSHX_ERR_KEY_TYPE_REFUSED:
	case SSHX_ERR_KEY_INVALID:
	case SSHX_ERR_KEY_TOO_SMALL:
	case SSHX_ERR_EXISTS:
	case SSHX_ERR_TAMPERED:
	case SSHX_ERR_VERSION:
		return EXIT_USAGE;
	default:
		return EXIT_RUNTIME;
	}
}

int
ctl_keyring_path(const struct globals *g, char *out, size_t len)
{
	int n;

	if (g->keyring != NULL) {
		if (*g->keyring == '\0')
			return SSHX_ERR_INVALID_ARGUMENT;
		n = snprintf(out, len, "%s", g->keyring);
		return (n < 0 || (size_t)n >= len) ? SSHX_ERR_NO_BUFFER_SPACE : 0;
	}
	return sshx_fs_xdg_path("XDG_DATA_HOME", ".local/share", "sshx/keyring",
	    out, len);
}

int
ctl_passphrase(const struct globals *g, const char *what,
    const char *keyring_path, int skip_secret, struct sshx_buf **passp)
{
	char why[512] = "", prompt[PATH_MAX + 64];
	int r;

	*passp = NULL;
	if (g->passphrase_file != NULL) {
		if ((r = sshx_pass_from_file(g->passphrase_file, passp, why,
		    sizeof(why))) != 0)
			ctl_error(what, "%s", why[0] ? why : sshx_strerror(r));
		return r;
	}
	if (!skip_secret && keyring_path != NULL &&
	    sshx_secret_lookup(keyring_path, SSHX_SECRET_TIMEOUT_MS, passp, why,
	    sizeof(why)) == 0)
		return 0;
	snprintf(prompt, sizeof(prompt), "Passphrase for %s: ",
	    keyring_path != NULL ? keyring_path : "the keyring");
	if ((r = sshx_pass_prompt(prompt, 0, passp, why, sizeof(why))) != 0)
		ctl_error(what, "%s%s", why[0] ? why : sshx_strerror(r),
		    r == SSHX_ERR_NOT_FOUND ? " (give --passphrase-file FILE or "
		    "run sshxctl keyring remember)" : "");
	return r;
}

int
ctl_keyring_open(const struct globals *g, const char *what, const char *path,
    struct sshx_keyring **krp, int *lockfdp)
{
	struct sshx_buf *pass = NULL;
	char why[512] = "";
	int r, fd = -1;

	*krp = NULL;
	*lockfdp = -1;
	ctl_verbose(g, "%s: keyring %s", what, path);
	/* Before taking the lock: a missing keyring must leave no lock file behind. */
	if (access(path, F_OK) == -1 && errno == ENOENT) {
		ctl_error(what, "no keyring at %s (create one with sshxctl "
		    "keyring init)", path);
		return EXIT_NO;
	}
	if ((r = sshx_fs_lock(path, KEYRING_LOCK_TIMEOUT_MS, &fd)) != 0) {
		if (r == SSHX_ERR_BUSY)
			ctl_error(what, "%s is locked by another command", path);
		else
			ctl_error(what, "cannot lock %s: %s", path, sshx_strerror(r));
		return ctl_exit_code(r);
	}
	if ((r = ctl_passphrase(g, what, path, 0, &pass)) != 0) {
		sshx_fs_unlock(fd);
		return ctl_exit_code(r);
	}
	r = sshx_keyring_load(path, sshx_buf_ptr(pass), sshx_buf_len(pass), krp,
	    why, sizeof(why));
	sshx_buf_free(pass);
	if (r != 0) {
		ctl_error(what, "%s", why[0] ? why : sshx_strerror(r));
		sshx_fs_unlock(fd);
		return ctl_exit_code(r);
	}
	*lockfdp = fd;
	return 0;
}

int
ctl_keyring_save(const char *what, struct sshx_keyring *kr, const char *path)
{
	char why[512] = "";
	int r;

	if ((r = sshx_keyring_save(kr, path, why, sizeof(why))) != 0) {
		ctl_error(what, "%s", why[0] ? why : sshx_strerror(r));
		return ctl_exit_code(r) == EXIT_OK ? EXIT_RUNTIME : ctl_exit_code(r);
	}
	return 0;
}

void
ctl_agent_reload(const struct globals *g)
{
	struct sshx_agentc *ac = NULL;
	struct sshx_buf *reply;
	const char *path = g->agent_socket;
	uint8_t type;

	if (path == NULL && (path = getenv("SSH_AUTH_SOCK")) == NULL)
		return;
	if ((reply = sshx_buf_new()) == NULL)
		return;
	if (sshx_agentc_connect(path, &ac) == 0 &&
	    sshx_agentc_extension(ac, "reload@sshx", NULL, &type, reply) == 0 &&
	    type != SSH_AGENT_SUCCESS)
		ctl_note(g, "sshxctl: note: the agent at %s did not reload "
		    "the keyring (locked, or not agentd)\n", path);
	sshx_agentc_close(ac);
	sshx_buf_free(reply);
}

/* The key's blob in base64 into a new buffer (*bp); 0 or an SSHX_ERR_* code. */
static int
public_b64(const struct sshx_key *key, struct sshx_buf **bp)
{
	const uint8_t *blob;
	size_t len;
	int r;

	if ((*bp = sshx_buf_new()) == NULL)
		return SSHX_ERR_ALLOC;
	blob = sshx_key_blob(key, &len);
	if ((r = sshx_b64_encode(blob, len, *bp)) != 0) {
		sshx_buf_free(*bp);
		*bp = NULL;
	}
	return r;
}

int
ctl_print_public(FILE *f, const struct sshx_key *key, const char *comment)
{
	struct sshx_buf *b;
	int r;

	if ((r = public_b64(key, &b)) != 0)
		return r;
	fprintf(f, "%s %.*s%s%s\n", sshx_key_type_name(sshx_key_type(key)),
	    (int)sshx_buf_len(b), (const char *)sshx_buf_ptr(b),
	    comment != NULL && *comment != '\0' ? " " : "",
	    comment != NULL ? comment : "");
	sshx_buf_free(b);
	return 0;
}

int
ctl_json_public(FILE *f, const struct sshx_key *key)
{
	struct sshx_buf *b;
	int r;

	if ((r = public_b64(key, &b)) != 0) {
		fputs("null", f);
		return r;
	}
	/* The type name and base64 need no JSON escaping. */
	fprintf(f, "\"%s %.*s\"", sshx_key_type_name(sshx_key_type(key)),
	    (int)sshx_buf_len(b), (const char *)sshx_buf_ptr(b));
	sshx_buf_free(b);
	return 0;
}
