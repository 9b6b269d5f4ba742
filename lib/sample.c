/* sample.c — greedy / temperature / top-p sampling (see sample.h). */
#include "sample.h"

#include <math.h>
#include <stdlib.h>

#include "ops.h"
#include "util.h"

void cl_sampler_init(cl_sampler *s, float temperature, float top_p, uint64_t seed) {
    s->temperature = temperature;
    s->top_p = top_p;
    cl_rng_seed(&s->rng, seed);
    s->probs = NULL;
    s->cand = NULL;
    s->cap = 0;
}

void cl_sampler_free(cl_sampler *s) {
    free(s->probs);
    free(s->cand);
    s->probs = NULL;
    s->cand = NULL;
    s->cap = 0;
}

static int by_prob_desc(const void *a, const void *b) {
    const cl_cand *x = a, *y = b;
    if (x->p != y->p) return x->p < y->p ? 1 : -1;
    return x->id - y->id;   /* ties: lower id first (deterministic) */
}

int cl_sample(cl_sampler *s, const float *logits, int n) {
    if (s->temperature <= 0) return cl_argmax(logits, n);
    if (s->cap < n) {
        s->probs = cl_realloc(s->probs, (size_t)n * sizeof *s->probs);
        s->cand = cl_realloc(s->cand, (size_t)n * sizeof *s->cand);
        s->cap = n;
    }
    float *p = s->probs;
    for (int i = 0; i < n; i++) p[i] = logits[i] / s->temperature;
    cl_softmax(p, 1, n);
    double u = cl_rng_uniform(&s->rng);
    if (s->top_p >= 1.0f || s->top_p <= 0.0f) {
        double c = 0;
        for (int i = 0; i < n; i++)
            if ((c += p[i]) > u) return i;
        return n - 1;
    }
    /* Nucleus: tokens below (1 - top_p) / (n - 1) can never be inside it (llama2.c's trick),
     * so only the rest is sorted. */
    float cut = (1.0f - s->top_p) / (float)(n > 1 ? n - 1 : 1);
    int m = 0;
    for (int i = 0; i < n; i++)
        if (p[i] >= cut) s->cand[m++] = (cl_cand){p[i], i};
    qsort(s->cand, (size_t)m, sizeof *s->cand, by_prob_desc);
    double mass = 0;
    int last = m - 1;
    for (int i = 0; i < m; i++) {
        mass += s->cand[i].p;
        if (mass > s->top_p) {
            last = i;
            break;
        }
    }
    double c = 0, target = u * mass;
    for (int i = 0; i <= last; i++)
        if ((c += s->cand[i].p) > target) return s->cand[i].id;
    return s->cand[last].id;
}
