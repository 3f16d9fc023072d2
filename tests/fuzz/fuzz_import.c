/*
 * The private key file importer: openssh-key-v1, PEM PKCS#1 / SEC 1 and
 * PKCS#8, as given to sshxctl key import.
 */
#include "config.h"

#include <stdlib.h>

#include "import.h"
#include "key.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sshx_key *key = NULL;
	char *comment = NULL, why[256];
	char fp[SSHX_FP_LEN];

	if (sshx_import_private(data, size, &key, &comment, why,
	    sizeof(why)) == 0) {
		if (key == NULL || comment == NULL || !sshx_key_has_private(key) ||
		    sshx_key_fingerprint(key, fp) != 0)
			abort();
	}
	sshx_key_free(key);
	free(comment);
	return 0;
}
