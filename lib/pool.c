/* pool.c — persistent worker threads for cl_parallel_for (see pool.h). */
#include "pool.h"
#include <cblas.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include "util.h"

enum { MAX_WORKERS = 63 };

#if defined(__x86_64__) || defined(__i386__)
#define cpu_relax() __builtin_ia32_pause()
#else
#define cpu_relax() ((void)0)
#endif

/* How long a waiting thread spins at most before it sleeps (seconds): CL_POOL_SPIN_US, default below.
 * A wake-up from sleep costs tens of microseconds (more in a VM, where an idle vCPU halts), paid
 * ~200 times per decoded token; a spin costs a core that an oversubscribed machine needs
 * elsewhere.  Timed, not counted in pauses: one pause takes 3 to 40 ns depending on the CPU. */
enum { SPIN_US_DEFAULT = 50 };
static double spin_s;
static void read_spin(void) {
    const char *e = getenv("CL_POOL_SPIN_US");
    char *end;
    double us = e && *e ? strtod(e, &end) : SPIN_US_DEFAULT;
    if (e && *e && (*end || !(us >= 0) || us > 1e6)) {
        fprintf(stderr, "compllm: CL_POOL_SPIN_US=%s is not 0..1000000 microseconds; %d used\n", e, SPIN_US_DEFAULT);
        us = SPIN_US_DEFAULT;
    }
    spin_s = us * 1e-6;
}
/* read once per process, whichever thread asks first (one warning line at most) */
static double spin_seconds(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, read_spin);
    return spin_s;
}

static struct {
    pthread_mutex_t busy;            /* held by the caller of a parallel region */
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    int n_workers;
    atomic_uint gen;                 /* bumped once per region */
    atomic_int pending;              /* chunks not finished */
    double posted;                   /* cl_now() when the region was posted (under mu) */
    _Atomic double finished;         /* cl_now() when a worker finished its chunk */
    int n_chunks, n;
    cl_range_fn fn;
    void *ctx;
} P = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
       PTHREAD_COND_INITIALIZER, 0, 0, 0, 0, 0, 0, 0, 0, 0};

static int gen_moved(unsigned seen) { return atomic_load_explicit(&P.gen, memory_order_acquire) != seen; }
static int all_done(unsigned unused) {
    (void)unused;
    return atomic_load_explicit(&P.pending, memory_order_acquire) <= 0;
}

/* Each thread's spin adapts, as glibc's adaptive mutexes do: after a wait that ended inside the
 * spin it doubles (up to CL_POOL_SPIN_US); after one that outlasted it, it becomes twice the
 * time the event actually took (the signaller stamps it), or a quarter of itself when the event
 * came later than the longest spin (the other thread was not running: an oversubscribed
 * machine, where spinning only takes a core from it). */
static _Thread_local double budget = -1;
static double clamp_budget(double b) {
    double most = spin_seconds(), least = most < 2e-6 ? most : 2e-6;
    return b > most ? most : b < least ? least : b;
}

/* Spins until ready(arg) (returns 1) or the spin is over (returns 0); *start = when it began. */
static int spin_until(int (*ready)(unsigned), unsigned arg, double *start) {
    if (budget < 0) budget = spin_seconds();
    *start = cl_now();
    double until = *start + budget;
    for (unsigned i = 1; !ready(arg); i++) {
        cpu_relax();
        if (i % 16 == 0 && cl_now() > until) {   /* the clock read (~20 ns) once per 16 pauses */
            if (ready(arg)) break;
            return 0;
        }
    }
    budget = clamp_budget(budget * 2);
    return 1;
}

/* after a spin that ran out: the event came `took` seconds after the spin began */
static void spin_learn(double took) {
    budget = clamp_budget(took < spin_seconds() ? 2 * took : budget / 4);
}

static void chunk(int n, int n_chunks, int c, int *lo, int *hi) {
    *lo = (int)((long)n * c / n_chunks);
    *hi = (int)((long)n * (c + 1) / n_chunks);
}

static unsigned start_gen[MAX_WORKERS];

static void *worker(void *arg) {
    int id = (int)(long)arg;   /* runs chunk id + 1 */
    unsigned seen = start_gen[id];   /* the generation before the region that created it */
    for (;;) {
        double t0;
        int caught = spin_until(gen_moved, seen, &t0);
        /* the region's generation and job are read together under the lock */
        pthread_mutex_lock(&P.mu);
        while (atomic_load(&P.gen) == seen) pthread_cond_wait(&P.wake, &P.mu);
        if (!caught) spin_learn(P.posted - t0);
        seen = atomic_load(&P.gen);
        int n = P.n, n_chunks = P.n_chunks;
        cl_range_fn fn = P.fn;
        void *ctx = P.ctx;
        pthread_mutex_unlock(&P.mu);
        if (id + 1 < n_chunks) {
            int lo, hi;
            chunk(n, n_chunks, id + 1, &lo, &hi);
            fn(ctx, lo, hi);
            atomic_store_explicit(&P.finished, cl_now(), memory_order_relaxed);
            if (atomic_fetch_sub_explicit(&P.pending, 1, memory_order_acq_rel) == 1) {
                pthread_mutex_lock(&P.mu);
                pthread_cond_signal(&P.done);
                pthread_mutex_unlock(&P.mu);
            }
        }
    }
    return NULL;
}

void cl_parallel_for(int n, int grain, cl_range_fn fn, void *ctx) {
    int t = openblas_get_num_threads();
    if (grain < 1) grain = 1;
    if (t > n / grain) t = n / grain;
    if (t > MAX_WORKERS + 1) t = MAX_WORKERS + 1;
    if (t <= 1 || pthread_mutex_trylock(&P.busy) != 0) {
        if (n > 0) fn(ctx, 0, n);
        return;
    }
    while (P.n_workers < t - 1) {   /* grow on demand; workers live for the process */
        pthread_t th;
        start_gen[P.n_workers] = atomic_load(&P.gen);
        if (pthread_create(&th, NULL, worker, (void *)(long)P.n_workers) != 0) break;
        pthread_detach(th);
        P.n_workers++;
    }
    if (t > P.n_workers + 1) t = P.n_workers + 1;
    pthread_mutex_lock(&P.mu);
    P.n = n, P.n_chunks = t, P.fn = fn, P.ctx = ctx, P.posted = cl_now();
    atomic_store(&P.pending, t - 1);
    atomic_fetch_add_explicit(&P.gen, 1, memory_order_release);
    pthread_cond_broadcast(&P.wake);
    pthread_mutex_unlock(&P.mu);
    int lo, hi;
    chunk(n, t, 0, &lo, &hi);
    fn(ctx, lo, hi);
    double t0;
    if (!spin_until(all_done, 0, &t0)) {
        pthread_mutex_lock(&P.mu);
        while (atomic_load(&P.pending) > 0) pthread_cond_wait(&P.done, &P.mu);
        pthread_mutex_unlock(&P.mu);
        spin_learn(atomic_load_explicit(&P.finished, memory_order_relaxed) - t0);
    }
    pthread_mutex_unlock(&P.busy);
}
