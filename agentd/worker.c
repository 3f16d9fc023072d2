/* A fixed pool of signing threads plus detached threads for prompts. */
#include "config.h"

#include <sys/eventfd.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "worker.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static struct worker_job *queue_head, *queue_tail;	/* waiting to run */
static struct worker_job *done_head, *done_tail;	/* waiting for done() */
static pthread_t *threads;
static unsigned int nthreads;
static unsigned int nslow;
static int stopping;
static int efd = -1;

static void
push(struct worker_job **head, struct worker_job **tail, struct worker_job *job)
{
	job->next = NULL;
	if (*tail != NULL)
		(*tail)->next = job;
	else
		*head = job;
	*tail = job;
}

/* Hands a finished job back to the loop; called with the lock held. */
static void
complete_locked(struct worker_job *job)
{
	uint64_t one = 1;
	int was_empty = (done_head == NULL);

	push(&done_head, &done_tail, job);
	/* One wake-up per batch: the loop drains the whole list. */
	if (was_empty && write(efd, &one, sizeof(one)) != sizeof(one))
		sshx_log_error("worker: cannot wake the event loop: %s",
		    sshx_strerror(SSHX_ERR_SYSTEM));
}

static void *
worker_main(void *arg)
{
	struct worker_job *job;

	(void)arg;
	pthread_mutex_lock(&lock);
	for (;;) {
		while (queue_head == NULL && !stopping)
			pthread_cond_wait(&cond, &lock);
		if (queue_head == NULL)
			break;
		job = queue_head;
		if ((queue_head = job->next) == NULL)
			queue_tail = NULL;
		pthread_mutex_unlock(&lock);
		job->run(job);
		pthread_mutex_lock(&lock);
		complete_locked(job);
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

int
worker_start(unsigned int n)
{
	unsigned int i;
	int r;

	if (n == 0)
		return 0;
	if ((efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
		return SSHX_ERR_SYSTEM;
	if ((threads = calloc(n, sizeof(*threads))) == NULL)
		return SSHX_ERR_ALLOC;
	for (i = 0; i < n; i++) {
		if ((r = pthread_create(&threads[i], NULL, worker_main, NULL)) != 0) {
			errno = r;
			worker_stop();
			return SSHX_ERR_SYSTEM;
		}
		nthreads++;
	}
	return 0;
}

void
worker_stop(void)
{
	unsigned int i;

	pthread_mutex_lock(&lock);
	stopping = 1;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	for (i = 0; i < nthreads; i++)
		pthread_join(threads[i], NULL);
	free(threads);
	threads = NULL;
	nthreads = 0;
	if (efd != -1)
		close(efd);
	efd = -1;
}

int
worker_fd(void)
{
	return efd;
}

unsigned int
worker_threads(void)
{
	return nthreads;
}

int
worker_submit(struct worker_job *job)
{
	if (nthreads == 0) {
		job->run(job);
		job->done(job);
		return 0;
	}
	pthread_mutex_lock(&lock);
	push(&queue_head, &queue_tail, job);
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
	return 0;
}

static void *
slow_main(void *arg)
{
	struct worker_job *job = arg;

	job->run(job);
	pthread_mutex_lock(&lock);
	nslow--;
	complete_locked(job);
	pthread_mutex_unlock(&lock);
	return NULL;
}

int
worker_submit_slow(struct worker_job *job)
{
	pthread_attr_t attr;
	pthread_t t;
	int r;

	if (nthreads == 0) {
		job->run(job);
		job->done(job);
		return 0;
	}
	pthread_mutex_lock(&lock);
	if (nslow >= WORKER_MAX_SLOW) {
		pthread_mutex_unlock(&lock);
		return SSHX_ERR_LIMIT;
	}
	nslow++;
	pthread_mutex_unlock(&lock);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	r = pthread_create(&t, &attr, slow_main, job);
	pthread_attr_destroy(&attr);
	if (r != 0) {
		pthread_mutex_lock(&lock);
		nslow--;
		pthread_mutex_unlock(&lock);
		errno = r;
		return SSHX_ERR_SYSTEM;
	}
	return 0;
}

void
worker_collect(void)
{
	struct worker_job *job, *next;
	uint64_t v;

	if (efd == -1)
		return;
	pthread_mutex_lock(&lock);
	/* Reset the counter under the lock so no wake-up is lost. */
	if (read(efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		sshx_log_error("worker: eventfd read: %s",
		    sshx_strerror(SSHX_ERR_SYSTEM));
	job = done_head;
	done_head = done_tail = NULL;
	pthread_mutex_unlock(&lock);
	for (; job != NULL; job = next) {
		next = job->next;
		job->done(job);
	}
}
