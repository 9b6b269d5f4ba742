/* model_file.h — one interface over the model layouts users have:
 *   a Hugging Face directory (config.json + model.safetensors or sharded + index, tokenizer.json),
 *   a GGUF file (llama — Mistral too —, qwen2, qwen3, gemma3),
 *   a llama2.c checkpoint (.bin, with tokenizer.bin or tok*.bin beside it).
 * Tensors are exposed under llama.cpp's GGUF names, whatever the layout:
 *   token_embd.weight [vocab,dim]   output_norm.weight [dim]   output.weight [vocab,dim] (absent if tied)
 *   blk.N.attn_norm.weight  blk.N.attn_q.weight [H*hd,dim]  blk.N.attn_k.weight [KV*hd,dim]
 *   blk.N.attn_v.weight  blk.N.attn_output.weight [dim,H*hd]  blk.N.attn_{q,k,v}.bias (Qwen2)
 *   blk.N.attn_q_norm.weight blk.N.attn_k_norm.weight [hd] (Qwen3, Gemma 3)  blk.N.ffn_norm.weight
 *   blk.N.post_attention_norm.weight blk.N.post_ffw_norm.weight [dim] (Gemma 3)
 *   rope_freqs.weight [hd/2] (llama.cpp's llama3 RoPE scaling)
 *   blk.N.ffn_gate.weight [ffn,dim]  blk.N.ffn_up.weight [ffn,dim]  blk.N.ffn_down.weight [dim,ffn]
 * Shapes are checked against the config at open time.  Q and K rows are always in the rotate-half
 * RoPE order of Hugging Face checkpoints: layouts that store them for interleaved RoPE (GGUF llama,
 * llama2.c) are reordered at open time (cl_rope_rows_permute), so the config's rope_interleaved is
 * always 0 here.  Likewise HF Gemma's RMSNorm gains (stored as w - 1, config norm_plus_one) are
 * presented as f32 w (norm_plus_one 0), as GGUF stores them.  So one model gives the same tensors
 * (and fingerprint, and results, bit for bit) in every layout that stores its weights in the same
 * dtype; not Llama 3 RoPE scaling (config values in HF, a rope_freqs.weight tensor in GGUF). */
#ifndef CL_MODEL_FILE_H
#define CL_MODEL_FILE_H
#include <stdint.h>
#include "config.h"
#include "gguf.h"
#include "tensor.h"

typedef enum { CL_FMT_HF = 0, CL_FMT_GGUF = 1, CL_FMT_LLAMA2C = 2 } cl_format;
typedef struct cl_model_file cl_model_file;

cl_model_file *cl_model_file_open(const char *path);   /* NULL + cl_error() */
/* Close releases one holder: the opener, or one cl_model_file_retain (a model whose weights stay
 * mapped from the file, cl_model_load).  Memory and mappings go with the last.  Not thread-safe. */
void cl_model_file_close(cl_model_file *mf);
void cl_model_file_retain(const cl_model_file *mf);
cl_format cl_model_file_format(const cl_model_file *mf);
const char *cl_model_file_path(const cl_model_file *mf);
const cl_config *cl_model_file_config(const cl_model_file *mf);
const cl_tensor *cl_model_file_tensor(const cl_model_file *mf, const char *name); /* NULL if absent */
/* Where the tokenizer lives: at most one of these is non-NULL.  GGUF: the handle (tokenizer.ggml.*
 * keys; a model made by `cl-model random` has none).  HF: <dir>/tokenizer.json when present.
 * llama2.c: <dir>/tok<n_vocab>.bin, else <dir>/tokenizer.bin, when present.  NULL for all three
 * means the layout ships no tokenizer. */
const cl_gguf *cl_model_file_gguf(const cl_model_file *mf);              /* GGUF metadata */
const char *cl_model_file_tokenizer_json(const cl_model_file *mf);       /* HF tokenizer.json path */
const char *cl_model_file_tokenizer_bin(const cl_model_file *mf);        /* llama2.c tokenizer path */
/* The chat template (tokenizer_config.json's or GGUF tokenizer.chat_template), or NULL. */
const char *cl_model_file_chat_template(const cl_model_file *mf);
/* SHA-256 over the config and every tensor's name, dtype, shape and data as presented above
 * (canonical names, rotate-half Q/K rows; data of tensors over 1 MiB sampled: first, middle and
 * last 64 KiB) — identifies "the same base model" cheaply, whatever the file layout.  A
 * conversion to another dtype (f16, bf16, q8_0) is another model and gets another fingerprint. */
void cl_model_file_fingerprint(const cl_model_file *mf, uint8_t out[32]);

/* Reorder the rows of a Q or K tensor ([heads * hd] rows of row_bytes bytes each: a projection's
 * weight, a bias, a q/k norm gain with heads 1), head by head, between RoPE's two layouts:
 * to_interleaved: rotate-half (row j*hd/2 + i of a head) -> pairs (row 2i + j), as llama.cpp's
 * converter does for GGUF llama; else the way back.  dst and src do not overlap. */
void cl_rope_rows_permute(void *dst, const void *src, int64_t rows, int heads, size_t row_bytes, int to_interleaved);

/* 1 when the file stores Q/K rows for interleaved RoPE (reordered at open time, see above). */
int cl_model_file_rope_stored_interleaved(const cl_model_file *mf);

/* Every tensor, sorted by name (i in 0..n-1). */
int cl_model_file_n_tensors(const cl_model_file *mf);
const cl_tensor *cl_model_file_tensor_at(const cl_model_file *mf, int i);
const char *cl_format_name(cl_format f);   /* "hf", "gguf", "llama2c" */

/* Parse a Hugging Face config.json (Llama, Mistral, Qwen2, Qwen3, Gemma 3) into c
 * (rope_interleaved = 0); keys that change the maths and are not implemented are errors. */
int cl_hf_config_load(const char *path, cl_config *c);
/* generation_config.json: its eos_token_id (an id or a list) joins c's stop ids. */
int cl_hf_generation_config_load(const char *path, cl_config *c);
/* Write the config as GGUF metadata (general.architecture, <arch>.*, tokenizer.ggml.bos/eos ids). */
void cl_gguf_set_config(cl_gguf_writer *w, const cl_config *c);

/* Default model when --model is not given: $CL_MODEL, else ../shared/models/tinystories-656k
 * relative to the executable's repo, else NULL. */
const char *cl_default_model_path(void);
/* ../shared/REL next to the executable's repo (tried from each of its ancestors), or NULL. */
const char *cl_shared_file(const char *rel);

#endif
