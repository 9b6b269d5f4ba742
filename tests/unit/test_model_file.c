/* test_model_file — the three layouts open with the right config, canonical tensor names and
 * shapes; llama2.c views match the raw file; HF -> GGUF conversion permutes Q/K as llama.cpp. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "gguf.h"
#include "model_file.h"
#include "t.h"
#include "util.h"

static int shape_is(const cl_tensor *t, int ndim, int64_t a, int64_t b) {
    return t && t->ndim == ndim && t->shape[0] == a && (ndim == 1 || t->shape[1] == b);
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
    OK(c->rope_interleaved == 1 && c->bos_id == 1 && c->eos_id == 2 && c->tied_embeddings == 1, "llama2.c conventions");
    const char *tb = cl_model_file_tokenizer_bin(mf);
    OK(tb && strstr(tb, "tok512.bin"), "tokenizer tok512.bin found");
    /* blk.2.attn_k.weight starts after emb (512*64), rms_att (5*64), wq (5*64*64), wk of layers 0-1 */
    cl_map m;
    if (cl_map_file(p, &m) == 0) {
        size_t off = 28 + 4 * (size_t)(512 * 64 + 5 * 64 + 5 * 64 * 64 + 2 * 64 * 32);
        const cl_tensor *k = cl_model_file_tensor(mf, "blk.2.attn_k.weight");
        OK(shape_is(k, 2, 32, 64) && !memcmp(k->data, (const uint8_t *)m.data + off, k->nbytes), "blk.2.attn_k view");
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
        cl_unmap(&m);
    }
    cl_model_file_close(mf);
}

int main(void) {
    test_tinystories();
    test_stories260k();
    return t_done();
}
