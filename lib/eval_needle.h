/* eval_needle.h — needle-in-a-haystack documents for cl-eval --mode needle.
 *
 * A document is filler sentences (cut from a pool of texts, e.g. stories) with one needle
 * sentence among them, cl_needle_pre + NAME + "." ("There was a little cat named Zoe."; NAME one
 * of 16 names the model knows but does not say unprompted), placed after round(depth * n) of the
 * n filler sentences.  The probe cl_needle_probe ("One day, ") follows the document and the
 * answer is NAME: a story model continues a story with its protagonist's name.  Filler
 * sentences that may name someone else are left out (see below), so no other name competes.
 * (What the tiny story model can do: it does not copy an invented name, even from the sentence
 * right before a repeated "The cat was named " probe; it does continue "One day, " with the
 * name a story introduced, when no other name is around.)  A seed fixes everything: the name,
 * the order the pool is read in, hence the filler; the same seed at other depths and lengths
 * gives the same name and the same filler, cut to the length, so only depth and length vary.
 *
 * Sentences: a pool text is cut after '.', '!' or '?' (and any closing quotes right after) when
 * whitespace or the end follows, and at line breaks; each is trimmed; empty ones are dropped, and
 * so are those that may name someone: a capital letter after the first character (but the word
 * "I"), or a first word outside a list of common sentence starters (The, She, He, They, ...).
 * Filler sentences are taken, text after text in the seeded order, as long as the token count
 * (the caller's count function, summed over the needle and the sentences) stays <= target_tokens;
 * the first sentence that does not fit ends the filler (at least one is taken, and fewer when the
 * pool runs out: d->tokens tells).  Sentences are joined by one space. */
#ifndef CL_EVAL_NEEDLE_H
#define CL_EVAL_NEEDLE_H
#include <stddef.h>
#include <stdint.h>

extern const char cl_needle_pre[];     /* "There was a little cat named " */
extern const char cl_needle_probe[];   /* "One day, " */

typedef int (*cl_count_fn)(void *ctx, const char *s);   /* token count of s */

typedef struct {
    char *context;      /* filler + needle, sentences joined by ' ' */
    char *needle;       /* the needle sentence */
    char *answer;       /* NAME: what should follow the probe */
    size_t needle_off;  /* byte offset of the needle in context */
    int n_sent;         /* filler sentences */
    int before;         /* filler sentences before the needle */
    int tokens;         /* summed counts of the filler sentences and the needle */
} cl_needle_doc;

/* The invented names (the answers): n of them, name i. */
int cl_needle_n_names(void);
const char *cl_needle_name(int i);

/* Build a document from n_pool texts; -1 (cl_error) when the pool has no usable sentence. */
int cl_needle_make(const char *const *pool, int n_pool, int target_tokens, double depth, uint64_t seed,
                   cl_count_fn count, void *cctx, cl_needle_doc *d);
void cl_needle_free(cl_needle_doc *d);

#endif
