/*
 * known_hosts text: entry lines as in a known_hosts file or ssh-keyscan
 * output (with every flag combination), host arguments, and pattern
 * matching. Input: one byte of flags, then the line.
 */
#include "config.h"

#include <string.h>

#include "kh.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sshx_kh_line line;
	struct sshx_kh_host h;
	char why[256], buf[SSHX_KH_HOSTPORT_SIZE], *s, *sep;
	size_t i;

	if (size < 1 || size > SSHX_KH_LINE_MAX + 16)
		return 0;
	memset(&line, 0, sizeof(line));
	if (sshx_kh_parse_line((const char *)data + 1, size - 1, data[0] & 3,
	    &line, why, sizeof(why)) == 0) {
		/* An accepted entry's hosts format and parse back. */
		for (i = 0; i < line.nhosts; i++) {
			if (sshx_kh_format_host(&line.hosts[i], buf) != 0 ||
			    sshx_kh_parse_host_token(buf, strlen(buf), &h, why,
			    sizeof(why)) != 0 || strcmp(h.name, line.hosts[i].name) != 0 ||
			    h.port != line.hosts[i].port)
				abort();
		}
	}
	sshx_kh_line_clear(&line);
	/* The same bytes as a NUL-terminated command-line host and as "patterns\0name". */
	if ((s = malloc(size)) == NULL)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	(void)sshx_kh_parse_host_arg(s, &h, why, sizeof(why));
	if ((sep = memchr(s, '\n', size - 1)) != NULL) {
		*sep = '\0';
		(void)sshx_kh_match_patterns(s, sep + 1, 22 + data[0]);
	}
	free(s);
	return 0;
}
