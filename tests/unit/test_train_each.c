/* test_train_each.c — tr_each (train_each.h): every job runs exactly once on 1..5 threads (and
 * with more threads than jobs, and none); the lowest failing index is reported with its own
 * cl_error() whichever thread failed first; a stop flag set by a job stops the rest, and the
 * first job not run is reported; progress is called on the calling thread with a growing count. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

#include "t.h"
#include "train_each.h"
#include "util.h"

enum { N = 500 };

typedef struct {
    atomic_int runs[N];
    int fail_from;            /* jobs >= this fail (N: none) */
    int stop_at;              /* the job that sets the stop flag (-1: none) */
    volatile sig_atomic_t stop;
    pthread_t caller;
    int progress_calls, progress_bad, last_done;
} job;

static int run(void *ctx, int i) {
    job *J = ctx;
    atomic_fetch_add(&J->runs[i], 1);
    if (i == J->stop_at) J->stop = 1;
    if (i >= J->fail_from) return cl_fail("job %d failed", i);
    return 0;
}

static void progress(void *ctx, int done, int n) {
    job *J = ctx;
    J->progress_calls++;
    if (!pthread_equal(pthread_self(), J->caller) || done < J->last_done || done > n) J->progress_bad++;
    J->last_done = done;
}

static job *fresh(int fail_from, int stop_at) {
    static job J;
    memset(&J, 0, sizeof J);
    J.fail_from = fail_from;
    J.stop_at = stop_at;
    J.caller = pthread_self();
    return &J;
}

int main(void) {
    for (int t = 1; t <= 5; t++) {
        job *J = fresh(N, -1);
        tr_each_result r;
        int rc = tr_each(N, t, run, J, &J->stop, progress, &r);
        int once = 1;
        for (int i = 0; i < N; i++) once &= J->runs[i] == 1;
        OK(rc == 0 && r.bad == -1 && r.stopped == -1 && once, "%d threads: %d jobs, each exactly once", t, N);
        OK(J->progress_calls > 0 && J->progress_bad == 0 && J->last_done <= N,
           "%d threads: progress on the calling thread, never decreasing (%d calls)", t, J->progress_calls);

        J = fresh(N - 7, -1);   /* the last 7 fail: each thread stops at its first failure */
        rc = tr_each(N, t, run, J, NULL, NULL, &r);
        OK(rc == -1 && r.bad == N - 7 && strcmp(r.err, "job 493 failed") == 0 && r.stopped == -1,
           "%d threads: the lowest failing job is reported with its message (%d: %s)", t, r.bad, r.err);

        J = fresh(N, 100);   /* job 100 sets the flag: the others stop before their next job */
        rc = tr_each(N, t, run, J, &J->stop, NULL, &r);
        int ran = 0, first_missing = -1;
        for (int i = 0; i < N; i++) {
            ran += J->runs[i];
            if (!J->runs[i] && first_missing < 0) first_missing = i;
        }
        OK(rc == -1 && r.bad == -1 && r.stopped == first_missing && J->runs[100] == 1 && ran < N,
           "%d threads: stopped by the flag after %d jobs, the first not run (%d) reported", t, ran, r.stopped);
    }
    job *J = fresh(N, -1);
    tr_each_result r;
    OK(tr_each(3, 8, run, J, NULL, NULL, &r) == 0 && J->runs[0] == 1 && J->runs[1] == 1 && J->runs[2] == 1
       && J->runs[3] == 0, "more threads than jobs: each of 3 jobs once");
    OK(tr_each(0, 4, run, J, NULL, NULL, &r) == 0 && r.bad == -1 && r.stopped == -1, "no jobs: nothing runs, success");
    return t_done();
}
