/* test_arch_ref.c — the architectures and features beyond plain Llama against the independent
 * numpy reference (tests/ref/ref_forward.py, float64, HF transformers' config semantics for a
 * Hugging Face directory, llama.cpp's for GGUF): Llama 3.x rope scaling, linear and yarn RoPE,
 * Mistral's sliding window, Qwen2 use_sliding_window + max_window_layers, Gemma 3 (GeGLU,
 * (1 + w) norms, four norms per layer, q/k norm, query_pre_attn_scalar, scaled embeddings in the
 * embedding dtype, local/global layers with their own RoPE), in both Gemma 3 layouts.
 *
 * Each case is a random-weight model of a real family's shape (width scaled down, every feature
 * kept) written as an HF directory by tests/ref/random_hf.py.  Checked, each with
 * max |C - ref| / max |ref| < 1e-4 over all logits of the prompt:
 *   - one batch (no cache);
 *   - the KV cache fed in chunks (a third, then single tokens, then the rest);
 *   - the GGUF that `cl-model convert` writes from the directory (llama.cpp's conventions), in one
 *     batch and through the cache, against the same HF-semantics reference;
 * and greedy decoding of 32 tokens through the cache equals the reference's (whose smallest
 * top-1/top-2 margin is reported and must exceed 1e-4 for the comparison to mean something).
 * Prompts run past the sliding window and past original_max_position_embeddings. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gguf.h"
#include "model.h"
#include "model_file.h"
#include "ops.h"
#include "t.h"
#include "t_num.h"
#include "util.h"

typedef struct {
    const char *name, *config, *dtype;
    int n;        /* prompt tokens */
    int greedy;   /* tokens to decode greedily (0: none) */
    /* GGUF route: NULL = compare with the HF reference; "self" = with the reference run on the
     * GGUF (llama.cpp's semantics differ on purpose: embeddings scaled by sqrtf(dim) in f32, not
     * in the BF16 of the HF embedding); else convert must refuse, naming this */
    const char *gguf;
} acase;

static uint64_t rs = 0x9E3779B97F4A7C15ULL;
static int rnd(int n) {
    rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17;
    return (int)(rs % (uint64_t)n);
}

/* All-position logits of ids through the cache, fed as: a third, 5 single tokens, the rest in
 * chunks of 700.  Returns 0 and leaves the cache holding the prompt. */
static int run_kv(const cl_model *m, cl_kv *kv, const int32_t *ids, int n, float *lg) {
    int V = m->cfg.n_vocab, t = 0;
    while (t < n) {
        int len = t == 0 ? (n / 3 > 0 ? n / 3 : 1) : t < n / 3 + 5 ? 1 : 700;
        if (len > n - t) len = n - t;
        cl_batch b = {.n_tokens = len, .ids = ids + t, .logits = lg + (size_t)t * V, .logits_all = 1};
        if (cl_forward(m, kv, &b) < 0) return -1;
        t += len;
    }
    return 0;
}

/* Batch and chunked-cache logits of model file `path` against ref [n, V]; greedy ids too. */
static void check_model(const acase *k, const char *route, const char *path, const int32_t *ids,
                        const float *ref, const float *ref_greedy) {
    cl_model_file *mf = cl_model_file_open(path);
    cl_model *m = mf ? cl_model_load(mf) : NULL;
    if (!OK(m != NULL, "%s (%s): loads", k->name, route)) {
        printf("# %s\n", cl_error());
        cl_model_file_close(mf);
        return;
    }
    int n = k->n, V = m->cfg.n_vocab;
    float *lg = cl_malloc((size_t)n * V * sizeof *lg);
    cl_batch b = {.n_tokens = n, .ids = ids, .logits = lg, .logits_all = 1};
    int rc = cl_forward(m, NULL, &b);
    double e = rc == 0 ? relmax(lg, ref, (size_t)n * V) : INFINITY;
    OK(e < 1e-4, "%s (%s): one batch of %d tokens matches the reference (rel err %.2g < 1e-4)", k->name, route, n, e);
    cl_kv *kv = cl_kv_new(m, n + k->greedy + 1);
    memset(lg, 0, (size_t)n * V * sizeof *lg);
    rc = kv ? run_kv(m, kv, ids, n, lg) : -1;
    e = rc == 0 ? relmax(lg, ref, (size_t)n * V) : INFINITY;
    OK(e < 1e-4, "%s (%s): through the KV cache in chunks (rel err %.2g < 1e-4)", k->name, route, e);
    if (k->greedy && rc == 0) {
        float *last = cl_malloc((size_t)V * sizeof *last);
        memcpy(last, lg + (size_t)(n - 1) * V, (size_t)V * sizeof *last);
        int same = 0;
        for (int i = 0; i < k->greedy; i++) {
            int32_t id = cl_argmax(last, V);
            if (id != (int32_t)ref_greedy[i]) break;
            same++;
            cl_batch d = {.n_tokens = 1, .ids = &id, .logits = last};
            if (cl_forward(m, kv, &d) < 0) break;
        }
        OK(same == k->greedy && ref_greedy[k->greedy] > 1e-4,
           "%s (%s): greedy %d/%d tokens as the reference (smallest top-2 margin %.2g of max |logit|)", k->name, route,
           same, k->greedy, (double)ref_greedy[k->greedy]);
        free(last);
    }
    cl_kv_free(kv);
    free(lg);
    cl_model_free(m);
    cl_model_file_close(mf);
}

/* Run the reference on model path for the batch in casep; reads its whole output into *ref. */
static int reference(const acase *k, const char *path, const char *casep, const char *outp, size_t want, char **ref) {
    char cmd[3 * 4200];
    size_t rl = 0;
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/ref/ref_forward.py %s %s %s", path, casep, outp);
    *ref = NULL;
    int py = system(cmd), rd = py == 0 ? cl_read_file(outp, ref, &rl) : -1;
    return OK(rd == 0 && rl == want, "%s: reference ran on %s (%zu of %zu bytes)", k->name, path, rl, want) ? 0 : -1;
}

/* The GGUF route: convert, then compare (or expect the refusal). */
static void gguf_route(const acase *k, const char *dir, const int32_t *ids, const char *casep, const char *outp,
                       size_t want, const float *rf) {
    char gguf[4200], errp[4200], cmd[3 * 4200];
    int ng = k->greedy ? k->greedy + 1 : 0;
    snprintf(gguf, sizeof gguf, "%s/model.gguf", dir);
    snprintf(errp, sizeof errp, "%s/convert.err", dir);
    snprintf(cmd, sizeof cmd, "bin/cl-model convert %s --out %s 2>%s", dir, gguf, errp);
    int conv = system(cmd);
    if (k->gguf && strcmp(k->gguf, "self")) {
        char *err = NULL;
        size_t el = 0;
        cl_read_file(errp, &err, &el);
        OK(conv != 0 && err && strstr(err, k->gguf), "%s: cl-model convert refuses: %s", k->name, err ? err : "?");
        free(err);
        return;
    }
    if (!OK(conv == 0, "%s: cl-model convert writes a GGUF", k->name)) return;
    if (!k->gguf) {
        check_model(k, "gguf", gguf, ids, rf, rf + want / sizeof(float) - ng);
        return;
    }
    char *gref = NULL;
    if (reference(k, gguf, casep, outp, want, &gref) == 0) {
        const float *g = (const float *)gref;
        check_model(k, "gguf", gguf, ids, g, g + want / sizeof(float) - ng);
    }
    free(gref);
}

static void run_case(const acase *k, int idx) {
    char dir[4096], path[4200], cmd[3 * 4200], casep[4200], outp[4200];
    snprintf(dir, sizeof dir, "%s%d", t_tmp("arch"), idx);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "w");
    if (f) fputs(k->config, f);
    if (!f || fclose(f)) {
        OK(0, "%s: write %s", k->name, path);
        return;
    }
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/ref/random_hf.py %s %d %s", dir, 11 + idx, k->dtype);
    if (!OK(system(cmd) == 0, "%s: random weights (%s)", k->name, k->dtype)) return;
    cl_model_file *mf = cl_model_file_open(dir);
    if (!OK(mf != NULL, "%s: opens as an HF directory", k->name)) {
        printf("# %s\n", cl_error());
        return;
    }
    const cl_config *c = cl_model_file_config(mf);
    int n = k->n, V = c->n_vocab, L = c->n_layers, D = c->dim;
    cl_model_file_close(mf);
    int32_t *ids = cl_malloc((size_t)n * sizeof *ids);
    for (int i = 0; i < n; i++) ids[i] = rnd(V);

    snprintf(casep, sizeof casep, "%s/case.gguf", dir);
    snprintf(outp, sizeof outp, "%s/ref.f32", dir);
    cl_gguf_writer *w = cl_gguf_writer_new();
    int one = n;
    cl_gguf_set_arr_i32(w, "test.seq_len", &one, 1);
    cl_gguf_set_arr_i32(w, "test.ids", ids, (uint64_t)n);
    if (k->greedy) cl_gguf_set_i32(w, "test.greedy", k->greedy);
    int saved = cl_gguf_writer_save(w, casep);
    cl_gguf_writer_free(w);
    size_t want = ((size_t)n * V + (size_t)n * D + (size_t)(L + 1) * n * D + (size_t)(k->greedy ? k->greedy + 1 : 0)) * sizeof(float);
    char *ref = NULL;
    if (OK(saved == 0, "%s: case file written", k->name) && reference(k, dir, casep, outp, want, &ref) == 0) {
        const float *rf = (const float *)ref;
        check_model(k, "hf", dir, ids, rf, rf + want / sizeof(float) - (k->greedy ? k->greedy + 1 : 0));
        gguf_route(k, dir, ids, casep, outp, want, rf);
    }
    free(ref);
    free(ids);
}

/* Config templates: tiny widths of the real families, every feature kept. */
#define LLAMA_BASE "\"hidden_size\": 32, \"intermediate_size\": 48, \"num_attention_heads\": 4, " \
    "\"num_key_value_heads\": 2, \"vocab_size\": 64, \"rms_norm_eps\": 1e-5, \"bos_token_id\": 1, \"eos_token_id\": 2"

static const acase cases[] = {
    {"Llama 3.2 (llama3 rope scaling, factor 32, 8192 original), 64 tokens",
     "{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\", " LLAMA_BASE ", \"num_hidden_layers\": 2, "
     "\"max_position_embeddings\": 131072, \"rope_theta\": 500000.0, \"tie_word_embeddings\": true, "
     "\"eos_token_id\": [2, 5, 6], \"rope_scaling\": {\"factor\": 32.0, \"high_freq_factor\": 4.0, \"low_freq_factor\": 1.0, "
     "\"original_max_position_embeddings\": 8192, \"rope_type\": \"llama3\"}}",
     "F32", 64, 32, NULL},
    {"Llama 3.1 (llama3 rope scaling, factor 8), 9000 tokens: past original_max_position_embeddings",
     "{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\", " LLAMA_BASE ", \"num_hidden_layers\": 1, "
     "\"max_position_embeddings\": 131072, \"rope_theta\": 500000.0, \"tie_word_embeddings\": false, "
     "\"rope_scaling\": {\"factor\": 8.0, \"high_freq_factor\": 4.0, \"low_freq_factor\": 1.0, "
     "\"original_max_position_embeddings\": 8192, \"rope_type\": \"llama3\"}}",
     "F32", 9000, 0, NULL},
    {"Llama, linear rope scaling (factor 4)",
     "{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\", " LLAMA_BASE ", \"num_hidden_layers\": 2, "
     "\"max_position_embeddings\": 4096, \"rope_theta\": 10000.0, \"rope_scaling\": {\"type\": \"linear\", \"factor\": 4.0}}",
     "F32", 64, 32, NULL},
    {"Qwen2.5 with yarn (factor 4, original 128), 400 tokens",
     "{\"architectures\": [\"Qwen2ForCausalLM\"], \"model_type\": \"qwen2\", " LLAMA_BASE ", \"num_hidden_layers\": 2, "
     "\"max_position_embeddings\": 512, \"rope_theta\": 1000000.0, \"tie_word_embeddings\": true, "
     "\"use_sliding_window\": false, \"sliding_window\": 32, \"max_window_layers\": 1, "
     "\"rope_scaling\": {\"factor\": 4.0, \"original_max_position_embeddings\": 128, \"type\": \"yarn\"}}",
     "F32", 400, 32, NULL},
    {"Llama with yarn (factor 8, original 64, explicit attention_factor 1.25, beta_fast 16), 200 tokens",
     "{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\", " LLAMA_BASE ", \"num_hidden_layers\": 1, "
     "\"max_position_embeddings\": 512, \"rope_theta\": 10000.0, \"rope_scaling\": {\"rope_type\": \"yarn\", "
     "\"factor\": 8.0, \"original_max_position_embeddings\": 64, \"attention_factor\": 1.25, \"beta_fast\": 16}}",
     "F32", 200, 32, NULL},
    {"Mistral v0.1 (sliding window 48 on every layer), 300 tokens",
     "{\"architectures\": [\"MistralForCausalLM\"], \"model_type\": \"mistral\", " LLAMA_BASE ", \"num_hidden_layers\": 2, "
     "\"max_position_embeddings\": 32768, \"rope_theta\": 10000.0, \"sliding_window\": 48, \"tie_word_embeddings\": false}",
     "F32", 300, 32, NULL},
    {"Qwen2 use_sliding_window (window 40, max_window_layers 1: layer 1 slides), 300 tokens",
     "{\"architectures\": [\"Qwen2ForCausalLM\"], \"model_type\": \"qwen2\", " LLAMA_BASE ", \"num_hidden_layers\": 2, "
     "\"max_position_embeddings\": 32768, \"rope_theta\": 1000000.0, \"tie_word_embeddings\": false, "
     "\"use_sliding_window\": true, \"sliding_window\": 40, \"max_window_layers\": 1}",
     "F32", 300, 32, NULL},
    {"Gemma 3 text (Gemma3ForCausalLM: 6 layers, 5 local window 24 + 1 global, linear 8 global rope), 300 tokens",
     "{\"architectures\": [\"Gemma3ForCausalLM\"], \"model_type\": \"gemma3_text\", \"hidden_size\": 32, "
     "\"intermediate_size\": 64, \"num_hidden_layers\": 6, \"num_attention_heads\": 4, \"num_key_value_heads\": 1, "
     "\"head_dim\": 16, \"vocab_size\": 64, \"query_pre_attn_scalar\": 24, \"sliding_window\": 24, "
     "\"rope_theta\": 1000000.0, \"rope_local_base_freq\": 10000.0, \"max_position_embeddings\": 32768, "
     "\"rope_scaling\": {\"factor\": 8.0, \"rope_type\": \"linear\"}, \"hidden_activation\": \"gelu_pytorch_tanh\", "
     "\"final_logit_softcapping\": null, \"attn_logit_softcapping\": null, \"bos_token_id\": 2, \"eos_token_id\": [1, 6]}",
     "F32", 300, 32, "query_pre_attn_scalar"},
    {"Gemma 3 multimodal layout (text_config, model.language_model.*, BF16, vision tensors skipped, layer_types)",
     "{\"architectures\": [\"Gemma3ForConditionalGeneration\"], \"model_type\": \"gemma3\", \"eos_token_id\": [1, 6], "
     "\"text_config\": {\"model_type\": \"gemma3_text\", \"hidden_size\": 32, \"intermediate_size\": 64, "
     "\"num_hidden_layers\": 3, \"num_attention_heads\": 2, \"num_key_value_heads\": 1, \"head_dim\": 16, "
     "\"vocab_size\": 64, \"query_pre_attn_scalar\": 16, \"sliding_window\": 20, \"layer_types\": [\"sliding_attention\", \"full_attention\", "
     "\"sliding_attention\"], \"rope_scaling\": {\"factor\": 8.0, \"rope_type\": \"linear\"}}}",
     "BF16", 96, 32, "self"},
};

int main(void) {
    if (system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0) {
        SKIP("/usr/bin/python3 with numpy not available: no reference forward");
        return t_done();
    }
    for (int i = 0; i < (int)(sizeof cases / sizeof *cases); i++) run_case(&cases[i], i);
    return t_done();
}
