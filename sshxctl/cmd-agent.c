/* sshxctl agent ...: talk to a running agent over its socket. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentc.h"
#include "buf.h"
#include "err.h"
#include "pass.h"
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
			/* The keys of a running agent's answer: readers need no special case. */
			printf(",\"running\":false,\"sshx\":null,\"version\":null,"
			    "\"identities\":null,\"locked\":null}\n");
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
		printf("agent: ");
		ctl_status(CTL_TONE_GOOD, "running");
		printf(" at %s (%s%s)\n", path, st.sshx ? "agentd " : "not agentd",
		    st.sshx ? st.version : "");
		printf("identities: %lu\n", st.identities);
		printf("locked: ");
		ctl_status(st.locked < 0 ? CTL_TONE_WARN : st.locked ?
		    CTL_TONE_WARN : CTL_TONE_GOOD, "%s", st.locked < 0 ?
		    "unknown" : st.locked ? "yes" : "no");
		printf("\n");
	}
	ret = EXIT_OK;
 out:
	free(st.version);
	sshx_agentc_close(ac);
	return ret;
}

/* Connects to the agent named by -a or SSH_AUTH_SOCK, printing why not. */
static int
connect_agent(const struct globals *g, const char *what, struct sshx_agentc **acp,
    const char **pathp)
{
	const char *path = g->agent_socket;
	int r;

	*acp = NULL;
	if (path == NULL && (path = getenv("SSH_AUTH_SOCK")) == NULL) {
		ctl_error(what, "SSH_AUTH_SOCK is not set and no -a SOCKET was given");
		return EXIT_USAGE;
	}
	*pathp = path;
	if ((r = sshx_agentc_connect(path, acp)) != 0) {
		ctl_error(what, "no agent answers at %s: %s", path,
		    r == SSHX_ERR_CONNECT ? strerror(errno) : sshx_strerror(r));
		return EXIT_NO;
	}
	return 0;
}

/* Sends LOCK or UNLOCK with the passphrase; returns an exit code. */
static int
lock_request(const struct globals *g, const char *what, int unlock,
    struct sshx_buf *pass)
{
	struct sshx_agentc *ac = NULL;
	struct sshx_buf *req = NULL, *reply = NULL;
	const char *path;
	uint8_t type;
	int r, ret;

	if ((ret = connect_agent(g, what, &ac, &path)) != 0)
		return ret;
	ret = EXIT_RUNTIME;
	if ((req = sshx_buf_new_secure()) == NULL || (reply = sshx_buf_new()) == NULL ||
	    sshx_buf_put_u8(req, unlock ? SSH_AGENTC_UNLOCK : SSH_AGENTC_LOCK) != 0 ||
	    sshx_buf_put_stringb(req, pass) != 0)
		goto out;
	if ((r = sshx_agentc_request(ac, req, reply)) != 0 ||
	    (r = sshx_buf_get_u8(reply, &type)) != 0) {
		ctl_error(what, "%s", sshx_strerror(r));
		goto out;
	}
	if (type != SSH_AGENT_SUCCESS) {
		ctl_error(what, unlock ? "the agent stays locked: wrong passphrase, "
		    "or it was not locked" : "the agent refused: it is already locked");
		ret = EXIT_NO;
		goto out;
	}
	printf("agent at %s %s\n", path, unlock ? "unlocked" : "locked");
	ret = EXIT_OK;
 out:
	sshx_buf_free(req);
	sshx_buf_free(reply);
	sshx_agentc_close(ac);
	return ret;
}

static int
agent_lock_main(int argc, char **argv, const struct globals *g)
{
	struct sshx_buf *pass = NULL;
	char why[512] = "";
	int r, ret;

	if (argc != 1) {
		ctl_error("agent lock", "unexpected argument \"%s\"", argv[1]);
		return EXIT_USAGE;
	}
	if (g->passphrase_file != NULL)
		r = sshx_pass_from_file(g->passphrase_file, &pass, why, sizeof(why));
	else
		r = sshx_pass_prompt("Lock passphrase: ", 1, &pass, why, sizeof(why));
	if (r != 0) {
		ctl_error("agent lock", "%s", why[0] ? why : sshx_strerror(r));
		return ctl_exit_code(r);
	}
	ret = lock_request(g, "agent lock", 0, pass);
	sshx_buf_free(pass);
	return ret;
}

static int
agent_unlock_main(int argc, char **argv, const struct globals *g)
{
	struct sshx_buf *pass = NULL;
	char path[PATH_MAX];
	int r, ret;

	if (argc != 1) {
		ctl_error("agent unlock", "unexpected argument \"%s\"", argv[1]);
		return EXIT_USAGE;
	}
	/* The keyring's passphrase (a started-locked agent) may be remembered. */
	if ((r = ctl_passphrase(g, "agent unlock", ctl_keyring_path(g, path,
	    sizeof(path)) == 0 ? path : NULL, 0, &pass)) != 0)
		return ctl_exit_code(r);
	ret = lock_request(g, "agent unlock", 1, pass);
	sshx_buf_free(pass);
	return ret;
}

static int
agent_reload_main(int argc, char **argv, const struct globals *g)
{
	struct sshx_agentc *ac = NULL;
	struct sshx_buf *reply = NULL;
	const char *path;
	uint8_t type;
	int r, ret;

	if (argc != 1) {
		ctl_error("agent reload", "unexpected argument \"%s\"", argv[1]);
		return EXIT_USAGE;
	}
	if ((ret = connect_agent(g, "agent reload", &ac, &path)) != 0)
		return ret;
	ret = EXIT_RUNTIME;
	if ((reply = sshx_buf_new()) == NULL)
		goto out;
	if ((r = sshx_agentc_extension(ac, "reload@sshx", NULL, &type, reply)) != 0) {
		ctl_error("agent reload", "%s", sshx_strerror(r));
		goto out;
	}
	if (type != SSH_AGENT_SUCCESS) {
		ctl_error("agent reload", "the agent did not reload: its keyring is "
		    "locked or absent, or it is not agentd (its log says which)");
		ret = EXIT_NO;
		goto out;
	}
	printf("agent at %s reloaded its keyring\n", path);
	ret = EXIT_OK;
 out:
	sshx_buf_free(reply);
	sshx_agentc_close(ac);
	return ret;
}

const struct command agent_commands[] = {
	{ "status", agent_status_main, "[--json]",
	    "whether an agent answers on SSH_AUTH_SOCK (or -a), how many keys "
	    "it lists, and whether it is locked" },
	{ "lock", agent_lock_main, "",
	    "lock the agent as ssh-add -x does: every key is sealed and wiped" },
	{ "unlock", agent_unlock_main, "",
	    "unlock the agent (the lock passphrase, or the keyring's for an "
	    "agent that started locked)" },
	{ "reload", agent_reload_main, "", "have agentd re-read its keyring now" },
	{ NULL, NULL, NULL, NULL },
};
