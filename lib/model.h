/* model.h — the Llama-family decoder (llama / qwen2 / qwen3) in f32 on OpenBLAS.
 *
 * One forward entry point serves every tool:
 *  - cl-ask:      one sequence, continuing a KV cache, input ids or embeddings (CEs), logits of
 *                 the last position;
 *  - cl-compress: many independent short sequences in one batch (no cache), LoRA on, final
 *                 hidden states at chosen positions;
 *  - cl-train:    per-layer hidden states at chosen positions (distillation targets).
 */
#ifndef CL_MODEL_H
#define CL_MODEL_H
#include <stddef.h>
#include <stdint.h>
#include "config.h"
#include "model_file.h"

typedef struct {
    float *attn_norm, *wq, *wk, *wv, *wo, *bq, *bk, *bv, *q_norm, *k_norm;  /* bq.. NULL if absent */
    float *ffn_norm, *w_gate, *w_up, *w_down;
    float *attn_post_norm, *ffn_post_norm;  /* Gemma 3 (cfg.post_norms), else NULL */
} cl_layer;

typedef struct {
    cl_config cfg;
    float *tok_embd;    /* [vocab, dim] */
    float *out_norm;    /* [dim] */
    float *output;      /* [vocab, dim]; == tok_embd when tied */
    cl_layer *layers;
    float *rope_freqs;  /* [head_dim/2] GGUF rope_freqs.weight (cfg.rope_freqs), else NULL */
    /* RoPE inverse frequencies [head_dim/2] of the global (0) and local (1) layers and their cos/sin
     * multipliers (rope.h), computed at load; NULL in models built elsewhere (computed per call). */
    double *rope_inv[2];
    float rope_mscale[2];
    uint8_t fingerprint[32];
    void *arena;        /* owner of all weight memory */
} cl_model;

cl_model *cl_model_load(const cl_model_file *mf);   /* converts every weight to f32 (norm gains
                                                       stored as w - 1 get their 1 back) */
void cl_model_free(cl_model *m);
/* A model of config c's shape with random weights (seeded; norm gains ~1, other weights uniform
 * with variance 1/(3 fan_in)): for speed measurements and tests that need no real weights. */
cl_model *cl_model_random(const cl_config *c, uint64_t seed);

/* LoRA adapter: W x  ->  W x + scale * B (A x) on the targeted projections.
 * Per layer, per target t (CL_LORA_Q..CL_LORA_DOWN): A [r, in], B [out, r]; NULL = not adapted. */
enum { CL_LORA_Q, CL_LORA_K, CL_LORA_V, CL_LORA_O, CL_LORA_GATE, CL_LORA_UP, CL_LORA_DOWN, CL_LORA_NT };
typedef struct {
    int rank;
    float scale;                       /* alpha / rank */
    float *A[/*layer*/ 256][CL_LORA_NT];
    float *B[256][CL_LORA_NT];
} cl_lora;

/* KV cache for one sequence. */
typedef struct cl_kv cl_kv;
cl_kv *cl_kv_new(const cl_model *m, int max_pos);
void cl_kv_free(cl_kv *kv);
int cl_kv_len(const cl_kv *kv);
void cl_kv_truncate(cl_kv *kv, int n);     /* forget positions >= n (reuse a prefilled prefix) */
size_t cl_kv_bytes(const cl_kv *kv);       /* bytes holding the cached positions */

typedef struct {
    /* Input: n_tokens positions, given as ids OR as embeddings [n_tokens, dim] (exactly one). */
    int n_tokens;
    const int32_t *ids;
    const float *embd;
    /* Sequences: with a kv cache, one sequence continuing it.  Without (kv == NULL), n_seq
     * independent sequences laid end to end, each starting at position 0 and attending only
     * to itself; seq_len[s] sum to n_tokens (n_seq == 0 means one sequence). */
    int n_seq;
    const int *seq_len;
    const cl_lora *lora;      /* optional */
    /* Outputs (each optional): */
    float *logits;            /* [n_vocab] for the last position, or [n_tokens, n_vocab] if logits_all */
    int logits_all;
    int n_out;                /* positions (batch indices) whose states are wanted */
    const int *out_pos;
    float *out_final;         /* [n_out, dim]: state after the final RMSNorm (what feeds the LM head) */
    float *out_layers;        /* [n_layers+1, n_out, dim]: residual stream before layer 0 (the input
                                 embeddings), after each layer (before the final norm) */
} cl_batch;

/* Runs the batch; 0 or -1 (cl_error: bad ids, lengths, positions, cache overflow).
 * "Last position" logits are those of the batch's last row.  No global state: threads may run
 * forwards on one model at once, each with its own kv.  Long batches are processed in spans
 * of 512 positions (whole sequences when kv == NULL), so memory stays bounded; results equal
 * a single pass up to float rounding (tests: 1e-6 relative). */
int cl_forward(const cl_model *m, cl_kv *kv, cl_batch *b);

#endif
