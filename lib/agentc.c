/* ssh-agent client side: blocking I/O on a unix socket, bounded frames. */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agentc.h"
#include "buf.h"
#include "err.h"
#include "proto.h"

/* Most identities a listing may carry before the client gives up on it. */
#define AGENTC_MAX_IDS	(SSHX_AGENT_MAX_IDENTITIES * 2)

struct sshx_agentc {
	int fd;
};

int
sshx_agentc_connect(const char *path, struct sshx_agentc **acp)
{
	struct sockaddr_un sun;
	struct sshx_agentc *ac;
	int fd;

	*acp = NULL;
	if (path == NULL && (path = getenv("SSH_AUTH_SOCK")) == NULL)
		return SSHX_ERR_NOT_FOUND;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (*path == '\0' || strlen(path) >= sizeof(sun.sun_path))
		return SSHX_ERR_INVALID_ARGUMENT;
	memcpy(sun.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return SSHX_ERR_SYSTEM;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		int saved = errno;

		close(fd);
		errno = saved;
		return SSHX_ERR_CONNECT;
	}
	if ((ac = calloc(1, sizeof(*ac))) == NULL) {
		close(fd);
		return SSHX_ERR_ALLOC;
	}
	ac->fd = fd;
	*acp = ac;
	return 0;
}

void
sshx_agentc_close(struct sshx_agentc *ac)
{
	if (ac == NULL)
		return;
	close(ac->fd);
	free(ac);
}

static int
write_all(int fd, const uint8_t *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? SSHX_ERR_EOF : SSHX_ERR_SYSTEM;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
read_all(int fd, uint8_t *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = read(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? SSHX_ERR_EOF : SSHX_ERR_SYSTEM;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
sshx_agentc_request(struct sshx_agentc *ac, const struct sshx_buf *req,
    struct sshx_buf *reply)
{
	uint8_t hdr[4], *p;
	size_t len = sshx_buf_len(req);
	uint32_t rlen;
	int r;

	sshx_buf_reset(reply);
	if (len == 0 || len > SSHX_AGENT_MAX_FRAME)
		return SSHX_ERR_INVALID_ARGUMENT;
	hdr[0] = (uint8_t)(len >> 24);
	hdr[1] = (uint8_t)(len >> 16);
	hdr[2] = (uint8_t)(len >> 8);
	hdr[3] = (uint8_t)len;
	if ((r = write_all(ac->fd, hdr, 4)) != 0 ||
	    (r = write_all(ac->fd, sshx_buf_ptr(req), len)) != 0 ||
	    (r = read_all(ac->fd, hdr, 4)) != 0)
		return r;
	rlen = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	    (uint32_t)hdr[2] << 8 | hdr[3];
	if (rlen == 0 || rlen > SSHX_AGENT_MAX_FRAME)
		return SSHX_ERR_PROTOCOL;
	if ((r = sshx_buf_reserve(reply, rlen, &p)) != 0)
		return r;
	return read_all(ac->fd, p, rlen);
}

void
sshx_agentc_free_ids(struct sshx_agentc_id *ids, size_t n)
{
	size_t i;

	if (ids == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(ids[i].blob);
		free(ids[i].comment);
	}
	free(ids);
}

int
sshx_agentc_list(struct sshx_agentc *ac, struct sshx_agentc_id **idsp, size_t *np)
{
	struct sshx_buf *req = NULL, *reply = NULL;
	struct sshx_agentc_id *ids = NULL;
	uint32_t count = 0, i;
	uint8_t type;
	int r = SSHX_ERR_ALLOC;

	*idsp = NULL;
	*np = 0;
	if ((req = sshx_buf_new()) == NULL || (reply = sshx_buf_new()) == NULL)
		goto out;
	if ((r = sshx_buf_put_u8(req, SSH_AGENTC_REQUEST_IDENTITIES)) != 0 ||
	    (r = sshx_agentc_request(ac, req, reply)) != 0 ||
	    (r = sshx_buf_get_u8(reply, &type)) != 0)
		goto out;
	if (type == SSH_AGENT_FAILURE) {
		r = SSHX_ERR_AGENT_FAILURE;
		goto out;
	}
	if (type != SSH_AGENT_IDENTITIES_ANSWER ||
	    (r = sshx_buf_get_u32(reply, &count)) != 0) {
		r = SSHX_ERR_PROTOCOL;
		goto out;
	}
	if (count > AGENTC_MAX_IDS) {
		r = SSHX_ERR_LIMIT;
		goto out;
	}
	if (count > 0 && (ids = calloc(count, sizeof(*ids))) == NULL) {
		r = SSHX_ERR_ALLOC;
		goto out;
	}
	for (i = 0; i < count; i++) {
		if ((r = sshx_buf_get_string(reply, &ids[i].blob,
		    &ids[i].bloblen)) != 0 ||
		    (r = sshx_buf_get_cstring(reply, &ids[i].comment, NULL)) != 0)
			goto out;
	}
	if (sshx_buf_len(reply) != 0) {
		r = SSHX_ERR_PROTOCOL;
		goto out;
	}
	*idsp = ids;
	*np = count;
	ids = NULL;	/* transferred */
	r = 0;
 out:
	sshx_agentc_free_ids(ids, count);
	sshx_buf_free(req);
	sshx_buf_free(reply);
	return r;
}

int
sshx_agentc_extension(struct sshx_agentc *ac, const char *name,
    const struct sshx_buf *body, uint8_t *typep, struct sshx_buf *reply)
{
	struct sshx_buf *req;
	int r;

	*typep = 0;
	if ((req = sshx_buf_new()) == NULL)
		return SSHX_ERR_ALLOC;
	if ((r = sshx_buf_put_u8(req, SSH_AGENTC_EXTENSION)) != 0 ||
	    (r = sshx_buf_put_cstring(req, name)) != 0 ||
	    (body != NULL && (r = sshx_buf_put(req, sshx_buf_ptr(body),
	    sshx_buf_len(body))) != 0) ||
	    (r = sshx_agentc_request(ac, req, reply)) != 0 ||
	    (r = sshx_buf_get_u8(reply, typep)) != 0)
		goto out;
	r = 0;
 out:
	sshx_buf_free(req);
	return r;
}
