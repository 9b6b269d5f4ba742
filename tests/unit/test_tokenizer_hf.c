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

static void compare(const char *name, const char *tok_json, const char *strings) {
    const char *path = t_shared(tok_json);
    if (!path) { SKIP("%s: %s missing", name, tok_json); return; }
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
    if (getenv("CL_ASAN")) {   /* node under the ASan run adds minutes and checks nothing new in C */
        SKIP("differential test against HF runs in the plain build only");
        return t_done();
    }
    if (sh("command -v node >/dev/null 2>&1") || access("tests/ref/node_modules/tokenizers/package.json", R_OK)) {
        SKIP("node or tests/ref/node_modules/tokenizers missing (run: cd tests/ref && npm install)");
        return t_done();
    }
    char cmd[4096];
    const char *strings = t_tmp("hf-strings.jsonl");
    snprintf(cmd, sizeof cmd, "node tests/ref/gen_strings.mjs " SEED " " COUNT " > '%s'", strings);
    if (!OK(sh(cmd) == 0, "generate %s strings (seed %s)", COUNT, SEED)) return t_done();
    compare("tinystories-656k", "models/tinystories-656k/tokenizer.json", strings);
    compare("smollm2", "tokenizers/smollm2-135m-instruct/tokenizer.json", strings);
    compare("gpt2", "tokenizers/gpt2/tokenizer.json", strings);
    return t_done();
}
