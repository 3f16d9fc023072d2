/*
 * agentd.conf: "key = value" lines and "#" comments; "[key SELECTOR]" and
 * "[socket NAME]" sections are read by scopeconf.c.
 */
#ifndef AGENTD_SETTINGS_H
#define AGENTD_SETTINGS_H

#include <stddef.h>

struct agent_policy;

/* Longest line accepted in the configuration file. */
#define CONFIG_MAX_LINE	4096

/*
 * Reads the configuration at path into policy. A missing file is not an
 * error when optional is set. On failure, returns a negative SSHX_ERR_* and
 * writes a message naming the file and line into err.
 */
int config_load(const char *path, int optional, struct agent_policy *policy,
    char *err, size_t errlen);

#endif
