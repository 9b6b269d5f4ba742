/* Needle documents (eval_needle.h): the needle after round(depth * n) filler sentences, the
 * length budget, name-bearing sentences left out, determinism by seed. */
#include <math.h>
#include <string.h>

#include "eval_needle.h"
#include "t.h"
#include "util.h"

static int words(void *ctx, const char *s) {   /* a stand-in tokenizer: words */
    (void)ctx;
    int n = 0;
    for (const char *p = s; *p; p++) n += (p == s || p[-1] == ' ') && *p != ' ';
    return n;
}

static int count(const char *s, const char *sub) {
    int n = 0;
    for (const char *p = s; (p = strstr(p, sub)); p++) n++;
    return n;
}

static const char *const pool[] = {
    "The dog ran 1. The dog ran 2! Tom ran away. The dog ran 3.\nThe dog saw Tom there. \"the dog ran 4.\"",
    "She sat 5. He sat 6? They sat 7.   Once upon 8.",
    "It was 9. Then it was 10. Lily sang. I think I sat 11.",
};

int main(void) {
    cl_needle_doc d, e;
    OK(cl_needle_make(pool, 3, 1000, 0.5, 1, words, NULL, &d) == 0, "a document from 3 texts");
    OK(d.n_sent == 11, "11 filler sentences, the 3 naming someone (Tom, Lily) left out (%d)", d.n_sent);
    OK(count(d.context, "Tom") == 0 && count(d.context, "Lily") == 0, "no other name in the filler");
    OK(count(d.context, d.needle) == 1 && !strncmp(d.context + d.needle_off, d.needle, strlen(d.needle)),
       "the needle appears once, at needle_off");
    char want[128];
    snprintf(want, sizeof want, "%s%s.", cl_needle_pre, d.answer);
    OK(!strcmp(d.needle, want), "needle = pre + NAME + \".\" (%s)", d.needle);
    int names_ok = 0;
    for (int i = 0; i < cl_needle_n_names(); i++) names_ok |= !strcmp(d.answer, cl_needle_name(i));
    OK(names_ok, "the answer is one of the names");
    OK(d.tokens == words(NULL, d.context), "tokens = the summed counts (%d)", d.tokens);
    cl_needle_free(&d);
    double depths[] = {0, 0.2, 0.5, 0.77, 1};
    for (int i = 0; i < 5; i++) {
        OK(cl_needle_make(pool, 3, 1000, depths[i], 9, words, NULL, &d) == 0, "depth %.2f", depths[i]);
        char *head = cl_strdup(d.context);
        head[d.needle_off] = 0;
        /* sentences before the needle: every filler sentence ends in a digit and . ! ? or quote */
        int before = 0;
        for (char *p = head; *p; p++) before += p[0] >= '0' && p[0] <= '9' && strchr(".!?", p[1]) && p[1];
        int at = (int)floor(depths[i] * d.n_sent + 0.5);
        OK(before == at && d.before == at, "depth %.2f: the needle after round(%.2f * %d) = %d sentences (%d)",
           depths[i], depths[i], d.n_sent, at, before);
        free(head);
        cl_needle_free(&d);
    }
    int rc = cl_needle_make(pool, 3, 12, 0.5, 4, words, NULL, &d);
    OK(rc == 0 && d.tokens <= 12 && d.tokens > 12 - 5 && d.n_sent >= 1,
       "a 12-token budget: %d tokens, %d sentences (the next one did not fit)", d.tokens, d.n_sent);
    cl_needle_free(&d);
    OK(cl_needle_make(pool, 3, 1, 0, 4, words, NULL, &d) == 0 && d.n_sent == 1, "at least one filler sentence");
    cl_needle_free(&d);
    cl_needle_make(pool, 3, 20, 0.5, 77, words, NULL, &d);
    cl_needle_make(pool, 3, 20, 0.5, 77, words, NULL, &e);
    OK(!strcmp(d.context, e.context) && !strcmp(d.answer, e.answer), "same seed, same document");
    cl_needle_free(&e);
    int differ = 0;
    for (uint64_t s = 1; s < 9; s++) {
        cl_needle_make(pool, 3, 20, 0.5, 77 + s, words, NULL, &e);
        differ += strcmp(d.context, e.context) != 0;
        cl_needle_free(&e);
    }
    OK(differ > 0, "other seeds, other documents (%d of 8)", differ);
    cl_needle_make(pool, 3, 20, 1.0, 77, words, NULL, &e);
    OK(!strcmp(d.answer, e.answer) && !strncmp(d.context, e.context, d.needle_off), "another depth: same name, same filler");
    cl_needle_free(&e);
    cl_needle_free(&d);
    const char *const empty[] = {"Tom ran.", "  \n "};
    rc = cl_needle_make(empty, 2, 50, 0.5, 1, words, NULL, &d);
    OK(rc < 0 && strstr(cl_error(), "no usable sentence"), "a pool without a usable sentence: %s", cl_error());
    return t_done();
}
