/*
 * Key parsing: public key blobs (as in agent requests, known_hosts and
 * session-bind) and private keys in agent ADD_IDENTITY form. The first byte
 * picks the parser; what parses must survive a round trip.
 */
#include "config.h"

#include <string.h>

#include "buf.h"
#include "key.h"
#include "fuzz.h"

/* A key that was accepted must encode back to what was read. */
static void
check_public(const struct sshx_key *key, const uint8_t *p, size_t len)
{
	struct sshx_key *again = NULL;
	const uint8_t *blob;
	size_t bloblen;
	char fp[SSHX_FP_LEN];

	blob = sshx_key_blob(key, &bloblen);
	if (p != NULL && (bloblen != len || memcmp(blob, p, len) != 0))
		abort();
	if (sshx_key_from_blob(blob, bloblen, &again) != 0 ||
	    !sshx_key_equal_public(key, again) || sshx_key_fingerprint(key, fp) != 0)
		abort();
	sshx_key_free(again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sshx_key *key = NULL, *again = NULL;
	struct sshx_buf *b = NULL, *out = NULL;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		if (sshx_key_from_blob(data + 1, size - 1, &key) == 0)
			check_public(key, data + 1, size - 1);
		sshx_key_free(key);
		return 0;
	}
	if ((b = sshx_buf_from(data + 1, size - 1)) == NULL)
		return 0;
	if (sshx_key_parse_private(b, &key) == 0) {
		check_public(key, NULL, 0);
		if ((out = sshx_buf_new_secure()) == NULL ||
		    sshx_key_put_private(key, out) != 0 ||
		    sshx_key_parse_private(out, &again) != 0 ||
		    !sshx_key_equal_public(key, again))
			abort();
	}
	sshx_key_free(key);
	sshx_key_free(again);
	sshx_buf_free(b);
	sshx_buf_free(out);
	return 0;
}
