#include "config.h"

#include <sys/resource.h>

#include <string.h>
#include <unistd.h>

#include <gcrypt.h>

#include "buf.h"
#include "crypto.h"
#include "err.h"
#include "secmem.h"

static size_t secmem_size;

/*
 * Returns the pool size that can be locked: the soft RLIMIT_MEMLOCK is
 * raised towards want (up to the hard limit); a limit under
 * SSHX_SECMEM_MIN leaves SSHX_SECMEM_MIN (libgcrypt then warns that it
 * cannot lock it).
 */
static size_t
lockable(size_t want)
{
	struct rlimit rl;
	size_t page = (size_t)sysconf(_SC_PAGESIZE), n;

	if (getrlimit(RLIMIT_MEMLOCK, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur >= want)
		return want;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ?
	    want : rl.rlim_max;
	(void)setrlimit(RLIMIT_MEMLOCK, &rl);
	if (getrlimit(RLIMIT_MEMLOCK, &rl) != 0 || rl.rlim_cur >= want)
		return want;
	n = (size_t)rl.rlim_cur / page * page;
	return n < SSHX_SECMEM_MIN ? SSHX_SECMEM_MIN : n;
}

size_t
sshx_crypto_secmem_size(void)
{
	return secmem_size;
}

/*
 * Secure memory is sshx's own pool (secmem.c), whose allocations take
 * constant time; libgcrypt's pool walks every block it holds on each
 * allocation and free. In FIPS mode libgcrypt forbids outside allocators,
 * so its own pool is used there.
 */
int
sshx_crypto_secmem_locked(void)
{
	/* Under FIPS mode libgcrypt's own pool warns by itself. */
	return secmem_size == 0 || gcry_fips_mode_active() || sshx_secmem_locked();
}

int
sshx_crypto_init(size_t secmem)
{
	if (gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P))
		return 0;
	if (gcry_check_version("1.10.0") == NULL)
		return SSHX_ERR_CRYPTO;
	secmem = lockable(secmem);
	if (!gcry_fips_mode_active()) {
		if (sshx_secmem_init(secmem) != 0)
			return SSHX_ERR_CRYPTO;
		sshx_secmem_install_gcrypt();
		secmem = sshx_secmem_size();
	} else {
		gcry_control(GCRYCTL_SUSPEND_SECMEM_WARN);
		if (gcry_control(GCRYCTL_INIT_SECMEM, secmem, 0) != 0)
			return SSHX_ERR_CRYPTO;
		gcry_control(GCRYCTL_RESUME_SECMEM_WARN);
	}
	gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
	secmem_size = secmem;
	return 0;
}

int
sshx_crypto_equal(const void *a, const void *b, size_t len)
{
	const volatile unsigned char *x = a, *y = b;
	unsigned char d = 0;
	size_t i;

	for (i = 0; i < len; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

int
sshx_crypto_argon2id(const uint8_t *pass, size_t passlen, const uint8_t *salt,
    size_t saltlen, const struct sshx_argon2_params *p, uint8_t *out,
    size_t outlen)
{
	unsigned long params[4] = { outlen, p->t_cost, p->m_cost_kib,
	    p->parallelism };
	gcry_kdf_hd_t hd = NULL;
	gcry_error_t e;

	if ((e = gcry_kdf_open(&hd, GCRY_KDF_ARGON2, GCRY_KDF_ARGON2ID, params,
	    4, pass, passlen, salt, saltlen, NULL, 0, NULL, 0)) != 0)
		return SSHX_ERR_CRYPTO;
	if ((e = gcry_kdf_compute(hd, NULL)) == 0)
		e = gcry_kdf_final(hd, outlen, out);
	gcry_kdf_close(hd);
	return e ? SSHX_ERR_CRYPTO : 0;
}

/* Opens an AES-256-GCM handle in secure mode with key, iv and aad set. */
static int
gcm_open(gcry_cipher_hd_t *hdp, const uint8_t key[static 32],
    const uint8_t *nonce, const uint8_t *aad, size_t aadlen)
{
	gcry_cipher_hd_t hd;

	*hdp = NULL;
	if (gcry_cipher_open(&hd, GCRY_CIPHER_AES256, GCRY_CIPHER_MODE_GCM,
	    GCRY_CIPHER_SECURE) != 0)
		return SSHX_ERR_CRYPTO;
	if (gcry_cipher_setkey(hd, key, 32) != 0 ||
	    gcry_cipher_setiv(hd, nonce, SSHX_GCM_NONCE_LEN) != 0 ||
	    (aadlen > 0 && gcry_cipher_authenticate(hd, aad, aadlen) != 0)) {
		gcry_cipher_close(hd);
		return SSHX_ERR_CRYPTO;
	}
	*hdp = hd;
	return 0;
}

int
sshx_crypto_seal(const uint8_t key[static 32], const uint8_t *aad,
    size_t aadlen, const uint8_t *plain, size_t len, struct sshx_buf *out)
{
	gcry_cipher_hd_t hd = NULL;
	uint8_t *p;
	size_t start = sshx_buf_len(out);
	int r;

	if ((r = sshx_buf_reserve(out, SSHX_GCM_NONCE_LEN + len +
	    SSHX_GCM_TAG_LEN, &p)) != 0)
		return r;
	gcry_create_nonce(p, SSHX_GCM_NONCE_LEN);
	if ((r = gcm_open(&hd, key, p, aad, aadlen)) != 0)
		goto fail;
	if (gcry_cipher_final(hd) != 0 ||
	    gcry_cipher_encrypt(hd, p + SSHX_GCM_NONCE_LEN, len, plain, len) != 0 ||
	    gcry_cipher_gettag(hd, p + SSHX_GCM_NONCE_LEN + len,
	    SSHX_GCM_TAG_LEN) != 0) {
		r = SSHX_ERR_CRYPTO;
		goto fail;
	}
	gcry_cipher_close(hd);
	return 0;
 fail:
	gcry_cipher_close(hd);
	sshx_buf_consume_end(out, sshx_buf_len(out) - start);
	return r;
}

int
sshx_crypto_open(const uint8_t key[static 32], const uint8_t *aad,
    size_t aadlen, const uint8_t *sealed, size_t len, struct sshx_buf *out)
{
	gcry_cipher_hd_t hd = NULL;
	size_t n, start = sshx_buf_len(out);
	uint8_t *p;
	int r;

	if (len < SSHX_GCM_NONCE_LEN + SSHX_GCM_TAG_LEN)
		return SSHX_ERR_INVALID_FORMAT;
	n = len - SSHX_GCM_NONCE_LEN - SSHX_GCM_TAG_LEN;
	if ((r = sshx_buf_reserve(out, n, &p)) != 0)
		return r;
	if ((r = gcm_open(&hd, key, sealed, aad, aadlen)) != 0)
		goto fail;
	if (gcry_cipher_final(hd) != 0 ||
	    gcry_cipher_decrypt(hd, p, n, sealed + SSHX_GCM_NONCE_LEN, n) != 0) {
		r = SSHX_ERR_CRYPTO;
		goto fail;
	}
	if (gcry_cipher_checktag(hd, sealed + SSHX_GCM_NONCE_LEN + n,
	    SSHX_GCM_TAG_LEN) != 0) {
		r = SSHX_ERR_SIGNATURE_INVALID;
		goto fail;
	}
	gcry_cipher_close(hd);
	return 0;
 fail:
	gcry_cipher_close(hd);
	explicit_bzero(p, n);
	sshx_buf_consume_end(out, sshx_buf_len(out) - start);
	return r;
}
