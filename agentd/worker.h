/*
 * Work that must not run on the event loop (signatures, key derivation,
 * askpass prompts). A job's run() executes on a worker thread; its done()
 * later runs on the loop thread, which alone touches agent state.
 */
#ifndef AGENTD_WORKER_H
#define AGENTD_WORKER_H

struct worker_job {
	void (*run)(struct worker_job *job);	/* worker thread: no agent state */
	void (*done)(struct worker_job *job);	/* loop thread: owns the job now */
	struct worker_job *next;
};

/* Most slow jobs (askpass prompts) in flight; more are refused. */
#define WORKER_MAX_SLOW	16

/*
 * Starts nthreads CPU workers. With nthreads == 0 every job runs inline,
 * run() then done() inside worker_submit (unit tests and fuzzers).
 */
int worker_start(unsigned int nthreads);
/* Stops the workers after the jobs they hold; completed jobs are not reported. */
void worker_stop(void);
/* Returns the descriptor that becomes readable when jobs have completed, or -1 when inline. */
int worker_fd(void);
/* Queues a CPU-bound job; returns 0 or a negative SSHX_ERR_* (the job is then not run). */
int worker_submit(struct worker_job *job);
/* Runs a job that may block for long (an askpass prompt) on a thread of its own. */
int worker_submit_slow(struct worker_job *job);
/* Calls done() for every completed job; the loop calls it when worker_fd() is readable. */
void worker_collect(void);
/* Returns the number of CPU worker threads (0 when inline). */
unsigned int worker_threads(void);

#endif
