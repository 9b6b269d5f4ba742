/* train_distill.c — the distillation loss and its gradient (see train_distill.h). */
#include "train_distill.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "train_ops.h"
#include "train_rand.h"
#include "util.h"

int tr_params_alloc(tr_params *p, const cl_config *c, int rank, float alpha, int targets) {
    memset(p, 0, sizeof *p);
    if (c->n_layers > 256) return cl_fail("train: more than 256 layers");
    if (rank < 1) return cl_fail("train: LoRA rank must be >= 1");
    long n = 0;
    for (int l = 0; l < c->n_layers; l++)
        for (int k = 0; k < CL_LORA_NT; k++)
            if (targets & (1 << k)) {
                int in, out;
                tr_lora_dims(c, k, &in, &out);
                n += (long)rank * (in + out);
            }
    n += (long)c->dim * c->dim + c->dim;
    p->data = cl_calloc((size_t)n, sizeof(float));
    p->n = n;
    p->rank = rank;
    p->targets = targets;
    p->scale = alpha / rank;
    p->lora.rank = rank;
    p->lora.scale = p->scale;
    float *w = p->data;
    for (int l = 0; l < c->n_layers; l++)
        for (int k = 0; k < CL_LORA_NT; k++)
            if (targets & (1 << k)) {
                int in, out;
                tr_lora_dims(c, k, &in, &out);
                p->lora.A[l][k] = w; w += (long)rank * in;
                p->lora.B[l][k] = w; w += (long)rank * out;
            }
    p->W = w; w += (long)c->dim * c->dim;
    p->b = w;
    return 0;
}

void tr_params_free(tr_params *p) {
    free(p->data);
    memset(p, 0, sizeof *p);
}

void tr_params_init(tr_params *p, const cl_config *c, uint64_t seed) {
    cl_rng r;
    cl_rng_seed(&r, seed);
    memset(p->data, 0, (size_t)p->n * sizeof(float));
    for (int l = 0; l < c->n_layers; l++)
        for (int k = 0; k < CL_LORA_NT; k++)
            if (p->lora.A[l][k]) {
                int in, out;
                tr_lora_dims(c, k, &in, &out);
                tr_rng_fill_normal(&r, p->lora.A[l][k], (long)p->rank * in, 1.0f / sqrtf((float)in));
            }
    for (int i = 0; i < c->dim; i++) p->W[(long)i * c->dim + i] = 1.0f;
}

void tr_example_free(tr_example *e) {
    free(e->seg_len); free(e->ctx); free(e->tctx); free(e->q); free(e->a); free(e->teacher); free(e->sigma);
    memset(e, 0, sizeof *e);
}

void tr_workspace_init(tr_workspace *w) {
    memset(w, 0, sizeof *w);
    tr_tape_init(&w->comp);
    tr_tape_init(&w->stud);
}

void tr_workspace_free(tr_workspace *w) {
    tr_tape_free(&w->comp);
    tr_tape_free(&w->stud);
    free(w->buf);
    memset(w, 0, sizeof *w);
}

static float *scratch(tr_workspace *w, size_t n) {
    if (n > w->buf_floats) {
        free(w->buf);
        w->buf = cl_malloc(n * sizeof(float));
        w->buf_floats = n;
    }
    return w->buf;
}

static void embed(const cl_model *m, const int32_t *ids, int n, float *out) {
    int D = m->cfg.dim;
    for (int i = 0; i < n; i++) cl_mat_row(&m->tok_embd, ids[i], out + (long)i * D);
}

static int check_ids(const cl_model *m, const int32_t *ids, int n) {
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= m->cfg.n_vocab) return cl_fail("train: token id %d out of range", ids[i]);
    return 0;
}

static int n_ces(const tr_example *e, int C) {
    int n = 0;
    for (int s = 0; s < e->n_seg; s++) n += (e->seg_len[s] + C - 1) / C;
    return n;
}

/* Compressor forward: fills the comp tape; placeholder batch rows into *ph (malloc'd). */
static int comp_forward(tr_workspace *w, const cl_model *m, const tr_objective *o, const tr_params *p,
                        const tr_example *e, int **ph, int *n_ph) {
    int D = m->cfg.dim, eos = m->cfg.eos_id;
    if (eos < 0) return cl_fail("train: the model has no EOS token for the placeholders");
    if (e->n_seg < 1) return cl_fail("train: example without context");
    if (check_ids(m, e->ctx, e->n_ctx)) return -1;
    int nce = n_ces(e, o->C), T = e->n_ctx + nce;
    int *sl = cl_malloc((size_t)e->n_seg * sizeof(int));
    int *pp = cl_malloc((size_t)nce * sizeof(int));
    float *x = cl_malloc((size_t)T * D * sizeof(float));
    int t = 0, k = 0, c0 = 0;
    for (int s = 0; s < e->n_seg; s++) {
        int n = e->seg_len[s], np = (n + o->C - 1) / o->C;
        embed(m, e->ctx + c0, n, x + (long)t * D);
        t += n; c0 += n;
        for (int j = 0; j < np; j++, t++, k++) {
            cl_mat_row(&m->tok_embd, eos, x + (long)t * D);
            pp[k] = t;
        }
        sl[s] = n + np;
    }
    int rc = tr_forward(&w->comp, m, &p->lora, x, e->n_seg, sl);
    free(x);
    free(sl);
    if (rc) { free(pp); return -1; }
    *ph = pp;
    *n_ph = nce;
    return 0;
}

int tr_compress(tr_workspace *w, const cl_model *m, const tr_objective *o, const tr_params *p,
                const tr_example *e, float **ces) {
    int *ph, nce, D = m->cfg.dim;
    if (comp_forward(w, m, o, p, e, &ph, &nce)) return -1;
    float *z = cl_malloc((size_t)nce * D * sizeof(float));
    for (int i = 0; i < nce; i++) memcpy(z + (long)i * D, w->comp.xf + (long)ph[i] * D, D * sizeof(float));
    *ces = cl_malloc((size_t)nce * D * sizeof(float));
    tr_linear_fwd(z, p->W, p->b, nce, D, D, *ces);
    free(z);
    free(ph);
    return nce;
}

/* Student/teacher sequence: [BOS?] prefix (ids or given embeddings) + q + a.  Returns length,
 * *ans0 = index of the first answer token. */
static int build_seq(const cl_model *m, const tr_objective *o, const tr_example *e, const float *pre,
                     int n_pre, const int32_t *pre_ids, float *x, int *ans0) {
    int D = m->cfg.dim, t = 0;
    if (o->bos) {
        embed(m, &m->cfg.bos_id, 1, x);
        t = 1;
    }
    if (pre) memcpy(x + (long)t * D, pre, (size_t)n_pre * D * sizeof(float));
    else embed(m, pre_ids, n_pre, x + (long)t * D);
    t += n_pre;
    embed(m, e->q, e->n_q, x + (long)t * D);
    t += e->n_q;
    *ans0 = t;
    embed(m, e->a, e->n_a, x + (long)t * D);
    return t + e->n_a;
}

static int seq_len_of(const tr_objective *o, const tr_example *e, int n_pre) {
    return (o->bos ? 1 : 0) + n_pre + e->n_q + e->n_a;
}

int tr_teacher(tr_workspace *w, const cl_model *m, const tr_objective *o, tr_example *e) {
    const cl_config *c = &m->cfg;
    int D = c->dim, L = c->n_layers, N = e->n_a + 1, a0;
    if (o->bos && c->bos_id < 0) return cl_fail("train: the model has no BOS token");
    const int32_t *ctx = e->tctx ? e->tctx : e->ctx;
    int n_ctx = e->tctx ? e->n_tctx : e->n_ctx;
    if (check_ids(m, ctx, n_ctx) || check_ids(m, e->q, e->n_q) || check_ids(m, e->a, e->n_a))
        return -1;
    if (e->n_a < 1) return cl_fail("train: example without answer tokens");
    int T = seq_len_of(o, e, n_ctx);
    if (T - (o->bos ? 0 : 1) < N) return cl_fail("train: example too short");
    float *x = cl_malloc((size_t)T * D * sizeof(float));
    build_seq(m, o, e, NULL, n_ctx, ctx, x, &a0);
    int rc = tr_forward(&w->stud, m, NULL, x, 1, &T);
    free(x);
    if (rc) return -1;
    free(e->teacher);
    free(e->sigma);
    e->teacher = cl_malloc((size_t)L * N * D * sizeof(float));
    e->sigma = cl_malloc((size_t)L * sizeof(float));
    for (int l = 0; l < L; l++) {
        float *dst = e->teacher + (long)l * N * D;
        memcpy(dst, w->stud.x[l + 1] + (long)(a0 - 1) * D, (size_t)N * D * sizeof(float));
        double s = 0;
        for (long i = 0; i < (long)N * D; i++) s += fabsf(dst[i]);
        e->sigma[l] = (float)(s / ((double)N * D));
        if (!(e->sigma[l] > 0)) e->sigma[l] = 1.0f;
    }
    return 0;
}

int tr_example_loss(tr_workspace *w, const cl_model *m, const tr_objective *o, const tr_params *p,
                    const tr_example *e, tr_params *grad, float weight, double *loss) {
    const cl_config *c = &m->cfg;
    int D = c->dim, L = c->n_layers, N = e->n_a + 1, a0;
    if (!e->teacher) return cl_fail("train: example has no teacher states");
    int *ph, nce;
    if (comp_forward(w, m, o, p, e, &ph, &nce)) return -1;
    int Ts = seq_len_of(o, e, nce);
    /* scratch: z, ces [nce, D]; student x, d_embd [Ts, D]; d_layer [L, Ts, D]; dz; d_final [Tc, D] */
    int Tc = w->comp.T;
    size_t need = (size_t)nce * D * 3 + (size_t)Ts * D * 2 + (size_t)L * Ts * D + (size_t)Tc * D;
    float *z = scratch(w, need), *ces = z + (size_t)nce * D, *dz = ces + (size_t)nce * D;
    float *xs = dz + (size_t)nce * D, *dembd = xs + (size_t)Ts * D, *dl = dembd + (size_t)Ts * D;
    float *dfin = dl + (size_t)L * Ts * D;
    for (int i = 0; i < nce; i++) memcpy(z + (long)i * D, w->comp.xf + (long)ph[i] * D, D * sizeof(float));
    tr_linear_fwd(z, p->W, p->b, nce, D, D, ces);
    build_seq(m, o, e, ces, nce, NULL, xs, &a0);
    if (tr_forward(&w->stud, m, NULL, xs, 1, &Ts)) { free(ph); return -1; }
    double total = 0;
    float *dlayer[257] = {0};
    if (grad) memset(dl, 0, (size_t)L * Ts * D * sizeof(float));
    for (int l = 0; l < L; l++) {
        float wgt = 1.0f / ((float)L * N * D);
        float *d = grad ? dl + (size_t)l * Ts * D : NULL;
        total += tr_smooth_l1(w->stud.x[l + 1] + (long)(a0 - 1) * D, e->teacher + (long)l * N * D,
                              (long)N * D, 1.0f / e->sigma[l], o->beta, wgt,
                              d ? d + (long)(a0 - 1) * D : NULL);
        dlayer[l + 1] = d;
    }
    *loss = total;
    if (grad) {
        if (weight != 1.0f)
            for (size_t i = 0; i < (size_t)L * Ts * D; i++) dl[i] *= weight;
        tr_backward(&w->stud, NULL, dlayer, dembd, NULL);
        const float *dce = dembd + (o->bos ? D : 0);
        tr_linear_bwd_w(dce, z, nce, D, D, grad->W, grad->b);
        memset(dz, 0, (size_t)nce * D * sizeof(float));
        tr_linear_bwd_x(dce, p->W, nce, D, D, dz);
        memset(dfin, 0, (size_t)Tc * D * sizeof(float));
        for (int i = 0; i < nce; i++) memcpy(dfin + (long)ph[i] * D, dz + (long)i * D, D * sizeof(float));
        tr_backward(&w->comp, dfin, NULL, NULL, &grad->lora);
    }
    free(ph);
    return 0;
}
