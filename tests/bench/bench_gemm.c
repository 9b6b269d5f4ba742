/* bench_gemm.c — the compressor's fixed-order product (gemm_fixed.h) against OpenBLAS's sgemm
 * (single-threaded, whatever kernel OPENBLAS_CORETYPE or the CPU picks) on the shapes a
 * compression batch multiplies: the projections of tinystories-656k and SmolLM2-135M over 512
 * rows, LoRA rank 8, and one attention block.  Interleaved rounds, best of each; time is the
 * thread's CPU time (a loaded machine moves it less than wall time).  Numbers, not a test. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "gemm_fixed.h"
#include "util.h"

static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(void) {
    static const struct { const char *what; int M, N, K; } shapes[] = {
        {"tinystories q/o", 512, 128, 128},   {"tinystories gate/up", 512, 384, 128},
        {"tinystories down", 512, 128, 384},  {"smollm2 q/o", 512, 576, 576},
        {"smollm2 gate/up", 512, 1536, 576},  {"smollm2 down", 512, 576, 1536},
        {"LoRA x A^T (r 8)", 512, 8, 576},    {"LoRA t B^T (r 8)", 512, 576, 8},
        {"attention Q K^T", 40, 30, 64},      {"attention P V", 40, 64, 30},
    };
    openblas_set_num_threads(1);
    printf("cl_gemm_fixed variant %s vs OpenBLAS sgemm (%s), one thread, best of 5 interleaved rounds\n",
           cl_gemm_fixed_isa(), openblas_get_corename());
    printf("%-22s %5s %5s %5s %12s %12s %7s\n", "product", "M", "N", "K", "BLAS GF/s", "fixed GF/s", "ratio");
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int M = shapes[s].M, N = shapes[s].N, K = shapes[s].K;
        float *A = cl_malloc((size_t)M * K * sizeof *A), *B = cl_malloc((size_t)N * K * sizeof *B);
        float *C = cl_malloc((size_t)M * N * sizeof *C);
        for (size_t i = 0; i < (size_t)M * K; i++) A[i] = (float)(i % 97) / 97.0f - 0.5f;
        for (size_t i = 0; i < (size_t)N * K; i++) B[i] = (float)(i % 89) / 89.0f - 0.5f;
        double flop = 2.0 * M * N * K, best[2] = {1e30, 1e30};
        int reps = (int)(5e8 / flop) + 1;
        for (int round = 0; round < 5; round++)
            for (int which = 0; which < 2; which++) {
                double t = cpu_now();
                for (int r = 0; r < reps; r++)
                    if (which) cl_gemm_fixed(0, 1, M, N, K, 1.0f, A, K, B, K, 0.0f, C, N);
                    else cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, A, K, B, K, 0.0f, C, N);
                t = (cpu_now() - t) / reps;
                if (t < best[which]) best[which] = t;
            }
        printf("%-22s %5d %5d %5d %12.1f %12.1f %7.2f\n", shapes[s].what, M, N, K, flop / best[0] * 1e-9,
               flop / best[1] * 1e-9, best[0] / best[1]);
        free(A);
        free(B);
        free(C);
    }
    return 0;
}
