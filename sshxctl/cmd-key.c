/* sshxctl key ...: keys in the encrypted keyring. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agentc.h"
#include "buf.h"
#include "err.h"
#include "fs.h"
#include "import.h"
#include "key.h"
#include "keyring.h"
#include "proto.h"
#include "sshxctl.h"

/* Largest private key file read by key import. */
#define IMPORT_MAX_FILE	(1024 * 1024)

static const struct {
	const char *name;
	enum sshx_key_type type;
} type_names[] = {
	{ "ed25519", SSHX_KEY_ED25519 },
	{ "ecdsa-p256", SSHX_KEY_ECDSA_P256 },
	{ "ecdsa-p384", SSHX_KEY_ECDSA_P384 },
	{ "ecdsa-p521", SSHX_KEY_ECDSA_P521 },
	{ "rsa", SSHX_KEY_RSA },
};

/*
 * The state as agentd sees it: a retiring key whose grace is over is no
 * longer served, though the next write of the keyring retires it for good.
 */
static const char *
state_name(const struct sshx_keyring_entry *e)
{
	switch (e->state) {
	case SSHX_KEYSTATE_ACTIVE:
		return "active";
	case SSHX_KEYSTATE_RETIRING:
		return e->retire_at <= (uint64_t)time(NULL) ? "expired" :
		    "retiring";
	case SSHX_KEYSTATE_RETIRED:
		return "retired";
	}
	return "unknown";
}

/* Checks a key name given on the command line. */
static int
check_name(const char *what, const char *name)
{
	if (name != NULL && !sshx_keyring_valid_name(name)) {
		ctl_error(what, "\"%s\" is not a valid key name (1 to %d of "
		    "A-Z a-z 0-9 . _ @ + -, starting with a letter or digit)",
		    name, SSHX_KEYRING_MAX_NAME);
		return -1;
	}
	return 0;
}

int
ctl_key_type_parse(const char *what, const char *s, enum sshx_key_type *typep)
{
	size_t i;

	for (i = 0; i < sizeof(type_names) / sizeof(*type_names); i++) {
		if (strcmp(s, type_names[i].name) == 0) {
			*typep = type_names[i].type;
			return 0;
		}
	}
	ctl_error(what, "--type: \"%s\" is not one of ed25519, ecdsa-p256, "
	    "ecdsa-p384, ecdsa-p521, rsa", s);
	return -1;
}

int
ctl_key_bits_parse(const char *what, const char *s, unsigned int *bitsp)
{
	unsigned long bits;
	char *end;

	errno = 0;
	bits = strtoul(s, &end, 10);
	if (*s < '0' || *s > '9' || errno != 0 || *end != '\0' || bits < 2048 ||
	    bits > 16384 || bits % 8 != 0) {
		ctl_error(what, "--bits: \"%s\" is not a multiple of 8 from 2048 "
		    "to 16384", s);
		return -1;
	}
	*bitsp = (unsigned int)bits;
	return 0;
}

int
ctl_check_comment(const char *what, const char *comment)
{
	const unsigned char *p;

	for (p = (const unsigned char *)comment; p != NULL && *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			ctl_error(what, "the comment contains a control character");
			return -1;
		}
	}
	if (comment != NULL && strlen(comment) > 1024) {
		ctl_error(what, "the comment is longer than 1024 bytes");
		return -1;
	}
	return 0;
}

/* Adds key under name, saves, tells the agent; prints the result. Takes the key. */
static int
add_and_save(const struct globals *g, const char *what, struct sshx_key *key,
    const char *name, const char *comment)
{
	const struct sshx_keyring_entry *e;
	struct sshx_keyring *kr = NULL;
	char path[PATH_MAX], fp[SSHX_FP_LEN], detail[128];
	int fd = -1, r, ret;

	if (ctl_keyring_path(g, path, sizeof(path)) != 0) {
		ctl_error(what, "no keyring path");
		sshx_key_free(key);
		return EXIT_USAGE;
	}
	if ((ret = ctl_keyring_open(g, what, path, &kr, &fd)) != 0) {
		sshx_key_free(key);
		return ret;
	}
	sshx_key_fingerprint(key, fp);
	if ((r = sshx_keyring_add(kr, key, name, comment)) != 0) {
		if (r == SSHX_ERR_EXISTS)
			ctl_error(what, "the keyring already holds %s",
			    name != NULL && sshx_keyring_find(kr, name) != NULL ?
			    name : fp);
		else
			ctl_error(what, "%s", sshx_strerror(r));
		sshx_key_free(key);
		ret = ctl_exit_code(r);
		goto out;
	}
	key = NULL;	/* transferred */
	if ((ret = ctl_keyring_save(what, kr, path)) != 0)
		goto out;
	e = sshx_keyring_find(kr, fp);
	snprintf(detail, sizeof(detail), "name=%s type=%s", e->name,
	    sshx_key_type_name(sshx_key_type(e->key)));
	ctl_audit_change(g, what, strcmp(what, "key import") == 0 ? "key.import" :
	    "key.generate", fp, detail);
	if (g->json) {
		printf("{\"name\":");
		ctl_json_string(stdout, e->name);
		printf(",\"type\":\"%s\",\"fingerprint\":\"%s\",\"public\":",
		    sshx_key_type_name(sshx_key_type(e->key)), fp);
		ctl_json_public(stdout, e->key);
		printf("}\n");
	} else {
		ctl_note(g, "added \"%s\" (%s, %s) to %s\n", e->name,
		    sshx_key_type_name(sshx_key_type(e->key)), fp, path);
		ctl_print_public(stdout, e->key, e->comment);
	}
	ctl_agent_reload(g);
	ret = EXIT_OK;
 out:
	sshx_keyring_free(kr);
	sshx_fs_unlock(fd);
	return ret;
}

static int
key_generate_main(int argc, char **argv, const struct globals *g)
{
	static const struct option opts[] = {
		{ "type", required_argument, NULL, 't' },
		{ "bits", required_argument, NULL, 'b' },
		{ "name", required_argument, NULL, 'n' },
		{ "comment", required_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 },
	};
	const char *what = "key generate", *name = NULL, *comment = "";
	enum sshx_key_type type = SSHX_KEY_ED25519;
	struct sshx_key *key = NULL;
	unsigned int bits = 0;
	int ch, r;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 't':
			if (ctl_key_type_parse(what, optarg, &type) != 0)
				return EXIT_USAGE;
			break;
		case 'b':
			if (ctl_key_bits_parse(what, optarg, &bits) != 0)
				return EXIT_USAGE;
			break;
		case 'n':
			name = optarg;
			break;
		case 'C':
			comment = optarg;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		ctl_error(what, "unexpected argument \"%s\"", argv[optind]);
		return EXIT_USAGE;
	}
	if (bits != 0 && type != SSHX_KEY_RSA) {
		ctl_error(what, "--bits applies to --type rsa only");
		return EXIT_USAGE;
	}
	if (check_name(what, name) != 0 || ctl_check_comment(what, comment) != 0)
		return EXIT_USAGE;
	if ((r = sshx_key_generate(type, type == SSHX_KEY_RSA && bits == 0 ?
	    3072 : bits, &key)) != 0) {
		ctl_error(what, "%s", sshx_strerror(r));
		return EXIT_RUNTIME;
	}
	return add_and_save(g, what, key, name, comment);
}

static int
key_import_main(int argc, char **argv, const struct globals *g)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "comment", required_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 },
	};
	const char *what = "key import", *name = NULL, *comment = NULL;
	struct sshx_key *key = NULL;
	struct sshx_buf *data = NULL;
	char why[512] = "", *filecomment = NULL;
	int ch, r, ret;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'n')
			name = optarg;
		else if (ch == 'C')
			comment = optarg;
		else
			return EXIT_USAGE;
	}
	if (optind + 1 != argc) {
		ctl_error(what, "give exactly one key file");
		return EXIT_USAGE;
	}
	if (check_name(what, name) != 0 || ctl_check_comment(what, comment) != 0)
		return EXIT_USAGE;
	if ((r = sshx_fs_read(argv[optind], IMPORT_MAX_FILE, SSHX_FS_PRIVATE |
	    SSHX_FS_SECURE_MEM, &data, why, sizeof(why))) != 0) {
		ctl_error(what, "%s", r == SSHX_ERR_NOT_FOUND ? "no such file" :
		    why[0] ? why : sshx_strerror(r));
		return ctl_exit_code(r);
	}
	why[0] = '\0';
	r = sshx_import_private(sshx_buf_ptr(data), sshx_buf_len(data), &key,
	    &filecomment, why, sizeof(why));
	sshx_buf_free(data);
	if (r != 0) {
		ctl_error(what, "%s: %s", argv[optind], why[0] ? why :
		    sshx_strerror(r));
		return ctl_exit_code(r);
	}
	if (comment == NULL && ctl_check_comment(what, filecomment) != 0) {
		free(filecomment);
		sshx_key_free(key);
		return EXIT_USAGE;
	}
	ret = add_and_save(g, what, key, name, comment != NULL ? comment :
	    filecomment);
	free(filecomment);
	return ret;
}

/* Loads the keyring read-only for a listing command (the lock is released at once). */
static int
load_for_reading(const struct globals *g, const char *what,
    struct sshx_keyring **krp)
{
	char path[PATH_MAX];
	int fd = -1, ret;

	if (ctl_keyring_path(g, path, sizeof(path)) != 0) {
		ctl_error(what, "no keyring path");
		return EXIT_USAGE;
	}
	ret = ctl_keyring_open(g, what, path, krp, &fd);
	sshx_fs_unlock(fd);
	return ret;
}

/* Prints one record as a JSON object. */
static void
entry_json(const struct sshx_keyring_entry *e)
{
	char fp[SSHX_FP_LEN], ts[32];

	sshx_key_fingerprint(e->key, fp);
	printf("{\"name\":");
	ctl_json_string(stdout, e->name);
	printf(",\"type\":\"%s\",\"bits\":%u,\"fingerprint\":\"%s\",\"comment\":",
	    sshx_key_type_name(sshx_key_type(e->key)), sshx_key_bits(e->key), fp);
	ctl_json_string(stdout, e->comment);
	printf(",\"created\":\"%s\",\"state\":\"%s\"", ctl_iso_time((int64_t)e->created, ts),
	    state_name(e));
	if (e->retire_at != 0)
		printf(",\"retire_at\":\"%s\"", ctl_iso_time((int64_t)e->retire_at, ts));
	else
		printf(",\"retire_at\":null");
	printf(",\"predecessor\":");
	ctl_json_string(stdout, e->predecessor);
	printf(",\"successor\":");
	ctl_json_string(stdout, e->successor);
	printf("}");
}

static int
key_list_main(int argc, char **argv, const struct globals *g)
{
	const struct sshx_keyring_entry *e;
	struct sshx_keyring *kr = NULL;
	char fp[SSHX_FP_LEN], ts[32];
	size_t i;
	int ret;

	if (argc != 1) {
		ctl_error("key list", "unexpected argument \"%s\"", argv[1]);
		return EXIT_USAGE;
	}
	if ((ret = load_for_reading(g, "key list", &kr)) != 0)
		return ret;
	if (g->json)
		printf("[");
	for (i = 0; (e = sshx_keyring_at(kr, i)) != NULL; i++) {
		if (g->json) {
			printf(i ? "," : "");
			entry_json(e);
			continue;
		}
		sshx_key_fingerprint(e->key, fp);
		printf("%-20s %-20s %s %-8s %s %s\n", e->name,
		    sshx_key_type_name(sshx_key_type(e->key)), fp,
		    state_name(e), ctl_iso_time((int64_t)e->created, ts), e->comment);
	}
	if (g->json)
		printf("]\n");
	sshx_keyring_free(kr);
	return EXIT_OK;
}

/* Loads the keyring and finds NAME (or fingerprint) for show / export-public. */
static int
find_one(int argc, char **argv, const struct globals *g, const char *what,
    struct sshx_keyring **krp, const struct sshx_keyring_entry **ep)
{
	int ret;

	*krp = NULL;
	*ep = NULL;
	if (argc != 2) {
		ctl_error(what, "give exactly one key name or fingerprint");
		return EXIT_USAGE;
	}
	if ((ret = load_for_reading(g, what, krp)) != 0)
		return ret;
	if ((*ep = sshx_keyring_find(*krp, argv[1])) == NULL) {
		ctl_error(what, "no key \"%s\" in the keyring", argv[1]);
		sshx_keyring_free(*krp);
		*krp = NULL;
		return EXIT_NO;
	}
	return 0;
}

static int
key_show_main(int argc, char **argv, const struct globals *g)
{
	const struct sshx_keyring_entry *e;
	struct sshx_keyring *kr;
	char fp[SSHX_FP_LEN], ts[32];
	int ret;

	if ((ret = find_one(argc, argv, g, "key show", &kr, &e)) != 0)
		return ret;
	if (g->json) {
		entry_json(e);
		printf("\n");
	} else {
		sshx_key_fingerprint(e->key, fp);
		printf("name: %s\ntype: %s (%u bits)\nfingerprint: %s\n"
		    "comment: %s\ncreated: %s\nstate: %s\n", e->name,
		    sshx_key_type_name(sshx_key_type(e->key)),
		    sshx_key_bits(e->key), fp, e->comment,
		    ctl_iso_time((int64_t)e->created, ts), state_name(e));
		if (e->retire_at != 0)
			printf("retire at: %s\n", ctl_iso_time((int64_t)e->retire_at, ts));
		if (*e->predecessor != '\0')
			printf("predecessor: %s\n", e->predecessor);
		if (*e->successor != '\0')
			printf("successor: %s\n", e->successor);
		printf("public: ");
		ctl_print_public(stdout, e->key, e->comment);
	}
	sshx_keyring_free(kr);
	return EXIT_OK;
}

static int
key_export_public_main(int argc, char **argv, const struct globals *g)
{
	const struct sshx_keyring_entry *e;
	struct sshx_keyring *kr;
	int ret;

	if ((ret = find_one(argc, argv, g, "key export-public", &kr, &e)) != 0)
		return ret;
	ctl_print_public(stdout, e->key, e->comment);
	sshx_keyring_free(kr);
	return EXIT_OK;
}

static int
key_remove_main(int argc, char **argv, const struct globals *g)
{
	const char *what = "key remove";
	const struct sshx_keyring_entry *e;
	struct sshx_keyring *kr = NULL;
	char path[PATH_MAX], fp[SSHX_FP_LEN] = "", detail[128] = "";
	int fd = -1, r, ret;

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
	if ((e = sshx_keyring_find(kr, argv[1])) != NULL) {
		sshx_key_fingerprint(e->key, fp);
		snprintf(detail, sizeof(detail), "name=%s", e->name);
	}
	if ((r = sshx_keyring_remove(kr, argv[1])) != 0) {
		ctl_error(what, "no key \"%s\" in the keyring", argv[1]);
		ret = ctl_exit_code(r);
		goto out;
	}
	if ((ret = ctl_keyring_save(what, kr, path)) != 0)
		goto out;
	ctl_note(g, "removed \"%s\" from %s\n", argv[1], path);
	ctl_agent_reload(g);
	ctl_audit_change(g, what, "key.remove", fp, detail);
	ret = EXIT_OK;
 out:
	sshx_keyring_free(kr);
	sshx_fs_unlock(fd);
	return ret;
}

static int
key_persist_main(int argc, char **argv, const struct globals *g)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	const char *what = "key persist", *name = "", *path = g->agent_socket;
	struct sshx_agentc *ac = NULL;
	struct sshx_buf *body = NULL, *reply = NULL;
	uint8_t type;
	int ch, r, ret = EXIT_RUNTIME;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'n')
			return EXIT_USAGE;
		name = optarg;
	}
	if (optind + 1 != argc) {
		ctl_error(what, "give exactly one fingerprint (as ssh-add -l prints it)");
		return EXIT_USAGE;
	}
	if (*name != '\0' && check_name(what, name) != 0)
		return EXIT_USAGE;
	if (path == NULL && (path = getenv("SSH_AUTH_SOCK")) == NULL) {
		ctl_error(what, "SSH_AUTH_SOCK is not set and no -a SOCKET was given");
		return EXIT_USAGE;
	}
	if ((body = sshx_buf_new()) == NULL || (reply = sshx_buf_new()) == NULL ||
	    sshx_buf_put_cstring(body, argv[optind]) != 0 ||
	    sshx_buf_put_cstring(body, name) != 0)
		goto out;
	if ((r = sshx_agentc_connect(path, &ac)) != 0) {
		ctl_error(what, "no agent answers at %s", path);
		ret = EXIT_NO;
		goto out;
	}
	if ((r = sshx_agentc_extension(ac, "persist@sshx", body, &type,
	    reply)) != 0) {
		ctl_error(what, "%s", sshx_strerror(r));
		goto out;
	}
	if (type != SSH_AGENT_SUCCESS) {
		ctl_error(what, "the agent refused: the key must have been added "
		    "with ssh-add, the agent's keyring must be unlocked, and the "
		    "agent must be agentd (its log says why)");
		ret = EXIT_NO;
		goto out;
	}
	ctl_note(g, "the agent stored %s in its keyring\n", argv[optind]);
	ret = EXIT_OK;
 out:
	sshx_agentc_close(ac);
	sshx_buf_free(body);
	sshx_buf_free(reply);
	return ret;
}

const struct command key_commands[] = {
	{ "generate", key_generate_main,
	    "[--type ed25519|ecdsa-p256|ecdsa-p384|ecdsa-p521|rsa] [--bits N] "
	    "[--name NAME] [--comment C]",
	    "create a key in the keyring (ed25519 by default, RSA 3072 bits) and "
	    "print its public key" },
	{ "import", key_import_main, "FILE [--name NAME] [--comment C]",
	    "copy an unencrypted private key file (OpenSSH, PEM, PKCS#8) into "
	    "the keyring" },
	{ "list", key_list_main, "[--json]",
	    "the keys in the keyring: name, type, fingerprint, state, created, "
	    "comment" },
	{ "show", key_show_main, "NAME|FINGERPRINT [--json]", "one key in detail" },
	{ "export-public", key_export_public_main, "NAME|FINGERPRINT",
	    "print the key's authorized_keys line" },
	{ "remove", key_remove_main, "NAME|FINGERPRINT",
	    "delete a key from the keyring" },
	{ "rotate", key_rotate_main,
	    "NAME [--grace DURATION] [--type T] [--bits N] [--comment C] "
	    "[--authorized-keys FILE] | --rollback NAME [--authorized-keys FILE]",
	    "replace a key: the new one takes NAME and is listed first; the old "
	    "one is served after it until the grace ends (7d by default)" },
	{ "retire", key_retire_main, "NAME|FINGERPRINT",
	    "end a rotation's grace now: the old key is no longer served, its "
	    "private part is wiped and its public part kept as history" },
	{ "persist", key_persist_main, "FINGERPRINT [--name NAME]",
	    "have agentd store a key added with ssh-add in its keyring" },
	{ NULL, NULL, NULL, NULL },
};
