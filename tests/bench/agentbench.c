/*
 * agentbench: sign throughput and latency of an ssh-agent measured through
 * its socket and, for comparison, two in-process signing rates: sshx's own
 * key code, and libgcrypt's gcry_pk_sign called directly. A benchmark, not a
 * test: it prints one line of figures and fails only when something did not
 * work (an I/O error, a malformed or refused reply, a signature that does not
 * verify).
 *
 *   agentbench sock -a SOCKET -t TYPE -c CONNS -d SECONDS [-w WARMUP] [-s BYTES]
 *   agentbench inproc -t TYPE -d SECONDS [-w WARMUP] [-s BYTES] [-b RSA_BITS]
 *   agentbench gcrypt -t TYPE -d SECONDS [-w WARMUP] [-s BYTES] [-b RSA_BITS]
 *
 * Output: type=T conns=N ops=N secs=S rate=OPS_PER_S p50_us=U p99_us=U errors=N
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/un.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gcrypt.h>

#include "buf.h"
#include "crypto.h"
#include "err.h"
#include "key.h"
#include "proto.h"

/* Bytes signed per request: about the size of a userauth request blob. */
#define DEFAULT_DATA_BYTES	128
#define DEFAULT_WARMUP_SECS	1.0
#define MAX_CONNS		256
/* Every VERIFY_EVERY-th signature of a connection (and its first) is verified. */
#define VERIFY_EVERY		100
/* Most signatures kept for verification per connection. */
#define MAX_SAMPLES		256
/* A reply slower than this means the agent is stuck; the run fails. */
#define IO_TIMEOUT_SECS		30
#define FRAME_HDR		4
#define NS_PER_S		1000000000ULL

/* What every connection of one run does; read-only once the threads start. */
struct run {
	const char *type;		/* key type name asked for */
	const char *sigalg;		/* algorithm name each signature must carry */
	const uint8_t *blob;		/* public key blob to sign with */
	size_t bloblen;
	unsigned int flags;		/* sign-request flags */
	size_t dlen;			/* bytes signed per request */
	uint64_t t_start;		/* measured window, CLOCK_MONOTONIC ns */
	uint64_t t_end;
};

/* A signature kept for verification after the run, away from the timed loop. */
struct sample {
	uint8_t *data;
	size_t dlen;
	uint8_t *sig;
	size_t siglen;
};

/* One connection (or the in-process loop) and what it measured. */
struct worker {
	const struct run *run;
	unsigned int id;
	int fd;
	pthread_t tid;
	uint64_t *lat_ns;		/* latency of each request completed in the window */
	size_t nlat;
	size_t latcap;
	struct sample samples[MAX_SAMPLES];
	size_t nsamples;
	unsigned long long errors;
	int first_err;			/* SSHX_ERR_* of the first error, for the message */
	const char *first_what;		/* and what was being done */
	int first_errno;
};

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* Records an error; only the first one's details are kept for the report. */
static void
worker_error(struct worker *w, const char *what, int r)
{
	if (w->errors++ == 0) {
		w->first_err = r;
		w->first_what = what;
		w->first_errno = r == SSHX_ERR_SYSTEM ? errno : 0;
	}
}

/* Appends one latency, growing the array geometrically; 0 or SSHX_ERR_ALLOC. */
static int
worker_add_latency(struct worker *w, uint64_t ns)
{
	uint64_t *n;
	size_t cap;

	if (w->nlat == w->latcap) {
		cap = w->latcap == 0 ? 4096 : w->latcap * 2;
		if ((n = reallocarray(w->lat_ns, cap, sizeof(*n))) == NULL)
			return SSHX_ERR_ALLOC;
		w->lat_ns = n;
		w->latcap = cap;
	}
	w->lat_ns[w->nlat++] = ns;
	return 0;
}

/* Keeps copies of data and signature for verification after the run. */
static int
worker_keep_sample(struct worker *w, const uint8_t *data, size_t dlen,
    const uint8_t *sig, size_t siglen)
{
	struct sample *s;

	if (w->nsamples == MAX_SAMPLES)
		return 0;
	s = &w->samples[w->nsamples];
	if ((s->data = malloc(dlen)) == NULL || (s->sig = malloc(siglen)) == NULL) {
		free(s->data);
		s->data = NULL;
		return SSHX_ERR_ALLOC;
	}
	memcpy(s->data, data, dlen);
	memcpy(s->sig, sig, siglen);
	s->dlen = dlen;
	s->siglen = siglen;
	w->nsamples++;
	return 0;
}

/* Closes the worker's connection and frees what it recorded. */
static void
worker_free(struct worker *w)
{
	size_t i;

	if (w->fd != -1)
		close(w->fd);
	w->fd = -1;
	free(w->lat_ns);
	w->lat_ns = NULL;
	for (i = 0; i < w->nsamples; i++) {
		free(w->samples[i].data);
		free(w->samples[i].sig);
	}
	w->nsamples = 0;
}

/*
 * Makes each request's data distinct (connection id and sequence number in
 * the first bytes) so that no agent could answer from a cache.
 */
static void
stamp_data(uint8_t *data, size_t dlen, unsigned int id, uint64_t seq)
{
	uint64_t v = ((uint64_t)id << 48) ^ seq;
	size_t i;

	for (i = 0; i < 8 && i < dlen; i++)
		data[i] = (uint8_t)(v >> (56 - 8 * i));
}

/* Checks that a signature blob names the algorithm the run expects. */
static int
check_sig_alg(const struct run *run, const uint8_t *sig, size_t siglen)
{
	struct sshx_buf *b;
	const uint8_t *alg;
	size_t alglen;
	int r;

	if ((b = sshx_buf_from(sig, siglen)) == NULL)
		return SSHX_ERR_ALLOC;
	if ((r = sshx_buf_get_string_direct(b, &alg, &alglen)) == 0 &&
	    (alglen != strlen(run->sigalg) || memcmp(alg, run->sigalg, alglen) != 0))
		r = SSHX_ERR_KEY_TYPE_MISMATCH;
	sshx_buf_free(b);
	return r;
}

/* ---------------------------------------------------------------- framing */

/* Writes all len bytes, retrying short writes and interruptions. */
static int
write_full(int fd, const uint8_t *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return (errno == EAGAIN || errno == EWOULDBLOCK) ?
			    SSHX_ERR_TIMEOUT : SSHX_ERR_SYSTEM;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Decodes the big-endian length at the front of a frame. */
static uint32_t
frame_len(const uint8_t p[static FRAME_HDR])
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/*
 * Reads exactly one reply frame into p (cap bytes, at least FRAME_HDR +
 * SSHX_AGENT_MAX_FRAME); the message starts at p + FRAME_HDR and its length
 * goes to *lenp. With one request outstanding, bytes beyond the frame are a
 * protocol error.
 */
static int
read_frame(int fd, uint8_t *p, size_t cap, size_t *lenp)
{
	size_t have = 0, need = FRAME_HDR;
	uint32_t len;
	ssize_t n;

	*lenp = 0;
	while (have < need) {
		if ((n = read(fd, p + have, cap - have)) == -1) {
			if (errno == EINTR)
				continue;
			return (errno == EAGAIN || errno == EWOULDBLOCK) ?
			    SSHX_ERR_TIMEOUT : SSHX_ERR_SYSTEM;
		}
		if (n == 0)
			return SSHX_ERR_EOF;
		have += (size_t)n;
		if (need == FRAME_HDR && have >= FRAME_HDR) {
			len = frame_len(p);
			if (len == 0 || len > SSHX_AGENT_MAX_FRAME)
				return SSHX_ERR_LIMIT;
			need = FRAME_HDR + (size_t)len;
		}
	}
	if (have != need)
		return SSHX_ERR_PROTOCOL;
	*lenp = need - FRAME_HDR;
	return 0;
}

/* Wraps msg as a frame (uint32 length, then the message) in a new buffer. */
static int
frame_message(const struct sshx_buf *msg, struct sshx_buf **framep)
{
	struct sshx_buf *f;
	int r;

	*framep = NULL;
	if (sshx_buf_len(msg) > SSHX_AGENT_MAX_FRAME)
		return SSHX_ERR_LIMIT;
	if ((f = sshx_buf_new()) == NULL)
		return SSHX_ERR_ALLOC;
	if ((r = sshx_buf_put_stringb(f, msg)) != 0) {
		sshx_buf_free(f);
		return r;
	}
	*framep = f;
	return 0;
}

/* Opens a connection to the agent at path, with I/O timeouts so a stuck agent fails the run. */
static int
agent_connect(const char *path, int *fdp)
{
	struct sockaddr_un sa;
	struct timeval tv = { .tv_sec = IO_TIMEOUT_SECS };
	int fd, saved;

	*fdp = -1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path))
		return SSHX_ERR_INVALID_ARGUMENT;
	memcpy(sa.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return SSHX_ERR_SYSTEM;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return SSHX_ERR_SYSTEM;
	}
	*fdp = fd;
	return 0;
}

/* Returns the type name inside a public key blob, pointing into the blob. */
static int
blob_type_name(const uint8_t *blob, size_t len, const uint8_t **namep, size_t *nlenp)
{
	struct sshx_buf *b;
	int r;

	*namep = NULL;
	*nlenp = 0;
	if ((b = sshx_buf_from(blob, len)) == NULL)
		return SSHX_ERR_ALLOC;
	r = sshx_buf_get_string_direct(b, namep, nlenp);
	sshx_buf_free(b);
	return r;
}

/*
 * Asks the agent for its identities and copies out the blob of the first key
 * whose type is named type; SSHX_ERR_NOT_FOUND when there is none.
 */
static int
find_identity(int fd, const char *type, uint8_t **blobp, size_t *lenp, unsigned int *nidsp)
{
	static const uint8_t req[] = { 0, 0, 0, 1, SSH_AGENTC_REQUEST_IDENTITIES };
	struct sshx_buf *b = NULL;
	uint8_t *frame = NULL, msgtype;
	const uint8_t *blob, *comment, *name;
	size_t cap = FRAME_HDR + SSHX_AGENT_MAX_FRAME, len, bloblen, clen, nlen;
	uint32_t n, i;
	int r;

	*blobp = NULL;
	*lenp = 0;
	*nidsp = 0;
	if ((frame = malloc(cap)) == NULL)
		return SSHX_ERR_ALLOC;
	if ((r = write_full(fd, req, sizeof(req))) != 0 ||
	    (r = read_frame(fd, frame, cap, &len)) != 0)
		goto out;
	if ((b = sshx_buf_from(frame + FRAME_HDR, len)) == NULL) {
		r = SSHX_ERR_ALLOC;
		goto out;
	}
	if ((r = sshx_buf_get_u8(b, &msgtype)) != 0)
		goto out;
	if (msgtype != SSH_AGENT_IDENTITIES_ANSWER) {
		r = msgtype == SSH_AGENT_FAILURE ? SSHX_ERR_AGENT_FAILURE : SSHX_ERR_PROTOCOL;
		goto out;
	}
	if ((r = sshx_buf_get_u32(b, &n)) != 0)
		goto out;
	if (n > SSHX_AGENT_MAX_IDENTITIES) {
		r = SSHX_ERR_LIMIT;
		goto out;
	}
	*nidsp = n;
	r = SSHX_ERR_NOT_FOUND;
	for (i = 0; i < n; i++) {
		int g;

		if ((g = sshx_buf_get_string_direct(b, &blob, &bloblen)) != 0 ||
		    (g = sshx_buf_get_string_direct(b, &comment, &clen)) != 0 ||
		    (g = blob_type_name(blob, bloblen, &name, &nlen)) != 0) {
			r = g;
			goto out;
		}
		if (r != SSHX_ERR_NOT_FOUND || nlen != strlen(type) ||
		    memcmp(name, type, nlen) != 0)
			continue;
		if ((*blobp = malloc(bloblen)) == NULL) {
			r = SSHX_ERR_ALLOC;
			goto out;
		}
		memcpy(*blobp, blob, bloblen);
		*lenp = bloblen;
		r = 0;
	}
	if (sshx_buf_len(b) != 0) {
		r = SSHX_ERR_INVALID_FORMAT;
		goto out;
	}
 out:
	if (r != 0) {
		free(*blobp);
		*blobp = NULL;
		*lenp = 0;
	}
	sshx_buf_free(b);
	free(frame);
	return r;
}

/*
 * Builds the framed sign request of a run with random data; *data_offp gets
 * the offset of the data inside the frame so each request can restamp it.
 */
static int
build_sign_frame(const struct run *run, struct sshx_buf **framep, size_t *data_offp)
{
	struct sshx_buf *msg = NULL;
	uint8_t *data = NULL;
	int r;

	*framep = NULL;
	*data_offp = 0;
	if ((data = malloc(run->dlen)) == NULL || (msg = sshx_buf_new()) == NULL) {
		r = SSHX_ERR_ALLOC;
		goto out;
	}
	gcry_create_nonce(data, run->dlen);
	if ((r = sshx_buf_put_u8(msg, SSH_AGENTC_SIGN_REQUEST)) != 0 ||
	    (r = sshx_buf_put_string(msg, run->blob, run->bloblen)) != 0 ||
	    (r = sshx_buf_put_string(msg, data, run->dlen)) != 0 ||
	    (r = sshx_buf_put_u32(msg, run->flags)) != 0 ||
	    (r = frame_message(msg, framep)) != 0)
		goto out;
	*data_offp = FRAME_HDR + 1 + 4 + run->bloblen + 4;
 out:
	sshx_buf_free(msg);
	free(data);
	return r;
}

/* Parses a sign reply; *sigp points at the signature blob inside msg. */
static int
parse_sign_reply(const struct run *run, const uint8_t *msg, size_t len,
    const uint8_t **sigp, size_t *siglenp)
{
	struct sshx_buf *b;
	const uint8_t *sig;
	size_t siglen;
	uint8_t type;
	int r;

	*sigp = NULL;
	*siglenp = 0;
	if ((b = sshx_buf_from(msg, len)) == NULL)
		return SSHX_ERR_ALLOC;
	if ((r = sshx_buf_get_u8(b, &type)) != 0)
		goto out;
	if (type != SSH_AGENT_SIGN_RESPONSE) {
		r = type == SSH_AGENT_FAILURE ? SSHX_ERR_AGENT_FAILURE : SSHX_ERR_PROTOCOL;
		goto out;
	}
	if ((r = sshx_buf_get_string_direct(b, &sig, &siglen)) != 0)
		goto out;
	if (sshx_buf_len(b) != 0) {
		r = SSHX_ERR_INVALID_FORMAT;
		goto out;
	}
	if ((r = check_sig_alg(run, sig, siglen)) != 0)
		goto out;
	*sigp = sig;
	*siglenp = siglen;
 out:
	sshx_buf_free(b);
	return r;
}

/*
 * One connection's thread: sign requests back to back, one outstanding,
 * until the window closes. Requests completing inside the window are timed.
 */
static void *
sock_worker(void *arg)
{
	struct worker *w = arg;
	const struct run *run = w->run;
	struct sshx_buf *req = NULL;
	uint8_t *frame, *reply = NULL;
	const uint8_t *sig;
	size_t cap = FRAME_HDR + SSHX_AGENT_MAX_FRAME, data_off, len, siglen;
	uint64_t seq, t1, t2;
	int r;

	if ((reply = malloc(cap)) == NULL) {
		worker_error(w, "allocating the reply buffer", SSHX_ERR_ALLOC);
		goto out;
	}
	if ((r = build_sign_frame(run, &req, &data_off)) != 0) {
		worker_error(w, "building the sign request", r);
		goto out;
	}
	frame = sshx_buf_mutable_ptr(req);
	for (seq = 0;; seq++) {
		if ((t1 = now_ns()) >= run->t_end)
			break;
		stamp_data(frame + data_off, run->dlen, w->id, seq);
		if ((r = write_full(w->fd, frame, sshx_buf_len(req))) != 0) {
			worker_error(w, "sending a sign request", r);
			break;
		}
		if ((r = read_frame(w->fd, reply, cap, &len)) != 0) {
			worker_error(w, "reading a sign reply", r);
			break;
		}
		t2 = now_ns();
		if ((r = parse_sign_reply(run, reply + FRAME_HDR, len, &sig, &siglen)) != 0) {
			worker_error(w, "checking a sign reply", r);
			continue;
		}
		if (seq % VERIFY_EVERY == 0 &&
		    (r = worker_keep_sample(w, frame + data_off, run->dlen, sig, siglen)) != 0) {
			worker_error(w, "keeping a signature", r);
			break;
		}
		if (t2 >= run->t_start && t2 < run->t_end &&
		    (r = worker_add_latency(w, t2 - t1)) != 0) {
			worker_error(w, "recording a latency", r);
			break;
		}
	}
 out:
	sshx_buf_free(req);
	free(reply);
	return NULL;
}

/* ---------------------------------------------------------------- results */

/* Orders latencies for qsort. */
static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Returns the pct-th percentile (nearest rank) of n sorted values, in microseconds. */
static double
percentile_us(const uint64_t *v, size_t n, unsigned int pct)
{
	size_t rank;

	if (n == 0)
		return 0.0;
	rank = (n * pct + 99) / 100;
	if (rank < 1)
		rank = 1;
	return (double)v[rank - 1] / 1000.0;
}

/* Verifies every kept signature against the public key; failures count as errors. */
static void
verify_samples(struct worker *w, const struct sshx_key *pub)
{
	size_t i;
	int r;

	for (i = 0; i < w->nsamples; i++) {
		r = sshx_key_verify(pub, w->samples[i].sig, w->samples[i].siglen,
		    w->samples[i].data, w->samples[i].dlen, 0);
		if (r != 0)
			worker_error(w, "verifying a signature", r);
	}
}

/*
 * Merges the workers' figures, prints the result line and reports the first
 * error of each worker on stderr; returns 0 when there was no error.
 */
static int
report(const struct run *run, struct worker *ws, unsigned int n, unsigned int conns)
{
	uint64_t *all = NULL;
	size_t total = 0, k = 0;
	unsigned long long errors = 0;
	double secs = (double)(run->t_end - run->t_start) / (double)NS_PER_S;
	unsigned int i;

	for (i = 0; i < n; i++)
		total += ws[i].nlat;
	if (total > 0 && (all = calloc(total, sizeof(*all))) == NULL) {
		fprintf(stderr, "agentbench: out of memory merging latencies\n");
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (ws[i].nlat > 0)
			memcpy(all + k, ws[i].lat_ns, ws[i].nlat * sizeof(*all));
		k += ws[i].nlat;
		errors += ws[i].errors;
		if (ws[i].errors == 0)
			continue;
		fprintf(stderr, "agentbench: %s, connection %u: %llu error(s), first "
		    "while %s: %s%s%s\n", run->type, ws[i].id, ws[i].errors,
		    ws[i].first_what, sshx_strerror(ws[i].first_err),
		    ws[i].first_errno != 0 ? ": " : "",
		    ws[i].first_errno != 0 ? strerror(ws[i].first_errno) : "");
	}
	if (total > 0)
		qsort(all, total, sizeof(*all), cmp_u64);
	printf("type=%s conns=%u ops=%zu secs=%.3f rate=%.1f p50_us=%.1f p99_us=%.1f "
	    "errors=%llu\n", run->type, conns, total, secs, (double)total / secs,
	    percentile_us(all, total, 50), percentile_us(all, total, 99), errors);
	fflush(stdout);
	free(all);
	return errors == 0 && total > 0 ? 0 : -1;
}

/* ---------------------------------------------------------------- options */

/* Parses a duration in (possibly fractional) seconds, at most a day. */
static int
parse_seconds(const char *s, double *vp)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= 0.0) || v > 86400.0)
		return -1;
	*vp = v;
	return 0;
}

/* Parses a decimal integer in [lo, hi]; no sign, no trailing characters. */
static int
parse_uint(const char *s, unsigned long lo, unsigned long hi, unsigned long *vp)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return -1;
	*vp = v;
	return 0;
}

/* The options both modes share. */
struct opts {
	const char *sock;
	const char *type;
	unsigned long conns;
	unsigned long bits;
	unsigned long dlen;
	double secs;
	double warmup;
};

/* Parses the options in optstring into o; prints a message and returns -1 on a bad one. */
static int
parse_opts(int argc, char **argv, const char *optstring, struct opts *o)
{
	/* The request must fit a frame with the largest blob (16384-bit RSA, ~2 KiB). */
	const unsigned long dmax = SSHX_AGENT_MAX_FRAME - 4096;
	int ch;

	memset(o, 0, sizeof(*o));
	o->conns = 1;
	o->dlen = DEFAULT_DATA_BYTES;
	o->warmup = DEFAULT_WARMUP_SECS;
	o->secs = -1.0;
	while ((ch = getopt(argc, argv, optstring)) != -1) {
		switch (ch) {
		case 'a':
			o->sock = optarg;
			break;
		case 'b':
			if (parse_uint(optarg, SSHX_RSA_MIN_BITS, SSHX_RSA_MAX_BITS, &o->bits) != 0)
				goto bad;
			break;
		case 'c':
			if (parse_uint(optarg, 1, MAX_CONNS, &o->conns) != 0)
				goto bad;
			break;
		case 'd':
			if (parse_seconds(optarg, &o->secs) != 0 || o->secs <= 0.0)
				goto bad;
			break;
		case 's':
			if (parse_uint(optarg, 1, dmax, &o->dlen) != 0)
				goto bad;
			break;
		case 't':
			o->type = optarg;
			break;
		case 'w':
			if (parse_seconds(optarg, &o->warmup) != 0)
				goto bad;
			break;
		default:
			return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "agentbench: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (o->type == NULL || o->secs < 0.0) {
		fprintf(stderr, "agentbench: -t TYPE and -d SECONDS are required\n");
		return -1;
	}
	return 0;
 bad:
	fprintf(stderr, "agentbench: bad value '%s' for -%c\n", optarg, ch);
	return -1;
}

/* Returns the signature algorithm an agent answers with for type and flags. */
static const char *
expected_sigalg(const char *type, unsigned int flags)
{
	if (strcmp(type, "ssh-rsa") != 0)
		return type;
	if (flags & SSH_AGENT_RSA_SHA2_512)
		return "rsa-sha2-512";
	if (flags & SSH_AGENT_RSA_SHA2_256)
		return "rsa-sha2-256";
	return "ssh-rsa";
}

/* Sets the measured window: it opens after the warm-up and lasts secs. */
static void
set_window(struct run *run, const struct opts *o)
{
	run->t_start = now_ns() + (uint64_t)(o->warmup * (double)NS_PER_S);
	run->t_end = run->t_start + (uint64_t)(o->secs * (double)NS_PER_S);
}

/* ---------------------------------------------------------------- modes */

/* Signs through the agent's socket from several connections at once. */
static int
sock_main(int argc, char **argv)
{
	struct opts o;
	struct run run;
	struct worker *ws = NULL;
	struct sshx_key *pub = NULL;
	uint8_t *blob = NULL;
	size_t bloblen;
	unsigned int i, started = 0, nids;
	int ret = 1, fd = -1, r;

	if (parse_opts(argc, argv, "a:c:d:s:t:w:", &o) != 0)
		return 2;
	if (o.sock == NULL) {
		fprintf(stderr, "agentbench: -a SOCKET is required\n");
		return 2;
	}
	if ((r = agent_connect(o.sock, &fd)) != 0) {
		fprintf(stderr, "agentbench: connecting to %s: %s\n", o.sock,
		    r == SSHX_ERR_SYSTEM ? strerror(errno) : sshx_strerror(r));
		goto out;
	}
	if ((r = find_identity(fd, o.type, &blob, &bloblen, &nids)) != 0) {
		if (r == SSHX_ERR_NOT_FOUND)
			fprintf(stderr, "agentbench: no %s key among the agent's %u "
			    "identities\n", o.type, nids);
		else
			fprintf(stderr, "agentbench: listing identities: %s\n",
			    r == SSHX_ERR_SYSTEM ? strerror(errno) : sshx_strerror(r));
		goto out;
	}
	close(fd);
	fd = -1;
	if ((r = sshx_key_from_blob(blob, bloblen, &pub)) != 0) {
		fprintf(stderr, "agentbench: the agent's %s key: %s\n", o.type,
		    sshx_strerror(r));
		goto out;
	}

	memset(&run, 0, sizeof(run));
	run.type = o.type;
	run.blob = blob;
	run.bloblen = bloblen;
	run.flags = strcmp(o.type, "ssh-rsa") == 0 ? SSH_AGENT_RSA_SHA2_512 : 0;
	run.sigalg = expected_sigalg(o.type, run.flags);
	run.dlen = o.dlen;

	if ((ws = calloc(o.conns, sizeof(*ws))) == NULL) {
		fprintf(stderr, "agentbench: out of memory\n");
		goto out;
	}
	for (i = 0; i < o.conns; i++) {
		ws[i].run = &run;
		ws[i].id = i;
		ws[i].fd = -1;
	}
	/* Every connection is open before the first request, so none waits on accept(). */
	for (i = 0; i < o.conns; i++) {
		if ((r = agent_connect(o.sock, &ws[i].fd)) != 0) {
			fprintf(stderr, "agentbench: connection %u to %s: %s\n", i, o.sock,
			    r == SSHX_ERR_SYSTEM ? strerror(errno) : sshx_strerror(r));
			goto out;
		}
	}
	set_window(&run, &o);
	for (started = 0; started < o.conns; started++) {
		if ((r = pthread_create(&ws[started].tid, NULL, sock_worker,
		    &ws[started])) != 0) {
			fprintf(stderr, "agentbench: starting a thread: %s\n", strerror(r));
			break;
		}
	}
	for (i = 0; i < started; i++)
		pthread_join(ws[i].tid, NULL);
	if (started != o.conns)
		goto out;
	for (i = 0; i < o.conns; i++)
		verify_samples(&ws[i], pub);
	if (report(&run, ws, o.conns, o.conns) == 0)
		ret = 0;
 out:
	if (ws != NULL) {
		for (i = 0; i < o.conns; i++)
			worker_free(&ws[i]);
		free(ws);
	}
	if (fd != -1)
		close(fd);
	sshx_key_free(pub);
	free(blob);
	return ret;
}

/*
 * Signs in this process, in one thread, through sshx_key_sign: the rate an
 * agent built on the same code could reach with no socket in between.
 */
static int
inproc_main(int argc, char **argv)
{
	struct opts o;
	struct run run;
	struct worker w;
	struct sshx_key *key = NULL;
	struct sshx_buf *sig = NULL;
	enum sshx_key_type type;
	uint8_t *data = NULL;
	uint64_t seq, t1, t2;
	int ret = 1, r;

	memset(&w, 0, sizeof(w));
	w.fd = -1;
	if (parse_opts(argc, argv, "b:d:s:t:w:", &o) != 0)
		return 2;
	type = sshx_key_type_from_name(o.type, strlen(o.type));
	if (type == SSHX_KEY_UNSPEC || type == SSHX_KEY_DSA) {
		fprintf(stderr, "agentbench: unsupported key type '%s'\n", o.type);
		return 2;
	}
	if ((r = sshx_key_generate(type, (unsigned int)o.bits, &key)) != 0) {
		fprintf(stderr, "agentbench: generating a %s key: %s\n", o.type,
		    sshx_strerror(r));
		goto out;
	}
	if ((data = malloc(o.dlen)) == NULL || (sig = sshx_buf_new()) == NULL) {
		fprintf(stderr, "agentbench: out of memory\n");
		goto out;
	}
	gcry_create_nonce(data, o.dlen);

	memset(&run, 0, sizeof(run));
	run.type = o.type;
	run.flags = type == SSHX_KEY_RSA ? SSHX_SIG_RSA_SHA512 : 0;
	run.sigalg = expected_sigalg(o.type, run.flags);
	run.dlen = o.dlen;
	w.run = &run;
	set_window(&run, &o);
	for (seq = 0;; seq++) {
		if ((t1 = now_ns()) >= run.t_end)
			break;
		stamp_data(data, o.dlen, 0, seq);
		sshx_buf_reset(sig);
		r = sshx_key_sign(key, data, o.dlen, run.flags, sig);
		t2 = now_ns();
		if (r != 0 || (r = check_sig_alg(&run, sshx_buf_ptr(sig),
		    sshx_buf_len(sig))) != 0) {
			worker_error(&w, "signing", r);
			continue;
		}
		if (seq % VERIFY_EVERY == 0 && (r = worker_keep_sample(&w, data,
		    o.dlen, sshx_buf_ptr(sig), sshx_buf_len(sig))) != 0) {
			worker_error(&w, "keeping a signature", r);
			break;
		}
		if (t2 >= run.t_start && t2 < run.t_end &&
		    (r = worker_add_latency(&w, t2 - t1)) != 0) {
			worker_error(&w, "recording a latency", r);
			break;
		}
	}
	verify_samples(&w, key);
	if (report(&run, &w, 1, 0) == 0)
		ret = 0;
 out:
	worker_free(&w);
	sshx_buf_free(sig);
	sshx_key_free(key);
	free(data);
	return ret;
}

/* How gcry_pk_sign is asked to sign for one SSH key type, as an agent would. */
static const struct gcrypt_type {
	const char *type;
	const char *genkey;	/* gcry_pk_genkey parameters (%d: RSA bits) */
	int md;			/* digest signed; 0: the message itself (EdDSA) */
	const char *data;	/* data S-expression for gcry_sexp_build */
} gcrypt_types[] = {
	{ "ssh-ed25519", "(genkey(ecc(curve Ed25519)(flags eddsa)))", 0,
	  "(data(flags eddsa)(hash-algo sha512)(value %b))" },
	{ "ecdsa-sha2-nistp256", "(genkey(ecc(curve \"NIST P-256\")))", GCRY_MD_SHA256,
	  "(data(flags rfc6979)(hash sha256 %b))" },
	{ "ecdsa-sha2-nistp384", "(genkey(ecc(curve \"NIST P-384\")))", GCRY_MD_SHA384,
	  "(data(flags rfc6979)(hash sha384 %b))" },
	{ "ecdsa-sha2-nistp521", "(genkey(ecc(curve \"NIST P-521\")))", GCRY_MD_SHA512,
	  "(data(flags rfc6979)(hash sha512 %b))" },
	{ "ssh-rsa", "(genkey(rsa(nbits %d)))", GCRY_MD_SHA512,
	  "(data(flags pkcs1)(hash sha512 %b))" },
};

/* Builds the data S-expression for one message: hashed first unless EdDSA. */
static gcry_error_t
gcrypt_data(const struct gcrypt_type *gt, const uint8_t *data, size_t dlen,
    gcry_sexp_t *ds)
{
	uint8_t digest[64];
	unsigned int n;

	if (gt->md == 0)
		return gcry_sexp_build(ds, NULL, gt->data, (int)dlen, data);
	n = gcry_md_get_algo_dlen(gt->md);
	gcry_md_hash_buffer(gt->md, digest, data, dlen);
	return gcry_sexp_build(ds, NULL, gt->data, (int)n, digest);
}

/*
 * Signs in this process, in one thread, with gcry_pk_sign on a key made by
 * gcry_pk_genkey: libgcrypt's own signing rate, hashing included, with none
 * of sshx's code in the loop.
 */
static int
gcrypt_main(int argc, char **argv)
{
	const struct gcrypt_type *gt = NULL;
	struct opts o;
	struct run run;
	struct worker w;
	gcry_sexp_t params = NULL, pair = NULL, priv = NULL, pub = NULL;
	gcry_sexp_t ds = NULL, ss = NULL;
	gcry_error_t e;
	uint8_t *data = NULL;
	uint64_t seq, t1, t2;
	size_t i;
	int ret = 1;

	memset(&w, 0, sizeof(w));
	w.fd = -1;
	if (parse_opts(argc, argv, "b:d:s:t:w:", &o) != 0)
		return 2;
	for (i = 0; i < sizeof(gcrypt_types) / sizeof(gcrypt_types[0]); i++) {
		if (strcmp(o.type, gcrypt_types[i].type) == 0)
			gt = &gcrypt_types[i];
	}
	if (gt == NULL) {
		fprintf(stderr, "agentbench: unsupported key type '%s'\n", o.type);
		return 2;
	}
	if (strcmp(gt->type, "ssh-rsa") == 0)
		e = gcry_sexp_build(&params, NULL, gt->genkey,
		    o.bits == 0 ? 3072 : (int)o.bits);
	else
		e = gcry_sexp_build(&params, NULL, gt->genkey);
	if (e != 0 || (e = gcry_pk_genkey(&pair, params)) != 0 ||
	    (priv = gcry_sexp_find_token(pair, "private-key", 0)) == NULL ||
	    (pub = gcry_sexp_find_token(pair, "public-key", 0)) == NULL) {
		fprintf(stderr, "agentbench: generating a %s key with libgcrypt: %s\n",
		    o.type, e != 0 ? gcry_strerror(e) : "no key pair");
		goto out;
	}
	if ((data = malloc(o.dlen)) == NULL) {
		fprintf(stderr, "agentbench: out of memory\n");
		goto out;
	}
	gcry_create_nonce(data, o.dlen);

	memset(&run, 0, sizeof(run));
	run.type = o.type;
	run.dlen = o.dlen;
	w.run = &run;
	set_window(&run, &o);
	for (seq = 0;; seq++) {
		if ((t1 = now_ns()) >= run.t_end)
			break;
		stamp_data(data, o.dlen, 0, seq);
		e = gcrypt_data(gt, data, o.dlen, &ds);
		if (e == 0)
			e = gcry_pk_sign(&ss, ds, priv);
		t2 = now_ns();
		/* Checked outside the timed part, like the other modes' samples. */
		if (e == 0 && seq % VERIFY_EVERY == 0)
			e = gcry_pk_verify(ss, ds, pub);
		gcry_sexp_release(ds);
		gcry_sexp_release(ss);
		ds = ss = NULL;
		if (e != 0) {
			fprintf(stderr, "agentbench: gcry_pk_sign/verify: %s\n",
			    gcry_strerror(e));
			worker_error(&w, "signing with libgcrypt", SSHX_ERR_CRYPTO);
			break;
		}
		if (t2 >= run.t_start && t2 < run.t_end &&
		    worker_add_latency(&w, t2 - t1) != 0) {
			worker_error(&w, "recording a latency", SSHX_ERR_ALLOC);
			break;
		}
	}
	if (report(&run, &w, 1, 0) == 0)
		ret = 0;
 out:
	worker_free(&w);
	gcry_sexp_release(params);
	gcry_sexp_release(pair);
	gcry_sexp_release(priv);
	gcry_sexp_release(pub);
	free(data);
	return ret;
}

static const struct subcommand {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *args;
	const char *description;
} subcommands[] = {
	{ "sock", sock_main,
	  "-a SOCKET -t TYPE -c CONNS -d SECONDS [-w WARMUP] [-s BYTES]",
	  "sign through an agent's socket, one thread per connection" },
	{ "inproc", inproc_main,
	  "-t TYPE -d SECONDS [-w WARMUP] [-s BYTES] [-b RSA_BITS]",
	  "sign in this process with sshx's key code, in one thread" },
	{ "gcrypt", gcrypt_main,
	  "-t TYPE -d SECONDS [-w WARMUP] [-s BYTES] [-b RSA_BITS]",
	  "sign in this process with libgcrypt's gcry_pk_sign, in one thread" },
};

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage:\n");
	for (i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(f, "  agentbench %s %s\n      %s\n", subcommands[i].name,
		    subcommands[i].args, subcommands[i].description);
	fprintf(f, "TYPE is ssh-ed25519, ecdsa-sha2-nistp256/384/521 or ssh-rsa "
	    "(signed as rsa-sha2-512);\nBYTES defaults to %d, WARMUP to %.0f s.\n",
	    DEFAULT_DATA_BYTES, DEFAULT_WARMUP_SECS);
}

int
main(int argc, char **argv)
{
	size_t i;
	int r;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	for (i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
		if (strcmp(argv[1], subcommands[i].name) != 0)
			continue;
		/* A dead agent must show as an error reply, not kill the benchmark. */
		signal(SIGPIPE, SIG_IGN);
		if ((r = sshx_crypto_init(SSHX_SECMEM_SIZE)) != 0) {
			fprintf(stderr, "agentbench: %s\n", sshx_strerror(r));
			return 1;
		}
		return subcommands[i].fn(argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "agentbench: unknown mode '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
