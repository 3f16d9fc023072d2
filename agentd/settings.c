/* The agent's configuration file. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "err.h"
#include "policy.h"
#include "scope.h"
#include "settings.h"

/* Parses yes/no; returns 0 or 1, or -1 when it is neither. */
static int
parse_bool(const char *v)
{
	if (strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0 ||
	    strcmp(v, "1") == 0)
		return 1;
	if (strcasecmp(v, "no") == 0 || strcasecmp(v, "false") == 0 ||
	    strcmp(v, "0") == 0)
		return 0;
	return -1;
}

/* Parses a decimal number in [lo, hi]; returns 0 or -1. */
static int
parse_uint(const char *v, unsigned long lo, unsigned long hi, unsigned long *out)
{
	char *end;
	unsigned long n;

	if (*v < '0' || *v > '9')
		return -1;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < lo || n > hi)
		return -1;
	*out = n;
	return 0;
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
	    e[-1] == '\n'))
		*--e = '\0';
	return s;
}

int
config_load(const char *path, int optional, struct agent_policy *policy,
    char *err, size_t errlen)
{
	char line[CONFIG_MAX_LINE + 2], *k, *v, *eq;
	struct scope_parser sp = { .path = path };
	unsigned long n;
	unsigned int lineno = 0;
	FILE *f;
	int fd, b, sr, r = SSHX_ERR_INVALID_FORMAT;

	err[0] = '\0';
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		if (optional && errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return SSHX_ERR_SYSTEM;
	}
	if ((f = fdopen(fd, "r")) == NULL) {
		close(fd);
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return SSHX_ERR_SYSTEM;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			snprintf(err, errlen, "%s:%u: line longer than %d bytes",
			    path, lineno, CONFIG_MAX_LINE);
			goto out;
		}
		k = trim(line);
		if (*k == '\0' || *k == '#')
			continue;
		if (*k == '[') {
			if ((sr = scope_conf_section(policy, &sp, k, lineno, err,
			    errlen)) != 0) {
				r = sr;
				goto out;
			}
			continue;
		}
		if ((eq = strchr(k, '=')) == NULL) {
			snprintf(err, errlen, "%s:%u: expected \"key = value\"",
			    path, lineno);
			goto out;
		}
		*eq = '\0';
		k = trim(k);
		v = trim(eq + 1);
		if (sp.sock != NULL || sp.rule != NULL) {
			/* Inside a section: everything up to the next belongs to it. */
			if ((sr = scope_conf_setting(&sp, k, v, lineno, err,
			    errlen)) != 0) {
				r = sr;
				goto out;
			}
			continue;
		}
		if (strcmp(k, "allow-sha1") == 0) {
			if ((b = parse_bool(v)) < 0)
				goto bad_value;
			policy->allow_sha1 = b;
		} else if (strcmp(k, "min-rsa-bits") == 0) {
			if (parse_uint(v, POLICY_FLOOR_MIN_RSA_BITS, 16384, &n) != 0)
				goto bad_value;
			policy->min_rsa_bits = (unsigned int)n;
		} else if (strcmp(k, "lifetime") == 0) {
			if (parse_uint(v, 0, UINT32_MAX, &n) != 0)
				goto bad_value;
			policy->default_lifetime = (uint32_t)n;
		} else if (strcmp(k, "askpass-timeout") == 0) {
			if (parse_uint(v, 1, 3600, &n) != 0)
				goto bad_value;
			policy->askpass_timeout = (uint32_t)n;
		} else if (strcmp(k, "forwarding") == 0) {
			if ((b = scope_parse_fwd(v)) < 0)
				goto bad_value;
			policy->forwarding = b;
		} else {
			snprintf(err, errlen, "%s:%u: unknown setting \"%.64s\"",
			    path, lineno, k);
			goto out;
		}
		continue;
 bad_value:
		snprintf(err, errlen, "%s:%u: bad value for %s: \"%.64s\"",
		    path, lineno, k, v);
		goto out;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		r = SSHX_ERR_SYSTEM;
		goto out;
	}
	r = scope_conf_end(&sp, err, errlen);
 out:
	explicit_bzero(line, sizeof(line));
	fclose(f);
	return r;
}
