/* sshxctl agent ...: talk to a running agent over its socket. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentc.h"
#include "buf.h"
#include "err.h"
#include "proto.h"
#include "sshxctl.h"

struct agent_status {
	int sshx;		/* answered status@sshx */
	int locked;		/* -1 unknown */
	unsigned long identities;
	char *version;
};

/* Asks the agent for its status, falling back to a plain listing for other agents. */
static int
query_status(struct sshx_agentc *ac, struct agent_status *st)
{
	struct sshx_buf *reply;
	struct sshx_agentc_id *ids = NULL;
	char *name = NULL;
	size_t n = 0;
	uint32_t count;
	uint8_t type, locked;
	int r;

	memset(st, 0, sizeof(*st));
	st->locked = -1;
	if ((reply = sshx_buf_new()) == NULL)
		return SSHX_ERR_ALLOC;
	if ((r = sshx_agentc_extension(ac, "status@sshx", NULL, &type, reply)) != 0)
		goto out;
	if (type == SSH_AGENT_EXTENSION_RESPONSE) {
		if ((r = sshx_buf_get_cstring(reply, &name, NULL)) != 0 ||
		    (r = sshx_buf_get_u8(reply, &locked)) != 0 ||
		    (r = sshx_buf_get_u32(reply, &count)) != 0 ||
		    (r = sshx_buf_get_cstring(reply, &st->version, NULL)) != 0)
			goto out;
		if (strcmp(name, "status@sshx") != 0) {
			r = SSHX_ERR_PROTOCOL;
			goto out;
		}
		st->sshx = 1;
		st->locked = locked != 0;
		st->identities = count;
		r = 0;
		goto out;
	}
	/* Not an sshx agent: count what it lists; lock state is not knowable. */
	if ((r = sshx_agentc_list(ac, &ids, &n)) != 0)
		goto out;
	st->identities = n;
	r = 0;
 out:
	sshx_agentc_free_ids(ids, n);
	free(name);
	sshx_buf_free(reply);
	return r;
}

static int
agent_status_main(int argc, char **argv, const struct globals *g)
{
	struct sshx_agentc *ac = NULL;
	struct agent_status st = { 0 };
	const char *path = g->agent_socket;
	int r, ret = EXIT_RUNTIME;

	if (argc != 1) {
		ctl_error("agent status", "unexpected argument \"%s\"", argv[1]);
		return EXIT_USAGE;
	}
	if (path == NULL && (path = getenv("SSH_AUTH_SOCK")) == NULL) {
		ctl_error("agent status", "SSH_AUTH_SOCK is not set and no -a "
		    "SOCKET was given");
		return EXIT_USAGE;
	}
	if ((r = sshx_agentc_connect(path, &ac)) != 0) {
		int saved = errno;

		if (g->json) {
			printf("{\"socket\":");
			ctl_json_string(stdout, path);
			printf(",\"running\":false}\n");
		}
		errno = saved;
		ctl_error("agent status", "no agent answers at %s: %s", path,
		    r == SSHX_ERR_CONNECT ? strerror(errno) : sshx_strerror(r));
		return EXIT_NO;
	}
	if ((r = query_status(ac, &st)) != 0) {
		ctl_error("agent status", "the agent at %s did not answer "
		    "properly: %s", path, sshx_strerror(r));
		goto out;
	}
	if (g->json) {
		printf("{\"socket\":");
		ctl_json_string(stdout, path);
		printf(",\"running\":true,\"sshx\":%s,\"version\":",
		    st.sshx ? "true" : "false");
		if (st.version != NULL)
			ctl_json_string(stdout, st.version);
		else
			printf("null");
		printf(",\"identities\":%lu,\"locked\":%s}\n", st.identities,
		    st.locked < 0 ? "null" : st.locked ? "true" : "false");
	} else {
		printf("agent: running at %s (%s%s)\n", path,
		    st.sshx ? "agentd " : "not agentd",
		    st.sshx ? st.version : "");
		printf("identities: %lu\n", st.identities);
		printf("locked: %s\n", st.locked < 0 ? "unknown" :
		    st.locked ? "yes" : "no");
	}
	ret = EXIT_OK;
 out:
	free(st.version);
	sshx_agentc_close(ac);
	return ret;
}

const struct command agent_commands[] = {
	{ "status", agent_status_main, "[--json]",
	    "whether an agent answers on SSH_AUTH_SOCK (or -a), how many keys "
	    "it lists, and whether it is locked" },
	{ NULL, NULL, NULL, NULL },
};
