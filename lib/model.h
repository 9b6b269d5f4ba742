/* model.h — the Llama-family decoder (llama / qwen2 / qwen3) on OpenBLAS and our own kernels.
 * Weight matrices stay in the file's dtype, mapped, never copied (mat.h); norms and biases are
 * small f32 copies; activations are f32.
 *
 * One forward entry point serves every tool:
 *  - cl-ask:      one sequence, continuing a KV cache, input ids or embeddings (CEs), logits of
 *                 the last position;
 *  - cl-compress: many independent short sequences in one batch (no cache), LoRA on, final
 *                 hidden states at chosen positions;
 *  - cl-train:    per-layer hidden states at chosen positions (distillation targets), and
 *                 with a tape (tape.h) every activation its backward pass needs.
 */
#ifndef CL_MODEL_H
#define CL_MODEL_H
#include <stddef.h>
#include <stdint.h>
#include "config.h"
#include "mat.h"
#include "model_file.h"

typedef struct {
    float *attn_norm, *bq, *bk, *bv, *q_norm, *k_norm, *ffn_norm;   /* f32; bq.. NULL if absent */
    cl_mat wq, wk, wv, wo, w_gate, w_up, w_down;                     /* stored dtype */
    float *attn_post_norm, *ffn_post_norm;  /* Gemma 3 (cfg.post_norms), else NULL */
} cl_layer;

typedef struct {
    cl_config cfg;
    cl_mat tok_embd;    /* [vocab, dim] */
    float *out_norm;    /* [dim] */
    cl_mat output;      /* [vocab, dim]; the same data as tok_embd when tied */
    cl_layer *layers;
    float *rope_freqs;  /* [head_dim/2] GGUF rope_freqs.weight (cfg.rope_freqs), else NULL */
    /* RoPE inverse frequencies [head_dim/2] of the global (0) and local (1) layers and their cos/sin
     * multipliers (rope.h), computed at load; NULL in models built elsewhere (computed per call). */
    double *rope_inv[2];
    float rope_mscale[2];
    uint8_t fingerprint[32];
    void *arena;        /* owner of the f32 copies (norms, biases; every weight of a random model) */
    const cl_model_file *mf;   /* retained while the model lives: the matrices point into it */
} cl_model;

/* Matrices are views of the file's data in its dtype (an f32 tensor not 4-byte aligned in the
 * file is copied); the model holds the file open (cl_model_file_retain) until cl_model_free, so
 * the caller may close mf at once.  Vectors are f32 copies (norm gains stored as w - 1 get their
 * 1 back). */
cl_model *cl_model_load(const cl_model_file *mf);
void cl_model_free(cl_model *m);
/* A model of config c's shape with random weights (seeded; norm gains ~1, other weights uniform
 * with variance 1/(3 fan_in)): for speed measurements and tests that need no real weights. */
cl_model *cl_model_random(const cl_config *c, uint64_t seed);   /* all f32 */

/* LoRA adapter: W x  ->  W x + scale * B (A x) on the targeted projections.
 * Per layer, per target t (CL_LORA_Q..CL_LORA_DOWN): A [r, in], B [out, r]; NULL = not adapted. */
enum { CL_LORA_Q, CL_LORA_K, CL_LORA_V, CL_LORA_O, CL_LORA_GATE, CL_LORA_UP, CL_LORA_DOWN, CL_LORA_NT };
typedef struct {
    int rank;
    float scale;                       /* alpha / rank */
    float *A[/*layer*/ CL_MAX_LAYERS][CL_LORA_NT];
    float *B[CL_MAX_LAYERS][CL_LORA_NT];
} cl_lora;

/* KV cache for one sequence. */
typedef struct cl_kv cl_kv;
cl_kv *cl_kv_new(const cl_model *m, int max_pos);   /* f32: exact */
/* A cache holding K and V as dtype: CL_F32, CL_F16 or CL_BF16 (half the memory; each cached
 * value rounded once, to nearest even, when stored; prefill and decode read the same rounded
 * values).  NULL + cl_error() for other types. */
cl_kv *cl_kv_new_type(const cl_model *m, int max_pos, cl_dtype dtype);
cl_dtype cl_kv_type(const cl_kv *kv);
void cl_kv_free(cl_kv *kv);
int cl_kv_len(const cl_kv *kv);
void cl_kv_truncate(cl_kv *kv, int n);     /* forget positions >= n (reuse a prefilled prefix) */
size_t cl_kv_bytes(const cl_kv *kv);       /* bytes holding the cached positions */

typedef struct cl_tape cl_tape;   /* tape.h */

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
    cl_tape *tape;            /* optional: record the activations for a backward pass (tape.h);
                                 only without a kv cache; the batch then runs as one span */
    const int *top_from;      /* with a tape, optional: per sequence, its first row (0-based within
                                 it) whose output of the last layer is wanted; that layer computes
                                 only keys and values for the rows above (tape.h says what the tape
                                 holds then).  out_pos must be wanted rows; no logits, out_layers. */
} cl_batch;

/* Runs the batch; 0 or -1 (cl_error: bad ids, lengths, positions, cache overflow, a non-finite
 * input embedding, or an output (logits, out_final, out_layers) that is not finite: an activation
 * overflowed, e.g. a value beyond f16 in an f16 KV cache; the outputs are then not to be used).
 * "Last position" logits are those of the batch's last row.  No global state: threads may run
 * forwards on one model at once, each with its own kv (and tape).  Long batches are processed in spans
 * of 512 positions (whole sequences when kv == NULL), so memory stays bounded; results equal
 * a single pass up to float rounding (tests: 1e-6 relative). */
int cl_forward(const cl_model *m, cl_kv *kv, cl_batch *b);

#endif
