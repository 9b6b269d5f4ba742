/* test_train_forward.c — cl_forward recording a tape (the trainer's forward) against cl_forward
 * without one, and the trainer's compressor pass against cl_compress: same numbers within
 * 1e-5 relative (max |a - b| / max |b| per tensor), on the real tinystories-656k weights with a
 * random LoRA on every projection, and on random models of both RoPE layouts, with q/k/v biases
 * with Qwen3's q/k norm and with Gemma 3's maths (windows, GeGLU, post norms, scales); the tape's
 * residual stream equals the requested layer outputs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "t.h"
#include "compressor.h"
#include "model_file.h"
#include "tape.h"
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
    cl_compressor *p = cl_compressor_new_init(m, 2, 20, 4, 8.0f, (1u << CL_LORA_NT) - 1, 1);
    cl_rng_fill_normal(&r, p->params, (long)p->n_params, 0.05f);
    int seq[3] = {9, 1, 17}, T = 27;
    int32_t ids[27];
    for (int i = 0; i < T; i++) ids[i] = (int32_t)(cl_rng_uniform(&r) * c->n_vocab);
    int *pos = cl_malloc(T * sizeof(int));
    for (int i = 0; i < T; i++) pos[i] = i;
    size_t nl = (size_t)(L + 1) * T * D;
    float *layers = cl_malloc(nl * 4), *fin = cl_malloc((size_t)T * D * 4);
    float *layers2 = cl_malloc(nl * 4), *fin2 = cl_malloc((size_t)T * D * 4);
    cl_batch b = {.n_tokens = T, .ids = ids, .n_seq = 3, .seq_len = seq, .lora = p->lora,
                  .n_out = T, .out_pos = pos, .out_final = fin, .out_layers = layers};
    int rc = cl_forward(m, NULL, &b);
    cl_tape t;
    cl_tape_init(&t);
    b.tape = &t;
    b.out_final = fin2;
    b.out_layers = layers2;
    int rc2 = cl_forward(m, NULL, &b);
    OK(rc == 0 && rc2 == 0, "%s: forward with and without a tape runs", what);
    double worst = 0, tape_worst = 0;
    for (int l = 0; l <= L; l++)
        tape_worst = fmax(tape_worst, rel_err(t.x[l], layers + (long)l * T * D, (long)T * D));
    worst = rel_err(layers2, layers, (long)nl);
    double ef = rel_err(fin2, fin, (long)T * D);
    OK(worst <= 1e-5 && tape_worst <= 1e-5,
       "%s: residual stream after every layer, 3 sequences, LoRA on all: rel %.2g (tape's own %.2g)",
       what, worst, tape_worst);
    OK(ef <= 1e-5, "%s: final-norm states: rel %.2g", what, ef);
    b.tape = &t;
    cl_kv *kv = cl_kv_new(m, 64);
    b.n_seq = 0;
    int rc3 = cl_forward(m, kv, &b);
    OK(rc3 < 0, "%s: a tape with a kv cache is refused: %s", what, cl_error());
    cl_kv_free(kv);
    cl_tape_free(&t);
    free(pos); free(layers); free(fin); free(layers2); free(fin2);
    cl_compressor_free(p);
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
            cl_model_free(m);
        }
        cl_model_file_close(mf);
    }
    for (int inter = 0; inter <= 2; inter++) {
        cl_config c = {0};
        c.arch = inter == 1 ? CL_ARCH_LLAMA : inter ? CL_ARCH_QWEN3 : CL_ARCH_QWEN2;
        c.n_vocab = 50; c.dim = 24; c.n_layers = 3; c.n_heads = 6; c.n_kv_heads = 2; c.head_dim = 4;
        c.ffn_dim = 40; c.max_ctx = 64; c.rope_theta = 500.0f; c.rms_eps = 1e-5f;
        c.tied_embeddings = 1; c.attn_bias = !inter; c.rope_interleaved = inter == 1; c.bos_id = 1;
        c.eos_id = 2; c.qk_norm = inter == 2;
        cl_model *m = tr_model_random(&c, 9, 0.2f);
        compare(m, inter == 1 ? "random llama, interleaved rope" : inter ? "random qwen3-style, q/k norm"
                : "random qwen2-style, biases, half rope", 2);
        tr_model_random_free(m);
    }
    {   /* Gemma 3 maths: local (window 5 < sequences 9 and 17, own RoPE base) and global layers,
         * GeGLU, post norms, attention and embedding scales, q/k norm */
        cl_config c = {0};
        c.arch = CL_ARCH_GEMMA3;
        c.n_vocab = 50; c.dim = 24; c.n_layers = 3; c.n_heads = 6; c.n_kv_heads = 2; c.head_dim = 8;
        c.ffn_dim = 40; c.max_ctx = 64; c.rope_theta = 1e6f; c.rope_theta_local = 500.0f; c.rms_eps = 1e-6f;
        c.tied_embeddings = 1; c.bos_id = 1; c.eos_id = 2; c.act = CL_ACT_GELU_TANH; c.qk_norm = 1;
        c.sliding_window = 5; c.layer_window[0] = c.layer_window[1] = 1; c.post_norms = 1;
        c.embd_scale = sqrtf(24.0f); c.attn_scale = 0.25f;
        cl_model *m = tr_model_random(&c, 9, 0.2f);
        compare(m, "random gemma3-style, 2 local + 1 global layers", 3);
        /* the student's token embeddings (tr_embed) are what the forward uses for ids */
        int32_t ids[6] = {3, 4, 5, 17, 30, 49};
        float e[6 * 24], y1[6 * 24], y2[6 * 24];
        int pos[6] = {0, 1, 2, 3, 4, 5};
        tr_embed(m, ids, 6, e);
        cl_batch b1 = {.n_tokens = 6, .ids = ids, .n_out = 6, .out_pos = pos, .out_final = y1};
        cl_batch b2 = {.n_tokens = 6, .embd = e, .n_out = 6, .out_pos = pos, .out_final = y2};
        int rc = cl_forward(m, NULL, &b1) | cl_forward(m, NULL, &b2);
        OK(rc == 0 && !memcmp(y1, y2, sizeof y1), "gemma3: tr_embed(ids) fed as embeddings == the ids (embd_scale %.3g)",
           (double)c.embd_scale);
        tr_model_random_free(m);
    }
    return t_done();
}
