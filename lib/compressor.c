/* compressor.c — the CompLLM compressor: parameters, GGUF file, batched compression.
 * See compressor.h. */
#include "compressor.h"
#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gguf.h"
#include "ops.h"
#include "rng.h"
#include "util.h"

static const char *const target_name[CL_LORA_NT] = {"q", "k", "v", "o", "gate", "up", "down"};
static const char *const proj_name[CL_LORA_NT] = {"attn_q", "attn_k", "attn_v", "attn_output",
                                                  "ffn_gate", "ffn_up", "ffn_down"};

int cl_compressor_parse_targets(const char *s, unsigned *mask) {
    unsigned m = 0;
    const char *p = s;
    while (*p) {
        size_t n = strcspn(p, ",");
        int found = 0;
        if (n == 3 && !strncmp(p, "all", 3)) m |= (1u << CL_LORA_NT) - 1, found = 1;
        else if (n == 4 && !strncmp(p, "attn", 4)) m |= 0xFu, found = 1;
        else if (n == 3 && !strncmp(p, "mlp", 3)) m |= 0x70u, found = 1;
        else if (n == 4 && !strncmp(p, "none", 4)) found = 1;
        for (int t = 0; t < CL_LORA_NT && !found; t++)
            if (strlen(target_name[t]) == n && !strncmp(p, target_name[t], n)) m |= 1u << t, found = 1;
        if (!found)
            return cl_fail("LoRA targets \"%s\": unknown \"%.*s\" (q,k,v,o,gate,up,down,attn,mlp,all)", s, (int)n, p);
        p += n;
        if (*p == ',') p++;
    }
    *mask = m;
    return 0;
}

const char *cl_compressor_targets_str(unsigned mask) {
    static _Thread_local char buf[64];
    buf[0] = 0;
    for (int t = 0; t < CL_LORA_NT; t++)
        if (mask & 1u << t) {
            if (buf[0]) strcat(buf, ",");
            strcat(buf, target_name[t]);
        }
    return buf;
}

void cl_compressor_lora_dims(const cl_compressor *c, int t, int *in, int *out) {
    int d = c->dim, q = c->q_dim, kv = c->kv_dim, f = c->ffn_dim;
    switch (t) {
    case CL_LORA_Q: *in = d, *out = q; break;
    case CL_LORA_K: case CL_LORA_V: *in = d, *out = kv; break;
    case CL_LORA_O: *in = q, *out = d; break;
    case CL_LORA_GATE: case CL_LORA_UP: *in = d, *out = f; break;
    default: *in = f, *out = d; break;
    }
}

static void proj_dims(const cl_compressor *c, int t, int64_t *in, int64_t *out) {
    int i, o;
    cl_compressor_lora_dims(c, t, &i, &o);
    *in = i, *out = o;
}

size_t cl_compressor_layout(const cl_compressor *c, float *base, cl_lora *lora, float **w, float **b) {
    size_t n = 0;
    if (lora) {
        memset(lora, 0, sizeof *lora);
        lora->rank = c->rank;
        lora->scale = c->rank > 0 ? c->alpha / (float)c->rank : 0.0f;
    }
    for (int l = 0; l < c->n_layers && c->rank > 0; l++)
        for (int t = 0; t < CL_LORA_NT; t++) {
            if (!(c->targets & 1u << t)) continue;
            int64_t in, out;
            proj_dims(c, t, &in, &out);
            if (base && lora) lora->A[l][t] = base + n;
            n += (size_t)(c->rank * in);
            if (base && lora) lora->B[l][t] = base + n;
            n += (size_t)(out * c->rank);
        }
    if (base) *w = base + n, *b = base + n + (size_t)c->dim * c->dim;
    return n + (size_t)c->dim * c->dim + (size_t)c->dim;
}

/* Lay out every parameter in one zeroed block and point lora/proj_* into it. */
static cl_compressor *alloc_params(int dim, int n_layers, int q_dim, int kv_dim, int ffn_dim, int C, int S,
                                   int rank, float alpha, unsigned targets) {
    cl_compressor *c = cl_calloc(1, sizeof *c);
    c->rate = C;
    c->max_seg = S;
    c->rank = targets ? rank : 0;
    c->alpha = alpha;
    c->targets = rank > 0 ? targets : 0;
    c->dim = dim;
    c->n_layers = n_layers;
    c->q_dim = q_dim;
    c->kv_dim = kv_dim;
    c->ffn_dim = ffn_dim;
    c->n_params = cl_compressor_layout(c, NULL, NULL, NULL, NULL);
    c->params = cl_calloc(c->n_params, sizeof(float));
    if (c->rank > 0) c->lora = cl_malloc(sizeof *c->lora);
    cl_compressor_layout(c, c->params, c->lora, &c->proj_w, &c->proj_b);
    return c;
}

static int check_settings(const char *what, int C, int S, int rank, float alpha, int n_layers) {
    if (C < 1 || C > 1024) return cl_fail("%s: compression rate C=%d out of range 1..1024", what, C);
    if (S < 1 || S > 65536) return cl_fail("%s: segment length S=%d out of range 1..65536", what, S);
    if (rank < 0 || rank > 4096) return cl_fail("%s: LoRA rank %d out of range 0..4096", what, rank);
    if (!isfinite(alpha)) return cl_fail("%s: LoRA alpha is not finite", what);
    if (n_layers > CL_MAX_LAYERS)
        return cl_fail("%s: %d layers: at most %d supported", what, n_layers, CL_MAX_LAYERS);
    return 0;
}

static void put_u32(cl_sha256 *s, uint32_t v) {
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    cl_sha256_update(s, b, 4);
}

void cl_compressor_refresh_fp(cl_compressor *c) {
    cl_sha256 s;
    cl_sha256_init(&s);
    cl_sha256_update(&s, "compllm compressor v1", 21);
    cl_sha256_update(&s, c->base_fp, 32);
    uint32_t ab;
    memcpy(&ab, &c->alpha, 4);
    uint32_t v[] = {(uint32_t)c->rate, (uint32_t)c->max_seg, (uint32_t)c->rank, ab, c->targets,
                    (uint32_t)c->dim, (uint32_t)c->n_layers, (uint32_t)c->q_dim, (uint32_t)c->kv_dim,
                    (uint32_t)c->ffn_dim};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) put_u32(&s, v[i]);
    for (size_t i = 0; i < c->n_params; i++) {   /* little-endian bytes, whatever the host */
        uint32_t u;
        memcpy(&u, &c->params[i], 4);
        put_u32(&s, u);
    }
    cl_sha256_final(&s, c->fp);
}

/* Rows row0 .. rank-1 of every LoRA A: uniform in +-1/sqrt(in), one splitmix64 stream from seed
 * drawn matrix after matrix (layer, then target order), row after row. */
static void init_a_rows(cl_compressor *c, int row0, uint64_t seed) {
    uint64_t st = seed;
    if (!c->lora) return;
    for (int l = 0; l < c->n_layers; l++)
        for (int t = 0; t < CL_LORA_NT; t++) {
            if (!c->lora->A[l][t]) continue;
            int64_t in, out;
            proj_dims(c, t, &in, &out);
            float bound = 1.0f / sqrtf((float)in);
            for (int64_t i = row0 * in; i < c->rank * in; i++) {
                double u = (double)(cl_splitmix64(&st) >> 11) * (1.0 / 9007199254740992.0);
                c->lora->A[l][t][i] = (float)((2 * u - 1) * bound);
            }
        }
}

cl_compressor *cl_compressor_new_init(const cl_model *m, int C, int S, int rank, float alpha,
                                      unsigned targets, uint64_t seed) {
    if (check_settings("new compressor", C, S, rank, alpha, m->cfg.n_layers) < 0) return NULL;
    const cl_config *k = &m->cfg;
    cl_compressor *c = alloc_params(k->dim, k->n_layers, k->n_heads * k->head_dim, k->n_kv_heads * k->head_dim,
                                    k->ffn_dim, C, S, rank, alpha, targets);
    memcpy(c->base_fp, m->fingerprint, 32);
    init_a_rows(c, 0, seed);
    for (int i = 0; i < c->dim; i++) c->proj_w[(size_t)i * c->dim + i] = 1.0f;
    cl_compressor_refresh_fp(c);
    return c;
}

cl_compressor *cl_compressor_grow_rank(const cl_compressor *c, int rank, uint64_t seed) {
    if (!c->lora || c->rank <= 0) {
        cl_fail("compressor has no LoRA adapter: no rank to grow");
        return NULL;
    }
    if (rank < c->rank) {
        cl_fail("LoRA rank %d can't shrink to %d", c->rank, rank);
        return NULL;
    }
    float alpha = (float)((double)c->alpha * rank / c->rank);
    if (check_settings("grown compressor", c->rate, c->max_seg, rank, alpha, c->n_layers) < 0) return NULL;
    if (alpha / (float)rank != c->alpha / (float)c->rank) {
        cl_fail("LoRA alpha %g rank %d: the scale alpha/rank is not exact at rank %d", c->alpha, c->rank, rank);
        return NULL;
    }
    cl_compressor *g = alloc_params(c->dim, c->n_layers, c->q_dim, c->kv_dim, c->ffn_dim, c->rate, c->max_seg, rank,
                                    alpha, c->targets);
    memcpy(g->base_fp, c->base_fp, 32);
    init_a_rows(g, c->rank, seed);
    int r = c->rank;
    for (int l = 0; l < c->n_layers; l++)
        for (int t = 0; t < CL_LORA_NT; t++) {
            if (!c->lora->A[l][t]) continue;
            int64_t in, out;
            proj_dims(c, t, &in, &out);
            memcpy(g->lora->A[l][t], c->lora->A[l][t], (size_t)(r * in) * sizeof(float));   /* rows 0..r-1 */
            for (int64_t o = 0; o < out; o++)   /* B [out, rank]: c's r columns, then zeros */
                memcpy(g->lora->B[l][t] + o * rank, c->lora->B[l][t] + o * r, (size_t)r * sizeof(float));
        }
    memcpy(g->proj_w, c->proj_w, (size_t)c->dim * c->dim * sizeof(float));
    memcpy(g->proj_b, c->proj_b, (size_t)c->dim * sizeof(float));
    cl_compressor_refresh_fp(g);
    return g;
}

cl_compressor *cl_compressor_clone(const cl_compressor *c) {
    cl_compressor *g = alloc_params(c->dim, c->n_layers, c->q_dim, c->kv_dim, c->ffn_dim, c->rate, c->max_seg, c->rank,
                                    c->alpha, c->targets);
    memcpy(g->params, c->params, c->n_params * sizeof(float));
    memcpy(g->base_fp, c->base_fp, 32);
    memcpy(g->fp, c->fp, 32);
    return g;
}

void cl_compressor_free(cl_compressor *c) {
    if (!c) return;
    free(c->lora);
    free(c->params);
    free(c);
}

/* Each LoRA matrix of c, in file order, with its GGUF name and shape [rows, cols]; stops at the
 * first fn that fails.  0 or -1. */
typedef int (*lora_fn)(void *ctx, const char *name, int64_t rows, int64_t cols, float *data);
static int each_lora(const cl_compressor *c, lora_fn fn, void *ctx) {
    char name[96];
    if (!c->lora) return 0;
    for (int l = 0; l < c->n_layers; l++)
        for (int t = 0; t < CL_LORA_NT; t++) {
            if (!c->lora->A[l][t]) continue;
            int64_t in, out;
            proj_dims(c, t, &in, &out);
            snprintf(name, sizeof name, "blk.%d.%s.lora_a", l, proj_name[t]);
            if (fn(ctx, name, c->rank, in, c->lora->A[l][t]) < 0) return -1;
            snprintf(name, sizeof name, "blk.%d.%s.lora_b", l, proj_name[t]);
            if (fn(ctx, name, out, c->rank, c->lora->B[l][t]) < 0) return -1;
        }
    return 0;
}

static int save_lora(void *w, const char *name, int64_t rows, int64_t cols, float *data) {
    int64_t shape[2] = {rows, cols};
    cl_gguf_add_tensor(w, name, CL_F32, 2, shape, data);
    return 0;
}

int cl_compressor_save(const cl_compressor *c, const char *path) {
    cl_gguf_writer *w = cl_gguf_writer_new();
    char hex[65];
    cl_hex(c->base_fp, 32, hex);
    cl_gguf_set_str(w, "general.architecture", "compllm-compressor");
    cl_gguf_set_u32(w, "compllm.version", CL_COMPRESSOR_VERSION);
    cl_gguf_set_str(w, "compllm.base_fingerprint", hex);
    cl_gguf_set_u32(w, "compllm.rate", (uint32_t)c->rate);
    cl_gguf_set_u32(w, "compllm.max_segment", (uint32_t)c->max_seg);
    cl_gguf_set_u32(w, "compllm.dim", (uint32_t)c->dim);
    cl_gguf_set_u32(w, "compllm.n_layers", (uint32_t)c->n_layers);
    cl_gguf_set_u32(w, "compllm.q_dim", (uint32_t)c->q_dim);
    cl_gguf_set_u32(w, "compllm.kv_dim", (uint32_t)c->kv_dim);
    cl_gguf_set_u32(w, "compllm.ffn_dim", (uint32_t)c->ffn_dim);
    cl_gguf_set_u32(w, "compllm.lora.rank", (uint32_t)c->rank);
    cl_gguf_set_f32(w, "compllm.lora.alpha", c->alpha);
    const char *tn[CL_LORA_NT];
    int nt = 0;
    for (int t = 0; t < CL_LORA_NT; t++)
        if (c->targets & 1u << t) tn[nt++] = target_name[t];
    cl_gguf_set_arr_str(w, "compllm.lora.targets", tn, (uint64_t)nt);
    each_lora(c, save_lora, w);
    int64_t sw[2] = {c->dim, c->dim}, sbias[1] = {c->dim};
    cl_gguf_add_tensor(w, "proj.weight", CL_F32, 2, sw, c->proj_w);
    cl_gguf_add_tensor(w, "proj.bias", CL_F32, 1, sbias, c->proj_b);
    int rc = cl_gguf_writer_save(w, path);
    cl_gguf_writer_free(w);
    return rc;
}

static int get_u(const cl_gguf *g, const char *path, const char *key, int64_t *v) {
    if (cl_gguf_get_i64(g, key, v) < 0) return cl_fail("%s: missing or bad %s", path, key);
    return 0;
}

/* Copy tensor name (F32, exactly shape[0] x shape[1]) into dst. */
static int take(const cl_gguf *g, const char *path, const char *name, int ndim, int64_t d0, int64_t d1, float *dst) {
    const cl_tensor *t = cl_gguf_find_tensor(g, name);
    if (!t) return cl_fail("%s: missing tensor %s", path, name);
    if (t->ndim != ndim || t->shape[0] != d0 || (ndim == 2 && t->shape[1] != d1))
        return cl_fail("%s: tensor %s has the wrong shape (expected [%lld%s%lld])", path, name, (long long)d0,
                       ndim == 2 ? ", " : "", ndim == 2 ? (long long)d1 : 0LL);
    return cl_tensor_to_f32(t, dst);
}

typedef struct {
    const cl_gguf *g;
    const char *path;
} load_ctx;

static int load_lora(void *ctx, const char *name, int64_t rows, int64_t cols, float *data) {
    const load_ctx *x = ctx;
    return take(x->g, x->path, name, 2, rows, cols, data);
}

cl_compressor *cl_compressor_load(const char *path, const cl_model *m) {
    cl_gguf *g = cl_gguf_open(path);
    if (!g) return NULL;
    cl_compressor *c = NULL;
    const char *arch = cl_gguf_get_str(g, "general.architecture");
    int64_t ver, C, S, dim, nl, rank, qd, kvd, fd;
    double alpha;
    if (!arch || strcmp(arch, "compllm-compressor")) {
        cl_fail("%s: not a compllm compressor (general.architecture is %s)", path, arch ? arch : "absent");
        goto out;
    }
    if (get_u(g, path, "compllm.version", &ver) < 0) goto out;
    if (ver != CL_COMPRESSOR_VERSION) {
        cl_fail("%s: compressor version %lld, this build reads %d", path, (long long)ver, CL_COMPRESSOR_VERSION);
        goto out;
    }
    if (get_u(g, path, "compllm.rate", &C) < 0 || get_u(g, path, "compllm.max_segment", &S) < 0 ||
        get_u(g, path, "compllm.dim", &dim) < 0 || get_u(g, path, "compllm.n_layers", &nl) < 0 ||
        get_u(g, path, "compllm.lora.rank", &rank) < 0 || get_u(g, path, "compllm.q_dim", &qd) < 0 ||
        get_u(g, path, "compllm.kv_dim", &kvd) < 0 || get_u(g, path, "compllm.ffn_dim", &fd) < 0)
        goto out;
    if (cl_gguf_get_f64(g, "compllm.lora.alpha", &alpha) < 0) {
        cl_fail("%s: missing or bad compllm.lora.alpha", path);
        goto out;
    }
    if (check_settings(path, (int)C, (int)S, (int)rank, (float)alpha, (int)nl) < 0) goto out;
    if (dim < 1 || dim > 65536 || nl < 1 || nl > CL_MAX_LAYERS || qd < 1 || qd > 1 << 20 || kvd < 1 || kvd > 1 << 20 ||
        fd < 1 || fd > 1 << 20) {
        cl_fail("%s: compressor settings out of range", path);
        goto out;
    }
    const char *fp_hex = cl_gguf_get_str(g, "compllm.base_fingerprint");
    uint8_t base_fp[32];
    for (int i = 0; i < 32 && fp_hex; i++) {
        unsigned b;
        if (strlen(fp_hex) != 64 || sscanf(fp_hex + 2 * i, "%2x", &b) != 1) fp_hex = NULL;
        else base_fp[i] = (uint8_t)b;
    }
    if (!fp_hex) {
        cl_fail("%s: missing or bad compllm.base_fingerprint", path);
        goto out;
    }
    int et;
    uint64_t nt = 0;
    unsigned targets = 0;
    if (cl_gguf_find(g, "compllm.lora.targets") >= 0) {
        if (cl_gguf_get_arr(g, "compllm.lora.targets", &et, &nt, NULL) < 0 || et != GGUF_STRING) {
            cl_fail("%s: compllm.lora.targets is not a string array", path);
            goto out;
        }
        for (uint64_t i = 0; i < nt; i++) {
            const char *s = cl_gguf_arr_str(g, "compllm.lora.targets", i, NULL);
            unsigned one;
            if (!s || !*s || strchr(s, ',') || cl_compressor_parse_targets(s, &one) < 0) {
                cl_fail("%s: compllm.lora.targets: bad entry %llu", path, (unsigned long long)i);
                goto out;
            }
            targets |= one;
        }
    }
    if (m) {
        if (memcmp(base_fp, m->fingerprint, 32)) {
            char have[65];
            cl_hex(m->fingerprint, 32, have);
            cl_fail("%s: made for another base model (fingerprint %.16s..., this model's %.16s...)", path,
                    fp_hex, have);
            goto out;
        }
        const cl_config *k = &m->cfg;
        if (dim != k->dim || nl != k->n_layers || qd != k->n_heads * k->head_dim ||
            kvd != k->n_kv_heads * k->head_dim || fd != k->ffn_dim) {
            cl_fail("%s: made for another model shape (dim %lld, %lld layers), the model has dim %d, %d layers",
                    path, (long long)dim, (long long)nl, k->dim, k->n_layers);
            goto out;
        }
    }
    c = alloc_params((int)dim, (int)nl, (int)qd, (int)kvd, (int)fd, (int)C, (int)S, (int)rank, (float)alpha,
                     targets);
    memcpy(c->base_fp, base_fp, 32);
    load_ctx lc = {g, path};
    if (each_lora(c, load_lora, &lc) < 0) goto fail;
    if (take(g, path, "proj.weight", 2, c->dim, c->dim, c->proj_w) < 0 ||
        take(g, path, "proj.bias", 1, c->dim, 0, c->proj_b) < 0)
        goto fail;
    if (cl_first_nonfinite(c->params, c->n_params) < c->n_params) {
        cl_fail("%s: a parameter is not finite (NaN or Inf)", path);
        goto fail;
    }
    cl_compressor_refresh_fp(c);
    goto out;
fail:
    cl_compressor_free(c);
    c = NULL;
out:
    cl_gguf_close(g);
    return c;
}

/* ---- compression ---- */

static int check_segments(const cl_model *m, int C, int S, int n_seg, const int *n_ids, const int32_t *const *ids,
                          size_t *n_tok, size_t *n_out) {
    *n_tok = *n_out = 0;
    for (int i = 0; i < n_seg; i++) {
        if (n_ids[i] < 1 || n_ids[i] > S)
            return cl_fail("segment %d has %d tokens: must be 1..%d (S)", i, n_ids[i], S);
        for (int j = 0; j < n_ids[i]; j++)
            if (ids[i][j] < 0 || ids[i][j] >= m->cfg.n_vocab)
                return cl_fail("segment %d: token id %d out of the vocabulary (%d)", i, (int)ids[i][j], m->cfg.n_vocab);
        *n_tok += (size_t)n_ids[i];
        *n_out += (size_t)cl_compress_n_out(n_ids[i], C);
    }
    return 0;
}

/* Bit-exact batching, by construction.  Every product of the forward pass and the linear layer
 * runs through cl_gemm_fixed (cl_gemm_fixed_order on the worker threads): each output element is
 * one FMA chain over k in a fixed order, so a row's result depends on that row alone.  Everything
 * else in the forward pass works row by row (norms, RoPE, SwiGLU) or sequence by sequence
 * (attention, whose blocking depends only on the sequence's own length).  A segment's CEs are
 * therefore the same bits whatever the batch, its place in it, the thread count, the BLAS
 * library or its kernel.  The batch is split into contiguous sub-batches, one per thread. */
typedef struct {
    const cl_model *m;
    const cl_compressor *c;
    int n_seg, rc;
    const int32_t *const *ids;
    const int *n_ids;
    float *out;
    char err[256];
} chunk;

/* Compress one sub-batch on the calling thread, see above. */
static void *compress_chunk(void *arg) {
    chunk *k = arg;
    const cl_compressor *c = k->c;
    int D = c->dim, eos = k->m->cfg.eos_id, was = cl_gemm_fixed_order(1);
    size_t total = 0, n_out = 0;
    for (int i = 0; i < k->n_seg; i++) {
        int p = cl_compress_n_out(k->n_ids[i], c->rate);
        total += (size_t)(k->n_ids[i] + p);
        n_out += (size_t)p;
    }
    int32_t *all = cl_malloc(total * sizeof *all);
    int *seq_len = cl_malloc((size_t)k->n_seg * sizeof *seq_len), *pos = cl_malloc(n_out * sizeof *pos);
    size_t t = 0, o = 0;
    for (int i = 0; i < k->n_seg; i++) {
        int n = k->n_ids[i], p = cl_compress_n_out(n, c->rate);
        memcpy(all + t, k->ids[i], (size_t)n * sizeof *all);
        for (int j = 0; j < p; j++) all[t + n + j] = eos, pos[o++] = (int)t + n + j;
        seq_len[i] = n + p;
        t += (size_t)(n + p);
    }
    float *h = cl_malloc(n_out * D * sizeof *h);
    cl_batch b = {.n_tokens = (int)total, .ids = all, .n_seq = k->n_seg, .seq_len = seq_len, .lora = c->lora,
                  .n_out = (int)n_out, .out_pos = pos, .out_final = h};
    k->rc = cl_forward(k->m, NULL, &b);
    if (k->rc < 0) {
        snprintf(k->err, sizeof k->err, "%s", cl_error());
    } else {   /* y = W h + b */
        for (size_t r = 0; r < n_out; r++) memcpy(k->out + r * D, c->proj_b, (size_t)D * sizeof(float));
        cl_gemm(0, 1, (int)n_out, D, D, 1.0f, h, D, c->proj_w, D, 1.0f, k->out, D);
    }
    cl_gemm_fixed_order(was);
    free(h);
    free(all);
    free(seq_len);
    free(pos);
    return NULL;
}

int cl_compress(const cl_model *m, const cl_compressor *c, int n_seg, const int32_t *const *ids,
                const int *n_ids, float *out) {
    if (memcmp(c->base_fp, m->fingerprint, 32)) return cl_fail("compressor was made for another base model");
    if (c->dim != m->cfg.dim || c->n_layers != m->cfg.n_layers || c->ffn_dim != m->cfg.ffn_dim)
        return cl_fail("compressor does not fit the model");
    int eos = m->cfg.eos_id;
    if (eos < 0 || eos >= m->cfg.n_vocab) return cl_fail("the model has no EOS token to use as placeholder");
    size_t n_tok, n_out;
    if (check_segments(m, c->rate, c->max_seg, n_seg, n_ids, ids, &n_tok, &n_out) < 0) return -1;
    if (n_seg == 0) return 0;
    if (n_tok + n_out > (size_t)1 << 28) return cl_fail("batch too large");

    int T = openblas_get_num_threads();
    if (T > n_seg) T = n_seg;
    if (T < 1) T = 1;
    /* contiguous sub-batches of about equal token counts */
    chunk *k = cl_calloc((size_t)T, sizeof *k);
    pthread_t *th = cl_calloc((size_t)T, sizeof *th);
    int *started = cl_calloc((size_t)T, sizeof *started);
    size_t done_tok = 0, done_out = 0;
    for (int i = 0, s = 0; i < T; i++) {
        int e = s;
        size_t want = n_tok * (size_t)(i + 1) / (size_t)T, acc = done_tok;
        while (e < n_seg && (e == s || acc < want) && n_seg - e > T - i - 1) acc += (size_t)n_ids[e++];
        if (i == T - 1) e = n_seg;
        k[i] = (chunk){.m = m, .c = c, .n_seg = e - s, .ids = ids + s, .n_ids = n_ids + s,
                       .out = out + done_out * (size_t)c->dim};
        for (int j = s; j < e; j++) done_tok += (size_t)n_ids[j], done_out += (size_t)cl_compress_n_out(n_ids[j], c->rate);
        s = e;
    }
    for (int i = 1; i < T; i++) started[i] = pthread_create(&th[i], NULL, compress_chunk, &k[i]) == 0;
    for (int i = 1; i < T; i++)
        if (!started[i]) compress_chunk(&k[i]);   /* no thread: do it here */
    compress_chunk(&k[0]);
    for (int i = 1; i < T; i++)
        if (started[i]) pthread_join(th[i], NULL);
    int rc = 0;
    for (int i = 0; i < T && rc == 0; i++)
        if (k[i].rc < 0) rc = cl_fail("%s", k[i].err);
    free(k);
    free(th);
    free(started);
    return rc;
}

int cl_compress_naive(const cl_model *m, int C, int n_seg, const int32_t *const *ids, const int *n_ids, float *out) {
    size_t n_tok, n_out;
    if (C < 1) return cl_fail("compression rate C=%d must be >= 1", C);
    if (check_segments(m, C, 1 << 30, n_seg, n_ids, ids, &n_tok, &n_out) < 0) return -1;
    int D = m->cfg.dim;
    float *rows = cl_malloc((size_t)C * D * sizeof *rows);
    for (int i = 0; i < n_seg; i++)
        for (int j = 0; j < n_ids[i]; j += C) {
            int e = j + C < n_ids[i] ? j + C : n_ids[i];
            for (int t = j; t < e; t++) cl_mat_row(&m->tok_embd, ids[i][t], rows + (size_t)(t - j) * D);
            for (int d = 0; d < D; d++) {
                float s = 0;
                for (int t = j; t < e; t++) s += rows[(size_t)(t - j) * D + d];
                out[d] = s / (float)(e - j) * (m->cfg.embd_scale > 0 ? m->cfg.embd_scale : 1.0f);
            }
            out += D;
        }
    free(rows);
    return 0;
}

void cl_naive_fingerprint(const cl_model *m, int C, uint8_t out[32]) {
    cl_sha256 s;
    cl_sha256_init(&s);
    cl_sha256_update(&s, "compllm naive-mean v1", 21);
    cl_sha256_update(&s, m->fingerprint, 32);
    put_u32(&s, (uint32_t)C);
    cl_sha256_final(&s, out);
}
