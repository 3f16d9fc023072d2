/*
 * Progress of long sshxctl operations on stderr: a counter redrawn in place
 * while stderr is a terminal, nothing at all when it is a file or a pipe, so
 * that scripts and logs see exactly what they saw before.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "keyring.h"
#include "sshxctl.h"

/* Least time between two redraws: ten a second are enough for an eye. */
#define REDRAW_NS	100000000LL

/*
 * One operation at a time shows progress, so the state is the module's own:
 * ctl_error can then clear a drawn line before its message without every
 * caller having to pass the progress along.
 */
static struct {
	int on;			/* drawing to a terminal */
	int drawn;		/* a progress line is on the screen */
	const char *what;
	unsigned long total;	/* 0 when unknown */
	unsigned long n;
	int64_t next_ns;	/* earliest monotonic time of the next redraw */
	int64_t kdf_start_ns;	/* when the derivation note was printed, or 0 */
} prog;

/* Returns the monotonic clock in nanoseconds. */
static int64_t
now_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Returns 1 when progress may be shown: stderr is a terminal and --quiet is off. */
static int
wanted(const struct globals *g)
{
	int e = errno, r;

	/* isatty sets errno (ENOTTY) when it says no; callers' errno stays theirs. */
	r = !g->quiet && isatty(STDERR_FILENO);
	errno = e;
	return r;
}

/* Writes the whole line at once, so that it never reaches the screen in pieces. */
static void
draw(void)
{
	char line[256];
	unsigned long pct;

	if (prog.total > 0) {
		pct = prog.n >= prog.total ? 100 :
		    (unsigned long)((unsigned long long)prog.n * 100 / prog.total);
		snprintf(line, sizeof(line), "\r%s: %lu/%lu (%lu%%)\033[K", prog.what,
		    prog.n, prog.total, pct);
	} else
		snprintf(line, sizeof(line), "\r%s: %lu\033[K", prog.what, prog.n);
	fputs(line, stderr);
	fflush(stderr);
	prog.drawn = 1;
}

void
ctl_progress_start(const struct globals *g, const char *what, unsigned long total)
{
	memset(&prog, 0, sizeof(prog));
	if (!wanted(g))
		return;
	prog.on = 1;
	prog.what = what;
	prog.total = total;
	draw();
	prog.next_ns = now_ns() + REDRAW_NS;
}

void
ctl_progress_step(unsigned long n)
{
	int64_t t;

	if (!prog.on)
		return;
	prog.n += n;
	if ((t = now_ns()) < prog.next_ns)
		return;
	draw();
	prog.next_ns = t + REDRAW_NS;
}

void
ctl_progress_clear(void)
{
	if (!prog.drawn)
		return;
	fputs("\r\033[K", stderr);
	fflush(stderr);
	prog.drawn = 0;
	/* The next step draws again at once, under the message just printed. */
	prog.next_ns = 0;
}

void
ctl_progress_done(void)
{
	if (prog.on) {
		/* The final count is drawn, then the line is handed back empty. */
		draw();
		ctl_progress_clear();
	}
	memset(&prog, 0, sizeof(prog));
}

void
ctl_progress_kdf_begin(const struct globals *g, const struct sshx_kdf_params *kdf)
{
	prog.kdf_start_ns = 0;
	if (!wanted(g))
		return;
	fprintf(stderr, "deriving the keyring key (argon2id, %lu MiB, t=%lu)...",
	    (unsigned long)(kdf->m_cost_kib / 1024), (unsigned long)kdf->t_cost);
	fflush(stderr);
	prog.kdf_start_ns = now_ns();
	if (prog.kdf_start_ns == 0)
		prog.kdf_start_ns = 1;
}

void
ctl_progress_kdf_end(int ok)
{
	int64_t ms;

	if (prog.kdf_start_ns == 0)
		return;
	ms = (now_ns() - prog.kdf_start_ns) / 1000000;
	if (ms < 0)
		ms = 0;
	fprintf(stderr, " %s in %lld.%lld s\n", ok ? "done" : "failed",
	    (long long)(ms / 1000), (long long)(ms % 1000 / 100));
	prog.kdf_start_ns = 0;
}
