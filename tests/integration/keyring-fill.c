/*
 * Writes a keyring of many keys for test_limits.sh, faster than thousands
 * of sshxctl runs (each would derive the key and rewrite the file):
 *
 *     keyring-fill PATH PASSPHRASE_FILE COUNT
 *
 * COUNT ed25519 keys named fill-1 .. fill-COUNT, under the passphrase in
 * the file with a cheap KDF (t = 1, 8 MiB). Exit status 0, or 1 with the
 * reason on standard error.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "buf.h"
#include "crypto.h"
#include "err.h"
#include "key.h"
#include "keyring.h"
#include "pass.h"

int
main(int argc, char **argv)
{
	struct sshx_kdf_params kdf = { .t_cost = 1, .m_cost_kib = 8192, .parallelism = 1 };
	struct sshx_keyring *kr = NULL;
	struct sshx_buf *pass = NULL;
	struct sshx_key *key;
	char why[512] = "", name[32];
	unsigned long i, n;
	char *end;
	int r;

	if (argc != 4 || (n = strtoul(argv[3], &end, 10)) == 0 || *end != '\0' ||
	    n > SSHX_KEYRING_MAX_KEYS) {
		fprintf(stderr, "usage: keyring-fill PATH PASSPHRASE_FILE COUNT\n");
		return 1;
	}
	if ((r = sshx_crypto_init(SSHX_SECMEM_SIZE)) != 0 ||
	    (r = sshx_pass_from_file(argv[2], &pass, why, sizeof(why))) != 0 ||
	    (r = sshx_keyring_create(sshx_buf_ptr(pass), sshx_buf_len(pass), &kdf,
	    &kr)) != 0)
		goto out;
	for (i = 1; i <= n; i++) {
		snprintf(name, sizeof(name), "fill-%lu", i);
		if ((r = sshx_key_generate(SSHX_KEY_ED25519, 0, &key)) != 0)
			goto out;
		if ((r = sshx_keyring_add(kr, key, name, "")) != 0) {
			sshx_key_free(key);
			goto out;
		}
	}
	r = sshx_keyring_save(kr, argv[1], why, sizeof(why));
 out:
	if (r != 0)
		fprintf(stderr, "keyring-fill: %s\n", why[0] ? why : sshx_strerror(r));
	sshx_keyring_free(kr);
	sshx_buf_free(pass);
	return r == 0 ? 0 : 1;
}
