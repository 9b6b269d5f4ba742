/* sse.c — incremental text/event-stream parser (sse.h). */
#include "sse.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

void cl_sse_init(cl_sse *s, size_t max_line, cl_sse_fn fn, void *ctx) {
    memset(s, 0, sizeof *s);
    s->max_line = max_line ? max_line : (size_t)64 << 20;
    s->fn = fn;
    s->ctx = ctx;
}

/* One complete line (without its end). */
static int line(cl_sse *s) {
    const char *l = s->line ? s->line : "";
    size_t n = s->line_len;
    if (n == 0) {   /* blank line: dispatch */
        int rc = 0;
        if (s->has_data) rc = s->fn(s->ctx, s->event[0] ? s->event : "message", s->data ? s->data : "", s->data_len);
        s->data_len = 0;
        s->has_data = 0;
        s->event[0] = 0;
        return rc;
    }
    if (l[0] == ':') return 0;   /* comment */
    const char *colon = memchr(l, ':', n);
    size_t fl = colon ? (size_t)(colon - l) : n;
    const char *v = colon ? colon + 1 : l + n;
    if (colon && *v == ' ') v++;
    size_t vl = (size_t)(l + n - v);
    if (fl == 4 && !memcmp(l, "data", 4)) {
        if (s->has_data) cl_buf_append(&s->data, &s->data_len, &s->data_cap, "\n", 1);
        cl_buf_append(&s->data, &s->data_len, &s->data_cap, v, vl);
        s->has_data = 1;
        if (s->data_len > s->max_line)
            return cl_fail("event of over %zu bytes at byte offset %llu of the event stream", s->max_line, s->offset);
    } else if (fl == 5 && !memcmp(l, "event", 5)) {
        size_t k = vl < sizeof s->event - 1 ? vl : sizeof s->event - 1;
        memcpy(s->event, v, k);
        s->event[k] = 0;
    }   /* id, retry and unknown fields are ignored, as the format says */
    return 0;
}

int cl_sse_feed(cl_sse *s, const char *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        s->offset++;
        if (c == '\n' && s->last_cr) {
            s->last_cr = 0;
            continue;
        }
        s->last_cr = c == '\r';
        if (c == '\n' || c == '\r') {
            int rc = line(s);
            s->line_len = 0;
            if (rc) return rc;
            continue;
        }
        /* the longest run of ordinary bytes from here in one copy */
        size_t j = i;
        while (j < n && p[j] != '\n' && p[j] != '\r') j++;
        if (s->line_len + (j - i) > s->max_line)
            return cl_fail("line of over %zu bytes at byte offset %llu of the event stream", s->max_line, s->offset - 1);
        cl_buf_append(&s->line, &s->line_len, &s->line_cap, p + i, j - i);
        s->offset += j - i - 1;
        i = j - 1;
    }
    return 0;
}

size_t cl_sse_pending(const cl_sse *s) { return s->line_len + (s->has_data ? s->data_len + 1 : 0); }

void cl_sse_free(cl_sse *s) {
    free(s->line);
    free(s->data);
    memset(s, 0, sizeof *s);
}
