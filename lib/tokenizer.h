/* tokenizer.h — model-exact tokenizers built from the model's own data:
 *   byte-level BPE (GPT-2, SmolLM2, Qwen2/3, Llama 3 pre-tokenizer regexes, via PCRE2 UTF+UCP),
 *   SentencePiece-style BPE with the ▁ metaspace and byte fallback (Llama 2, TinyStories),
 *   merges by rank (tokenizer.json / GGUF tokenizer.ggml.merges) or by score (llama2.c, SPM GGUF).
 * Added/special tokens are matched before BPE. */
#ifndef CL_TOKENIZER_H
#define CL_TOKENIZER_H
#include <stddef.h>
#include <stdint.h>

/* Only pointers to these cross this interface (gguf.h, model_file.h). */
typedef struct cl_gguf cl_gguf;
typedef struct cl_gguf_writer cl_gguf_writer;
typedef struct cl_model_file cl_model_file;

typedef struct cl_tokenizer cl_tokenizer;

cl_tokenizer *cl_tokenizer_from_json(const char *path);            /* HF tokenizer.json */
cl_tokenizer *cl_tokenizer_from_gguf(const cl_gguf *g);             /* tokenizer.ggml.* */
cl_tokenizer *cl_tokenizer_from_llama2c(const char *path, int n_vocab);
cl_tokenizer *cl_tokenizer_from_spm(const char *path);              /* SentencePiece tokenizer.model (BPE) */
cl_tokenizer *cl_tokenizer_for_model(const cl_model_file *mf);      /* whichever the model has */
/* The tokenizer alone, no weights needed: a directory holding tokenizer.json, a tokenizer.json,
 * a GGUF file (its tokenizer.ggml.* metadata), else whatever cl_model_file_open(path) opens. */
cl_tokenizer *cl_tokenizer_for_path(const char *path);
void cl_tokenizer_free(cl_tokenizer *t);
/* Write the tokenizer as GGUF metadata (tokenizer.ggml.*, llama.cpp's keys, plus
 * tokenizer.compllm.* for what those can't say); cl_tokenizer_from_gguf reads it back to a
 * tokenizer that encodes identically.  Returns 0, or -1 for tokenizers GGUF can't express. */
int cl_tokenizer_to_gguf(const cl_tokenizer *t, cl_gguf_writer *w);
/* The same for a model whose vocabulary is n_vocab (>= the tokenizer's): ids past the
 * tokenizer's are written as unused tokens "<|compllm_pad_K|>".  -1 if n_vocab is smaller. */
int cl_tokenizer_to_gguf_padded(const cl_tokenizer *t, cl_gguf_writer *w, int n_vocab);

enum {
    CL_TOK_BOS = 1,        /* prepend BOS (when the model has one) */
    CL_TOK_SPECIAL = 2,    /* recognise special tokens written in the text (e.g. "<|im_start|>") */
    CL_TOK_EOS = 4,        /* append EOS (when the model has one) */
    CL_TOK_SKIP_SPECIAL = 8, /* decode: leave special tokens (BOS, EOS, <|im_start|>...) out */
};
/* Encode len bytes of UTF-8 (invalid bytes are encoded too, never dropped: byte-level or byte
 * fallback).  *ids is malloc'd.  Returns 0 or -1. */
int cl_tokenizer_encode(const cl_tokenizer *t, const char *text, size_t len, int flags,
                        int32_t **ids, size_t *n);
/* Bytes of one token as it appears mid-text (▁ -> space, <0xNN> -> byte, Ġ-bytes decoded).
 * Returns the byte length written (may exceed cap: then call again with a bigger buffer). */
size_t cl_tokenizer_token_bytes(const cl_tokenizer *t, int32_t id, char *buf, size_t cap);
/* Decode a whole sequence (applies the decoder's leading-space strip where the model has one).
 * *out is malloc'd and NUL-terminated. */
int cl_tokenizer_decode(const cl_tokenizer *t, const int32_t *ids, size_t n, char **out, size_t *len);
/* Same, with flags (CL_TOK_SKIP_SPECIAL).  Special tokens are otherwise rendered as their text.
 * Decoding is byte-exact: byte tokens and byte-level pieces give their bytes, even where they
 * do not form valid UTF-8 (HF would put U+FFFD there). */
int cl_tokenizer_decode_ex(const cl_tokenizer *t, const int32_t *ids, size_t n, int flags,
                           char **out, size_t *len);

int cl_tokenizer_n_vocab(const cl_tokenizer *t);
int cl_tokenizer_bos(const cl_tokenizer *t);    /* -1 if none */
int cl_tokenizer_add_bos(const cl_tokenizer *t); /* 1 if the model's own pipeline prepends BOS */
int cl_tokenizer_eos(const cl_tokenizer *t);    /* -1 if none */
const char *cl_tokenizer_piece(const cl_tokenizer *t, int32_t id);   /* vocab string */
int32_t cl_tokenizer_find(const cl_tokenizer *t, const char *piece); /* -1 if absent */
int cl_tokenizer_is_special(const cl_tokenizer *t, int32_t id);

#endif
