/* pool.h — a small persistent thread pool for our own kernels (decode matrix-vector products).
 *
 * cl_parallel_for(n, fn, ctx) splits [0, n) into contiguous chunks, one per thread, and runs
 * fn(ctx, lo, hi) on each; the caller runs the first chunk and returns when all are done.  The
 * thread count is OpenBLAS's (cl_set_threads / OPENBLAS_NUM_THREADS; 1 inside cl_compress's
 * own threads), so our kernels and BLAS use the same cores.  Each index is handled by exactly one
 * call, so results do not depend on the thread count when fn's work per index does not.
 * Waiting threads (the workers between regions, the caller for the workers) spin for
 * CL_POOL_SPIN_US microseconds (default in pool.c), then sleep on a condition variable: no
 * busy-waiting for long on a shared machine.  The spin decides speed only, never the results.
 * A call made while another thread holds the pool runs on the caller alone. */
#ifndef CL_POOL_H
#define CL_POOL_H

typedef void (*cl_range_fn)(void *ctx, int lo, int hi);
/* grain: the fewest indices worth a thread of their own. */
void cl_parallel_for(int n, int grain, cl_range_fn fn, void *ctx);

#endif
