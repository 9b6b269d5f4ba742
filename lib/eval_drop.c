/* eval_drop.c — token dropping by self-information (eval_drop.h). */
#include "eval_drop.h"

#include <math.h>
#include <stdlib.h>

#include "compressor.h"
#include "generate.h"
#include "util.h"

/* a before b in the ranking: larger self-information first, then the earlier position */
static int ranks_before(const float *si, int a, int b) {
    float x = si[a], y = si[b];
    if (isnan(x) != isnan(y)) return isnan(y);
    if (!isnan(x) && x != y) return x > y;
    return a < b;
}

int cl_drop_select(const float *si, int n, int C, int *keep) {
    int k = n > 0 ? cl_compress_n_out(n, C) : 0;
    /* keep[0..k) holds the best so far, ranked (insertion: k and n are segment-sized) */
    int have = 0;
    for (int i = 0; i < n; i++) {
        int j;
        if (have < k) j = have++;
        else if (ranks_before(si, i, keep[k - 1])) j = k - 1;
        else continue;
        while (j > 0 && ranks_before(si, i, keep[j - 1])) {
            keep[j] = keep[j - 1];
            j--;
        }
        keep[j] = i;
    }
    /* back to text order */
    for (int i = 1; i < k; i++) {
        int v = keep[i], j = i;
        for (; j > 0 && keep[j - 1] > v; j--) keep[j] = keep[j - 1];
        keep[j] = v;
    }
    return k;
}

int cl_drop_tokens(const cl_model *m, int32_t start, const int32_t *ids, const int *seg_len, int n_seg,
                   int C, int32_t *out, float *si) {
    int n = 0, max_len = 1;
    for (int i = 0; i < n_seg; i++) {
        n += seg_len[i];
        if (seg_len[i] > max_len) max_len = seg_len[i];
    }
    float *all = si ? si : cl_malloc(((size_t)n + 1) * sizeof *all);
    int *keep = cl_malloc((size_t)max_len * sizeof *keep);
    cl_piece pre = {.ids = &start, .n = 1};
    double nll;
    int kept = -1;
    if (cl_score_tokens(m, &pre, 1, ids, n, &nll, NULL, all) == 0) {
        kept = 0;
        for (int s = 0, off = 0; s < n_seg; off += seg_len[s++]) {
            int k = cl_drop_select(all + off, seg_len[s], C, keep);
            for (int j = 0; j < k; j++) out[kept++] = ids[off + keep[j]];
        }
    }
    free(keep);
    if (!si) free(all);
    return kept;
}
