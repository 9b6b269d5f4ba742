/* bench_gguf.c — prefill and decode speed of cl_forward on one model file, weights as stored
 * (the side of the llama.cpp comparison, tests/bench/peer.sh, that runs our engine).
 *
 *   bench_gguf [--threads N] [--prefill 512,2048,4096] [--decode N] [--repeat R] [--kv-type T] MODEL
 *
 * The KV cache is f16 unless --kv-type says f32 or bf16 (llama.cpp's default cache is f16 too).
 *
 * First an untimed warm-up: a prefill of the first length and one decode step (pages the mapped
 * weights in, sizes the buffers).  Then for each prefill length P: R times (best kept, min and
 * max printed) a prefill of P token ids from an empty cache; then R times N decode steps after a
 * prefill of the first length (the cache truncated to it).  Token ids are i * 7919 mod n_vocab,
 * the same the peer script gives llama.cpp.  Lines (peer.sh parses them):
 *   model PATH: vocab V, N threads, kv T
 *   kernels: openblas CONFIG, core CORE[, CL_KERNELS=X][, NAME ISA]...
 *   read per decoded token: W MiB of weights (lm_head H MiB) + K MiB of KV cache at position P
 *   prefill P: BEST tok/s (min MIN max MAX)
 *   decode after P: BEST tok/s (min MIN max MAX)
 * "kernels" names every kernel family the library reports: each `const char *cl_NAME_isa(void)`
 * in libcl.a, listed by nm when this file is built (the Makefile writes build/kernel_isa.h), so a
 * new family shows up without editing this file.  Such a function must take no argument.
 * The KV bytes are those a decode step at position P reads (all layers, K and V, full attention).
 *
 *   bench_gguf [--threads N] --bandwidth
 * measures the machine's read bandwidth: 1 GiB summed by N threads (best of 9), in GB/s, as
 * rows of 1024 floats (4 KiB, one page; the vector of ones, 4 KiB too, stays in L1) each dotted
 * by cl_dot_f32, the way decode streams most f32 weights.  Rows of 4096 floats (a 16 KiB vector,
 * best of 5) read less on this Zen4, below what f32 decode itself streams: side by side under
 * chrt -f 1, 1 thread 21.9/21.5 -> 26.1/25.8 GB/s, 2 threads 42.9/41.3/46.9 -> 48.6/57.8/56.7,
 * while one thread of cl_mat_linear over mapped 1024x3072 f32 matrices read 26.5-26.9. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "pool.h"
#include "model_file.h"
#include "ops.h"
#include "util.h"

#define ISA(f) const char *f(void);
#include "kernel_isa.h"
#undef ISA

static void stats(const double *v, int n, double *best, double *lo) {
    *best = 0, *lo = 1e300;
    for (int i = 0; i < n; i++) *best = v[i] > *best ? v[i] : *best, *lo = v[i] < *lo ? v[i] : *lo;
}

/* One ", NAME ISA" per kernel family of the library (see the head comment). */
static void print_kernels(void) {
    const char *env = getenv("OPENBLAS_CORETYPE");
    printf("kernels: openblas %s, core %s", openblas_get_config(), openblas_get_corename());
    if (env) printf(" (OPENBLAS_CORETYPE=%s)", env);
    if ((env = getenv("CL_KERNELS"))) printf(", CL_KERNELS=%s", env);
#define ISA(f) printf(", %.*s %s", (int)sizeof #f - 8, #f + 3, f());   /* cl_NAME_isa -> NAME */
#include "kernel_isa.h"
#undef ISA
    printf("\n");
}

static size_t weight_bytes(const cl_model *m) {
    size_t b = cl_mat_bytes(&m->output);
    for (int l = 0; l < m->cfg.n_layers; l++) {
        const cl_layer *y = &m->layers[l];
        b += cl_mat_bytes(&y->wq) + cl_mat_bytes(&y->wk) + cl_mat_bytes(&y->wv) + cl_mat_bytes(&y->wo) +
             cl_mat_bytes(&y->w_gate) + cl_mat_bytes(&y->w_up) + cl_mat_bytes(&y->w_down);
    }
    return b;
}

typedef struct {
    const float *p;
    double sum[64];
} bw_job;
enum { BW_ROW = 1024 };
static float ones[BW_ROW];

static void bw_sum(void *vj, int lo, int hi) {
    bw_job *J = vj;
    double s = 0;
    for (size_t r = (size_t)lo; r < (size_t)hi; r++) s += cl_dot_f32(J->p + r * BW_ROW, ones, BW_ROW);   /* vectorised */
    J->sum[lo % 64] += s;
}

/* GB/s reading 1 GiB of floats on the pool's threads (contiguous chunks of 4 KiB rows). */
static double bandwidth(void) {
    size_t n = (size_t)1 << 28;
    float *p = cl_malloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = (float)(i & 7);
    double best = 0;
    bw_job J = {p, {0}};
    for (int j = 0; j < BW_ROW; j++) ones[j] = 1;
    for (int r = 0; r < 9; r++) {
        double t = cl_now();
        cl_parallel_for((int)(n / BW_ROW), 1, bw_sum, &J);
        double g = (double)n * sizeof *p / (cl_now() - t) / 1e9;
        best = g > best ? g : best;
    }
    free(p);
    return best;
}

int main(int argc, char **argv) {
    int threads = 0, n_dec = 16, rep = 3, pre[8] = {512}, n_pre = 1, i = 1;
    cl_dtype kv_type = CL_F16;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--decode") && i + 1 < argc) n_dec = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--repeat") && i + 1 < argc) rep = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--kv-type") && i + 1 < argc) {
            i++;
            kv_type = !strcmp(argv[i], "f32") ? CL_F32 : !strcmp(argv[i], "bf16") ? CL_BF16 : CL_F16;
            if (kv_type == CL_F16 && strcmp(argv[i], "f16")) {
                fprintf(stderr, "bench_gguf: --kv-type %s unsupported (f32, f16, bf16 are)\n", argv[i]);
                return 2;
            }
        }
        else if (!strcmp(argv[i], "--bandwidth")) {
            cl_set_threads(threads);
            printf("read bandwidth: %.1f GB/s (%d threads)\n", bandwidth(), openblas_get_num_threads());
            return 0;
        }
        else if (!strcmp(argv[i], "--prefill") && i + 1 < argc) {
            n_pre = 0;
            for (char *p = argv[++i]; *p && n_pre < 8; p += *p == ',') pre[n_pre++] = (int)strtol(p, &p, 10);
        } else break;
    }
    if (i + 1 != argc || rep < 1 || rep > 32 || n_dec < 1 || n_pre < 1) {
        fprintf(stderr, "usage: bench_gguf [--threads N] [--prefill A,B,..] [--decode N] [--repeat R] [--kv-type T] MODEL\n");
        return 2;
    }
    cl_set_threads(threads);
    cl_model_file *mf = cl_model_file_open(argv[i]);
    cl_model *m = mf ? cl_model_load(mf) : NULL;
    cl_model_file_close(mf);
    if (!m) {
        fprintf(stderr, "bench_gguf: %s\n", cl_error());
        return 1;
    }
    int max_p = 0, V = m->cfg.n_vocab;
    for (int k = 0; k < n_pre; k++) max_p = pre[k] > max_p ? pre[k] : max_p;
    printf("model %s: vocab %d, %d threads, kv %s\n", argv[i], V, openblas_get_num_threads(), cl_dtype_name(kv_type));
    print_kernels();
    const cl_config *c = &m->cfg;
    int mid = pre[0] + n_dec / 2;   /* mean position of the decode steps */
    double kv_bytes = (double)c->n_layers * 2 * c->n_kv_heads * c->head_dim * mid * (double)cl_dtype_bytes(kv_type, 1);
    printf("read per decoded token: %.1f MiB of weights (lm_head %.1f MiB) + %.1f MiB of KV cache at position %d\n",
           weight_bytes(m) / 1048576.0, cl_mat_bytes(&m->output) / 1048576.0, kv_bytes / 1048576.0, mid);
    fflush(stdout);
    cl_kv *kv = cl_kv_new_type(m, max_p + n_dec, kv_type);
    if (!kv) {
        fprintf(stderr, "bench_gguf: %s\n", cl_error());
        return 1;
    }
    int32_t *ids = cl_malloc((size_t)(max_p + n_dec) * sizeof *ids);
    for (int k = 0; k < max_p + n_dec; k++) ids[k] = (int32_t)(((int64_t)k * 7919) % V);
    float *lg = cl_malloc((size_t)V * sizeof *lg);
    {   /* warm-up, untimed */
        cl_batch b = {.n_tokens = pre[0], .ids = ids, .logits = lg};
        cl_batch d = {.n_tokens = 1, .ids = ids + pre[0], .logits = lg};
        if (cl_forward(m, kv, &b) < 0 || cl_forward(m, kv, &d) < 0) return 1;
    }
    double v[32], best, lo;
    for (int k = 0; k < n_pre; k++) {
        for (int r = 0; r < rep; r++) {
            cl_kv_truncate(kv, 0);
            cl_batch b = {.n_tokens = pre[k], .ids = ids, .logits = lg};
            double t = cl_now();
            if (cl_forward(m, kv, &b) < 0) return 1;
            v[r] = pre[k] / (cl_now() - t);
        }
        stats(v, rep, &best, &lo);
        printf("prefill %d: %.1f tok/s (min %.1f max %.1f)\n", pre[k], best, lo, best);
        fflush(stdout);
    }
    for (int r = 0; r < rep; r++) {
        cl_kv_truncate(kv, pre[0]);
        if (cl_kv_len(kv) < pre[0]) {
            cl_kv_truncate(kv, 0);
            cl_batch b = {.n_tokens = pre[0], .ids = ids, .logits = lg};
            if (cl_forward(m, kv, &b) < 0) return 1;
        }
        double t = cl_now();
        for (int d = 0; d < n_dec; d++) {
            cl_batch b = {.n_tokens = 1, .ids = ids + pre[0] + d, .logits = lg};
            if (cl_forward(m, kv, &b) < 0) return 1;
        }
        v[r] = n_dec / (cl_now() - t);
    }
    stats(v, rep, &best, &lo);
    printf("decode after %d: %.2f tok/s (min %.2f max %.2f)\n", pre[0], best, lo, best);
    free(ids);
    free(lg);
    cl_kv_free(kv);
    cl_model_free(m);
    return 0;
}
