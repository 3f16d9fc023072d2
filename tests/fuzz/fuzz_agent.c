/*
 * The agent's message handling, end to end: the input is a byte stream as
 * a client would send it, cut into frames by dispatch_input and handled by
 * the real dispatch code (list, sign, add with constraints, remove,
 * session-bind, extensions) with jobs run inline. Each input starts from an
 * agent holding one key of every type, as OpenSSH's agent fuzzer does; the
 * agent is rebuilt only when an input changed what it holds (parsing five
 * keys, RSA among them, would otherwise cost more than most inputs).
 *
 * LOCK and UNLOCK frames are dropped before dispatch: each derives a key
 * with argon2id (64 MiB), which would cut the harness to a few runs a
 * second; the lock path has unit and integration tests of its own.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "conn.h"
#include "dispatch.h"
#include "identity.h"
#include "key.h"
#include "proto.h"
#include "worker.h"
#include "fuzz.h"

#define NKEYS	5
static struct sshx_buf *preloaded[NKEYS];	/* private keys, agent form */
static struct sshx_key *pubs[NKEYS];		/* their public halves */

/* Makes the keys every input starts with (once). */
static void
make_keys(void)
{
	static const struct {
		enum sshx_key_type type;
		unsigned int bits;
	} kinds[] = {
		{ SSHX_KEY_ED25519, 0 }, { SSHX_KEY_ECDSA_P256, 0 },
		{ SSHX_KEY_ECDSA_P384, 0 }, { SSHX_KEY_ECDSA_P521, 0 },
		{ SSHX_KEY_RSA, 2048 },
	};
	struct sshx_key *k;
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(*kinds); i++) {
		if (sshx_key_generate(kinds[i].type, kinds[i].bits, &k) != 0 ||
		    (preloaded[i] = sshx_buf_new_secure()) == NULL ||
		    sshx_key_put_private(k, preloaded[i]) != 0)
			abort();
		pubs[i] = k;
	}
}

/* Fills the agent's table with copies of the preloaded keys. */
static void
load_keys(struct agent *ag)
{
	struct sshx_buf *b;
	struct sshx_key *k;
	char *comment;
	size_t i;

	for (i = 0; i < sizeof(preloaded) / sizeof(*preloaded); i++) {
		if ((b = sshx_buf_from(sshx_buf_ptr(preloaded[i]),
		    sshx_buf_len(preloaded[i]))) == NULL ||
		    sshx_key_parse_private(b, &k) != 0 ||
		    (comment = strdup("fuzz")) == NULL ||
		    idtab_add(ag->idtab, k, comment, 0, 0, ag->max_identities) != 0)
			abort();
		sshx_buf_free(b);
	}
}

/* Returns 1 when the agent holds exactly the preloaded keys, unconstrained and unlocked. */
static int
pristine(const struct agent *ag)
{
	const struct identity *id;
	size_t i;

	if (ag->locked || ag->lock_pending || idtab_count(ag->idtab) != NKEYS)
		return 0;
	for (i = 0; i < NKEYS; i++) {
		id = idtab_at(ag->idtab, i);
		if (!sshx_key_equal_public(id->key, pubs[i]) || id->death != 0 ||
		    id->confirm || id->dests != NULL ||
		    strcmp(id->comment, "fuzz") != 0)
			return 0;
	}
	return 1;
}

/* Copies data into in without the LOCK and UNLOCK frames (see above). */
static void
strip_lock_frames(const uint8_t *data, size_t size, struct sshx_buf *in)
{
	size_t off = 0;
	uint32_t len;

	while (size - off >= 5) {
		len = (uint32_t)data[off] << 24 | (uint32_t)data[off + 1] << 16 |
		    (uint32_t)data[off + 2] << 8 | data[off + 3];
		if (len == 0 || len > size - off - 4)
			break;
		if (data[off + 4] != SSH_AGENTC_LOCK &&
		    data[off + 4] != SSH_AGENTC_UNLOCK &&
		    sshx_buf_put(in, data + off, 4 + (size_t)len) != 0)
			abort();
		off += 4 + (size_t)len;
	}
	/* A trailing partial or oversized frame goes as it came. */
	if (off < size && sshx_buf_put(in, data + off, size - off) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct agent ag;
	static int ready;
	struct conn *c;

	if (!ready) {
		if (worker_start(0) != 0)
			abort();
		make_keys();
		ready = 1;
	}
	if (ready == 1 || !pristine(&ag)) {
		if (ready == 2)
			agent_free(&ag);
		if (agent_init(&ag) != 0)
			abort();
		load_keys(&ag);
		ready = 2;
	}
	if ((c = conn_new(-1, 0, 0)) == NULL)
		abort();
	strip_lock_frames(data, size, c->in);
	dispatch_input(&ag, c);
	conn_free(c);
	return 0;
}
