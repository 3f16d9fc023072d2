/*
 * A length-checked wire buffer for the SSH data types (RFC 4251 section 5).
 * Every getter returns 0 or a negative SSHX_ERR_* code, clears its
 * out-parameters first and consumes nothing when it fails.
 */
#ifndef SSHX_BUF_H
#define SSHX_BUF_H

#include <stddef.h>
#include <stdint.h>

struct sshx_buf;

/* Hard ceiling for any buffer and any string inside one. */
#define SSHX_BUF_SIZE_MAX	(16U * 1024 * 1024)
/* Largest mpint accepted, in bytes (16384-bit RSA plus a sign byte). */
#define SSHX_BIGNUM_BYTES_MAX	(16384 / 8 + 1)

/* Returns a new, empty buffer, or NULL when out of memory. */
struct sshx_buf *sshx_buf_new(void);
/* Returns a new buffer whose storage lives in libgcrypt secure memory, or NULL. */
struct sshx_buf *sshx_buf_new_secure(void);
/* Returns a read-only buffer over [p, p+len) (no copy; p must outlive it), or NULL. */
struct sshx_buf *sshx_buf_from(const void *p, size_t len);
/* Wipes and frees the buffer; NULL is allowed. */
void sshx_buf_free(struct sshx_buf *b);
/* Wipes the contents and empties the buffer (not for read-only buffers). */
void sshx_buf_reset(struct sshx_buf *b);
/* Sets the maximum size the buffer may grow to; 0 or an error if already larger. */
int sshx_buf_set_max(struct sshx_buf *b, size_t max);
/* Returns the number of unread bytes. */
size_t sshx_buf_len(const struct sshx_buf *b);
/* Returns how many more bytes may be appended before the maximum is reached. */
size_t sshx_buf_avail(const struct sshx_buf *b);
/* Returns a pointer to the unread bytes (valid until the next modification). */
const uint8_t *sshx_buf_ptr(const struct sshx_buf *b);
/* Returns a writable pointer to the unread bytes, or NULL for read-only buffers. */
uint8_t *sshx_buf_mutable_ptr(struct sshx_buf *b);

/* Discards len bytes from the front; SSHX_ERR_INCOMPLETE when fewer are there. */
int sshx_buf_consume(struct sshx_buf *b, size_t len);
/* Discards len bytes from the end. */
int sshx_buf_consume_end(struct sshx_buf *b, size_t len);
/* Makes room for len bytes at the end and returns a pointer to them in *dpp. */
int sshx_buf_reserve(struct sshx_buf *b, size_t len, uint8_t **dpp);

int sshx_buf_put(struct sshx_buf *b, const void *v, size_t len);
int sshx_buf_put_u8(struct sshx_buf *b, uint8_t v);
int sshx_buf_put_u32(struct sshx_buf *b, uint32_t v);
int sshx_buf_put_u64(struct sshx_buf *b, uint64_t v);
/* Appends a uint32 length followed by the bytes. */
int sshx_buf_put_string(struct sshx_buf *b, const void *v, size_t len);
int sshx_buf_put_cstring(struct sshx_buf *b, const char *s);
/* Appends the unread contents of v as one string. */
int sshx_buf_put_stringb(struct sshx_buf *b, const struct sshx_buf *v);
/* Appends an unsigned big-endian integer as an mpint (minimal, positive). */
int sshx_buf_put_bignum2_bytes(struct sshx_buf *b, const void *v, size_t len);

int sshx_buf_get_u8(struct sshx_buf *b, uint8_t *valp);
int sshx_buf_get_u32(struct sshx_buf *b, uint32_t *valp);
int sshx_buf_get_u64(struct sshx_buf *b, uint64_t *valp);
/* Reads a string without copying: *valp points into b until b changes. */
int sshx_buf_get_string_direct(struct sshx_buf *b, const uint8_t **valp, size_t *lenp);
/* Like get_string_direct, but consumes nothing. */
int sshx_buf_peek_string_direct(const struct sshx_buf *b, const uint8_t **valp, size_t *lenp);
/* Reads a string into a new, NUL-terminated allocation the caller frees (may be NULL). */
int sshx_buf_get_string(struct sshx_buf *b, uint8_t **valp, size_t *lenp);
/* Reads a string that must not contain NUL bytes; the caller frees *valp. */
int sshx_buf_get_cstring(struct sshx_buf *b, char **valp, size_t *lenp);
/* Reads a string into a new buffer (secure when b is secure); the caller frees it. */
int sshx_buf_froms(struct sshx_buf *b, struct sshx_buf **bufp);
/*
 * Reads an mpint that must be non-negative and minimally encoded; returns its
 * magnitude without the leading zero byte, pointing into b.
 */
int sshx_buf_get_bignum2_bytes_direct(struct sshx_buf *b, const uint8_t **valp, size_t *lenp);

/* Returns 1 if the buffer's storage is in secure memory. */
int sshx_buf_is_secure(const struct sshx_buf *b);

#endif
