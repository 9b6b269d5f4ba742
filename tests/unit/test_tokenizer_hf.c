/* test_tokenizer_hf.c — differential test against Hugging Face's own tokenizers (the Rust
 * implementation through its official Node binding, npm package `tokenizers`, installed into
 * tests/ref/node_modules by .ci/run).  tests/ref/gen_strings.mjs makes thousands of random and
 * adversarial strings (fixed seed); tests/ref/hf_tokenize.mjs encodes them with HF (added tokens
 * recognised, no BOS); every string's ids must equal ours (CL_TOK_SPECIAL, as HF always splits
 * added tokens).  Where HF's ids contain no added token and HF's decode has no U+FFFD, our
 * decode of those ids must equal HF's decode too.  Skips when node or the package is absent. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include "t.h"
#include "tokenizer.h"
#include "util.h"

#define SEED "20251125"
#define COUNT "5000"

static int sh(const char *cmd) {
    int rc = system(cmd);
    return rc == 0 ? 0 : -1;
}

static void compare_path(const char *name, const char *path, const char *strings);
static void compare(const char *name, const char *tok_json, const char *strings) {
    const char *path = t_shared(tok_json);
    if (!path) { SKIP("%s: %s missing", name, tok_json); return; }
    compare_path(name, path, strings);
}

/* Shared vocabularies under other pipelines (no Qwen, Llama 3 or Mistral tokenizer is in
 * ../shared): patch replaces top-level keys of the base tokenizer.json (JSON text), e.g. the
 * Llama 3 and Qwen2 split regexes, NFC, ByteLevel add_prefix_space, Metaspace.  Written to
 * tests/tmp and checked against HF like the real ones. */
static void compare_variant(const char *name, const char *base_rel, const char *patch, int ignore_merges,
                            int strip_flags, const char *strings) {
    const char *base = t_shared(base_rel);
    if (!base) { SKIP("%s: %s missing", name, base_rel); return; }
    json_t *root = json_load_file(base, 0, NULL);
    json_error_t err;
    json_t *p = json_loads(patch, 0, &err);
    if (!OK(root && p, "%s: read %s, patch %s", name, base, p ? "" : err.text)) { json_decref(root); json_decref(p); return; }
    json_object_update(root, p);
    json_decref(p);
    json_object_set_new(json_object_get(root, "model"), "ignore_merges", json_boolean(ignore_merges));
    if (strip_flags) {   /* added tokens 1..5 get lstrip / rstrip / single_word / both strips / non-special */
        json_t *added = json_object_get(root, "added_tokens");
        json_object_set_new(json_array_get(added, 1), "lstrip", json_true());
        json_object_set_new(json_array_get(added, 2), "rstrip", json_true());
        json_object_set_new(json_array_get(added, 3), "single_word", json_true());
        json_object_set_new(json_array_get(added, 4), "lstrip", json_true());
        json_object_set_new(json_array_get(added, 4), "rstrip", json_true());
        json_object_set_new(json_array_get(added, 5), "special", json_false());
    }
    char path[1024];
    snprintf(path, sizeof path, "%s", t_tmp(name));
    strcat(path, ".tokenizer.json");
    int rc = json_dump_file(root, path, JSON_COMPACT);
    json_decref(root);
    if (!OK(rc == 0, "%s: write %s", name, path)) return;
    compare_path(name, path, strings);
}

static void compare_path(const char *name, const char *path, const char *strings) {
    cl_tokenizer *t = cl_tokenizer_from_json(path);
    if (!OK(t, "%s: load %s", name, t ? "" : cl_error())) return;
    char cmd[8192], outp[4096];
    snprintf(outp, sizeof outp, "%s", t_tmp(name));
    strcat(outp, ".hf.jsonl");
    snprintf(cmd, sizeof cmd, "node tests/ref/hf_tokenize.mjs '%s' '%s' > '%s'", path, strings, outp);
    if (!OK(sh(cmd) == 0, "%s: HF reference ran: %s", name, cmd)) { cl_tokenizer_free(t); return; }
    FILE *fs = fopen(strings, "r"), *fh = fopen(outp, "r");
    char *ls = NULL, *lh = NULL;
    size_t cs = 0, ch = 0;
    int cases = 0, pass = 0, dcases = 0, dpass = 0, shown = 0;
    while (fs && fh && getline(&ls, &cs, fs) > 0 && getline(&lh, &ch, fh) > 0) {
        json_t *js = json_loads(ls, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        json_t *jh = json_loads(lh, 0, NULL);
        json_t *jids = json_object_get(jh, "ids");
        if (!json_is_string(js) || !json_is_array(jids)) { json_decref(js); json_decref(jh); break; }
        const char *s = json_string_value(js);
        size_t n = json_string_length(js), nh = json_array_size(jids);
        int32_t *ids = NULL;
        size_t nids = 0;
        int ok = cl_tokenizer_encode(t, s, n, CL_TOK_SPECIAL, &ids, &nids) == 0 && nids == nh;
        int has_added = 0;
        for (size_t i = 0; i < nh && i < nids; i++) {
            int32_t want = (int32_t)json_integer_value(json_array_get(jids, i));
            ok = ok && ids[i] == want;
            has_added |= cl_tokenizer_is_special(t, want);
        }
        cases++;
        pass += ok;
        if (!ok && shown++ < 5) {
            printf("# %s mismatch on %s#   HF: ", name, ls);
            for (size_t i = 0; i < nh; i++) printf(" %lld", (long long)json_integer_value(json_array_get(jids, i)));
            printf("\n#   us: ");
            for (size_t i = 0; i < nids; i++) printf(" %d", ids[i]);
            printf("\n");
        }
        const char *htext = json_string_value(json_object_get(jh, "text"));
        if (ok && htext && !has_added && !strstr(htext, "\xef\xbf\xbd")) {
            char *dec = NULL;
            size_t dlen = 0;
            dcases++;
            if (cl_tokenizer_decode(t, ids, nids, &dec, &dlen) == 0 && dlen == strlen(htext) && !memcmp(dec, htext, dlen))
                dpass++;
            else if (shown++ < 5)
                printf("# %s decode mismatch on %s#   HF: %s\n#   us: %s\n", name, ls, htext, dec ? dec : "(error)");
            free(dec);
        }
        free(ids);
        json_decref(js);
        json_decref(jh);
    }
    OK(cases == atoi(COUNT) && pass == cases, "%s: %d/%d strings encode exactly as Hugging Face tokenizers", name, pass, cases);
    OK(dcases > 0 && dpass == dcases, "%s: %d/%d decodes equal Hugging Face's", name, dpass, dcases);
    free(ls);
    free(lh);
    if (fs) fclose(fs);
    if (fh) fclose(fh);
    cl_tokenizer_free(t);
}

int main(void) {
    if (sh("command -v node >/dev/null 2>&1") || access("tests/ref/node_modules/tokenizers/package.json", R_OK)) {
        SKIP("node or tests/ref/node_modules/tokenizers missing (run: cd tests/ref && npm install)");
        return t_done();
    }
    char cmd[4096];
    static char strings[1024];   /* t_tmp reuses its buffers: keep a copy */
    snprintf(strings, sizeof strings, "%s", t_tmp("hf-strings.jsonl"));
    snprintf(cmd, sizeof cmd, "node tests/ref/gen_strings.mjs " SEED " " COUNT " > '%s'", strings);
    if (!OK(sh(cmd) == 0, "generate %s strings (seed %s)", COUNT, SEED)) return t_done();
    compare("tinystories-656k", "models/tinystories-656k/tokenizer.json", strings);
    compare("smollm2", "tokenizers/smollm2-135m-instruct/tokenizer.json", strings);
    compare("gpt2", "tokenizers/gpt2/tokenizer.json", strings);
#define SPLIT(re) "{\"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [" \
    "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"" re "\"}, \"behavior\": \"Isolated\", \"invert\": false}," \
    "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": false}]}"
    compare_variant("gpt2-llama3-regex", "tokenizers/gpt2/tokenizer.json", SPLIT(
        "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*"
        "|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+") "}", 1, 0, strings);
    compare_variant("gpt2-qwen2-regex-nfc", "tokenizers/gpt2/tokenizer.json", SPLIT(
        "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*"
        "|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+") ", \"normalizer\": {\"type\": \"NFC\"}}", 0, 0, strings);
    compare_variant("smollm2-prefix-space", "tokenizers/smollm2-135m-instruct/tokenizer.json",
        "{\"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": true, \"use_regex\": true}}",
        0, 0, strings);
    compare_variant("tinystories-metaspace-first", "models/tinystories-656k/tokenizer.json",
        "{\"normalizer\": null, \"pre_tokenizer\": {\"type\": \"Metaspace\", \"replacement\": \"\\u2581\", "
        "\"prepend_scheme\": \"first\", \"split\": false}, \"decoder\": {\"type\": \"Metaspace\", "
        "\"replacement\": \"\\u2581\", \"prepend_scheme\": \"first\", \"split\": false}}", 0, 0, strings);
    compare_variant("tinystories-metaspace-always-split", "models/tinystories-656k/tokenizer.json",
        "{\"normalizer\": null, \"pre_tokenizer\": {\"type\": \"Metaspace\", \"replacement\": \"\\u2581\", "
        "\"prepend_scheme\": \"always\", \"split\": true}, \"decoder\": {\"type\": \"Metaspace\", "
        "\"replacement\": \"\\u2581\", \"prepend_scheme\": \"always\", \"split\": true}}", 0, 0, strings);
    compare_variant("smollm2-added-token-flags", "tokenizers/smollm2-135m-instruct/tokenizer.json", "{}", 0, 1, strings);
    return t_done();
}
