/* config.h — the hyper-parameters of a Llama-family decoder, whatever file they came from.
 *
 * Every field that changes the maths is here, so that a loader either fills it or refuses the
 * file: a feature a loader cannot express in cl_config is an error naming the key, never ignored.
 * Fields after eos_id default to 0 = "plain Llama" (zero-initialised configs stay valid). */
#ifndef CL_CONFIG_H
#define CL_CONFIG_H
#include <stddef.h>
#include <stdint.h>

typedef enum { CL_ARCH_LLAMA = 0, CL_ARCH_QWEN2 = 1, CL_ARCH_QWEN3 = 2, CL_ARCH_GEMMA3 = 3 } cl_arch;

/* Activation of the gated feed-forward: silu (SwiGLU) or gelu with the tanh approximation
 * (GeGLU, HF "gelu_pytorch_tanh"). */
typedef enum { CL_ACT_SILU = 0, CL_ACT_GELU_TANH = 1 } cl_act;

/* RoPE frequency scaling (HF rope_scaling / GGUF {arch}.rope.scaling.*). */
typedef enum { CL_ROPE_DEFAULT = 0, CL_ROPE_LINEAR = 1, CL_ROPE_LLAMA3 = 2, CL_ROPE_YARN = 3 } cl_rope_type;
typedef struct {
    cl_rope_type type;
    float factor;                            /* linear, llama3, yarn: > 0 */
    int orig_ctx;                            /* llama3, yarn: original_max_position_embeddings */
    float low_freq_factor, high_freq_factor; /* llama3 */
    float beta_fast, beta_slow;              /* yarn (HF defaults 32, 1) */
    float attn_factor;                       /* yarn: cos/sin multiplier; 0 = 0.1 ln(factor) + 1 */
} cl_rope_scaling;

enum { CL_MAX_LAYERS = 256, CL_MAX_STOP = 8 };

typedef struct {
    cl_arch arch;
    int n_vocab, dim, n_layers, n_heads, n_kv_heads, head_dim, ffn_dim, max_ctx;
    float rope_theta, rms_eps;
    int tied_embeddings;  /* output head is token_embd.weight (output.weight absent) */
    int attn_bias;        /* q/k/v projections have biases (Qwen2) */
    int qk_norm;          /* per-head RMSNorm on q and k before RoPE (Qwen3, Gemma 3) */
    int rope_interleaved; /* 1: rotate pairs (2i,2i+1) — GGUF llama (llama.cpp permutes Q/K) and
                             llama2.c; 0: rotate halves (i, i+d/2) — HF layout, GGUF qwen2/qwen3 */
    int bos_id, eos_id;   /* -1 when the model has none */
    /* ---- beyond plain Llama (0 = off) ---- */
    cl_rope_scaling rope_scaling; /* of the global (full-attention) layers */
    int rope_freqs;       /* GGUF rope_freqs.weight [head_dim/2] divides the frequencies (llama.cpp's
                             llama3 form; the tensor is loaded with the weights) */
    int sliding_window;   /* > 0: window layers let a query see itself and the window-1 keys before */
    uint8_t layer_window[CL_MAX_LAYERS]; /* 1: layer l is a sliding-window ("local") layer */
    float rope_theta_local; /* > 0: local layers use this RoPE base without scaling (Gemma 3);
                               0: local layers rotate like the global ones */
    cl_act act;
    int post_norms;       /* Gemma 3: RMSNorm on the attention and FFN outputs before the residual
                             adds (blk.N.post_attention_norm, blk.N.post_ffw_norm) */
    float embd_scale;     /* > 0: embeddings looked up from ids are multiplied by it (Gemma 3) */
    float attn_scale;     /* > 0: attention scores scale (Gemma 3 query_pre_attn_scalar^-1/2);
                             0: 1/sqrt(head_dim) */
    int norm_plus_one;    /* the file stores RMSNorm gains as w - 1 (HF Gemma): the loader adds 1 */
    int n_stop;           /* generation stops at any of stop_ids (eos_id among them) */
    int stop_ids[CL_MAX_STOP];
} cl_config;

const char *cl_arch_name(cl_arch a);          /* "llama", "qwen2", "qwen3", "gemma3" */
int cl_arch_from_name(const char *s);         /* -1 if unknown */
const char *cl_rope_type_name(cl_rope_type t);/* "default", "linear", "llama3", "yarn" */
/* Sanity-check ranges and divisibility; cl_fail with the offending field. */
int cl_config_validate(const cl_config *c);
/* 1 if layer l is a sliding-window layer. */
int cl_config_layer_local(const cl_config *c, int l);
/* Add id to the stop list (ignored when < 0 or already there; cl_fail when the list is full). */
int cl_config_add_stop(cl_config *c, int id);
/* "key: value" lines (each ending in '\n') for the fields beyond plain Llama that are set, into
 * buf (truncated to cap); "" for a plain config.  Stop ids included when more than eos_id. */
void cl_config_describe_extra(const cl_config *c, char *buf, size_t cap);
/* 0 when c uses nothing beyond what the trainer's backward (train_backward.c) implements
 * (llama/qwen2/qwen3/gemma3 maths: any RoPE scaling, sliding windows, GeGLU, post norms, attention
 * and embedding scales); else cl_fail naming the feature ("WHO: FEATURE is not supported by the
 * trainer").  Features a config cannot express (softcapping...) are refused by the loaders. */
int cl_config_require_plain(const cl_config *c, const char *who);

#endif
