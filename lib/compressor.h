/* compressor.h — CompLLM's segment compressor: the base model + a LoRA adapter + one linear
 * layer D->D.
 *
 * A segment of n <= S tokens gets P = ceil(n/C) placeholders appended (the EOS token, as in the
 * paper; no BOS is prepended); the LoRA-adapted model runs over the segment alone and the final
 * hidden states (after the final RMSNorm) at the placeholder positions, through the linear layer
 * (y = W h + b), are the segment's P concept embeddings.  Segments never see each other, which is
 * what makes their CEs reusable in any document and position.
 *
 * File: a GGUF (general.architecture "compllm-compressor") holding
 *   compllm.version u32 (1), compllm.base_fingerprint str (hex SHA-256, cl_model_file_fingerprint),
 *   compllm.rate u32 (C), compllm.max_segment u32 (S), compllm.dim u32, compllm.n_layers u32,
 *   compllm.q_dim u32, compllm.kv_dim u32, compllm.ffn_dim u32 (the projections' sizes),
 *   compllm.lora.rank u32, compllm.lora.alpha f32, compllm.lora.targets [str] (q,k,v,o,gate,up,down)
 * and the F32 tensors blk.N.<proj>.lora_a [r, in], blk.N.<proj>.lora_b [out, r] for each targeted
 * projection (<proj> as in model_file.h: attn_q attn_k attn_v attn_output ffn_gate ffn_up
 * ffn_down), proj.weight [D, D] (out, in) and proj.bias [D]. */
#ifndef CL_COMPRESSOR_H
#define CL_COMPRESSOR_H
#include <stddef.h>
#include <stdint.h>
#include "model.h"

#define CL_COMPRESSOR_VERSION 1

typedef struct {
    int rate;            /* C: tokens per concept embedding */
    int max_seg;         /* S: longest segment, in tokens */
    int rank;            /* LoRA rank r (0: no adapter) */
    float alpha;         /* LoRA alpha; scale = alpha / rank */
    unsigned targets;    /* bit (1u << CL_LORA_Q ...) set for each adapted projection */
    int dim, n_layers;
    int q_dim, kv_dim, ffn_dim;  /* n_heads*head_dim, n_kv_heads*head_dim, FFN width: LoRA shapes */
    uint8_t base_fp[32]; /* the base model it belongs to */
    uint8_t fp[32];      /* of this compressor: settings and every parameter (cl_compressor_refresh_fp) */
    cl_lora *lora;       /* NULL when rank == 0 or no targets */
    float *proj_w;       /* [dim, dim], (out, in) */
    float *proj_b;       /* [dim] */
    /* Every trainable parameter, contiguous: the LoRA A and B matrices (layer by layer, targets
     * in CL_LORA_* order, A before B), then proj_w, then proj_b.  lora/proj_* point into it. */
    float *params;
    size_t n_params;
} cl_compressor;

/* Input and output widths of LoRA target t (CL_LORA_*). */
void cl_compressor_lora_dims(const cl_compressor *c, int t, int *in, int *out);
/* The parameter layout: points lora (rank, scale, A/B of every target; NULL: skipped), *w and *b
 * into base as c->params is laid out, and returns the floats it spans (c->n_params).  base NULL:
 * only count.  Training lays its gradients out the same way. */
size_t cl_compressor_layout(const cl_compressor *c, float *base, cl_lora *lora, float **w, float **b);

/* Parse "q,k,v,o" (also gate, up, down; "all", "attn", "mlp"; "none" or "") into a target mask. */
int cl_compressor_parse_targets(const char *s, unsigned *mask);
/* "q,k,v,o" for a mask (static buffer). */
const char *cl_compressor_targets_str(unsigned mask);

/* A fresh compressor: LoRA A uniform in +-1/sqrt(in) (PEFT's default, from seed), B = 0, linear =
 * identity, bias 0.  It computes exactly the final-norm hidden states at the placeholders. */
cl_compressor *cl_compressor_new_init(const cl_model *m, int C, int S, int rank, float alpha,
                                      unsigned targets, uint64_t seed);
/* Load; checks its settings and tensor shapes, and when m is not NULL that it was made for m
 * (base fingerprint and shapes).  Errors name the file.  The model-free load (m NULL) is for
 * inspection; cl_compress checks the model again. */
cl_compressor *cl_compressor_load(const char *path, const cl_model *m);
int cl_compressor_save(const cl_compressor *c, const char *path);   /* atomic */
void cl_compressor_free(cl_compressor *c);
/* A copy of c with LoRA rank `rank` >= c->rank (cl-train --init F --rank R): every A keeps c's
 * rows and gets rank - c->rank fresh ones (as cl_compressor_new_init draws them, from seed), every
 * B keeps c's columns and gets zero ones, the linear layer is c's, and alpha becomes
 * alpha * rank / c->rank so that the scale alpha / rank stays c's exactly: the copy computes what
 * c computes (cl_compress: bit for bit) until training moves the new columns of B.  NULL
 * (cl_error) when c has no adapter, rank < c->rank, or the scale would not be exact. */
cl_compressor *cl_compressor_grow_rank(const cl_compressor *c, int rank, uint64_t seed);
/* A copy of c (settings, parameters, fingerprints); NULL only if memory runs out (cl_malloc dies). */
cl_compressor *cl_compressor_clone(const cl_compressor *c);
/* Recompute c->fp after the parameters changed (training). Load/new/save keep it current. */
void cl_compressor_refresh_fp(cl_compressor *c);

/* Concept embeddings of a segment of n tokens: ceil(n / C). */
static inline int cl_compress_n_out(int n, int C) { return (n + C - 1) / C; }

/* Compress n_seg segments in batched forward passes.  out receives, segment after segment,
 * cl_compress_n_out(n_ids[i], C) vectors of dim floats each.  Every segment must have
 * 1..S tokens.  A segment's result is a pure function of (model, compressor, its ids) on a given
 * build and CPU, bit for bit: it does not depend on the other segments in the batch, its place
 * among them, the thread count, or which BLAS kernel the machine has, because every product runs
 * in cl_gemm_fixed's fixed order (gemm_fixed.h).  The batch is split over
 * openblas_get_num_threads() threads of our own.  Reentrant. */
int cl_compress(const cl_model *m, const cl_compressor *c, int n_seg, const int32_t *const *ids,
                const int *n_ids, float *out);

/* The naive baseline: vector j of a segment is the mean of token embeddings jC .. jC+C-1 (fewer
 * for the last one).  Its fingerprint (for CE files and the cache) is SHA-256 of
 * "compllm naive-mean v1", the base model's fingerprint and C as little-endian u32. */
int cl_compress_naive(const cl_model *m, int C, int n_seg, const int32_t *const *ids, const int *n_ids,
                      float *out);
void cl_naive_fingerprint(const cl_model *m, int C, uint8_t out[32]);

#endif
