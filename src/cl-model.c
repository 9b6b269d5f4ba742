/* cl-model — inspect model files, make random-weight GGUF models of a real config (benchmarks,
 * tests), convert any model (HF directory, GGUF, llama2.c) to GGUF, pull models from the Hugging
 * Face Hub into its cache and list what is there.  See man/cl-model.1. */
#include <dirent.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "cli.h"
#include "config.h"
#include "datadir.h"
#include "gguf.h"
#include "hub.h"
#include "model_file.h"
#include "quant.h"
#include "rope.h"
#include "tensor.h"
#include "tokenizer.h"
#include "rng.h"
#include "util.h"

static const char usage_text[] =
    "usage: cl-model info [PATH]\n"
    "       cl-model random --config CONFIG.json --out FILE.gguf [--seed N] [--dtype DTYPE] [--vocab N]\n"
    "                [--tokenizer FILE|none]\n"
    "       cl-model convert PATH --out FILE.gguf [--dtype DTYPE]\n"
    "       cl-model pull ORG/NAME[@REV][:QUANT] [--include GLOB]... [--gguf QUANT]\n"
    "       cl-model list\n"
    "       cl-model --help\n"
    "PATH: a Hugging Face directory, a GGUF file, a llama2.c checkpoint or ORG/NAME[@REV][:QUANT]\n"
    "in the Hugging Face cache (default $CL_MODEL, then ../shared/models/tinystories-656k).\n"
    "pull: download the model's config, tokenizer and weights (or the .gguf of QUANT) from the Hub\n"
    "($HF_ENDPOINT, token $HF_TOKEN) into the cache ($HF_HUB_CACHE, $HF_HOME/hub or\n"
    "~/.cache/huggingface/hub) and print its local path.  --include GLOB: these files instead.\n"
    "list: the cached models and the installed compressors.\n"
    "DTYPE: f32, f16, bf16, q4_0, q8_0, q4_K, q5_K, q6_K, or q4_K_M (q4_K with q6_K for the output\n"
    "and some attn_v/ffn_down layers, as llama.cpp mixes it).\n";

/* The requested storage: one dtype, or llama.cpp's Q4_K_M mix (mix_q4_k_m, which needs the
 * layer count and whether output.weight exists to place its q6_K tensors). */
static struct {
    cl_dtype want;
    int mix_q4_k_m, n_layers, has_output;
} plan = {CL_F32, 0, 0, 0};

static int parse_dtype(const char *s, cl_dtype *out) {
    static const struct { const char *n; cl_dtype t; } m[] = {
        {"f32", CL_F32}, {"f16", CL_F16}, {"bf16", CL_BF16}, {"q4_0", CL_Q4_0}, {"q8_0", CL_Q8_0},
        {"q4_K", CL_Q4_K}, {"q5_K", CL_Q5_K}, {"q6_K", CL_Q6_K}, {"q4_K_M", CL_Q4_K}};
    for (size_t i = 0; i < sizeof m / sizeof *m; i++)
        if (!strcasecmp(s, m[i].n)) return plan.mix_q4_k_m = !strcasecmp(s, "q4_K_M"), *out = m[i].t, 0;
    return -1;
}

/* Encode rows x cols floats as dtype (cl_quantize), row by row; -1 after cl_fail naming the row
 * and the elements where dtype cannot hold them. */
static int encode_rows(const float *x, int64_t rows, int64_t cols, cl_dtype dt, void *out) {
    const int64_t rb = cl_dtype_bytes(dt, cols);
    for (int64_t r = 0; r < rows; r++)
        if (cl_quantize(dt, x + r * cols, cols, (uint8_t *)out + r * rb)) return cl_fail_prefix("row %lld", (long long)r);
    return 0;
}

/* Q4_K_M's choice for tensor `name`: q6_K for the output (the embeddings when tied) and for
 * attn_v / ffn_down of the first and last eighth of the layers and every third between
 * (llama.cpp's use_more_bits), q4_K elsewhere. */
static cl_dtype q4_k_m_dtype(const char *name) {
    int l;
    if (!strcmp(name, "output.weight") || (!plan.has_output && !strcmp(name, "token_embd.weight"))) return CL_Q6_K;
    if (sscanf(name, "blk.%d.", &l) == 1 && (strstr(name, ".attn_v.") || strstr(name, ".ffn_down."))) {
        int n = plan.n_layers;
        if (l < n / 8 || l >= 7 * n / 8 || (l - n / 8) % 3 == 2) return CL_Q6_K;
    }
    return CL_Q4_K;
}

/* The dtype a weight is stored in: 1-D tensors (norms, biases) stay f32 as llama.cpp does; a
 * row that is not a whole number of blocks falls back to q8_0 (rows of 32) or f32. */
static cl_dtype storage_dtype(const char *name, int ndim, int64_t cols) {
    cl_dtype want = plan.mix_q4_k_m ? q4_k_m_dtype(name) : plan.want;
    if (ndim < 2) return CL_F32;
    if (cols % cl_dtype_block(want)) return cols % 32 || want == CL_F16 || want == CL_BF16 ? CL_F32 : CL_Q8_0;
    return want;
}

/* The config as llama.cpp's GGUF conventions express it; -1 (cl_fail) when they cannot. */
static int gguf_config(cl_config *c, const char *path) {
    if (c->arch == CL_ARCH_GEMMA3) {
        float want = 1.0f / sqrtf((float)(c->n_layers == 62 ? c->dim / c->n_heads : c->head_dim));
        if (fabsf(c->attn_scale - want) > 1e-6f * want)
            return cl_fail("%s: query_pre_attn_scalar %g is not what llama.cpp's gemma3 assumes (%d): GGUF cannot express it",
                           path, 1.0 / ((double)c->attn_scale * c->attn_scale), c->n_layers == 62 ? c->dim / c->n_heads : c->head_dim);
        if (c->rope_theta_local != 10000.0f)
            return cl_fail("%s: rope_local_base_freq %g: llama.cpp's gemma3 assumes 10000", path, (double)c->rope_theta_local);
        int std_pattern = 1;
        for (int l = 0; l < c->n_layers; l++) std_pattern &= c->layer_window[l] == ((l + 1) % 6 != 0);
        if (!std_pattern || c->sliding_window <= 0)
            fprintf(stderr, "%s: note: non-standard gemma3 sliding-window layers written as %s.attention.sliding_window_pattern "
                            "(read by compllm; llama.cpp's gemma3 assumes every 6th layer global)\n", cl_progname(), cl_arch_name(c->arch));
        c->norm_plus_one = 0;
        c->embd_scale = sqrtf((float)c->dim);   /* llama.cpp: sqrtf(n_embd) in f32 */
    }
    return 0;
}

/* llama3 RoPE scaling travels as llama.cpp's rope_freqs.weight (frequency divisors): returns
 * them (malloc'd) and turns c's scaling into rope_freqs; NULL for other configs. */
static float *llama3_freqs(cl_config *c) {
    if (c->rope_scaling.type != CL_ROPE_LLAMA3) return NULL;
    float *f = cl_malloc((size_t)(c->head_dim / 2) * sizeof *f);
    cl_rope_llama3_factors(f, c);
    memset(&c->rope_scaling, 0, sizeof c->rope_scaling);
    c->rope_freqs = 1;
    return f;
}

static void add_freqs(cl_gguf_writer *w, const cl_config *c, const float *freqs) {
    int64_t shape = c->head_dim / 2;
    if (freqs) cl_gguf_add_tensor(w, "rope_freqs.weight", CL_F32, 1, &shape, freqs);
}

static int cmd_info(const char *path) {
    cl_model_file *mf = cl_model_file_open(path);
    if (!mf) cl_die("%s", cl_error());
    const cl_config *c = cl_model_file_config(mf);
    printf("path: %s\nformat: %s\narch: %s\n", path, cl_format_name(cl_model_file_format(mf)), cl_arch_name(c->arch));
    printf("n_vocab: %d\ndim: %d\nn_layers: %d\nn_heads: %d\nn_kv_heads: %d\nhead_dim: %d\nffn_dim: %d\nmax_ctx: %d\n",
           c->n_vocab, c->dim, c->n_layers, c->n_heads, c->n_kv_heads, c->head_dim, c->ffn_dim, c->max_ctx);
    printf("rope_theta: %g\nrms_eps: %g\ntied_embeddings: %d\nattn_bias: %d\nqk_norm: %d\nrope_interleaved: %d\n"
           "bos_id: %d\neos_id: %d\n",
           (double)c->rope_theta, (double)c->rms_eps, c->tied_embeddings, c->attn_bias, c->qk_norm,
           cl_model_file_rope_stored_interleaved(mf), c->bos_id, c->eos_id);
    char extra[2048];
    cl_config_describe_extra(c, extra, sizeof extra);
    fputs(extra, stdout);
    if (cl_model_file_gguf(mf)) printf("tokenizer: gguf metadata\n");
    else if (cl_model_file_tokenizer_json(mf)) printf("tokenizer: %s\n", cl_model_file_tokenizer_json(mf));
    else if (cl_model_file_tokenizer_bin(mf)) printf("tokenizer: %s\n", cl_model_file_tokenizer_bin(mf));
    else printf("tokenizer: none\n");
    printf("chat_template: %s\n", cl_model_file_chat_template(mf) ? "yes" : "no");
    int64_t params = 0;
    int n = cl_model_file_n_tensors(mf);
    printf("tensors: %d\n", n);
    for (int i = 0; i < n; i++) {
        const cl_tensor *t = cl_model_file_tensor_at(mf, i);
        printf("  %-32s %-5s [", t->name, cl_dtype_name(t->dtype));
        for (int d = 0; d < t->ndim; d++) printf("%s%lld", d ? ", " : "", (long long)t->shape[d]);
        printf("]\n");
        params += cl_tensor_nelem(t);
    }
    printf("parameters: %lld\n", (long long)params);
    uint8_t fp[32];
    char hex[65];
    cl_model_file_fingerprint(mf, fp);
    cl_hex(fp, 32, hex);
    printf("fingerprint: %s\n", hex);
    cl_model_file_close(mf);
    return 0;
}

/* ---- random ---- */
typedef struct {
    uint64_t seed;
    cl_dtype dtype;
    int64_t rows, cols;
    float mean, std;
} rand_ctx;

static int fill_random(void *vctx, const char *name, void *out, size_t nbytes) {
    const rand_ctx *c = vctx;
    uint64_t s = c->seed;
    for (const char *p = name; *p; p++) s = (s ^ (uint8_t)*p) * 0x100000001B3ull; /* per-tensor stream */
    float *row = cl_malloc((size_t)c->cols * sizeof *row);
    int64_t rb = cl_dtype_bytes(c->dtype, c->cols);
    int rc = 0;
    for (int64_t r = 0; r < c->rows && !rc; r++) {
        for (int64_t i = 0; i < c->cols; i += 2) { /* Box-Muller: two normals per two uniforms */
            double u1 = ((cl_splitmix64(&s) >> 11) + 1.0) * 0x1.0p-53, u2 = (cl_splitmix64(&s) >> 11) * 0x1.0p-53;
            double m = sqrt(-2 * log(u1));
            row[i] = c->mean + c->std * (float)(m * cos(2 * M_PI * u2));
            if (i + 1 < c->cols) row[i + 1] = c->mean + c->std * (float)(m * sin(2 * M_PI * u2));
        }
        rc = encode_rows(row, 1, c->cols, c->dtype, (uint8_t *)out + r * rb);   /* N(0.02) never fails */
    }
    free(row);
    (void)nbytes;
    return rc;
}

typedef struct {
    cl_gguf_writer *w;
    rand_ctx *ctx;
    int n;
    uint64_t seed;
    cl_dtype want;
} rand_model;

static void add_random(rand_model *m, const char *name, int64_t rows, int64_t cols, float mean, float std) {
    rand_ctx *c = &m->ctx[m->n++];
    int ndim = cols ? 2 : 1;
    if (!cols) cols = rows, rows = 1;
    *c = (rand_ctx){m->seed, storage_dtype(name, ndim, cols), rows, cols, mean, std};
    int64_t shape[2] = {ndim == 2 ? rows : cols, cols};
    cl_gguf_add_tensor_fill(m->w, name, c->dtype, ndim, shape, fill_random, c);
}

/* The tokenizer a random model gets: FILE (tokenizer.json), none, or by default the shared
 * SmolLM2 tokenizer when it is found and fits the vocabulary (padded up to it); NULL for none. */
static cl_tokenizer *random_tokenizer(const char *arg, int n_vocab) {
    if (arg && !strcmp(arg, "none")) return NULL;
    const char *path = arg ? arg : cl_shared_file("tokenizers/smollm2-135m-instruct/tokenizer.json");
    if (!path) return NULL;
    cl_tokenizer *t = cl_tokenizer_from_json(path);
    if (!t) cl_die("%s", cl_error());
    if (cl_tokenizer_n_vocab(t) > n_vocab) {
        if (arg) cl_die("%s: %d tokens do not fit the vocabulary of %d", path, cl_tokenizer_n_vocab(t), n_vocab);
        cl_tokenizer_free(t);   /* the default does not fit (e.g. --vocab 256): no tokenizer */
        return NULL;
    }
    return t;
}

static int cmd_random(const char *config, const char *out, uint64_t seed, cl_dtype dtype, int vocab,
                      const char *tokenizer) {
    cl_config c;
    if (cl_hf_config_load(config, &c)) cl_die("%s", cl_error());
    if (vocab > 0) {
        c.n_vocab = vocab;
        if (c.bos_id >= vocab) c.bos_id = -1;
        if (c.eos_id >= vocab) c.eos_id = -1;
        int k = 0;
        for (int i = 0; i < c.n_stop; i++)
            if (c.stop_ids[i] < vocab) c.stop_ids[k++] = c.stop_ids[i];
        c.n_stop = k;
    }
    c.rope_interleaved = c.arch == CL_ARCH_LLAMA;
    if (cl_config_validate(&c)) cl_die("%s: %s", config, cl_error());
    plan.want = dtype, plan.n_layers = c.n_layers, plan.has_output = !c.tied_embeddings;
    if (gguf_config(&c, config)) cl_die("%s", cl_error());
    float *freqs = llama3_freqs(&c);
    rand_model m = {cl_gguf_writer_new(), cl_calloc((size_t)c.n_layers * 16 + 8, sizeof(rand_ctx)), 0, seed, dtype};
    cl_gguf_set_config(m.w, &c);
    cl_gguf_set_str(m.w, "general.name", "random weights (cl-model random)");
    cl_tokenizer *tok = random_tokenizer(tokenizer, c.n_vocab);
    if (tok) {
        if (cl_tokenizer_to_gguf_padded(tok, m.w, c.n_vocab)) cl_die("%s", cl_error());
        cl_tokenizer_free(tok);
        cl_gguf_set_config(m.w, &c);   /* the config's BOS/EOS win */
    }
    cl_gguf_set_u64(m.w, "general.seed", seed);
    int64_t q = (int64_t)c.n_heads * c.head_dim, kv = (int64_t)c.n_kv_heads * c.head_dim;
    add_random(&m, "token_embd.weight", c.n_vocab, c.dim, 0, 0.02f);
    add_random(&m, "output_norm.weight", c.dim, 0, 1, 0.02f);
    if (!c.tied_embeddings) add_random(&m, "output.weight", c.n_vocab, c.dim, 0, 0.02f);
    for (int l = 0; l < c.n_layers; l++) {
        char n[64];
#define R(suffix, a, b, mean) (snprintf(n, sizeof n, "blk.%d." suffix, l), add_random(&m, n, a, b, mean, 0.02f))
        R("attn_norm.weight", c.dim, 0, 1);
        R("attn_q.weight", q, c.dim, 0);
        R("attn_k.weight", kv, c.dim, 0);
        R("attn_v.weight", kv, c.dim, 0);
        R("attn_output.weight", c.dim, q, 0);
        if (c.attn_bias) {
            R("attn_q.bias", q, 0, 0);
            R("attn_k.bias", kv, 0, 0);
            R("attn_v.bias", kv, 0, 0);
        }
        if (c.qk_norm) {
            R("attn_q_norm.weight", c.head_dim, 0, 1);
            R("attn_k_norm.weight", c.head_dim, 0, 1);
        }
        R("ffn_norm.weight", c.dim, 0, 1);
        R("ffn_gate.weight", c.ffn_dim, c.dim, 0);
        R("ffn_up.weight", c.ffn_dim, c.dim, 0);
        R("ffn_down.weight", c.dim, c.ffn_dim, 0);
        if (c.post_norms) {
            R("post_attention_norm.weight", c.dim, 0, 1);
            R("post_ffw_norm.weight", c.dim, 0, 1);
        }
#undef R
    }
    add_freqs(m.w, &c, freqs);
    int rc = cl_gguf_writer_save(m.w, out);
    cl_gguf_writer_free(m.w);
    free(freqs);
    free(m.ctx);
    if (rc) cl_die("%s", cl_error());
    return 0;
}

/* ---- convert ---- */
typedef struct {
    const cl_tensor *src;
    cl_dtype dtype;
    int permute_heads; /* > 0: reorder rows of each head from halves to interleaved pairs */
    int add_one;       /* HF Gemma norm gains (stored as w - 1): llama.cpp stores w */
} conv_ctx;

static int fill_convert(void *vctx, const char *name, void *out, size_t nbytes) {
    const conv_ctx *c = vctx;
    const cl_tensor *t = c->src;
    int64_t n = cl_tensor_nelem(t);
    if (c->dtype == t->dtype && !c->permute_heads && !c->add_one) {
        memcpy(out, t->data, nbytes);
        return 0;
    }
    float *x = cl_malloc((size_t)n * sizeof *x);
    if (cl_tensor_to_f32(t, x)) {
        free(x);
        return -1;
    }
    if (c->permute_heads) {   /* llama.cpp's LlamaModel.permute (weights and biases) */
        float *y = cl_malloc((size_t)n * sizeof *y);
        cl_rope_rows_permute(y, x, t->shape[0], c->permute_heads, (size_t)(n / t->shape[0]) * sizeof *y, 1);
        free(x);
        x = y;
    }
    if (c->add_one)
        for (int64_t i = 0; i < n; i++) x[i] += 1.0f;
    int64_t cols = t->shape[t->ndim - 1];
    int rc = encode_rows(x, n / cols, cols, c->dtype, out);
    free(x);
    return rc;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

static int cmd_convert(const char *dir, const char *out, int have_dtype, cl_dtype want) {
    cl_model_file *mf = cl_model_file_open(dir);
    if (!mf) cl_die("%s", cl_error());
    cl_config c = *cl_model_file_config(mf);
    plan.want = want, plan.n_layers = c.n_layers, plan.has_output = cl_model_file_tensor(mf, "output.weight") != NULL;
    /* GGUF llama means interleaved RoPE: halves-layout (HF) Q/K rows get llama.cpp's permutation */
    int permute = c.arch == CL_ARCH_LLAMA && !c.rope_interleaved;
    c.rope_interleaved = c.arch == CL_ARCH_LLAMA;
    int add_one = c.norm_plus_one;
    if (gguf_config(&c, dir)) cl_die("%s", cl_error());
    float *freqs = llama3_freqs(&c);
    cl_gguf_writer *w = cl_gguf_writer_new();
    cl_gguf_set_config(w, &c);
    if (cl_model_file_chat_template(mf)) cl_gguf_set_str(w, "tokenizer.chat_template", cl_model_file_chat_template(mf));
    /* the tokenizer as tokenizer.ggml.* keys (the tokenizer library's own writer), so the GGUF is
     * self-contained; a model without a tokenizer gives a GGUF without one */
    const cl_gguf *sg = cl_model_file_gguf(mf);
    if (cl_model_file_tokenizer_json(mf) || cl_model_file_tokenizer_bin(mf) ||
        (sg && cl_gguf_find(sg, "tokenizer.ggml.model") >= 0)) {
        cl_tokenizer *tok = cl_tokenizer_for_model(mf);
        if (!tok || cl_tokenizer_to_gguf(tok, w)) cl_die("%s: tokenizer: %s", dir, cl_error());
        cl_tokenizer_free(tok);
    }
    cl_gguf_set_config(w, &c);   /* BOS/EOS of config.json win, as before */
    int n = cl_model_file_n_tensors(mf);
    conv_ctx *ctx = cl_calloc((size_t)n + 1, sizeof *ctx);
    for (int i = 0; i < n; i++) {
        const cl_tensor *t = cl_model_file_tensor_at(mf, i);
        int is_q = ends_with(t->name, ".attn_q.weight") || ends_with(t->name, ".attn_q.bias");
        int is_k = ends_with(t->name, ".attn_k.weight") || ends_with(t->name, ".attn_k.bias");
        ctx[i].src = t;
        ctx[i].dtype = have_dtype ? want : t->dtype;
        if (have_dtype || t->ndim < 2) ctx[i].dtype = storage_dtype(t->name, t->ndim, t->shape[t->ndim - 1]);
        if (permute) ctx[i].permute_heads = is_q ? c.n_heads : is_k ? c.n_kv_heads : 0;
        ctx[i].add_one = add_one && ends_with(t->name, "norm.weight");
        cl_gguf_add_tensor_fill(w, t->name, ctx[i].dtype, t->ndim, t->shape, fill_convert, &ctx[i]);
    }
    add_freqs(w, &c, freqs);
    int rc = cl_gguf_writer_save(w, out);
    cl_gguf_writer_free(w);
    free(freqs);
    free(ctx);
    cl_model_file_close(mf);
    if (rc) cl_die("%s", cl_error());
    return 0;
}

/* ---- pull, list ---- */
static int cmd_pull(const char *ref, const char *const *include, int n_include, const char *gguf) {
    if (!cl_hub_is_ref(ref)) cl_usage_error("%s: not a model reference ORG/NAME[@REV][:QUANT]", ref);
    cl_hub_pull_opts o = {include, n_include, gguf, cl_isatty_stderr()};
    char *path = cl_hub_pull(ref, &o);
    if (!path) cl_die("%s", cl_error());
    printf("%s\n", path);
    free(path);
    return 0;
}

/* The compressors (*.gguf of general.architecture compllm-compressor) in the data directories,
 * each with its rate and base model: the name before -cC, and the base fingerprint it checks. */
static void list_compressors(void) {
    char *dirs[2];
    int nd = cl_data_dirs(dirs), found = 0;
    printf("Compressors:\n");
    for (int i = 0; i < nd; i++) {
        DIR *d = opendir(dirs[i]);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (!ends_with(e->d_name, ".gguf")) continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", dirs[i], e->d_name);
            cl_gguf *g = cl_gguf_open(path);
            const char *arch = g ? cl_gguf_get_str(g, "general.architecture") : NULL;
            if (arch && !strcmp(arch, "compllm-compressor")) {
                int64_t rate = 0, seg = 0;
                cl_gguf_get_i64(g, "compllm.rate", &rate);
                cl_gguf_get_i64(g, "compllm.max_segment", &seg);
                const char *fp = cl_gguf_get_str(g, "compllm.base_fingerprint");
                char base[256];
                snprintf(base, sizeof base, "%s", e->d_name);
                char *cut = strstr(base, "-c");
                char *last = cut;
                while (cut && (cut = strstr(cut + 2, "-c"))) last = cut;
                if (last) *last = 0;
                printf("  %s  C=%lld  S=%lld  base model %s (fingerprint %.16s)\n", path, (long long)rate, (long long)seg,
                       base, fp ? fp : "?");
                found++;
            }
            if (g) cl_gguf_close(g);
        }
        if (d) closedir(d);
        free(dirs[i]);
    }
    if (!found) printf("  (none installed)\n");
}

static int cmd_list(void) {
    if (cl_hub_list(stdout)) cl_die("%s", cl_error());
    list_compressors();
    return 0;
}

enum { MAX_INCLUDE = 64 };

/* What the command line asks for: the command, its arguments and the options. */
typedef struct {
    const char *cmd;
    char *const *args;
    int n_args;
    const char *include[MAX_INCLUDE];
    int n_include;
    const char *gguf, *config, *out, *tokenizer;
    unsigned long long seed;
    cl_dtype dtype;
    int have_dtype, vocab;
} model_opts;

/* Parse argv into o (exits on a usage error or after --help). */
static void parse_options(int argc, char **argv, model_opts *o) {
    static const struct option opts[] = {{"help", no_argument, 0, 'h'},   {"config", required_argument, 0, 'c'},
                                         {"seed", required_argument, 0, 's'}, {"dtype", required_argument, 0, 'd'},
                                         {"vocab", required_argument, 0, 'v'}, {"out", required_argument, 0, 'o'},
                                         {"include", required_argument, 0, 'i'}, {"gguf", required_argument, 0, 'g'},
                                         {"tokenizer", required_argument, 0, 't'},
                                         {0, 0, 0, 0}};
    *o = (model_opts){.dtype = CL_F32};
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(usage_text, stdout); exit(0);
        case 'c': o->config = optarg; break;
        case 'o': o->out = optarg; break;
        case 't': o->tokenizer = optarg; break;
        case 'i':
            if (o->n_include == MAX_INCLUDE) cl_usage_error("at most %d --include", MAX_INCLUDE);
            o->include[o->n_include++] = optarg;
            break;
        case 'g': o->gguf = optarg; break;
        case 's': o->seed = cl_arg_u64(optarg, "--seed"); break;
        case 'v': o->vocab = (int)cl_arg_long(optarg, "--vocab", 1, 1 << 30); break;
        case 'd':
            if (parse_dtype(optarg, &o->dtype)) cl_usage_error("--dtype must be f32, f16, bf16, q4_0, q8_0, q4_K, q5_K, q6_K or q4_K_M");
            o->have_dtype = 1;
            break;
        default: fputs(usage_text, stderr); exit(2);
        }
    }
    if (optind >= argc) cl_usage_error("missing command (info, random, convert, pull, list)");
    o->cmd = argv[optind++];
    o->args = argv + optind;
    o->n_args = argc - optind;
    if ((o->n_include || o->gguf) && strcmp(o->cmd, "pull")) cl_usage_error("--include and --gguf go with pull");
}

/* Run the command; the exit status. */
static int run_model(const model_opts *o) {
    int n = o->n_args;
    if (!strcmp(o->cmd, "pull")) {
        if (n != 1) cl_usage_error("pull needs one ORG/NAME[@REV][:QUANT]");
        return cmd_pull(o->args[0], o->include, o->n_include, o->gguf);
    }
    if (!strcmp(o->cmd, "list")) {
        if (n) cl_usage_error("too many arguments");
        return cmd_list();
    }
    if (!strcmp(o->cmd, "info")) {
        const char *path = n ? o->args[0] : cl_default_model_path();
        if (!path) cl_die("no model given and no default model found (set CL_MODEL)");
        if (n > 1) cl_usage_error("too many arguments");
        return cmd_info(path);
    }
    if (!strcmp(o->cmd, "random")) {
        if (!o->config || !o->out) cl_usage_error("random needs --config and --out");
        if (n) cl_usage_error("too many arguments");
        return cmd_random(o->config, o->out, o->seed, o->dtype, o->vocab, o->tokenizer);
    }
    if (!strcmp(o->cmd, "convert")) {
        if (!n || !o->out) cl_usage_error("convert needs PATH and --out");
        if (n > 1) cl_usage_error("too many arguments");
        return cmd_convert(o->args[0], o->out, o->have_dtype, o->dtype);
    }
    cl_usage_error("unknown command");
}

int main(int argc, char **argv) {
    cl_set_progname(argv[0]);
    cl_cli_set_usage(usage_text);
    model_opts o;
    parse_options(argc, argv, &o);
    return run_model(&o);
}
