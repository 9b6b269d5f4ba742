/* tok_load_gguf.c — tokenizer.ggml.* metadata (llama.cpp's keys) in and out.
 *   model "gpt2":  byte-level BPE; tokens + merges; tokenizer.ggml.pre names the pre-tokenizer.
 *   model "llama": SentencePiece; tokens + scores + token_type, merged by score, ▁ prefix
 *                  (tokenizer.ggml.add_space_prefix), <0xNN> byte fallback.
 *                  With tokenizer.ggml.merges present (what we write for tokenizer.json BPE models
 *                  with the ▁ normalizer, e.g. TinyStories) merges go by rank instead, as HF does;
 *                  llama.cpp ignores those merges and uses the scores, which we set to -rank.
 * Token types: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte.
 * Keys under tokenizer.compllm.* carry what llama.cpp's keys cannot say (HF added-token flags,
 * fuse_unk, pre-tokenizer regexes that have no llama.cpp name); a reader that ignores them still
 * gets a working tokenizer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tok_internal.h"
#include "util.h"

enum { TT_NORMAL = 1, TT_UNKNOWN = 2, TT_CONTROL = 3, TT_USER = 4, TT_UNUSED = 5, TT_BYTE = 6 };
/* tokenizer.compllm.token_flags bits */
enum { TF_ADDED = 1, TF_SPECIAL = 2, TF_NORMALIZED = 4, TF_LSTRIP = 8, TF_RSTRIP = 16, TF_SINGLE_WORD = 32 };

static int get_bool(const cl_gguf *g, const char *key, int dflt) {
    int v;
    if (cl_gguf_find(g, key) < 0 || cl_gguf_get_bool(g, key, &v)) return dflt;
    return v;
}
static int get_id(const cl_gguf *g, const char *key) {
    int64_t v;
    if (cl_gguf_find(g, key) < 0 || cl_gguf_get_i64(g, key, &v) || v < 0 || v > INT32_MAX) return -1;
    return (int)v;
}
/* a numeric array of n elements of the given type, or NULL */
static const void *get_arr(const cl_gguf *g, const char *key, int type, uint64_t n) {
    int et;
    uint64_t m;
    const void *d;
    if (cl_gguf_find(g, key) < 0 || cl_gguf_get_arr(g, key, &et, &m, &d) || et != type || m != n) return NULL;
    return d;
}

cl_tokenizer *cl_tokenizer_from_gguf(const cl_gguf *g) {
    const char *model = cl_gguf_get_str(g, "tokenizer.ggml.model");
    if (!model) { cl_fail("GGUF: tokenizer.ggml.model missing"); return NULL; }
    int spm = !strcmp(model, "llama");
    if (!spm && strcmp(model, "gpt2")) { cl_fail("GGUF: tokenizer model '%s' not supported (gpt2, llama are)", model); return NULL; }
    int et;
    uint64_t n;
    const void *d;
    if (cl_gguf_get_arr(g, "tokenizer.ggml.tokens", &et, &n, &d) || et != GGUF_STRING || n == 0 || n > (1u << 24)) {
        cl_fail("GGUF: tokenizer.ggml.tokens missing or not a non-empty string array");
        return NULL;
    }
    cl_tokenizer *t = tok_new((int)n);
    for (uint64_t i = 0; i < n; i++) {
        size_t len;
        const char *s = cl_gguf_arr_str(g, "tokenizer.ggml.tokens", i, &len);
        if (!s || tok_set_piece(t, (int32_t)i, s, len)) goto fail;
    }
    const int32_t *types = get_arr(g, "tokenizer.ggml.token_type", GGUF_INT32, n);
    const float *scores = get_arr(g, "tokenizer.ggml.scores", GGUF_FLOAT32, n);
    const int32_t *flags = get_arr(g, "tokenizer.compllm.token_flags", GGUF_INT32, n);
    t->bos_id = get_id(g, "tokenizer.ggml.bos_token_id");
    t->eos_id = get_id(g, "tokenizer.ggml.eos_token_id");
    t->unk_id = get_id(g, "tokenizer.ggml.unknown_token_id");
    t->add_bos = get_bool(g, "tokenizer.ggml.add_bos_token", spm) && t->bos_id >= 0;
    t->add_eos = get_bool(g, "tokenizer.ggml.add_eos_token", 0) && t->eos_id >= 0;
    for (uint64_t i = 0; i < n; i++) {
        int32_t id = (int32_t)i;
        int tt = types ? types[i] : TT_NORMAL;
        if (tt == TT_UNKNOWN && t->unk_id < 0) t->unk_id = id;
        if (tt == TT_UNUSED) t->attr[id] |= TOK_ATTR_UNUSED;
        int f = flags ? flags[i] : 0;
        if (flags ? (f & TF_ADDED) : (tt == TT_CONTROL || tt == TT_USER || tt == TT_UNKNOWN)) {
            int special = flags ? !!(f & TF_SPECIAL) : tt != TT_USER;
            if (tok_add_added(t, id, t->piece[id], t->piece_len[id], special, !!(f & TF_NORMALIZED),
                              !!(f & TF_LSTRIP), !!(f & TF_RSTRIP), !!(f & TF_SINGLE_WORD)))
                goto fail;
        }
    }
    tok_build_vocab(t);
    uint64_t nm = 0;
    int has_merges = cl_gguf_find(g, "tokenizer.ggml.merges") >= 0 &&
                     cl_gguf_get_arr(g, "tokenizer.ggml.merges", &et, &nm, &d) == 0 && et == GGUF_STRING;
    if (spm) {
        if (tok_set_spm_defaults(t, get_bool(g, "tokenizer.ggml.add_space_prefix", 1))) goto fail;
        t->byte_fallback = 1;
        t->fuse_unk = get_bool(g, "tokenizer.compllm.fuse_unk", 0);
        if (!has_merges) {
            t->algo = TOK_ALGO_SPM;
            t->score = cl_calloc(n, sizeof *t->score);
            if (scores) memcpy(t->score, scores, n * sizeof *t->score);
        }
    } else {
        t->byte_level = 1;
        t->dec = TOK_DEC_BYTELEVEL;
        if (!has_merges) { cl_fail("GGUF: gpt2 tokenizer without tokenizer.ggml.merges"); goto fail; }
        uint64_t nre = 0;
        if (cl_gguf_find(g, "tokenizer.compllm.pre_regex") >= 0 &&
            cl_gguf_get_arr(g, "tokenizer.compllm.pre_regex", &et, &nre, &d) == 0 && et == GGUF_STRING) {
            for (uint64_t i = 0; i < nre; i++)
                if (tok_add_split(t, cl_gguf_arr_str(g, "tokenizer.compllm.pre_regex", i, NULL), 0, SPLIT_ISOLATED, 0))
                    goto fail;
        } else {
            const char *pre = cl_gguf_find(g, "tokenizer.ggml.pre") >= 0 ? cl_gguf_get_str(g, "tokenizer.ggml.pre") : NULL;
            if (tok_set_pre(t, pre)) goto fail;
            if (pre && !strcmp(pre, "llama-bpe")) t->ignore_merges = 1;   /* as llama.cpp does */
        }
        t->ignore_merges = get_bool(g, "tokenizer.compllm.ignore_merges", t->ignore_merges);
        if (get_bool(g, "tokenizer.compllm.nfc", 0) && tok_add_norm(t, NORM_NFC, NULL, 0, NULL, 0)) goto fail;
    }
    if (has_merges) {
        tok_pairmap_init(&t->merges, nm);
        tok_buf cat = {0};
        for (uint64_t i = 0; i < nm; i++) {
            size_t len;
            const char *m = cl_gguf_arr_str(g, "tokenizer.ggml.merges", i, &len);
            const char *sp = m && len > 1 ? memchr(m + 1, ' ', len - 1) : NULL;   /* as llama.cpp: find(' ', 1) */
            if (!sp) { free(cat.v); cl_fail("GGUF: tokenizer.ggml.merges[%llu] is not \"a b\"", (unsigned long long)i); goto fail; }
            size_t alen = (size_t)(sp - m), blen = len - alen - 1;
            cat.n = 0;
            tok_buf_append(&cat, m, alen);
            tok_buf_append(&cat, sp + 1, blen);
            int32_t a = tok_lookup(t, m, alen), b = tok_lookup(t, sp + 1, blen), r = tok_lookup(t, cat.v, cat.n);
            if (a < 0 || b < 0 || r < 0) {
                free(cat.v);
                cl_fail("GGUF: tokenizer.ggml.merges[%llu] (\"%.*s\"): token not in vocab", (unsigned long long)i, (int)len, m);
                goto fail;
            }
            tok_pairmap_put(&t->merges, a, b, (int32_t)i, r);
        }
        free(cat.v);
    }
    if (tok_finish(t, "GGUF")) goto fail;
    return t;
fail:
    cl_tokenizer_free(t);
    return NULL;
}

/* ---------------- export ---------------- */

static int same_regexes(const cl_tokenizer *t, const char *const *re, int n) {
    if (t->n_split != n) return 0;
    for (int i = 0; i < n; i++)
        if (strcmp(t->split_src[i], re[i]) || t->split[i].behavior != SPLIT_ISOLATED || t->split[i].prefix_space)
            return 0;
    return 1;
}

static int cmp_rank(const void *a, const void *b) {
    int32_t x = ((const int32_t *)a)[0], y = ((const int32_t *)b)[0];
    return (x > y) - (x < y);
}

int cl_tokenizer_to_gguf(const cl_tokenizer *t, cl_gguf_writer *w) { return cl_tokenizer_to_gguf_padded(t, w, 0); }

int cl_tokenizer_to_gguf_padded(const cl_tokenizer *t, cl_gguf_writer *w, int n_vocab) {
    static const char meta[] = "\xe2\x96\x81";
    int spm = t->dec == TOK_DEC_SPM;
    /* what the normalizer must be for each model kind */
    int prefix = 0;
    if (spm) {
        int k = 0;
        if (k < t->n_norm && t->norm[k].kind == NORM_PREPEND && t->norm[k].alen == 3 && !memcmp(t->norm[k].a, meta, 3))
            prefix = 1, k++;
        if (!(k + 1 == t->n_norm && t->norm[k].kind == NORM_REPLACE && t->norm[k].alen == 1 &&
              t->norm[k].a[0] == ' ' && t->norm[k].blen == 3 && !memcmp(t->norm[k].b, meta, 3)))
            return cl_fail("to GGUF: only the SentencePiece normalizer (Prepend ▁, Replace ' ' -> ▁) can be written");
        if (t->n_split) return cl_fail("to GGUF: a SentencePiece tokenizer with a pre-tokenizer can't be written");
        if (prefix != t->strip_leading_space) return cl_fail("to GGUF: decoder Strip without Prepend can't be written");
    } else {
        if (!t->byte_level || t->n_norm > 1 || (t->n_norm == 1 && t->norm[0].kind != NORM_NFC))
            return cl_fail("to GGUF: byte-level tokenizers with a normalizer other than NFC can't be written");
    }
    int n = t->n_vocab, N = n_vocab > n ? n_vocab : n;
    if (n_vocab > 0 && n_vocab < n)
        return cl_fail("to GGUF: a vocabulary of %d is smaller than the tokenizer's %d tokens", n_vocab, n);
    for (int i = 0; i < n; i++)
        if (!t->piece[i] || strlen(t->piece[i]) != t->piece_len[i])
            return cl_fail("to GGUF: token %d is missing or holds a NUL byte", i);
    cl_gguf_set_str(w, "tokenizer.ggml.model", spm ? "llama" : "gpt2");
    /* padding: unused tokens "<|compllm_pad_K|>" after the tokenizer's own */
    char **pieces = cl_malloc((size_t)N * sizeof *pieces);
    for (int i = 0; i < N; i++) {
        if (i < n) {
            pieces[i] = t->piece[i];
        } else {
            pieces[i] = cl_malloc(32);
            snprintf(pieces[i], 32, "<|compllm_pad_%d|>", i - n);
        }
    }
    cl_gguf_set_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)pieces, (uint64_t)N);
    for (int i = n; i < N; i++) free(pieces[i]);
    free(pieces);
    int32_t *types = cl_malloc((size_t)N * sizeof *types), *flags = cl_calloc((size_t)N, sizeof *flags);
    for (int i = n; i < N; i++) types[i] = TT_UNUSED;
    for (int i = 0; i < n; i++) {
        uint8_t a = t->attr[i];
        types[i] = i == t->unk_id ? TT_UNKNOWN : (a & TOK_ATTR_SPECIAL) ? TT_CONTROL : (a & TOK_ATTR_ADDED) ? TT_USER
                 : (a & TOK_ATTR_UNUSED) ? TT_UNUSED : (spm && (a & TOK_ATTR_BYTE)) ? TT_BYTE : TT_NORMAL;
    }
    for (int k = 0; k < t->n_added; k++) {
        const tok_added *ad = &t->added[k];
        flags[ad->id] = TF_ADDED | (ad->special ? TF_SPECIAL : 0) | (ad->normalized ? TF_NORMALIZED : 0) |
                        (ad->lstrip ? TF_LSTRIP : 0) | (ad->rstrip ? TF_RSTRIP : 0) | (ad->single_word ? TF_SINGLE_WORD : 0);
    }
    cl_gguf_set_arr_i32(w, "tokenizer.ggml.token_type", types, (uint64_t)N);
    cl_gguf_set_arr_i32(w, "tokenizer.compllm.token_flags", flags, (uint64_t)N);
    free(types);
    free(flags);
    float *scores = cl_calloc((size_t)N, sizeof *scores);
    if (t->algo == TOK_ALGO_SPM) memcpy(scores, t->score, (size_t)n * sizeof *scores);
    if (t->algo == TOK_ALGO_BPE && t->merges.key) {
        /* merges in rank order: (rank, left, right, result) */
        int32_t (*m)[4] = cl_malloc((size_t)t->merges.n * sizeof *m + 1);
        size_t nm = 0;
        for (uint32_t i = 0; i <= t->merges.mask; i++) {
            if (t->merges.key[i] == UINT64_MAX) continue;
            m[nm][0] = t->merges.rank[i];
            m[nm][1] = (int32_t)(t->merges.key[i] >> 32);
            m[nm][2] = (int32_t)(uint32_t)t->merges.key[i];
            m[nm][3] = t->merges.result[i];
            nm++;
        }
        qsort(m, nm, sizeof *m, cmp_rank);
        char **ms = cl_malloc(nm * sizeof *ms + 1);
        for (size_t i = 0; i < nm; i++) {
            size_t la = t->piece_len[m[i][1]], lb = t->piece_len[m[i][2]];
            ms[i] = cl_malloc(la + lb + 2);
            memcpy(ms[i], t->piece[m[i][1]], la);
            ms[i][la] = ' ';
            memcpy(ms[i] + la + 1, t->piece[m[i][2]], lb);
            ms[i][la + lb + 1] = 0;
            if (scores[m[i][3]] == 0) scores[m[i][3]] = -(float)(i + 1);   /* llama.cpp merges by score */
        }
        cl_gguf_set_arr_str(w, "tokenizer.ggml.merges", (const char *const *)ms, nm);
        for (size_t i = 0; i < nm; i++) free(ms[i]);
        free(ms);
        free(m);
    }
    if (spm) cl_gguf_set_arr_f32(w, "tokenizer.ggml.scores", scores, (uint64_t)N);
    free(scores);
    if (t->bos_id >= 0) cl_gguf_set_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)t->bos_id);
    if (t->eos_id >= 0) cl_gguf_set_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)t->eos_id);
    if (t->unk_id >= 0) cl_gguf_set_u32(w, "tokenizer.ggml.unknown_token_id", (uint32_t)t->unk_id);
    cl_gguf_set_bool(w, "tokenizer.ggml.add_bos_token", t->add_bos);
    cl_gguf_set_bool(w, "tokenizer.ggml.add_eos_token", t->add_eos);
    if (spm) {
        cl_gguf_set_bool(w, "tokenizer.ggml.add_space_prefix", prefix);
        cl_gguf_set_bool(w, "tokenizer.compllm.fuse_unk", t->fuse_unk);
    } else {
        const char *const gpt2[] = {tok_re_gpt2}, *const llama3[] = {tok_re_llama3},
                                 *const qwen2[] = {tok_re_qwen2}, *const smollm[] = {"\\p{N}", tok_re_gpt2};
        const char *pre = same_regexes(t, gpt2, 1) ? "gpt2" : same_regexes(t, smollm, 2) ? "smollm"
                        : same_regexes(t, llama3, 1) ? "llama-bpe" : same_regexes(t, qwen2, 1) ? "qwen2" : NULL;
        if (pre) {
            cl_gguf_set_str(w, "tokenizer.ggml.pre", pre);
        } else {
            for (int i = 0; i < t->n_split; i++)
                if (t->split[i].behavior != SPLIT_ISOLATED || t->split[i].prefix_space)
                    return cl_fail("to GGUF: pre-tokenizer step %d is not a plain isolating regex", i);
            cl_gguf_set_str(w, "tokenizer.ggml.pre", "default");
            cl_gguf_set_arr_str(w, "tokenizer.compllm.pre_regex", (const char *const *)t->split_src, (uint64_t)t->n_split);
        }
        cl_gguf_set_bool(w, "tokenizer.compllm.ignore_merges", t->ignore_merges);
        cl_gguf_set_bool(w, "tokenizer.compllm.nfc", t->n_norm == 1);
    }
    return 0;
}
