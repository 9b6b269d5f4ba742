/* test_pool.c — cl_parallel_for (pool.h): every index handled exactly once in many regions, a
 * call from inside a region runs on its caller, and the f32 decode product (mat.h, on the pool)
 * gives the same bits on 1, 2 and 3 threads, equal to cl_dot_f32 row by row. */
#include <cblas.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "mat.h"
#include "ops.h"
#include "pool.h"
#include "t.h"

enum { N = 1000, MAXC = N };

typedef struct {
    atomic_int hits[N];
    atomic_int n_calls;
} job;

static void count(void *vj, int lo, int hi) {
    job *J = vj;
    atomic_fetch_add(&J->n_calls, 1);
    for (int i = lo; i < hi; i++) atomic_fetch_add(&J->hits[i], 1);
}

static void check(int threads, int grain) {
    job *J = calloc(1, sizeof *J);
    openblas_set_num_threads(threads);
    int want = N / grain < threads ? N / grain : threads;   /* calls per region: one per thread used */
    if (want < 1) want = 1;
    for (int rep = 0; rep < 200; rep++) {   /* many regions: the workers' wake-up and hand-over */
        memset(J->hits, 0, sizeof J->hits);
        J->n_calls = 0;
        cl_parallel_for(N, grain, count, J);
        int once = 1;
        for (int i = 0; i < N; i++) once &= J->hits[i] == 1;
        if (!once || J->n_calls != want) {
            OK(0, "%d threads, grain %d, region %d: an index not handled exactly once, or %d calls (want %d)", threads,
               grain, rep, (int)J->n_calls, want);
            free(J);
            return;
        }
    }
    OK(1, "%d threads, grain %d: every index exactly once, %d call(s) per region, 200 regions", threads, grain, want);
    free(J);
}

/* a region started from inside a region: runs on its caller, still every index once */
static atomic_int nested_bad;
static void outer(void *vj, int lo, int hi) {
    atomic_fetch_add(&((job *)vj)->n_calls, 1);
    for (int i = lo; i < hi; i++) {
        job *in = calloc(1, sizeof *in);
        cl_parallel_for(N, 1, count, in);
        for (int k = 0; k < N; k++)
            if (in->hits[k] != 1) atomic_fetch_add(&nested_bad, 1);
        free(in);
    }
}

static void check_decode(void) {
    enum { R = 777, K = 1027 };   /* K: not a multiple of 16, so the tail lanes run too */
    float *w = malloc((size_t)R * K * sizeof *w), x[K], y[3][R], ref[R];
    unsigned s = 12345;
    for (size_t i = 0; i < (size_t)R * K; i++) s = s * 1664525u + 1013904223u, w[i] = (float)((int)(s >> 9) % 2001 - 1000) / 997.0f;
    for (int k = 0; k < K; k++) x[k] = (float)(k % 37 - 18) / 13.0f;
    for (int r = 0; r < R; r++) ref[r] = cl_dot_f32(w + (size_t)r * K, x, K);
    cl_mat W = cl_mat_f32(w, R, K);
    for (int t = 1; t <= 3; t++) {
        openblas_set_num_threads(t);
        cl_mat_linear(y[t - 1], x, &W, 1, 0);
    }
    OK(!memcmp(y[0], ref, sizeof ref), "f32 decode product, 1 thread: cl_dot_f32 row by row, bit for bit");
    OK(!memcmp(y[1], y[0], sizeof ref) && !memcmp(y[2], y[0], sizeof ref), "f32 decode product: 2 and 3 threads, the same bits as 1");
    free(w);
}

int main(void) {
    for (int t = 1; t <= 3; t++) {
        check(t, 1);
        check(t, 64);
        check(t, 400);    /* fewer threads than asked: N / grain = 2 */
        check(t, 5000);   /* grain above N: the caller alone */
    }
    openblas_set_num_threads(2);
    job *o = calloc(1, sizeof *o);
    cl_parallel_for(4, 1, outer, o);
    OK(nested_bad == 0 && o->n_calls == 2, "regions inside regions (%d outer calls): every inner index exactly once (%d misses)", (int)o->n_calls, (int)nested_bad);
    free(o);
    check_decode();
    return t_done();
}
