/* test_compressor.c — compressor file round trip, identity = final-norm states at the placeholders,
 * linear layer, LoRA against merged weights, segment independence (bit for bit), naive baseline. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "compressor.h"
#include "model.h"
#include "model_file.h"
#include "gemm_fixed.h"
#include "ops.h"
#include "t.h"
#include "util.h"

static uint64_t rng = 12345;
static float frand(void) {   /* uniform in [-1, 1) */
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(rng >> 11) / 4503599627370496.0 - 1.0);
}

/* Segments of assorted lengths 1..S with ids from the vocabulary. */
enum { NSEG = 9 };
static int32_t seg_ids[NSEG][20];
static int seg_n[NSEG] = {20, 1, 7, 2, 13, 20, 5, 3, 11};

int main(void) {
    const char *mp = t_shared("models/tinystories-656k");
    if (!mp) {
        SKIP("../shared/models/tinystories-656k absent");
        return t_done();
    }
    cl_model_file *mf = cl_model_file_open(mp);
    cl_model *m = mf ? cl_model_load(mf) : NULL;
    if (!OK(m != NULL, "load %s", mp)) return t_done();
    int D = m->cfg.dim, V = m->cfg.n_vocab, eos = m->cfg.eos_id;
    for (int i = 0; i < NSEG; i++)
        for (int j = 0; j < seg_n[i]; j++) seg_ids[i][j] = 3 + (int32_t)((frand() + 1) * 0.5f * (float)(V - 4));
    const int32_t *ids[NSEG];
    for (int i = 0; i < NSEG; i++) ids[i] = seg_ids[i];
    size_t nv = 0;
    for (int i = 0; i < NSEG; i++) nv += (size_t)cl_compress_n_out(seg_n[i], 2);

    /* ---- identity compressor: exactly cl_forward's out_final at the placeholder positions ---- */
    cl_compressor *id = cl_compressor_new_init(m, 2, 20, 8, 16, (1u << CL_LORA_NT) - 1, 7);
    OK(id && id->rank == 8 && id->lora && id->targets == 0x7F, "new_init: rank 8 on all projections");
    float *ce = cl_malloc(nv * D * sizeof *ce), *ref = cl_malloc(nv * D * sizeof *ref);
    OK(cl_compress(m, id, NSEG, ids, seg_n, ce) == 0, "compress %d segments in one batch", NSEG);
    /* Reference: each segment alone through cl_forward, its products in the fixed order
     * (bit for bit what cl_compress must give), and through BLAS (within rounding). */
    int exact = 1;
    double blas_err = 0;
    for (int i = 0, v = 0; i < NSEG; i++) {
        int p = cl_compress_n_out(seg_n[i], 2), n = seg_n[i] + p;
        int32_t in[30];
        int pos[20];
        memcpy(in, ids[i], seg_n[i] * sizeof *in);
        for (int k = 0; k < p; k++) in[seg_n[i] + k] = eos, pos[k] = seg_n[i] + k;
        float *h = cl_malloc((size_t)p * D * sizeof *h), *h2 = cl_malloc((size_t)p * D * sizeof *h);
        cl_batch b = {.n_tokens = n, .ids = in, .n_out = p, .out_pos = pos, .out_final = h};
        int was = cl_gemm_fixed_order(1);
        if (cl_forward(m, NULL, &b) < 0 || memcmp(h, ce + (size_t)v * D, (size_t)p * D * sizeof *h)) exact = 0;
        cl_gemm_fixed_order(was);
        cl_batch b2 = {.n_tokens = n, .ids = in, .n_out = p, .out_pos = pos, .out_final = h2};
        if (cl_forward(m, NULL, &b2) < 0) blas_err = INFINITY;
        for (int k = 0; k < p * D; k++) blas_err = fmax(blas_err, fabs(h2[k] - h[k]) / (1 + fabs(h[k])));
        memcpy(ref + (size_t)v * D, h, (size_t)p * D * sizeof *h);
        v += p;
        free(h);
        free(h2);
    }
    OK(exact, "identity compressor (B = 0, W = I, b = 0) gives cl_forward's out_final at the placeholders, bit for bit "
              "(fixed-order products, %s)", cl_gemm_fixed_isa());
    OK(blas_err < 1e-5, "... and within %.2g (< 1e-5) of the same forward pass through BLAS", blas_err);

    /* ---- linear layer: y = W h + b, checked in double ---- */
    cl_compressor *lin = cl_compressor_new_init(m, 2, 20, 0, 1, 0, 1);
    for (int i = 0; i < D * D; i++) lin->proj_w[i] = frand() * 0.2f;
    for (int i = 0; i < D; i++) lin->proj_b[i] = frand();
    cl_compressor_refresh_fp(lin);
    OK(memcmp(lin->fp, id->fp, 32) != 0, "fingerprints differ with the parameters");
    float *y = cl_malloc(nv * D * sizeof *y);
    double maxerr = 0;
    if (cl_compress(m, lin, NSEG, ids, seg_n, y) == 0)
        for (size_t r = 0; r < nv; r++)
            for (int o = 0; o < D; o++) {
                double s = lin->proj_b[o];
                for (int k = 0; k < D; k++) s += (double)lin->proj_w[(size_t)o * D + k] * ref[r * D + k];
                double e = fabs(s - y[r * D + o]) / (1 + fabs(s));
                if (e > maxerr) maxerr = e;
            }
    else maxerr = INFINITY;
    OK(maxerr < 1e-5, "linear layer: y = W h + b (max rel err %.2g < 1e-5)", maxerr);

    /* ---- LoRA: compressing with A, B equals compressing without adapter over merged weights ---- */
    cl_compressor *lo = cl_compressor_new_init(m, 2, 20, 4, 8, (1u << CL_LORA_NT) - 1, 3);
    for (size_t i = 0; i < lo->n_params - (size_t)D * D - D; i++)
        if (lo->params[i] == 0) lo->params[i] = frand() * 0.05f;   /* B (A is random already) */
    cl_compressor_refresh_fp(lo);
    float *with = cl_malloc(nv * D * sizeof *with), *merged = cl_malloc(nv * D * sizeof *merged);
    int rc1 = cl_compress(m, lo, NSEG, ids, seg_n, with);

    /* ---- rank growth: the grown adapter computes exactly what lo computes ---- */
    for (int R = 4; R <= 11; R += 7) {   /* the same rank (a copy), and 4 -> 11 */
        cl_compressor *gr = cl_compressor_grow_rank(lo, R, 5);
        OK(gr && gr->rank == R && gr->lora->scale == lo->lora->scale && gr->alpha == 8.0f * R / 4,
           "grow rank 4 -> %d: alpha %g, scale alpha/rank %g kept", R, gr ? gr->alpha : 0, gr ? gr->lora->scale : 0);
        if (!gr) continue;
        int kept = 1, zero = 1, fresh = 1;
        for (int l = 0; l < m->cfg.n_layers; l++)
            for (int t = 0; t < CL_LORA_NT; t++) {
                int in, out;
                cl_compressor_lora_dims(lo, t, &in, &out);
                const float *A0 = lo->lora->A[l][t], *B0 = lo->lora->B[l][t], *A = gr->lora->A[l][t], *B = gr->lora->B[l][t];
                kept &= !memcmp(A, A0, (size_t)4 * in * sizeof *A);
                for (int o = 0; o < out; o++)
                    for (int k = 0; k < R; k++) {
                        if (k < 4) kept &= B[o * R + k] == B0[o * 4 + k];
                        else zero &= B[o * R + k] == 0.0f;
                    }
                for (int i = 4 * in; i < R * in; i++) fresh &= A[i] != 0 && fabsf(A[i]) <= 1 / sqrtf((float)in);
            }
        kept &= !memcmp(gr->proj_w, lo->proj_w, (size_t)D * D * sizeof(float)) &&
                !memcmp(gr->proj_b, lo->proj_b, (size_t)D * sizeof(float));
        OK(kept && zero && fresh, "grown: A keeps its rows, B its columns, W and b kept; new B columns zero, new A rows "
                                  "uniform in +-1/sqrt(in)");
        float *grown = cl_malloc(nv * D * sizeof *grown);
        const char *gpath = "tests/tmp/grown.gguf";
        int rcg = cl_compress(m, gr, NSEG, ids, seg_n, grown);
        OK(rcg == 0 && rc1 == 0 && !memcmp(grown, with, nv * D * sizeof *grown),
           "rank %d: CEs bit-identical to the rank-4 compressor's before any step", R);
        cl_compressor *back = cl_compressor_save(gr, gpath) == 0 ? cl_compressor_load(gpath, m) : NULL;
        int rcb = back ? cl_compress(m, back, NSEG, ids, seg_n, grown) : -1;
        OK(back && back->rank == R && back->alpha == gr->alpha && rcb == 0 && !memcmp(grown, with, nv * D * sizeof *grown),
           "rank %d: saved and loaded, still bit-identical", R);
        unlink(gpath);
        cl_compressor_free(back);
        cl_compressor_free(gr);
        free(grown);
    }
    cl_compressor *shrunk = cl_compressor_grow_rank(lo, 3, 5);
    OK(!shrunk && strstr(cl_error(), "shrink"), "rank 4 -> 3 refused: %s", cl_error());
    cl_compressor *odd = cl_compressor_new_init(m, 2, 20, 3, 1.0f, 1u << CL_LORA_Q, 1), *odd7 = cl_compressor_grow_rank(odd, 7, 1);
    OK(odd7 ? odd7->lora->scale == odd->lora->scale : strstr(cl_error(), "not exact") != NULL,
       "alpha 1 rank 3 -> 7: the scale is kept exactly or the growth refused (%s)", odd7 ? "kept" : cl_error());
    cl_compressor_free(odd7);
    cl_compressor_free(odd);
    float *merged_w[256 * CL_LORA_NT];
    int n_merged = 0;
    for (int l = 0; l < m->cfg.n_layers; l++) {
        cl_layer *L = &m->layers[l];
        cl_mat *Wm[CL_LORA_NT] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        float *W[CL_LORA_NT];
        for (int t = 0; t < CL_LORA_NT; t++) {   /* writable f32 copies of the (mapped) weights */
            W[t] = cl_malloc(cl_mat_bytes(Wm[t]));
            cl_convert_to_f32(Wm[t]->dtype, Wm[t]->data, 0, (int64_t)Wm[t]->rows * Wm[t]->cols, W[t]);
            *Wm[t] = cl_mat_f32(W[t], Wm[t]->rows, Wm[t]->cols);
            merged_w[n_merged++] = W[t];
        }
        for (int t = 0; t < CL_LORA_NT; t++) {
            int in = t == CL_LORA_O ? lo->q_dim : t == CL_LORA_DOWN ? lo->ffn_dim : D;
            int out = t == CL_LORA_Q ? lo->q_dim : t <= CL_LORA_V ? lo->kv_dim : t == CL_LORA_O || t == CL_LORA_DOWN ? D : lo->ffn_dim;
            for (int o = 0; o < out; o++)
                for (int k = 0; k < in; k++) {
                    double s = 0;
                    for (int r = 0; r < lo->rank; r++)
                        s += (double)lo->lora->B[l][t][o * lo->rank + r] * lo->lora->A[l][t][r * in + k];
                    W[t][(size_t)o * in + k] += (float)(lo->lora->scale * s);
                }
        }
    }
    cl_compressor *plain = cl_compressor_new_init(m, 2, 20, 0, 1, 0, 1);
    int rc2 = cl_compress(m, plain, NSEG, ids, seg_n, merged);
    maxerr = 0;
    double moved = 0;
    for (size_t i = 0; i < nv * D; i++) {
        double e = fabs(with[i] - merged[i]) / (1 + fabs(merged[i]));
        if (e > maxerr) maxerr = e;
        moved = fmax(moved, fabs(with[i] - ref[i]));
    }
    OK(rc1 == 0 && rc2 == 0 && maxerr < 1e-4 && moved > 1e-3,
       "LoRA on all 7 projections == merged W + (alpha/r) B A (max rel err %.2g < 1e-4; moved %.3g from identity)", maxerr, moved);
    cl_model_free(m);   /* the merged weights are gone with it */
    m = cl_model_load(mf);

    /* ---- segment independence: batch composition never changes a segment's CEs ---- */
    float *batch_ce = cl_malloc(nv * D * sizeof *batch_ce);
    cl_compress(m, lo, NSEG, ids, seg_n, batch_ce);
    int alone_exact = 1;
    for (int i = 0, v = 0; i < NSEG; i++) {
        int p = cl_compress_n_out(seg_n[i], 2);
        float *one = cl_malloc((size_t)p * D * sizeof *one);
        if (cl_compress(m, lo, 1, ids + i, seg_n + i, one) < 0 || memcmp(one, batch_ce + (size_t)v * D, (size_t)p * D * sizeof(float)))
            alone_exact = 0;
        free(one);
        v += p;
    }
    OK(alone_exact, "each segment compressed alone == the same segment inside a batch of %d, bit for bit", NSEG);
    /* reversed order, and the batch repeated 8 times (bigger matrices, other BLAS blocking) */
    const int32_t *big[NSEG * 8];
    int big_n[NSEG * 8];
    for (int k = 0; k < NSEG * 8; k++) big[k] = ids[NSEG - 1 - k % NSEG], big_n[k] = seg_n[NSEG - 1 - k % NSEG];
    float *big_ce = cl_malloc(8 * nv * D * sizeof *big_ce);
    int big_exact = cl_compress(m, lo, NSEG * 8, big, big_n, big_ce) == 0;
    for (int k = 0, v = 0; k < NSEG * 8 && big_exact; k++) {
        int i = NSEG - 1 - k % NSEG, p = cl_compress_n_out(seg_n[i], 2), off = 0;
        for (int q = 0; q < i; q++) off += cl_compress_n_out(seg_n[q], 2);
        if (memcmp(big_ce + (size_t)v * D, batch_ce + (size_t)off * D, (size_t)p * D * sizeof(float))) big_exact = 0;
        v += p;
    }
    OK(big_exact, "reversed and repeated batch of %d segments: identical CEs", NSEG * 8);

    /* BLAS thread count (1 or 2 sub-batches in parallel) does not change a bit */
    float *t1 = cl_malloc(nv * D * sizeof *t1), *t2 = cl_malloc(nv * D * sizeof *t2);
    int nt0 = openblas_get_num_threads();
    openblas_set_num_threads(1);
    int r1 = cl_compress(m, lo, NSEG, ids, seg_n, t1);
    openblas_set_num_threads(2);
    int r2 = cl_compress(m, lo, NSEG, ids, seg_n, t2);
    OK(r1 == 0 && r2 == 0 && !memcmp(t1, t2, nv * D * sizeof *t1) && !memcmp(t1, batch_ce, nv * D * sizeof *t1) &&
           openblas_get_num_threads() == 2,
       "1 or 2 threads: identical CEs (and the thread setting is left alone)");
    openblas_set_num_threads(nt0);
    free(t1);
    free(t2);

    /* every variant of the fixed-order product (AVX-512, AVX2, scalar) the CPU has: the same bits */
    float *iv = cl_malloc(nv * D * sizeof *iv);
    static const char *isa[] = {"avx512f", "avx2", "scalar"};
    int n_isa = 0, isa_same = 1;
    for (int v = 0; v < 3; v++) {
        if (cl_gemm_fixed_use(isa[v]) < 0) continue;
        n_isa++;
        if (cl_compress(m, lo, NSEG, ids, seg_n, iv) < 0 || memcmp(iv, batch_ce, nv * D * sizeof *iv)) isa_same = 0;
    }
    cl_gemm_fixed_use(NULL);
    OK(n_isa >= 1 && isa_same, "the %d product variants this CPU has give identical CEs", n_isa);
    free(iv);

    /* ---- file round trip ---- */
    const char *path = t_tmp("comp.gguf");
    OK(cl_compressor_save(lo, path) == 0, "save %s", path);
    cl_compressor *back = cl_compressor_load(path, m);
    OK(back && back->rate == 2 && back->max_seg == 20 && back->rank == 4 && back->alpha == 8 &&
           back->targets == lo->targets && back->n_params == lo->n_params &&
           !memcmp(back->params, lo->params, lo->n_params * sizeof(float)) && !memcmp(back->fp, lo->fp, 32) &&
           !memcmp(back->base_fp, m->fingerprint, 32),
       "load gives the same settings, parameters (bit for bit) and fingerprint");
    float *again = cl_malloc(nv * D * sizeof *again);
    OK(back && cl_compress(m, back, NSEG, ids, seg_n, again) == 0 && !memcmp(again, batch_ce, nv * D * sizeof(float)),
       "the loaded compressor compresses identically");
    cl_compressor *attn = cl_compressor_new_init(m, 4, 16, 2, 4, 0x5 /* q,v */, 9);
    const char *p2 = t_tmp("comp-qv.gguf");
    cl_compressor_save(attn, p2);
    cl_compressor *b2 = cl_compressor_load(p2, m);
    OK(b2 && b2->rate == 4 && b2->max_seg == 16 && b2->targets == 0x5 && b2->lora && !b2->lora->A[0][CL_LORA_K] &&
           b2->lora->A[1][CL_LORA_V] && !memcmp(b2->fp, attn->fp, 32),
       "q,v-only adapter at C=4 round trips (targets %s)", cl_compressor_targets_str(b2 ? b2->targets : 0));

    /* ---- errors ---- */
    cl_model wrong = *m;
    wrong.fingerprint[0] ^= 1;
    cl_compressor *none = cl_compressor_load(path, &wrong);
    OK(none == NULL && strstr(cl_error(), path) && strstr(cl_error(), "another base model"),
       "other base model: %s", cl_error());
    int32_t long_ids[21] = {0};
    const int32_t *lp = long_ids;
    int ln = 21;
    OK(cl_compress(m, lo, 1, &lp, &ln, again) < 0 && strstr(cl_error(), "21 tokens"), "segment over S: %s", cl_error());
    OK(cl_compressor_load(mp, m) == NULL, "a model is not a compressor: %s", cl_error());
    unsigned mask;
    OK(cl_compressor_parse_targets("q,k,v,o", &mask) == 0 && mask == 0xF && cl_compressor_parse_targets("mlp", &mask) == 0 &&
           mask == 0x70 && cl_compressor_parse_targets("q,x", &mask) < 0,
       "target lists parse (and reject unknown names)");

    /* ---- naive baseline ---- */
    float *nav = cl_malloc(nv * D * sizeof *nav);
    int naive_ok = cl_compress_naive(m, 2, NSEG, ids, seg_n, nav) == 0;
    for (int i = 0, v = 0; i < NSEG && naive_ok; i++)
        for (int j = 0; j < seg_n[i]; j += 2, v++)
            for (int d = 0; d < D; d++) {
                const float *te = cl_mat_f32_data(&m->tok_embd);   /* tinystories is f32 */
                double e = te[(size_t)ids[i][j] * D + d];
                if (j + 1 < seg_n[i]) e = (e + te[(size_t)ids[i][j + 1] * D + d]) / 2;
                if (fabs(e - nav[(size_t)v * D + d]) > 1e-6 * (1 + fabs(e))) naive_ok = 0;
            }
    OK(naive_ok, "naive: mean of each 2 token embeddings (the last alone when n is odd)");

    for (int i = 0; i < n_merged; i++) free(merged_w[i]);
    free(ce); free(ref); free(y); free(with); free(merged); free(batch_ce); free(big_ce); free(again); free(nav);
    cl_compressor_free(id); cl_compressor_free(lin); cl_compressor_free(lo); cl_compressor_free(plain);
    cl_compressor_free(back); cl_compressor_free(attn); cl_compressor_free(b2);
    cl_model_free(m);
    cl_model_file_close(mf);
    return t_done();
}
