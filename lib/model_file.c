/* model_file.c — open any supported layout, then check every tensor against the config (see
 * model_file.h).  The loaders live in model_hf.c, model_gguf.c and model_llama2c.c. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "hub.h"
#include "model_file_int.h"
#include "quant.h"

int cl_path_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

char *cl_path_join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = cl_malloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

void cl_mf_add(cl_model_file *mf, const char *name, const cl_tensor *src) {
    if (mf->n_t == mf->cap_t) mf->t = cl_realloc(mf->t, (size_t)(mf->cap_t = mf->cap_t * 2 + 64) * sizeof *mf->t);
    cl_tensor *t = &mf->t[mf->n_t++];
    *t = *src;
    t->name = cl_strdup(name);
}

const cl_tensor *cl_model_file_tensor(const cl_model_file *mf, const char *name) {
    return cl_tensor_index_find(mf->t, mf->sorted, mf->n_t, name);
}

/* One expected tensor: present with this exact shape (or absent when !required). */
static int expect(const cl_model_file *mf, char *seen, const char *name, int ndim, int64_t d0, int64_t d1,
                  int required) {
    const cl_tensor *t = cl_model_file_tensor(mf, name);
    if (!t) return required ? cl_fail("%s: tensor %s missing", mf->path, name) : 0;
    seen[t - mf->t] = 1;
    int64_t want[2] = {d0, d1};
    int ok = t->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++) ok = t->shape[i] == want[i];
    if (!ok) {
        char got[96] = "", exp[64];
        for (int i = 0; i < t->ndim; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", i ? "," : "", (long long)t->shape[i]);
        if (ndim == 1) snprintf(exp, sizeof exp, "%lld", (long long)d0);
        else snprintf(exp, sizeof exp, "%lld,%lld", (long long)d0, (long long)d1);
        return cl_fail("%s: tensor %s has shape [%s], the config needs [%s]", mf->path, name, got, exp);
    }
    if (t->shape[t->ndim - 1] % cl_dtype_block(t->dtype))
        return cl_fail("%s: tensor %s: %s rows of %lld elements", mf->path, name, cl_dtype_name(t->dtype),
                       (long long)t->shape[t->ndim - 1]);
    return 0;
}

static int check_shapes(const cl_model_file *mf) {
    const cl_config *c = &mf->cfg;
    char *seen = cl_calloc((size_t)mf->n_t + 1, 1);
    int64_t q = (int64_t)c->n_heads * c->head_dim, kv = (int64_t)c->n_kv_heads * c->head_dim;
    int rc = expect(mf, seen, "token_embd.weight", 2, c->n_vocab, c->dim, 1) ||
             expect(mf, seen, "output_norm.weight", 1, c->dim, 0, 1) ||
             expect(mf, seen, "output.weight", 2, c->n_vocab, c->dim, !c->tied_embeddings);
    if (!rc && c->tied_embeddings && cl_model_file_tensor(mf, "output.weight"))
        rc = cl_fail("%s: output.weight present but the embeddings are tied", mf->path);
    for (int l = 0; !rc && l < c->n_layers; l++) {
        char n[64];
#define E(suffix, nd, a, b, req) (snprintf(n, sizeof n, "blk.%d." suffix, l), expect(mf, seen, n, nd, a, b, req))
        rc = E("attn_norm.weight", 1, c->dim, 0, 1) || E("attn_q.weight", 2, q, c->dim, 1) ||
             E("attn_k.weight", 2, kv, c->dim, 1) || E("attn_v.weight", 2, kv, c->dim, 1) ||
             E("attn_output.weight", 2, c->dim, q, 1) || E("ffn_norm.weight", 1, c->dim, 0, 1) ||
             E("ffn_gate.weight", 2, c->ffn_dim, c->dim, 1) || E("ffn_up.weight", 2, c->ffn_dim, c->dim, 1) ||
             E("ffn_down.weight", 2, c->dim, c->ffn_dim, 1);
        if (!rc && c->attn_bias)
            rc = E("attn_q.bias", 1, q, 0, 1) || E("attn_k.bias", 1, kv, 0, 1) || E("attn_v.bias", 1, kv, 0, 1);
        if (!rc && c->qk_norm) rc = E("attn_q_norm.weight", 1, c->head_dim, 0, 1) || E("attn_k_norm.weight", 1, c->head_dim, 0, 1);
        if (!rc && c->post_norms)
            rc = E("post_attention_norm.weight", 1, c->dim, 0, 1) || E("post_ffw_norm.weight", 1, c->dim, 0, 1);
#undef E
    }
    if (!rc) rc = expect(mf, seen, "rope_freqs.weight", 1, c->head_dim / 2, 0, c->rope_freqs);
    for (int i = 0; !rc && i < mf->n_t; i++)
        if (!seen[i]) rc = cl_fail("%s: unexpected tensor %s (not part of a %s model with this config)", mf->path,
                                   mf->t[i].name, cl_arch_name(c->arch));
    free(seen);
    return rc ? -1 : 0;
}

void cl_rope_rows_permute(void *dst, const void *src, int64_t rows, int heads, size_t row_bytes, int to_interleaved) {
    int64_t hd = rows / heads;
    for (int64_t h = 0; h < heads; h++)
        for (int64_t i = 0; i < hd / 2; i++)
            for (int64_t j = 0; j < 2; j++) {
                int64_t pair = h * hd + 2 * i + j, half = h * hd + j * (hd / 2) + i;
                memcpy((char *)dst + (size_t)(to_interleaved ? pair : half) * row_bytes,
                       (const char *)src + (size_t)(to_interleaved ? half : pair) * row_bytes, row_bytes);
            }
}

/* A layout with interleaved RoPE (GGUF llama, llama2.c) stores each head's Q and K rows (weights,
 * biases, and the q/k norm gains of a head) in the pairs order: present them in the rotate-half
 * order of Hugging Face checkpoints, so that every layout of one model gives the same tensors,
 * the same fingerprint and the same computation.  Copies the few tensors concerned. */
static int to_rotate_half(cl_model_file *mf) {
    const cl_config *c = &mf->cfg;
    static const char *const which[] = {"attn_q.weight", "attn_q.bias", "attn_q_norm.weight",
                                        "attn_k.weight", "attn_k.bias", "attn_k_norm.weight"};
    for (int l = 0; l < c->n_layers; l++)
        for (int w = 0; w < 6; w++) {
            char n[64];
            snprintf(n, sizeof n, "blk.%d.%s", l, which[w]);
            cl_tensor *t = (cl_tensor *)cl_model_file_tensor(mf, n);
            if (!t) continue;
            int heads = w % 3 == 2 ? 1 : w < 3 ? c->n_heads : c->n_kv_heads;
            int64_t rows = t->shape[0];
            if (rows != (int64_t)heads * c->head_dim || c->head_dim % 2 || t->nbytes % (size_t)rows)
                return cl_fail("%s: tensor %s: rows do not split into %d heads of %d", mf->path, n, heads, c->head_dim);
            void *copy = cl_malloc(t->nbytes + 1);
            cl_rope_rows_permute(copy, t->data, rows, heads, t->nbytes / (size_t)rows, 0);
            mf->owned = cl_realloc(mf->owned, (size_t)(mf->n_owned + 1) * sizeof *mf->owned);
            mf->owned[mf->n_owned++] = copy;
            t->data = copy;
        }
    mf->cfg.rope_interleaved = 0;
    mf->stored_interleaved = 1;
    return 0;
}

/* HF Gemma stores RMSNorm gains as w - 1 (config norm_plus_one): present them as f32 w, the +1
 * added in f32 as llama.cpp's converter (and cl-model convert) stores them, so both layouts give
 * the same tensors and fingerprint.  Copies the norm gains. */
static int fold_norm_plus_one(cl_model_file *mf) {
    for (int i = 0; i < mf->n_t; i++) {
        cl_tensor *t = &mf->t[i];
        size_t ln = strlen(t->name);
        if (ln < 11 || strcmp(t->name + ln - 11, "norm.weight")) continue;
        int64_t n = cl_tensor_nelem(t);
        float *w = cl_malloc((size_t)n * sizeof *w + 1);
        mf->owned = cl_realloc(mf->owned, (size_t)(mf->n_owned + 1) * sizeof *mf->owned);
        mf->owned[mf->n_owned++] = w;
        if (cl_tensor_to_f32(t, w) < 0) return -1;
        for (int64_t k = 0; k < n; k++) w[k] += 1.0f;
        t->data = w;
        t->dtype = CL_F32;
        t->nbytes = (size_t)n * sizeof *w;
    }
    mf->cfg.norm_plus_one = 0;
    return 0;
}

cl_model_file *cl_model_file_open(const char *path) {
    struct stat st;
    char *hub = NULL;   /* ORG/NAME[@REV][:QUANT] not on disk: the Hugging Face cache's copy (hub.h) */
    if (stat(path, &st) != 0 && cl_hub_is_ref(path)) {
        if (!(hub = cl_hub_model_path(path))) return NULL;
        path = hub;
    }
    cl_model_file *mf = cl_calloc(1, sizeof *mf);
    mf->path = cl_strdup(path);
    free(hub);
    path = mf->path;
    int rc;
    if (stat(path, &st) != 0) {
        rc = cl_fail("%s: no such file or directory", path);
    } else if (S_ISDIR(st.st_mode)) {
        mf->fmt = CL_FMT_HF;
        rc = cl_mf_open_hf(mf, path);
    } else if (!S_ISREG(st.st_mode)) {   /* a FIFO would block the probe below */
        rc = cl_fail("%s: not a regular file or directory", path);
    } else {
        char magic[4] = {0};
        FILE *f = fopen(path, "rb");
        size_t got = f ? fread(magic, 1, 4, f) : 0;
        if (f) fclose(f);
        size_t pl = strlen(path);
        if (!f) rc = cl_fail("%s: %s", path, strerror(errno));
        else if (got == 4 && !memcmp(magic, "GGUF", 4)) {
            mf->fmt = CL_FMT_GGUF;
            rc = cl_mf_open_gguf(mf, path);
        } else if ((pl >= 12 && !strcmp(path + pl - 12, ".safetensors")) ||
                   (pl >= 11 && !strcmp(path + pl - 11, "config.json"))) {
            /* a file of a Hugging Face directory: open the directory */
            char *dir = cl_strdup(path), *slash = strrchr(dir, '/');
            if (slash) *slash = 0;
            else strcpy(dir, ".");
            mf->fmt = CL_FMT_HF;
            rc = cl_mf_open_hf(mf, dir);
            free(dir);
        } else {
            mf->fmt = CL_FMT_LLAMA2C;
            rc = cl_mf_open_llama2c(mf, path);
        }
    }
    if (rc == 0) {
        int dup;
        mf->sorted = cl_tensor_index(mf->t, mf->n_t, &dup);
        if (dup >= 0) rc = cl_fail("%s: tensor %s appears twice", path, mf->t[dup].name);
    }
    if (rc == 0 && cl_config_validate(&mf->cfg)) rc = cl_fail_prefix("%s", path);
    if (rc == 0) rc = check_shapes(mf);
    if (rc == 0 && mf->cfg.rope_interleaved) rc = to_rotate_half(mf);
    if (rc == 0 && mf->cfg.norm_plus_one) rc = fold_norm_plus_one(mf);
    if (rc) {
        cl_model_file_close(mf);
        return NULL;
    }
    return mf;
}

void cl_model_file_retain(const cl_model_file *mf) { ((cl_model_file *)mf)->refs++; }

void cl_model_file_close(cl_model_file *mf) {
    if (!mf) return;
    if (mf->refs > 0) {
        mf->refs--;
        return;
    }
    for (int i = 0; i < mf->n_t; i++) free((char *)mf->t[i].name);
    free(mf->t);
    free(mf->sorted);
    cl_gguf_close(mf->gguf);
    for (int i = 0; i < mf->n_shards; i++) cl_st_close(mf->shards[i]);
    free(mf->shards);
    cl_unmap(&mf->map);
    free(mf->tok_json);
    free(mf->tok_bin);
    free(mf->chat_template);
    for (int i = 0; i < mf->n_owned; i++) free(mf->owned[i]);
    free(mf->owned);
    free(mf->path);
    free(mf);
}

cl_format cl_model_file_format(const cl_model_file *mf) { return mf->fmt; }
const char *cl_model_file_path(const cl_model_file *mf) { return mf->path; }
const cl_config *cl_model_file_config(const cl_model_file *mf) { return &mf->cfg; }
const cl_gguf *cl_model_file_gguf(const cl_model_file *mf) { return mf->gguf; }
const char *cl_model_file_tokenizer_json(const cl_model_file *mf) { return mf->tok_json; }
const char *cl_model_file_tokenizer_bin(const cl_model_file *mf) { return mf->tok_bin; }
const char *cl_model_file_chat_template(const cl_model_file *mf) { return mf->chat_template; }
int cl_model_file_rope_stored_interleaved(const cl_model_file *mf) { return mf->stored_interleaved; }
int cl_model_file_n_tensors(const cl_model_file *mf) { return mf->n_t; }
const cl_tensor *cl_model_file_tensor_at(const cl_model_file *mf, int i) {
    return i >= 0 && i < mf->n_t ? &mf->t[mf->sorted[i]] : NULL;
}
const char *cl_format_name(cl_format f) {
    return f == CL_FMT_HF ? "hf" : f == CL_FMT_GGUF ? "gguf" : f == CL_FMT_LLAMA2C ? "llama2c" : "unknown";
}

static void put_i64(cl_sha256 *s, int64_t v) {
    uint8_t b[8];
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)((uint64_t)v >> (8 * i));
    cl_sha256_update(s, b, 8);
}

void cl_model_file_fingerprint(const cl_model_file *mf, uint8_t out[32]) {
    const cl_config *c = &mf->cfg;
    cl_sha256 s;
    cl_sha256_init(&s);
    char cfg[512];
    int n = snprintf(cfg, sizeof cfg,
                     "arch=%s vocab=%d dim=%d layers=%d heads=%d kv_heads=%d head_dim=%d ffn=%d ctx=%d "
                     "rope_theta=%.9g rms_eps=%.9g tied=%d bias=%d qk_norm=%d interleaved=%d bos=%d eos=%d\n",
                     cl_arch_name(c->arch), c->n_vocab, c->dim, c->n_layers, c->n_heads, c->n_kv_heads, c->head_dim,
                     c->ffn_dim, c->max_ctx, (double)c->rope_theta, (double)c->rms_eps, c->tied_embeddings,
                     c->attn_bias, c->qk_norm, c->rope_interleaved, c->bos_id, c->eos_id);
    cl_sha256_update(&s, cfg, (size_t)n);
    char extra[2048];   /* empty for plain configs: their fingerprints stay what they were */
    cl_config maths = *c;
    maths.n_stop = 0;   /* stop ids do not change the model's outputs */
    if (maths.rope_scaling.type == CL_ROPE_LINEAR)   /* unused by linear scaling; GGUF does not keep it */
        maths.rope_scaling.orig_ctx = 0;
    cl_config_describe_extra(&maths, extra, sizeof extra);
    cl_sha256_update(&s, extra, strlen(extra));
    const size_t big = 1 << 20, sample = 64 << 10;
    for (int i = 0; i < mf->n_t; i++) {
        const cl_tensor *t = &mf->t[mf->sorted[i]];
        cl_sha256_update(&s, t->name, strlen(t->name) + 1);
        put_i64(&s, t->dtype);
        put_i64(&s, t->ndim);
        for (int d = 0; d < t->ndim; d++) put_i64(&s, t->shape[d]);
        put_i64(&s, (int64_t)t->nbytes);
        const uint8_t *p = t->data;
        if (t->nbytes <= big) cl_sha256_update(&s, p, t->nbytes);
        else {
            cl_sha256_update(&s, p, sample);
            cl_sha256_update(&s, p + t->nbytes / 2 - sample / 2, sample);
            cl_sha256_update(&s, p + t->nbytes - sample, sample);
        }
    }
    cl_sha256_final(&s, out);
}

const char *cl_shared_file(const char *rel) {
    static char buf[PATH_MAX + 64];
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return NULL;
    exe[n] = 0;
    /* bin/cl-x, tests/bin/test_x, build-asan/bin/cl-x: try the exe's ancestors for ../shared */
    for (int up = 0; up < 4; up++) {
        char *slash = strrchr(exe, '/');
        if (!slash) break;
        *slash = 0;
        char cand[PATH_MAX + 64];
        if (snprintf(cand, sizeof cand, "%.*s/../shared/%s", (int)(PATH_MAX / 2), exe, rel) >= (int)sizeof cand) continue;
        if (cl_path_exists(cand)) {
            if (!realpath(cand, buf)) snprintf(buf, sizeof buf, "%s", cand);
            return buf;
        }
    }
    return NULL;
}

const char *cl_default_model_path(void) {
    const char *env = getenv("CL_MODEL");
    if (env && *env) return env;
    return cl_shared_file("models/tinystories-656k");
}
