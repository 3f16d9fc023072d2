/* sshxctl log: the audit trail of the host database, filtered and printed. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "store.h"
#include "sshxctl.h"

struct log_ctx {
	const struct globals *g;
	const char *host;	/* NULL: every host */
	unsigned long n;
};

/*
 * Parses WHEN: a duration back from now ("90s", "30m", "12h", "7d", "2w"),
 * a UTC date ("2026-11-27") or time ("2026-11-27T10:00:00Z"), or "@SECONDS".
 * Returns 0 with the time in *tp, or -1.
 */
static int
parse_when(const char *s, time_t now, int64_t *tp)
{
	struct tm tm;
	const char *end;
	char *e;
	unsigned long long n;
	int64_t ago;

	if (*s == '@') {
		errno = 0;
		n = strtoull(s + 1, &e, 10);
		if (s[1] < '0' || s[1] > '9' || errno != 0 || *e != '\0' ||
		    n > (unsigned long long)INT64_MAX)
			return -1;
		*tp = (int64_t)n;
		return 0;
	}
	if (*s >= '0' && *s <= '9' && strchr(s, '-') == NULL) {
		if (ctl_parse_duration(s, &ago) != 0 || ago > (int64_t)now)
			return -1;
		*tp = (int64_t)now - ago;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%d", &tm)) == NULL)
		return -1;
	if (*end == 'T' || *end == ' ') {
		if ((end = strptime(end + 1, "%H:%M:%S", &tm)) == NULL)
			return -1;
		if (*end == 'Z')
			end++;
	}
	if (*end != '\0')
		return -1;
	*tp = (int64_t)timegm(&tm);
	return 0;
}

/* Returns 1 when a stored host ("name" or "[name]:port") is NAME. */
static int
host_is(const char *stored, const char *name)
{
	size_t n = strlen(name);

	if (stored == NULL)
		return 0;
	if (strcmp(stored, name) == 0)
		return 1;
	return stored[0] == '[' && strncmp(stored + 1, name, n) == 0 &&
	    stored[1 + n] == ']' && stored[2 + n] == ':';
}

/* Prints a string field of a text line: "-" when absent. */
static const char *
or_dash(const char *s)
{
	return s != NULL ? s : "-";
}

/* Prints ,"name":"value" for a JSON row, or null when the value is absent. */
static void
json_field(const char *name, const char *value)
{
	printf(",\"%s\":", name);
	if (value != NULL)
		ctl_json_string(stdout, value);
	else
		printf("null");
}

/* Appends the agent's facts of a row to a text line, only those it has. */
static void
text_agent_fields(const struct sshx_store_audit_row *row)
{
	if (row->kind != NULL)
		printf(" kind=%s", row->kind);
	if (row->peer_user != NULL)
		printf(" user=%s", row->peer_user);
	if (row->peer_host_key != NULL)
		printf(" host_key=%s", row->peer_host_key);
	if (row->ns != NULL)
		printf(" namespace=%s", row->ns);
	if (row->forwarded >= 0)
		printf(" forwarded=%s", row->forwarded ? "yes" : "no");
	if (row->exe != NULL && strcmp(row->actor, "agentd") == 0)
		printf(" exe=%s", row->exe);
}

/* Prints one audit row. */
static int
log_row_cb(const struct sshx_store_audit_row *row, void *arg)
{
	struct log_ctx *c = arg;
	char when[32];

	if (c->host != NULL && !host_is(row->host, c->host))
		return 0;
	ctl_iso_time(row->time, when);
	if (c->g->json) {
		printf("%s{\"time\":\"%s\",\"actor\":", c->n == 0 ? "" : ",", when);
		ctl_json_string(stdout, row->actor);
		printf(",\"uid\":%lld,\"pid\":%lld", (long long)row->uid,
		    (long long)row->pid);
		json_field("exe", row->exe);
		json_field("action", row->action);
		json_field("host", row->host);
		json_field("fingerprint", row->fingerprint);
		json_field("detail", row->detail);
		json_field("result", row->result);
		json_field("kind", row->kind);
		json_field("user", row->peer_user);
		json_field("host_key", row->peer_host_key);
		json_field("namespace", row->ns);
		printf(",\"forwarded\":%s}", row->forwarded < 0 ? "null" :
		    row->forwarded ? "true" : "false");
	} else {
		printf("%s %s uid=%lld pid=%lld %s %s %s %s", when, row->actor,
		    (long long)row->uid, (long long)row->pid, row->action,
		    or_dash(row->host), or_dash(row->fingerprint), row->result);
		text_agent_fields(row);
		printf(": %s\n", or_dash(row->detail));
	}
	c->n++;
	return 0;
}

/* Sets how long audit rows are kept, as an audited change of its own. */
static int
set_retention(struct sshx_store *s, const char *what, int64_t seconds)
{
	char detail[96];
	int r;

	if (seconds == 0)
		snprintf(detail, sizeof(detail), "audit rows are kept forever");
	else
		snprintf(detail, sizeof(detail), "audit rows older than %lld days "
		    "(%lld s) are removed", (long long)(seconds / 86400),
		    (long long)seconds);
	if ((r = sshx_store_begin(s)) != 0 ||
	    (r = sshx_store_set_retention(s, seconds)) != 0 ||
	    (r = ctl_audit(s, "log.retention", NULL, NULL, detail)) != 0 ||
	    (r = sshx_store_commit(s)) != 0) {
		sshx_store_rollback(s);
		return ctl_store_error(what, s, r);
	}
	printf("%s\n", detail);
	return EXIT_OK;
}

static int
log_main(int argc, char **argv, const struct globals *g)
{
	static const struct option opts[] = {
		{ "since", required_argument, NULL, 's' },
		{ "key", required_argument, NULL, 'k' },
		{ "host", required_argument, NULL, 'h' },
		{ "retention", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	const char *what = "log", *fp = NULL;
	struct log_ctx c = { .g = g };
	struct sshx_store *s = NULL;
	char path[PATH_MAX];
	int64_t since = 0, retention = -1;
	int ch, r, ret;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			if (parse_when(optarg, time(NULL), &since) != 0) {
				ctl_error(what, "--since: \"%s\" is not a time (7d, 12h, "
				    "30m, 2026-11-27, 2026-11-27T10:00:00Z, @SECONDS)",
				    optarg);
				return EXIT_USAGE;
			}
			break;
		case 'k':
			fp = optarg;
			break;
		case 'h':
			c.host = optarg;
			break;
		case 'r':
			if (ctl_parse_duration(optarg, &retention) != 0) {
				ctl_error(what, "--retention: \"%s\" is not a duration "
				    "(0 keeps everything; 90d, 12w, ...)", optarg);
				return EXIT_USAGE;
			}
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		ctl_error(what, "unexpected argument \"%s\"", argv[optind]);
		return EXIT_USAGE;
	}
	if (c.host != NULL && ctl_host_filter_check(what, c.host) != 0)
		return EXIT_USAGE;
	if ((ret = ctl_store_open(g, what, 0, &s, path, sizeof(path), NULL)) != 0)
		return ret;
	if (retention >= 0) {
		ret = set_retention(s, what, retention);
		goto out;
	}
	if (g->json)
		printf("[");
	if ((r = sshx_store_begin_read(s)) != 0 ||
	    (r = sshx_store_foreach_audit(s, since, fp, log_row_cb, &c)) != 0) {
		if (g->json)
			printf("]\n");
		ret = ctl_store_error(what, s, r);
		goto out;
	}
	if (g->json)
		printf("]\n");
	ret = EXIT_OK;
 out:
	sshx_store_close(s);
	return ret;
}

const struct command log_commands[] = {
	{ "", log_main, "[--since WHEN] [--key FINGERPRINT] [--host NAME] [--json] "
	    "| --retention DURATION",
	    "the audit trail, oldest first; WHEN is 7d, 12h, 30m, 2026-11-27, "
	    "2026-11-27T10:00:00Z or @SECONDS; --retention sets how long rows are "
	    "kept (0: forever)" },
	{ NULL, NULL, NULL, NULL },
};
