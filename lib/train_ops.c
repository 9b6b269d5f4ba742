/* train_ops.c — backward kernels of the engine's ops (see train_ops.h). */
#include "train_ops.h"
#include <math.h>
#include <string.h>
#include "ops.h"

/* y_i = x_i r w_i, r = (mean x^2 + eps)^-1/2  =>  dx_i = r g_i - x_i r^3 (sum_j g_j x_j) / D,
 * g = dy * w. */
void tr_rmsnorm_bwd(const float *x, const float *w, const float *dy, int T, int D, float eps,
                    float *dx) {
    for (int t = 0; t < T; t++) {
        const float *xt = x + (long)t * D, *dyt = dy + (long)t * D;
        float *dxt = dx + (long)t * D;
        double ss = 0, dot = 0;
        for (int i = 0; i < D; i++) {
            ss += (double)xt[i] * xt[i];
            dot += (double)dyt[i] * w[i] * xt[i];
        }
        float r = (float)(1.0 / sqrt(ss / D + eps));
        float c = (float)(dot * r * r * r / D);
        for (int i = 0; i < D; i++) dxt[i] += r * dyt[i] * w[i] - xt[i] * c;
    }
}

void tr_rope_bwd(float *dx, int T, int n_heads, int hd, const float *cos_t, const float *sin_t,
                 int interleaved, float *neg_sin) {
    long n = (long)T * (hd / 2);
    for (long i = 0; i < n; i++) neg_sin[i] = -sin_t[i];
    cl_rope_apply(dx, T, n_heads, hd, cos_t, neg_sin, interleaved);
}

void tr_linear_bwd_x(const float *dy, const float *W, int T, int in, int out, float *dx) {
    cl_gemm(0, 0, T, in, out, 1.0f, dy, out, W, in, 1.0f, dx, in);
}

void tr_mat_bwd_x(const float *dy, const cl_mat *W, int T, float *dx) {
    cl_mat_gemm(0, 0, T, W->cols, W->rows, 1.0f, dy, W->rows, W, 1.0f, dx, W->cols);
}

void tr_linear_bwd_w(const float *dy, const float *x, int T, int in, int out, float *dW, float *db) {
    if (dW) cl_gemm(1, 0, out, in, T, 1.0f, dy, out, x, in, 1.0f, dW, in);
    if (db)
        for (int t = 0; t < T; t++)
            for (int o = 0; o < out; o++) db[o] += dy[(long)t * out + o];
}

void tr_lora_bwd(const float *x, const float *u, const float *A, const float *B, int r, float scale,
                 int T, int in, int out, const float *dy, float *dx, float *dA, float *dB, float *du) {
    cl_gemm(0, 0, T, r, out, scale, dy, out, B, r, 0.0f, du, r);        /* du = scale dy B */
    if (dB) cl_gemm(1, 0, out, r, T, scale, dy, out, u, r, 1.0f, dB, r);
    if (dA) cl_gemm(1, 0, r, in, T, 1.0f, du, r, x, in, 1.0f, dA, in);
    if (dx) cl_gemm(0, 0, T, in, r, 1.0f, du, r, A, in, 1.0f, dx, in);
}

void tr_attn_bwd(const float *q, const float *k, const float *v, const float *dout, int n_seq,
                 const int *seq_len, const int *q0, int H, int KV, int hd, int window, float scale,
                 float *dq, float *dk, float *dv, float *scratch) {
    const int qs = H * hd, ks = KV * hd, grp = H / KV;
    const float sc = scale;
    long t0 = 0;
    for (int s = 0; s < n_seq; s++) {
        /* query rows i0 .. L-1 of the sequence (the rows above have no output gradient) */
        int L = seq_len[s], i0 = q0 ? q0[s] : 0, M = L - i0;
        if (M <= 0) { t0 += L; continue; }
        float *P = scratch, *ds = scratch + (long)M * L;
        for (int h = 0; h < H; h++) {
            int g = h / grp;
            const float *qh = q + (t0 + i0) * qs + (long)h * hd, *doh = dout + (t0 + i0) * qs + (long)h * hd;
            const float *kg = k + t0 * ks + (long)g * hd, *vg = v + t0 * ks + (long)g * hd;
            /* P = causal (windowed) softmax(sc q_h k_g^T): the probabilities of cl_attention_win's
             * online softmax (attention.c) up to float rounding; row r is query i0 + r */
            cl_gemm(0, 1, M, L, hd, sc, qh, qs, kg, ks, 0.0f, P, L);
            for (int r = 0; r < M; r++) {
                int i = i0 + r;
                float *row = P + (long)r * L;
                int lo = window > 0 && i - window + 1 > 0 ? i - window + 1 : 0;
                cl_softmax(row + lo, 1, i + 1 - lo);
                memset(row, 0, (size_t)lo * sizeof *row);
                memset(row + i + 1, 0, (size_t)(L - i - 1) * sizeof *row);
            }
            /* dP = dout_h V^T ; dV += P^T dout_h */
            cl_gemm(0, 1, M, L, hd, 1.0f, doh, qs, vg, ks, 0.0f, ds, L);
            cl_gemm(1, 0, L, hd, M, 1.0f, P, L, doh, qs, 1.0f, dv + t0 * ks + (long)g * hd, ks);
            /* dS = P * (dP - rowsum(P dP)) * sc */
            for (int r = 0; r < M; r++) {
                int i = i0 + r;
                const float *p = P + (long)r * L;
                float *d = ds + (long)r * L;
                double dot = 0;
                for (int j = 0; j <= i; j++) dot += (double)p[j] * d[j];
                for (int j = 0; j <= i; j++) d[j] = p[j] * (d[j] - (float)dot) * sc;
                for (int j = i + 1; j < L; j++) d[j] = 0.0f;
            }
            cl_gemm(0, 0, M, hd, L, 1.0f, ds, L, kg, ks, 1.0f, dq + (t0 + i0) * qs + (long)h * hd, qs);
            cl_gemm(1, 0, L, hd, M, 1.0f, ds, L, qh, qs, 1.0f, dk + t0 * ks + (long)g * hd, ks);
        }
        t0 += L;
    }
}

void tr_geglu_bwd(const float *g, const float *u, const float *dh, long n, float *dg, float *du) {
    const float k = 1.5957691216057308f;   /* 2 sqrt(2/pi), as cl_geglu */
    for (long i = 0; i < n; i++) {
        float x = g[i], a = k * (x + 0.044715f * x * x * x);
        float s = 1.0f / (1.0f + expf(-a)), gelu = x * s;
        float dgelu = s + x * s * (1.0f - s) * k * (1.0f + 3.0f * 0.044715f * x * x);
        dg[i] += dh[i] * u[i] * dgelu;
        du[i] += dh[i] * gelu;
    }
}

void tr_swiglu_bwd(const float *g, const float *u, const float *dh, long n, float *dg, float *du) {
    for (long i = 0; i < n; i++) {
        float sg = 1.0f / (1.0f + expf(-g[i]));
        float silu = g[i] * sg;
        dg[i] += dh[i] * u[i] * sg * (1.0f + g[i] * (1.0f - sg));
        du[i] += dh[i] * silu;
    }
}

double tr_smooth_l1(const float *a, const float *b, long n, float inv_scale, float beta,
                    float weight, float *da) {
    double sum = 0;
    for (long i = 0; i < n; i++) {
        float d = (a[i] - b[i]) * inv_scale, ad = fabsf(d);
        float l, g;
        if (ad < beta) { l = 0.5f * d * d / beta; g = d / beta; }
        else { l = ad - 0.5f * beta; g = d > 0 ? 1.0f : -1.0f; }
        sum += l;
        if (da) da[i] += weight * g * inv_scale;
    }
    return sum * weight;
}

