/* mat.c — products with weights in their stored dtype (see mat.h). */
#include "mat.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "mat_bf16.h"
#include "mat_kern.h"
#include "mat_q8.h"
#include "ops.h"
#include "pool.h"
#include "quant.h"
#include "util.h"

cl_mat cl_mat_f32(const float *p, int rows, int cols) {
    return (cl_mat){CL_F32, rows, cols, (size_t)cols * sizeof(float), p};
}

int cl_mat_view(cl_mat *w, cl_dtype dtype, const void *data, int rows, int cols) {
    int64_t rb = cl_dtype_bytes(dtype, cols);
    if (rb < 0 || rows < 0) return -1;
    *w = (cl_mat){dtype, rows, cols, (size_t)rb, data};
    return 0;
}

const float *cl_mat_f32_data(const cl_mat *w) { return w->dtype == CL_F32 ? w->data : NULL; }

size_t cl_mat_bytes(const cl_mat *w) { return (size_t)w->rows * w->row_bytes; }

static inline const uint8_t *row_ptr(const cl_mat *w, int r) {
    return (const uint8_t *)w->data + (size_t)r * w->row_bytes;
}

void cl_mat_row(const cl_mat *w, int r, float *out) {
    cl_convert_to_f32(w->dtype, row_ptr(w, r), 0, w->cols, out);
}

/* Rows of W dequantised to f32 per panel: about this many floats (4 MiB) at a time; smaller
 * panels measured slower (more, narrower sgemm calls: Qwen3-0.6B q8_0 prefill 512, 13 vs 22 tok/s). */
enum { PANEL_FLOATS = 1 << 20, FEW_ROWS = 4 };

/* Dot products of m activation rows (contiguous, K floats each) with rows j0..j1-1 of W:
 * out[i * ldo + j] = alpha * <a_i, W_j> + beta * out[..].  With a kernel for the dtype the stored
 * row is read in place; otherwise it is dequantised into buf (K floats, stays in L1) once for
 * all m rows. */
typedef struct {
    const cl_mat *W;
    const float *a;
    int m, K, ldo;
    float alpha, beta, *out;
    cl_row_dot kern;
} dot_job;

static void dot_rows(void *vj, int j0, int j1) {
    const dot_job *J = vj;
    float *buf = J->kern ? NULL : cl_malloc((size_t)J->K * sizeof *buf);
    for (int j = j0; j < j1; j++) {
        if (!J->kern) cl_mat_row(J->W, j, buf);
        for (int i = 0; i < J->m; i++) {
            const float *ai = J->a + (size_t)i * J->K;
            float s = (J->kern ? J->kern(row_ptr(J->W, j), ai, J->K) : cl_dot_f32(ai, buf, J->K)) * J->alpha;
            float *o = J->out + (size_t)i * J->ldo + j;
            *o = J->beta == 0.0f ? s : s + J->beta * *o;
        }
    }
    free(buf);
}

static float dot_f32_row(const void *row, const float *x, int K) { return cl_dot_f32(row, x, K); }

static _Atomic int int8_on = -1;   /* -1: not read from the environment yet */

int cl_mat_int8(int on) {
    int was = int8_on;
    if (was < 0) {
        const char *e = getenv("CL_QUANT_DOT");
        was = !(e && !strcmp(e, "f32"));
    }
    if (on >= 0) int8_on = on;
    else int8_on = was;
    return was;
}

/* Quantised weights, Linear orientation: integer products on quantised activations (mat_q8.h). */
static void gemm_int8(int trans_a, int M, int N, int K, float alpha, const float *A, int lda, const cl_mat *W,
                      float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    cl_q8act X;
    cl_q8act_make(&X, W->dtype, trans_a, M, K, A, lda);
    cl_q8_gemm(&X, W, N, alpha, beta, C, ldc);
    cl_q8act_free(&X);
}

/* the product through panels of whole rows of W in f32, each one cl_gemm */
void cl_mat_gemm_panels(int trans_a, int trans_w, int M, int N, int K, float alpha, const float *A, int lda,
                        const cl_mat *W, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    int cols = W->cols, pr = PANEL_FLOATS / (cols > 0 ? cols : 1);
    if (pr < 16) pr = 16;
    if (pr > W->rows) pr = W->rows > 0 ? W->rows : 1;
    float *panel = cl_malloc((size_t)pr * cols * sizeof *panel + 1);
    if (trans_w) {   /* W [N,K]: panel = rows j0.. = columns j0.. of C */
        for (int j0 = 0; j0 < N; j0 += pr) {
            int n = N - j0 < pr ? N - j0 : pr;
            cl_convert_to_f32(W->dtype, row_ptr(W, j0), 0, (int64_t)n * cols, panel);
            cl_gemm(trans_a, 1, M, n, K, alpha, A, lda, panel, cols, beta, C + j0, ldc);
        }
    } else {         /* W [K,N]: panel = rows k0.. = a slice of the inner dimension */
        if (K <= 0) cl_gemm(trans_a, 0, M, N, 0, alpha, A, lda, NULL, N, beta, C, ldc);
        for (int k0 = 0; k0 < K; k0 += pr) {
            int kb = K - k0 < pr ? K - k0 : pr;
            cl_convert_to_f32(W->dtype, row_ptr(W, k0), 0, (int64_t)kb * cols, panel);
            const float *Ak = trans_a ? A + (size_t)k0 * lda : A + k0;
            cl_gemm(trans_a, 0, M, N, kb, alpha, Ak, lda, panel, cols, k0 ? 1.0f : beta, C, ldc);
        }
    }
    free(panel);
}

void cl_mat_gemm(int trans_a, int trans_w, int M, int N, int K, float alpha, const float *A, int lda,
                 const cl_mat *W, float beta, float *C, int ldc) {
    /* with cl_gemm_fixed_order on, every product goes to cl_gemm (its fixed order, whatever M) */
    int small = trans_w && M <= FEW_ROWS && K > 0 && !cl_gemm_fixed_order_on();
#ifndef CL_CUDA   /* f32 decode: our threads too (OpenBLAS's spin between calls; see pool.h) */
    int few = small;
#else
    int few = 0;  /* the GPU offload takes f32 products */
#endif
    if (trans_w && cl_q8_supports(W->dtype) && cl_mat_int8(-1) && K == W->cols && N <= W->rows && !cl_gemm_fixed_order_on()) {
        gemm_int8(trans_a, M, N, K, alpha, A, lda, W, beta, C, ldc);
        return;
    }
    if (W->dtype == CL_F32 && !few) {
        cl_gemm(trans_a, trans_w, M, N, K, alpha, A, lda, W->data, W->cols, beta, C, ldc);
        return;
    }
    if (M <= 0 || N <= 0) return;
    float *a_bf16 = NULL;   /* bf16 weights: activations rounded to bf16 whatever the kernel (mat_bf16.h) */
    if (W->dtype == CL_BF16 && trans_w && !cl_gemm_fixed_order_on()) {
        if (cl_bf16_gemm_wins(M, N, K)) {
            cl_bf16_gemm(1, trans_a, M, N, K, alpha, A, lda, W, beta, C, ldc);
            return;
        }
        A = a_bf16 = cl_bf16_rounded(trans_a, M, K, A, lda);
        trans_a = 0, lda = K;
    }
    if (small) {
        /* decode: stream W once; op(A) rows gathered contiguous (on the stack when small) */
        float stack[4096], *a = (size_t)M * K <= 4096 ? stack : cl_malloc((size_t)M * K * sizeof *a);
        for (int i = 0; i < M; i++)
            for (int k = 0; k < K; k++)
                a[(size_t)i * K + k] = trans_a ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
        dot_job J = {W, a, M, K, ldc, alpha, beta, C, W->dtype == CL_F32 ? dot_f32_row : cl_row_dot_for(W->dtype)};
        cl_parallel_for(N, 64, dot_rows, &J);
        if (a != stack) free(a);
    } else {
        cl_mat_gemm_panels(trans_a, trans_w, M, N, K, alpha, A, lda, W, beta, C, ldc);
    }
    free(a_bf16);
}

void cl_mat_linear(float *y, const float *x, const cl_mat *W, int n, int accumulate) {
    cl_mat_gemm(0, 1, n, W->rows, W->cols, 1.0f, x, W->cols, W, accumulate ? 1.0f : 0.0f, y, W->rows);
}
