/* test_train_loop.c — training on a tiny random model lowers the distillation loss, and a run
 * interrupted at step K and resumed from its checkpoint ends bit-identical to a straight run;
 * the parameter average (tr_adamw_ema) against a reference kept here, what the dev evaluation
 * sees, and its resume. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "t.h"
#include "train_loop.h"
#include "train_rand.h"
#include "util.h"

static cl_config tiny_cfg(void) {
    cl_config c = {0};
    c.n_vocab = 40; c.dim = 16; c.n_layers = 2; c.n_heads = 4; c.n_kv_heads = 2; c.head_dim = 4;
    c.ffn_dim = 24; c.max_ctx = 64; c.rope_theta = 10000.0f; c.rms_eps = 1e-5f;
    c.tied_embeddings = 1; c.bos_id = 1; c.eos_id = 2;
    return c;
}

static void make_examples(cl_rng *r, tr_example *ex, int n) {
    for (int k = 0; k < n; k++) {
        tr_example *e = &ex[k];
        memset(e, 0, sizeof *e);
        e->n_seg = 2 + k % 2;
        e->seg_len = cl_malloc((size_t)e->n_seg * sizeof(int));
        e->n_ctx = 0;
        for (int s = 0; s < e->n_seg; s++) { e->seg_len[s] = 3 + (int)(cl_rng_uniform(r) * 5); e->n_ctx += e->seg_len[s]; }
        e->ctx = cl_malloc((size_t)e->n_ctx * 4);
        for (int i = 0; i < e->n_ctx; i++) e->ctx[i] = 3 + (int)(cl_rng_uniform(r) * 37);
        e->n_q = 0; e->q = cl_malloc(4);
        e->n_a = 4; e->a = cl_malloc(16);
        for (int i = 0; i < 4; i++) e->a[i] = 3 + (int)(cl_rng_uniform(r) * 37);
    }
}

/* on_eval: the compressor evaluated must hold the average, not the raw parameters */
typedef struct { const tr_adamw *o; int calls, avg_seen; } eval_probe;
static int probe_eval(void *ctx, long step, double dev, cl_compressor *p) {
    eval_probe *e = ctx;
    e->calls++;
    e->avg_seen += memcmp(p->params, e->o->ema, (size_t)e->o->n * sizeof(float)) == 0;
    return 0;
}

int main(void) {
    cl_set_threads(1);
    cl_config cfg = tiny_cfg();
    cl_model *m = tr_model_random(&cfg, 5, 0.3f);
    tr_objective ob = {.C = 2, .bos = 1, .beta = 1.0f};
    cl_rng r;
    cl_rng_seed(&r, 77);
    enum { NT = 24, ND = 8 };
    tr_example tr[NT], dv[ND];
    make_examples(&r, tr, NT);
    make_examples(&r, dv, ND);
    int ok = 1;
    for (int i = 0; i < NT; i++) ok &= tr_teacher(m, &ob, &tr[i]) == 0;
    for (int i = 0; i < ND; i++) ok &= tr_teacher(m, &ob, &dv[i]) == 0;
    OK(ok, "teacher states for all examples");

    int targets = (1 << CL_LORA_Q) | (1 << CL_LORA_V) | (1 << CL_LORA_DOWN);
    tr_adamw_cfg ac = {.lr = 1e-2f, .min_lr_ratio = 0.1f, .warmup = 5, .total_steps = 200,
                       .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .clip = 1.0f};
    const char *ck = t_tmp("loop.ckpt");
    tr_loop_cfg lc = {.batch = 4, .threads = 2, .seed = 9, .ckpt_path = ck, .tag = 42};

    /* straight run */
    cl_compressor *p1 = cl_compressor_new_init(m, 2, 20, 2, 4.0f, targets, 1), *p2;
    tr_adamw o1, o2;
    tr_adamw_init(&o1, (long)p1->n_params);
    double d0 = tr_mean_loss(m, &ob, p1, dv, ND, 2), t0 = tr_mean_loss(m, &ob, p1, tr, NT, 2);
    tr_loop_stats st;
    int rc = tr_train(m, &ob, p1, &o1, &ac, &lc, tr, NT, dv, ND, &st);
    double d1 = tr_mean_loss(m, &ob, p1, dv, ND, 2), t1 = tr_mean_loss(m, &ob, p1, tr, NT, 2);
    OK(rc == 0 && o1.step == 200, "200 steps ran");
    OK(t1 < 0.7 * t0, "training loss fell by more than 30%%: %.5f -> %.5f", t0, t1);
    OK(d1 < d0, "dev loss fell: %.5f -> %.5f", d0, d1);

    /* interrupted at 23, resumed from the checkpoint in fresh state */
    p2 = cl_compressor_new_init(m, 2, 20, 2, 4.0f, targets, 1);
    tr_adamw_init(&o2, (long)p2->n_params);
    tr_loop_cfg l2 = lc;
    l2.stop_at = 23;
    rc = tr_train(m, &ob, p2, &o2, &ac, &l2, tr, NT, dv, ND, &st);
    OK(rc == 0 && st.interrupted && o2.step == 23, "stopped at step 23 with a checkpoint");
    cl_compressor_free(p2);   /* fresh state: another initialisation */
    p2 = cl_compressor_new_init(m, 2, 20, 2, 4.0f, targets, 99);
    tr_adamw_free(&o2);
    tr_adamw_init(&o2, (long)p2->n_params);
    rc = tr_checkpoint_load(ck, 42, &o2, p2->params);
    OK(rc == 0 && o2.step == 23, "checkpoint loads (step %ld)", o2.step);
    rc = tr_checkpoint_load(ck, 43, &o2, p2->params);
    OK(rc == -1, "checkpoint with another tag is refused: %s", cl_error());
    l2.stop_at = 0;
    rc = tr_train(m, &ob, p2, &o2, &ac, &l2, tr, NT, dv, ND, &st);
    OK(rc == 0 && memcmp(p1->params, p2->params, (size_t)p1->n_params * 4) == 0 &&
       memcmp(o1.m, o2.m, (size_t)p1->n_params * 4) == 0 && memcmp(o1.v, o2.v, (size_t)p1->n_params * 4) == 0,
       "23 steps + resume + 177 steps == 200 steps, bit for bit");

    /* a corrupt checkpoint is refused */
    FILE *f = fopen(ck, "r+b");
    fseek(f, 100, SEEK_SET);
    fputc(0x5a, f);
    fclose(f);
    rc = tr_checkpoint_load(ck, 42, &o2, p2->params);
    OK(rc == -1, "corrupt checkpoint refused: %s", cl_error());

    /* the average, one step at a time, against ref = d ref + (1 - d) params kept here in double */
    const float dec = 0.9f;
    cl_compressor *p3 = cl_compressor_new_init(m, 2, 20, 2, 4.0f, targets, 1);
    tr_adamw o3;
    tr_adamw_init(&o3, (long)p3->n_params);
    tr_adamw_ema(&o3, dec, p3->params);
    long np = (long)p3->n_params;
    double *ref = cl_malloc((size_t)np * sizeof(double));
    for (long i = 0; i < np; i++) ref[i] = p3->params[i];
    tr_loop_cfg l3 = lc;
    l3.ckpt_path = NULL;
    rc = 0;
    for (int k = 1; k <= 30 && rc == 0; k++) {
        l3.stop_at = k;
        rc = tr_train(m, &ob, p3, &o3, &ac, &l3, tr, NT, NULL, 0, &st);
        for (long i = 0; i < np; i++) ref[i] = dec * ref[i] + (1 - dec) * (double)p3->params[i];
    }
    double err = 0, scale = 0, moved = 0;
    for (long i = 0; i < np; i++) {
        err = fmax(err, fabs(o3.ema[i] - ref[i]));
        scale = fmax(scale, fabs(ref[i]));
        moved = fmax(moved, fabs((double)o3.ema[i] - p3->params[i]));
    }
    OK(rc == 0 && o3.step == 30, "30 single steps ran");
    OK(err <= 1e-5 * scale, "average after 30 steps == reference: max |diff| %.3g (scale %.3g, tolerance 1e-5 x scale)",
       err, scale);
    OK(moved > 1e-3 * scale, "the average lags the parameters (max |ema - params| %.3g)", moved);
    OK(memcmp(o3.ema, p1->params, (size_t)np * 4) != 0, "the average is not the straight run's parameters");

    /* with an average, the dev evaluation and on_eval see it; straight == interrupted + resumed */
    cl_compressor *p4 = cl_compressor_new_init(m, 2, 20, 2, 4.0f, targets, 1), *p5;
    tr_adamw o4, o5;
    tr_adamw_init(&o4, (long)p4->n_params);
    tr_adamw_ema(&o4, 0.95f, p4->params);
    eval_probe probe = {.o = &o4};
    tr_loop_cfg l4 = lc;
    l4.eval_every = 50; l4.on_eval = probe_eval; l4.ctx = &probe;
    rc = tr_train(m, &ob, p4, &o4, &ac, &l4, tr, NT, dv, ND, &st);
    OK(rc == 0 && probe.calls == 4 && probe.avg_seen == 4, "on_eval got the average at all %d evaluations (%d)",
       probe.calls, probe.avg_seen);
    cl_compressor *pa = cl_compressor_clone(p4);
    memcpy(pa->params, o4.ema, (size_t)np * 4);
    OK(fabs(tr_mean_loss(m, &ob, pa, dv, ND, 2) - st.last_dev) < 1e-12, "the dev loss reported is the average's");
    cl_compressor_free(pa);
    p5 = cl_compressor_new_init(m, 2, 20, 2, 4.0f, targets, 1);
    tr_adamw_init(&o5, (long)p5->n_params);
    tr_adamw_ema(&o5, 0.95f, p5->params);
    tr_loop_cfg l5 = lc;
    l5.stop_at = 37;
    rc = tr_train(m, &ob, p5, &o5, &ac, &l5, tr, NT, dv, ND, &st);
    cl_compressor_free(p5);
    p5 = cl_compressor_new_init(m, 2, 20, 2, 4.0f, targets, 99);
    tr_adamw_free(&o5);
    tr_adamw_init(&o5, (long)p5->n_params);
    rc |= tr_checkpoint_load(ck, 42, &o5, p5->params) != -1;
    OK(rc == 0, "a checkpoint with an average is refused without one: %s", cl_error());
    tr_adamw_ema(&o5, 0.95f, p5->params);
    rc = tr_checkpoint_load(ck, 42, &o5, p5->params);
    OK(rc == 0 && o5.step == 37, "checkpoint with the average loads (step %ld)", o5.step);
    l5.stop_at = 0;
    rc = tr_train(m, &ob, p5, &o5, &ac, &l5, tr, NT, dv, ND, &st);
    OK(rc == 0 && memcmp(p4->params, p5->params, (size_t)np * 4) == 0 && memcmp(o4.ema, o5.ema, (size_t)np * 4) == 0,
       "with an average: 37 steps + resume + 163 steps == 200 steps, parameters and average bit for bit");
    free(ref);
    cl_compressor_free(p3); cl_compressor_free(p4); cl_compressor_free(p5);
    tr_adamw_free(&o3); tr_adamw_free(&o4); tr_adamw_free(&o5);

    cl_compressor_free(p1); cl_compressor_free(p2); tr_adamw_free(&o1); tr_adamw_free(&o2);
    for (int i = 0; i < NT; i++) tr_example_free(&tr[i]);
    for (int i = 0; i < ND; i++) tr_example_free(&dv[i]);
    tr_model_random_free(m);
    return t_done();
}
