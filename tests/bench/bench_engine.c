/* bench_engine.c — inference speed of cl_forward on random-weight models of real shapes.
 *
 *   bench_engine [--threads N] [--ctx 512,2048,8192] [--decode N] [--kv-type f32|f16|bf16] NAME=CONFIG.json ...
 *
 * First a plain cblas_sgemm (1024^3 and a prefill-like shape) gives the machine's peak; then for
 * each model (a Hugging Face config.json): prefill tokens/s at each context length (one
 * prefill, timed at each checkpoint, i.e. the time to read a prompt of that length) and decode
 * tokens/s with that many positions in the cache, with achieved GFLOP/s (matmul FLOPs: the
 * projections, attention scores and values, and the LM head of the positions that produce
 * logits).  Weights are random: speed does not depend on their values.  The KV cache is f32 unless
 * --kv-type says f16 or bf16.  Each prefill line also gives the process CPU seconds and GFLOP/s
 * per CPU second (with --threads 1 the figure to compare on a shared, loaded machine). */
#include <cblas.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "model.h"
#include "model_file.h"
#include "util.h"

static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double sgemm_gflops(int M, int N, int K) {
    float *A = cl_calloc((size_t)M * K, sizeof(float)), *B = cl_calloc((size_t)K * N, sizeof(float));
    float *C = cl_calloc((size_t)M * N, sizeof(float));
    for (size_t i = 0; i < (size_t)M * K; i++) A[i] = (float)(i % 7) * 0.1f;
    for (size_t i = 0; i < (size_t)K * N; i++) B[i] = (float)(i % 5) * 0.1f;
    double best = 0;
    for (int rep = 0; rep < 12; rep++) {   /* best of many: the machine may be shared */
        double t = cl_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, A, K, B, K, 0.0f, C, N);
        double g = 2.0 * M * N * K / (cl_now() - t) / 1e9;
        best = g > best ? g : best;
    }
    free(A); free(B); free(C);
    return best;
}

/* Matmul FLOPs of the projections per token (no attention, no head). */
static double dense_flops(const cl_config *c) {
    double qd = (double)c->n_heads * c->head_dim, kvd = (double)c->n_kv_heads * c->head_dim;
    return 2.0 * c->n_layers * (c->dim * qd * 2 + c->dim * kvd * 2 + 3.0 * c->dim * c->ffn_dim);
}
/* Attention FLOPs (QK^T and PV) of query positions [p0, p1). */
static double attn_flops(const cl_config *c, long p0, long p1) {
    double keys = (double)(p1 * (p1 + 1) - p0 * (p0 + 1)) / 2;   /* sum of (p + 1) */
    return 4.0 * c->n_layers * c->n_heads * c->head_dim * keys;
}

static int bench_model(const char *name, const char *cfg_path, const int *ctx, int n_ctx, int n_dec,
                       double peak, cl_dtype kv_type) {
    cl_config c;
    if (cl_hf_config_load(cfg_path, &c) < 0) {
        fprintf(stderr, "bench_engine: %s\n", cl_error());
        return -1;
    }
    double t = cl_now();
    cl_model *m = cl_model_random(&c, 1);
    if (!m) {
        fprintf(stderr, "bench_engine: %s\n", cl_error());
        return -1;
    }
    printf("%s: %s, dim %d, %d layers, %d/%d heads x %d, ffn %d, vocab %d (random weights, made in %.1f s)\n",
           name, cl_arch_name(c.arch), c.dim, c.n_layers, c.n_heads, c.n_kv_heads, c.head_dim, c.ffn_dim,
           c.n_vocab, cl_now() - t);
    int max_ctx = ctx[n_ctx - 1];
    cl_kv *kv = cl_kv_new_type(m, max_ctx + n_dec, kv_type);
    int32_t *ids = cl_malloc((size_t)max_ctx * sizeof *ids);
    for (int i = 0; i < max_ctx; i++) ids[i] = (int32_t)((i * 2654435761u) % (unsigned)c.n_vocab);
    float *lg = cl_malloc((size_t)c.n_vocab * sizeof *lg);
    double head = 2.0 * c.n_vocab * c.dim, elapsed = 0, flops = 0, cpu = 0;
    int done = 0;
    for (int k = 0; k < n_ctx; k++) {
        cl_batch b = {.n_tokens = ctx[k] - done, .ids = ids + done, .logits = lg};
        t = cl_now();
        double t_cpu = cpu_now();
        if (cl_forward(m, kv, &b) < 0) return -1;
        elapsed += cl_now() - t;
        cpu += cpu_now() - t_cpu;
        flops += dense_flops(&c) * b.n_tokens + attn_flops(&c, done, ctx[k]) + head;
        done = ctx[k];
        printf("  prefill %5d tokens: %8.1f tok/s  %6.1f GFLOP/s (%3.0f%% of sgemm peak)  %.2f s  cpu %.2f s %6.1f GFLOP/s\n",
               done, done / elapsed, flops / elapsed / 1e9, 100 * flops / elapsed / 1e9 / peak, elapsed, cpu,
               flops / cpu / 1e9);
        fflush(stdout);
    }
    for (int k = n_ctx - 1; k >= 0; k--) {   /* longest first: truncating only shortens */
        cl_kv_truncate(kv, ctx[k]);
        double f = 0;
        t = cl_now();
        for (int i = 0; i < n_dec; i++) {
            int32_t id = ids[i];
            cl_batch b = {.n_tokens = 1, .ids = &id, .logits = lg};
            if (cl_forward(m, kv, &b) < 0) return -1;
            f += dense_flops(&c) + attn_flops(&c, ctx[k] + i, ctx[k] + i + 1) + head;
        }
        double s = cl_now() - t;
        printf("  decode at %5d: %8.2f tok/s  %6.1f GFLOP/s  (%d tokens, kv %zu MiB)\n", ctx[k], n_dec / s,
               f / s / 1e9, n_dec, cl_kv_bytes(kv) >> 20);
        fflush(stdout);
    }
    free(ids);
    free(lg);
    cl_kv_free(kv);
    cl_model_free(m);
    return 0;
}

int main(int argc, char **argv) {
    int threads = 0, n_dec = 8, ctx[8] = {512, 2048, 8192}, n_ctx = 3, i = 1;
    cl_dtype kv_type = CL_F32;
    cl_set_progname("bench_engine");
    cl_cli_set_usage("usage: bench_engine [--threads N] [--ctx A,B,..] [--decode N] [--kv-type T] NAME=CONFIG.json ...\n");
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *opt = argv[i], *v = i + 1 < argc ? argv[++i] : "";
        if (!strcmp(opt, "--threads")) threads = (int)cl_arg_long(v, opt, 1, 1024);
        else if (!strcmp(opt, "--decode")) n_dec = (int)cl_arg_long(v, opt, 1, 1 << 20);
        else if (!strcmp(opt, "--kv-type")) kv_type = cl_arg_float_dtype(v, opt);
        else if (!strcmp(opt, "--ctx")) n_ctx = cl_arg_lengths(v, opt, ctx, 8);
        else cl_usage_error("unknown option %s", opt);
    }
    for (int k = 1; k < n_ctx; k++)
        if (ctx[k] <= ctx[k - 1]) cl_usage_error("--ctx must increase");
    cl_set_threads(threads);
    double peak = sgemm_gflops(1024, 1024, 1024), shaped = sgemm_gflops(512, 1536, 576);
    printf("engine bench (random weights: speed does not depend on weight values), %d BLAS threads,\n"
           "  OpenBLAS kernels for %s (OPENBLAS_CORETYPE overrides)\n",
           openblas_get_num_threads(), openblas_get_corename());
    printf("  cblas_sgemm peak: %.1f GFLOP/s (1024^3), %.1f GFLOP/s (512x1536x576); kv cache %s\n", peak, shaped,
           cl_dtype_name(kv_type));
    for (; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq) {
            fprintf(stderr, "bench_engine: expected NAME=CONFIG.json, got %s\n", argv[i]);
            return 2;
        }
        *eq = 0;
        if (bench_model(argv[i], eq + 1, ctx, n_ctx, n_dec, peak, kv_type) < 0) return 1;
    }
    return 0;
}
