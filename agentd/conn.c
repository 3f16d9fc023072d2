/* Connection buffers and replies. */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "conn.h"
#include "err.h"
#include "key.h"

struct conn *
conn_new(int fd, uid_t uid, pid_t pid)
{
	static unsigned long serial;
	struct conn *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if ((c->in = sshx_buf_new()) == NULL ||
	    (c->out = sshx_buf_new()) == NULL ||
	    sshx_buf_set_max(c->in, 4 + SSHX_AGENT_MAX_FRAME) != 0) {
		sshx_buf_free(c->in);
		sshx_buf_free(c->out);
		free(c);
		return NULL;
	}
	c->fd = fd;
	c->uid = uid;
	c->pid = pid;
	c->serial = ++serial;
	return c;
}

void
conn_read_exe(struct conn *c)
{
	char proc[64], exe[PATH_MAX];
	ssize_t n;

	if (c->exe != NULL || c->pid <= 0)
		return;
	snprintf(proc, sizeof(proc), "/proc/%ld/exe", (long)c->pid);
	if ((n = readlink(proc, exe, sizeof(exe) - 1)) <= 0)
		return;
	exe[n] = '\0';
	c->exe = strdup(exe);
}

int
conn_forwarded(const struct conn *c)
{
	size_t i;

	if (c->nbinds == 0)
		return -1;
	for (i = 0; i < c->nbinds; i++)
		if (c->binds[i].forwarding)
			return 1;
	return 0;
}

const char *
conn_bound_host(const struct conn *c)
{
	if (c->nbinds == 0 || c->binds[c->nbinds - 1].fp[0] == '\0')
		return NULL;
	return c->binds[c->nbinds - 1].fp;
}

void
conn_free(struct conn *c)
{
	size_t i;

	if (c == NULL)
		return;
	if (c->fd != -1)
		close(c->fd);
	for (i = 0; i < c->nbinds; i++)
		sshx_key_free(c->binds[i].hostkey);
	sshx_buf_free(c->in);
	sshx_buf_free(c->out);
	sshx_buf_free(c->held);
	free(c->exe);
	free(c);
}

int
conn_busy(const struct conn *c)
{
	return c->job || c->held != NULL;
}

int
conn_send(struct conn *c, const struct sshx_buf *msg)
{
	size_t len = sshx_buf_len(msg);
	int r;

	if (len == 0 || len > SSHX_AGENT_MAX_FRAME)
		return SSHX_ERR_INVALID_ARGUMENT;
	if ((r = sshx_buf_put_u32(c->out, (uint32_t)len)) != 0 ||
	    (r = sshx_buf_put(c->out, sshx_buf_ptr(msg), len)) != 0)
		return r;
	return 0;
}

int
conn_send_status(struct conn *c, uint8_t type)
{
	int r;

	if ((r = sshx_buf_put_u32(c->out, 1)) != 0 ||
	    (r = sshx_buf_put_u8(c->out, type)) != 0)
		return r;
	return 0;
}
