/* tok_load_json.c — Hugging Face tokenizer.json (model BPE), with tokenizer_config.json and
 * config.json beside it for BOS/EOS.  Supported: normalizers Prepend, Replace(String), NFC, NFKC,
 * NFD, NFKD, Sequence; pre-tokenizers ByteLevel, Digits, Split (Regex or String), Metaspace,
 * Sequence; decoders ByteLevel, Metaspace and the SentencePiece-style Sequence[Replace ▁,
 * ByteFallback, Fuse, Strip].  Anything else is refused with a message rather than tokenized
 * differently from the model. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include "tok_internal.h"
#include "util.h"

static const char *jstr(json_t *o, const char *k) {
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}
static int jbool(json_t *o, const char *k, int dflt) {
    json_t *v = json_object_get(o, k);
    return json_is_boolean(v) ? json_is_true(v) : dflt;
}

/* A "Sequence" normalizer, pre-tokenizer or decoder: each element of arr through load. */
static int each_in_sequence(cl_tokenizer *t, json_t *arr, int (*load)(cl_tokenizer *, json_t *, const char *),
                            const char *path) {
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x) if (load(t, x, path)) return -1;
    return 0;
}

static int load_normalizer(cl_tokenizer *t, json_t *n, const char *path) {
    if (!n || json_is_null(n)) return 0;
    const char *type = jstr(n, "type");
    if (!type) return cl_fail("%s: normalizer without type", path);
    if (!strcmp(type, "Sequence")) return each_in_sequence(t, json_object_get(n, "normalizers"), load_normalizer, path);
    if (!strcmp(type, "Prepend")) {
        const char *p = jstr(n, "prepend");
        if (!p) return cl_fail("%s: Prepend normalizer without prepend", path);
        return tok_add_norm(t, NORM_PREPEND, p, strlen(p), NULL, 0);
    }
    if (!strcmp(type, "Replace")) {
        const char *pat = jstr(json_object_get(n, "pattern"), "String");
        const char *content = jstr(n, "content");
        if (!pat || !content) return cl_fail("%s: Replace normalizer: only String patterns are supported", path);
        return tok_add_norm(t, NORM_REPLACE, pat, strlen(pat), content, strlen(content));
    }
    if (!strcmp(type, "NFC")) return tok_add_norm(t, NORM_NFC, NULL, 0, NULL, 0);
    if (!strcmp(type, "NFKC")) return tok_add_norm(t, NORM_NFKC, NULL, 0, NULL, 0);
    if (!strcmp(type, "NFD")) return tok_add_norm(t, NORM_NFD, NULL, 0, NULL, 0);
    if (!strcmp(type, "NFKD")) return tok_add_norm(t, NORM_NFKD, NULL, 0, NULL, 0);
    return cl_fail("%s: unsupported normalizer %s", path, type);
}

static int split_behavior(const char *b) {
    if (!b || !strcmp(b, "Isolated")) return SPLIT_ISOLATED;
    if (!strcmp(b, "Removed")) return SPLIT_REMOVED;
    if (!strcmp(b, "MergedWithPrevious")) return SPLIT_MERGED_PREV;
    if (!strcmp(b, "MergedWithNext")) return SPLIT_MERGED_NEXT;
    return -1;
}

static int load_pretok(cl_tokenizer *t, json_t *p, const char *path) {
    if (!p || json_is_null(p)) return 0;
    const char *type = jstr(p, "type");
    if (!type) return cl_fail("%s: pre_tokenizer without type", path);
    if (!strcmp(type, "Sequence")) return each_in_sequence(t, json_object_get(p, "pretokenizers"), load_pretok, path);
    if (!strcmp(type, "ByteLevel")) {
        t->byte_level = 1;
        int prefix = jbool(p, "add_prefix_space", 0);
        if (jbool(p, "use_regex", 1)) return tok_add_split(t, tok_re_gpt2, 0, SPLIT_ISOLATED, prefix);
        if (prefix) return cl_fail("%s: ByteLevel add_prefix_space without regex is not supported", path);
        return 0;
    }
    if (!strcmp(type, "Metaspace")) {
        const char *rep = jstr(p, "replacement"), *scheme = jstr(p, "prepend_scheme");
        if (rep && strcmp(rep, "\xe2\x96\x81")) return cl_fail("%s: Metaspace replacement other than U+2581", path);
        int prepend = scheme ? (!strcmp(scheme, "always") ? 1 : !strcmp(scheme, "first") ? 2 : 0) : jbool(p, "add_prefix_space", 1);
        return tok_add_metaspace(t, prepend, jbool(p, "split", 1));
    }
    if (!strcmp(type, "Digits"))
        return tok_add_split(t, jbool(p, "individual_digits", 0) ? "\\p{N}" : "\\p{N}+", 0, SPLIT_ISOLATED, 0);
    if (!strcmp(type, "Split")) {
        json_t *pat = json_object_get(p, "pattern");
        const char *re = jstr(pat, "Regex"), *lit = jstr(pat, "String");
        int beh = split_behavior(jstr(p, "behavior"));
        if ((!re && !lit) || beh < 0 || jbool(p, "invert", 0))
            return cl_fail("%s: unsupported Split pre-tokenizer (behavior %s)", path, jstr(p, "behavior"));
        return tok_add_split(t, re ? re : lit, re == NULL, beh, 0);
    }
    return cl_fail("%s: unsupported pre_tokenizer %s", path, type);
}

static int load_decoder(cl_tokenizer *t, json_t *d, const char *path) {
    if (!d || json_is_null(d)) return 0;
    const char *type = jstr(d, "type");
    if (!type) return 0;
    if (!strcmp(type, "Sequence")) return each_in_sequence(t, json_object_get(d, "decoders"), load_decoder, path);
    if (!strcmp(type, "ByteLevel")) { t->dec = TOK_DEC_BYTELEVEL; return 0; }
    if (!strcmp(type, "Metaspace")) {
        const char *rep = jstr(d, "replacement"), *scheme = jstr(d, "prepend_scheme");
        if (rep && strcmp(rep, "\xe2\x96\x81")) return cl_fail("%s: Metaspace decoder replacement other than U+2581", path);
        t->dec = TOK_DEC_SPM;
        t->dec_meta_first = scheme ? strcmp(scheme, "never") != 0 : jbool(d, "add_prefix_space", 1);
        return 0;
    }
    if (!strcmp(type, "Replace") || !strcmp(type, "ByteFallback") || !strcmp(type, "Fuse")) {
        t->dec = TOK_DEC_SPM;
        return 0;
    }
    if (!strcmp(type, "Strip")) {
        const char *c = jstr(d, "content");
        json_t *st = json_object_get(d, "start");
        if (c && !strcmp(c, " ") && json_integer_value(st) >= 1) t->strip_leading_space = 1;
        return 0;
    }
    return cl_fail("%s: unsupported decoder %s", path, type);
}

/* The name of a special token in tokenizer_config.json: a string or {"content": ...}. */
static const char *config_token(json_t *cfg, const char *key) {
    json_t *v = json_object_get(cfg, key);
    if (json_is_string(v)) return json_string_value(v);
    if (json_is_object(v)) return jstr(v, "content");
    return NULL;
}

static void load_side_configs(cl_tokenizer *t, const char *path) {
    char *dir = cl_strdup(path);
    char *slash = strrchr(dir, '/');
    if (slash) slash[1] = 0; else dir[0] = 0;
    size_t n = strlen(dir) + 32;
    char *p = cl_malloc(n);
    snprintf(p, n, "%stokenizer_config.json", dir);
    json_t *cfg = json_load_file(p, 0, NULL);
    if (cfg) {
        const char *b = config_token(cfg, "bos_token"), *e = config_token(cfg, "eos_token");
        if (b && t->bos_id < 0) t->bos_id = tok_lookup(t, b, strlen(b));
        if (e && t->eos_id < 0) t->eos_id = tok_lookup(t, e, strlen(e));
        json_t *ab = json_object_get(cfg, "add_bos_token");
        if (json_is_boolean(ab)) t->add_bos = json_is_true(ab) && t->bos_id >= 0;
        json_decref(cfg);
    }
    snprintf(p, n, "%sconfig.json", dir);
    json_t *mc = json_load_file(p, 0, NULL);
    if (mc) {
        json_t *b = json_object_get(mc, "bos_token_id"), *e = json_object_get(mc, "eos_token_id");
        if (t->bos_id < 0 && json_is_integer(b)) t->bos_id = (int)json_integer_value(b);
        if (t->eos_id < 0 && json_is_integer(e)) t->eos_id = (int)json_integer_value(e);
        if (t->eos_id < 0 && json_is_array(e) && json_is_integer(json_array_get(e, 0)))
            t->eos_id = (int)json_integer_value(json_array_get(e, 0));
        json_decref(mc);
    }
    if (t->bos_id >= t->n_vocab) t->bos_id = -1;
    if (t->eos_id >= t->n_vocab) t->eos_id = -1;
    free(p);
    free(dir);
}

static int load_merges(cl_tokenizer *t, json_t *merges, const char *path) {
    tok_pairmap_init(&t->merges, json_array_size(merges));
    size_t i;
    json_t *m;
    tok_buf cat = {0};
    json_array_foreach(merges, i, m) {
        const char *a, *b;
        size_t alen, blen;
        if (json_is_string(m)) {
            const char *s = json_string_value(m);
            const char *sp = strchr(s, ' ');
            if (!sp || strchr(sp + 1, ' ')) { free(cat.v); return cl_fail("%s: merge %zu is not \"a b\"", path, i); }
            a = s; alen = (size_t)(sp - s);
            b = sp + 1; blen = strlen(b);
        } else if (json_is_array(m) && json_array_size(m) == 2 && json_is_string(json_array_get(m, 0)) &&
                   json_is_string(json_array_get(m, 1))) {
            a = json_string_value(json_array_get(m, 0)); alen = json_string_length(json_array_get(m, 0));
            b = json_string_value(json_array_get(m, 1)); blen = json_string_length(json_array_get(m, 1));
        } else {
            free(cat.v);
            return cl_fail("%s: merge %zu is neither \"a b\" nor [a, b]", path, i);
        }
        cat.n = 0;
        tok_buf_append(&cat, a, alen);
        tok_buf_append(&cat, b, blen);
        int32_t ia = tok_lookup(t, a, alen), ib = tok_lookup(t, b, blen), ir = tok_lookup(t, cat.v, cat.n);
        if (ia < 0 || ib < 0 || ir < 0) {
            free(cat.v);
            return cl_fail("%s: merge %zu (\"%.*s\" \"%.*s\"): token not in vocab", path, i, (int)alen, a, (int)blen, b);
        }
        tok_pairmap_put(&t->merges, ia, ib, (int32_t)i, ir);
    }
    free(cat.v);
    return 0;
}

cl_tokenizer *cl_tokenizer_from_json(const char *path) {
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    if (!root) {
        cl_fail("%s: line %d: %s", path, err.line, err.text);
        return NULL;
    }
    cl_tokenizer *t = NULL;
    json_t *model = json_object_get(root, "model");
    json_t *vocab = json_object_get(model, "vocab");
    json_t *added = json_object_get(root, "added_tokens");
    const char *type = jstr(model, "type");
    if (!json_is_object(model) || !json_is_object(vocab)) {
        cl_fail("%s: no model.vocab object", path);
        goto fail;
    }
    if (type && strcmp(type, "BPE")) {
        cl_fail("%s: model type %s is not supported (only BPE)", path, type);
        goto fail;
    }
    const char *cont = jstr(model, "continuing_subword_prefix"), *eow = jstr(model, "end_of_word_suffix");
    if ((cont && *cont) || (eow && *eow)) {
        cl_fail("%s: BPE continuing_subword_prefix/end_of_word_suffix are not supported", path);
        goto fail;
    }
    /* vocab size: largest id in vocab and added_tokens, plus one */
    int64_t maxid = -1;
    const char *key;
    json_t *val;
    json_object_foreach(vocab, key, val) {
        if (!json_is_integer(val) || json_integer_value(val) < 0 || json_integer_value(val) > 10000000) {
            cl_fail("%s: vocab entry \"%s\" has a bad id", path, key);
            goto fail;
        }
        if (json_integer_value(val) > maxid) maxid = json_integer_value(val);
    }
    size_t i;
    json_t *a;
    json_array_foreach(added, i, a) {
        json_t *id = json_object_get(a, "id");
        if (!json_is_integer(id) || json_integer_value(id) < 0 || json_integer_value(id) > 10000000 ||
            !jstr(a, "content")) {
            cl_fail("%s: added_tokens[%zu] lacks a valid id or content", path, i);
            goto fail;
        }
        if (json_integer_value(id) > maxid) maxid = json_integer_value(id);
    }
    if (maxid < 0) { cl_fail("%s: empty vocab", path); goto fail; }
    t = tok_new((int)maxid + 1);
    t->algo = TOK_ALGO_BPE;
    json_object_foreach(vocab, key, val) {
        /* object keys are NUL-terminated: a piece with a NUL byte can't come from here */
        if (tok_set_piece(t, (int32_t)json_integer_value(val), key, strlen(key))) goto fail;
    }
    json_array_foreach(added, i, a) {
        const char *c = jstr(a, "content");
        if (tok_add_added(t, (int32_t)json_integer_value(json_object_get(a, "id")), c,
                          json_string_length(json_object_get(a, "content")), jbool(a, "special", 0),
                          jbool(a, "normalized", 1), jbool(a, "lstrip", 0), jbool(a, "rstrip", 0),
                          jbool(a, "single_word", 0)))
            goto fail;
    }
    tok_build_vocab(t);
    t->byte_fallback = jbool(model, "byte_fallback", 0);
    t->fuse_unk = jbool(model, "fuse_unk", 0);
    t->ignore_merges = jbool(model, "ignore_merges", 0);
    const char *unk = jstr(model, "unk_token");
    if (unk) t->unk_id = tok_lookup(t, unk, strlen(unk));
    if (load_normalizer(t, json_object_get(root, "normalizer"), path)) goto fail;
    if (load_pretok(t, json_object_get(root, "pre_tokenizer"), path)) goto fail;
    t->dec = t->byte_level ? TOK_DEC_BYTELEVEL : TOK_DEC_SPM;
    if (load_decoder(t, json_object_get(root, "decoder"), path)) goto fail;
    json_t *merges = json_object_get(model, "merges");
    if (json_is_array(merges) && load_merges(t, merges, path)) goto fail;
    /* BOS from the post-processor template: a special token before $A means the model adds it */
    json_t *pp = json_object_get(root, "post_processor");
    const char *pptype = jstr(pp, "type");
    if (pptype && !strcmp(pptype, "TemplateProcessing")) {
        json_t *single = json_object_get(pp, "single");
        json_t *first = json_object_get(json_array_get(single, 0), "SpecialToken");
        json_t *last = json_object_get(json_array_get(single, json_array_size(single) - 1), "SpecialToken");
        const char *b = jstr(first, "id");
        if (b && (t->bos_id = tok_lookup(t, b, strlen(b))) >= 0) t->add_bos = 1;
        const char *e = json_array_size(single) > 1 ? jstr(last, "id") : NULL;
        if (e && (t->eos_id = tok_lookup(t, e, strlen(e))) >= 0) t->add_eos = 1;
    }
    load_side_configs(t, path);
    if (tok_finish(t, path)) goto fail;
    json_decref(root);
    return t;
fail:
    cl_tokenizer_free(t);
    json_decref(root);
    return NULL;
}
