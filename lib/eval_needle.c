/* eval_needle.c — needle-in-a-haystack documents (eval_needle.h). */
#include "eval_needle.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "util.h"

const char cl_needle_probe[] = "One day, ";
const char cl_needle_pre[] = "There was a little cat named ";

/* names the model knows (it cannot copy invented ones), but not the ones it says unprompted */
static const char *const names[] = {"Mia", "Sam", "Anna", "Jack", "Lucy", "Spot", "Bob", "Sara",
                                    "Kitty", "Zoe", "Amy", "Daisy", "Rex", "Buddy", "Sally", "Jane"};

int cl_needle_n_names(void) { return (int)(sizeof names / sizeof *names); }
const char *cl_needle_name(int i) { return names[i]; }

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* Next sentence of *p (advanced past it): start and length, trimmed; 0 at the end. */
static int next_sentence(const char **p, const char **s, size_t *len) {
    for (;;) {
        const char *q = *p;
        while (is_space(*q)) q++;
        if (!*q) {
            *p = q;
            return 0;
        }
        const char *e = q;
        while (*e && *e != '\n') {
            if (*e == '.' || *e == '!' || *e == '?') {
                const char *f = e + 1;
                while (*f == '"' || *f == '\'') f++;
                if (!*f || is_space(*f)) {
                    e = f;
                    break;
                }
            }
            e++;
        }
        *p = e;
        size_t l = (size_t)(e - q);
        while (l && is_space(q[l - 1])) l--;
        if (l) {
            *s = q;
            *len = l;
            return 1;
        }
    }
}

/* A sentence that may name someone: a capital letter after its first character (but the word
 * "I"), or a first word that is not a common sentence starter. */
static int has_name(const char *s, size_t l) {
    static const char *const starters[] = {"The ", "She ", "He ", "They ", "It ", "One ", "Once ", "But ",
                                           "So ", "Then ", "When ", "A ", "We ", "I ", "Her ", "His ",
                                           "After ", "Every ", "\"", "At ", "In ", "This ", "That ", "You ",
                                           "Their ", "All ", "As ", "Suddenly", "From ", "Now ", "Finally"};
    int ok = 0;
    for (size_t i = 0; i < sizeof starters / sizeof *starters && !ok; i++)
        ok = strncmp(s, starters[i], strlen(starters[i])) == 0;
    if (!ok) return 1;
    for (size_t i = 1; i < l; i++)
        if (s[i] >= 'A' && s[i] <= 'Z' &&
            !(s[i] == 'I' && s[i - 1] == ' ' && (i + 1 == l || s[i + 1] == ' ' || s[i + 1] == '\'')))
            return 1;
    return 0;
}

int cl_needle_make(const char *const *pool, int n_pool, int target_tokens, double depth, uint64_t seed,
                   cl_count_fn count, void *cctx, cl_needle_doc *d) {
    memset(d, 0, sizeof *d);
    cl_rng r;
    cl_rng_seed(&r, seed);
    const char *name = names[cl_rng_next(&r) % (sizeof names / sizeof *names)];
    int *order = cl_malloc((size_t)(n_pool > 0 ? n_pool : 1) * sizeof *order);
    for (int i = 0; i < n_pool; i++) order[i] = i;
    for (int i = n_pool - 1; i > 0; i--) {
        int j = (int)(cl_rng_next(&r) % (uint64_t)(i + 1));
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    size_t nl = strlen(cl_needle_pre) + strlen(name) + 2;
    d->needle = cl_malloc(nl);
    snprintf(d->needle, nl, "%s%s.", cl_needle_pre, name);
    d->answer = cl_strdup(name);
    d->tokens = count(cctx, d->needle);
    /* the filler: sentence views into the pool */
    const char **sv = NULL;
    size_t *sl = NULL, total = 0;
    int cap = 0;
    int full = 0;
    for (int t = 0; t < n_pool && !full; t++) {
        const char *p = pool[order[t]], *s;
        size_t l;
        while (!full && next_sentence(&p, &s, &l)) {
            if (has_name(s, l)) continue;
            char *tmp = cl_malloc(l + 1);
            memcpy(tmp, s, l);
            tmp[l] = 0;
            int k = count(cctx, tmp);
            free(tmp);
            if (d->n_sent > 0 && d->tokens + k > target_tokens) {
                full = 1;
                break;
            }
            d->tokens += k;
            if (d->n_sent == cap) {
                cap = cap ? 2 * cap : 64;
                sv = cl_realloc(sv, (size_t)cap * sizeof *sv);
                sl = cl_realloc(sl, (size_t)cap * sizeof *sl);
            }
            sv[d->n_sent] = s;
            sl[d->n_sent++] = l;
            total += l + 1;
        }
    }
    free(order);
    if (d->n_sent == 0) {
        cl_needle_free(d);
        return cl_fail("needle: the filler texts have no usable sentence (those that may name someone are left out)");
    }
    if (depth < 0) depth = 0;
    if (depth > 1) depth = 1;
    d->before = (int)floor(depth * d->n_sent + 0.5);
    char *o = d->context = cl_malloc(total + strlen(d->needle) + 2);
    for (int i = 0; i <= d->n_sent; i++) {
        if (i == d->before) {
            if (o != d->context) *o++ = ' ';
            d->needle_off = (size_t)(o - d->context);
            memcpy(o, d->needle, strlen(d->needle));
            o += strlen(d->needle);
        }
        if (i == d->n_sent) break;
        if (o != d->context) *o++ = ' ';
        memcpy(o, sv[i], sl[i]);
        o += sl[i];
    }
    *o = 0;
    free(sv);
    free(sl);
    return 0;
}

void cl_needle_free(cl_needle_doc *d) {
    free(d->context);
    free(d->needle);
    free(d->answer);
    memset(d, 0, sizeof *d);
}
