/* ssh-agent protocol numbers and limits (RFC 9987, OpenSSH PROTOCOL.agent). */
#ifndef SSHX_PROTO_H
#define SSHX_PROTO_H

#define SSH_AGENT_FAILURE			5
#define SSH_AGENT_SUCCESS			6
#define SSH_AGENTC_REQUEST_IDENTITIES		11
#define SSH_AGENT_IDENTITIES_ANSWER		12
#define SSH_AGENTC_SIGN_REQUEST			13
#define SSH_AGENT_SIGN_RESPONSE			14
#define SSH_AGENTC_ADD_IDENTITY			17
#define SSH_AGENTC_REMOVE_IDENTITY		18
#define SSH_AGENTC_REMOVE_ALL_IDENTITIES	19
#define SSH_AGENTC_ADD_SMARTCARD_KEY		20
#define SSH_AGENTC_REMOVE_SMARTCARD_KEY		21
#define SSH_AGENTC_LOCK				22
#define SSH_AGENTC_UNLOCK			23
#define SSH_AGENTC_ADD_ID_CONSTRAINED		25
#define SSH_AGENTC_ADD_SMARTCARD_KEY_CONSTRAINED 26
#define SSH_AGENTC_EXTENSION			27
#define SSH_AGENT_EXTENSION_FAILURE		28
#define SSH_AGENT_EXTENSION_RESPONSE		29

#define SSH_AGENT_CONSTRAIN_LIFETIME		1
#define SSH_AGENT_CONSTRAIN_CONFIRM		2
#define SSH_AGENT_CONSTRAIN_EXTENSION		255

#define SSH_AGENT_RSA_SHA2_256			0x02
#define SSH_AGENT_RSA_SHA2_512			0x04

/* Largest frame (length field value) accepted in either direction. */
#define SSHX_AGENT_MAX_FRAME			(256 * 1024)
/* Most identities the agent holds; adds beyond it are refused. */
#define SSHX_AGENT_MAX_IDENTITIES		10000
/*
 * Most identities in one list reply: OpenSSH's clients (ssh, ssh-add,
 * ssh-keygen -Y) reject a longer list as "invalid format" and then use no
 * key at all, so a longer list is cut here and the rest stays usable for
 * signing by blob and through scoped sockets.
 */
#define SSHX_AGENT_MAX_LISTED			2048
/* Most session-bind records kept per connection (as OpenSSH). */
#define SSHX_AGENT_MAX_BINDS			16
/* Most constraints accepted in one add. */
#define SSHX_AGENT_MAX_CONSTRAINTS		16
/* Longest key comment accepted, in bytes. */
#define SSHX_AGENT_MAX_COMMENT			4096
/* Longest extension name accepted, in bytes. */
#define SSHX_AGENT_MAX_EXT_NAME			256

#define SSHX_EXT_QUERY				"query"
#define SSHX_EXT_SESSION_BIND			"session-bind@openssh.com"
#define SSHX_EXT_RESTRICT_DEST			"restrict-destination-v00@openssh.com"

#endif
