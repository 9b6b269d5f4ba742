/* tape.c — the memory plan of a forward pass's activation record (see tape.h). */
#include "tape.h"
#include <stdlib.h>
#include <string.h>
#include "util.h"

/* Mask (1 << CL_LORA_*) of the projections lora adapts in this layer. */
static unsigned lora_targets(const cl_lora *lora, int layer) {
    unsigned m = 0;
    for (int k = 0; k < CL_LORA_NT; k++)
        if (lora->A[layer][k] && lora->B[layer][k]) m |= 1u << k;
    return m;
}

/* Lay out t for T rows (base == NULL: only count).  Returns the floats used.  lora gives the
 * adapted targets per layer; without it, `targets` (for counting). */
static size_t layout(cl_tape *t, const cl_config *c, const cl_lora *lora, int rank,
                     unsigned targets, int T, float *base) {
    size_t off = 0;
    long D = c->dim, Q = (long)c->n_heads * c->head_dim, KV = (long)c->n_kv_heads * c->head_dim;
    long F = c->ffn_dim, half = c->head_dim / 2;
#define TAKE(ptr, n) do { size_t n_ = (size_t)(n); if (base) (ptr) = base + off; off += (n_ + 15) & ~(size_t)15; } while (0)
    TAKE(t->cos_t, T * half);   /* t is only dereferenced when base != NULL */
    TAKE(t->sin_t, T * half);
    if (base) t->cos_l = t->sin_l = NULL;
    if (c->rope_theta_local > 0) { TAKE(t->cos_l, T * half); TAKE(t->sin_l, T * half); }
    for (int l = 0; l <= c->n_layers; l++) TAKE(t->x[l], T * D);
    for (int l = 0; l < c->n_layers; l++) {
        cl_tape_layer tmp, *a = base ? &t->layer[l] : &tmp;
        memset(a, 0, sizeof *a);
        TAKE(a->xn1, T * D);
        if (c->qk_norm) { TAKE(a->qr, T * Q); TAKE(a->kr, T * KV); }
        TAKE(a->q, T * Q); TAKE(a->k, T * KV); TAKE(a->v, T * KV); TAKE(a->att, T * Q);
        if (c->post_norms) { TAKE(a->ao, T * D); TAKE(a->fo, T * D); }
        TAKE(a->xmid, T * D); TAKE(a->xn2, T * D);
        TAKE(a->g, T * F); TAKE(a->u, T * F); TAKE(a->h, T * F);
        unsigned tg = lora ? lora_targets(lora, l) : targets;
        for (int k = 0; k < CL_LORA_NT; k++)
            if (rank > 0 && (tg & 1u << k)) TAKE(a->lu[k], (long)T * rank);
    }
#undef TAKE
    return off;
}

size_t cl_tape_floats(const cl_config *c, int lora_rank, unsigned targets, int T) {
    return layout(NULL, c, NULL, lora_rank, targets, T, NULL);
}

void cl_tape_init(cl_tape *t) { memset(t, 0, sizeof *t); }

void cl_tape_free(cl_tape *t) {
    free(t->arena);
    free(t->x);
    free(t->layer);
    free(t->seq_len);
    free(t->top_from);
    free(t->top_row);
    memset(t, 0, sizeof *t);
}

void cl_tape_plan(cl_tape *t, const cl_model *m, const cl_lora *lora, int n_seq,
                  const int *seq_len, int T, const int *top_from) {
    const cl_config *c = &m->cfg;
    int rank = lora ? lora->rank : 0;
    if (c->n_layers > t->cap_layers) {
        t->x = cl_realloc(t->x, ((size_t)c->n_layers + 1) * sizeof *t->x);
        t->layer = cl_realloc(t->layer, (size_t)c->n_layers * sizeof *t->layer);
        t->cap_layers = c->n_layers;
    }
    if (n_seq > t->cap_seq) {
        t->seq_len = cl_realloc(t->seq_len, (size_t)n_seq * sizeof *t->seq_len);
        t->top_from = cl_realloc(t->top_from, (size_t)n_seq * sizeof *t->top_from);
        t->cap_seq = n_seq;
    }
    if (T > t->cap_rows) {
        t->top_row = cl_realloc(t->top_row, (size_t)T * sizeof *t->top_row);
        t->cap_rows = T;
    }
    size_t need = layout(t, c, lora, rank, 0, T, NULL);
    if (need > t->arena_floats) {
        free(t->arena);
        t->arena = cl_malloc(need * sizeof(float));
        t->arena_floats = need;
    }
    layout(t, c, lora, rank, 0, T, t->arena);
    t->m = m;
    t->lora = lora;
    t->T = T;
    t->n_seq = n_seq;
    memcpy(t->seq_len, seq_len, (size_t)n_seq * sizeof *seq_len);
    t->top_n = 0;
    for (int s = 0, t0 = 0; s < n_seq; t0 += seq_len[s++]) {
        t->top_from[s] = top_from ? top_from[s] : 0;
        for (int i = t->top_from[s]; i < seq_len[s]; i++) t->top_row[t->top_n++] = t0 + i;
    }
}
