/* tok_internal.h — the tokenizer's data, shared by the tok_*.c files (not a public interface).
 *
 * One pipeline serves every supported tokenizer, the same as Hugging Face tokenizers runs it:
 *   1. added tokens whose "normalized" flag is false are cut out of the raw text;
 *   2. each remaining piece is normalized (Prepend, Replace, ...), then added tokens with
 *      normalized=true are cut out of it (their patterns normalized the same way);
 *   3. each remaining piece is pre-tokenized (regex splits), and each pre-token is encoded by the
 *      model: BPE merges by rank (HF/GGUF "gpt2"), or by score (SentencePiece, llama2.c).
 * Byte-level tokenizers run BPE on raw bytes: the GPT-2 byte<->unicode mapping is undone at load
 * time, so merges are looked up as pairs of token ids, never as strings. */
#ifndef CL_TOK_INTERNAL_H
#define CL_TOK_INTERNAL_H
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stddef.h>
#include <stdint.h>
#include "tokenizer.h"

enum { TOK_ALGO_BPE = 0, TOK_ALGO_SPM = 1 };          /* merges by rank / by piece score */
enum { TOK_DEC_BYTELEVEL = 0, TOK_DEC_SPM = 1 };        /* how token_bytes are made */
enum { TOK_ATTR_SPECIAL = 1, TOK_ATTR_ADDED = 2, TOK_ATTR_BYTE = 4, TOK_ATTR_UNUSED = 8 };

/* string -> id hash (open addressing over ids; the strings live in the vocab) */
typedef struct { int32_t *slot; uint32_t mask; } tok_strmap;
/* (left id, right id) -> (rank, merged id) */
typedef struct { uint64_t *key; int32_t *rank, *result; uint32_t mask, n; } tok_pairmap;

typedef enum { NORM_PREPEND, NORM_REPLACE, NORM_NFC, NORM_NFKC, NORM_NFD, NORM_NFKD } tok_norm_kind;
typedef struct { tok_norm_kind kind; char *a, *b; size_t alen, blen; } tok_norm;

enum { SPLIT_ISOLATED = 0, SPLIT_REMOVED = 1, SPLIT_MERGED_PREV = 2, SPLIT_MERGED_NEXT = 3,
       SPLIT_CONTIGUOUS = 4 };
typedef struct {
    pcre2_code *re;
    int behavior;
    int prefix_space;   /* ByteLevel add_prefix_space: piece gets a leading ' ' if it lacks one */
    int meta;           /* Metaspace step: ' ' -> ▁, then prepend ▁ (meta_prepend), then split if re */
    int meta_prepend;   /* 0 never, 1 always, 2 first piece of the text only */
} tok_split;

typedef struct {
    int32_t id;
    char *raw;  size_t raw_len;     /* content as written */
    char *pat;  size_t pat_len;     /* what is matched: content, normalized when normalized=1 */
    uint8_t special, normalized, lstrip, rstrip, single_word;
} tok_added;

#define TOK_MAX_NORM 8
#define TOK_MAX_SPLIT 8
struct cl_tokenizer {
    int n_vocab;
    char **piece;  uint32_t *piece_len;     /* vocab strings as the model stores them */
    char **bytes;  uint32_t *bytes_len;     /* decoded bytes of each token (token_bytes) */
    uint8_t *attr;
    float *score;                           /* SPM piece scores (NULL for rank BPE) */
    tok_strmap vocab;

    int algo, dec, byte_level;
    tok_pairmap merges;
    tok_pairmap bigrams;       /* non-byte-level: adjacent code point pairs inside any vocab piece */
    int32_t byte_token[256];   /* byte-level: token of each byte; SPM: <0xNN> token or -1 */
    int unk_id, bos_id, eos_id, add_bos, add_eos;
    int byte_fallback, fuse_unk, ignore_merges;
    int strip_leading_space;   /* decoder drops one leading space of the whole output */
    int dec_meta_first;        /* Metaspace decoder: the first token loses all its ▁ */

    int n_norm; tok_norm norm[TOK_MAX_NORM];
    int n_split; tok_split split[TOK_MAX_SPLIT];
    char *pre_name;            /* GGUF tokenizer.ggml.pre name, when known */
    char **split_src;          /* regex source of each split (for GGUF export) */

    int n_added; tok_added *added;
    int has_raw_added, has_norm_added;
    uint8_t added_first[256];  /* bit (2*normalized + special): some pattern starts with this byte */
};

/* tok_unicode.c: out = the NFC/NFKC/NFD/NFKD form of s (invalid bytes kept as they are) */
typedef struct { char *v; size_t n, cap; } tok_buf;
int tok_unorm(int form, const char *s, size_t n, tok_buf *out);
int tok_is_word_char(uint32_t cp);   /* Rust regex \w (HF single_word) */

/* tokenizer.c */
cl_tokenizer *tok_new(int n_vocab);
int tok_set_piece(cl_tokenizer *t, int32_t id, const char *s, size_t len);
/* After pieces, attrs, model kind and added tokens are set: builds the vocab map, token bytes,
 * byte tables and normalized added-token patterns.  Returns 0 or -1. */
int tok_finish(cl_tokenizer *t, const char *src);
int32_t tok_lookup(const cl_tokenizer *t, const char *s, size_t len);
void tok_build_vocab(cl_tokenizer *t);   /* (re)builds the piece -> id map */
int tok_add_added(cl_tokenizer *t, int32_t id, const char *content, size_t len, int special,
                  int normalized, int lstrip, int rstrip, int single_word);
int tok_add_norm(cl_tokenizer *t, tok_norm_kind kind, const char *a, size_t alen,
                 const char *b, size_t blen);
int tok_set_spm_defaults(cl_tokenizer *t, int add_space_prefix);

/* tok_bpe.c */
void tok_build_bigrams(cl_tokenizer *t);
int tok_pairmap_init(tok_pairmap *m, size_t n);
void tok_pairmap_free(tok_pairmap *m);
int tok_pairmap_put(tok_pairmap *m, int32_t a, int32_t b, int32_t rank, int32_t result);
int tok_pairmap_get(const tok_pairmap *m, int32_t a, int32_t b, int32_t *rank, int32_t *result);
typedef struct { int32_t *v; size_t n, cap; } tok_ids;
void tok_ids_push(tok_ids *ids, int32_t id);
/* Encode one pre-token (bytes s[0..n)) with the model, appending ids. */
typedef struct tok_scratch tok_scratch;
tok_scratch *tok_scratch_new(void);
void tok_scratch_free(tok_scratch *s);
void tok_model_encode(const cl_tokenizer *t, tok_scratch *sc, const char *s, size_t n, tok_ids *out);

/* tok_pretok.c */
extern const uint16_t tok_byte_to_cp[256];     /* GPT-2 byte -> code point */
int tok_cp_to_byte(uint32_t cp);               /* inverse, -1 if cp is not a mapped byte */
int tok_add_split(cl_tokenizer *t, const char *pattern, int literal, int behavior, int prefix_space);
int tok_add_metaspace(cl_tokenizer *t, int prepend, int split);
/* Named pre-tokenizers of GGUF tokenizer.ggml.pre; returns 0, or -1 if the name is unknown. */
int tok_set_pre(cl_tokenizer *t, const char *name);
extern const char *const tok_re_gpt2, *const tok_re_llama3, *const tok_re_qwen2;
typedef struct { size_t off, len; } tok_span;
typedef struct { tok_span *v; size_t n, cap; } tok_spans;
/* Splits every span of *in (offsets into buf) by the tokenizer's pre-tokenizer steps.  first:
 * the first span starts the original text (Metaspace prepend_scheme "first"). */
int tok_pretokenize(const cl_tokenizer *t, tok_buf *buf, tok_spans *in, tok_spans *tmp, int first);
void tok_buf_append(tok_buf *b, const void *p, size_t n);
void tok_spans_push(tok_spans *s, size_t off, size_t len);

#endif
