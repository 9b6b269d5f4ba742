/* Token dropping (eval_drop.h): the selection on hand-checked cases and against an independent
 * sort-based selection; on tinystories-656k, the self-information equals -log p of each token
 * scored one at a time after its own prefix, and the kept ids are that selection per segment. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compressor.h"
#include "eval_drop.h"
#include "generate.h"
#include "model.h"
#include "rng.h"
#include "t.h"
#include "util.h"

static int same(const int *a, const int *b, int n) { return memcmp(a, b, (size_t)n * sizeof *a) == 0; }

/* reference: sort (value desc, index asc), take k, sort indices */
static const float *ref_si;
static int by_rank(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    if (ref_si[x] != ref_si[y]) return ref_si[x] > ref_si[y] ? -1 : 1;
    return x - y;
}
static int by_index(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }
static int ref_select(const float *si, int n, int C, int *keep) {
    int *ix = malloc((size_t)n * sizeof *ix), k = (n + C - 1) / C;
    for (int i = 0; i < n; i++) ix[i] = i;
    ref_si = si;
    qsort(ix, (size_t)n, sizeof *ix, by_rank);
    qsort(ix, (size_t)k, sizeof *ix, by_index);
    memcpy(keep, ix, (size_t)k * sizeof *ix);
    free(ix);
    return k;
}

static void selection(void) {
    int keep[64];
    const float si[7] = {1, 5, 3, 5, 0, 2, 9};
    OK(cl_drop_select(si, 7, 2, keep) == 4 && same(keep, (int[]){1, 2, 3, 6}, 4),
       "C=2 over 7 tokens keeps ceil(7/2) = 4: the values 9, 5, 5, 3, in text order");
    OK(cl_drop_select(si, 7, 3, keep) == 3 && same(keep, (int[]){1, 3, 6}, 3), "C=3 keeps ceil(7/3) = 3");
    OK(cl_drop_select(si, 6, 4, keep) == 2 && same(keep, (int[]){1, 3}, 2), "C=4 over 6 keeps 2: the tie 5, 5");
    const float tie[5] = {2, 2, 2, 2, 2};
    OK(cl_drop_select(tie, 5, 2, keep) == 3 && same(keep, (int[]){0, 1, 2}, 3), "ties go to the earlier tokens");
    const float tie2[4] = {1, 3, 1, 1};
    OK(cl_drop_select(tie2, 4, 2, keep) == 2 && same(keep, (int[]){0, 1}, 2), "a tie for the last place: the earlier");
    const float nan_[3] = {NAN, 1, -1};
    OK(cl_drop_select(nan_, 3, 2, keep) == 2 && same(keep, (int[]){1, 2}, 2), "NaN ranks below everything");
    OK(cl_drop_select(si, 7, 1, keep) == 7 && same(keep, (int[]){0, 1, 2, 3, 4, 5, 6}, 7), "C=1 keeps all");
    OK(cl_drop_select(si, 0, 2, keep) == 0, "an empty segment keeps nothing");
    OK(cl_drop_select(si, 1, 8, keep) == 1 && keep[0] == 0, "one token at C=8 is kept (ceil)");
    cl_rng r;
    cl_rng_seed(&r, 5);
    int bad = 0, ref[64];
    for (int t = 0; t < 500; t++) {
        float v[40];
        int n = 1 + (int)(cl_rng_next(&r) % 40), C = 1 + (int)(cl_rng_next(&r) % 8);
        for (int i = 0; i < n; i++) v[i] = (float)(cl_rng_next(&r) % 6);   /* many ties */
        int k = cl_drop_select(v, n, C, keep);
        bad += k != ref_select(v, n, C, ref) || !same(keep, ref, k);
    }
    OK(bad == 0, "500 random cases (n 1..40, C 1..8, many ties) equal a sort-based selection (%d differ)", bad);
}

static void on_model(void) {
    const char *dir = t_shared("models/tinystories-656k");
    if (!dir) {
        SKIP("../shared/models/tinystories-656k absent");
        return;
    }
    cl_model_file *mf = cl_model_file_open(dir);
    cl_model *m = mf ? cl_model_load(mf) : NULL;
    if (!OK(m != NULL, "load tinystories-656k")) return;
    /* two segments of made-up ids */
    int32_t ids[13] = {300, 45, 512, 77, 1020, 18, 900, 33, 61, 250, 1500, 8, 640};
    int seg_len[2] = {7, 6}, start = m->cfg.bos_id;
    float si[13];
    int32_t out[8];
    int n = cl_drop_tokens(m, start, ids, seg_len, 2, 2, out, si);
    OK(n == 4 + 3, "kept ceil(7/2) + ceil(6/2) = 7 (%d)", n);
    double worst = 0;
    for (int i = 0; i < 13; i++) {   /* each token scored alone after its prefix */
        int32_t pre[14];
        pre[0] = start;
        memcpy(pre + 1, ids, (size_t)i * sizeof *ids);
        cl_piece p = {.ids = pre, .n = i + 1};
        double nll;
        cl_score_continuation(m, &p, 1, ids + i, 1, &nll, NULL);
        worst = fmax(worst, fabs(nll - si[i]));
    }
    OK(worst < 1e-4, "self-information = -log p(token | BOS, preceding tokens), scored one by one (max diff %.2g)", worst);
    int k0[4], k1[3], ok = 1;
    cl_drop_select(si, 7, 2, k0);
    cl_drop_select(si + 7, 6, 2, k1);
    for (int j = 0; j < 4; j++) ok &= out[j] == ids[k0[j]];
    for (int j = 0; j < 3; j++) ok &= out[4 + j] == ids[7 + k1[j]];
    OK(ok, "the kept ids are each segment's own selection, in order");
    cl_model_free(m);
    cl_model_file_close(mf);
}

int main(void) {
    selection();
    on_model();
    return t_done();
}
