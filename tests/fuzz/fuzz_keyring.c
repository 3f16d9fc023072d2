/*
 * The keyring file reader: the header checks that run before the KDF
 * (first byte even) and the record parser that runs on the decrypted body
 * (first byte odd). The KDF and AES-GCM in between are not fuzzable: any
 * change to the ciphertext fails the tag.
 */
#include "config.h"

#include "keyring.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	(void)sshx_keyring_parse_untrusted(data + 1, size - 1, data[0] & 1);
	return 0;
}
