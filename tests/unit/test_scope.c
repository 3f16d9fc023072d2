/*
 * Who sees and uses which key, driven through the real handlers: the
 * [key] and [socket] sections of agentd.conf, scoped connections, the
 * forwarding policy and restrict-destination-v00@openssh.com constraints.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"

#include "buf.h"
#include "conn.h"
#include "dispatch.h"
#include "err.h"
#include "identity.h"
#include "key.h"
#include "log.h"
#include "proto.h"
#include "scope.h"
#include "settings.h"
#include "worker.h"

static struct agent ag;
static struct conn *c;
static char conf_path[64];

static void
setup(void)
{
	sshx_log_init("test_scope", 0, SSHX_LOG_ERROR);
	ck_assert_int_eq(worker_start(0), 0);
	ck_assert_int_eq(agent_init(&ag), 0);
	c = conn_new(-1, 0, 0);
	ck_assert_ptr_nonnull(c);
	conf_path[0] = '\0';
}

static void
teardown(void)
{
	conn_free(c);
	agent_free(&ag);
	if (conf_path[0] != '\0')
		unlink(conf_path);
}

/* Sends one message on conn and returns the reply's type, its body in *body (caller frees). */
static int
roundtrip_on(struct conn *conn, const struct sshx_buf *msg, struct sshx_buf **body)
{
	uint32_t len;
	uint8_t type;

	sshx_buf_reset(conn->out);
	dispatch_message(&ag, conn, sshx_buf_ptr(msg), sshx_buf_len(msg));
	ck_assert_msg(!conn->job, "expected the job to have completed inline");
	ck_assert_int_eq(sshx_buf_get_u32(conn->out, &len), 0);
	ck_assert_int_eq(sshx_buf_get_u8(conn->out, &type), 0);
	if (body != NULL) {
		*body = sshx_buf_new();
		ck_ok(sshx_buf_put(*body, sshx_buf_ptr(conn->out),
		    sshx_buf_len(conn->out)));
	}
	sshx_buf_reset(conn->out);
	return type;
}

static int
roundtrip(const struct sshx_buf *msg)
{
	return roundtrip_on(c, msg, NULL);
}

static struct sshx_buf *
msg_new(uint8_t type)
{
	struct sshx_buf *m = sshx_buf_new();

	ck_assert_ptr_nonnull(m);
	ck_ok(sshx_buf_put_u8(m, type));
	return m;
}

static struct sshx_key *
gen(void)
{
	struct sshx_key *k = NULL;

	ck_ok(sshx_key_generate(SSHX_KEY_ED25519, 0, &k));
	return k;
}

/* Adds key with the constraint bytes given (none: a plain add); returns the reply type. */
static int
add_key(const struct sshx_key *key, const struct sshx_buf *constraints)
{
	struct sshx_buf *m = msg_new(constraints != NULL ?
	    SSH_AGENTC_ADD_ID_CONSTRAINED : SSH_AGENTC_ADD_IDENTITY);
	int t;

	ck_ok(sshx_key_put_private(key, m));
	ck_ok(sshx_buf_put_cstring(m, "k"));
	if (constraints != NULL)
		ck_ok(sshx_buf_put(m, sshx_buf_ptr(constraints),
		    sshx_buf_len(constraints)));
	t = roundtrip(m);
	sshx_buf_free(m);
	return t;
}

/* Asks conn for a signature of data with key; returns the reply type. */
static int
sign_on(struct conn *conn, const struct sshx_key *key,
    const struct sshx_buf *data)
{
	struct sshx_buf *m = msg_new(SSH_AGENTC_SIGN_REQUEST);
	const uint8_t *blob;
	size_t len;
	int t;

	blob = sshx_key_blob(key, &len);
	ck_ok(sshx_buf_put_string(m, blob, len));
	ck_ok(sshx_buf_put_stringb(m, data));
	ck_ok(sshx_buf_put_u32(m, 0));
	t = roundtrip_on(conn, m, NULL);
	sshx_buf_free(m);
	return t;
}

static int
sign_text(const struct sshx_key *key, const char *text)
{
	struct sshx_buf *d = sshx_buf_new();
	int t;

	ck_ok(sshx_buf_put(d, text, strlen(text)));
	t = sign_on(c, key, d);
	sshx_buf_free(d);
	return t;
}

/* Returns 1 when conn's listing holds key, and the count in *np. */
static int
listed_on(struct conn *conn, const struct sshx_key *key, uint32_t *np)
{
	struct sshx_buf *m = msg_new(SSH_AGENTC_REQUEST_IDENTITIES), *body = NULL;
	const uint8_t *blob, *b;
	size_t len, blen;
	uint32_t n, i;
	int found = 0;

	ck_assert_int_eq(roundtrip_on(conn, m, &body), SSH_AGENT_IDENTITIES_ANSWER);
	ck_ok(sshx_buf_get_u32(body, &n));
	blob = sshx_key_blob(key, &len);
	for (i = 0; i < n; i++) {
		ck_ok(sshx_buf_get_string_direct(body, &b, &blen));
		found |= blen == len && memcmp(b, blob, len) == 0;
		ck_ok(sshx_buf_get_string_direct(body, &b, &blen));
	}
	if (np != NULL)
		*np = n;
	sshx_buf_free(body);
	sshx_buf_free(m);
	return found;
}

/* Binds conn to hostkey for session sid, with the forwarding flag fwd. */
static void
bind_on(struct conn *conn, const struct sshx_key *hostkey, const char *sid, int fwd)
{
	struct sshx_buf *m = msg_new(SSH_AGENTC_EXTENSION), *sig = sshx_buf_new();
	const uint8_t *blob;
	size_t len;

	ck_ok(sshx_buf_put_cstring(m, SSHX_EXT_SESSION_BIND));
	blob = sshx_key_blob(hostkey, &len);
	ck_ok(sshx_buf_put_string(m, blob, len));
	ck_ok(sshx_buf_put_cstring(m, sid));
	ck_ok(sshx_key_sign(hostkey, (const uint8_t *)sid, strlen(sid), 0, sig));
	ck_ok(sshx_buf_put_stringb(m, sig));
	ck_ok(sshx_buf_put_u8(m, (uint8_t)fwd));
	ck_assert_int_eq(roundtrip_on(conn, m, NULL), SSH_AGENT_SUCCESS);
	sshx_buf_free(sig);
	sshx_buf_free(m);
}

/* Loads text as agentd.conf into ag.policy; returns config_load's result. */
static int
load_conf(const char *text, char *err, size_t errlen)
{
	FILE *f;
	int fd;

	snprintf(conf_path, sizeof(conf_path), "/tmp/sshx-scope-XXXXXX");
	ck_assert_int_ne(fd = mkstemp(conf_path), -1);
	ck_assert_ptr_nonnull(f = fdopen(fd, "w"));
	fputs(text, f);
	fclose(f);
	return config_load(conf_path, 0, &ag.policy, err, errlen);
}

static void
fp(const struct sshx_key *k, char out[static SSHX_FP_LEN])
{
	ck_ok(sshx_key_fingerprint(k, out));
}

START_TEST(config_sections_are_read)
{
	char err[512];

	ck_ok(load_conf("forwarding = confirm\n"
	    "[key deploy]\nforwarding = allow\n\n"
	    "[socket app.1]\n# comment\nkeys = deploy , SHA256:"
	    "2nqBiVFXg+E4uo7yGsuQYyXjdRm5RdRpI2sKfagj5Bg\n"
	    "path = /run/x.sock\n", err, sizeof(err)));
	ck_assert_int_eq(ag.policy.forwarding, FWD_CONFIRM);
	ck_assert_ptr_nonnull(ag.policy.scopes);
	ck_assert_uint_eq(ag.policy.scopes->nrules, 1);
	ck_assert_str_eq(ag.policy.scopes->rules[0]->selector, "deploy");
	ck_assert_int_eq(ag.policy.scopes->rules[0]->forwarding, FWD_ALLOW);
	ck_assert_uint_eq(ag.policy.scopes->nsocks, 1);
	ck_assert_str_eq(ag.policy.scopes->socks[0]->name, "app.1");
	ck_assert_str_eq(ag.policy.scopes->socks[0]->path, "/run/x.sock");
	ck_assert_uint_eq(ag.policy.scopes->socks[0]->nkeys, 2);
	ck_assert_str_eq(ag.policy.scopes->socks[0]->keys[0], "deploy");
}
END_TEST

START_TEST(config_mistakes_name_file_and_line)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "[socket a]\nkeys = k\nfoo = 1\n", ":3: unknown setting \"foo\"" },
		{ "[key k]\nforwarding = allow\n[key k]\n", ":3: duplicate section" },
		{ "[socket a b]\n", ":1: a section header names one thing" },
		{ "[socket a/b]\nkeys = k\n", ":1: [socket a/b]" },
		{ "[socket a]\n", ":1: [socket a] has no \"keys" },
		{ "[socket a]\nkeys = k\nkeys = k\n", ":3: keys given twice" },
		{ "[socket a]\nkeys = k, k\n", ":2: keys: k is listed twice" },
		{ "[socket a]\nkeys = ,k\n", ":2: keys: empty entry" },
		{ "[key k]\nforwarding = yes\n", ":2: bad value for forwarding" },
		{ "[key]\n", ":1: [key] needs a name" },
		{ "[key k\n", ":1: expected \"[key SELECTOR]\"" },
		{ "[key k]\n[key j]\nforwarding = deny\n", ":1: [key k] sets nothing" },
		{ "[socket a]\nkeys = k\npath = x.sock\n", ":3: path: expected an absolute" },
		{ NULL, NULL },
	};
	char err[512];
	size_t i;

	for (i = 0; cases[i].text != NULL; i++) {
		agent_free(&ag);
		ck_ok(agent_init(&ag));
		unlink(conf_path);
		ck_assert_msg(load_conf(cases[i].text, err, sizeof(err)) != 0,
		    "expected case %zu to be refused", i);
		ck_assert_msg(strstr(err, conf_path) != NULL &&
		    strstr(err, cases[i].want) != NULL, "case %zu: expected "
		    "\"%s\" after the file name, got \"%s\"", i, cases[i].want, err);
	}
}
END_TEST

START_TEST(scoped_connection_lists_and_signs_only_its_keys)
{
	struct sshx_key *k1 = gen(), *k2 = gen(), *k3 = gen();
	char f2[SSHX_FP_LEN], f3[SSHX_FP_LEN], text[256], err[512];
	struct sshx_buf *m;
	uint32_t n;

	fp(k2, f2);
	fp(k3, f3);
	snprintf(text, sizeof(text), "[socket s]\nkeys = %s, %s\n", f3, f2);
	ck_ok(load_conf(text, err, sizeof(err)));
	ck_assert_int_eq(add_key(k1, NULL), SSH_AGENT_SUCCESS);
	ck_assert_int_eq(add_key(k2, NULL), SSH_AGENT_SUCCESS);
	ag.policy.scopes->socks[0]->fd = 1234;
	c->scope = scope_by_listener(&ag, 1234);
	ck_assert_ptr_nonnull(c->scope);
	/* k3 is exposed but not held: only k2 is listed. */
	ck_assert(listed_on(c, k2, &n) && n == 1);
	ck_assert_int_eq(sign_text(k2, "d"), SSH_AGENT_SIGN_RESPONSE);
	ck_assert_int_eq(sign_text(k1, "d"), SSH_AGENT_FAILURE);
	ck_assert_int_eq(add_key(k3, NULL), SSH_AGENT_FAILURE);
	m = msg_new(SSH_AGENTC_REMOVE_ALL_IDENTITIES);
	ck_assert_int_eq(roundtrip(m), SSH_AGENT_FAILURE);
	sshx_buf_free(m);
	ck_assert_uint_eq(idtab_count(ag.idtab), 2);
	sshx_key_free(k1);
	sshx_key_free(k2);
	sshx_key_free(k3);
}
END_TEST

START_TEST(forwarded_connection_follows_each_keys_policy)
{
	struct sshx_key *k1 = gen(), *k2 = gen(), *k3 = gen(), *host = gen();
	char f1[SSHX_FP_LEN], f3[SSHX_FP_LEN], text[256], err[512];
	uint32_t n;

	fp(k1, f1);
	fp(k3, f3);
	snprintf(text, sizeof(text), "[key %s]\nforwarding = allow\n"
	    "[key %s]\nforwarding = confirm\n", f1, f3);
	ck_ok(load_conf(text, err, sizeof(err)));
	ck_assert_int_eq(add_key(k1, NULL), SSH_AGENT_SUCCESS);
	ck_assert_int_eq(add_key(k2, NULL), SSH_AGENT_SUCCESS);
	ck_assert_int_eq(add_key(k3, NULL), SSH_AGENT_SUCCESS);
	bind_on(c, host, "sid-1", 0);
	ck_assert(listed_on(c, k2, &n) && n == 3);	/* not forwarded yet */
	bind_on(c, host, "sid-2", 1);
	ck_assert(listed_on(c, k1, &n) && n == 2);
	ck_assert(!listed_on(c, k2, NULL));
	ck_assert(listed_on(c, k3, NULL));
	ck_assert_int_eq(sign_text(k1, "d"), SSH_AGENT_SIGN_RESPONSE);
	ck_assert_int_eq(sign_text(k2, "d"), SSH_AGENT_FAILURE);
	/* confirm without an askpass program: refused. */
	ck_assert_int_eq(sign_text(k3, "d"), SSH_AGENT_FAILURE);
	sshx_key_free(k1);
	sshx_key_free(k2);
	sshx_key_free(k3);
	sshx_key_free(host);
}
END_TEST

/* Appends one hop: user, host name, reserved, then one plain host key (or none). */
static void
put_hop(struct sshx_buf *b, const char *user, const char *host,
    const struct sshx_key *key)
{
	struct sshx_buf *h = sshx_buf_new();
	const uint8_t *blob;
	size_t len;

	ck_ok(sshx_buf_put_cstring(h, user));
	ck_ok(sshx_buf_put_cstring(h, host));
	ck_ok(sshx_buf_put_string(h, NULL, 0));
	if (key != NULL) {
		blob = sshx_key_blob(key, &len);
		ck_ok(sshx_buf_put_string(h, blob, len));
		ck_ok(sshx_buf_put_u8(h, 0));
	}
	ck_ok(sshx_buf_put_stringb(b, h));
	sshx_buf_free(h);
}

/* The constraint bytes of an add restricted to user@host with hostkey, from here. */
static struct sshx_buf *
dest_constraint(const char *user, const struct sshx_key *hostkey)
{
	struct sshx_buf *out = sshx_buf_new(), *list = sshx_buf_new();
	struct sshx_buf *one = sshx_buf_new();

	put_hop(one, "", "", NULL);
	put_hop(one, user, "host", hostkey);
	ck_ok(sshx_buf_put_string(one, NULL, 0));
	ck_ok(sshx_buf_put_stringb(list, one));
	ck_ok(sshx_buf_put_u8(out, SSH_AGENT_CONSTRAIN_EXTENSION));
	ck_ok(sshx_buf_put_cstring(out, SSHX_EXT_RESTRICT_DEST));
	ck_ok(sshx_buf_put_stringb(out, list));
	sshx_buf_free(one);
	sshx_buf_free(list);
	return out;
}

/* The data ssh signs for a hostbound public key authentication. */
static struct sshx_buf *
userauth_data(const char *sid, const char *user, const struct sshx_key *key,
    const struct sshx_key *hostkey)
{
	struct sshx_buf *d = sshx_buf_new();
	const uint8_t *blob;
	size_t len;

	ck_ok(sshx_buf_put_cstring(d, sid));
	ck_ok(sshx_buf_put_u8(d, 50));
	ck_ok(sshx_buf_put_cstring(d, user));
	ck_ok(sshx_buf_put_cstring(d, "ssh-connection"));
	ck_ok(sshx_buf_put_cstring(d, "publickey-hostbound-v00@openssh.com"));
	ck_ok(sshx_buf_put_u8(d, 1));
	ck_ok(sshx_buf_put_cstring(d, "ssh-ed25519"));
	blob = sshx_key_blob(key, &len);
	ck_ok(sshx_buf_put_string(d, blob, len));
	blob = sshx_key_blob(hostkey, &len);
	ck_ok(sshx_buf_put_string(d, blob, len));
	return d;
}

START_TEST(restrict_destination_is_checked_against_binds)
{
	struct sshx_key *k = gen(), *host = gen(), *other = gen();
	struct sshx_buf *cons = dest_constraint("alice", host), *d;
	struct conn *c2 = conn_new(-1, 0, 0), *c3 = conn_new(-1, 0, 0);

	ck_assert_int_eq(add_key(k, cons), SSH_AGENT_SUCCESS);
	ck_assert_ptr_nonnull(idtab_at(ag.idtab, 0)->dests);
	/* No bind: hidden, and not signed with. */
	ck_assert(!listed_on(c, k, NULL));
	ck_assert_int_eq(sign_text(k, "d"), SSH_AGENT_FAILURE);
	/* Bound to the permitted host: listed; signs for alice only. */
	bind_on(c2, host, "sid-a", 0);
	ck_assert(listed_on(c2, k, NULL));
	d = userauth_data("sid-a", "alice", k, host);
	ck_assert_int_eq(sign_on(c2, k, d), SSH_AGENT_SIGN_RESPONSE);
	sshx_buf_free(d);
	d = userauth_data("sid-a", "bob", k, host);
	ck_assert_int_eq(sign_on(c2, k, d), SSH_AGENT_FAILURE);
	sshx_buf_free(d);
	d = userauth_data("another-session", "alice", k, host);
	ck_assert_int_eq(sign_on(c2, k, d), SSH_AGENT_FAILURE);
	sshx_buf_free(d);
	/* Bound to another host key: hidden. */
	bind_on(c3, other, "sid-b", 0);
	ck_assert(!listed_on(c3, k, NULL));
	d = userauth_data("sid-b", "alice", k, other);
	ck_assert_int_eq(sign_on(c3, k, d), SSH_AGENT_FAILURE);
	sshx_buf_free(d);
	/* Forwarded through the permitted host: usable there, not beyond. */
	conn_free(c3);
	c3 = conn_new(-1, 0, 0);
	ag.policy.forwarding = FWD_ALLOW;
	bind_on(c3, host, "sid-c", 1);
	ck_assert(!listed_on(c3, k, NULL));
	/* Re-adding without the constraint lifts it. */
	ck_assert_int_eq(add_key(k, NULL), SSH_AGENT_SUCCESS);
	ck_assert(listed_on(c, k, NULL));
	sshx_buf_free(cons);
	conn_free(c2);
	conn_free(c3);
	sshx_key_free(k);
	sshx_key_free(host);
	sshx_key_free(other);
}
END_TEST

START_TEST(every_truncated_destination_constraint_is_refused)
{
	struct sshx_key *k = gen(), *host = gen();
	struct sshx_buf *cons = dest_constraint("", host), *part;
	size_t i, len = sshx_buf_len(cons);

	for (i = 1; i < len; i++) {
		part = sshx_buf_new();
		ck_ok(sshx_buf_put(part, sshx_buf_ptr(cons), i));
		ck_assert_msg(add_key(k, part) == SSH_AGENT_FAILURE,
		    "expected the add with %zu of %zu constraint bytes to fail",
		    i, len);
		sshx_buf_free(part);
	}
	ck_assert_uint_eq(idtab_count(ag.idtab), 0);
	/* The same constraint twice in one add. */
	part = sshx_buf_new();
	ck_ok(sshx_buf_put(part, sshx_buf_ptr(cons), len));
	ck_ok(sshx_buf_put(part, sshx_buf_ptr(cons), len));
	ck_assert_int_eq(add_key(k, part), SSH_AGENT_FAILURE);
	sshx_buf_free(part);
	ck_assert_int_eq(add_key(k, cons), SSH_AGENT_SUCCESS);
	sshx_buf_free(cons);
	sshx_key_free(k);
	sshx_key_free(host);
}
END_TEST

/* Sends LOCK (or UNLOCK) with passphrase pw; returns the reply type. */
static int
lock_msg(int unlock, const char *pw)
{
	struct sshx_buf *m = msg_new(unlock ? SSH_AGENTC_UNLOCK : SSH_AGENTC_LOCK);
	int t;

	ck_ok(sshx_buf_put_cstring(m, pw));
	t = roundtrip(m);
	sshx_buf_free(m);
	return t;
}

START_TEST(lock_and_unlock_keep_destination_constraints)
{
	struct sshx_key *k = gen(), *host = gen();
	struct sshx_buf *cons = dest_constraint("", host);
	struct conn *c2 = conn_new(-1, 0, 0);

	ck_assert_int_eq(add_key(k, cons), SSH_AGENT_SUCCESS);
	ck_assert_int_eq(lock_msg(0, "pw"), SSH_AGENT_SUCCESS);
	ck_assert_int_eq(lock_msg(1, "pw"), SSH_AGENT_SUCCESS);
	ck_assert_uint_eq(idtab_count(ag.idtab), 1);
	ck_assert_ptr_nonnull(idtab_at(ag.idtab, 0)->dests);
	ck_assert(!listed_on(c, k, NULL));
	bind_on(c2, host, "sid", 0);
	ck_assert(listed_on(c2, k, NULL));
	conn_free(c2);
	sshx_buf_free(cons);
	sshx_key_free(k);
	sshx_key_free(host);
}
END_TEST

static Suite *
scope_suite(void)
{
	Suite *s = suite_create("scope");
	TCase *tc = tcase_create("scope");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, config_sections_are_read);
	tcase_add_test(tc, config_mistakes_name_file_and_line);
	tcase_add_test(tc, scoped_connection_lists_and_signs_only_its_keys);
	tcase_add_test(tc, forwarded_connection_follows_each_keys_policy);
	tcase_add_test(tc, restrict_destination_is_checked_against_binds);
	tcase_add_test(tc, every_truncated_destination_constraint_is_refused);
	tcase_add_test(tc, lock_and_unlock_keep_destination_constraints);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return sshx_run_suite(scope_suite());
}
