/* remote.h — a client of an OpenAI-compatible completions server (vLLM, SGLang, ...) on libcurl:
 * list the served models, post one completion request and stream its answer (server-sent
 * events).  Errors are one line naming the URL (cl_error):
 *   cannot connect (refused, unresolvable, connect timeout), no bytes for timeout_s seconds,
 *   HTTP 4xx/5xx with the server's own error message (OpenAI {"error": {"message"}}, vLLM's
 *   older {"message"}, FastAPI's {"detail"}, or the body's first line), an error event inside
 *   the stream, a malformed event, a stream cut off before "data: [DONE]".
 * Retries (retries times, backoff 0.25 s doubling): a GET on any failure to connect, HTTP 429,
 * 502, 503, 504; a POST only when the connection could not be made or the server answered
 * 429/503 (it did not take the request), never once answer bytes have arrived. */
#ifndef CL_REMOTE_H
#define CL_REMOTE_H
#include <stddef.h>

typedef struct {
    const char *url;        /* the server: "http://host:port" or ".../v1" (trailing '/' ignored) */
    const char *api_key;    /* sent as "Authorization: Bearer KEY"; NULL or "" for none */
    double timeout_s;       /* connect limit, and the longest silence while waiting for bytes */
    int retries;
} cl_remote;

typedef struct {
    char id[256];
    long max_model_len;     /* 0 when the server does not say (vLLM does) */
} cl_remote_model;

/* GET {v1}/models: the served models, malloc'd array of *n (free()).  -1 on failure. */
int cl_remote_models(const cl_remote *r, cl_remote_model **models, int *n);

/* One streamed completion.  on_text gets each piece of choices[0].text as it arrives; it
 * returns non-zero to stop reading (the answer is complete for the caller: not an error). */
typedef struct {
    int (*on_text)(void *ctx, const char *text, size_t n);
    void *ctx;
    /* filled in: */
    double ttft_s;            /* from the call to the first text byte (0: none came) */
    double total_s;
    double sent_bytes;        /* request body bytes uploaded */
    long prompt_tokens;       /* from the usage event (-1: not reported) */
    long completion_tokens;   /* from the usage event (-1: not reported) */
    char finish_reason[32];   /* "stop", "length", ... ("" when not reported) */
    int events;               /* data events read */
} cl_remote_stream;

/* POST {v1}/completions with the JSON body (which asks for "stream": true) and stream the
 * answer through s->on_text.  0, or -1 (cl_error; on_text may have had part of the answer). */
int cl_remote_complete(const cl_remote *r, const char *body, size_t body_len, cl_remote_stream *s);

#endif
