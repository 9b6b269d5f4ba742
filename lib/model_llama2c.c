/* model_llama2c.c — a llama2.c (legacy, "version 0") checkpoint: 7 int32 (dim, hidden_dim,
 * n_layers, n_heads, n_kv_heads, vocab_size (< 0: unshared classifier), seq_len), then f32 arrays
 * each covering all layers.  Per-layer tensors are views (slices) into the mapping. */
#include <stdlib.h>
#include <string.h>
#include "model_file_int.h"

static void add_view(cl_model_file *mf, const char *name, const float *data, int ndim, int64_t d0, int64_t d1) {
    cl_tensor t = {0};
    t.dtype = CL_F32;
    t.ndim = ndim;
    t.shape[0] = d0;
    t.shape[1] = d1;
    t.data = data;
    t.nbytes = (size_t)(ndim == 1 ? d0 : d0 * d1) * 4;
    cl_mf_add(mf, name, &t);
}

int cl_mf_open_llama2c(cl_model_file *mf, const char *path) {
    if (cl_map_file(path, &mf->map)) return -1;
    const uint8_t *base = mf->map.data;
    size_t size = mf->map.size;
    int32_t h[7];
    if (size < sizeof h) return cl_fail("%s: offset 0: not a GGUF, Hugging Face or llama2.c model (too short)", path);
    memcpy(h, base, sizeof h);
    if (!memcmp(base, "ak42", 4)) return cl_fail("%s: llama2.c export version 1+ unsupported (legacy format only)", path);
    static const char *const field[] = {"dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"};
    for (int i = 0; i < 7; i++) {
        int64_t v = i == 5 && h[i] < 0 ? -(int64_t)h[i] : h[i];
        if (v <= 0 || v > (1 << 24) || (i == 2 && v > CL_MAX_LAYERS) || (i == 3 && v > 1024) || (i == 4 && v > h[3]))
            return cl_fail("%s: offset %d: not a model file (as llama2.c: %s = %d out of range)", path, 4 * i, field[i],
                           (int)h[i]);
    }
    int64_t dim = h[0], hid = h[1], L = h[2], H = h[3], KV = h[4], V = h[5] < 0 ? -(int64_t)h[5] : h[5], T = h[6];
    int shared = h[5] > 0;
    if (dim % H || (dim / H) % 2 || H % KV)
        return cl_fail("%s: offset 0: llama2.c header: dim %lld, heads %lld, kv_heads %lld inconsistent", path,
                       (long long)dim, (long long)H, (long long)KV);
    int64_t hs = dim / H, kvd = KV * hs;
    /* all in floats; every factor is < 2^24 and products of three stay far below 2^63 */
    int64_t n_emb = V * dim, n_q = L * dim * dim, n_kv = L * dim * kvd, n_ffn = L * dim * hid, n_freq = T * hs / 2;
    int64_t total = n_emb + L * dim + n_q + 2 * n_kv + n_q + L * dim + 3 * n_ffn + dim + 2 * n_freq + (shared ? 0 : n_emb);
    if ((uint64_t)total * 4 + 28 != size)
        return cl_fail("%s: llama2.c checkpoint of this header needs %lld bytes, the file has %zu", path,
                       (long long)(total * 4 + 28), size);
    cl_config *c = &mf->cfg;
    c->arch = CL_ARCH_LLAMA;
    c->n_vocab = (int)V;
    c->dim = (int)dim;
    c->n_layers = (int)L;
    c->n_heads = (int)H;
    c->n_kv_heads = (int)KV;
    c->head_dim = (int)hs;
    c->ffn_dim = (int)hid;
    c->max_ctx = (int)T;
    c->rope_theta = 10000.0f;
    c->rms_eps = 1e-5f;
    c->tied_embeddings = shared;
    c->rope_interleaved = 1;
    c->bos_id = 1;
    c->eos_id = 2;
    const float *p = (const float *)(base + 28);
    const float *emb = p, *rms_att = emb + n_emb, *wq = rms_att + L * dim, *wk = wq + n_q, *wv = wk + n_kv,
                *wo = wv + n_kv, *rms_ffn = wo + n_q, *w1 = rms_ffn + L * dim, *w2 = w1 + n_ffn, *w3 = w2 + n_ffn,
                *rms_final = w3 + n_ffn, *wcls = rms_final + dim + 2 * n_freq;
    add_view(mf, "token_embd.weight", emb, 2, V, dim);
    add_view(mf, "output_norm.weight", rms_final, 1, dim, 0);
    if (!shared) add_view(mf, "output.weight", wcls, 2, V, dim);
    for (int64_t l = 0; l < L; l++) {
        char n[64];
#define V_(suffix, ptr, nd, a, b) (snprintf(n, sizeof n, "blk.%d." suffix, (int)l), add_view(mf, n, ptr, nd, a, b))
        V_("attn_norm.weight", rms_att + l * dim, 1, dim, 0);
        V_("attn_q.weight", wq + l * dim * dim, 2, dim, dim);
        V_("attn_k.weight", wk + l * dim * kvd, 2, kvd, dim);
        V_("attn_v.weight", wv + l * dim * kvd, 2, kvd, dim);
        V_("attn_output.weight", wo + l * dim * dim, 2, dim, dim);
        V_("ffn_norm.weight", rms_ffn + l * dim, 1, dim, 0);
        V_("ffn_gate.weight", w1 + l * dim * hid, 2, hid, dim);
        V_("ffn_down.weight", w2 + l * dim * hid, 2, dim, hid);
        V_("ffn_up.weight", w3 + l * dim * hid, 2, hid, dim);
#undef V_
    }
    /* tokenizer: tok<vocab>.bin (llama2.c's naming for custom vocabularies), else tokenizer.bin */
    char *dir = cl_strdup(path), *slash = strrchr(dir, '/');
    if (slash) *slash = 0;
    else strcpy(dir, ".");
    char name[64];
    snprintf(name, sizeof name, "tok%lld.bin", (long long)V);
    char *a = cl_path_join(dir, name), *b = cl_path_join(dir, "tokenizer.bin");
    if (cl_path_exists(a)) mf->tok_bin = cl_strdup(a);
    else if (cl_path_exists(b)) mf->tok_bin = cl_strdup(b);
    free(a);
    free(b);
    free(dir);
    return 0;
}
