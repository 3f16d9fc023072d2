/* Logging to stderr or syslog, one line per call, safe from several threads. */
#ifndef SSHX_LOG_H
#define SSHX_LOG_H

enum sshx_log_level {
	SSHX_LOG_ERROR = 0,
	SSHX_LOG_WARN,
	SSHX_LOG_INFO,
	SSHX_LOG_DEBUG,
};

/* Sets the program name, the destination (syslog when to_syslog) and the most verbose level shown. */
void sshx_log_init(const char *progname, int to_syslog, enum sshx_log_level level);
/* Logs one line at the given level; never pass a secret. */
void sshx_log(enum sshx_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define sshx_log_error(...)	sshx_log(SSHX_LOG_ERROR, __VA_ARGS__)
#define sshx_log_warn(...)	sshx_log(SSHX_LOG_WARN, __VA_ARGS__)
#define sshx_log_info(...)	sshx_log(SSHX_LOG_INFO, __VA_ARGS__)
#define sshx_log_debug(...)	sshx_log(SSHX_LOG_DEBUG, __VA_ARGS__)

#endif
