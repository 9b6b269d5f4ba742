/* train_loop.h — the training loop: mini-batches of examples (gradient accumulation), data
 * parallel over threads, AdamW steps, periodic dev loss and checkpoints, exact resume. */
#ifndef CL_TRAIN_LOOP_H
#define CL_TRAIN_LOOP_H
#include <signal.h>
#include <stdint.h>
#include "train_distill.h"
#include "train_opt.h"

typedef struct {
    int batch;                /* examples per optimizer step */
    int threads;              /* worker threads (each takes part of the batch) */
    uint64_t seed;            /* data order: a fresh permutation per epoch from (seed, epoch) */
    int eval_every, ckpt_every, progress;
    const char *ckpt_path;    /* NULL: no checkpoints */
    uint64_t tag;             /* checkpoint tag (settings + data) */
    volatile sig_atomic_t *stop;   /* set (by a signal handler) to checkpoint and stop */
    long stop_at;             /* > 0: stop (with a checkpoint) once the optimizer reaches this step */
    double max_seconds;       /* > 0: likewise after this much wall time */
    /* called after each dev evaluation with the parameters evaluated: p's, or with an average
     * (o->ema) a copy of p holding the average */
    int (*on_eval)(void *ctx, long step, double dev_loss, cl_compressor *p);
    void *ctx;
} tr_loop_cfg;

typedef struct {
    long steps_done;
    double first_loss, last_loss;     /* mean train loss of the first / last logged window */
    double first_dev, last_dev, best_dev;
    double seconds, flops;            /* wall time and estimated FLOPs of the steps run here */
    long examples;
    int interrupted;
} tr_loop_stats;

/* The teacher pass (tr_teacher) over ex[0..n) on up to `threads` threads; each example's
 * answer and states are its own, so they do not depend on the thread count.  Returns 0; -1
 * with cl_error() prefixed "example I: " (1-based, the lowest failing I); 1 when *stop was set
 * (stop may be NULL), with cl_error() saying how many examples were done. */
int tr_teacher_pass(const cl_model *m, const tr_objective *o, tr_example *ex, int n, int threads,
                    volatile sig_atomic_t *stop);

/* Mean loss over examples (no gradient), using up to `threads` threads. */
double tr_mean_loss(const cl_model *m, const tr_objective *o, const cl_compressor *p, tr_example *ex,
                    int n, int threads);

/* Train p's parameters in place from the optimizer's current step (o->step) to
 * ac->total_steps.  With an average (tr_adamw_ema) the dev loss is the average's: p keeps the
 * raw parameters (what the next step starts from) and o->ema the average. */
int tr_train(const cl_model *m, const tr_objective *ob, cl_compressor *p, tr_adamw *o,
             const tr_adamw_cfg *ac, const tr_loop_cfg *lc, tr_example *train, int n_train,
             tr_example *dev, int n_dev, tr_loop_stats *st);

/* Estimated FLOPs of one example's forward + backward (for GFLOP/s reports): 2 per multiply-add
 * of the matmuls and attention, times 2 (the base weights are frozen, so the backward computes
 * input gradients only; LoRA/linear weight gradients are small). */
double tr_example_flops(const cl_config *c, const tr_objective *o, const tr_example *e, int rank);

#endif
