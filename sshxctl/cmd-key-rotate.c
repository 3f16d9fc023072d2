/*
 * sshxctl key rotate / retire: replacing a key with a grace period.
 *
 * A rotation keeps the name for the new key: the old record is renamed
 * NAME@DATE (the day it was created), marked retiring until the end of the
 * grace, and linked to its successor. agentd serves it after the new key
 * until then, and stops at the end of the grace without any write. Retiring
 * (by hand, or by the next command that writes the keyring once the grace
 * is over) wipes the private key and keeps the public one as history. Every
 * step is one atomic keyring write, so a crash leaves the state before or
 * after it, and running the same command again finishes the job.
 */
#include "config.h"

#include <getopt.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "b64.h"
#include "buf.h"
#include "err.h"
#include "fs.h"
#include "key.h"
#include "keyring.h"
#include "sshxctl.h"

/* Grace of a rotation when --grace is not given. */
#define DEFAULT_GRACE		(7 * 86400)
/* Largest authorized_keys file rewritten by --authorized-keys. */
#define AUTHKEYS_MAX_FILE	(1024 * 1024)
/* Length of the "@YYYY-MM-DD" suffix, and of a ".NN" to tell apart two on one day. */
#define ARCHIVE_SUFFIX_LEN	14

/* Returns the retiring record that name replaces, or NULL. */
static const struct sshx_keyring_entry *
retiring_predecessor(const struct sshx_keyring *kr, const char *name)
{
	const struct sshx_keyring_entry *e;
	size_t i;

	for (i = 0; (e = sshx_keyring_at(kr, i)) != NULL; i++)
		if (e->state == SSHX_KEYSTATE_RETIRING &&
		    strcmp(e->successor, name) == 0)
			return e;
	return NULL;
}

/*
 * Retires every record whose grace ended at or before now (agentd already
 * stopped serving them); returns how many, or -1 on an error.
 */
static int
retire_expired(const struct globals *g, const char *what, struct sshx_keyring *kr,
    uint64_t now)
{
	const struct sshx_keyring_entry *e;
	char name[SSHX_KEYRING_MAX_NAME + 1], ts[32];
	size_t i;
	int n = 0, r;

	for (i = 0; (e = sshx_keyring_at(kr, i)) != NULL; i++) {
		if (e->state != SSHX_KEYSTATE_RETIRING || e->retire_at > now)
			continue;
		snprintf(name, sizeof(name), "%s", e->name);
		ctl_note(g, "retiring \"%s\": its grace ended at %s\n", name,
		    ctl_iso_time((int64_t)e->retire_at, ts));
		if ((r = sshx_keyring_set_state(kr, name, SSHX_KEYSTATE_RETIRED,
		    e->retire_at, e->predecessor, e->successor)) != 0) {
			ctl_error(what, "cannot retire \"%s\": %s", name,
			    sshx_strerror(r));
			return -1;
		}
		n++;
	}
	return n;
}

/*
 * Saves a keyring from which private keys were dropped. The save keeps the
 * file it replaces as the backup, and that one still held them: saving
 * twice makes the backup the same as the file.
 */
static int
save_dropping_keys(const char *what, struct sshx_keyring *kr, const char *path)
{
	int ret;

	if ((ret = ctl_keyring_save(what, kr, path)) != 0)
		return ret;
	return ctl_keyring_save(what, kr, path);
}

/* Writes the free name under which record e is kept once replaced: NAME@DATE[.N]. */
static int
archive_name(const char *what, const struct sshx_keyring *kr,
    const struct sshx_keyring_entry *e, const char *name, char *out,
    size_t outlen)
{
	time_t t = (time_t)e->created;
	struct tm tm;
	char day[16];
	int i;

	if (strlen(name) + ARCHIVE_SUFFIX_LEN > SSHX_KEYRING_MAX_NAME) {
		ctl_error(what, "\"%s\" is too long to rotate: the replaced key "
		    "is kept as NAME@YYYY-MM-DD, and key names have at most %d "
		    "characters (names of at most %d can be rotated)", name,
		    SSHX_KEYRING_MAX_NAME,
		    SSHX_KEYRING_MAX_NAME - ARCHIVE_SUFFIX_LEN);
		return -1;
	}
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(day, sizeof(day), "%Y-%m-%d", &tm) == 0)
		snprintf(day, sizeof(day), "%llu", (unsigned long long)e->created);
	for (i = 1; i < 100; i++) {
		if (i == 1)
			snprintf(out, outlen, "%s@%s", name, day);
		else
			snprintf(out, outlen, "%s@%s.%d", name, day, i);
		if (sshx_keyring_find(kr, out) == NULL)
			return 0;
	}
	ctl_error(what, "no free name left for the replaced key (%s@%s.N)", name,
	    day);
	return -1;
}

/* Returns 1 when line holds b64 as one of its space-separated fields. */
static int
line_has_field(const char *line, size_t len, const char *b64)
{
	size_t i = 0, start, n = strlen(b64);

	while (i < len) {
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		start = i;
		while (i < len && line[i] != ' ' && line[i] != '\t')
			i++;
		if (i - start == n && memcmp(line + start, b64, n) == 0)
			return 1;
	}
	return 0;
}

/* Appends "[options ]type base64[ comment]\n" for key to out. */
static int
put_key_line(struct sshx_buf *out, const char *options,
    const struct sshx_key *key, const char *b64, const char *comment)
{
	int r;

	if ((options != NULL && ((r = sshx_buf_put(out, options,
	    strlen(options))) != 0 || (r = sshx_buf_put_u8(out, ' ')) != 0)) ||
	    (r = sshx_buf_put(out, sshx_key_type_name(sshx_key_type(key)),
	    strlen(sshx_key_type_name(sshx_key_type(key))))) != 0 ||
	    (r = sshx_buf_put_u8(out, ' ')) != 0 ||
	    (r = sshx_buf_put(out, b64, strlen(b64))) != 0)
		return r;
	if (comment != NULL && *comment != '\0' &&
	    ((r = sshx_buf_put_u8(out, ' ')) != 0 ||
	    (r = sshx_buf_put(out, comment, strlen(comment))) != 0))
		return r;
	return sshx_buf_put_u8(out, '\n');
}

/* Returns the base64 of a key's public blob (free it), or NULL. */
static char *
key_b64(const struct sshx_key *key)
{
	const uint8_t *blob;
	size_t len;
	char *s;

	blob = sshx_key_blob(key, &len);
	if ((s = malloc(SSHX_B64_SIZE(len))) != NULL)
		sshx_b64_encode_raw(blob, len, s, 1);
	return s;
}

/*
 * Rewrites an authorized_keys file for a rotation: every line that is not
 * about keep, drop or expiring stays as it was; then keep's line, and
 * expiring's with expiry-time set to the end of the grace (sshd stops
 * accepting it then, whatever happens to the keyring).
 */
static int
write_authorized_keys(const struct globals *g, const char *what, const char *file,
    const struct sshx_keyring_entry *keep, const struct sshx_keyring_entry *drop,
    const struct sshx_keyring_entry *expiring, uint64_t expiry)
{
	struct sshx_buf *old = NULL, *out = NULL;
	char *b64[3] = { NULL, NULL, NULL }, why[PATH_MAX + 256] = "";
	char opt[64];
	const char *p, *end, *nl;
	time_t t = (time_t)expiry;
	struct tm tm;
	size_t i, n;
	int r, ret = EXIT_RUNTIME, keepline;

	r = sshx_fs_read(file, AUTHKEYS_MAX_FILE, 0, &old, why, sizeof(why));
	if (r != 0 && r != SSHX_ERR_NOT_FOUND) {
		ctl_error(what, "--authorized-keys %s: %s", file, why[0] ? why :
		    sshx_strerror(r));
		return ctl_exit_code(r);
	}
	if ((out = sshx_buf_new()) == NULL ||
	    (b64[0] = key_b64(keep->key)) == NULL ||
	    (drop != NULL && (b64[1] = key_b64(drop->key)) == NULL) ||
	    (expiring != NULL && (b64[2] = key_b64(expiring->key)) == NULL))
		goto out;
	if (old != NULL) {
		p = (const char *)sshx_buf_ptr(old);
		end = p + sshx_buf_len(old);
		for (; p < end; p = nl + 1) {
			if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
				nl = end;
			n = (size_t)(nl - p);
			keepline = 1;
			for (i = 0; i < 3; i++)
				if (b64[i] != NULL && line_has_field(p, n, b64[i]))
					keepline = 0;
			if (keepline && ((r = sshx_buf_put(out, p, n)) != 0 ||
			    (r = sshx_buf_put_u8(out, '\n')) != 0))
				goto out;
		}
	}
	if (put_key_line(out, NULL, keep->key, b64[0], keep->comment) != 0)
		goto out;
	if (expiring != NULL) {
		if (gmtime_r(&t, &tm) == NULL ||
		    strftime(opt, sizeof(opt), "expiry-time=\"%Y%m%d%H%M%SZ\"",
		    &tm) == 0)
			goto out;
		if (put_key_line(out, opt, expiring->key, b64[2],
		    expiring->comment) != 0)
			goto out;
	}
	if ((r = sshx_fs_write_atomic(file, sshx_buf_ptr(out), sshx_buf_len(out),
	    0600, 0, why, sizeof(why))) != 0) {
		ctl_error(what, "--authorized-keys %s: %s", file, why[0] ? why :
		    sshx_strerror(r));
		ret = ctl_exit_code(r) == EXIT_OK ? EXIT_RUNTIME : ctl_exit_code(r);
		goto out;
	}
	ctl_note(g, "wrote %s\n", file);
	ret = EXIT_OK;
 out:
	if (ret == EXIT_RUNTIME && why[0] == '\0')
		ctl_error(what, "--authorized-keys %s: out of memory", file);
	for (i = 0; i < 3; i++)
		free(b64[i]);
	sshx_buf_free(old);
	sshx_buf_free(out);
	return ret;
}

/*
 * Checks before anything changes that the authorized_keys file can be read
 * and replaced (the same checks as the write itself), so that a bad path
 * is refused with the keyring untouched.
 */
static int
check_authorized_keys(const char *what, const char *file)
{
	struct sshx_fs_atomic *w = NULL;
	struct sshx_buf *old = NULL;
	char why[PATH_MAX + 256] = "";
	int r;

	if ((r = sshx_fs_read(file, AUTHKEYS_MAX_FILE, 0, &old, why,
	    sizeof(why))) == SSHX_ERR_NOT_FOUND)
		r = 0;
	sshx_buf_free(old);
	if (r == 0 && (r = sshx_fs_atomic_begin(file, 0600, 0, &w, why,
	    sizeof(why))) == 0)
		sshx_fs_atomic_abort(w);
	if (r != 0) {
		ctl_error(what, "--authorized-keys %s: %s", file, why[0] ? why :
		    sshx_strerror(r));
		return ctl_exit_code(r) == EXIT_OK ? EXIT_RUNTIME :
		    ctl_exit_code(r);
	}
	return 0;
}

/* Prints the outcome of a rotation: the new key's line on stdout, the rest on stderr. */
static void
print_rotation(const struct globals *g, const struct sshx_keyring_entry *e,
    const struct sshx_keyring_entry *old, int changed)
{
	char fp[SSHX_FP_LEN], ofp[SSHX_FP_LEN], ts[32];

	sshx_key_fingerprint(e->key, fp);
	sshx_key_fingerprint(old->key, ofp);
	ctl_iso_time((int64_t)old->retire_at, ts);
	if (g->json) {
		printf("{\"name\":");
		ctl_json_string(stdout, e->name);
		printf(",\"fingerprint\":\"%s\",\"public\":", fp);
		ctl_json_public(stdout, e->key);
		printf(",\"changed\":%s,\"old\":{\"name\":", changed ? "true" :
		    "false");
		ctl_json_string(stdout, old->name);
		printf(",\"fingerprint\":\"%s\",\"state\":\"%s\"", ofp,
		    old->state == SSHX_KEYSTATE_RETIRING ? "retiring" : "retired");
		printf(",\"retire_at\":\"%s\"}}\n", ts);
		return;
	}
	if (changed && old->state == SSHX_KEYSTATE_RETIRING)
		ctl_note(g, "rotated \"%s\": new %s key %s; the old key %s, now "
		    "\"%s\", is served after it until %s\n", e->name,
		    sshx_key_type_name(sshx_key_type(e->key)), fp, ofp, old->name, ts);
	else if (changed)
		ctl_note(g, "rotated \"%s\": new %s key %s; the old key %s, now "
		    "\"%s\", is retired (no grace)\n", e->name,
		    sshx_key_type_name(sshx_key_type(e->key)), fp, ofp, old->name);
	else
		ctl_note(g, "\"%s\" is already being rotated: the old key %s "
		    "(\"%s\") is served until %s; nothing changed (key retire %s "
		    "ends the grace now, key rotate --rollback %s undoes it)\n",
		    e->name, ofp, old->name, ts, e->name, e->name);
	ctl_print_public(stdout, e->key, e->comment);
}

/* Records a key change in the audit log, with the detail built from fmt. */
static void
audit_key(const struct globals *g, const char *what, const char *action,
    const struct sshx_key *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void
audit_key(const struct globals *g, const char *what, const char *action,
    const struct sshx_key *key, const char *fmt, ...)
{
	char fp[SSHX_FP_LEN], detail[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	sshx_key_fingerprint(key, fp);
	ctl_audit_change(g, what, action, fp, detail);
}

struct rotate_opts {
	int64_t grace;
	int have_type;
	enum sshx_key_type type;
	unsigned int bits;
	const char *comment;
	const char *authorized_keys;
	int rollback;
};

/* The rotation itself; kr is locked and loaded, name is the active key's. */
static int
rotate(const struct globals *g, const char *what, struct sshx_keyring *kr,
    const char *path, const char *name, const struct rotate_opts *o)
{
	const struct sshx_keyring_entry *e, *old;
	struct sshx_key *key = NULL;
	char oldname[SSHX_KEYRING_MAX_NAME + 1], arch[SSHX_KEYRING_MAX_NAME + 1];
	char pred[SSHX_KEYRING_MAX_NAME + 1], *comment = NULL;
	enum sshx_key_type type;
	uint64_t now = (uint64_t)time(NULL), until;
	int r, ret, expired;

	if ((expired = retire_expired(g, what, kr, now)) < 0)
		return EXIT_RUNTIME;
	e = sshx_keyring_find(kr, name);
	if ((old = retiring_predecessor(kr, e->name)) != NULL) {
		/* A rotation in its grace: finish what a crash may have cut short. */
		if (expired > 0 && (ret = save_dropping_keys(what, kr, path)) != 0)
			return ret;
		if (o->authorized_keys != NULL && (ret = write_authorized_keys(g, what,
		    o->authorized_keys, e, NULL, old, old->retire_at)) != 0)
			return ret;
		if (expired > 0)
			ctl_agent_reload(g);
		print_rotation(g, e, old, 0);
		return EXIT_OK;
	}
	type = o->have_type ? o->type : sshx_key_type(e->key);
	if ((r = sshx_key_generate(type, type != SSHX_KEY_RSA ? 0 : o->bits != 0 ?
	    o->bits : sshx_key_type(e->key) == SSHX_KEY_RSA ?
	    sshx_key_bits(e->key) : 3072, &key)) != 0) {
		ctl_error(what, "cannot generate the new key: %s", sshx_strerror(r));
		return EXIT_RUNTIME;
	}
	snprintf(oldname, sizeof(oldname), "%s", e->name);
	snprintf(pred, sizeof(pred), "%s", e->predecessor);
	if (archive_name(what, kr, e, oldname, arch, sizeof(arch)) != 0) {
		sshx_key_free(key);
		return EXIT_USAGE;
	}
	if ((comment = strdup(o->comment != NULL ? o->comment : e->comment)) ==
	    NULL) {
		sshx_key_free(key);
		ctl_error(what, "out of memory");
		return EXIT_RUNTIME;
	}
	until = now + (uint64_t)o->grace;
	if ((r = sshx_keyring_rename(kr, oldname, arch)) != 0 ||
	    (r = sshx_keyring_add(kr, key, oldname, comment)) != 0) {
		sshx_key_free(key);
		free(comment);
		ctl_error(what, "%s", sshx_strerror(r));
		return ctl_exit_code(r);
	}
	free(comment);
	if ((r = sshx_keyring_set_state(kr, oldname, SSHX_KEYSTATE_ACTIVE, 0,
	    arch, NULL)) != 0 ||
	    (r = sshx_keyring_set_state(kr, arch, o->grace > 0 ?
	    SSHX_KEYSTATE_RETIRING : SSHX_KEYSTATE_RETIRED, until, pred,
	    oldname)) != 0) {
		ctl_error(what, "%s", sshx_strerror(r));
		return EXIT_RUNTIME;
	}
	ret = o->grace > 0 && expired == 0 ? ctl_keyring_save(what, kr, path) :
	    save_dropping_keys(what, kr, path);
	if (ret != 0)
		return ret;
	ctl_agent_reload(g);
	e = sshx_keyring_find(kr, oldname);
	old = sshx_keyring_find(kr, arch);
	audit_key(g, what, "key.rotate", e->key, "name=%s old=%s grace=%llds",
	    oldname, arch, (long long)o->grace);
	if (o->authorized_keys != NULL && (ret = write_authorized_keys(g, what,
	    o->authorized_keys, e, NULL, o->grace > 0 ? old : NULL, until)) != 0)
		return ret;
	print_rotation(g, e, old, 1);
	return EXIT_OK;
}

/* key rotate --rollback NAME: the old key becomes NAME again, the new one is retired. */
static int
rollback(const struct globals *g, const char *what, struct sshx_keyring *kr,
    const char *path, const char *name, const struct rotate_opts *o)
{
	const struct sshx_keyring_entry *e, *old;
	char cur[SSHX_KEYRING_MAX_NAME + 1], oldname[SSHX_KEYRING_MAX_NAME + 1];
	char arch[SSHX_KEYRING_MAX_NAME + 1], ts[32], fp[SSHX_FP_LEN];
	uint64_t now = (uint64_t)time(NULL);
	int r, ret;

	e = sshx_keyring_find(kr, name);
	snprintf(cur, sizeof(cur), "%s", e->name);
	if ((old = retiring_predecessor(kr, cur)) == NULL) {
		ctl_note(g, "\"%s\" has no rotation in its grace; nothing to "
		    "roll back\n", cur);
		return EXIT_OK;
	}
	if (old->retire_at <= now) {
		ctl_error(what, "the grace of \"%s\" ended at %s: the old key is no "
		    "longer served and cannot come back (rotate again instead)",
		    old->name, ctl_iso_time((int64_t)old->retire_at, ts));
		return EXIT_NO;
	}
	snprintf(oldname, sizeof(oldname), "%s", old->name);
	if (archive_name(what, kr, e, cur, arch, sizeof(arch)) != 0)
		return EXIT_USAGE;
	if ((r = sshx_keyring_rename(kr, cur, arch)) != 0 ||
	    (r = sshx_keyring_rename(kr, oldname, cur)) != 0 ||
	    (r = sshx_keyring_set_state(kr, cur, SSHX_KEYSTATE_ACTIVE, 0,
	    sshx_keyring_find(kr, cur)->predecessor, NULL)) != 0 ||
	    (r = sshx_keyring_set_state(kr, arch, SSHX_KEYSTATE_RETIRED, now,
	    cur, NULL)) != 0) {
		ctl_error(what, "%s", sshx_strerror(r));
		return EXIT_RUNTIME;
	}
	if ((ret = save_dropping_keys(what, kr, path)) != 0)
		return ret;
	ctl_agent_reload(g);
	e = sshx_keyring_find(kr, cur);
	old = sshx_keyring_find(kr, arch);
	audit_key(g, what, "key.rollback", e->key, "name=%s retired=%s", cur, arch);
	if (o->authorized_keys != NULL && (ret = write_authorized_keys(g, what,
	    o->authorized_keys, e, old, NULL, 0)) != 0)
		return ret;
	sshx_key_fingerprint(old->key, fp);
	ctl_note(g, "rolled back \"%s\": its previous key is active again; "
	    "the new key %s, now \"%s\", is retired\n", cur, fp, arch);
	ctl_print_public(stdout, e->key, e->comment);
	return EXIT_OK;
}

int
key_rotate_main(int argc, char **argv, const struct globals *g)
{
	static const struct option opts[] = {
		{ "grace", required_argument, NULL, 'g' },
		{ "type", required_argument, NULL, 't' },
		{ "bits", required_argument, NULL, 'b' },
		{ "comment", required_argument, NULL, 'C' },
		{ "authorized-keys", required_argument, NULL, 'A' },
		{ "rollback", no_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	const char *what = "key rotate";
	const struct sshx_keyring_entry *e;
	struct rotate_opts o = { .grace = DEFAULT_GRACE };
	struct sshx_keyring *kr = NULL;
	char path[PATH_MAX];
	int ch, fd = -1, ret, grace_given = 0;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'g':
			if (ctl_parse_duration(optarg, &o.grace) != 0) {
				ctl_error(what, "--grace: \"%s\" is not a duration "
				    "such as 0, 12h, 7d or 2w", optarg);
				return EXIT_USAGE;
			}
			grace_given = 1;
			break;
		case 't':
			if (ctl_key_type_parse(what, optarg, &o.type) != 0)
				return EXIT_USAGE;
			o.have_type = 1;
			break;
		case 'b':
			if (ctl_key_bits_parse(what, optarg, &o.bits) != 0)
				return EXIT_USAGE;
			break;
		case 'C':
			o.comment = optarg;
			break;
		case 'A':
			o.authorized_keys = optarg;
			break;
		case 'R':
			o.rollback = 1;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		ctl_error(what, "give exactly one key name");
		return EXIT_USAGE;
	}
	if (o.rollback && (grace_given || o.have_type || o.bits || o.comment)) {
		ctl_error(what, "--rollback takes no --grace, --type, --bits or "
		    "--comment");
		return EXIT_USAGE;
	}
	if (o.bits != 0 && (o.have_type ? o.type : SSHX_KEY_RSA) != SSHX_KEY_RSA) {
		ctl_error(what, "--bits applies to RSA keys only");
		return EXIT_USAGE;
	}
	if (o.authorized_keys != NULL && *o.authorized_keys == '\0') {
		ctl_error(what, "--authorized-keys needs a file name");
		return EXIT_USAGE;
	}
	if (ctl_check_comment(what, o.comment) != 0)
		return EXIT_USAGE;
	if (o.authorized_keys != NULL &&
	    (ret = check_authorized_keys(what, o.authorized_keys)) != 0)
		return ret;
	if (ctl_keyring_path(g, path, sizeof(path)) != 0) {
		ctl_error(what, "no keyring path");
		return EXIT_USAGE;
	}
	if ((ret = ctl_keyring_open(g, what, path, &kr, &fd)) != 0)
		return ret;
	if ((e = sshx_keyring_find(kr, argv[optind])) == NULL) {
		ctl_error(what, "no key \"%s\" in the keyring", argv[optind]);
		ret = EXIT_NO;
	} else if (e->state != SSHX_KEYSTATE_ACTIVE) {
		ctl_error(what, "\"%s\" is %s; %s", e->name, e->state ==
		    SSHX_KEYSTATE_RETIRING ? "retiring" : "retired",
		    *e->successor != '\0' ? "give the name of the key that "
		    "replaced it" : "only an active key can be rotated");
		ret = EXIT_NO;
	} else if (e->state == SSHX_KEYSTATE_ACTIVE && !o.rollback &&
	    o.bits != 0 && !o.have_type && sshx_key_type(e->key) != SSHX_KEY_RSA) {
		ctl_error(what, "--bits applies to RSA keys only (\"%s\" is %s; "
		    "add --type rsa)", e->name,
		    sshx_key_type_name(sshx_key_type(e->key)));
		ret = EXIT_USAGE;
	} else
		ret = o.rollback ? rollback(g, what, kr, path, e->name, &o) :
		    rotate(g, what, kr, path, e->name, &o);
	sshx_keyring_free(kr);
	sshx_fs_unlock(fd);
	return ret;
}

/* Retires one record (retiring, in or past its grace); the keyring is saved by the caller. */
static int
retire_one(const char *what, struct sshx_keyring *kr, const char *name,
    uint64_t now)
{
	const struct sshx_keyring_entry *e = sshx_keyring_find(kr, name);
	char n[SSHX_KEYRING_MAX_NAME + 1];
	int r;

	snprintf(n, sizeof(n), "%s", e->name);
	if ((r = sshx_keyring_set_state(kr, n, SSHX_KEYSTATE_RETIRED,
	    e->retire_at != 0 && e->retire_at < now ? e->retire_at : now,
	    e->predecessor, e->successor)) != 0) {
		ctl_error(what, "cannot retire \"%s\": %s", n, sshx_strerror(r));
		return -1;
	}
	return 0;
}

int
key_retire_main(int argc, char **argv, const struct globals *g)
{
	const char *what = "key retire";
	const struct sshx_keyring_entry *e, *old;
	struct sshx_keyring *kr = NULL;
	char path[PATH_MAX], target[SSHX_KEYRING_MAX_NAME + 1], fp[SSHX_FP_LEN];
	uint64_t now = (uint64_t)time(NULL);
	int fd = -1, ret, expired;

	if (argc != 2) {
		ctl_error(what, "give exactly one key name or fingerprint");
		return EXIT_USAGE;
	}
	if (ctl_keyring_path(g, path, sizeof(path)) != 0) {
		ctl_error(what, "no keyring path");
		return EXIT_USAGE;
	}
	if ((ret = ctl_keyring_open(g, what, path, &kr, &fd)) != 0)
		return ret;
	ret = EXIT_NO;
	if ((e = sshx_keyring_find(kr, argv[1])) == NULL) {
		ctl_error(what, "no key \"%s\" in the keyring", argv[1]);
		goto out;
	}
	/* The name of a rotated key means the key it replaced. */
	old = e->state == SSHX_KEYSTATE_ACTIVE ?
	    retiring_predecessor(kr, e->name) : e;
	if (old == NULL) {
		if (*e->predecessor != '\0' &&
		    (old = sshx_keyring_find(kr, e->predecessor)) != NULL &&
		    old->state == SSHX_KEYSTATE_RETIRED) {
			ctl_note(g, "the key \"%s\" replaced (\"%s\") is already "
			    "retired; nothing changed\n", e->name, old->name);
			ret = EXIT_OK;
		} else
			ctl_error(what, "\"%s\" is an active key with no key in a "
			    "rotation grace behind it: retiring it would leave no "
			    "key of that name (rotate it first, or key remove it)",
			    e->name);
		goto out;
	}
	if (old->state == SSHX_KEYSTATE_RETIRED) {
		ctl_note(g, "\"%s\" is already retired; nothing changed\n",
		    old->name);
		ret = EXIT_OK;
		goto out;
	}
	snprintf(target, sizeof(target), "%s", old->name);
	sshx_key_fingerprint(old->key, fp);
	ret = EXIT_RUNTIME;
	if ((expired = retire_expired(g, what, kr, now)) < 0)
		goto out;
	old = sshx_keyring_find(kr, target);
	if (old->state != SSHX_KEYSTATE_RETIRED && retire_one(what, kr, target,
	    now) != 0)
		goto out;
	if ((ret = save_dropping_keys(what, kr, path)) != 0)
		goto out;
	ctl_agent_reload(g);
	old = sshx_keyring_find(kr, target);
	audit_key(g, what, "key.retire", old->key, "name=%s successor=%s",
	    target, old->successor);
	ctl_note(g, "retired \"%s\" (%s): no longer served; its public key "
	    "stays in the keyring's history\n", target, fp);
	ret = EXIT_OK;
 out:
	sshx_keyring_free(kr);
	sshx_fs_unlock(fd);
	return ret;
}
