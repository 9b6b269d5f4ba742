/* train_opt.c — AdamW, schedule, clipping, checkpoints (see train_opt.h). */
#include "train_opt.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "util.h"

void tr_adamw_init(tr_adamw *o, long n) {
    o->n = n;
    o->m = cl_calloc((size_t)n, sizeof(float));
    o->v = cl_calloc((size_t)n, sizeof(float));
    o->step = 0;
    o->ema = NULL;
    o->ema_decay = 0;
}

void tr_adamw_free(tr_adamw *o) {
    free(o->m);
    free(o->v);
    free(o->ema);
    memset(o, 0, sizeof *o);
}

void tr_adamw_ema(tr_adamw *o, float decay, const float *params) {
    free(o->ema);
    o->ema = cl_malloc((size_t)(o->n > 0 ? o->n : 1) * sizeof(float));
    memcpy(o->ema, params, (size_t)o->n * sizeof(float));
    o->ema_decay = decay;
}

float tr_lr_at(const tr_adamw_cfg *c, long step) {
    if (step < c->warmup) return c->lr * (float)(step + 1) / (float)c->warmup;
    long span = c->total_steps - c->warmup;
    double p = span > 0 ? (double)(step - c->warmup) / span : 1.0;
    if (p > 1) p = 1;
    double lo = c->lr * c->min_lr_ratio;
    return (float)(lo + 0.5 * (c->lr - lo) * (1.0 + cos(M_PI * p)));
}

double tr_adamw_step(tr_adamw *o, const tr_adamw_cfg *c, float *params, float *grad) {
    double ss = 0;
    for (long i = 0; i < o->n; i++) ss += (double)grad[i] * grad[i];
    double norm = sqrt(ss);
    float gs = (c->clip > 0 && norm > c->clip) ? (float)(c->clip / norm) : 1.0f;
    float lr = tr_lr_at(c, o->step);
    o->step++;
    double bc1 = 1.0 - pow(c->beta1, (double)o->step), bc2 = 1.0 - pow(c->beta2, (double)o->step);
    for (long i = 0; i < o->n; i++) {
        float g = grad[i] * gs;
        o->m[i] = c->beta1 * o->m[i] + (1 - c->beta1) * g;
        o->v[i] = c->beta2 * o->v[i] + (1 - c->beta2) * g * g;
        float mh = (float)(o->m[i] / bc1), vh = (float)(o->v[i] / bc2);
        params[i] -= lr * (mh / (sqrtf(vh) + c->eps) + c->weight_decay * params[i]);
    }
    if (o->ema) {
        float k = 1.0f - o->ema_decay;
        for (long i = 0; i < o->n; i++) o->ema[i] += k * (params[i] - o->ema[i]);
    }
    return norm;
}

static const char MAGIC[8] = {'C', 'L', 'T', 'R', 'C', 'K', 'P', '1'};

int tr_checkpoint_save(const char *path, uint64_t tag, const tr_adamw *o, const float *params) {
    cl_atomic a;
    if (cl_atomic_open(&a, path)) return -1;
    cl_sha256 h;
    cl_sha256_init(&h);
    int64_t hdr[2] = {o->step, o->n};
    const void *parts[5] = {MAGIC, &tag, hdr, NULL, NULL};
    size_t sizes[3] = {8, 8, 16};
    for (int i = 0; i < 3; i++) {
        fwrite(parts[i], 1, sizes[i], a.f);
        cl_sha256_update(&h, parts[i], sizes[i]);
    }
    const float *arr[4] = {params, o->m, o->v, o->ema};
    for (int i = 0; i < (o->ema ? 4 : 3); i++) {
        fwrite(arr[i], sizeof(float), (size_t)o->n, a.f);
        cl_sha256_update(&h, arr[i], (size_t)o->n * sizeof(float));
    }
    uint8_t d[32];
    cl_sha256_final(&h, d);
    fwrite(d, 1, 32, a.f);
    return cl_atomic_commit(&a);   /* a failed write above: "PATH: write error: ERRNO", no file */
}

int tr_checkpoint_load(const char *path, uint64_t tag, tr_adamw *o, float *params) {
    char *buf;
    size_t len;
    if (cl_read_file(path, &buf, &len)) return -1;
    int narr = o->ema ? 4 : 3;
    size_t want = 32 + narr * (size_t)o->n * sizeof(float) + 32;
    int rc = -1;
    int64_t hdr[2];
    uint64_t t;
    if (len < 64 || memcmp(buf, MAGIC, 8)) { cl_fail("%s: not a cl-train checkpoint", path); goto out; }
    memcpy(&t, buf + 8, 8);
    memcpy(hdr, buf + 16, 16);
    if (t != tag) { cl_fail("%s: checkpoint is for other settings or data", path); goto out; }
    if (hdr[1] != o->n) { cl_fail("%s: checkpoint has %lld parameters, expected %ld", path, (long long)hdr[1], o->n); goto out; }
    if (len != want) {
        cl_fail("%s: checkpoint is %zu bytes, expected %zu for %ld parameters%s", path, len, want, o->n,
                o->ema ? " with their average" : "");
        goto out;
    }
    uint8_t d[32];
    cl_sha256 h;
    cl_sha256_init(&h);
    cl_sha256_update(&h, buf, len - 32);
    cl_sha256_final(&h, d);
    if (memcmp(d, buf + len - 32, 32)) { cl_fail("%s: checksum mismatch (corrupt checkpoint)", path); goto out; }
    size_t nb = (size_t)o->n * sizeof(float);
    memcpy(params, buf + 32, nb);
    memcpy(o->m, buf + 32 + nb, nb);
    memcpy(o->v, buf + 32 + 2 * nb, nb);
    if (o->ema) memcpy(o->ema, buf + 32 + 3 * nb, nb);
    o->step = hdr[0];
    rc = 0;
out:
    free(buf);
    return rc;
}
