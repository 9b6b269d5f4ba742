/* forward.c — the decoder forward pass and its KV cache (see model.h).
 *
 * A batch is processed a span of rows at a time: with a KV cache, spans of at most SPAN_ROWS
 * positions of the one sequence (chunked prefill: identical maths, bounded memory); without,
 * runs of whole independent sequences of about SPAN_ROWS rows.  Within a span every projection
 * is one cl_gemm over all its rows. */
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "ops.h"
#include "rope.h"
#include "tape.h"
#include "util.h"

enum { SPAN_ROWS = 512 };

struct cl_kv {
    int n_layers, kv_dim, max_pos, len;
    cl_dtype dtype;   /* f32, f16 or bf16 */
    size_t esz;       /* bytes per element */
    uint8_t *k, *v;   /* [n_layers][max_pos][kv_dim]; pages of unused positions are never touched */
};

cl_kv *cl_kv_new(const cl_model *m, int max_pos) { return cl_kv_new_type(m, max_pos, CL_F32); }

cl_kv *cl_kv_new_type(const cl_model *m, int max_pos, cl_dtype dtype) {
    if (max_pos <= 0) {
        cl_fail("kv cache: max_pos %d must be positive", max_pos);
        return NULL;
    }
    if (dtype != CL_F32 && dtype != CL_F16 && dtype != CL_BF16) {
        cl_fail("kv cache: type %s unsupported (f32, f16, bf16 are)", cl_dtype_name(dtype));
        return NULL;
    }
    cl_kv *kv = cl_calloc(1, sizeof *kv);
    kv->n_layers = m->cfg.n_layers;
    kv->kv_dim = m->cfg.n_kv_heads * m->cfg.head_dim;
    kv->max_pos = max_pos;
    kv->dtype = dtype;
    kv->esz = dtype == CL_F32 ? 4 : 2;
    size_t n;
    if (cl_mul_overflow((size_t)kv->n_layers * kv->kv_dim, (size_t)max_pos * kv->esz, &n) < 0) {
        free(kv);
        return NULL;
    }
    kv->k = malloc(n);
    kv->v = malloc(n);
    if (!kv->k || !kv->v) {
        cl_fail("kv cache: cannot allocate 2 x %zu MiB for %d positions", n >> 20, max_pos);
        cl_kv_free(kv);
        return NULL;
    }
    return kv;
}

void cl_kv_free(cl_kv *kv) {
    if (!kv) return;
    free(kv->k);
    free(kv->v);
    free(kv);
}

int cl_kv_len(const cl_kv *kv) { return kv->len; }

void cl_kv_truncate(cl_kv *kv, int n) {
    if (n >= 0 && n < kv->len) kv->len = n;
}

size_t cl_kv_bytes(const cl_kv *kv) {
    return (size_t)2 * kv->n_layers * kv->len * kv->kv_dim * kv->esz;
}

cl_dtype cl_kv_type(const cl_kv *kv) { return kv->dtype; }

/* Layer l, position p of a cache. */
static uint8_t *kv_at(const cl_kv *kv, uint8_t *base, int l, int p) {
    return base + ((size_t)l * kv->max_pos + (size_t)p) * kv->kv_dim * kv->esz;
}

/* n rows of kv_dim f32 into a 16-bit cache at dst (round to nearest even). */
static void kv_store(const cl_kv *kv, uint8_t *dst, const float *x, int n) {
    uint16_t *h = (uint16_t *)dst;
    for (size_t i = 0; i < (size_t)n * kv->kv_dim; i++) h[i] = kv->dtype == CL_F16 ? cl_f32_to_f16(x[i]) : cl_f32_to_bf16(x[i]);
}

/* Scratch for one span of n rows. */
typedef struct {
    float *x, *h, *q, *k, *v, *att, *gate, *up, *tmp, *cos_t, *sin_t;
    float *cos_l, *sin_l;   /* RoPE table of the local layers when it differs (Gemma 3), else NULL */
    double *inv[2];         /* RoPE frequencies when the model has none precomputed */
    float mscale[2];
    int *pos;
} work;

static void work_alloc(work *w, const cl_config *c, int n, int lora_rank) {
    size_t qd = (size_t)c->n_heads * c->head_dim, kvd = (size_t)c->n_kv_heads * c->head_dim;
    w->x = cl_malloc((size_t)n * c->dim * sizeof(float));
    w->h = cl_malloc((size_t)n * c->dim * sizeof(float));
    w->q = cl_malloc((size_t)n * qd * sizeof(float));
    w->k = cl_malloc((size_t)n * kvd * sizeof(float));
    w->v = cl_malloc((size_t)n * kvd * sizeof(float));
    w->att = cl_malloc((size_t)n * qd * sizeof(float));
    w->gate = cl_malloc((size_t)n * c->ffn_dim * sizeof(float));
    w->up = cl_malloc((size_t)n * c->ffn_dim * sizeof(float));
    w->tmp = cl_malloc((size_t)n * (lora_rank > 0 ? lora_rank : 1) * sizeof(float));
    w->cos_t = cl_malloc((size_t)n * (c->head_dim / 2) * sizeof(float));
    w->sin_t = cl_malloc((size_t)n * (c->head_dim / 2) * sizeof(float));
    w->pos = cl_malloc((size_t)n * sizeof(int));
    w->cos_l = w->sin_l = NULL;
    if (c->rope_theta_local > 0) {
        w->cos_l = cl_malloc((size_t)n * (c->head_dim / 2) * sizeof(float));
        w->sin_l = cl_malloc((size_t)n * (c->head_dim / 2) * sizeof(float));
    }
    w->inv[0] = w->inv[1] = NULL;
}

/* The model's RoPE frequencies (precomputed at load, or here for models built elsewhere). */
static void work_rope(work *w, const cl_model *m) {
    for (int k = 0; k < 2; k++) {
        if (m->rope_inv[k]) {
            w->inv[k] = m->rope_inv[k];
            w->mscale[k] = m->rope_mscale[k];
            continue;
        }
        w->inv[k] = cl_malloc((size_t)(m->cfg.head_dim / 2) * sizeof(double));
        cl_rope_inv_freq(w->inv[k], &w->mscale[k], &m->cfg, k, k ? NULL : m->rope_freqs);
    }
}

static void work_free(work *w) {
    free(w->x); free(w->h); free(w->q); free(w->k); free(w->v); free(w->att);
    free(w->gate); free(w->up); free(w->tmp); free(w->cos_t); free(w->sin_t); free(w->pos);
    free(w->cos_l); free(w->sin_l);
}

/* y[n,out] += scale * (x A^T) B^T for an adapted projection (A [r,in], B [out,r]); u gets x A^T. */
static void lora_add(const cl_lora *lo, int layer, int t, float *y, const float *x, int n, int in,
                     int out, float *u) {
    if (!lo || !lo->A[layer][t] || !lo->B[layer][t]) return;
    cl_lora_add(y, x, lo->A[layer][t], lo->B[layer][t], n, in, out, lo->rank, lo->scale, u);
}

static void add_bias(float *y, const float *b, int n, int d) {
    if (!b) return;
    for (int r = 0; r < n; r++)
        for (int i = 0; i < d; i++) y[(size_t)r * d + i] += b[i];
}

/* x += rmsnorm(h) * w, the norm computed into tmp (tmp may be h). */
static void post_norm_add(float *x, const float *h, float *tmp, const float *w, int n, int dim, float eps) {
    cl_rmsnorm(tmp, h, w, n, dim, eps);
    for (size_t i = 0; i < (size_t)n * dim; i++) x[i] += tmp[i];
}

/* Copy the rows of x that are requested outputs (batch rows t0..t0+n-1) into dst [n_out, dim]. */
static void save_rows(const cl_batch *b, int t0, int n, const float *x, int dim, float *dst) {
    for (int j = 0; j < b->n_out; j++) {
        int r = b->out_pos[j] - t0;
        if (r >= 0 && r < n) memcpy(dst + (size_t)j * dim, x + (size_t)r * dim, dim * sizeof(float));
    }
}

/* One span: batch rows t0 .. t0+n-1.  With kv, they continue the cache (positions kv->len ..);
 * without, they are sequences seq_len[s0 .. s0+ns-1], each from position 0.  With a tape (then
 * t0 == 0, the span is the whole batch and the config trainable: check_batch), every activation goes
 * to its place in the tape instead of the scratch w: the same operations on the same values. */
static void forward_span(const cl_model *m, cl_kv *kv, const cl_batch *b, int t0, int n,
                         const int *seq_len, int ns, work *w) {
    const cl_config *c = &m->cfg;
    int dim = c->dim, hd = c->head_dim, H = c->n_heads, KV = c->n_kv_heads;
    int qd = H * hd, kvd = KV * hd, ffn = c->ffn_dim;
    const cl_lora *lo = b->lora;
    cl_tape *tp = b->tape;
    int base = kv ? kv->len : 0;
    float *x = tp ? tp->x[0] : w->x;
    float *cos_t = tp ? tp->cos_t : w->cos_t, *sin_t = tp ? tp->sin_t : w->sin_t;

    if (b->ids)
        for (int r = 0; r < n; r++)
            cl_mat_row(&m->tok_embd, b->ids[t0 + r], x + (size_t)r * dim);
    else
        memcpy(x, b->embd + (size_t)t0 * dim, (size_t)n * dim * sizeof(float));
    if (b->ids && c->embd_scale > 0)   /* Gemma: ids' embeddings scaled (given embeddings are not) */
        for (size_t i = 0; i < (size_t)n * dim; i++) x[i] *= c->embd_scale;
    if (b->out_layers) save_rows(b, t0, n, x, dim, b->out_layers);

    if (kv)
        for (int r = 0; r < n; r++) w->pos[r] = base + r;
    else
        for (int s = 0, r = 0; s < ns; s++)
            for (int i = 0; i < seq_len[s]; i++) w->pos[r++] = i;
    cl_rope_table_freq(cos_t, sin_t, w->pos, n, hd, w->inv[0], w->mscale[0]);
    float *cos_l = tp && tp->cos_l ? tp->cos_l : w->cos_l, *sin_l = tp && tp->sin_l ? tp->sin_l : w->sin_l;
    if (cos_l) cl_rope_table_freq(cos_l, sin_l, w->pos, n, hd, w->inv[1], w->mscale[1]);
    float scale = c->attn_scale > 0 ? c->attn_scale : 1.0f / sqrtf((float)hd);

    for (int l = 0; l < c->n_layers; l++) {
        const cl_layer *L = &m->layers[l];
        cl_tape_layer *a = tp ? &tp->layer[l] : NULL;
        int local = cl_config_layer_local(c, l), win = local ? c->sliding_window : 0;
        /* top: the last layer of a tape with top_from, run on its top_n wanted rows (tape.h) */
        int top = tp && l == c->n_layers - 1 && tp->top_n < n, nr = top ? tp->top_n : n;
        const float *ct = local && cos_l ? cos_l : cos_t, *st = local && cos_l ? sin_l : sin_t;
        /* an f32 cache takes the new rows in place; a 16-bit one gets them after RoPE */
        int direct = kv && kv->dtype == CL_F32;
        float *kd = direct ? (float *)kv_at(kv, kv->k, l, base) : a ? a->k : w->k;
        float *vd = direct ? (float *)kv_at(kv, kv->v, l, base) : a ? a->v : w->v;
        float *h = a ? a->xn1 : w->h, *q = a ? a->q : w->q, *att = a ? a->att : w->att;
        /* q/k as projected, before the q/k norm (the tape keeps both) */
        float *qr = a && a->qr ? a->qr : q, *kr = a && a->kr ? a->kr : kd;
#define LU(t) (a && a->lu[t] ? a->lu[t] : w->tmp)

        cl_rmsnorm(h, x, L->attn_norm, n, dim, c->rms_eps);
        cl_mat_linear(qr, h, &L->wq, n, 0);
        cl_mat_linear(kr, h, &L->wk, n, 0);
        cl_mat_linear(vd, h, &L->wv, n, 0);
        add_bias(qr, L->bq, n, qd);
        add_bias(kr, L->bk, n, kvd);
        add_bias(vd, L->bv, n, kvd);
        lora_add(lo, l, CL_LORA_Q, qr, h, n, dim, qd, LU(CL_LORA_Q));
        lora_add(lo, l, CL_LORA_K, kr, h, n, dim, kvd, LU(CL_LORA_K));
        lora_add(lo, l, CL_LORA_V, vd, h, n, dim, kvd, LU(CL_LORA_V));
        if (L->q_norm) cl_rmsnorm(q, qr, L->q_norm, n * H, hd, c->rms_eps);
        if (L->k_norm) cl_rmsnorm(kd, kr, L->k_norm, n * KV, hd, c->rms_eps);
        cl_rope_apply(q, n, H, hd, ct, st, c->rope_interleaved);
        cl_rope_apply(kd, n, KV, hd, ct, st, c->rope_interleaved);

        if (kv && !direct) {
            kv_store(kv, kv_at(kv, kv->k, l, base), kd, n);
            kv_store(kv, kv_at(kv, kv->v, l, base), vd, n);
        }
        if (kv) {   /* the whole cache, this span's rows included, read in its stored type */
            cl_attention_kv(att, qd, q, qd, n, kv_at(kv, kv->k, l, 0), kv_at(kv, kv->v, l, 0), kv->dtype, kvd,
                            base + n, H, KV, hd, base, win, scale);
        } else if (top) {   /* queries from top_from on, their outputs packed */
            for (int s = 0, r = 0, p = 0; s < ns; r += seq_len[s++]) {
                int f = tp->top_from[s];
                if (f >= seq_len[s]) continue;
                cl_attention_win(att + (size_t)p * qd, qd, q + (size_t)(r + f) * qd, qd, seq_len[s] - f,
                                 kd + (size_t)r * kvd, vd + (size_t)r * kvd, kvd, seq_len[s], H, KV, hd, f,
                                 win, scale);
                p += seq_len[s] - f;
            }
        } else {
            for (int s = 0, r = 0; s < ns; r += seq_len[s++]) {
                size_t o = (size_t)r;
                cl_attention_win(att + o * qd, qd, q + o * qd, qd, seq_len[s], kd + o * kvd,
                                 vd + o * kvd, kvd, seq_len[s], H, KV, hd, 0, win, scale);
            }
        }
        if (a) {   /* the tape keeps the stream before and after each block */
            memcpy(a->xmid, x, (size_t)n * dim * sizeof(float));
            x = a->xmid;
        }
        if (top) {   /* the rest of the layer on the wanted rows, packed in w->x (free with a tape) */
            for (int i = 0; i < nr; i++)
                memcpy(w->x + (size_t)i * dim, x + (size_t)tp->top_row[i] * dim, dim * sizeof(float));
            x = w->x;
        }
        if (L->attn_post_norm) {   /* Gemma: x += norm(att Wo^T) */
            float *ao = a && a->ao ? a->ao : w->h;
            cl_mat_linear(ao, att, &L->wo, nr, 0);
            lora_add(lo, l, CL_LORA_O, ao, att, nr, qd, dim, LU(CL_LORA_O));
            post_norm_add(x, ao, w->h, L->attn_post_norm, nr, dim, c->rms_eps);
        } else {
            cl_mat_linear(x, att, &L->wo, nr, 1);   /* residual: x += att Wo^T */
            lora_add(lo, l, CL_LORA_O, x, att, nr, qd, dim, LU(CL_LORA_O));
        }
        if (top)   /* the tape's xmid: the wanted rows after the attention block */
            for (int i = 0; i < nr; i++)
                memcpy(a->xmid + (size_t)tp->top_row[i] * dim, x + (size_t)i * dim, dim * sizeof(float));

        float *h2 = a ? a->xn2 : w->h, *gate = a ? a->g : w->gate, *up = a ? a->u : w->up;
        float *act = a ? a->h : w->gate;
        cl_rmsnorm(h2, x, L->ffn_norm, nr, dim, c->rms_eps);
        cl_mat_linear(gate, h2, &L->w_gate, nr, 0);
        cl_mat_linear(up, h2, &L->w_up, nr, 0);
        lora_add(lo, l, CL_LORA_GATE, gate, h2, nr, dim, ffn, LU(CL_LORA_GATE));
        lora_add(lo, l, CL_LORA_UP, up, h2, nr, dim, ffn, LU(CL_LORA_UP));
        if (c->act == CL_ACT_GELU_TANH) cl_geglu(act, gate, up, (long)nr * ffn);
        else cl_swiglu(act, gate, up, (long)nr * ffn);
        if (tp && !top) {
            memcpy(tp->x[l + 1], x, (size_t)n * dim * sizeof(float));
            x = tp->x[l + 1];
        }
        if (L->ffn_post_norm) {
            float *fo = a && a->fo ? a->fo : w->h;
            cl_mat_linear(fo, act, &L->w_down, nr, 0);
            lora_add(lo, l, CL_LORA_DOWN, fo, act, nr, ffn, dim, LU(CL_LORA_DOWN));
            post_norm_add(x, fo, w->h, L->ffn_post_norm, nr, dim, c->rms_eps);
        } else {
            cl_mat_linear(x, act, &L->w_down, nr, 1);
            lora_add(lo, l, CL_LORA_DOWN, x, act, nr, ffn, dim, LU(CL_LORA_DOWN));
        }
#undef LU
        if (top) {   /* x[l+1]: xmid (the stream before the layer elsewhere), the wanted rows updated */
            memcpy(tp->x[l + 1], a->xmid, (size_t)n * dim * sizeof(float));
            for (int i = 0; i < nr; i++)
                memcpy(tp->x[l + 1] + (size_t)tp->top_row[i] * dim, x + (size_t)i * dim, dim * sizeof(float));
            x = tp->x[l + 1];
        }

        if (b->out_layers)
            save_rows(b, t0, n, x, dim, b->out_layers + (size_t)(l + 1) * b->n_out * dim);
    }
    if (kv) kv->len += n;

    /* Final norm: all rows when every logit row is wanted, else only the rows needed. */
    if (b->logits && b->logits_all) {
        cl_rmsnorm(w->h, x, m->out_norm, n, dim, c->rms_eps);
        cl_mat_linear(b->logits + (size_t)t0 * c->n_vocab, w->h, &m->output, n, 0);
    } else if (b->logits && t0 + n == b->n_tokens) {
        cl_rmsnorm(w->h, x + (size_t)(n - 1) * dim, m->out_norm, 1, dim, c->rms_eps);
        cl_mat_linear(b->logits, w->h, &m->output, 1, 0);
    }
    if (b->out_final)
        for (int j = 0; j < b->n_out; j++) {
            int r = b->out_pos[j] - t0;
            if (r >= 0 && r < n)
                cl_rmsnorm(b->out_final + (size_t)j * dim, x + (size_t)r * dim, m->out_norm, 1,
                           dim, c->rms_eps);
        }
}

static int check_batch(const cl_model *m, const cl_kv *kv, const cl_batch *b) {
    const cl_config *c = &m->cfg;
    if (b->n_tokens <= 0) return cl_fail("forward: empty batch");
    if (!b->ids == !b->embd) return cl_fail("forward: give exactly one of ids and embd");
    if (b->ids)
        for (int i = 0; i < b->n_tokens; i++)
            if (b->ids[i] < 0 || b->ids[i] >= c->n_vocab)
                return cl_fail("forward: token %d: id %d outside the vocabulary (%d)", i, b->ids[i],
                               c->n_vocab);
    if (b->n_seq < 0 || (b->n_seq > 0 && !b->seq_len)) return cl_fail("forward: bad n_seq/seq_len");
    if (b->n_seq > 1 && kv) return cl_fail("forward: a kv cache holds one sequence, got %d", b->n_seq);
    if (b->n_seq > 0) {
        long sum = 0;
        for (int s = 0; s < b->n_seq; s++) {
            if (b->seq_len[s] <= 0) return cl_fail("forward: sequence %d has length %d", s, b->seq_len[s]);
            sum += b->seq_len[s];
        }
        if (sum != b->n_tokens)
            return cl_fail("forward: sequence lengths add to %ld, batch has %d tokens", sum, b->n_tokens);
    }
    if (kv) {
        if (kv->n_layers != c->n_layers || kv->kv_dim != c->n_kv_heads * c->head_dim)
            return cl_fail("forward: kv cache made for another model");
        if ((long)kv->len + b->n_tokens > kv->max_pos)
            return cl_fail("forward: %d cached + %d new positions exceed the cache's %d", kv->len,
                           b->n_tokens, kv->max_pos);
    }
    if (b->n_out < 0 || (b->n_out > 0 && !b->out_pos)) return cl_fail("forward: bad n_out/out_pos");
    for (int j = 0; j < b->n_out; j++)
        if (b->out_pos[j] < 0 || b->out_pos[j] >= b->n_tokens)
            return cl_fail("forward: out_pos[%d] = %d outside the batch", j, b->out_pos[j]);
    if (b->embd) {   /* a non-finite input would come out as nan logits with no name on it */
        size_t n = (size_t)b->n_tokens * c->dim, i = cl_first_nonfinite(b->embd, n);
        if (i < n)
            return cl_fail("forward: input embedding %zu, element %zu is %g", i / c->dim, i % c->dim, (double)b->embd[i]);
    }
    if (b->lora) {
        if (b->lora->rank <= 0) return cl_fail("forward: LoRA rank %d", b->lora->rank);
    }
    if (b->tape && kv) return cl_fail("forward: a tape records batches without a kv cache");
    if (b->top_from) {
        if (!b->tape || b->logits || b->out_layers) return cl_fail("forward: top_from needs a tape, no logits or out_layers");
        int ns = b->n_seq > 0 ? b->n_seq : 1;
        for (int s = 0, t0 = 0; s < ns; s++) {
            int len = b->n_seq > 0 ? b->seq_len[s] : b->n_tokens;
            if (b->top_from[s] < 0 || b->top_from[s] > len)
                return cl_fail("forward: top_from[%d] = %d outside its sequence of %d", s, b->top_from[s], len);
            for (int j = 0; j < b->n_out; j++)
                if (b->out_pos[j] >= t0 && b->out_pos[j] < t0 + b->top_from[s])
                    return cl_fail("forward: out_pos[%d] = %d above top_from of its sequence", j, b->out_pos[j]);
            t0 += len;
        }
    }
    /* the tape keeps what train_backward.c differentiates (config.h: cl_config_require_plain) */
    if (b->tape && cl_config_require_plain(c, "forward with a tape") < 0) return -1;
    return 0;
}

/* -1 naming the first non-finite value among the rows x cols of x (what, batch row of each row:
 * row_of[r], or row0 + r), else 0.  Finite inputs and weights can still overflow (a 16-bit KV
 * cache holds |x| <= 65504 in f16): the outputs are checked so that no tool samples from or
 * stores nan.  O(outputs), next to the O(outputs x dim) products that made them. */
static int check_finite(const float *x, int rows, int cols, const char *what, const int *row_of, int row0,
                        const cl_kv *kv) {
    const size_t n = x ? (size_t)rows * cols : 0, i = n ? cl_first_nonfinite(x, n) : 0;
    if (i == n) return 0;
    int r = (int)(i / cols);
    return cl_fail("forward: %s of batch row %d, element %d is %g: an activation overflowed%s", what,
                   row_of ? row_of[r] : row0 + r, (int)(i % cols), (double)x[i],
                   kv && kv->dtype == CL_F16 ? " (the f16 KV cache holds |x| <= 65504)" : "");
}

int cl_forward(const cl_model *m, cl_kv *kv, cl_batch *b) {
    if (check_batch(m, kv, b) < 0) return -1;
    int one_len = b->n_tokens;
    const int *seq_len = b->n_seq > 0 ? b->seq_len : &one_len;
    int n_seq = b->n_seq > 0 ? b->n_seq : 1;

    /* Span size: SPAN_ROWS, or the longest single sequence when that is longer. */
    int cap = SPAN_ROWS;
    if (!kv)
        for (int s = 0; s < n_seq; s++) cap = seq_len[s] > cap ? seq_len[s] : cap;
    if (cap > b->n_tokens || b->tape) cap = b->n_tokens;
    if (b->tape) cl_tape_plan(b->tape, m, b->lora, n_seq, seq_len, b->n_tokens, b->top_from);
    work w;
    work_alloc(&w, &m->cfg, cap, b->lora ? b->lora->rank : 0);
    work_rope(&w, m);
    if (kv) {
        for (int t0 = 0; t0 < b->n_tokens; t0 += cap) {
            int n = b->n_tokens - t0 < cap ? b->n_tokens - t0 : cap;
            forward_span(m, kv, b, t0, n, NULL, 0, &w);
        }
    } else {
        for (int s0 = 0, t0 = 0; s0 < n_seq;) {
            int ns = 0, n = 0;
            while (s0 + ns < n_seq && n + seq_len[s0 + ns] <= cap) n += seq_len[s0 + ns++];
            forward_span(m, NULL, b, t0, n, seq_len + s0, ns, &w);
            s0 += ns;
            t0 += n;
        }
    }
    for (int k = 0; k < 2; k++)
        if (w.inv[k] != m->rope_inv[k]) free(w.inv[k]);
    work_free(&w);
    const int D = m->cfg.dim, V = m->cfg.n_vocab, no = b->n_out;
    if (check_finite(b->logits, b->logits_all ? b->n_tokens : 1, V, "logits", NULL, b->logits_all ? 0 : b->n_tokens - 1, kv) < 0 ||
        check_finite(b->out_final, no, D, "final state", b->out_pos, 0, kv) < 0)
        return -1;
    for (int l = 0; b->out_layers && l <= m->cfg.n_layers; l++) {
        char what[48];
        if (l) snprintf(what, sizeof what, "state after layer %d", l);
        else snprintf(what, sizeof what, "input embedding");
        if (check_finite(b->out_layers + (size_t)l * no * D, no, D, what, b->out_pos, 0, kv) < 0) return -1;
    }
    return 0;
}
