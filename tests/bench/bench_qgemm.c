/* bench_qgemm.c — products with quantised weights through cl_mat_gemm (y = x W^T): the integer
 * kernels (mat_q8.h, cl_mat_int8 on) against the dequantised f32 path (off: row kernels for up to
 * 4 rows, dequantised panels + OpenBLAS sgemm above), on the projection shapes of Qwen3-0.6B and
 * SmolLM2-135M, M = 512 (prefill) and M = 1 (decode).  One thread; interleaved rounds, best of
 * each; time is the thread's CPU time.  M = 1 rows also give the weight bytes streamed per second
 * of the integer kernel (compare `bench_gguf --threads 1 --bandwidth`).  Numbers, not a test.
 *   bench_qgemm [ROUNDS [decode]]   (default 5; decode: only M = 1) */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "mat.h"
#include "mat_kern.h"
#include "mat_q8.h"
#include "quant.h"
#include "util.h"

static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv) {
    static const struct { const char *what; int N, K; } shapes[] = {
        {"qwen3-0.6b gate/up", 3072, 1024}, {"qwen3-0.6b down", 1024, 3072}, {"qwen3-0.6b q", 2048, 1024},
        {"smollm2 gate/up", 1536, 576},     {"smollm2 down", 576, 1536},
        {"qwen3-0.6b lm head", 151936, 1024},   /* beyond the caches */
    };
    static const cl_dtype dts[] = {CL_Q8_0, CL_Q4_0, CL_Q4_K, CL_Q5_K, CL_Q6_K};
    int rounds = argc > 1 ? atoi(argv[1]) : 5, decode_only = argc > 2 && !strcmp(argv[2], "decode");
    openblas_set_num_threads(1);
    cl_set_threads(1);
    printf("integer kernels %s vs dequantised f32 (row kernels %s, OpenBLAS %s); one thread, best of %d interleaved\n",
           cl_q8_isa(), cl_row_dot_isa(), openblas_get_corename(), rounds);
    printf("%-20s %-5s %5s %12s %12s %7s %9s\n", "product", "dtype", "M", "f32 GMAC/s", "int8 GMAC/s", "ratio", "int8 GB/s");
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (size_t d = 0; d < sizeof dts / sizeof *dts; d++) {
            int N = shapes[s].N, K = shapes[s].K;
            cl_dtype t = dts[d];
            if (K % cl_dtype_block(t)) continue;   /* smollm2's 576: not whole k-quant blocks */
            float *wf = cl_malloc((size_t)N * K * sizeof *wf), *A = cl_malloc((size_t)512 * K * sizeof *A);
            float *C = cl_malloc((size_t)512 * N * sizeof *C);
            for (size_t i = 0; i < (size_t)N * K; i++) wf[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;
            for (size_t i = 0; i < (size_t)512 * K; i++) A[i] = (float)((i * 40503u) % 777) / 388.0f - 1.0f;
            void *wq = cl_malloc((size_t)cl_dtype_bytes(t, (int64_t)N * K));
            cl_quantize(t, wf, (int64_t)N * K, wq);
            cl_mat W;
            cl_mat_view(&W, t, wq, N, K);
            for (int M = 512; M >= 1; M = M == 512 ? 1 : 0) {
                double best[2] = {1e30, 1e30};
                int reps = M == 1 ? (N > 100000 ? 4 : 50) : 1;
                if (M > 1 && (N > 100000 || decode_only)) continue;
                for (int r = 0; r < rounds; r++)
                    for (int mode = 0; mode < 2; mode++) {
                        cl_mat_int8(mode);
                        double t0 = cpu_now();
                        for (int k = 0; k < reps; k++) cl_mat_gemm(0, 1, M, N, K, 1.0f, A, K, &W, 0.0f, C, N);
                        double dt = (cpu_now() - t0) / reps;
                        best[mode] = dt < best[mode] ? dt : best[mode];
                    }
                double mac = (double)M * N * K * 1e-9;
                double gbs = M == 1 ? (double)cl_mat_bytes(&W) * 1e-9 / best[1] : 0;
                printf("%-20s %-5s %5d %12.2f %12.2f %6.2fx %9.2f\n", shapes[s].what, cl_dtype_name(t), M, mac / best[0],
                       mac / best[1], best[0] / best[1], gbs);
                fflush(stdout);
            }
            free(wf), free(A), free(C), free(wq);
        }
    return 0;
}
