/* A small ssh-agent client: connect, send one request, read one reply. */
#ifndef SSHX_AGENTC_H
#define SSHX_AGENTC_H

#include <stddef.h>
#include <stdint.h>

struct sshx_buf;
struct sshx_agentc;

/* One identity as listed by the agent. */
struct sshx_agentc_id {
	uint8_t *blob;
	size_t bloblen;
	char *comment;
};

/* Connects to path (SSH_AUTH_SOCK when NULL); *acp owned by the caller. */
int sshx_agentc_connect(const char *path, struct sshx_agentc **acp);
/* Closes the connection; NULL is allowed. */
void sshx_agentc_close(struct sshx_agentc *ac);
/*
 * Sends the message in req (type byte and body, without the length) and reads
 * the reply message into reply (reset first). Fails on frames over the cap.
 */
int sshx_agentc_request(struct sshx_agentc *ac, const struct sshx_buf *req,
    struct sshx_buf *reply);
/* Lists identities; *idsp is an array of *np entries freed with sshx_agentc_free_ids. */
int sshx_agentc_list(struct sshx_agentc *ac, struct sshx_agentc_id **idsp, size_t *np);
void sshx_agentc_free_ids(struct sshx_agentc_id *ids, size_t n);
/* Sends an extension request; the reply's type is in *typep and its body (after the type) in reply. */
int sshx_agentc_extension(struct sshx_agentc *ac, const char *name,
    const struct sshx_buf *body, uint8_t *typep, struct sshx_buf *reply);

#endif
