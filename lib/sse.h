/* sse.h — an incremental parser of a server-sent event stream (the WHATWG HTML "text/event-stream"
 * format) as OpenAI-compatible servers stream completions: lines "data: ..." (several join with
 * "\n"), "event: NAME", ": comment", an empty line ends an event.  Lines end in LF, CRLF or CR.
 * Bytes arrive in arbitrary pieces (cl_sse_feed); events are handed to a callback whole. */
#ifndef CL_SSE_H
#define CL_SSE_H
#include <stddef.h>

/* Called for each event with data (NUL-terminated, n bytes; "" for none) and the event name
 * ("message" when none was given).  Return 0 to go on, non-zero to stop: cl_sse_feed then
 * returns that value. */
typedef int (*cl_sse_fn)(void *ctx, const char *event, const char *data, size_t n);

typedef struct {
    char *line;            /* the line being read */
    size_t line_len, line_cap;
    char *data;            /* the event's data so far */
    size_t data_len, data_cap;
    char event[64];
    int has_data;          /* some data line was seen in this event */
    int last_cr;           /* the previous byte was CR (a following LF belongs to it) */
    size_t max_line;       /* longest line accepted (bytes) */
    unsigned long long offset;   /* bytes fed so far */
    cl_sse_fn fn;
    void *ctx;
} cl_sse;

/* max_line: longest line (and event) accepted, in bytes; 0 for 64 MiB. */
void cl_sse_init(cl_sse *s, size_t max_line, cl_sse_fn fn, void *ctx);
/* Feed n bytes: 0, the callback's non-zero value, or -1 (cl_error: "line of over N bytes at
 * byte offset O of the event stream"). */
int cl_sse_feed(cl_sse *s, const char *p, size_t n);
/* Bytes of an unfinished line or event at the end of the stream (0 when the stream ended
 * cleanly after a blank line). */
size_t cl_sse_pending(const cl_sse *s);
void cl_sse_free(cl_sse *s);

#endif
