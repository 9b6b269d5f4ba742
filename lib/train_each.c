/* train_each.c — one job per example on worker threads (see train_each.h). */
#include "train_each.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util.h"

typedef struct {
    tr_each_fn fn;
    void *ctx;
    int n, stride, first;
    volatile sig_atomic_t *stop;
    uint8_t *done;
    atomic_int *n_done;
    tr_each_progress progress;   /* thread 0 only */
    int bad;
    char err[256];
} each_worker;

static void *each_work(void *arg) {
    each_worker *k = arg;
    for (int i = k->first; i < k->n; i += k->stride) {
        if (k->stop && *k->stop) break;
        if (k->fn(k->ctx, i)) {
            k->bad = i;
            snprintf(k->err, sizeof k->err, "%s", cl_error());
            break;
        }
        k->done[i] = 1;
        int d = atomic_fetch_add(k->n_done, 1) + 1;
        if (k->progress) k->progress(k->ctx, d, k->n);
    }
    return NULL;
}

int tr_each(int n, int threads, tr_each_fn fn, void *ctx, volatile sig_atomic_t *stop,
            tr_each_progress progress, tr_each_result *r) {
    int nt = threads < 1 ? 1 : threads > 64 ? 64 : threads;
    if (nt > n) nt = n > 0 ? n : 1;
    uint8_t *done = cl_calloc((size_t)(n > 0 ? n : 1), 1);
    atomic_int n_done = 0;
    each_worker ws[64];
    pthread_t th[64];
    int started[64] = {0};
    for (int t = 0; t < nt; t++) {
        ws[t] = (each_worker){.fn = fn, .ctx = ctx, .n = n, .stride = nt, .first = t, .stop = stop,
                              .done = done, .n_done = &n_done, .progress = t == 0 ? progress : NULL, .bad = -1};
        started[t] = t > 0 && pthread_create(&th[t], NULL, each_work, &ws[t]) == 0;
    }
    each_work(&ws[0]);
    for (int t = 1; t < nt; t++) {
        if (started[t]) pthread_join(th[t], NULL);
        else each_work(&ws[t]);
    }
    r->bad = r->stopped = -1;
    r->err[0] = 0;
    for (int t = 0; t < nt; t++)
        if (ws[t].bad >= 0 && (r->bad < 0 || ws[t].bad < r->bad)) {
            r->bad = ws[t].bad;
            memcpy(r->err, ws[t].err, sizeof r->err);
        }
    if (r->bad < 0)
        for (int i = 0; i < n; i++)
            if (!done[i]) { r->stopped = i; break; }
    free(done);
    return r->bad >= 0 || r->stopped >= 0 ? -1 : 0;
}
