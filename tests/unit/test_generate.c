/* cl-eval's scoring and greedy helpers against a direct computation: for every continuation
 * token, a fresh forward pass over the whole sequence up to it (no cache, no chunking), its
 * last logits and a log-softmax written out here; the prefix given as embeddings (the token
 * embedding rows) must score as the ids do. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "generate.h"
#include "t.h"
#include "util.h"

static cl_config small_config(void) {
    cl_config c = {.arch = CL_ARCH_LLAMA, .n_vocab = 97, .dim = 32, .n_layers = 2, .n_heads = 4,
                   .n_kv_heads = 2, .head_dim = 8, .ffn_dim = 48, .max_ctx = 512, .rope_theta = 10000,
                   .rms_eps = 1e-5f, .tied_embeddings = 1, .bos_id = 1, .eos_id = 2};
    return c;
}

/* Logits of the last position of seq[0..n) by one cache-free forward. */
static void last_logits(const cl_model *m, const int32_t *seq, int n, float *lg) {
    cl_batch b = {.n_tokens = n, .ids = seq, .logits = lg};
    if (cl_forward(m, NULL, &b) < 0) {
        fprintf(stderr, "%s\n", cl_error());
        exit(1);
    }
}

/* on_token: records the ids it sees; asks to stop after quit_after of them (0: never). */
typedef struct {
    int32_t seen[64];
    int n, quit_after;
} token_log;

static int log_token(void *ctx, int32_t id) {
    token_log *l = ctx;
    if (l->n < 64) l->seen[l->n] = id;
    l->n++;
    return l->quit_after && l->n == l->quit_after;
}

static double direct_log_prob(const float *lg, int V, int id) {
    long double mx = -INFINITY, z = 0;
    for (int v = 0; v < V; v++) mx = lg[v] > mx ? lg[v] : mx;
    for (int v = 0; v < V; v++) z += expl(lg[v] - mx);
    return (double)(lg[id] - mx - logl(z));
}

int main(void) {
    cl_config c = small_config();
    cl_model *m = cl_model_random(&c, 7);
    OK(m != NULL, "random model");
    if (!m) return t_done();
    int V = c.n_vocab, n_pre = 9, n_cont = 150;   /* > 2 scoring chunks */
    int32_t *seq = cl_malloc((size_t)(n_pre + n_cont) * sizeof *seq);
    seq[0] = 1;
    for (int i = 1; i < n_pre + n_cont; i++) seq[i] = (int32_t)((i * 37 + 11) % V);
    float *lg = cl_malloc((size_t)V * sizeof *lg);
    double want = 0;
    int want_top1 = 0;
    for (int i = 0; i < n_cont; i++) {
        last_logits(m, seq, n_pre + i, lg);
        want -= direct_log_prob(lg, V, seq[n_pre + i]);
        int am = 0;
        for (int v = 1; v < V; v++) am = lg[v] > lg[am] ? v : am;
        want_top1 += am == seq[n_pre + i];
    }
    /* prefix in two pieces, both ids */
    cl_piece ids_pieces[2] = {{.ids = seq, .n = 1}, {.ids = seq + 1, .n = n_pre - 1}};
    double got;
    int top1;
    OK(cl_score_continuation(m, ids_pieces, 2, seq + n_pre, n_cont, &got, &top1) == 0, "score (ids)");
    OK(fabs(got - want) <= 1e-5 * fabs(want), "NLL sum %.6f matches the direct computation %.6f", got, want);
    OK(top1 == want_top1, "top-1 count %d = %d", top1, want_top1);
    printf("# mean NLL %.4f nats over %d tokens (log V = %.4f)\n", want / n_cont, n_cont, log(V));

    /* the same prefix as embeddings: rows of the token embedding table */
    float *e = cl_malloc((size_t)(n_pre - 1) * c.dim * sizeof *e);
    for (int i = 1; i < n_pre; i++) cl_mat_row(&m->tok_embd, seq[i], e + (size_t)(i - 1) * c.dim);
    cl_piece emb_pieces[2] = {{.ids = seq, .n = 1}, {.embd = e, .n = n_pre - 1}};
    double got_e;
    OK(cl_score_continuation(m, emb_pieces, 2, seq + n_pre, n_cont, &got_e, NULL) == 0, "score (embeddings)");
    OK(fabs(got_e - want) <= 1e-5 * fabs(want), "embedding prefix scores as the ids do: %.6f vs %.6f", got_e, want);

    /* one-token continuation, and a bad id */
    double one;
    last_logits(m, seq, n_pre, lg);
    OK(cl_score_continuation(m, ids_pieces, 2, seq + n_pre, 1, &one, NULL) == 0 &&
           fabs(one + direct_log_prob(lg, V, seq[n_pre])) < 1e-6, "single-token continuation");
    int32_t bad = V;
    OK(cl_score_continuation(m, ids_pieces, 2, &bad, 1, &one, NULL) < 0, "id outside the vocabulary fails");

    /* greedy: each token is the argmax of a fresh forward over everything before it */
    int32_t gen[40], *all = cl_malloc((size_t)(n_pre + 40) * sizeof *all);
    memcpy(all, seq, (size_t)n_pre * sizeof *all);
    cl_gen_stats st = {0};
    int n = cl_greedy(m, emb_pieces, 2, 40, NULL, 0, gen, &st);
    OK(n == 40, "greedy made 40 tokens");
    int same = 1;
    for (int i = 0; i < n && same; i++) {
        last_logits(m, all, n_pre + i, lg);
        int am = 0;
        for (int v = 1; v < V; v++) am = lg[v] > lg[am] ? v : am;
        same = am == gen[i];
        all[n_pre + i] = gen[i];
    }
    OK(same, "greedy tokens equal the step-by-step argmax");
    OK(st.kv_bytes == (size_t)2 * c.n_layers * n_pre * c.n_kv_heads * c.head_dim * sizeof(float),
       "KV bytes of the prefix: %zu", st.kv_bytes);
    OK(st.ttft_s >= st.prefill_s && st.prefill_s > 0, "ttft >= prefill time > 0");
    int first = 1;   /* the first position whose token did not occur before it */
    for (int dup = 1; first < n && dup; first += dup) {
        dup = 0;
        for (int j = 0; j < first; j++) dup |= gen[j] == gen[first];
    }
    int stop[2] = {-1, first < n ? gen[first] : gen[0]};
    if (first >= n) first = 0;
    OK(cl_greedy(m, emb_pieces, 2, 40, stop, 2, gen, NULL) == first, "greedy stops before a stop id (%d)", first);

    /* the per-token callback sees every token kept, the last (max_new) one included */
    int32_t gen2[40];
    token_log lg_all = {0};
    n = cl_generate(m, emb_pieces, 2, 40, NULL, NULL, 0, log_token, &lg_all, gen2, NULL);
    OK(n == 40 && lg_all.n == 40 && !memcmp(lg_all.seen, gen2, 40 * sizeof *gen2),
       "callback called for all %d tokens (%d), in order", n, lg_all.n);
    token_log lg_quit = {.quit_after = 7};
    OK(cl_generate(m, emb_pieces, 2, 40, NULL, NULL, 0, log_token, &lg_quit, NULL, NULL) == 7 && lg_quit.n == 7,
       "a non-zero callback return ends generation after that token");
    /* a caller's cache (bf16 here) of exactly prefix + max_new - 1 positions is enough, and an
     * f32 one of that size reproduces cl_generate */
    cl_kv *kv = cl_kv_new(m, n_pre + 40 - 1);
    int32_t gen3[40];
    cl_gen_stats st3;
    OK(kv && cl_generate_kv(m, kv, emb_pieces, 2, 40, NULL, NULL, 0, NULL, NULL, gen3, &st3) == 40 &&
           !memcmp(gen3, gen2, sizeof gen3) && cl_kv_len(kv) == n_pre + 39 && st3.decode_steps == 39,
       "cl_generate_kv on a caller's f32 cache: same tokens, cache filled to prefix + 39");
    cl_kv_free(kv);
    kv = cl_kv_new_type(m, n_pre + 40 - 1, CL_BF16);
    OK(kv && cl_generate_kv(m, kv, emb_pieces, 2, 40, NULL, NULL, 0, NULL, NULL, gen3, NULL) == 40,
       "cl_generate_kv on a bf16 cache makes 40 tokens");
    cl_kv_free(kv);
    free(all);
    free(e);
    free(lg);
    free(seq);
    cl_model_free(m);
    return t_done();
}
