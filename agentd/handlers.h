/* Handlers and helpers shared by the dispatch files; loop-thread only. */
#ifndef AGENTD_HANDLERS_H
#define AGENTD_HANDLERS_H

#include <stdint.h>

#include "key.h"

struct agent;
struct conn;
struct sshx_buf;

/* Appends a one-byte reply, or marks the connection dead when that fails. */
void send_status(struct conn *c, uint8_t type);
/* Appends a reply message as one frame, or marks the connection dead. */
void send_msg(struct conn *c, struct sshx_buf *msg);
/* Formats a key's fingerprint for log lines. */
const char *fp_of(const struct sshx_key *key, char out[static SSHX_FP_LEN]);
/* Ends a job's hold on its connection: frees it if it died, or carries on with its input. */
void job_release_conn(struct agent *ag, struct conn *c);

void process_sign_request(struct agent *ag, struct conn *c, struct sshx_buf *m);
void process_lock(struct agent *ag, struct conn *c, struct sshx_buf *m, int unlock);
void process_extension(struct agent *ag, struct conn *c, struct sshx_buf *m);

#endif
