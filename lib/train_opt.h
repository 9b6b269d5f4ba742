/* train_opt.h — AdamW with warm-up + cosine decay and global-norm gradient clipping, an optional
 * exponential moving average of the parameters, and the training checkpoint (parameters +
 * optimizer moments + average + step) that lets cl-train resume exactly. */
#ifndef CL_TRAIN_OPT_H
#define CL_TRAIN_OPT_H
#include <stdint.h>

typedef struct {
    float lr, min_lr_ratio;   /* peak learning rate; the cosine ends at lr * min_lr_ratio */
    int warmup, total_steps;
    float beta1, beta2, eps, weight_decay, clip;   /* clip <= 0: no clipping */
} tr_adamw_cfg;

typedef struct {
    long n;
    float *m, *v;
    long step;                /* optimizer steps taken */
    /* tr_adamw_ema: after every step ema += (1 - ema_decay) (params - ema); NULL: off */
    float *ema;
    float ema_decay;
} tr_adamw;

void tr_adamw_init(tr_adamw *o, long n);
void tr_adamw_free(tr_adamw *o);
/* Keep an exponential moving average of the parameters (Polyak averaging), starting from params
 * (o->n floats); 0 < decay < 1.  Its horizon is about 1 / (1 - decay) steps. */
void tr_adamw_ema(tr_adamw *o, float decay, const float *params);
float tr_lr_at(const tr_adamw_cfg *c, long step);   /* step counts from 0 */
/* Clip grad to c->clip global L2 norm (returns the norm before clipping), then one AdamW update
 * of params (decoupled weight decay on every parameter), then the average's update if any. */
double tr_adamw_step(tr_adamw *o, const tr_adamw_cfg *c, float *params, float *grad);

/* Checkpoint file: magic "CLTRCKP1", u64 tag (identifies config + data), i64 step, i64 n,
 * then params, m, v (and ema when o->ema) as f32, then a SHA-256 of everything before it.
 * Written atomically.  The tag is what tells runs with and without an average apart. */
int tr_checkpoint_save(const char *path, uint64_t tag, const tr_adamw *o, const float *params);
/* Loads into already-sized o/params (and o->ema when set); fails if n, the tag or the presence of
 * the average differ, or the file is corrupt. */
int tr_checkpoint_load(const char *path, uint64_t tag, tr_adamw *o, float *params);

#endif
