/* test_forward.c — cl_forward agrees with itself across every way of feeding it:
 * KV-cache continuation == full prefill, chunked == single prefill, independent-sequence batches
 * == each sequence alone, embeddings == ids, LoRA == the same model with merged weights,
 * out_final/out_layers consistent with the logits; and bad batches, non-finite inputs and outputs
 * (values beyond an f16 KV cache) fail cleanly.
 * (Agreement with an independent implementation: test_forward_ref.c.) */
#include <math.h>
#include <string.h>

#include "model.h"
#include "t.h"
#include "util.h"

static cl_config small_cfg(cl_arch arch, int interleaved) {
    cl_config c = {.arch = arch, .n_vocab = 97, .dim = 48, .n_layers = 2, .n_heads = 6,
                   .n_kv_heads = 2, .head_dim = 8, .ffn_dim = 80, .max_ctx = 2048,
                   .rope_theta = 10000.0f, .rms_eps = 1e-5f, .tied_embeddings = 0,
                   .attn_bias = arch == CL_ARCH_QWEN2, .qk_norm = arch == CL_ARCH_QWEN3,
                   .rope_interleaved = interleaved, .bos_id = 1, .eos_id = 2};
    return c;
}

/* max |a-b| / max |b| */
static double rel(const float *a, const float *b, size_t n) {
    double d = 0, mx = 1e-30;
    for (size_t i = 0; i < n; i++) {
        d = fmax(d, fabs((double)a[i] - b[i]));
        mx = fmax(mx, fabs((double)b[i]));
    }
    return d / mx;
}

static int32_t *rand_ids(int n, int V, unsigned seed) {
    int32_t *ids = malloc((size_t)n * sizeof *ids);
    for (int i = 0; i < n; i++) ids[i] = (int32_t)((seed = seed * 1103515245u + 12345u) >> 8) % V;
    return ids;
}

/* All-position logits of one sequence, no cache. */
static float *logits_nokv(const cl_model *m, const int32_t *ids, int n, const cl_lora *lo) {
    float *lg = malloc((size_t)n * m->cfg.n_vocab * sizeof *lg);
    cl_batch b = {.n_tokens = n, .ids = ids, .logits = lg, .logits_all = 1, .lora = lo};
    if (cl_forward(m, NULL, &b) < 0) {
        free(lg);
        return NULL;
    }
    return lg;
}

static void test_cache(const cl_model *m, const char *what) {
    int V = m->cfg.n_vocab, n = 40;
    int32_t *ids = rand_ids(n, V, 7);
    float *full = logits_nokv(m, ids, n, NULL);
    float *step = malloc((size_t)n * V * sizeof *step), *chunk = malloc((size_t)n * V * sizeof *chunk);
    cl_kv *kv = cl_kv_new(m, 64);
    int ok = 1;
    for (int i = 0; i < n && ok; i++) {
        cl_batch b = {.n_tokens = 1, .ids = ids + i, .logits = step + (size_t)i * V};
        ok = cl_forward(m, kv, &b) == 0;
    }
    double e = rel(step, full, (size_t)n * V);
    OK(ok && cl_kv_len(kv) == n && e <= 1e-6, "%s: token-by-token decode == full prefill (rel err %.2g)", what, e);
    OK(cl_kv_bytes(kv) == (size_t)2 * m->cfg.n_layers * n * m->cfg.n_kv_heads * m->cfg.head_dim * 4,
       "%s: cl_kv_bytes counts the cached positions", what);

    cl_kv_truncate(kv, 0);
    int parts[3] = {13, 20, 7};
    for (int p = 0, t = 0; p < 3 && ok; t += parts[p++]) {
        cl_batch b = {.n_tokens = parts[p], .ids = ids + t, .logits = chunk + (size_t)t * V, .logits_all = 1};
        ok = cl_forward(m, kv, &b) == 0;
    }
    e = rel(chunk, full, (size_t)n * V);
    OK(ok && e <= 1e-6, "%s: chunked prefill 13+20+7 == single prefill (rel err %.2g)", what, e);

    /* reuse a prefix: truncate to 13 and continue with the rest in one go */
    cl_kv_truncate(kv, 13);
    cl_batch b = {.n_tokens = n - 13, .ids = ids + 13, .logits = chunk + 13 * V, .logits_all = 1};
    ok = cl_forward(m, kv, &b) == 0;
    e = rel(chunk, full, (size_t)n * V);
    OK(ok && e <= 1e-6, "%s: truncate to 13 then continue == full (rel err %.2g)", what, e);

    /* last-position logits only */
    float *last = malloc((size_t)V * sizeof *last);
    cl_kv_truncate(kv, 0);
    cl_batch bl = {.n_tokens = n, .ids = ids, .logits = last};
    ok = cl_forward(m, kv, &bl) == 0;
    OK(ok && rel(last, full + (size_t)(n - 1) * V, V) <= 1e-6, "%s: last-position logits", what);
    free(last);
    free(ids); free(full); free(step); free(chunk);
    cl_kv_free(kv);
}

/* Longer than a span (512 rows) and several attention blocks: cache path (spans) == no cache. */
static void test_long(const cl_model *m) {
    int V = m->cfg.n_vocab, n = 1100;
    int32_t *ids = rand_ids(n, V, 3);
    float *full = logits_nokv(m, ids, n, NULL);
    float *kvl = malloc((size_t)n * V * sizeof *kvl);
    cl_kv *kv = cl_kv_new(m, n);
    cl_batch b = {.n_tokens = n, .ids = ids, .logits = kvl, .logits_all = 1};
    int ok = full && cl_forward(m, kv, &b) == 0;
    double e = ok ? rel(kvl, full, (size_t)n * V) : 1;
    OK(ok && e <= 1e-5, "1100 positions: cached prefill in spans == one-span prefill (rel err %.2g)", e);
    free(ids); free(full); free(kvl);
    cl_kv_free(kv);
}

/* 16-bit caches: a prefill of 600 (two spans, the second reading the cache through f32 copies),
 * then 6 decode steps (read in place), against the f32 cache: rel err within the cache type's
 * rounding (f16 2^-11, bf16 2^-8, times a margin for its propagation); prefill in one go and
 * token by token read the same rounded values, so they agree to float rounding. */
static void test_kv_types(const cl_model *m) {
    int V = m->cfg.n_vocab, n = 606, np = 600;
    int32_t *ids = rand_ids(n, V, 5);
    float *ref = malloc((size_t)V * sizeof *ref), *got = malloc((size_t)V * sizeof *got), *alt = malloc((size_t)V * sizeof *alt);
    static const struct { cl_dtype t; double tol; } T[] = {{CL_F16, 2e-3}, {CL_BF16, 2e-2}};
    cl_kv *kf = cl_kv_new(m, n);
    cl_batch b = {.n_tokens = n, .ids = ids, .logits = ref};
    int okf = cl_forward(m, kf, &b) == 0;
    for (int k = 0; k < 2; k++) {
        cl_kv *kv = cl_kv_new_type(m, n, T[k].t), *kv2 = cl_kv_new_type(m, n, T[k].t);
        cl_batch p = {.n_tokens = np, .ids = ids, .logits = got};
        int ok = okf && kv && cl_kv_type(kv) == T[k].t && cl_forward(m, kv, &p) == 0;
        for (int i = np; ok && i < n; i++) {
            cl_batch d = {.n_tokens = 1, .ids = ids + i, .logits = got};
            ok = cl_forward(m, kv, &d) == 0;
        }
        double e = ok ? rel(got, ref, (size_t)V) : 1;
        OK(ok && e <= T[k].tol && cl_kv_bytes(kv) * 2 == cl_kv_bytes(kf),
           "%s kv cache: 600 prefill + 6 decode vs f32 cache (rel err %.2g <= %.0e), half the bytes",
           cl_dtype_name(T[k].t), e, T[k].tol);
        cl_batch all = {.n_tokens = n, .ids = ids, .logits = alt};
        int ok2 = kv2 && cl_forward(m, kv2, &all) == 0;
        double e2 = ok && ok2 ? rel(alt, got, (size_t)V) : 1;
        OK(ok2 && e2 <= 1e-5, "%s kv cache: one prefill of 606 == 600 + 6 decode steps (rel err %.2g)",
           cl_dtype_name(T[k].t), e2);
        cl_kv_free(kv);
        cl_kv_free(kv2);
    }
    cl_kv *bad = cl_kv_new_type(m, 4, CL_Q8_0);
    OK(bad == NULL && strstr(cl_error(), "q8_0"), "a q8_0 kv cache is refused: %s", cl_error());
    cl_kv_free(kf);
    free(ids); free(ref); free(got); free(alt);
}

/* Non-finite values are refused, never passed on: a nan input embedding is named; a model whose
 * values overflow f16 (layer 0's attention norm gains x 1e6: V ~ 1e5-1e6) runs with f32 and bf16
 * caches (finite logits) and fails with an f16 one, naming the logits and the cache, where the
 * logits would otherwise be nan; the same for a compressor-style batch (out_final). */
static void test_nonfinite(const cl_config *c) {
    cl_model *m = cl_model_random(c, 7);
    int V = c->n_vocab, dim = c->dim, n = 12;
    int32_t *ids = rand_ids(n, V, 9);
    float *embd = calloc((size_t)n * dim, sizeof *embd), *lg = malloc((size_t)V * sizeof *lg);
    embd[5 * dim + 3] = NAN;
    cl_batch be = {.n_tokens = n, .embd = embd, .logits = lg};
    OK(cl_forward(m, NULL, &be) < 0 && !strcmp(cl_error(), "forward: input embedding 5, element 3 is nan"),
       "a nan input embedding is refused: %s", cl_error());
    for (int i = 0; i < dim; i++) m->layers[0].attn_norm[i] *= 1e6f;
    static const cl_dtype T[] = {CL_F32, CL_BF16, CL_F16};
    for (int k = 0; k < 3; k++) {
        cl_kv *kv = cl_kv_new_type(m, n, T[k]);
        cl_batch b = {.n_tokens = n, .ids = ids, .logits = lg};
        int rc = cl_forward(m, kv, &b);
        if (T[k] != CL_F16) {
            int fin = 1;
            for (int i = 0; i < V; i++) fin &= isfinite(lg[i]) != 0;
            OK(rc == 0 && fin, "values beyond f16 in a %s cache: finite logits", cl_dtype_name(T[k]));
        } else {
            OK(rc < 0 && strstr(cl_error(), "forward: logits of batch row 11, element ") &&
                   strstr(cl_error(), "an activation overflowed (the f16 KV cache holds |x| <= 65504)"),
               "values beyond f16 in an f16 cache are refused: %s", rc ? cl_error() : "(accepted)");
        }
        cl_kv_free(kv);
    }
    /* no cache: the same model is finite; a nan reaching the output is named by its batch row */
    int pos[2] = {3, 8};
    float *fin = malloc((size_t)2 * dim * sizeof *fin);
    cl_batch bo = {.n_tokens = n, .ids = ids, .n_out = 2, .out_pos = pos, .out_final = fin};
    OK(cl_forward(m, NULL, &bo) == 0, "no cache: the large activations stay finite");
    m->out_norm[4] = NAN;
    OK(cl_forward(m, NULL, &bo) < 0 && !strcmp(cl_error(), "forward: final state of batch row 3, element 4 is nan: an activation overflowed"),
       "a nan final state is refused naming the batch row: %s", cl_error());
    cl_model_free(m);
    free(ids); free(embd); free(lg); free(fin);
}

static void test_batches(const cl_model *m) {
    int V = m->cfg.n_vocab, dim = m->cfg.dim, L = m->cfg.n_layers;
    /* 3 short sequences, then 45 of 20 (900 rows: split over spans at sequence boundaries) */
    int lens[48] = {5, 9, 3};
    for (int s = 3; s < 48; s++) lens[s] = 20;
    for (int ns = 3; ns <= 48; ns += 45) {
        int n = 0;
        for (int s = 0; s < ns; s++) n += lens[s];
        int32_t *ids = rand_ids(n, V, 11 + ns);
        float *lg = malloc((size_t)n * V * sizeof *lg);
        cl_batch b = {.n_tokens = n, .ids = ids, .n_seq = ns, .seq_len = lens, .logits = lg, .logits_all = 1};
        int ok = cl_forward(m, NULL, &b) == 0;
        double e = 0;
        for (int s = 0, t = 0; ok && s < ns; t += lens[s++]) {
            float *one = logits_nokv(m, ids + t, lens[s], NULL);
            e = fmax(e, rel(lg + (size_t)t * V, one, (size_t)lens[s] * V));
            free(one);
        }
        OK(ok && e <= 1e-6, "batch of %d independent sequences == each alone (rel err %.2g)", ns, e);
        free(ids); free(lg);
    }

    /* out_final / out_layers at chosen positions; embeddings input == ids input */
    int n = 17, lens2[2] = {10, 7}, pos[3] = {0, 9, 16};
    int32_t *ids = rand_ids(n, V, 5);
    float *lg = malloc((size_t)n * V * sizeof *lg), *fin = malloc(3 * (size_t)dim * sizeof *fin);
    float *lay = malloc((size_t)(L + 1) * 3 * dim * sizeof *lay);
    cl_batch b = {.n_tokens = n, .ids = ids, .n_seq = 2, .seq_len = lens2, .logits = lg, .logits_all = 1,
                  .n_out = 3, .out_pos = pos, .out_final = fin, .out_layers = lay};
    int ok = cl_forward(m, NULL, &b) == 0;
    int emb_ok = 1;
    for (int j = 0; j < 3; j++)
        emb_ok &= !memcmp(lay + (size_t)j * dim, cl_mat_f32_data(&m->tok_embd) + (size_t)ids[pos[j]] * dim, dim * sizeof(float));
    OK(ok && emb_ok, "out_layers[0] holds the input embeddings");
    /* logits = out_final . output rows (double dot products) */
    double e = 0;
    for (int j = 0; j < 3; j++)
        for (int v = 0; v < V; v++) {
            double d = 0;
            for (int i = 0; i < dim; i++) d += (double)fin[j * dim + i] * cl_mat_f32_data(&m->output)[(size_t)v * dim + i];
            e = fmax(e, fabs(d - lg[(size_t)pos[j] * V + v]));
        }
    OK(ok && e < 1e-4, "logits == out_final x output head (max abs err %.2g)", e);
    /* final norm of the last layer's state == out_final */
    double ef = 0;
    for (int j = 0; j < 3; j++) {
        const float *x = lay + ((size_t)L * 3 + j) * dim;
        double ss = 0;
        for (int i = 0; i < dim; i++) ss += (double)x[i] * x[i];
        double s = 1 / sqrt(ss / dim + m->cfg.rms_eps);
        for (int i = 0; i < dim; i++) ef = fmax(ef, fabs(x[i] * s * m->out_norm[i] - fin[j * dim + i]));
    }
    OK(ok && ef < 1e-5, "out_final == RMSNorm(out_layers[n_layers]) (max abs err %.2g)", ef);

    float *embd = malloc((size_t)n * dim * sizeof *embd), *lg2 = malloc((size_t)n * V * sizeof *lg2);
    for (int t = 0; t < n; t++) memcpy(embd + (size_t)t * dim, cl_mat_f32_data(&m->tok_embd) + (size_t)ids[t] * dim, dim * sizeof(float));
    cl_batch be = {.n_tokens = n, .embd = embd, .n_seq = 2, .seq_len = lens2, .logits = lg2, .logits_all = 1};
    ok = cl_forward(m, NULL, &be) == 0;
    OK(ok && !memcmp(lg, lg2, (size_t)n * V * sizeof *lg), "embeddings input == ids input (bitwise)");
    free(ids); free(lg); free(fin); free(lay); free(embd); free(lg2);
}

/* LoRA on every target == the model with W + scale * B A merged into its weights. */
static void test_lora(const cl_config *c) {
    cl_model *m = cl_model_random(c, 99), *mm = cl_model_random(c, 99);
    int r = 3, dim = c->dim, qd = c->n_heads * c->head_dim, kvd = c->n_kv_heads * c->head_dim, ffn = c->ffn_dim;
    cl_lora *lo = cl_calloc(1, sizeof *lo);
    lo->rank = r;
    lo->scale = 0.5f;
    int outd[CL_LORA_NT] = {qd, kvd, kvd, dim, ffn, ffn, dim}, ind[CL_LORA_NT] = {dim, dim, dim, qd, dim, dim, ffn};
    unsigned seed = 1;
    for (int l = 0; l < c->n_layers; l++) {
        cl_layer *y = &mm->layers[l];
        float *W[CL_LORA_NT] = {(float *)y->wq.data, (float *)y->wk.data, (float *)y->wv.data, (float *)y->wo.data,
                                (float *)y->w_gate.data, (float *)y->w_up.data, (float *)y->w_down.data};   /* random: f32 arena */
        for (int t = 0; t < CL_LORA_NT; t++) {
            lo->A[l][t] = malloc((size_t)r * ind[t] * sizeof(float));
            lo->B[l][t] = malloc((size_t)outd[t] * r * sizeof(float));
            for (int i = 0; i < r * ind[t]; i++) lo->A[l][t][i] = (float)((seed = seed * 1103515245u + 12345u) >> 9) / 4194304.0f - 1;
            for (int i = 0; i < r * outd[t]; i++) lo->B[l][t][i] = ((float)((seed = seed * 1103515245u + 12345u) >> 9) / 4194304.0f - 1) * 0.1f;
            for (int o = 0; o < outd[t]; o++)
                for (int i = 0; i < ind[t]; i++) {
                    double d = 0;
                    for (int k = 0; k < r; k++) d += (double)lo->B[l][t][o * r + k] * lo->A[l][t][k * ind[t] + i];
                    W[t][(size_t)o * ind[t] + i] += (float)(lo->scale * d);
                }
        }
    }
    int n = 12, V = c->n_vocab;
    int32_t *ids = rand_ids(n, V, 21);
    float *a = logits_nokv(m, ids, n, lo), *b = logits_nokv(mm, ids, n, NULL), *base = logits_nokv(m, ids, n, NULL);
    double e = rel(a, b, (size_t)n * V), d = rel(base, b, (size_t)n * V);
    OK(a && b && e < 1e-5 && d > 1e-3, "%s: LoRA on all 7 projections == merged weights (rel err %.2g; LoRA changes logits by %.2g)",
       cl_arch_name(c->arch), e, d);
    for (int l = 0; l < c->n_layers; l++)
        for (int t = 0; t < CL_LORA_NT; t++) memset(lo->B[l][t], 0, (size_t)outd[t] * r * sizeof(float));
    float *z = logits_nokv(m, ids, n, lo);
    OK(z && !memcmp(z, base, (size_t)n * V * sizeof *z), "LoRA with B = 0 changes nothing (bitwise)");
    /* through the cache, LoRA on K/V lands in the cache */
    for (int l = 0; l < c->n_layers; l++)
        for (int t = 0; t < CL_LORA_NT; t++) free(lo->B[l][t]), lo->B[l][t] = NULL;
    lo->B[0][CL_LORA_K] = calloc((size_t)kvd * r, sizeof(float));
    lo->B[0][CL_LORA_K][0] = 1.0f;
    float *la = logits_nokv(m, ids, n, lo), *lk = malloc((size_t)n * V * sizeof *lk);
    cl_kv *kv = cl_kv_new(m, n);
    int ok = 1;
    for (int i = 0; i < n && ok; i++) {
        cl_batch bb = {.n_tokens = 1, .ids = ids + i, .logits = lk + (size_t)i * V, .lora = lo};
        ok = cl_forward(m, kv, &bb) == 0;
    }
    OK(ok && rel(lk, la, (size_t)n * V) <= 1e-6 && rel(la, base, (size_t)n * V) > 1e-4,
       "LoRA on K only: decode with cache == prefill");
    cl_kv_free(kv);
    for (int l = 0; l < c->n_layers; l++)
        for (int t = 0; t < CL_LORA_NT; t++) free(lo->A[l][t]), free(lo->B[l][t]);
    free(lo); free(ids); free(a); free(b); free(base); free(z); free(la); free(lk);
    cl_model_free(m);
    cl_model_free(mm);
}

static void test_errors(const cl_model *m) {
    int32_t ids[3] = {1, 2, 500};
    float lg[97];
    cl_batch b = {.n_tokens = 3, .ids = ids, .logits = lg};
    int rc = cl_forward(m, NULL, &b);
    OK(rc < 0 && strstr(cl_error(), "outside the vocabulary"), "id out of range fails: %s", cl_error());
    ids[2] = 3;
    cl_kv *kv = cl_kv_new(m, 2);
    rc = cl_forward(m, kv, &b);
    OK(rc < 0 && strstr(cl_error(), "exceed"), "cache overflow fails: %s", cl_error());
    int lens[2] = {1, 1};
    cl_batch b2 = {.n_tokens = 3, .ids = ids, .n_seq = 2, .seq_len = lens, .logits = lg};
    rc = cl_forward(m, NULL, &b2);
    OK(rc < 0 && strstr(cl_error(), "add to"), "sequence lengths must add up: %s", cl_error());
    cl_batch b3 = {.n_tokens = 2, .ids = ids, .n_seq = 2, .seq_len = lens, .logits = lg};
    rc = cl_forward(m, kv, &b3);
    OK(rc < 0, "several sequences with a cache fail: %s", cl_error());
    cl_batch b4 = {.n_tokens = 0, .ids = ids};
    OK(cl_forward(m, NULL, &b4) < 0, "empty batch fails");
    int bad = 3;
    cl_batch b5 = {.n_tokens = 2, .ids = ids, .n_out = 1, .out_pos = &bad};
    OK(cl_forward(m, NULL, &b5) < 0, "out_pos outside the batch fails");
    cl_kv_free(kv);
}

int main(void) {
    struct { cl_arch a; int inter; const char *name; } v[] = {
        {CL_ARCH_LLAMA, 1, "llama interleaved rope"},
        {CL_ARCH_QWEN2, 0, "qwen2 biases, rotate-half rope"},
        {CL_ARCH_QWEN3, 0, "qwen3 q/k norm"},
    };
    for (int i = 0; i < 3; i++) {
        cl_config c = small_cfg(v[i].a, v[i].inter);
        cl_model *m = cl_model_random(&c, 1 + i);
        OK(m != NULL, "random %s model", v[i].name);
        if (!m) { printf("# %s\n", cl_error()); continue; }
        test_cache(m, v[i].name);
        if (i == 0) {
            test_long(m);
            test_kv_types(m);
            test_batches(m);
            test_errors(m);
        }
        cl_model_free(m);
        test_lora(&c);
        if (i == 0) test_nonfinite(&c);
    }
    return t_done();
}
