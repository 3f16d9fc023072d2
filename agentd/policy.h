/* What the agent refuses by default, and the knobs that relax it. */
#ifndef AGENTD_POLICY_H
#define AGENTD_POLICY_H

#include <stdint.h>

struct scope_conf;

struct agent_policy {
	int allow_sha1;			/* sign "ssh-rsa" (SHA-1) when asked */
	unsigned int min_rsa_bits;	/* smallest RSA modulus accepted */
	uint32_t default_lifetime;	/* seconds, 0 = keys live until removed */
	char *askpass;			/* program for confirm prompts, NULL = none */
	uint32_t askpass_timeout;	/* seconds before a prompt counts as "no" */
	int forwarding;			/* enum fwd_policy of keys without a [key] section */
	struct scope_conf *scopes;	/* [key] and [socket] sections, or NULL */
};

#define POLICY_DEFAULT_MIN_RSA_BITS	2048
#define POLICY_FLOOR_MIN_RSA_BITS	1024
#define POLICY_DEFAULT_ASKPASS_TIMEOUT	60

#endif
