/* train_ops.c — forward/backward building blocks for training (see train_ops.h). */
#include "train_ops.h"
#include <cblas.h>
#include <math.h>
#include <string.h>
#include "ops.h"

void tr_rmsnorm_fwd(const float *x, const float *w, int T, int D, float eps, float *y, float *rstd) {
    for (int t = 0; t < T; t++) {
        const float *xt = x + (long)t * D;
        float *yt = y + (long)t * D;
        double ss = 0;
        for (int i = 0; i < D; i++) ss += (double)xt[i] * xt[i];
        float r = (float)(1.0 / sqrt(ss / D + eps));
        rstd[t] = r;
        for (int i = 0; i < D; i++) yt[i] = xt[i] * r * w[i];
    }
}

/* y_i = x_i r w_i, r = (mean x^2 + eps)^-1/2  =>  dx_i = r g_i - x_i r^3 (sum_j g_j x_j) / D,
 * g = dy * w. */
void tr_rmsnorm_bwd(const float *x, const float *w, const float *rstd, const float *dy, int T, int D,
                    float *dx) {
    for (int t = 0; t < T; t++) {
        const float *xt = x + (long)t * D, *dyt = dy + (long)t * D;
        float *dxt = dx + (long)t * D;
        float r = rstd[t];
        double dot = 0;
        for (int i = 0; i < D; i++) dot += (double)dyt[i] * w[i] * xt[i];
        float c = (float)(dot * r * r * r / D);
        for (int i = 0; i < D; i++) dxt[i] += r * dyt[i] * w[i] - xt[i] * c;
    }
}

void tr_rope(float *x, int T, const int *pos, int n_heads, int hd, float theta, int interleaved,
             int inverse) {
    int half = hd / 2;
    for (int t = 0; t < T; t++) {
        for (int i = 0; i < half; i++) {
            double freq = pow(theta, -2.0 * i / hd);
            double ang = pos[t] * freq;
            float c = (float)cos(ang), s = (float)sin(ang);
            if (inverse) s = -s;
            int ia = interleaved ? 2 * i : i, ib = interleaved ? 2 * i + 1 : i + half;
            for (int h = 0; h < n_heads; h++) {
                float *p = x + (long)t * n_heads * hd + (long)h * hd;
                float a = p[ia], b = p[ib];
                p[ia] = a * c - b * s;
                p[ib] = a * s + b * c;
            }
        }
    }
}

void tr_linear_fwd(const float *x, const float *W, const float *b, int T, int in, int out, float *y) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, out, in, 1.0f, x, in, W, in, 0.0f, y, out);
    if (b)
        for (int t = 0; t < T; t++)
            for (int o = 0; o < out; o++) y[(long)t * out + o] += b[o];
}

void tr_linear_bwd_x(const float *dy, const float *W, int T, int in, int out, float *dx) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, in, out, 1.0f, dy, out, W, in, 1.0f,
                dx, in);
}

void tr_linear_fwd_w(const float *x, const cl_mat *W, const float *b, int T, float *y) {
    const float *f = cl_mat_f32_data(W);
    if (f) {
        tr_linear_fwd(x, f, b, T, W->cols, W->rows, y);
        return;
    }
    cl_mat_gemm(0, 1, T, W->rows, W->cols, 1.0f, x, W->cols, W, 0.0f, y, W->rows);
    if (b)
        for (int t = 0; t < T; t++)
            for (int o = 0; o < W->rows; o++) y[(long)t * W->rows + o] += b[o];
}

void tr_linear_bwd_x_w(const float *dy, const cl_mat *W, int T, float *dx) {
    const float *f = cl_mat_f32_data(W);
    if (f) tr_linear_bwd_x(dy, f, T, W->cols, W->rows, dx);
    else cl_mat_gemm(0, 0, T, W->cols, W->rows, 1.0f, dy, W->rows, W, 1.0f, dx, W->cols);
}

void tr_linear_bwd_w(const float *dy, const float *x, int T, int in, int out, float *dW, float *db) {
    if (dW)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, T, 1.0f, dy, out, x, in, 1.0f,
                    dW, in);
    if (db)
        for (int t = 0; t < T; t++)
            for (int o = 0; o < out; o++) db[o] += dy[(long)t * out + o];
}

void tr_lora_fwd(const float *x, const float *A, const float *B, int r, float scale, int T, int in,
                 int out, float *u, float *y) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, r, in, 1.0f, x, in, A, in, 0.0f, u, r);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, out, r, scale, u, r, B, r, 1.0f, y, out);
}

void tr_lora_bwd(const float *x, const float *u, const float *A, const float *B, int r, float scale,
                 int T, int in, int out, const float *dy, float *dx, float *dA, float *dB, float *du) {
    /* du = scale dy B  [T, r] */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, r, out, scale, dy, out, B, r, 0.0f, du, r);
    if (dB)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, r, T, scale, dy, out, u, r, 1.0f,
                    dB, r);
    if (dA)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r, in, T, 1.0f, du, r, x, in, 1.0f, dA, in);
    if (dx)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, in, r, 1.0f, du, r, A, in, 1.0f,
                    dx, in);
}

long tr_attn_psize(int n_seq, const int *seq_len, int H) {
    long n = 0;
    for (int s = 0; s < n_seq; s++) n += (long)H * seq_len[s] * seq_len[s];
    return n;
}

void tr_attn_fwd(const float *q, const float *k, const float *v, int n_seq, const int *seq_len,
                 int H, int KV, int hd, float *P, float *out) {
    const int qs = H * hd, ks = KV * hd, grp = H / KV;
    const float sc = 1.0f / sqrtf((float)hd);
    long t0 = 0;
    for (int s = 0; s < n_seq; s++) {
        int L = seq_len[s];
        for (int h = 0; h < H; h++) {
            int g = h / grp;
            float *S = P;
            const float *qh = q + t0 * qs + (long)h * hd, *kg = k + t0 * ks + (long)g * hd;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, L, L, hd, sc, qh, qs, kg, ks, 0.0f,
                        S, L);
            for (int i = 0; i < L; i++) {   /* causal: row i sees keys 0..i */
                float *row = S + (long)i * L;
                cl_softmax(row, 1, i + 1);
                memset(row + i + 1, 0, (size_t)(L - i - 1) * sizeof *row);
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, L, hd, L, 1.0f, S, L,
                        v + t0 * ks + (long)g * hd, ks, 0.0f, out + t0 * qs + (long)h * hd, qs);
            P += (long)L * L;
        }
        t0 += L;
    }
}

void tr_attn_bwd(const float *q, const float *k, const float *v, const float *P, const float *dout,
                 int n_seq, const int *seq_len, int H, int KV, int hd, float *dq, float *dk,
                 float *dv, float *ds) {
    const int qs = H * hd, ks = KV * hd, grp = H / KV;
    const float sc = 1.0f / sqrtf((float)hd);
    long t0 = 0;
    for (int s = 0; s < n_seq; s++) {
        int L = seq_len[s];
        for (int h = 0; h < H; h++) {
            int g = h / grp;
            const float *doh = dout + t0 * qs + (long)h * hd;
            const float *vg = v + t0 * ks + (long)g * hd, *kg = k + t0 * ks + (long)g * hd;
            const float *qh = q + t0 * qs + (long)h * hd;
            /* dP = dout_h V^T ; dV += P^T dout_h */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, L, L, hd, 1.0f, doh, qs, vg, ks,
                        0.0f, ds, L);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, L, hd, L, 1.0f, P, L, doh, qs, 1.0f,
                        dv + t0 * ks + (long)g * hd, ks);
            /* dS = P * (dP - rowsum(P dP)) * sc */
            for (int i = 0; i < L; i++) {
                const float *p = P + (long)i * L;
                float *d = ds + (long)i * L;
                double dot = 0;
                for (int j = 0; j <= i; j++) dot += (double)p[j] * d[j];
                for (int j = 0; j <= i; j++) d[j] = p[j] * (d[j] - (float)dot) * sc;
                for (int j = i + 1; j < L; j++) d[j] = 0.0f;
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, L, hd, L, 1.0f, ds, L, kg, ks, 1.0f,
                        dq + t0 * qs + (long)h * hd, qs);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, L, hd, L, 1.0f, ds, L, qh, qs, 1.0f,
                        dk + t0 * ks + (long)g * hd, ks);
            P += (long)L * L;
        }
        t0 += L;
    }
}

void tr_swiglu_fwd(const float *g, const float *u, long n, float *h) { cl_swiglu(h, g, u, n); }

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
