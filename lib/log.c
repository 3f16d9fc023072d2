/* Logging: a line is formatted whole, then written with one call. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char *log_progname = "sshx";
static int log_syslog;
static enum sshx_log_level log_level = SSHX_LOG_INFO;

void
sshx_log_init(const char *progname, int to_syslog, enum sshx_log_level level)
{
	if (progname != NULL)
		log_progname = progname;
	log_level = level;
	log_syslog = to_syslog;
	if (to_syslog)
		openlog(log_progname, LOG_PID, LOG_AUTH);
}

void
sshx_log(enum sshx_log_level level, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char msg[1024], line[1200];
	va_list ap;
	size_t i;
	int n;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Keep every record on one line: control characters would forge others. */
	for (i = 0; msg[i] != '\0'; i++)
		if ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f)
			msg[i] = '?';
	if (log_syslog) {
		syslog(prio[level], "%s", msg);
		return;
	}
	n = snprintf(line, sizeof(line), "%s[%ld]: %s: %s\n", log_progname,
	    (long)getpid(), names[level], msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}
