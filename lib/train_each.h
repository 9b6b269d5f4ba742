/* train_each.h — one job per example on worker threads (cl-train's teacher answers and hidden
 * states).  Thread t of T runs the jobs t, t + T, t + 2T, ...; the calling thread is thread 0.
 * A job must touch its own example only: then nothing depends on the thread count. */
#ifndef CL_TRAIN_EACH_H
#define CL_TRAIN_EACH_H
#include <signal.h>

/* A job: 0, or -1 with cl_error() set (cl_error is per thread; tr_each copies it). */
typedef int (*tr_each_fn)(void *ctx, int i);
/* Called on the calling thread between its jobs with how many jobs are done (all threads). */
typedef void (*tr_each_progress)(void *ctx, int done, int n);

typedef struct {
    int bad;          /* the lowest index whose job failed; -1: none */
    int stopped;      /* the lowest index not run because *stop was set; -1: none */
    char err[256];    /* the failed job's cl_error() */
} tr_each_result;

/* Runs fn(ctx, i) for i in [0, n) on min(threads, n) threads (1 when threads < 1; at most 64;
 * a thread that cannot be started has its share run by the calling thread).  A thread stops at
 * its first failing job, and every thread before its next job once *stop is set (stop may be
 * NULL).  progress may be NULL.  Returns 0 when every job ran and succeeded, else -1 (r says
 * why; cl_error() is not set). */
int tr_each(int n, int threads, tr_each_fn fn, void *ctx, volatile sig_atomic_t *stop,
            tr_each_progress progress, tr_each_result *r);

#endif
