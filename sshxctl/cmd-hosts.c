/*
 * sshxctl hosts list, remove, revoke and verify (import and add are in
 * cmd-hosts-import.c). Every write command is one transaction.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "kh.h"
#include "store.h"
#include "hosts.h"
#include "sshxctl.h"

/* Exit codes of hosts verify: 0..3 are verdicts, so errors use these (sysexits.h). */
#define VERIFY_EXIT_USAGE	64
#define VERIFY_EXIT_RUNTIME	70

/* ---- hosts list ---- */

struct list_ctx {
	const struct globals *g;
	const char *pattern;
	struct sshx_kh_hasher *hs;
	unsigned long n;
};

static const char *
state_name(enum sshx_store_state st)
{
	return st == SSHX_STORE_REVOKED ? "revoked" : "pinned";
}

/* Prints one key row of hosts list. */
static int
list_key_cb(const struct sshx_store_key *k, void *arg)
{
	struct list_ctx *c = arg;
	struct sshx_kh_host h = { .port = k->port, .hashed = k->hashed };
	char hp[SSHX_KH_HOSTPORT_SIZE], added[32], verified[32];

	if (!ctl_host_filter_match(c->hs, c->pattern, k->host, k->port, k->hashed))
		return 0;
	snprintf(h.name, sizeof(h.name), "%s", k->host);
	(void)sshx_kh_format_host(&h, hp);
	ctl_iso_time(k->added, added);
	if (k->last_verified != 0)
		ctl_iso_time(k->last_verified, verified);
	else
		snprintf(verified, sizeof(verified), "never");
	if (c->g->json) {
		printf("%s{\"host\":", c->n == 0 ? "" : ",");
		ctl_json_string(stdout, k->host);
		printf(",\"port\":%d,\"hashed\":%s,\"type\":\"%s\",\"fingerprint\":"
		    "\"%s\",\"state\":\"%s\",\"source\":", k->port,
		    k->hashed ? "true" : "false", k->type, k->fingerprint,
		    state_name(k->state));
		ctl_json_string(stdout, k->source);
		printf(",\"added\":\"%s\",\"last_verified\":", added);
		if (k->last_verified != 0)
			printf("\"%s\"}", verified);
		else
			printf("null}");
	} else
		printf("%-30s %-20s %s %-7s added %s verified %s\n", hp, k->type,
		    k->fingerprint, state_name(k->state), added, verified);
	c->n++;
	return 0;
}

/* Prints one pattern entry of hosts list. */
static int
list_pattern_cb(const struct sshx_store_pattern *p, void *arg)
{
	struct list_ctx *c = arg;
	const char *marker = p->marker == SSHX_STORE_MARK_CA ? "cert-authority" :
	    "revoked";
	char added[32];

	ctl_iso_time(p->added, added);
	if (c->g->json) {
		printf("%s{\"marker\":\"%s\",\"pattern\":", c->n == 0 ? "" : ",",
		    marker);
		ctl_json_string(stdout, p->pattern);
		printf(",\"type\":\"%s\",\"fingerprint\":\"%s\",\"source\":",
		    p->type, p->fingerprint);
		ctl_json_string(stdout, p->source);
		printf(",\"added\":\"%s\"}", added);
	} else
		printf("@%s %s %s %s added %s\n", marker, p->pattern, p->type,
		    p->fingerprint, added);
	c->n++;
	return 0;
}

static int
hosts_list_main(int argc, char **argv, const struct globals *g)
{
	const char *what = "hosts list";
	struct list_ctx c = { .g = g };
	struct sshx_store *s = NULL;
	char path[PATH_MAX];
	int r, ret;

	if (argc > 2) {
		ctl_error(what, "unexpected argument \"%s\"", argv[2]);
		return EXIT_USAGE;
	}
	if (argc == 2) {
		if (ctl_host_filter_check(what, argv[1]) != 0)
			return EXIT_USAGE;
		c.pattern = argv[1];
	}
	if ((ret = ctl_store_open(g, what, 0, &s, path, sizeof(path), NULL)) != 0)
		return ret;
	if ((c.hs = sshx_kh_hasher_new()) == NULL) {
		ret = EXIT_RUNTIME;
		goto out;
	}
	if ((r = sshx_store_begin_read(s)) != 0) {
		ret = ctl_store_error(what, s, r);
		goto out;
	}
	if (g->json)
		printf("{\"keys\":[");
	if ((r = sshx_store_foreach_key(s, list_key_cb, &c)) != 0) {
		ret = ctl_store_error(what, s, r);
		goto out;
	}
	if (g->json)
		printf("],\"patterns\":[");
	c.n = 0;
	if (c.pattern == NULL &&
	    (r = sshx_store_foreach_pattern(s, list_pattern_cb, &c)) != 0) {
		ret = ctl_store_error(what, s, r);
		goto out;
	}
	if (g->json)
		printf("]}\n");
	ret = EXIT_OK;
 out:
	sshx_kh_hasher_free(c.hs);
	sshx_store_close(s);
	return ret;
}

/* ---- hosts remove / revoke ---- */

struct fp_find {
	const char *fp;
	int64_t id;
	enum sshx_store_state state;
};

/* Finds the key of a host with a given fingerprint. */
static int
fp_find_cb(const struct sshx_store_key *k, void *arg)
{
	struct fp_find *f = arg;

	if (strcmp(k->fingerprint, f->fp) != 0)
		return 0;
	f->id = k->id;
	f->state = k->state;
	return 1;
}

/* Opens the store for a change to one host and finds it; returns 0 or an exit code. */
static int
open_for_host(const struct globals *g, const char *what, const char *arg,
    struct sshx_store **sp, struct sshx_kh_host *h, int64_t *idp,
    char hp[static SSHX_KH_HOSTPORT_SIZE])
{
	char path[PATH_MAX], why[512] = "";
	int r, ret;

	*sp = NULL;
	if (sshx_kh_parse_host_arg(arg, h, why, sizeof(why)) != 0) {
		ctl_error(what, "%s", why);
		return EXIT_USAGE;
	}
	(void)sshx_kh_format_host(h, hp);
	if ((ret = ctl_store_open(g, what, 0, sp, path, sizeof(path), NULL)) != 0)
		return ret;
	if ((r = sshx_store_begin(*sp)) != 0)
		return ctl_store_error(what, *sp, r);
	if ((r = ctl_resolve_host(*sp, h, idp)) != 0) {
		if (r == SSHX_ERR_NOT_FOUND) {
			ctl_error(what, "%s is not in the host database", hp);
			return EXIT_NO;
		}
		return ctl_store_error(what, *sp, r);
	}
	return 0;
}

static int
hosts_remove_main(int argc, char **argv, const struct globals *g)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "cert-authority", no_argument, NULL, 'c' },
		{ "revoked-pattern", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	const char *what = "hosts remove", *fp = NULL;
	struct sshx_store *s = NULL;
	struct sshx_kh_host h;
	struct fp_find f = { 0 };
	char hp[SSHX_KH_HOSTPORT_SIZE], path[PATH_MAX], detail[128];
	int64_t id;
	int ch, marker = 0, r, ret;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'k':
			fp = optarg;
			break;
		case 'c':
			marker = SSHX_STORE_MARK_CA;
			break;
		case 'r':
			marker = SSHX_STORE_MARK_REVOKED;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 1 || (marker != 0 && fp != NULL)) {
		ctl_error(what, "usage: sshxctl hosts remove HOST[:PORT] [--key "
		    "FINGERPRINT], or --cert-authority|--revoked-pattern PATTERN");
		return EXIT_USAGE;
	}
	if (fp != NULL && !ctl_valid_fingerprint(fp)) {
		ctl_error(what, "--key: \"%s\" is not a SHA256:... fingerprint", fp);
		return EXIT_USAGE;
	}
	if (marker != 0) {
		if (ctl_host_filter_check(what, argv[optind]) != 0)
			return EXIT_USAGE;
		if ((ret = ctl_store_open(g, what, 0, &s, path, sizeof(path), NULL)) != 0)
			return ret;
		if ((r = sshx_store_begin(s)) != 0 ||
		    (r = sshx_store_remove_pattern(s, marker, argv[optind])) != 0) {
			if (r == SSHX_ERR_NOT_FOUND) {
				ctl_error(what, "no @%s entry for \"%s\"", marker ==
				    SSHX_STORE_MARK_CA ? "cert-authority" : "revoked",
				    argv[optind]);
				ret = EXIT_NO;
			} else
				ret = ctl_store_error(what, s, r);
			goto out;
		}
		snprintf(detail, sizeof(detail), "removed @%s entries",
		    marker == SSHX_STORE_MARK_CA ? "cert-authority" : "revoked");
		if ((r = ctl_audit(s, "hosts.remove", argv[optind], NULL, detail)) != 0 ||
		    (r = sshx_store_commit(s)) != 0) {
			ret = ctl_store_error(what, s, r);
			goto out;
		}
		printf("removed the @%s entries for %s\n", marker == SSHX_STORE_MARK_CA ?
		    "cert-authority" : "revoked", argv[optind]);
		ret = EXIT_OK;
		goto out;
	}
	if ((ret = open_for_host(g, what, argv[optind], &s, &h, &id, hp)) != 0)
		goto out;
	if (fp != NULL) {
		f.fp = fp;
		if ((r = sshx_store_foreach_host_key(s, id, fp_find_cb, &f)) < 0) {
			ret = ctl_store_error(what, s, r);
			goto out;
		}
		if (f.id == 0) {
			ctl_error(what, "%s has no key %s", hp, fp);
			ret = EXIT_NO;
			goto out;
		}
		r = sshx_store_remove_key(s, f.id);
	} else
		r = sshx_store_remove_host(s, id);
	if (r != 0 || (r = ctl_audit(s, "hosts.remove", hp, fp, fp != NULL ?
	    "removed one key" : "removed the host and its keys")) != 0 ||
	    (r = sshx_store_commit(s)) != 0) {
		ret = ctl_store_error(what, s, r);
		goto out;
	}
	if (fp != NULL)
		printf("removed %s from %s\n", fp, hp);
	else
		printf("removed %s and its keys\n", hp);
	ret = EXIT_OK;
 out:
	if (s != NULL)
		sshx_store_rollback(s);
	sshx_store_close(s);
	return ret;
}

static int
hosts_revoke_main(int argc, char **argv, const struct globals *g)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	const char *what = "hosts revoke", *fp = NULL;
	struct sshx_store *s = NULL;
	struct sshx_kh_host h;
	struct fp_find f = { 0 };
	char hp[SSHX_KH_HOSTPORT_SIZE];
	int64_t id;
	int ch, r, ret;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'k':
			fp = optarg;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 1 || fp == NULL) {
		ctl_error(what, "usage: sshxctl hosts revoke HOST[:PORT] --key "
		    "FINGERPRINT");
		return EXIT_USAGE;
	}
	if (!ctl_valid_fingerprint(fp)) {
		ctl_error(what, "--key: \"%s\" is not a SHA256:... fingerprint", fp);
		return EXIT_USAGE;
	}
	if ((ret = open_for_host(g, what, argv[optind], &s, &h, &id, hp)) != 0)
		goto out;
	f.fp = fp;
	if ((r = sshx_store_foreach_host_key(s, id, fp_find_cb, &f)) < 0) {
		ret = ctl_store_error(what, s, r);
		goto out;
	}
	if (f.id == 0) {
		ctl_error(what, "%s has no key %s", hp, fp);
		ret = EXIT_NO;
		goto out;
	}
	if (f.state == SSHX_STORE_REVOKED) {
		printf("nothing changed: %s is already revoked for %s\n", fp, hp);
		ret = EXIT_OK;
		goto out;
	}
	if ((r = sshx_store_set_key_state(s, f.id, SSHX_STORE_REVOKED)) != 0 ||
	    (r = ctl_audit(s, "hosts.revoke", hp, fp, "key revoked")) != 0 ||
	    (r = sshx_store_commit(s)) != 0) {
		ret = ctl_store_error(what, s, r);
		goto out;
	}
	printf("revoked %s for %s\n", fp, hp);
	ret = EXIT_OK;
 out:
	if (s != NULL)
		sshx_store_rollback(s);
	sshx_store_close(s);
	return ret;
}

/* ---- hosts rotate ---- */

/* Default grace of hosts rotate: the old key stays pinned this long. */
#define ROTATE_GRACE_DEFAULT	(7 * 86400)

struct rotate_find {
	const char *type;
	const struct sshx_kh_line *key;
	int64_t old_id;			/* the pinned key of that type */
	char old_fp[SSHX_FP_LEN];
	int64_t old_retire;
	int64_t new_id;			/* the new key, when already there */
	enum sshx_store_state new_state;
	int pinned;			/* pinned keys of that type, the new one aside */
};

/* Finds the pinned key of a type and the new key among a host's keys. */
static int
rotate_find_cb(const struct sshx_store_key *k, void *arg)
{
	struct rotate_find *f = arg;

	if (k->bloblen == f->key->bloblen &&
	    memcmp(k->blob, f->key->blob, k->bloblen) == 0) {
		f->new_id = k->id;
		f->new_state = k->state;
		return 0;
	}
	if (strcmp(k->type, f->type) != 0 || k->state != SSHX_STORE_PINNED)
		return 0;
	f->pinned++;
	f->old_id = k->id;
	f->old_retire = k->retire_at;
	snprintf(f->old_fp, sizeof(f->old_fp), "%s", k->fingerprint);
	return 0;
}

/* hosts rotate HOST --finalize: every key being retired is revoked now. */
static int
rotate_finalize(const struct globals *g, const char *what, const char *arg)
{
	struct sshx_store *s = NULL;
	struct sshx_kh_host h;
	char hp[SSHX_KH_HOSTPORT_SIZE], detail[64];
	unsigned long n = 0;
	int64_t id;
	int r, ret;

	if ((ret = open_for_host(g, what, arg, &s, &h, &id, hp)) != 0)
		goto out;
	if ((r = sshx_store_finalize_host(s, id, &n)) != 0) {
		ret = ctl_store_error(what, s, r);
		goto out;
	}
	if (n == 0) {
		printf("nothing changed: no key of %s is being rotated out\n", hp);
		ret = EXIT_OK;
		goto out;
	}
	snprintf(detail, sizeof(detail), "rotation finalized: %lu old key%s revoked",
	    n, n == 1 ? "" : "s");
	if ((r = ctl_audit(s, "hosts.rotate", hp, NULL, detail)) != 0 ||
	    (r = sshx_store_commit(s)) != 0) {
		ret = ctl_store_error(what, s, r);
		goto out;
	}
	printf("%s: %s\n", hp, detail);
	ret = EXIT_OK;
 out:
	if (s != NULL)
		sshx_store_rollback(s);
	sshx_store_close(s);
	return ret;
}

static int
hosts_rotate_main(int argc, char **argv, const struct globals *g)
{
	static const struct option opts[] = {
		{ "grace", required_argument, NULL, 'g' },
		{ "finalize", no_argument, NULL, 'f' },
		{ "allow-weak", no_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	const char *what = "hosts rotate";
	struct sshx_kh_line key;
	struct sshx_kh_host h;
	struct sshx_store *s = NULL;
	struct rotate_find f = { 0 };
	char hp[SSHX_KH_HOSTPORT_SIZE], why[512] = "", when[32], detail[256];
	int64_t id, grace = ROTATE_GRACE_DEFAULT, retire;
	int ch, finalize = 0, flags = 0, r, ret = EXIT_RUNTIME;

	memset(&key, 0, sizeof(key));
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'g':
			if (ctl_parse_duration(optarg, &grace) != 0) {
				ctl_error(what, "--grace: \"%s\" is not a duration (0, "
				    "90s, 30m, 12h, 7d, 2w)", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'f':
			finalize = 1;
			break;
		case 'w':
			flags |= SSHX_KH_ALLOW_WEAK;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (finalize) {
		if (argc - optind != 1) {
			ctl_error(what, "usage: sshxctl hosts rotate HOST[:PORT] --finalize");
			return EXIT_USAGE;
		}
		return rotate_finalize(g, what, argv[optind]);
	}
	if (argc - optind != 3) {
		ctl_error(what, "usage: sshxctl hosts rotate HOST[:PORT] TYPE BASE64 "
		    "[--grace DURATION]");
		return EXIT_USAGE;
	}
	if ((r = sshx_kh_parse_key(argv[optind + 1], argv[optind + 2],
	    strlen(argv[optind + 2]), flags, &key, why, sizeof(why))) != 0) {
		ctl_error(what, "%s", why[0] ? why : sshx_strerror(r));
		return EXIT_USAGE;
	}
	if ((ret = open_for_host(g, what, argv[optind], &s, &h, &id, hp)) != 0)
		goto out;
	f.type = key.type;
	f.key = &key;
	if ((r = sshx_store_foreach_host_key(s, id, rotate_find_cb, &f)) != 0) {
		ret = ctl_store_error(what, s, r);
		goto out;
	}
	if (f.new_id != 0 && f.new_state == SSHX_STORE_REVOKED) {
		ctl_error(what, "%s: key %s is revoked for this host; a revoked key "
		    "is not pinned again", hp, key.fingerprint);
		ret = EXIT_USAGE;
		goto out;
	}
	if (f.new_id != 0) {
		/* Pinned already: a repeated rotation, or nothing to rotate. */
		printf("nothing changed: %s is already pinned for %s\n",
		    key.fingerprint, hp);
		ret = EXIT_OK;
		goto out;
	}
	if (f.pinned != 1) {
		ctl_error(what, f.pinned == 0 ? "%s has no pinned %s key to rotate; "
		    "pin one with sshxctl hosts add" : "%s has more than one pinned "
		    "%s key (a rotation is under way); finish it with sshxctl hosts "
		    "rotate HOST --finalize", hp, key.type);
		ret = f.pinned == 0 ? EXIT_NO : EXIT_USAGE;
		goto out;
	}
	retire = (int64_t)time(NULL) + grace;
	if ((r = sshx_store_add_key(s, id, key.type, key.blob, key.bloblen,
	    key.fingerprint, SSHX_STORE_PINNED, "rotate")) != 0 ||
	    (r = grace == 0 ? sshx_store_set_key_state(s, f.old_id,
	    SSHX_STORE_REVOKED) : sshx_store_retire_key(s, f.old_id, retire)) != 0) {
		ret = ctl_store_error(what, s, r);
		goto out;
	}
	ctl_iso_time(retire, when);
	snprintf(detail, sizeof(detail), "pinned %s beside %s, which is revoked %s%s",
	    key.fingerprint, f.old_fp, grace == 0 ? "now" : "at ", grace == 0 ?
	    "" : when);
	if ((r = ctl_audit(s, "hosts.rotate", hp, key.fingerprint, detail)) != 0 ||
	    (r = sshx_store_commit(s)) != 0) {
		ret = ctl_store_error(what, s, r);
		goto out;
	}
	printf("%s: %s\n", hp, detail);
	ret = EXIT_OK;
 out:
	sshx_kh_line_clear(&key);
	if (s != NULL)
		sshx_store_rollback(s);
	sshx_store_close(s);
	return ret;
}

/* ---- hosts verify ---- */

enum verdict {
	VERDICT_PINNED = 0,
	VERDICT_UNKNOWN_HOST = 1,
	VERDICT_NOT_PINNED = 2,
	VERDICT_REVOKED = 3,
};

struct revoked_pattern_find {
	const struct sshx_kh_host *h;
	const struct sshx_kh_line *key;
	int found;
};

/* Looks for an @revoked pattern entry covering this host and key. */
static int
revoked_pattern_cb(const struct sshx_store_pattern *p, void *arg)
{
	struct revoked_pattern_find *f = arg;

	if (p->marker == SSHX_STORE_MARK_REVOKED && p->bloblen == f->key->bloblen &&
	    memcmp(p->blob, f->key->blob, p->bloblen) == 0 &&
	    sshx_kh_match_patterns(p->pattern, f->h->name, f->h->port)) {
		f->found = 1;
		return 1;
	}
	return 0;
}

static int
hosts_verify_main(int argc, char **argv, const struct globals *g)
{
	static const char *const names[] = {
		"pinned", "unknown host", "not pinned", "revoked",
	};
	const char *what = "hosts verify";
	struct sshx_kh_line key;
	struct sshx_kh_host h;
	struct sshx_store *s = NULL;
	struct sshx_store_lookup lk;
	struct revoked_pattern_find rf = { 0 };
	char path[PATH_MAX], why[512] = "", hp[SSHX_KH_HOSTPORT_SIZE];
	int64_t id = 0;
	enum verdict v;
	int r, ret = VERIFY_EXIT_RUNTIME;

	memset(&key, 0, sizeof(key));
	if (argc != 4) {
		ctl_error(what, "usage: sshxctl hosts verify HOST[:PORT] TYPE BASE64");
		return VERIFY_EXIT_USAGE;
	}
	if (sshx_kh_parse_host_arg(argv[1], &h, why, sizeof(why)) != 0 ||
	    (r = sshx_kh_parse_key(argv[2], argv[3], strlen(argv[3]),
	    SSHX_KH_ALLOW_WEAK, &key, why, sizeof(why))) != 0) {
		ctl_error(what, "%s", why);
		return VERIFY_EXIT_USAGE;
	}
	(void)sshx_kh_format_host(&h, hp);
	if ((r = ctl_store_open(g, what, 0, &s, path, sizeof(path), NULL)) != 0) {
		ret = r == EXIT_NO || r == EXIT_USAGE ? VERIFY_EXIT_USAGE :
		    VERIFY_EXIT_RUNTIME;
		goto out;
	}
	if ((r = sshx_store_begin_read(s)) != 0)
		goto dberr;
	rf.h = &h;
	rf.key = &key;
	if ((r = sshx_store_foreach_pattern(s, revoked_pattern_cb, &rf)) < 0)
		goto dberr;
	r = ctl_resolve_host(s, &h, &id);
	if (r != 0 && r != SSHX_ERR_NOT_FOUND)
		goto dberr;
	memset(&lk, 0, sizeof(lk));
	if (id != 0 && (r = sshx_store_lookup_key(s, id, key.type, key.blob,
	    key.bloblen, &lk)) != 0)
		goto dberr;
	if (rf.found || (lk.same_id != 0 && lk.same_state == SSHX_STORE_REVOKED))
		v = VERDICT_REVOKED;
	else if (id == 0)
		v = VERDICT_UNKNOWN_HOST;
	else if (lk.same_id == 0)
		v = VERDICT_NOT_PINNED;
	else
		v = VERDICT_PINNED;
	sshx_store_rollback(s);
	/*
	 * Best effort, waiting briefly: a busy database (a long import) must
	 * neither delay nor turn a good answer into a failure.
	 */
	if (v == VERDICT_PINNED && sshx_store_set_busy_timeout(s, 200) == 0 &&
	    sshx_store_begin(s) == 0 &&
	    (sshx_store_touch_key(s, lk.same_id, (int64_t)time(NULL)) != 0 ||
	    sshx_store_commit(s) != 0))
		sshx_store_rollback(s);
	if (g->json) {
		printf("{\"host\":");
		ctl_json_string(stdout, hp);
		printf(",\"type\":\"%s\",\"fingerprint\":\"%s\",\"verdict\":"
		    "\"%s\"}\n", key.type, key.fingerprint, names[v]);
	} else if (v == VERDICT_NOT_PINNED && lk.other_id != 0)
		printf("%s: not pinned: %s %s (the pinned %s key is %s)\n", hp,
		    key.type, key.fingerprint, key.type, lk.other_fingerprint);
	else
		printf("%s: %s: %s %s\n", hp, names[v], key.type, key.fingerprint);
	ret = (int)v;
	goto out;
 dberr:
	ctl_error(what, "database: %s (%s)", sshx_strerror(r), sshx_store_errmsg(s));
	ret = VERIFY_EXIT_RUNTIME;
 out:
	sshx_kh_line_clear(&key);
	sshx_store_close(s);
	return ret;
}

const struct command hosts_commands[] = {
	{ "import", hosts_import_main,
	    "[--format keyscan|known_hosts] [--expect-fingerprint SHA256:...]... "
	    "[--skip-invalid] [--allow-weak] FILE|-",
	    "pin the keys of ssh-keyscan output or a known_hosts file; all or "
	    "nothing unless --skip-invalid; --expect-fingerprint refuses keys "
	    "not listed" },
	{ "add", hosts_add_main,
	    "HOST[:PORT] TYPE BASE64 | HOST[:PORT] --key-file FILE [--allow-weak]",
	    "pin a host key" },
	{ "list", hosts_list_main, "[PATTERN] [--json]",
	    "pinned and revoked keys, with source, added and last-verified times" },
	{ "remove", hosts_remove_main,
	    "HOST[:PORT] [--key FINGERPRINT] | --cert-authority|--revoked-pattern "
	    "PATTERN",
	    "forget a host, one of its keys, or pattern entries" },
	{ "revoke", hosts_revoke_main, "HOST[:PORT] --key FINGERPRINT",
	    "mark a pinned key revoked (exported as @revoked for ssh)" },
	{ "rotate", hosts_rotate_main,
	    "HOST[:PORT] TYPE BASE64 [--grace DURATION] [--allow-weak] | "
	    "HOST[:PORT] --finalize",
	    "pin a host's new key beside its old one of that type, which is "
	    "revoked after the grace (7d by default) or on --finalize" },
	{ "verify", hosts_verify_main, "HOST[:PORT] TYPE BASE64",
	    "exit 0 pinned, 1 unknown host, 2 key not pinned, 3 key revoked; "
	    "64 usage or input error, 70 failure" },
	{ NULL, NULL, NULL, NULL },
};

