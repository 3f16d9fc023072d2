/*
 * sshxctl known-hosts export: the pinned keys as a known_hosts file, written
 * atomically with an explicit mode. The paramiko dialect is what both
 * Paramiko 2.12 and 3.x load and OpenSSH reads; the openssh dialect adds the
 * marker lines that only ssh understands.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "buf.h"
#include "err.h"
#include "fs.h"
#include "kh.h"
#include "store.h"
#include "sshxctl.h"

/* Most --host options. */
#define HOST_FILTERS_MAX	64

/* Bytes gathered before they go to the file in one write. */
#define OUT_CHUNK	(4U * 1024 * 1024)

/* Output gathered in chunks and streamed to the file's temporary copy. */
struct out {
	char *p;
	size_t len, cap;
	int failed;
};

/* Appends len bytes, growing geometrically; remembers an allocation failure. */
static void
out_add(struct out *o, const void *data, size_t len)
{
	size_t cap;
	char *np;

	if (o->failed)
		return;
	if (len > SIZE_MAX / 2 - o->len) {
		o->failed = 1;
		return;
	}
	if (o->len + len > o->cap) {
		for (cap = o->cap == 0 ? OUT_CHUNK + 4096 : o->cap; cap < o->len + len;
		    cap *= 2)
			;
		if ((np = realloc(o->p, cap)) == NULL) {
			o->failed = 1;
			return;
		}
		o->p = np;
		o->cap = cap;
	}
	memcpy(o->p + o->len, data, len);
	o->len += len;
}

static void
out_str(struct out *o, const char *s)
{
	out_add(o, s, strlen(s));
}

struct export {
	const struct globals *g;
	const char *what;
	int openssh;			/* --format openssh */
	int hash;			/* --hash */
	const char *filters[HOST_FILTERS_MAX];
	size_t nfilters;
	struct sshx_kh_hasher *hs;
	uint8_t salt_key[SSHX_STORE_HASH_KEY_LEN];
	struct sshx_buf *b64;
	struct out o;
	struct sshx_fs_atomic *w;	/* the file being written */
	char why[PATH_MAX + 256];	/* why writing it failed */
	/* the host whose keys are being written */
	int64_t host_id;
	unsigned int host_types;	/* bit per type rank already written */
	int host_nonrsa, host_rsa;	/* pinned keys written, by kind */
	int host_counted;
	char host_text[SSHX_KH_HOSTPORT_SIZE];
	char host_name[SSHX_KH_HASHED_SIZE > SSHX_KH_HOSTPORT_SIZE ?
	    SSHX_KH_HASHED_SIZE : SSHX_KH_HOSTPORT_SIZE];
	/* counts */
	unsigned long keys, hosts, revoked, rsa_only, duplicates, skipped_hashed;
	unsigned long ca_left_out, revoked_patterns_left_out, patterns;
	int error;
};

/* Returns 1 when a host passes the --host filters (any of them). */
static int
host_selected(struct export *x, const struct sshx_store_key *k)
{
	size_t i;

	if (x->nfilters == 0)
		return 1;
	for (i = 0; i < x->nfilters; i++)
		if (ctl_host_filter_match(x->hs, x->filters[i], k->host, k->port,
		    k->hashed))
			return 1;
	return 0;
}

/* Warns about the host just finished when only RSA keys were written for it. */
static void
host_done(struct export *x)
{
	if (x->host_id != 0 && x->host_rsa > 0 && x->host_nonrsa == 0) {
		ctl_progress_clear();
		fprintf(stderr, "sshxctl: %s: warning: %s has only an ssh-rsa key "
		    "pinned; clients that prefer ed25519 or ecdsa host keys fail "
		    "against it. Pin every key type the host has (ssh-keyscan).\n",
		    x->what, x->host_text);
		x->rsa_only++;
	}
}

/* Starts a new host: its name as it will appear in the file. */
static int
host_begin(struct export *x, const struct sshx_store_key *k)
{
	struct sshx_kh_host h = { .port = k->port, .hashed = k->hashed };
	uint8_t salt[SSHX_KH_SALT_LEN];
	size_t n;
	int r;

	host_done(x);
	x->host_id = k->host_id;
	x->host_types = 0;
	x->host_nonrsa = x->host_rsa = 0;
	x->host_counted = 0;
	if ((n = strnlen(k->host, sizeof(h.name))) == sizeof(h.name))
		return SSHX_ERR_INVALID_FORMAT;
	memcpy(h.name, k->host, n + 1);
	if ((r = sshx_kh_format_host(&h, x->host_text)) != 0)
		return r;
	if (!x->hash || k->hashed) {
		memcpy(x->host_name, x->host_text, strlen(x->host_text) + 1);
		return 0;
	}
	if ((r = sshx_kh_derive_salt(x->hs, x->salt_key, sizeof(x->salt_key),
	    k->host, k->port, salt)) != 0 ||
	    (r = sshx_kh_hash_host(x->hs, salt, k->host, k->port, x->host_name)) != 0)
		return r;
	return 0;
}

/* Sends what has been gathered to the file. */
static int
out_flush(struct export *x)
{
	int r;

	if (x->o.len == 0)
		return 0;
	if ((r = sshx_fs_atomic_write(x->w, x->o.p, x->o.len, x->why,
	    sizeof(x->why))) != 0)
		return r;
	x->o.len = 0;
	return 0;
}

/* Appends "[marker ]name type base64\n". */
static int
put_line(struct export *x, const char *marker, const char *name, const char *type,
    const uint8_t *blob, size_t bloblen)
{
	int r;

	sshx_buf_reset(x->b64);
	if ((r = sshx_b64_encode(blob, bloblen, x->b64)) != 0)
		return r;
	if (marker != NULL) {
		out_str(&x->o, marker);
		out_add(&x->o, " ", 1);
	}
	out_str(&x->o, name);
	out_add(&x->o, " ", 1);
	out_str(&x->o, type);
	out_add(&x->o, " ", 1);
	out_add(&x->o, sshx_buf_ptr(x->b64), sshx_buf_len(x->b64));
	out_add(&x->o, "\n", 1);
	if (!x->host_counted && marker == NULL) {
		x->host_counted = 1;
		x->hosts++;
	}
	if (x->o.failed)
		return SSHX_ERR_ALLOC;
	return x->o.len >= OUT_CHUNK ? out_flush(x) : 0;
}

/* Writes one stored key in the chosen dialect. */
static int
export_key_cb(const struct sshx_store_key *k, void *arg)
{
	struct export *x = arg;
	int rank = sshx_kh_type_rank(k->type), r;

	ctl_progress_step(1);
	if (k->host_id != x->host_id) {
		if (x->nfilters > 0 && k->hashed && !host_selected(x, k)) {
			x->skipped_hashed++;
			return 0;
		}
		if (!host_selected(x, k))
			return 0;
		if ((r = host_begin(x, k)) != 0) {
			x->error = r;
			return 1;
		}
	}
	if (k->state == SSHX_STORE_REVOKED) {
		x->revoked++;
		if (!x->openssh)
			return 0;
		if ((r = put_line(x, "@revoked", x->host_name, k->type, k->blob,
		    k->bloblen)) != 0) {
			x->error = r;
			return 1;
		}
		return 0;
	}
	/* Paramiko uses only the first key per host and type: write one, say so. */
	if (!x->openssh && (x->host_types & (1U << rank)) != 0) {
		ctl_note(x->g, "sshxctl: %s: note: %s has more than one pinned %s "
		    "key; Paramiko uses only the first, so only the oldest is "
		    "exported (left out: %s)\n", x->what, x->host_text, k->type,
		    k->fingerprint);
		x->duplicates++;
		return 0;
	}
	x->host_types |= 1U << rank;
	if (strcmp(k->type, "ssh-rsa") == 0)
		x->host_rsa++;
	else
		x->host_nonrsa++;
	if ((r = put_line(x, NULL, x->host_name, k->type, k->blob, k->bloblen)) != 0) {
		x->error = r;
		return 1;
	}
	x->keys++;
	return 0;
}

/* Writes a pattern entry (openssh dialect) or counts what is left out. */
static int
export_pattern_cb(const struct sshx_store_pattern *p, void *arg)
{
	struct export *x = arg;
	int r;

	if (!x->openssh) {
		if (p->marker == SSHX_STORE_MARK_CA)
			x->ca_left_out++;
		else
			x->revoked_patterns_left_out++;
		return 0;
	}
	if ((r = put_line(x, p->marker == SSHX_STORE_MARK_CA ? "@cert-authority" :
	    "@revoked", p->pattern, p->type, p->blob, p->bloblen)) != 0) {
		x->error = r;
		return 1;
	}
	x->patterns++;
	return 0;
}

/* Parses --mode: only modes that nobody but the owner may write. */
static int
parse_mode(const char *s, mode_t *modep)
{
	if (strcmp(s, "0600") == 0 || strcmp(s, "600") == 0)
		*modep = 0600;
	else if (strcmp(s, "0640") == 0 || strcmp(s, "640") == 0)
		*modep = 0640;
	else if (strcmp(s, "0644") == 0 || strcmp(s, "644") == 0)
		*modep = 0644;
	else
		return -1;
	return 0;
}

static int
export_main(int argc, char **argv, const struct globals *g)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, 'f' },
		{ "hash", no_argument, NULL, 'H' },
		{ "host", required_argument, NULL, 'h' },
		{ "mode", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	struct export x = { .g = g, .what = "known-hosts export" };
	struct sshx_store *s = NULL;
	struct sshx_fs_atomic *w;
	const char *out_path = NULL;
	char path[PATH_MAX], why[PATH_MAX + 256] = "", detail[PATH_MAX + 256];
	unsigned long total;
	mode_t mode = 0600;
	int ch, r, ret = EXIT_RUNTIME;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			out_path = optarg;
			break;
		case 'f':
			if (strcmp(optarg, "openssh") == 0)
				x.openssh = 1;
			else if (strcmp(optarg, "paramiko") == 0)
				x.openssh = 0;
			else {
				ctl_error(x.what, "--format: \"%s\" is not paramiko or "
				    "openssh", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'H':
			x.hash = 1;
			break;
		case 'h':
			if (ctl_host_filter_check(x.what, optarg) != 0)
				return EXIT_USAGE;
			if (x.nfilters == HOST_FILTERS_MAX) {
				ctl_error(x.what, "more than %d --host options",
				    HOST_FILTERS_MAX);
				return EXIT_USAGE;
			}
			x.filters[x.nfilters++] = optarg;
			break;
		case 'm':
			if (parse_mode(optarg, &mode) != 0) {
				ctl_error(x.what, "--mode: \"%s\" is not 0600, 0640 or "
				    "0644 (a known_hosts file must not be writable "
				    "by others)", optarg);
				return EXIT_USAGE;
			}
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		ctl_error(x.what, "unexpected argument \"%s\"", argv[optind]);
		return EXIT_USAGE;
	}
	if (out_path == NULL || *out_path == '\0') {
		ctl_error(x.what, "--out PATH is required");
		return EXIT_USAGE;
	}
	if ((x.hs = sshx_kh_hasher_new()) == NULL ||
	    (x.b64 = sshx_buf_new()) == NULL) {
		ctl_error(x.what, "out of memory");
		goto out;
	}
	if ((ret = ctl_store_open(g, x.what, 0, &s, path, sizeof(path), NULL)) != 0)
		goto out;
	/* Every check on the target comes before the work: a refusal costs nothing. */
	if ((r = sshx_fs_atomic_begin(out_path, mode, 0, &x.w, why,
	    sizeof(why))) != 0) {
		ctl_error(x.what, "%s", why[0] ? why : sshx_strerror(r));
		ret = ctl_exit_code(r);
		goto out;
	}
	if ((r = sshx_store_begin_read(s)) != 0 ||
	    (x.hash && (r = sshx_store_hash_key(s, x.salt_key)) != 0) ||
	    (r = sshx_store_count_keys(s, &total)) != 0) {
		ret = ctl_store_error(x.what, s, r);
		goto out;
	}
	/* Every stored key passes the callback, those --host leaves out too. */
	ctl_progress_start(g, x.what, total);
	if (((r = sshx_store_foreach_key(s, export_key_cb, &x)) < 0) ||
	    (x.error == 0 && (r = sshx_store_foreach_pattern(s, export_pattern_cb,
	    &x)) < 0)) {
		ctl_progress_done();
		ret = ctl_store_error(x.what, s, r);
		goto out;
	}
	ctl_progress_done();
	sshx_store_rollback(s);
	host_done(&x);
	if (x.error != 0) {
		ctl_error(x.what, "%s", x.why[0] ? x.why : sshx_strerror(x.error));
		ret = ctl_exit_code(x.error);
		goto out;
	}
	if (x.ca_left_out + x.revoked_patterns_left_out > 0)
		ctl_note(g, "sshxctl: %s: note: left out %lu @cert-authority and "
		    "%lu @revoked pattern entries: Paramiko 3.2 and later refuse a "
		    "file with marker lines (--format openssh writes them for "
		    "ssh)\n", x.what, x.ca_left_out, x.revoked_patterns_left_out);
	if (x.skipped_hashed > 0)
		ctl_note(g, "sshxctl: %s: note: %lu keys of hashed hosts were "
		    "not matched against --host patterns and are left out\n",
		    x.what, x.skipped_hashed);
	if (x.keys == 0) {
		ctl_error(x.what, "no pinned host keys%s; nothing written to %s",
		    x.nfilters > 0 ? " match --host" : " in the database", out_path);
		ret = EXIT_NO;
		goto out;
	}
	r = out_flush(&x);
	w = x.w;
	x.w = NULL;	/* commit and abort free it */
	if (r != 0) {
		sshx_fs_atomic_abort(w);
		ctl_error(x.what, "%s", x.why[0] ? x.why : sshx_strerror(r));
		ret = ctl_exit_code(r);
		goto out;
	}
	if ((r = sshx_fs_atomic_commit(w, why, sizeof(why))) != 0) {
		ctl_error(x.what, "%s", why[0] ? why : sshx_strerror(r));
		ret = ctl_exit_code(r);
		goto out;
	}
	snprintf(detail, sizeof(detail), "wrote %s (%s%s, mode %04o): %lu keys "
	    "for %lu hosts", out_path, x.openssh ? "openssh" : "paramiko",
	    x.hash ? ", hashed" : "", (unsigned int)mode, x.keys, x.hosts);
	if ((r = sshx_store_begin(s)) != 0 ||
	    (r = ctl_audit(s, "known-hosts.export", NULL, NULL, detail)) != 0 ||
	    (r = sshx_store_commit(s)) != 0) {
		ctl_error(x.what, "%s was written, but recording it in the audit "
		    "log failed: %s", out_path, sshx_strerror(r));
		ret = EXIT_RUNTIME;
		goto out;
	}
	if (g->json)
	{
		printf("{\"path\":");
		ctl_json_string(stdout, out_path);
		printf(",\"format\":\"%s\",\"hashed\":%s,\"keys\":%lu,"
		    "\"hosts\":%lu,\"revoked\":%lu,\"patterns\":%lu}\n",
		    x.openssh ? "openssh" : "paramiko", x.hash ? "true" : "false",
		    x.keys, x.hosts, x.openssh ? x.revoked : 0, x.patterns);
	} else
		ctl_note(g, "wrote %lu keys for %lu hosts to %s\n", x.keys,
		    x.hosts, out_path);
	ret = EXIT_OK;
 out:
	explicit_bzero(x.salt_key, sizeof(x.salt_key));
	sshx_fs_atomic_abort(x.w);	/* nothing written unless committed */
	if (s != NULL)
		sshx_store_rollback(s);
	sshx_store_close(s);
	sshx_buf_free(x.b64);
	sshx_kh_hasher_free(x.hs);
	free(x.o.p);
	return ret;
}

const struct command known_hosts_commands[] = {
	{ "export", export_main,
	    "--out PATH [--format paramiko|openssh] [--hash] [--host PATTERN]... "
	    "[--mode 0600|0640|0644]",
	    "write the pinned keys as a known_hosts file (atomic, mode 0600): "
	    "paramiko (default) loads in Paramiko 2.12/3.x and ssh; openssh adds "
	    "@revoked and @cert-authority lines" },
	{ NULL, NULL, NULL, NULL },
};
