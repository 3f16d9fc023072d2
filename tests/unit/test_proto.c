/*
 * The agent's message handlers driven directly, with jobs run inline: every
 * request type answered as RFC 9987 says, and every malformed, truncated or
 * oversized input answered with FAILURE (or a closed connection), never a crash.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
#include "worker.h"

static struct agent ag;
static struct conn *c;

static void
setup(void)
{
	sshx_log_init("test_proto", 0, SSHX_LOG_ERROR);
	ck_assert_int_eq(worker_start(0), 0);
	ck_assert_int_eq(agent_init(&ag), 0);
	c = conn_new(-1, 0, 0);
	ck_assert_ptr_nonnull(c);
}

static void
teardown(void)
{
	conn_free(c);
	agent_free(&ag);
}

/* Sends one message and returns the reply's type, leaving its body in *body (caller frees). */
static int
roundtrip(const struct sshx_buf *msg, struct sshx_buf **body)
{
	uint32_t len;
	uint8_t type;
	const uint8_t *p;

	sshx_buf_reset(c->out);
	dispatch_message(&ag, c, sshx_buf_ptr(msg), sshx_buf_len(msg));
	if (c->held != NULL)	/* a delayed reply: release it now */
		dispatch_resume(&ag, c);
	ck_assert_msg(!c->job, "expected the job to have completed inline");
	if (sshx_buf_len(c->out) == 0)
		return -1;
	ck_assert_int_eq(sshx_buf_get_u32(c->out, &len), 0);
	ck_assert_msg(len == sshx_buf_len(c->out), "expected one frame of %u "
	    "bytes, got %zu bytes", len, sshx_buf_len(c->out));
	ck_assert_int_eq(sshx_buf_get_u8(c->out, &type), 0);
	if (body != NULL) {
		p = sshx_buf_ptr(c->out);
		*body = sshx_buf_new();
		ck_assert_int_eq(sshx_buf_put(*body, p, sshx_buf_len(c->out)), 0);
	}
	sshx_buf_reset(c->out);
	return type;
}

static struct sshx_buf *
msg_new(uint8_t type)
{
	struct sshx_buf *m = sshx_buf_new();

	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(sshx_buf_put_u8(m, type), 0);
	return m;
}

/* Builds an ADD_ID_CONSTRAINED (or plain ADD when ctype is 0) for key. */
static struct sshx_buf *
add_msg(const struct sshx_key *key, const char *comment, int constrained)
{
	struct sshx_buf *m = msg_new(constrained ? SSH_AGENTC_ADD_ID_CONSTRAINED :
	    SSH_AGENTC_ADD_IDENTITY);

	ck_assert_int_eq(sshx_key_put_private(key, m), 0);
	ck_assert_int_eq(sshx_buf_put_cstring(m, comment), 0);
	return m;
}

static struct sshx_key *
gen(enum sshx_key_type t, unsigned int bits)
{
	struct sshx_key *k = NULL;

	ck_assert_int_eq(sshx_key_generate(t, bits, &k), 0);
	return k;
}

static int
add_key(const struct sshx_key *key, const char *comment)
{
	struct sshx_buf *m = add_msg(key, comment, 0);
	int t = roundtrip(m, NULL);

	sshx_buf_free(m);
	return t;
}

/* Asks for a signature; returns the reply type and the signature blob in *sig. */
static int
sign(const struct sshx_key *key, const char *data, uint32_t flags,
    struct sshx_buf **sig)
{
	struct sshx_buf *m = msg_new(SSH_AGENTC_SIGN_REQUEST), *body = NULL;
	const uint8_t *blob;
	size_t len;
	int t;

	blob = sshx_key_blob(key, &len);
	ck_assert_int_eq(sshx_buf_put_string(m, blob, len), 0);
	ck_assert_int_eq(sshx_buf_put_cstring(m, data), 0);
	ck_assert_int_eq(sshx_buf_put_u32(m, flags), 0);
	t = roundtrip(m, &body);
	if (sig != NULL && t == SSH_AGENT_SIGN_RESPONSE) {
		const uint8_t *s;
		size_t slen;

		ck_assert_int_eq(sshx_buf_get_string_direct(body, &s, &slen), 0);
		*sig = sshx_buf_new();
		ck_assert_int_eq(sshx_buf_put(*sig, s, slen), 0);
	}
	sshx_buf_free(body);
	sshx_buf_free(m);
	return t;
}

static uint32_t
list_count(void)
{
	struct sshx_buf *m = msg_new(SSH_AGENTC_REQUEST_IDENTITIES), *body = NULL;
	uint32_t n;

	ck_assert_int_eq(roundtrip(m, &body), SSH_AGENT_IDENTITIES_ANSWER);
	ck_assert_int_eq(sshx_buf_get_u32(body, &n), 0);
	sshx_buf_free(body);
	sshx_buf_free(m);
	return n;
}

START_TEST(list_empty_agent_answers_zero_identities)
{
	ck_assert_uint_eq(list_count(), 0);
}
END_TEST

START_TEST(add_list_sign_remove_every_key_type)
{
	static const enum sshx_key_type types[] = { SSHX_KEY_ED25519,
	    SSHX_KEY_ECDSA_P256, SSHX_KEY_ECDSA_P384, SSHX_KEY_ECDSA_P521,
	    SSHX_KEY_RSA };
	struct sshx_key *keys[5];
	struct sshx_buf *sig, *m;
	const uint8_t *blob;
	size_t i, len;

	for (i = 0; i < 5; i++) {
		keys[i] = gen(types[i], 2048);
		ck_assert_int_eq(add_key(keys[i], "comment"), SSH_AGENT_SUCCESS);
	}
	ck_assert_uint_eq(list_count(), 5);
	for (i = 0; i < 5; i++) {
		sig = NULL;
		ck_assert_msg(sign(keys[i], "data to sign", SSH_AGENT_RSA_SHA2_512,
		    &sig) == SSH_AGENT_SIGN_RESPONSE, "expected a signature from "
		    "key type %s", sshx_key_type_name(types[i]));
		ck_assert_int_eq(sshx_key_verify(keys[i], sshx_buf_ptr(sig),
		    sshx_buf_len(sig), (const uint8_t *)"data to sign", 12, 0), 0);
		sshx_buf_free(sig);
	}
	m = msg_new(SSH_AGENTC_REMOVE_IDENTITY);
	blob = sshx_key_blob(keys[2], &len);
	ck_assert_int_eq(sshx_buf_put_string(m, blob, len), 0);
	ck_assert_int_eq(roundtrip(m, NULL), SSH_AGENT_SUCCESS);
	ck_assert_int_eq(roundtrip(m, NULL), SSH_AGENT_FAILURE);
	sshx_buf_free(m);
	ck_assert_uint_eq(list_count(), 4);
	ck_assert_int_eq(sign(keys[2], "x", 0, NULL), SSH_AGENT_FAILURE);
	m = msg_new(SSH_AGENTC_REMOVE_ALL_IDENTITIES);
	ck_assert_int_eq(roundtrip(m, NULL), SSH_AGENT_SUCCESS);
	sshx_buf_free(m);
	ck_assert_uint_eq(list_count(), 0);
	for (i = 0; i < 5; i++)
		sshx_key_free(keys[i]);
}
END_TEST

START_TEST(readding_a_key_keeps_one_entry)
{
	struct sshx_key *k = gen(SSHX_KEY_ED25519, 0);

	ck_assert_int_eq(add_key(k, "one"), SSH_AGENT_SUCCESS);
	ck_assert_int_eq(add_key(k, "two"), SSH_AGENT_SUCCESS);
	ck_assert_uint_eq(list_count(), 1);
	ck_assert_str_eq(idtab_at(ag.idtab, 0)->comment, "two");
	sshx_key_free(k);
}
END_TEST

START_TEST(rsa_sha1_signature_refused_unless_allowed)
{
	struct sshx_key *k = gen(SSHX_KEY_RSA, 2048);
	struct sshx_buf *sig = NULL;

	ck_assert_int_eq(add_key(k, "rsa"), SSH_AGENT_SUCCESS);
	ck_assert_int_eq(sign(k, "d", 0, NULL), SSH_AGENT_FAILURE);
	ck_assert_int_eq(sign(k, "d", SSH_AGENT_RSA_SHA2_256, &sig),
	    SSH_AGENT_SIGN_RESPONSE);
	ck_assert_int_eq(sshx_key_verify(k, sshx_buf_ptr(sig), sshx_buf_len(sig),
	    (const uint8_t *)"d", 1, 0), 0);
	sshx_buf_free(sig);
	ag.policy.allow_sha1 = 1;
	ck_assert_int_eq(sign(k, "d", 0, NULL), SSH_AGENT_SIGN_RESPONSE);
	sshx_key_free(k);
}
END_TEST

START_TEST(rsa_under_minimum_refused)
{
	struct sshx_key *k = gen(SSHX_KEY_RSA, 1024);

	ck_assert_int_eq(add_key(k, "small"), SSH_AGENT_FAILURE);
	ck_assert_uint_eq(list_count(), 0);
	ag.policy.min_rsa_bits = 1024;
	ck_assert_int_eq(add_key(k, "small"), SSH_AGENT_SUCCESS);
	sshx_key_free(k);
}
END_TEST

START_TEST(dsa_key_refused)
{
	struct sshx_buf *m = msg_new(SSH_AGENTC_ADD_IDENTITY);
	uint8_t one = 1;

	ck_assert_int_eq(sshx_buf_put_cstring(m, "ssh-dss"), 0);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(sshx_buf_put_bignum2_bytes(m, &one, 1), 0);
	ck_assert_int_eq(sshx_buf_put_cstring(m, "dsa"), 0);
	ck_assert_int_eq(roundtrip(m, NULL), SSH_AGENT_FAILURE);
	ck_assert_uint_eq(list_count(), 0);
	sshx_buf_free(m);
}
END_TEST

/* Adds k with the given raw constraint bytes; returns the reply type. */
static int
add_constrained(const struct sshx_key *k, const uint8_t *cons, size_t len)
{
	struct sshx_buf *m = add_msg(k, "c", 1);
	int t;

	ck_assert_int_eq(sshx_buf_put(m, cons, len), 0);
	t = roundtrip(m, NULL);
	sshx_buf_free(m);
	return t;
}

START_TEST(constraints_unknown_duplicate_or_bad_fail_the_add)
{
	struct sshx_key *k = gen(SSHX_KEY_ED25519, 0);
	static const uint8_t life[] = { 1, 0, 0, 0, 5 };
	static const uint8_t life_twice[] = { 1, 0, 0, 0, 5, 1, 0, 0, 0, 6 };
	static const uint8_t life_zero[] = { 1, 0, 0, 0, 0 };
	static const uint8_t life_short[] = { 1, 0, 0 };
	static const uint8_t confirm_twice[] = { 2, 2 };
	static const uint8_t unknown[] = { 7 };
	static const uint8_t ext[] = { 255, 0, 0, 0, 3, 'f', 'o', 'o' };
	uint8_t many[SSHX_AGENT_MAX_CONSTRAINTS + 1];

	memset(many, 2, sizeof(many));
	ck_assert_int_eq(add_constrained(k, life_twice, sizeof(life_twice)), SSH_AGENT_FAILURE);
	ck_assert_int_eq(add_constrained(k, life_zero, sizeof(life_zero)), SSH_AGENT_FAILURE);
	ck_assert_int_eq(add_constrained(k, life_short, sizeof(life_short)), SSH_AGENT_FAILURE);
	ck_assert_int_eq(add_constrained(k, confirm_twice, sizeof(confirm_twice)), SSH_AGENT_FAILURE);
	ck_assert_int_eq(add_constrained(k, unknown, sizeof(unknown)), SSH_AGENT_FAILURE);
	ck_assert_int_eq(add_constrained(k, ext, sizeof(ext)), SSH_AGENT_FAILURE);
	ck_assert_int_eq(add_constrained(k, many, sizeof(many)), SSH_AGENT_FAILURE);
	ck_assert_uint_eq(list_count(), 0);
	ck_assert_int_eq(add_constrained(k, life, sizeof(life)), SSH_AGENT_SUCCESS);
	ck_assert_uint_eq(list_count(), 1);
	ck_assert(idtab_at(ag.idtab, 0)->death != 0);
	sshx_key_free(k);
}
END_TEST

START_TEST(plain_add_with_trailing_bytes_fails)
{
	struct sshx_key *k = gen(SSHX_KEY_ED25519, 0);
	struct sshx_buf *m = add_msg(k, "c", 0);

	ck_assert_int_eq(sshx_buf_put_u8(m, 2), 0);
	ck_assert_int_eq(roundtrip(m, NULL), SSH_AGENT_FAILURE);
	ck_assert_uint_eq(list_count(), 0);
	sshx_buf_free(m);
	sshx_key_free(k);
}
END_TEST

START_TEST(lifetime_expires_on_the_timer)
{
	struct sshx_key *k = gen(SSHX_KEY_ED25519, 0);
	static const uint8_t life[] = { 1, 0, 0, 0, 1 };
	uint64_t next = 0;

	ck_assert_int_eq(add_constrained(k, life, sizeof(life)), SSH_AGENT_SUCCESS);
	ck_assert_msg(ag.next_expiry != 0, "expected the loop's timer to be armed");
	ck_assert_uint_eq(idtab_expire(ag.idtab, agent_now_ms(), &next), 0);
	ck_assert_uint_eq(idtab_expire(ag.idtab, agent_now_ms() + 1500, &next), 1);
	ck_assert_uint_eq(list_count(), 0);
	sshx_key_free(k);
}
END_TEST

START_TEST(identity_cap_refuses_more)
{
	struct sshx_key *k;
	int i;

	ag.max_identities = 3;
	for (i = 0; i < 4; i++) {
		k = gen(SSHX_KEY_ED25519, 0);
		ck_assert_int_eq(add_key(k, "k"), i < 3 ? SSH_AGENT_SUCCESS :
		    SSH_AGENT_FAILURE);
		sshx_key_free(k);
	}
	ck_assert_uint_eq(list_count(), 3);
}
END_TEST

START_TEST(long_comment_refused)
{
	struct sshx_key *k = gen(SSHX_KEY_ED25519, 0);
	char *comment = malloc(SSHX_AGENT_MAX_COMMENT + 2);

	memset(comment, 'a', SSHX_AGENT_MAX_COMMENT + 1);
	comment[SSHX_AGENT_MAX_COMMENT + 1] = '\0';
	ck_assert_int_eq(add_key(k, comment), SSH_AGENT_FAILURE);
	comment[SSHX_AGENT_MAX_COMMENT] = '\0';
	ck_assert_int_eq(add_key(k, comment), SSH_AGENT_SUCCESS);
	free(comment);
	sshx_key_free(k);
}
END_TEST

static int
lock_msg(uint8_t type, const char *pass)
{
	struct sshx_buf *m = msg_new(type);
	int t;

	ck_assert_int_eq(sshx_buf_put_cstring(m, pass), 0);
	t = roundtrip(m, NULL);
	sshx_buf_free(m);
	return t;
}

START_TEST(lock_hides_keys_and_refuses_until_unlocked)
{
	struct sshx_key *k = gen(SSHX_KEY_ED25519, 0);

	ck_assert_int_eq(add_key(k, "k"), SSH_AGENT_SUCCESS);
	ck_assert_int_eq(lock_msg(SSH_AGENTC_UNLOCK, "pw"), SSH_AGENT_FAILURE);
	ck_assert_int_eq(lock_msg(SSH_AGENTC_LOCK, "pw"), SSH_AGENT_SUCCESS);
	ck_assert_msg(ag.vault.sealed != NULL && idtab_count(ag.idtab) == 0,
	    "expected every key sealed and wiped from the table");
	ck_assert_int_eq(lock_msg(SSH_AGENTC_LOCK, "pw"), SSH_AGENT_FAILURE);
	ck_assert_uint_eq(list_count(), 0);
	ck_assert_int_eq(sign(k, "d", 0, NULL), SSH_AGENT_FAILURE);
	ck_assert_int_eq(add_key(k, "k2"), SSH_AGENT_FAILURE);
	ck_assert_int_eq(lock_msg(SSH_AGENTC_UNLOCK, "wrong"), SSH_AGENT_FAILURE);
	ck_assert_uint_eq(ag.unlock_failures, 1);
	ck_assert(ag.locked);
	ck_assert_int_eq(lock_msg(SSH_AGENTC_UNLOCK, "pw"), SSH_AGENT_SUCCESS);
	ck_assert(!ag.locked);
	ck_assert_uint_eq(ag.unlock_failures, 0);
	ck_assert_uint_eq(list_count(), 1);
	ck_assert_int_eq(sign(k, "d", 0, NULL) == SSH_AGENT_SIGN_RESPONSE, 1);
	sshx_key_free(k);
}
END_TEST

START_TEST(failed_unlock_reply_is_held_not_slept)
{
	struct sshx_buf *m;

	ck_assert_int_eq(lock_msg(SSH_AGENTC_LOCK, "pw"), SSH_AGENT_SUCCESS);
	m = msg_new(SSH_AGENTC_UNLOCK);
	ck_assert_int_eq(sshx_buf_put_cstring(m, "bad"), 0);
	dispatch_message(&ag, c, sshx_buf_ptr(m), sshx_buf_len(m));
	ck_assert_msg(c->held != NULL && sshx_buf_len(c->out) == 0,
	    "expected the failure reply to be held back on a timer");
	ck_assert(c->resume_at > agent_now_ms());
	dispatch_resume(&ag, c);
	ck_assert_uint_eq(sshx_buf_len(c->out), 5);
	sshx_buf_free(m);
}
END_TEST

/* Builds a session-bind body signed by hostkey (or by signer when it differs). */
static struct sshx_buf *
bind_msg(const struct sshx_key *hostkey, const struct sshx_key *signer,
    const char *sid, int fwd)
{
	struct sshx_buf *m = msg_new(SSH_AGENTC_EXTENSION), *sig = sshx_buf_new();
	const uint8_t *blob;
	size_t len;

	ck_assert_int_eq(sshx_buf_put_cstring(m, SSHX_EXT_SESSION_BIND), 0);
	blob = sshx_key_blob(hostkey, &len);
	ck_assert_int_eq(sshx_buf_put_string(m, blob, len), 0);
	ck_assert_int_eq(sshx_buf_put_cstring(m, sid), 0);
	ck_assert_int_eq(sshx_key_sign(signer, (const uint8_t *)sid, strlen(sid),
	    SSH_AGENT_RSA_SHA2_512, sig), 0);
	ck_assert_int_eq(sshx_buf_put_stringb(m, sig), 0);
	ck_assert_int_eq(sshx_buf_put_u8(m, (uint8_t)fwd), 0);
	sshx_buf_free(sig);
	return m;
}

START_TEST(session_bind_verified_recorded_and_capped)
{
	struct sshx_key *host = gen(SSHX_KEY_ED25519, 0);
	struct sshx_key *user = gen(SSHX_KEY_ED25519, 0);
	struct sshx_buf *m;
	char sid[32];
	int i;

	ck_assert_int_eq(add_key(user, "u"), SSH_AGENT_SUCCESS);
	m = bind_msg(host, host, "session-0", 1);
	ck_assert_int_eq(roundtrip(m, NULL), SSH_AGENT_SUCCESS);
	ck_assert_int_eq(roundtrip(m, NULL), SSH_AGENT_SUCCESS);	/* same bind again */
	sshx_buf_free(m);
	ck_assert_uint_eq(c->nbinds, 1);
	ck_assert_int_eq(c->binds[0].forwarding, 1);
	for (i = 1; i < SSHX_AGENT_MAX_BINDS; i++) {
		snprintf(sid, sizeof(sid), "session-%d", i);
		m = bind_msg(host, host, sid, 0);
		ck_assert_int_eq(roundtrip(m, NULL), SSH_AGENT_SUCCESS);
		sshx_buf_free(m);
	}
	/* A forwarded connection: keys are not forwarded unless allowed. */
	ck_assert_int_eq(sign(user, "d", 0, NULL), SSH_AGENT_FAILURE);
	ag.policy.forwarding = FWD_ALLOW;
	ck_assert_int_eq(sign(user, "d", 0, NULL), SSH_AGENT_SIGN_RESPONSE);
	m = bind_msg(host, host, "one-too-many", 0);
	ck_assert_int_eq(roundtrip(m, NULL), SSH_AGENT_FAILURE);
	sshx_buf_free(m);
	ck_assert_uint_eq(c->nbinds, SSHX_AGENT_MAX_BINDS);
	sshx_key_free(host);
	sshx_key_free(user);
}
END_TEST

START_TEST(failed_session_bind_refuses_later_signatures)
{
	struct sshx_key *host = gen(SSHX_KEY_ECDSA_P256, 0);
	struct sshx_key *other = gen(SSHX_KEY_ECDSA_P256, 0);
	struct sshx_key *user = gen(SSHX_KEY_ED25519, 0);
	struct sshx_buf *m;

	ck_assert_int_eq(add_key(user, "u"), SSH_AGENT_SUCCESS);
	m = bind_msg(host, other, "sid", 0);	/* signed by the wrong key */
	ck_assert_int_eq(roundtrip(m, NULL), SSH_AGENT_FAILURE);
	sshx_buf_free(m);
	ck_assert_uint_eq(c->nbinds, 0);
	ck_assert_int_eq(sign(user, "d", 0, NULL), SSH_AGENT_FAILURE);
	sshx_key_free(host);
	sshx_key_free(other);
	sshx_key_free(user);
}
END_TEST

START_TEST(query_lists_supported_extensions)
{
	struct sshx_buf *m = msg_new(SSH_AGENTC_EXTENSION), *body = NULL;
	char *name = NULL;
	int found = 0;

	ck_assert_int_eq(sshx_buf_put_cstring(m, "query"), 0);
	ck_assert_int_eq(roundtrip(m, &body), SSH_AGENT_EXTENSION_RESPONSE);
	ck_assert_int_eq(sshx_buf_get_cstring(body, &name, NULL), 0);
	ck_assert_str_eq(name, "query");
	while (sshx_buf_len(body) > 0) {
		free(name);
		ck_assert_int_eq(sshx_buf_get_cstring(body, &name, NULL), 0);
		found += strcmp(name, SSHX_EXT_SESSION_BIND) == 0;
	}
	ck_assert_msg(found == 1, "expected session-bind in the query answer");
	free(name);
	sshx_buf_free(body);
	sshx_buf_free(m);
}
END_TEST

START_TEST(unknown_extension_and_types_fail)
{
	struct sshx_buf *m = msg_new(SSH_AGENTC_EXTENSION);
	static const uint8_t types[] = { 0, 1, 5, 6, 12, 14, 20, 21, 24, 26, 99, 255 };
	size_t i;

	ck_assert_int_eq(sshx_buf_put_cstring(m, "nonexistent@example.org"), 0);
	ck_assert_int_eq(roundtrip(m, NULL), SSH_AGENT_FAILURE);
	sshx_buf_free(m);
	for (i = 0; i < sizeof(types); i++) {
		m = msg_new(types[i]);
		ck_assert_int_eq(roundtrip(m, NULL), SSH_AGENT_FAILURE);
		sshx_buf_free(m);
	}
}
END_TEST

/* Sends every proper prefix of m; each must be refused unless listed in ok_cuts. */
static void
check_truncations(const struct sshx_buf *msg, const size_t *ok_cuts, size_t nok)
{
	struct sshx_buf *m;
	size_t cut, i;
	int t, ok;

	for (cut = 1; cut < sshx_buf_len(msg); cut++) {
		for (ok = 0, i = 0; i < nok; i++)
			ok |= ok_cuts[i] == cut;
		m = sshx_buf_from(sshx_buf_ptr(msg), cut);
		t = roundtrip(m, NULL);
		ck_assert_msg(t == (ok ? SSH_AGENT_SUCCESS : SSH_AGENT_FAILURE),
		    "message of type %u cut to %zu of %zu bytes: expected %s, "
		    "got %d", sshx_buf_ptr(msg)[0], cut, sshx_buf_len(msg),
		    ok ? "SUCCESS" : "FAILURE", t);
		sshx_buf_free(m);
		c->bind_failed = 0;
	}
}

START_TEST(every_truncation_of_valid_messages_fails_cleanly)
{
	struct sshx_key *k = gen(SSHX_KEY_RSA, 2048), *host = gen(SSHX_KEY_ED25519, 0);
	struct sshx_buf *m;
	static const uint8_t cons[] = { 2, 1, 0, 0, 0, 9 };
	const uint8_t *blob;
	size_t len, ok[2];

	/* A constrained add is complete after the comment and after "confirm". */
	m = add_msg(k, "comment", 1);
	ok[0] = sshx_buf_len(m);
	ok[1] = ok[0] + 1;
	ck_assert_int_eq(sshx_buf_put(m, cons, sizeof(cons)), 0);
	check_truncations(m, ok, 2);
	ck_assert_int_eq(roundtrip(m, NULL), SSH_AGENT_SUCCESS);
	sshx_buf_free(m);
	ck_assert_uint_eq(idtab_count(ag.idtab), 1);

	m = msg_new(SSH_AGENTC_SIGN_REQUEST);
	blob = sshx_key_blob(k, &len);
	ck_assert_int_eq(sshx_buf_put_string(m, blob, len), 0);
	ck_assert_int_eq(sshx_buf_put_cstring(m, "data"), 0);
	ck_assert_int_eq(sshx_buf_put_u32(m, 4), 0);
	check_truncations(m, NULL, 0);
	sshx_buf_free(m);

	m = bind_msg(host, host, "sid", 0);
	check_truncations(m, NULL, 0);
	sshx_buf_free(m);
	ck_assert_uint_eq(c->nbinds, 0);

	m = msg_new(SSH_AGENTC_REMOVE_IDENTITY);
	ck_assert_int_eq(sshx_buf_put_string(m, blob, len), 0);
	check_truncations(m, NULL, 0);
	ck_assert_uint_eq(idtab_count(ag.idtab), 1);
	ck_assert_int_eq(roundtrip(m, NULL), SSH_AGENT_SUCCESS);
	sshx_buf_free(m);
	sshx_key_free(k);
	sshx_key_free(host);
}
END_TEST

START_TEST(random_garbage_never_crashes)
{
	uint8_t junk[512];
	size_t len;
	int i, t;

	srandom(12345);
	for (i = 0; i < 20000; i++) {
		len = 1 + (size_t)random() % sizeof(junk);
		for (size_t j = 0; j < len; j++)
			junk[j] = (uint8_t)random();
		junk[0] = (uint8_t)(11 + random() % 17);	/* mostly real types */
		sshx_buf_reset(c->out);
		dispatch_message(&ag, c, junk, len);
		if (c->held != NULL)
			dispatch_resume(&ag, c);
		ck_assert_msg(sshx_buf_len(c->out) >= 5, "expected a reply to "
		    "garbage of type %u", junk[0]);
		t = sshx_buf_ptr(c->out)[4];
		ck_assert_msg(t == SSH_AGENT_FAILURE || t == SSH_AGENT_SUCCESS ||
		    t == SSH_AGENT_IDENTITIES_ANSWER ||
		    t == SSH_AGENT_EXTENSION_FAILURE, "garbage of type %u got "
		    "reply %d", junk[0], t);
		c->bind_failed = 0;
	}
}
END_TEST

/* Feeds raw bytes through the framing layer. */
static void
feed(const uint8_t *p, size_t len)
{
	ck_assert_int_eq(sshx_buf_put(c->in, p, len), 0);
	dispatch_input(&ag, c);
}

START_TEST(oversized_frame_closes_the_connection)
{
	static const uint8_t huge[] = { 0xff, 0xff, 0xff, 0xff, 11 };
	static const uint8_t over[] = { 0x00, 0x04, 0x00, 0x01, 11 };

	feed(huge, sizeof(huge));
	ck_assert_msg(c->dead, "expected a 4 GiB frame to close the connection");
	conn_free(c);
	c = conn_new(-1, 0, 0);
	feed(over, sizeof(over));
	ck_assert_msg(c->dead, "expected a 256 KiB + 1 frame to close the connection");
}
END_TEST

START_TEST(framing_handles_split_zero_and_pipelined_frames)
{
	static const uint8_t two[] = { 0, 0, 0, 1, 11, 0, 0, 0, 1, 11 };
	static const uint8_t zero[] = { 0, 0, 0, 0 };
	size_t i;

	for (i = 0; i < sizeof(two); i++)	/* one byte at a time */
		feed(&two[i], 1);
	ck_assert_uint_eq(sshx_buf_len(c->out), 2 * 9);
	ck_assert_uint_eq(sshx_buf_len(c->in), 0);
	sshx_buf_reset(c->out);
	feed(zero, sizeof(zero));
	ck_assert(!c->dead);
	ck_assert_uint_eq(sshx_buf_len(c->out), 5);
	ck_assert_uint_eq(sshx_buf_ptr(c->out)[4], SSH_AGENT_FAILURE);
}
END_TEST

/*
 * A job that completes inline (no worker threads) releases its connection
 * from inside dispatch_input: the frames after it must each be handled
 * once, in order (this recursed until the stack overflowed).
 */
START_TEST(inline_jobs_with_pipelined_frames_answer_each_once)
{
	struct sshx_key *host = gen(SSHX_KEY_ED25519, 0);
	struct sshx_buf *bind = bind_msg(host, host, "pipelined", 0), *all;
	static const uint8_t list[] = { 0, 0, 0, 1, 11 };
	const uint8_t *p;

	ck_assert_ptr_nonnull(all = sshx_buf_new());
	ck_assert_int_eq(sshx_buf_put_u32(all, (uint32_t)sshx_buf_len(bind)), 0);
	ck_assert_int_eq(sshx_buf_put(all, sshx_buf_ptr(bind), sshx_buf_len(bind)), 0);
	ck_assert_int_eq(sshx_buf_put(all, list, sizeof(list)), 0);
	ck_assert_int_eq(sshx_buf_put(all, list, sizeof(list)), 0);
	feed(sshx_buf_ptr(all), sshx_buf_len(all));
	ck_assert_uint_eq(sshx_buf_len(c->in), 0);
	/* SUCCESS (5 bytes), then two empty identity lists (9 bytes each). */
	ck_assert_uint_eq(sshx_buf_len(c->out), 5 + 9 + 9);
	p = sshx_buf_ptr(c->out);
	ck_assert_uint_eq(p[4], SSH_AGENT_SUCCESS);
	ck_assert_uint_eq(p[9], SSH_AGENT_IDENTITIES_ANSWER);
	ck_assert_uint_eq(p[18], SSH_AGENT_IDENTITIES_ANSWER);
	ck_assert_uint_eq(c->nbinds, 1);
	sshx_buf_free(bind);
	sshx_buf_free(all);
	sshx_key_free(host);
}
END_TEST

START_TEST(confirm_asks_askpass_and_no_askpass_means_refuse)
{
	struct sshx_key *k = gen(SSHX_KEY_ED25519, 0);
	static const uint8_t confirm[] = { 2 };

	ck_assert_int_eq(add_constrained(k, confirm, sizeof(confirm)), SSH_AGENT_SUCCESS);
	free(ag.policy.askpass);
	ag.policy.askpass = NULL;
	ck_assert_int_eq(sign(k, "d", 0, NULL), SSH_AGENT_FAILURE);
	ag.policy.askpass = strdup("/bin/false");
	ck_assert_int_eq(sign(k, "d", 0, NULL), SSH_AGENT_FAILURE);
	free(ag.policy.askpass);
	ag.policy.askpass = strdup("/bin/true");
	ck_assert_int_eq(sign(k, "d", 0, NULL), SSH_AGENT_SIGN_RESPONSE);
	free(ag.policy.askpass);
	ag.policy.askpass = strdup("/nonexistent/askpass");
	ck_assert_int_eq(sign(k, "d", 0, NULL), SSH_AGENT_FAILURE);
	sshx_key_free(k);
}
END_TEST

static Suite *
proto_suite(void)
{
	Suite *s = suite_create("proto");
	TCase *tc = tcase_create("dispatch");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, list_empty_agent_answers_zero_identities);
	tcase_add_test(tc, add_list_sign_remove_every_key_type);
	tcase_add_test(tc, readding_a_key_keeps_one_entry);
	tcase_add_test(tc, rsa_sha1_signature_refused_unless_allowed);
	tcase_add_test(tc, rsa_under_minimum_refused);
	tcase_add_test(tc, dsa_key_refused);
	tcase_add_test(tc, constraints_unknown_duplicate_or_bad_fail_the_add);
	tcase_add_test(tc, plain_add_with_trailing_bytes_fails);
	tcase_add_test(tc, lifetime_expires_on_the_timer);
	tcase_add_test(tc, identity_cap_refuses_more);
	tcase_add_test(tc, long_comment_refused);
	tcase_add_test(tc, lock_hides_keys_and_refuses_until_unlocked);
	tcase_add_test(tc, failed_unlock_reply_is_held_not_slept);
	tcase_add_test(tc, session_bind_verified_recorded_and_capped);
	tcase_add_test(tc, failed_session_bind_refuses_later_signatures);
	tcase_add_test(tc, query_lists_supported_extensions);
	tcase_add_test(tc, unknown_extension_and_types_fail);
	tcase_add_test(tc, every_truncation_of_valid_messages_fails_cleanly);
	tcase_add_test(tc, random_garbage_never_crashes);
	tcase_add_test(tc, oversized_frame_closes_the_connection);
	tcase_add_test(tc, framing_handles_split_zero_and_pipelined_frames);
	tcase_add_test(tc, inline_jobs_with_pipelined_frames_answer_each_once);
	tcase_add_test(tc, confirm_asks_askpass_and_no_askpass_means_refuse);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return sshx_run_suite(proto_suite());
}
