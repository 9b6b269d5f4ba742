/* test_tokenizer_spm.c — differential test of the SentencePiece path against Google's
 * SentencePiece itself (Debian python3-sentencepiece, tests/ref/spm_tokenize.py): Llama 2's
 * tokenizer.model read by SentencePiece vs the same vocabulary from llama2.c's tokenizer.bin read
 * by us, on the random and adversarial strings of tests/ref/gen_strings.mjs.  Ids must be equal;
 * decodes too.  Skips when node (the generator) or the Python module is absent. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include "t.h"
#include "tokenizer.h"
#include "util.h"

int main(void) {
    const char *model = t_shared("tokenizers/llama2/tokenizer.model"), *bin = t_shared("tokenizers/llama2/tokenizer.bin");
    if (!model || !bin) { SKIP("llama2 tokenizer.model/.bin missing"); return t_done(); }
    if (system("command -v node >/dev/null 2>&1 && /usr/bin/python3 -c 'import sentencepiece' 2>/dev/null")) {
        SKIP("node or python3-sentencepiece missing (apt-get install python3-sentencepiece)");
        return t_done();
    }
    char cmd[20000], strings[1024], ref[1024];
    snprintf(strings, sizeof strings, "%s", t_tmp("spm-strings.jsonl"));
    snprintf(ref, sizeof ref, "%s", t_tmp("spm-ref.jsonl"));
    snprintf(cmd, sizeof cmd, "node tests/ref/gen_strings.mjs 777 5000 > '%s' && /usr/bin/python3 tests/ref/spm_tokenize.py '%s' '%s' > '%s'",
             strings, model, strings, ref);
    if (!OK(system(cmd) == 0, "generate strings, run SentencePiece: %s", cmd)) return t_done();
    for (int which = 0; which < 2; which++) {
    cl_tokenizer *t = which ? cl_tokenizer_from_spm(model) : cl_tokenizer_from_llama2c(bin, 32000);
    const char *src = which ? "tokenizer.model (protobuf)" : "tokenizer.bin (llama2.c)";
    if (!OK(t, "load %s %s", src, t ? "" : cl_error())) continue;
    FILE *fs = fopen(strings, "r"), *fr = fopen(ref, "r");
    char *ls = NULL, *lr = NULL;
    size_t cs = 0, cr = 0;
    int cases = 0, pass = 0, dpass = 0, shown = 0;
    while (fs && fr && getline(&ls, &cs, fs) > 0 && getline(&lr, &cr, fr) > 0) {
        json_t *js = json_loads(ls, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL), *jr = json_loads(lr, 0, NULL);
        json_t *jids = json_object_get(jr, "ids");
        const char *text = json_string_value(json_object_get(jr, "text"));
        if (!json_is_string(js) || !json_is_array(jids) || !text) { json_decref(js); json_decref(jr); break; }
        int32_t *ids = NULL;
        size_t n = 0, nr = json_array_size(jids);
        int ok = cl_tokenizer_encode(t, json_string_value(js), json_string_length(js), 0, &ids, &n) == 0 && n == nr;
        for (size_t i = 0; ok && i < n; i++) ok = ids[i] == (int32_t)json_integer_value(json_array_get(jids, i));
        char *dec = NULL;
        size_t dlen = 0;
        int dok = ok && cl_tokenizer_decode(t, ids, n, &dec, &dlen) == 0 && dlen == strlen(text) && !memcmp(dec, text, dlen);
        cases++;
        pass += ok;
        dpass += dok;
        if ((!ok || !dok) && shown++ < 5) {
            printf("# mismatch on %s#   SentencePiece: %s", ls, lr);
            printf("#   us:");
            for (size_t i = 0; i < n; i++) printf(" %d", ids[i]);
            printf("  decode: %s\n", dec ? dec : "");
        }
        free(dec);
        free(ids);
        json_decref(js);
        json_decref(jr);
    }
    OK(cases == 5000 && pass == cases, "llama2 from %s: %d/%d strings encode exactly as SentencePiece", src, pass, cases);
    OK(cases == 5000 && dpass == cases, "llama2 from %s: %d/%d decodes equal SentencePiece's", src, dpass, cases);
    free(ls);
    free(lr);
    if (fs) fclose(fs);
    if (fr) fclose(fr);
    cl_tokenizer_free(t);
    }
    return t_done();
}
