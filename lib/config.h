/* config.h — the hyper-parameters of a Llama-family decoder, whatever file they came from. */
#ifndef CL_CONFIG_H
#define CL_CONFIG_H

/* Deepest model supported (LoRA tables and checks are sized by it). */
#define CL_MAX_LAYERS 256

typedef enum { CL_ARCH_LLAMA = 0, CL_ARCH_QWEN2 = 1, CL_ARCH_QWEN3 = 2 } cl_arch;

typedef struct {
    cl_arch arch;
    int n_vocab, dim, n_layers, n_heads, n_kv_heads, head_dim, ffn_dim, max_ctx;
    float rope_theta, rms_eps;
    int tied_embeddings;  /* output head is token_embd.weight (output.weight absent) */
    int attn_bias;        /* q/k/v projections have biases (Qwen2) */
    int qk_norm;          /* per-head RMSNorm on q and k before RoPE (Qwen3) */
    int rope_interleaved; /* 1: rotate pairs (2i,2i+1) — GGUF llama (llama.cpp permutes Q/K) and
                             llama2.c; 0: rotate halves (i, i+d/2) — HF layout, GGUF qwen2/qwen3 */
    int bos_id, eos_id;   /* -1 when the model has none */
} cl_config;

const char *cl_arch_name(cl_arch a);          /* "llama", "qwen2", "qwen3" */
int cl_arch_from_name(const char *s);         /* -1 if unknown */
/* Sanity-check ranges and divisibility; cl_fail with the offending field. */
int cl_config_validate(const cl_config *c);

#endif
