/* fuzz_sse.c — libFuzzer target for the event-stream parser (lib/sse.c): any bytes parse or fail
 * cleanly, and feeding them in two pieces (split where the first byte says) gives the same
 * events as feeding them whole. */
#include "sse.h"
#include "util.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *log;
    size_t len;
} sink;

static int collect(void *ctx, const char *event, const char *data, size_t n) {
    sink *s = ctx;
    size_t el = strlen(event);
    s->log = cl_realloc(s->log, s->len + el + n + 2);
    memcpy(s->log + s->len, event, el);
    s->log[s->len + el] = 0;
    memcpy(s->log + s->len + el + 1, data, n);
    s->log[s->len + el + 1 + n] = 1;
    s->len += el + n + 2;
    return 0;
}

static int run(const uint8_t *d, size_t n, size_t split, sink *s) {
    cl_sse p;
    cl_sse_init(&p, 4096, collect, s);
    int rc = cl_sse_feed(&p, (const char *)d, split);
    if (rc == 0) rc = cl_sse_feed(&p, (const char *)d + split, n - split);
    cl_sse_free(&p);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    size_t split = data[0] % size;
    sink a = {0}, b = {0};
    int ra = run(data, size, size, &a), rb = run(data, size, split, &b);
    if (ra != rb || (ra == 0 && (a.len != b.len || (a.len && memcmp(a.log, b.log, a.len))))) abort();
    free(a.log);
    free(b.log);
    return 0;
}
