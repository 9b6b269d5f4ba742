/* test_model_file — the three layouts open with the right config, canonical tensor names and
 * shapes; llama2.c views match the raw file; HF -> GGUF conversion permutes Q/K as llama.cpp. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "gguf.h"
#include "model_file.h"
#include "safetensors.h"
#include "st_build.h"
#include "t.h"
#include "util.h"

static int shape_is(const cl_tensor *t, int ndim, int64_t a, int64_t b) {
    return t && t->ndim == ndim && t->shape[0] == a && (ndim == 1 || t->shape[1] == b);
}

/* t's row h*hd + j*hd/2 + i (rotate-half order) is row h*hd + 2i + j (pairs order) of file. */
static int rows_unpaired(const cl_tensor *t, const void *file, int heads, int hd) {
    size_t rb = t->nbytes / (size_t)t->shape[0];
    for (int h = 0; h < heads; h++)
        for (int i = 0; i < hd / 2; i++)
            for (int j = 0; j < 2; j++)
                if (memcmp((const uint8_t *)t->data + (size_t)(h * hd + j * hd / 2 + i) * rb,
                           (const uint8_t *)file + (size_t)(h * hd + 2 * i + j) * rb, rb))
                    return 0;
    return 1;
}

static void test_tinystories(void) {
    const char *dir = t_shared("models/tinystories-656k/model.safetensors");
    if (!dir) {
        SKIP("../shared/models/tinystories-656k absent");
        return;
    }
    cl_model_file *mf = cl_model_file_open(t_shared("models/tinystories-656k"));
    if (!OK(mf, "open tinystories-656k (%s)", mf ? "" : cl_error())) return;
    const cl_config *c = cl_model_file_config(mf);
    OK(cl_model_file_format(mf) == CL_FMT_HF, "format hf");
    OK(c->arch == CL_ARCH_LLAMA && c->dim == 128 && c->n_layers == 2 && c->n_heads == 8 && c->n_kv_heads == 4 &&
           c->head_dim == 16 && c->ffn_dim == 384 && c->n_vocab == 2048 && c->max_ctx == 512,
       "config shape values");
    OK(c->rope_theta == 10000.0f && fabsf(c->rms_eps - 1e-6f) < 1e-12f, "rope_theta, rms_eps");
    OK(c->tied_embeddings == 1 && c->bos_id == 1 && c->eos_id == 2 && c->rope_interleaved == 0 && !c->attn_bias &&
           !c->qk_norm,
       "tied, bos/eos, halves rope");
    const cl_tensor *e = cl_model_file_tensor(mf, "token_embd.weight");
    OK(shape_is(e, 2, 2048, 128) && e->dtype == CL_F32, "lm_head.weight exposed as token_embd.weight [2048,128]");
    OK(!cl_model_file_tensor(mf, "output.weight"), "no output.weight when tied");
    OK(shape_is(cl_model_file_tensor(mf, "blk.1.attn_k.weight"), 2, 64, 128), "attn_k [64,128]");
    OK(shape_is(cl_model_file_tensor(mf, "blk.0.ffn_down.weight"), 2, 128, 384), "ffn_down [128,384]");
    OK(cl_model_file_n_tensors(mf) == 20, "20 tensors");
    const char *tj = cl_model_file_tokenizer_json(mf);
    OK(tj && strstr(tj, "tokenizer.json") && !cl_model_file_gguf(mf) && !cl_model_file_tokenizer_bin(mf),
       "tokenizer.json path only");
    uint8_t f1[32], f2[32];
    cl_model_file_fingerprint(mf, f1);
    cl_model_file *mf2 = cl_model_file_open(t_shared("models/tinystories-656k/config.json"));
    OK(mf2, "open via config.json path");
    if (mf2) {
        cl_model_file_fingerprint(mf2, f2);
        OK(!memcmp(f1, f2, 32), "fingerprint deterministic");
        cl_model_file_close(mf2);
    }
    /* the embedding row of token 1 read by hand from the safetensors file (lm_head first in data) */
    float want[4], got[4];
    cl_map m;
    if (cl_map_file(t_shared("models/tinystories-656k/model.safetensors"), &m) == 0) {
        uint64_t hl;
        memcpy(&hl, m.data, 8);
        memcpy(want, (const uint8_t *)m.data + 8 + hl + 128 * 4, sizeof want);
        cl_convert_to_f32(e->dtype, e->data, 128, 4, got);
        OK(!memcmp(want, got, sizeof want), "token_embd row 1 = bytes of lm_head.weight in the file");
        cl_unmap(&m);
    }
    cl_model_file_close(mf);
}

static void test_stories260k(void) {
    const char *p = t_shared("models/stories260k/stories260K.bin");
    if (!p) {
        SKIP("../shared/models/stories260k absent");
        return;
    }
    cl_model_file *mf = cl_model_file_open(p);
    if (!OK(mf, "open stories260K.bin (%s)", mf ? "" : cl_error())) return;
    const cl_config *c = cl_model_file_config(mf);
    OK(cl_model_file_format(mf) == CL_FMT_LLAMA2C, "format llama2c");
    OK(c->dim == 64 && c->ffn_dim == 172 && c->n_layers == 5 && c->n_heads == 8 && c->n_kv_heads == 4 &&
           c->n_vocab == 512 && c->max_ctx == 512 && c->head_dim == 8,
       "header values");
    OK(c->rope_interleaved == 0 && c->bos_id == 1 && c->eos_id == 2 && c->tied_embeddings == 1,
       "llama2.c conventions (its interleaved RoPE presented as rotate-half)");
    const char *tb = cl_model_file_tokenizer_bin(mf);
    OK(tb && strstr(tb, "tok512.bin"), "tokenizer tok512.bin found");
    /* blk.2.attn_k.weight starts after emb (512*64), rms_att (5*64), wq (5*64*64), wk of layers 0-1 */
    cl_map m;
    if (cl_map_file(p, &m) == 0) {
        size_t off = 28 + 4 * (size_t)(512 * 64 + 5 * 64 + 5 * 64 * 64 + 2 * 64 * 32);
        const cl_tensor *k = cl_model_file_tensor(mf, "blk.2.attn_k.weight");
        OK(shape_is(k, 2, 32, 64) && rows_unpaired(k, (const uint8_t *)m.data + off, 4, 8),
           "blk.2.attn_k = the file's rows, each head's pairs (2i, 2i+1) back to halves (i, i+4)");
        const cl_tensor *fn = cl_model_file_tensor(mf, "output_norm.weight");
        size_t fo = 28 + 4 * (size_t)(512 * 64 + 5 * 64 + 2 * 5 * 64 * 64 + 2 * 5 * 64 * 32 + 5 * 64 + 3 * 5 * 64 * 172);
        OK(shape_is(fn, 1, 64, 0) && !memcmp(fn->data, (const uint8_t *)m.data + fo, 256), "output_norm view");
        /* a truncated copy must be refused */
        const char *tp = t_tmp("stories-trunc.bin");
        FILE *f = fopen(tp, "wb");
        fwrite(m.data, 1, m.size - 4, f);
        fclose(f);
        cl_model_file *bad = cl_model_file_open(tp);
        OK(!bad && strstr(cl_error(), "needs"), "truncated llama2.c refused: %s", cl_error());
        /* the same weights with an unshared classifier (vocab < 0, wcls appended) and tokenizer.bin */
        const char *up = t_tmp("unshared.bin"), *tokbin = t_tmp("tokenizer.bin");
        f = fopen(up, "wb");
        int32_t h[7];
        memcpy(h, m.data, sizeof h);
        h[5] = -h[5];
        fwrite(h, 1, sizeof h, f);
        fwrite((const uint8_t *)m.data + 28, 1, m.size - 28, f);
        fwrite((const uint8_t *)m.data + 28, 1, 512 * 64 * 4, f); /* wcls := the embedding table */
        fclose(f);
        f = fopen(tokbin, "wb");
        fclose(f);
        cl_model_file *un = cl_model_file_open(up);
        if (OK(un, "unshared-classifier checkpoint opens%s", un ? "" : cl_error())) {
            const cl_tensor *o = cl_model_file_tensor(un, "output.weight");
            OK(!cl_model_file_config(un)->tied_embeddings && shape_is(o, 2, 512, 64) &&
                   !memcmp(o->data, (const uint8_t *)m.data + 28, o->nbytes),
               "vocab < 0: output.weight from wcls");
            OK(cl_model_file_tokenizer_bin(un) && strstr(cl_model_file_tokenizer_bin(un), "tokenizer.bin"),
               "tokenizer.bin beside it");
            cl_model_file_close(un);
        }
        cl_unmap(&m);
    }
    cl_model_file_close(mf);
}

static void test_default_path(void) {
    setenv("CL_MODEL", "/some/model", 1);
    const char *p = cl_default_model_path();
    OK(p && !strcmp(p, "/some/model"), "$CL_MODEL wins");
    unsetenv("CL_MODEL");
    p = cl_default_model_path();
    if (!t_shared("models/tinystories-656k")) {
        SKIP("../shared/models/tinystories-656k absent");
        return;
    }
    OK(p && strstr(p, "shared/models/tinystories-656k") && access(p, R_OK) == 0, "default found from the executable: %s",
       p ? p : "NULL");
}

/* Canonical tensor bytes == the HF tensor's bytes in whichever shard holds it. */
static int same_bytes(const cl_model_file *mf, const char *canon, const char *dir, const char *file, const char *hf) {
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    cl_safetensors *st = cl_st_open(p);
    const cl_tensor *a = cl_model_file_tensor(mf, canon), *b = st ? cl_st_find(st, hf) : NULL;
    int ok = a && b && a->nbytes == b->nbytes && !memcmp(a->data, b->data, a->nbytes);
    cl_st_close(st);
    return ok;
}

static void test_hf_variants(void) {
    const char *d1 = t_tmp("hf-llama");
    hf_spec llama = {"LlamaForCausalLM", 32, 2, 4, 2, 8, 64, 50, 0, 1, 1};
    OK(hf_write(d1, &llama, 0, NULL, NULL) == 0, "write llama HF dir");
    cl_model_file *mf = cl_model_file_open(d1);
    if (OK(mf, "llama, untied, embed + lm_head%s", mf ? "" : cl_error())) {
        const cl_config *c = cl_model_file_config(mf);
        OK(!c->tied_embeddings && c->head_dim == 8 && c->max_ctx == 64 && c->rope_theta == 500000.0f &&
               c->rms_eps == 1e-5f && c->bos_id == 1 && c->eos_id == 2 && !c->attn_bias && !c->qk_norm,
           "config values (eos list: first)");
        OK(same_bytes(mf, "output.weight", d1, "model.safetensors", "lm_head.weight") &&
               same_bytes(mf, "token_embd.weight", d1, "model.safetensors", "model.embed_tokens.weight") &&
               same_bytes(mf, "blk.1.ffn_down.weight", d1, "model.safetensors", "model.layers.1.mlp.down_proj.weight") &&
               same_bytes(mf, "blk.0.attn_output.weight", d1, "model.safetensors", "model.layers.0.self_attn.o_proj.weight") &&
               same_bytes(mf, "blk.1.ffn_norm.weight", d1, "model.safetensors", "model.layers.1.post_attention_layernorm.weight"),
           "HF names mapped to the right tensors");
        OK(!cl_model_file_tokenizer_json(mf) && !cl_model_file_chat_template(mf), "no tokenizer.json, no template");
        cl_model_file_close(mf);
    }
    const char *d2 = t_tmp("hf-qwen2-sharded");
    hf_spec qwen2 = {"Qwen2ForCausalLM", 32, 3, 4, 2, 8, 48, 40, 1, 1, 0};
    OK(hf_write(d2, &qwen2, 1, NULL, NULL) == 0, "write sharded qwen2 HF dir");
    mf = cl_model_file_open(d2);
    if (OK(mf, "qwen2 sharded over 2 files, tied%s", mf ? "" : cl_error())) {
        const cl_config *c = cl_model_file_config(mf);
        OK(c->arch == CL_ARCH_QWEN2 && c->attn_bias && c->tied_embeddings && !c->rope_interleaved, "qwen2: bias, tied");
        const cl_tensor *b = cl_model_file_tensor(mf, "blk.2.attn_k.bias");
        OK(b && b->ndim == 1 && b->shape[0] == 16, "attn_k.bias [16]");
        int a = same_bytes(mf, "blk.2.attn_v.bias", d2, "model-00001-of-00002.safetensors", "model.layers.2.self_attn.v_proj.bias") ||
                same_bytes(mf, "blk.2.attn_v.bias", d2, "model-00002-of-00002.safetensors", "model.layers.2.self_attn.v_proj.bias");
        OK(a, "bias from its shard");
        cl_model_file_close(mf);
    }
    const char *d3 = t_tmp("hf-qwen3");
    hf_spec qwen3 = {"Qwen3ForCausalLM", 32, 1, 4, 2, 16, 48, 40, 1, 1, 0};
    OK(hf_write(d3, &qwen3, 0, NULL, NULL) == 0, "write qwen3 HF dir");
    mf = cl_model_file_open(d3);
    if (OK(mf, "qwen3 (head_dim 16 != dim/heads)%s", mf ? "" : cl_error())) {
        const cl_config *c = cl_model_file_config(mf);
        OK(c->arch == CL_ARCH_QWEN3 && c->qk_norm && c->head_dim == 16 && !c->attn_bias, "qwen3: qk_norm, head_dim");
        const cl_tensor *q = cl_model_file_tensor(mf, "blk.0.attn_q.weight");
        OK(q && q->shape[0] == 64 && q->shape[1] == 32 && cl_model_file_tensor(mf, "blk.0.attn_k_norm.weight"), "q [64,32], k_norm");
        cl_model_file_close(mf);
    }
    /* errors */
    const char *d4 = t_tmp("hf-missing");
    hf_write(d4, &llama, 0, "model.layers.1.mlp.up_proj.weight", NULL);
    mf = cl_model_file_open(d4);
    OK(!mf && strstr(cl_error(), "blk.1.ffn_up.weight missing"), "missing tensor named: %s", cl_error());
    const char *d5 = t_tmp("hf-badshape");
    hf_write(d5, &llama, 0, NULL, "model.layers.0.self_attn.k_proj.weight");
    mf = cl_model_file_open(d5);
    OK(!mf && strstr(cl_error(), "blk.0.attn_k.weight") && strstr(cl_error(), "[17,32]") && strstr(cl_error(), "[16,32]"),
       "shape mismatch names tensor and both shapes: %s", cl_error());
    const char *d6 = t_tmp("hf-nohead");
    hf_spec nohead = llama;
    nohead.store_head = 0;
    hf_write(d6, &nohead, 0, NULL, NULL);
    mf = cl_model_file_open(d6);
    OK(!mf && strstr(cl_error(), "lm_head.weight missing"), "untied config without lm_head refused: %s", cl_error());
    const char *d7 = t_tmp("hf-qwen2-nobias");
    hf_write(d7, &qwen2, 0, "model.layers.0.self_attn.q_proj.bias", NULL);
    mf = cl_model_file_open(d7);
    OK(!mf && strstr(cl_error(), "attn_q.bias missing"), "qwen2 without q bias refused: %s", cl_error());
    mf = cl_model_file_open(t_tmp("no-such-dir"));
    OK(!mf && strstr(cl_error(), "no-such-dir"), "missing path named: %s", cl_error());
}

/* ---- GGUF models written here ---- */
static void add_rand(cl_gguf_writer *w, const char *name, int64_t d0, int64_t d1, unsigned seed) {
    int64_t shape[2] = {d0, d1};
    float *x = st_rand((size_t)(d0 * (d1 ? d1 : 1)), seed);
    cl_gguf_add_tensor(w, name, CL_F32, d1 ? 2 : 1, shape, x);
    free(x);
}

static int write_gguf(const char *path, const cl_config *c, int ffn_shape) {
    cl_gguf_writer *w = cl_gguf_writer_new();
    cl_gguf_set_config(w, c);
    cl_gguf_set_str(w, "tokenizer.chat_template", "{{ messages }}");
    unsigned s = 1;
    int q = c->n_heads * c->head_dim, kv = c->n_kv_heads * c->head_dim;
    add_rand(w, "token_embd.weight", c->n_vocab, c->dim, s++);
    add_rand(w, "output_norm.weight", c->dim, 0, s++);
    if (!c->tied_embeddings) add_rand(w, "output.weight", c->n_vocab, c->dim, s++);
    for (int l = 0; l < c->n_layers; l++) {
        char n[64];
#define R(sfx, a, b) (snprintf(n, sizeof n, "blk.%d." sfx, l), add_rand(w, n, a, b, s++))
        R("attn_norm.weight", c->dim, 0);
        R("attn_q.weight", q, c->dim);
        R("attn_k.weight", kv, c->dim);
        R("attn_v.weight", kv, c->dim);
        R("attn_output.weight", c->dim, q);
        if (c->attn_bias) R("attn_q.bias", q, 0), R("attn_k.bias", kv, 0), R("attn_v.bias", kv, 0);
        if (c->qk_norm) R("attn_q_norm.weight", c->head_dim, 0), R("attn_k_norm.weight", c->head_dim, 0);
        R("ffn_norm.weight", c->dim, 0);
        R("ffn_gate.weight", ffn_shape, c->dim);
        R("ffn_up.weight", c->ffn_dim, c->dim);
        R("ffn_down.weight", c->dim, c->ffn_dim);
#undef R
    }
    int rc = cl_gguf_writer_save(w, path);
    cl_gguf_writer_free(w);
    return rc;
}

static void test_gguf_model(void) {
    cl_config c = {.arch = CL_ARCH_QWEN2, .n_vocab = 60, .dim = 32, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2, .head_dim = 8,
                   .ffn_dim = 48, .max_ctx = 128, .rope_theta = 1e6f, .rms_eps = 1e-6f, .attn_bias = 1, .bos_id = 5, .eos_id = 7};
    const char *p = t_tmp("tiny-qwen2.gguf");
    OK(write_gguf(p, &c, c.ffn_dim) == 0, "write tiny qwen2 GGUF");
    cl_model_file *mf = cl_model_file_open(p);
    if (OK(mf, "open tiny qwen2 GGUF%s", mf ? "" : cl_error())) {
        const cl_config *r = cl_model_file_config(mf);
        OK(r->arch == CL_ARCH_QWEN2 && r->n_vocab == 60 && r->dim == 32 && r->n_layers == 2 && r->n_heads == 4 &&
               r->n_kv_heads == 2 && r->head_dim == 8 && r->ffn_dim == 48 && r->max_ctx == 128,
           "config read back");
        OK(r->rope_theta == 1e6f && r->rms_eps == 1e-6f && !r->tied_embeddings && r->attn_bias && !r->qk_norm &&
               r->rope_interleaved == 0 && r->bos_id == 5 && r->eos_id == 7,
           "qwen2: untied, bias, halves rope, bos/eos");
        OK(cl_model_file_gguf(mf) && !cl_model_file_tokenizer_json(mf) && !cl_model_file_tokenizer_bin(mf),
           "tokenizer via GGUF metadata");
        const char *ct = cl_model_file_chat_template(mf);
        OK(ct && !strcmp(ct, "{{ messages }}"), "chat template");
        cl_model_file_close(mf);
    }
    c.arch = CL_ARCH_LLAMA;
    c.attn_bias = 0;
    c.tied_embeddings = 1;
    p = t_tmp("tiny-llama.gguf");
    write_gguf(p, &c, c.ffn_dim);
    mf = cl_model_file_open(p);
    cl_gguf *raw = cl_gguf_open(p);
    const cl_tensor *rq = raw ? cl_gguf_find_tensor(raw, "blk.1.attn_q.weight") : NULL;
    const cl_tensor *rk = raw ? cl_gguf_find_tensor(raw, "blk.1.attn_k.weight") : NULL;
    OK(mf && cl_model_file_config(mf)->rope_interleaved == 0 && cl_model_file_config(mf)->tied_embeddings && rq && rk &&
           rows_unpaired(cl_model_file_tensor(mf, "blk.1.attn_q.weight"), rq->data, c.n_heads, c.head_dim) &&
           rows_unpaired(cl_model_file_tensor(mf, "blk.1.attn_k.weight"), rk->data, c.n_kv_heads, c.head_dim),
       "llama GGUF: interleaved RoPE's Q/K rows presented in rotate-half order; tied when output.weight absent");
    cl_gguf_close(raw);
    cl_model_file_close(mf);
    p = t_tmp("tiny-bad.gguf");
    write_gguf(p, &c, c.ffn_dim + 1);
    mf = cl_model_file_open(p);
    OK(!mf && strstr(cl_error(), "blk.0.ffn_gate.weight") && strstr(cl_error(), "[49,32]"),
       "GGUF shape mismatch refused: %s", cl_error());
}

/* Attention scores of head h between positions p1 and p2, with RoPE in either layout. */
static void rope(float *v, int hd, int pos, float theta, int interleaved) {
    for (int i = 0; i < hd / 2; i++) {
        double a = pos * pow(theta, -2.0 * i / hd), cs = cos(a), sn = sin(a);
        int i0 = interleaved ? 2 * i : i, i1 = interleaved ? 2 * i + 1 : i + hd / 2;
        float x = v[i0], y = v[i1];
        v[i0] = (float)(x * cs - y * sn);
        v[i1] = (float)(x * sn + y * cs);
    }
}
static void matvec(const cl_tensor *w, int row0, int rows, const float *x, float *out) {
    int64_t cols = w->shape[1];
    float *r = malloc((size_t)cols * sizeof *r);
    for (int i = 0; i < rows; i++) {
        cl_convert_to_f32(w->dtype, w->data, (row0 + i) * cols, cols, r);
        double s = 0;
        for (int64_t j = 0; j < cols; j++) s += (double)r[j] * x[j];
        out[i] = (float)s;
    }
    free(r);
}
static float score(const cl_tensor *wq, const cl_tensor *wk, const cl_config *c, int interleaved, int h,
                   const float *x, int p1, int p2) {
    int hd = c->head_dim, kvh = h / (c->n_heads / c->n_kv_heads);
    float q[256], k[256];
    matvec(wq, h * hd, hd, x, q);
    matvec(wk, kvh * hd, hd, x, k);
    rope(q, hd, p1, c->rope_theta, interleaved);
    rope(k, hd, p2, c->rope_theta, interleaved);
    double s = 0;
    for (int i = 0; i < hd; i++) s += (double)q[i] * k[i];
    return (float)s;
}

static void test_convert(void) {
    const char *dir = t_tmp("hf-llama"), *out = t_tmp("converted.gguf");
    const char *bin = getenv("CL_BIN");
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s/cl-model convert %s --out %s", bin ? bin : "bin", dir, out);
    if (system(cmd) != 0) {
        OK(0, "cl-model convert ran (%s)", cmd);
        return;
    }
    cl_model_file *hf = cl_model_file_open(dir), *gg = cl_model_file_open(out);
    if (!OK(hf && gg, "open HF and converted GGUF")) {
        cl_model_file_close(hf);
        cl_model_file_close(gg);
        return;
    }
    const cl_config *c = cl_model_file_config(hf);
    OK(cl_model_file_config(gg)->rope_interleaved == 0 && c->rope_interleaved == 0, "both read as rotate-half RoPE");
    /* the GGUF file itself holds llama.cpp's layout: interleaved RoPE over permuted Q/K rows */
    cl_gguf *raw = cl_gguf_open(out);
    const cl_tensor *rq = raw ? cl_gguf_find_tensor(raw, "blk.1.attn_q.weight") : NULL;
    const cl_tensor *rk = raw ? cl_gguf_find_tensor(raw, "blk.1.attn_k.weight") : NULL;
    const cl_tensor *hq = cl_model_file_tensor(hf, "blk.1.attn_q.weight"), *hk = cl_model_file_tensor(hf, "blk.1.attn_k.weight");
    float *x = st_rand(32, 99);
    int ok = rq && rk && hq && hk;
    for (int h = 0; h < 4 && ok; h++)
        for (int p = 0; p < 3; p++) {
            float a = score(hq, hk, c, 0, h, x, 5 + p, p), b = score(rq, rk, c, 1, h, x, 5 + p, p);
            if (fabsf(a - b) > 1e-5f * (1 + fabsf(a))) ok = 0, printf("# head %d: %g vs %g\n", h, a, b);
        }
    OK(ok, "attention scores equal: the file's Q/K permuted for interleaved RoPE as llama.cpp does");
    cl_gguf_close(raw);
    int same = 1;
    for (int i = 0; i < cl_model_file_n_tensors(hf) && same; i++) {
        const cl_tensor *t = cl_model_file_tensor_at(hf, i), *u = cl_model_file_tensor(gg, t->name);
        same = u && u->dtype == t->dtype && u->nbytes == t->nbytes && !memcmp(u->data, t->data, t->nbytes);
    }
    OK(same && cl_model_file_n_tensors(hf) == cl_model_file_n_tensors(gg), "every tensor read back identical");
    uint8_t f1[32], f2[32], f3[32];
    cl_model_file_fingerprint(hf, f1);
    cl_model_file_fingerprint(gg, f2);
    OK(!memcmp(f1, f2, 32), "the fingerprint does not depend on the layout (HF directory vs GGUF f32)");
    const char *o16 = t_tmp("converted-f16.gguf");
    snprintf(cmd, sizeof cmd, "%s/cl-model convert %s --out %s --dtype f16", bin ? bin : "bin", dir, o16);
    cl_model_file *g16 = system(cmd) == 0 ? cl_model_file_open(o16) : NULL;
    if (g16) cl_model_file_fingerprint(g16, f3);
    OK(g16 && memcmp(f1, f3, 32), "an f16 conversion is another model: another fingerprint");
    cl_model_file_close(g16);
    free(x);
    cl_model_file_close(hf);
    cl_model_file_close(gg);
}

int main(void) {
    test_tinystories();
    test_stories260k();
    test_default_path();
    test_hf_variants();
    test_gguf_model();
    test_convert();
    return t_done();
}
