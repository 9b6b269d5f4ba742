/* bench_bf16.c — products with bf16 weights: the vdpbf16ps kernel (mat_bf16.h) against
 * dequantised panels + OpenBLAS sgemm (cl_mat_gemm_panels) on SmolLM2-135M and Qwen3-0.6B
 * projection shapes, M rows of activations.  Wall time, interleaved rounds, best of each;
 * THREADS from the first argument (default 1).  Numbers, not a test.
 *
 *   bench_bf16 [THREADS [M,M,..]] */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mat_bf16.h"
#include "tensor.h"
#include "util.h"

int main(int argc, char **argv) {
    static const struct { const char *what; int N, K; } shapes[] = {
        {"smollm2 q/o", 576, 576},     {"smollm2 k/v", 192, 576},      {"smollm2 gate/up", 1536, 576},
        {"smollm2 down", 576, 1536},   {"smollm2 lm_head", 49152, 576}, {"qwen3 q", 2048, 1024},
        {"qwen3 k/v", 1024, 1024},     {"qwen3 gate/up", 3072, 1024},  {"qwen3 down", 1024, 3072},
    };
    int threads = argc > 1 ? atoi(argv[1]) : 1, Ms[16] = {5, 16, 64, 512}, nM = 4;
    if (argc > 2) {
        nM = 0;
        for (char *p = argv[2]; *p && nM < 16; p += *p == ',') Ms[nM++] = (int)strtol(p, &p, 10);
    }
    cl_set_threads(threads);
    printf("bf16 weights: vdpbf16ps kernel (%s) vs dequantised panels + sgemm (%s), %d threads, best of 5\n",
           cl_bf16_simd() ? "avx512bf16" : "portable C", openblas_get_corename(), openblas_get_num_threads());
    printf("%-16s %5s %6s %5s %10s %10s %7s\n", "product", "M", "N", "K", "sgemm GF/s", "bf16 GF/s", "ratio");
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (int mi = 0; mi < nM; mi++) {
            int M = Ms[mi], N = shapes[s].N, K = shapes[s].K;
            uint16_t *w = cl_malloc((size_t)N * K * 2);
            float *A = cl_malloc((size_t)M * K * 4), *C = cl_malloc((size_t)M * N * 4);
            for (size_t i = 0; i < (size_t)N * K; i++) w[i] = cl_f32_to_bf16((float)((i * 2654435761u) % 1000) / 1000 - 0.5f);
            for (size_t i = 0; i < (size_t)M * K; i++) A[i] = (float)((i * 40503u) % 1000) / 1000 - 0.5f;
            cl_mat W;
            cl_mat_view(&W, CL_BF16, w, N, K);
            double best[2] = {1e30, 1e30};
            int reps = (int)(2e9 / ((double)M * N * K) + 1);
            if (reps > 50) reps = 50;
            for (int round = 0; round < 5; round++)
                for (int v = 0; v < 2; v++) {
                    double t = cl_now();
                    for (int r = 0; r < reps; r++) {
                        if (v) cl_bf16_gemm(1, 0, M, N, K, 1.0f, A, K, &W, 0.0f, C, N);
                        else cl_mat_gemm_panels(0, 1, M, N, K, 1.0f, A, K, &W, 0.0f, C, N);
                    }
                    t = (cl_now() - t) / reps;
                    if (t < best[v]) best[v] = t;
                }
            double fl = 2.0 * M * N * K / 1e9;
            printf("%-16s %5d %6d %5d %10.1f %10.1f %6.2fx\n", shapes[s].what, M, N, K, fl / best[0], fl / best[1],
                   best[0] / best[1]);
            fflush(stdout);
            free(w), free(A), free(C);
        }
    return 0;
}
