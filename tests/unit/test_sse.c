/* test_sse.c — the event-stream parser (sse.h): events whole however the bytes are split,
 * LF/CRLF/CR line ends, multi-line data, comments, event names, the line limit, stopping. */
#include <stdio.h>
#include <string.h>

#include "sse.h"
#include "t.h"
#include "util.h"

typedef struct {
    char log[4096];   /* "name=data|" per event */
    int n, stop_at;
} sink;

static int collect(void *ctx, const char *event, const char *data, size_t n) {
    sink *s = ctx;
    size_t l = strlen(s->log);
    snprintf(s->log + l, sizeof s->log - l, "%s=%.*s|", event, (int)n, data);
    return ++s->n == s->stop_at ? 7 : 0;
}

/* Parse text fed in pieces of `step` bytes (0: whole); the event log. */
static const char *parse(const char *text, size_t step, int *rc, size_t *pending) {
    static sink s;
    memset(&s, 0, sizeof s);
    cl_sse p;
    cl_sse_init(&p, 64, collect, &s);
    size_t n = strlen(text);
    *rc = 0;
    for (size_t i = 0; i < n && *rc == 0; i += step ? step : n) *rc = cl_sse_feed(&p, text + i, step && i + step < n ? step : n - i);
    *pending = cl_sse_pending(&p);
    cl_sse_free(&p);
    return s.log;
}

int main(void) {
    static const char *stream =
        ": keep-alive comment\n"
        "data: {\"a\":1}\n\n"
        "event: error\r\n"
        "data:no-space\r\n\r\n"
        "data: line one\rdata: line two\r\r"
        "id: 5\nretry: 10\nunknown\ndata\n\n"
        "data: [DONE]\n\n";
    static const char *want = "message={\"a\":1}|error=no-space|message=line one\nline two|message=|message=[DONE]|";
    int rc;
    size_t pending;
    OK(!strcmp(parse(stream, 0, &rc, &pending), want) && rc == 0 && pending == 0,
       "whole stream: 5 events, names, joined data lines, comments and other fields skipped");
    int same = 1;
    for (size_t step = 1; step < 12; step++) same &= !strcmp(parse(stream, step, &rc, &pending), want) && rc == 0;
    OK(same, "the same events when fed 1..11 bytes at a time (CRLF split across pieces included)");
    OK(!strcmp(parse("data: a\n\ndata: b", 0, &rc, &pending), "message=a|") && pending > 0,
       "an unfinished event at the end is not dispatched, and is pending");
    char longline[200];
    memset(longline, 'x', sizeof longline);
    memcpy(longline, "data: ", 6);
    longline[sizeof longline - 1] = 0;
    parse(longline, 5, &rc, &pending);
    OK(rc == -1 && strstr(cl_error(), "line of over 64 bytes at byte offset"), "a line over the limit: %s", cl_error());
    static sink s = {.stop_at = 2};
    cl_sse p;
    cl_sse_init(&p, 0, collect, &s);
    rc = cl_sse_feed(&p, "data: 1\n\ndata: 2\n\ndata: 3\n\n", 27);
    OK(rc == 7 && s.n == 2, "the callback's non-zero value stops the feed and is returned");
    cl_sse_free(&p);
    return t_done();
}
