/* eval_needle.h — needle-in-a-haystack documents for cl-eval --mode needle.
 *
 * A document is filler sentences (cut from a pool of texts, e.g. stories) with one needle
 * sentence among them, "<pre> <NAME>." (pre: cl_needle_pre, NAME: an invented name the model
 * cannot guess), placed after round(depth * n) of the n filler sentences.  The probe that follows
 * the document is pre itself; the answer is " NAME".  A seed fixes everything: the name, the
 * order the pool is read in, hence the filler; the same seed at other depths and lengths gives
 * the same name and the same filler, cut to the length, so only depth and length vary.
 *
 * Sentences: a pool text is cut after '.', '!' or '?' (and any closing quotes right after) when
 * whitespace or the end follows, and at line breaks; each is trimmed; empty ones are dropped.
 * Filler sentences are taken, text after text in the seeded order, as long as the token count
 * (the caller's count function, summed over the needle and the sentences) stays <= target_tokens;
 * the first sentence that does not fit ends the filler (at least one is taken, and fewer when the
 * pool runs out: d->tokens tells).  Sentences are joined by one space. */
#ifndef CL_EVAL_NEEDLE_H
#define CL_EVAL_NEEDLE_H
#include <stddef.h>
#include <stdint.h>

extern const char cl_needle_pre[];   /* "The secret name was" */

typedef int (*cl_count_fn)(void *ctx, const char *s);   /* token count of s */

typedef struct {
    char *context;      /* filler + needle, sentences joined by ' ' */
    char *needle;       /* the needle sentence */
    char *answer;       /* " NAME" (with its leading space: what follows the probe) */
    size_t needle_off;  /* byte offset of the needle in context */
    int n_sent;         /* filler sentences */
    int before;         /* filler sentences before the needle */
    int tokens;         /* summed counts of the filler sentences and the needle */
} cl_needle_doc;

/* The invented names (the answers are " " + one of them): n of them, name i. */
int cl_needle_n_names(void);
const char *cl_needle_name(int i);

/* Build a document from n_pool texts; -1 (cl_error) when the pool has no sentence. */
int cl_needle_make(const char *const *pool, int n_pool, int target_tokens, double depth, uint64_t seed,
                   cl_count_fn count, void *cctx, cl_needle_doc *d);
void cl_needle_free(cl_needle_doc *d);

#endif
