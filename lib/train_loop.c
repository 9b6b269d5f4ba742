/* train_loop.c — the training loop (see train_loop.h). */
#include "train_loop.h"
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "train_each.h"
#include "train_rand.h"
#include "util.h"

typedef struct {
    const cl_model *m;
    const tr_objective *o;
    const cl_compressor *p;
    tr_example *ex;
    const int *idx;
    int n, stride, first;
    tr_grads *grad;           /* NULL: loss only */
    float weight;
    tr_workspace w;
    double loss;
    int rc;
    char err[256];
} worker;

static void *work(void *arg) {
    worker *k = arg;
    k->loss = 0;
    k->rc = 0;
    for (int i = k->first; i < k->n; i += k->stride) {
        double l;
        if (tr_example_loss(&k->w, k->m, k->o, k->p, &k->ex[k->idx[i]], k->grad, k->weight, &l)) {
            k->rc = -1;
            snprintf(k->err, sizeof k->err, "%s", cl_error());
            return NULL;
        }
        k->loss += l;
    }
    return NULL;
}

/* Run the workers over idx[0..n); returns the summed loss or NAN on error. */
static double run_workers(worker *ws, int nt, tr_example *ex, const int *idx, int n) {
    pthread_t th[64];
    for (int t = 0; t < nt; t++) {
        ws[t].ex = ex; ws[t].idx = idx; ws[t].n = n; ws[t].stride = nt; ws[t].first = t;
        if (nt > 1) pthread_create(&th[t], NULL, work, &ws[t]);
        else work(&ws[t]);
    }
    double s = 0;
    for (int t = 0; t < nt; t++) {
        if (nt > 1) pthread_join(th[t], NULL);
        if (ws[t].rc) { cl_fail("%s", ws[t].err); return NAN; }
        s += ws[t].loss;
    }
    return s;
}

static int clamp_threads(int t) { return t < 1 ? 1 : t > 64 ? 64 : t; }

typedef struct {
    const cl_model *m;
    const tr_objective *o;
    tr_example *ex;
} teacher_job;

static int teacher_one(void *ctx, int i) {
    teacher_job *k = ctx;
    return tr_teacher(k->m, k->o, &k->ex[i]);
}

int tr_teacher_pass(const cl_model *m, const tr_objective *o, tr_example *ex, int n, int threads,
                    volatile sig_atomic_t *stop) {
    teacher_job k = {.m = m, .o = o, .ex = ex};
    tr_each_result r;
    if (tr_each(n, threads, teacher_one, &k, stop, NULL, &r) == 0) return 0;
    if (r.bad >= 0) return cl_fail("example %d: %s", r.bad + 1, r.err);
    cl_fail("interrupted at example %d of %d of the teacher pass", r.stopped + 1, n);
    return 1;
}

double tr_mean_loss(const cl_model *m, const tr_objective *o, const cl_compressor *p, tr_example *ex,
                    int n, int threads) {
    int nt = clamp_threads(threads);
    worker ws[64];
    int *idx = cl_malloc((size_t)(n > 0 ? n : 1) * sizeof(int));
    for (int i = 0; i < n; i++) idx[i] = i;
    for (int t = 0; t < nt; t++) {
        memset(&ws[t], 0, sizeof ws[t]);
        ws[t].m = m; ws[t].o = o; ws[t].p = p; ws[t].weight = 1.0f;
        tr_workspace_init(&ws[t].w);
    }
    double s = run_workers(ws, nt, ex, idx, n);
    for (int t = 0; t < nt; t++) tr_workspace_free(&ws[t].w);
    free(idx);
    return n > 0 ? s / n : 0.0;
}

static void epoch_perm(uint64_t seed, long epoch, int n, int *perm) {
    cl_rng r;
    cl_rng_seed(&r, seed * 1000003u + (uint64_t)epoch);
    for (int i = 0; i < n; i++) perm[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(cl_rng_uniform(&r) * (i + 1));
        int t = perm[i]; perm[i] = perm[j]; perm[j] = t;
    }
}

double tr_example_flops(const cl_config *c, const tr_objective *o, const tr_example *e, int rank) {
    double D = c->dim, Q = (double)c->n_heads * c->head_dim, KV = (double)c->n_kv_heads * c->head_dim;
    double per_tok = 2.0 * (D * Q * 2 + D * KV * 2 + 3 * D * c->ffn_dim) * c->n_layers;
    int nce = 0;
    double attn = 0;
    for (int s = 0; s < e->n_seg; s++) {
        int L = e->seg_len[s] + (e->seg_len[s] + o->C - 1) / o->C;
        nce += (e->seg_len[s] + o->C - 1) / o->C;
        attn += 2.0 * 2 * (double)L * L / 2 * Q * c->n_layers;
    }
    double tc = e->n_ctx + nce, ts = 1 + nce + e->n_q + e->n_a;
    attn += 2.0 * 2 * ts * ts / 2 * Q * c->n_layers;
    double lora = 2.0 * rank * (D * 4 + Q * 2 + KV * 2) * c->n_layers * tc;  /* rough */
    /* the logit terms: the student's logits (and the teacher's, for KL) and the student's
     * backward through the LM head */
    double kl = (o->kl > 0 ? 3.0 : o->ce > 0 ? 2.0 : 0) * 2 * (e->n_a + 1) * D * c->n_vocab;
    /* the last layer projects q and o and runs its MLP at the rows the loss reads only (the
     * placeholders, the answer positions: cl_batch.top_from) */
    double top_cut = ((tc - nce) + (ts - (e->n_a + 1))) * 2.0 * (D * Q * 2 + 3 * D * c->ffn_dim);
    /* frozen base weights: the backward computes input gradients only (~1x the forward) */
    return 2.0 * ((tc + ts) * per_tok - top_cut + attn + lora) + 3.0 * 2 * D * D * nce + kl;
}

int tr_train(const cl_model *m, const tr_objective *ob, cl_compressor *p, tr_adamw *o,
             const tr_adamw_cfg *ac, const tr_loop_cfg *lc, tr_example *train, int n_train,
             tr_example *dev, int n_dev, tr_loop_stats *st) {
    memset(st, 0, sizeof *st);
    st->first_loss = st->first_dev = st->last_dev = st->best_dev = NAN;
    if (n_train < 1) return cl_fail("train: no training examples");
    int nt = clamp_threads(lc->threads), B = lc->batch < 1 ? 1 : lc->batch;
    if (nt > B) nt = B;
    worker ws[64];
    tr_grads *grads = cl_calloc((size_t)nt, sizeof *grads);
    long np = (long)p->n_params;
    for (int t = 0; t < nt; t++) {
        memset(&ws[t], 0, sizeof ws[t]);
        tr_grads_alloc(&grads[t], p);
        ws[t].m = m; ws[t].o = ob; ws[t].p = p; ws[t].grad = &grads[t]; ws[t].weight = 1.0f / B;
        tr_workspace_init(&ws[t].w);
    }
    cl_compressor *avg = o->ema && n_dev > 0 ? cl_compressor_clone(p) : NULL;   /* what the dev loss sees */
    int *perm = cl_malloc((size_t)n_train * sizeof(int)), *idx = cl_malloc((size_t)B * sizeof(int));
    long cur_epoch = -1;
    double t0 = cl_now(), win = 0, last_print = 0;
    long win_n = 0;
    int rc = 0;
    while (o->step < ac->total_steps) {
        if ((lc->stop && *lc->stop) || (lc->stop_at > 0 && o->step >= lc->stop_at) ||
            (lc->max_seconds > 0 && cl_now() - t0 >= lc->max_seconds)) {
            st->interrupted = 1;
            break;
        }
        for (int i = 0; i < B; i++) {
            long g = o->step * B + i, ep = g / n_train;
            if (ep != cur_epoch) { epoch_perm(lc->seed, ep, n_train, perm); cur_epoch = ep; }
            idx[i] = perm[g % n_train];
        }
        for (int t = 0; t < nt; t++) memset(grads[t].data, 0, grads[t].n * sizeof(float));
        double loss = run_workers(ws, nt, train, idx, B);
        if (isnan(loss)) { rc = -1; break; }
        for (int t = 1; t < nt; t++)
            for (long i = 0; i < np; i++) grads[0].data[i] += grads[t].data[i];
        double gnorm = tr_adamw_step(o, ac, p->params, grads[0].data);
        for (int i = 0; i < B; i++) st->flops += tr_example_flops(&m->cfg, ob, &train[idx[i]], p->rank);
        st->examples += B;
        st->steps_done++;
        loss /= B;
        win += loss; win_n++;
        double now = cl_now();
        if (lc->progress && (now - last_print > 2.0 || o->step == ac->total_steps)) {
            double el = now - t0;
            fprintf(stderr, "step %ld/%d loss %.5f gnorm %.3g lr %.2e  %.1f ex/s %.2f GFLOP/s\n", o->step,
                    ac->total_steps, win / win_n, gnorm, tr_lr_at(ac, o->step - 1),
                    st->examples / el, st->flops / el * 1e-9);
            if (isnan(st->first_loss)) st->first_loss = win / win_n;
            st->last_loss = win / win_n;
            win = 0; win_n = 0;
            last_print = now;
        } else if (isnan(st->first_loss)) {
            st->first_loss = loss;
        }
        st->last_loss = win_n ? win / win_n : st->last_loss;
        int do_eval = lc->eval_every > 0 && (o->step % lc->eval_every == 0 || o->step == ac->total_steps);
        if (do_eval && n_dev > 0) {
            cl_compressor *pe = p;
            if (avg) {
                memcpy(avg->params, o->ema, (size_t)np * sizeof(float));
                pe = avg;
            }
            double d = tr_mean_loss(m, ob, pe, dev, n_dev, nt);
            if (isnan(st->first_dev)) st->first_dev = d;
            st->last_dev = d;
            if (isnan(st->best_dev) || d < st->best_dev) st->best_dev = d;
            if (lc->progress) fprintf(stderr, "step %ld dev loss %.5f\n", o->step, d);
            if (lc->on_eval && lc->on_eval(lc->ctx, o->step, d, pe)) { rc = -1; break; }
        }
        if (lc->ckpt_path && lc->ckpt_every > 0 && o->step % lc->ckpt_every == 0 &&
            tr_checkpoint_save(lc->ckpt_path, lc->tag, o, p->params)) { rc = -1; break; }
    }
    if (rc == 0 && lc->ckpt_path && tr_checkpoint_save(lc->ckpt_path, lc->tag, o, p->params)) rc = -1;
    st->seconds = cl_now() - t0;
    for (int t = 0; t < nt; t++) {
        tr_grads_free(&grads[t]);
        tr_workspace_free(&ws[t].w);
    }
    free(grads);
    cl_compressor_free(avg);
    free(perm);
    free(idx);
    return rc;
}
