/* test_train_forward.c — the trainer's own forward (train_model.c) against the engine's
 * cl_forward, and the trainer's compressor pass against cl_compress: same numbers within
 * 1e-5 relative (max |a - b| / max |b| per tensor), on the real tinystories-656k weights with a
 * random LoRA on every projection, and on random models of both RoPE layouts with q/k/v biases. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "t.h"
#include "compressor.h"
#include "model_file.h"
#include "train_distill.h"
#include "train_rand.h"
#include "util.h"

static double rel_err(const float *a, const float *b, long n) {
    double d = 0, s = 0;
    for (long i = 0; i < n; i++) {
        d = fmax(d, fabs((double)a[i] - b[i]));
        s = fmax(s, fabs((double)b[i]));
    }
    return d / (s > 0 ? s : 1);
}

static void compare(const cl_model *m, const char *what, uint64_t seed) {
    const cl_config *c = &m->cfg;
    int D = c->dim, L = c->n_layers;
    cl_rng r;
    cl_rng_seed(&r, seed);
    tr_params p;
    tr_params_alloc(&p, c, 4, 8.0f, (1 << CL_LORA_NT) - 1);
    tr_rng_fill_normal(&r, p.data, p.n, 0.05f);
    int seq[3] = {9, 1, 17}, T = 27;
    int32_t ids[27];
    for (int i = 0; i < T; i++) ids[i] = (int32_t)(cl_rng_uniform(&r) * c->n_vocab);
    float *embd = cl_malloc((size_t)T * D * 4);
    for (int i = 0; i < T; i++) cl_mat_row(&m->tok_embd, ids[i], embd + (long)i * D);
    int *pos = cl_malloc(T * sizeof(int));
    for (int i = 0; i < T; i++) pos[i] = i;
    float *layers = cl_malloc((size_t)(L + 1) * T * D * 4), *fin = cl_malloc((size_t)T * D * 4);
    cl_batch b = {.n_tokens = T, .ids = ids, .n_seq = 3, .seq_len = seq, .lora = &p.lora,
                  .n_out = T, .out_pos = pos, .out_final = fin, .out_layers = layers};
    int rc = cl_forward(m, NULL, &b);
    tr_tape t;
    tr_tape_init(&t);
    int rc2 = tr_forward(&t, m, &p.lora, embd, 3, seq);
    OK(rc == 0 && rc2 == 0, "%s: both forwards run", what);
    double worst = 0;
    for (int l = 0; l <= L; l++) worst = fmax(worst, rel_err(t.x[l], layers + (long)l * T * D, (long)T * D));
    double ef = rel_err(t.xf, fin, (long)T * D);
    OK(worst <= 1e-5, "%s: residual stream after every layer, 3 sequences, LoRA on all: rel %.2g", what, worst);
    OK(ef <= 1e-5, "%s: final-norm states: rel %.2g", what, ef);
    tr_tape_free(&t);
    free(embd); free(pos); free(layers); free(fin);
    tr_params_free(&p);
}

static void compare_compress(const cl_model *m) {
    cl_compressor *c = cl_compressor_new_init(m, 2, 20, 4, 8.0f, (1 << CL_LORA_NT) - 1, 5);
    OK(c != NULL, "fresh compressor");
    if (!c) return;
    cl_rng r;
    cl_rng_seed(&r, 3);
    tr_params p;
    tr_params_alloc(&p, &m->cfg, 4, 8.0f, (1 << CL_LORA_NT) - 1);
    OK((size_t)p.n == c->n_params, "the trainer's parameter vector has the compressor's size (%ld)", p.n);
    tr_rng_fill_normal(&r, p.data, p.n, 0.05f);
    memcpy(c->params, p.data, (size_t)p.n * 4);
    int segs[3] = {7, 20, 1};
    tr_example e = {.n_seg = 3, .seg_len = segs, .n_ctx = 28};
    int32_t ids[28];
    for (int i = 0; i < 28; i++) ids[i] = 3 + (int32_t)(cl_rng_uniform(&r) * (m->cfg.n_vocab - 3));
    e.ctx = ids;
    const int32_t *sp[3] = {ids, ids + 7, ids + 27};
    float *mine = NULL, *ref = cl_malloc(15 * (size_t)m->cfg.dim * 4);
    tr_objective o = {.C = 2, .bos = 1, .beta = 1};
    tr_workspace w;
    tr_workspace_init(&w);
    int n = tr_compress(&w, m, &o, &p, &e, &mine);
    int rc = cl_compress(m, c, 3, sp, segs, ref);
    OK(n == 15 && rc == 0, "both compress 28 tokens in 3 segments into 15 CEs");
    if (n == 15 && rc == 0) {
        double er = rel_err(mine, ref, 15L * m->cfg.dim);
        OK(er <= 1e-5, "trainer's CEs == cl_compress's CEs: rel %.2g", er);
    }
    free(mine); free(ref);
    tr_workspace_free(&w);
    tr_params_free(&p);
    cl_compressor_free(c);
}

int main(void) {
    cl_set_threads(1);
    const char *path = t_shared("models/tinystories-656k");
    if (!path) {
        SKIP("../shared/models/tinystories-656k absent");
    } else {
        cl_model_file *mf = cl_model_file_open(path);
        cl_model *m = mf ? cl_model_load(mf) : NULL;
        OK(m != NULL, "load tinystories-656k");
        if (m) {
            compare(m, "tinystories-656k", 1);
            compare_compress(m);
            cl_model_free(m);
        }
        cl_model_file_close(mf);
    }
    for (int inter = 0; inter <= 1; inter++) {
        cl_config c = {0};
        c.arch = inter ? CL_ARCH_LLAMA : CL_ARCH_QWEN2;
        c.n_vocab = 50; c.dim = 24; c.n_layers = 3; c.n_heads = 6; c.n_kv_heads = 2; c.head_dim = 4;
        c.ffn_dim = 40; c.max_ctx = 64; c.rope_theta = 500.0f; c.rms_eps = 1e-5f;
        c.tied_embeddings = 1; c.attn_bias = !inter; c.rope_interleaved = inter; c.bos_id = 1; c.eos_id = 2;
        cl_model *m = tr_model_random(&c, 9, 0.2f);
        compare(m, inter ? "random llama, interleaved rope" : "random qwen2-style, biases, half rope", 2);
        tr_model_random_free(m);
    }
    return t_done();
}
