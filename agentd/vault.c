/* The keyring as the agent sees it: open, in step with the file, sealed when locked. */
#include "config.h"

#include <sys/inotify.h>

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gcrypt.h>

#include "buf.h"
#include "crypto.h"
#include "dest.h"
#include "dispatch.h"
#include "err.h"
#include "identity.h"
#include "key.h"
#include "keyring.h"
#include "log.h"
#include "pass.h"
#include "secret.h"
#include "vault.h"

/* Identifies the sealed blob's format and binds it as additional data. */
static const char seal_aad[] = "sshx agent seal v1";

/* Returns a copy of key that the identity table can own. */
static int
key_copy(const struct sshx_key *key, struct sshx_key **copyp)
{
	struct sshx_buf *b;
	int r;

	*copyp = NULL;
	if ((b = sshx_buf_new_secure()) == NULL)
		return SSHX_ERR_SECMEM;
	if ((r = sshx_key_put_private(key, b)) == 0)
		r = sshx_key_parse_private(b, copyp);
	sshx_buf_free(b);
	return r;
}

/* Starts watching the keyring's directory so that changes on disk reach the agent. */
static void
watch_dir(struct agent *ag)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", ag->vault.path);
	if ((ag->vault.inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1)
		return;
	if (inotify_add_watch(ag->vault.inotify_fd, dirname(dir),
	    IN_MOVED_TO | IN_CLOSE_WRITE | IN_ONLYDIR) == -1) {
		close(ag->vault.inotify_fd);
		ag->vault.inotify_fd = -1;
	}
}

int
vault_open(struct agent *ag, const char *path, const char *passfile,
    int no_secret)
{
	struct sshx_keyring *kr = NULL;
	struct sshx_buf *pass = NULL;
	char why[512] = "";
	int r;

	ag->vault.inotify_fd = -1;
	ag->vault.no_secret = no_secret;
	if ((ag->vault.path = strdup(path)) == NULL)
		return SSHX_ERR_ALLOC;
	watch_dir(ag);
	if (access(path, F_OK) == -1 && (errno == ENOENT || errno == ENOTDIR)) {
		sshx_log_info("no keyring at %s: serving keys added with ssh-add "
		    "only", path);
		return 0;
	}
	if (!no_secret) {
		r = sshx_secret_lookup(path, SSHX_SECRET_TIMEOUT_MS, &pass, why,
		    sizeof(why));
		if (r == 0) {
			r = sshx_keyring_load(path, sshx_buf_ptr(pass),
			    sshx_buf_len(pass), &kr, why, sizeof(why));
			sshx_buf_free(pass);
			pass = NULL;
			if (r == 0) {
				sshx_log_info("keyring %s unlocked with the "
				    "passphrase from the Secret Service", path);
				vault_set_keyring(ag, kr);
				return 0;
			}
			sshx_log_warn("the Secret Service's passphrase does not "
			    "open %s: %s", path, why);
		} else if (r == SSHX_ERR_NOT_FOUND) {
			sshx_log_info("the Secret Service holds no passphrase for %s",
			    path);
		} else {
			sshx_log_info("Secret Service unavailable (%s); trying "
			    "the next way to unlock", why[0] ? why : sshx_strerror(r));
		}
	}
	if (passfile != NULL) {
		why[0] = '\0';
		if ((r = sshx_pass_from_file(passfile, &pass, why, sizeof(why))) != 0) {
			sshx_log_error("passphrase file: %s", why[0] ? why :
			    sshx_strerror(r));
			return r;
		}
		r = sshx_keyring_load(path, sshx_buf_ptr(pass), sshx_buf_len(pass),
		    &kr, why, sizeof(why));
		sshx_buf_free(pass);
		if (r != 0) {
			sshx_log_error("keyring %s: %s", path, why[0] ? why :
			    sshx_strerror(r));
			return r;
		}
		sshx_log_info("keyring %s unlocked with the passphrase file", path);
		vault_set_keyring(ag, kr);
		return 0;
	}
	ag->locked = 1;
	sshx_log_info("keyring %s is locked: no keys are served until "
	    "ssh-add -X (or sshxctl agent unlock) gives its passphrase", path);
	return 0;
}

void
vault_free(struct agent *ag)
{
	sshx_keyring_free(ag->vault.kr);
	ag->vault.kr = NULL;
	free(ag->vault.sealed);	/* ciphertext */
	ag->vault.sealed = NULL;
	free(ag->vault.path);
	ag->vault.path = NULL;
	if (ag->vault.inotify_fd != -1)
		close(ag->vault.inotify_fd);
	ag->vault.inotify_fd = -1;
}

int
vault_needs_unlock(const struct agent *ag)
{
	return ag->vault.kr == NULL && ag->vault.sealed == NULL &&
	    ag->vault.path != NULL && access(ag->vault.path, F_OK) == 0;
}

void
vault_set_keyring(struct agent *ag, struct sshx_keyring *kr)
{
	sshx_keyring_free(ag->vault.kr);
	ag->vault.kr = kr;
	vault_sync(ag);
}

/*
 * Returns 1 when the record should be served: active, or retiring with its
 * grace not over at now (the end of the grace retires it without any write).
 */
static int
served(const struct sshx_keyring_entry *e, uint64_t now)
{
	return e->state == SSHX_KEYSTATE_ACTIVE ||
	    (e->state == SSHX_KEYSTATE_RETIRING && e->retire_at > now);
}

void
vault_sync(struct agent *ag)
{
	const struct sshx_keyring_entry *e;
	struct identity *id;
	struct sshx_key *copy;
	const uint8_t *blob;
	char *comment, *name, fp[SSHX_FP_LEN];
	size_t i, len;
	uint64_t now = (uint64_t)time(NULL);
	int r = SSHX_ERR_ALLOC;

	ag->vault.next_retire = 0;
	if (ag->vault.kr == NULL)
		return;
	/*
	 * Drop keyring identities whose record went away or stopped being
	 * served. Matched by key, not by name: a rotation renames the key it
	 * retires; and by the table's own lookup, one pass over the records.
	 */
	for (i = 0; i < idtab_count(ag->idtab); i++)
		idtab_at(ag->idtab, i)->served = 0;
	for (i = 0; (e = sshx_keyring_at(ag->vault.kr, i)) != NULL; i++) {
		blob = sshx_key_blob(e->key, &len);
		if (served(e, now) && (id = idtab_find(ag->idtab, blob, len)) != NULL)
			id->served = 1;
	}
	for (i = 0; i < idtab_count(ag->idtab); ) {
		id = idtab_at(ag->idtab, i);
		if (id->kr_name != NULL && !id->served) {
			/* Rare: worth a lookup for the reason. */
			e = sshx_key_fingerprint(id->key, fp) == 0 ?
			    sshx_keyring_find(ag->vault.kr, fp) : NULL;
			sshx_log_info("keyring key %s is no longer served%s",
			    id->kr_name, e != NULL &&
			    e->state == SSHX_KEYSTATE_RETIRING && e->retire_at <= now ?
			    ": its rotation grace ended" : "");
			idtab_remove(ag->idtab, id);
			continue;
		}
		i++;
	}
	for (i = 0; (e = sshx_keyring_at(ag->vault.kr, i)) != NULL; i++) {
		if (!served(e, now))
			continue;
		if (e->state == SSHX_KEYSTATE_RETIRING &&
		    (ag->vault.next_retire == 0 || e->retire_at < ag->vault.next_retire))
			ag->vault.next_retire = e->retire_at;
		blob = sshx_key_blob(e->key, &len);
		if ((id = idtab_find(ag->idtab, blob, len)) != NULL) {
			/* Renamed by a rotation, or first added with ssh-add. */
			if (id->kr_name == NULL || strcmp(id->kr_name, e->name) != 0) {
				free(id->kr_name);
				id->kr_name = strdup(e->name);
			}
			id->retiring = e->state == SSHX_KEYSTATE_RETIRING;
			continue;
		}
		if (sshx_key_type(e->key) == SSHX_KEY_RSA &&
		    sshx_key_bits(e->key) < ag->policy.min_rsa_bits) {
			sshx_log_warn("keyring key %s not served: RSA with %u bits, "
			    "under the minimum of %u", e->name,
			    sshx_key_bits(e->key), ag->policy.min_rsa_bits);
			continue;
		}
		copy = NULL;
		r = SSHX_ERR_ALLOC;
		comment = strdup(e->comment);
		name = strdup(e->name);
		if (comment == NULL || name == NULL ||
		    (r = key_copy(e->key, &copy)) != 0 ||
		    (r = idtab_add(ag->idtab, copy, comment, 0, 0,
		    ag->max_identities)) != 0) {
			sshx_log_error("cannot serve keyring key %s: %s", e->name,
			    sshx_strerror(r));
			sshx_key_free(copy);
			free(comment);
			free(name);
			continue;
		}
		/* idtab_add appended it (the key was not held). */
		id = idtab_at(ag->idtab, idtab_count(ag->idtab) - 1);
		id->kr_name = name;
		id->retiring = e->state == SSHX_KEYSTATE_RETIRING;
		sshx_log_debug("serving keyring key %s (%s)", e->name,
		    (sshx_key_fingerprint(e->key, fp), fp));
	}
}

/*
 * The passphrase was changed (sshxctl keyring passwd): the cached key no
 * longer opens the file. Try the Secret Service, which passwd updates; else
 * let go of the keyring (its keys stay served) so that sshxctl agent unlock
 * or ssh-add -X with the new passphrase opens it again.
 */
static int
reopen_changed(struct agent *ag, struct sshx_keyring **nkrp)
{
	struct sshx_buf *pass = NULL;
	char why[512] = "";
	int r = SSHX_ERR_NOT_FOUND;

	if (!ag->vault.no_secret &&
	    (r = sshx_secret_lookup(ag->vault.path, SSHX_SECRET_TIMEOUT_MS,
	    &pass, why, sizeof(why))) == 0) {
		r = sshx_keyring_load(ag->vault.path, sshx_buf_ptr(pass),
		    sshx_buf_len(pass), nkrp, why, sizeof(why));
		sshx_buf_free(pass);
		if (r == 0) {
			sshx_log_info("keyring %s has a new passphrase; reopened "
			    "with the Secret Service's", ag->vault.path);
			return 0;
		}
	}
	sshx_log_warn("keyring %s has a new passphrase: its current keys stay "
	    "served; give the new one with sshxctl agent unlock or ssh-add -X "
	    "to follow further changes", ag->vault.path);
	sshx_keyring_free(ag->vault.kr);
	ag->vault.kr = NULL;
	return SSHX_ERR_BAD_PASSPHRASE;
}

int
vault_reload(struct agent *ag)
{
	struct sshx_keyring *nkr = NULL;
	char why[512] = "";
	int r;

	if (ag->vault.kr == NULL)
		return vault_needs_unlock(ag) ? SSHX_ERR_LOCKED : SSHX_ERR_NOT_FOUND;
	if ((r = sshx_keyring_reload(ag->vault.kr, ag->vault.path, &nkr, why,
	    sizeof(why))) == SSHX_ERR_BAD_PASSPHRASE)
		r = reopen_changed(ag, &nkr);
	if (r != 0) {
		sshx_log_warn("keyring %s not reloaded: %s", ag->vault.path,
		    why[0] ? why : sshx_strerror(r));
		return r;
	}
	sshx_log_info("keyring %s reloaded: %zu keys", ag->vault.path,
	    sshx_keyring_count(nkr));
	vault_set_keyring(ag, nkr);
	return 0;
}

void
vault_watch_event(struct agent *ag)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	char base[PATH_MAX];
	const struct inotify_event *ev;
	ssize_t n, off;
	int hit = 0;

	snprintf(base, sizeof(base), "%s", ag->vault.path);
	while ((n = read(ag->vault.inotify_fd, buf, sizeof(buf))) > 0) {
		for (off = 0; off + (ssize_t)sizeof(*ev) <= n;
		    off += (ssize_t)sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)(buf + off);
			if (ev->len > 0 && strcmp(ev->name, basename(base)) == 0)
				hit = 1;
		}
	}
	if (hit && ag->vault.kr != NULL && !ag->locked)
		vault_reload(ag);
}

int
vault_seal(struct agent *ag, const uint8_t key[static 32],
    const uint8_t salt[static VAULT_SALT_LEN])
{
	struct sshx_buf *plain = NULL, *out = NULL;
	struct identity *id;
	uint64_t now = agent_now_ms();
	size_t i;
	int r = SSHX_ERR_ALLOC;

	if ((plain = sshx_buf_new_secure()) == NULL || (out = sshx_buf_new()) == NULL)
		goto out;
	if ((r = sshx_buf_put_u32(plain, (uint32_t)idtab_count(ag->idtab))) != 0)
		goto out;
	for (i = 0; i < idtab_count(ag->idtab); i++) {
		id = idtab_at(ag->idtab, i);
		if ((r = sshx_key_put_private(id->key, plain)) != 0 ||
		    (r = sshx_buf_put_cstring(plain, id->comment)) != 0 ||
		    (r = sshx_buf_put_u64(plain, id->death == 0 ? 0 :
		    id->death > now ? id->death - now : 1)) != 0 ||
		    (r = sshx_buf_put_u8(plain, (uint8_t)id->confirm)) != 0 ||
		    (r = sshx_buf_put_cstring(plain, id->kr_name != NULL ?
		    id->kr_name : "")) != 0 ||
		    (r = sshx_buf_put_u8(plain, id->dests != NULL)) != 0 ||
		    (id->dests != NULL && (r = dest_put(id->dests, plain)) != 0))
			goto out;
	}
	if ((r = sshx_buf_put_u8(plain, ag->vault.kr != NULL)) != 0 ||
	    (ag->vault.kr != NULL &&
	    (r = sshx_keyring_export_key(ag->vault.kr, plain)) != 0))
		goto out;
	if ((r = sshx_crypto_seal(key, (const uint8_t *)seal_aad,
	    sizeof(seal_aad) - 1, sshx_buf_ptr(plain), sshx_buf_len(plain),
	    out)) != 0)
		goto out;
	free(ag->vault.sealed);
	if ((ag->vault.sealed = malloc(sshx_buf_len(out))) == NULL) {
		r = SSHX_ERR_ALLOC;
		goto out;
	}
	memcpy(ag->vault.sealed, sshx_buf_ptr(out), sshx_buf_len(out));
	ag->vault.sealedlen = sshx_buf_len(out);
	memcpy(ag->vault.salt, salt, VAULT_SALT_LEN);
	/* Only now, with everything sealed, wipe the keys themselves. */
	idtab_remove_all(ag->idtab);
	ag->next_expiry = 0;
	sshx_keyring_free(ag->vault.kr);
	ag->vault.kr = NULL;
	r = 0;
 out:
	sshx_buf_free(plain);
	sshx_buf_free(out);
	return r;
}

int
vault_unseal(struct agent *ag, const uint8_t key[static 32])
{
	struct sshx_buf *plain = NULL;
	struct sshx_keyring *kr = NULL, *nkr = NULL;
	struct sshx_key *k = NULL;
	struct dest_set *dests = NULL;
	struct identity *id;
	char *comment = NULL, *name = NULL, why[512] = "";
	uint64_t remain, now = agent_now_ms();
	uint32_t count, i;
	uint8_t confirm, has_kr, has_dests;
	int r;

	if (ag->vault.sealed == NULL)
		return SSHX_ERR_NOT_FOUND;
	if ((plain = sshx_buf_new_secure()) == NULL)
		return SSHX_ERR_SECMEM;
	if ((r = sshx_crypto_open(key, (const uint8_t *)seal_aad,
	    sizeof(seal_aad) - 1, ag->vault.sealed, ag->vault.sealedlen,
	    plain)) != 0) {
		r = r == SSHX_ERR_SIGNATURE_INVALID ? SSHX_ERR_BAD_PASSPHRASE : r;
		goto out;
	}
	if ((r = sshx_buf_get_u32(plain, &count)) != 0)
		goto out;
	for (i = 0; i < count; i++) {
		if ((r = sshx_key_parse_private(plain, &k)) != 0 ||
		    (r = sshx_buf_get_cstring(plain, &comment, NULL)) != 0 ||
		    (r = sshx_buf_get_u64(plain, &remain)) != 0 ||
		    (r = sshx_buf_get_u8(plain, &confirm)) != 0 ||
		    (r = sshx_buf_get_cstring(plain, &name, NULL)) != 0)
			goto out;
		if ((r = idtab_add(ag->idtab, k, comment, remain ? now + remain : 0,
		    confirm, ag->max_identities)) != 0)
			goto out;
		k = NULL;		/* transferred */
		comment = NULL;		/* transferred */
		id = idtab_at(ag->idtab, idtab_count(ag->idtab) - 1);
		if (*name != '\0') {
			id->kr_name = name;
			name = NULL;	/* transferred */
		}
		free(name);
		name = NULL;
		/* Destination constraints come back with the key, never dropped. */
		if ((r = sshx_buf_get_u8(plain, &has_dests)) != 0 ||
		    (has_dests && (r = dest_parse(plain, &dests)) != 0))
			goto out;
		dest_free(id->dests);
		id->dests = dests;
		dests = NULL;	/* transferred */
		if (remain && (ag->next_expiry == 0 || now + remain < ag->next_expiry))
			ag->next_expiry = now + remain;
	}
	if ((r = sshx_buf_get_u8(plain, &has_kr)) != 0 ||
	    (has_kr && (r = sshx_keyring_import_key(plain, &kr)) != 0))
		goto out;
	free(ag->vault.sealed);
	ag->vault.sealed = NULL;
	ag->vault.sealedlen = 0;
	if (kr != NULL) {
		/* The file may have changed while locked: catch up with it. */
		if (sshx_keyring_reload(kr, ag->vault.path, &nkr, why,
		    sizeof(why)) == 0) {
			sshx_keyring_free(kr);
			kr = nkr;
			ag->vault.kr = kr;
			kr = NULL;
			vault_sync(ag);
		} else {
			sshx_log_warn("keyring %s not reloaded after unlock: %s",
			    ag->vault.path, why);
			ag->vault.kr = kr;
			kr = NULL;
		}
	}
	r = 0;
 out:
	sshx_key_free(k);
	free(comment);
	free(name);
	dest_free(dests);
	sshx_keyring_free(kr);
	sshx_buf_free(plain);
	return r;
}
