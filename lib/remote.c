/* remote.c — OpenAI-compatible completions client on libcurl (remote.h). */
#include "remote.h"

#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sse.h"
#include "util.h"

#define ERR_BODY_MAX (64u << 10)    /* bytes of an error answer kept for its message */
#define GET_BODY_MAX (16u << 20)    /* largest /models answer read */

typedef struct {
    const cl_remote *r;
    CURL *c;
    const char *url;          /* the full URL of this request */
    int stream;               /* an event stream is expected (the POST) */
    long status;              /* HTTP status, read at the first body byte */
    char *body;               /* the answer (GET) or an error answer's start */
    size_t body_len, body_cap, body_max;
    cl_sse sse;
    cl_remote_stream *s;
    double t0;
    int done;                 /* "data: [DONE]" seen */
    int stopped;              /* on_text asked to stop */
    int failed;               /* cl_fail was called inside a callback */
    size_t text_bytes;        /* answer text bytes handed on */
} xfer;

static void keep(xfer *x, const char *p, size_t n) {
    if (x->body_len + n > x->body_max) n = x->body_max - x->body_len;
    cl_buf_append(&x->body, &x->body_len, &x->body_cap, p, n);
}

/* One event of the answer stream. */
static int on_event(void *ctx, const char *event, const char *data, size_t n) {
    xfer *x = ctx;
    cl_remote_stream *s = x->s;
    s->events++;
    if (!strcmp(data, "[DONE]")) {
        x->done = 1;
        return 0;
    }
    json_error_t je;
    json_t *j = json_loadb(data, n, 0, &je);
    if (!j || !json_is_object(j)) {
        json_decref(j);
        x->failed = 1;
        return cl_fail("%s: malformed event %d of the answer stream (byte %llu): %s", x->url, s->events,
                       x->sse.offset, j ? "not a JSON object" : je.text);
    }
    json_t *err = json_object_get(j, "error");
    if (err || !strcmp(event, "error")) {
        json_t *m = json_is_object(err) ? json_object_get(err, "message") : err;
        cl_fail("%s: the server reported an error inside the answer stream: %s", x->url,
                json_is_string(m) ? json_string_value(m) : data);
        json_decref(j);
        x->failed = 1;
        return -1;
    }
    json_t *usage = json_object_get(j, "usage");
    if (json_is_object(usage)) {
        json_t *pt = json_object_get(usage, "prompt_tokens"), *ct = json_object_get(usage, "completion_tokens");
        if (json_is_integer(pt)) s->prompt_tokens = (long)json_integer_value(pt);
        if (json_is_integer(ct)) s->completion_tokens = (long)json_integer_value(ct);
    }
    json_t *choices = json_object_get(j, "choices"), *c0 = json_array_get(choices, 0);
    if (choices && !json_is_array(choices)) {
        json_decref(j);
        x->failed = 1;
        return cl_fail("%s: malformed event %d of the answer stream: \"choices\" is not an array", x->url, s->events);
    }
    json_t *fr = json_object_get(c0, "finish_reason");
    if (json_is_string(fr)) snprintf(s->finish_reason, sizeof s->finish_reason, "%s", json_string_value(fr));
    json_t *text = json_object_get(c0, "text");
    int rc = 0;
    if (c0 && text && !json_is_string(text)) {
        x->failed = 1;
        rc = cl_fail("%s: malformed event %d of the answer stream: \"text\" is not a string", x->url, s->events);
    } else if (json_is_string(text) && json_string_length(text) > 0) {
        if (x->text_bytes == 0) s->ttft_s = cl_now() - x->t0;
        x->text_bytes += json_string_length(text);
        if (s->on_text && s->on_text(s->ctx, json_string_value(text), json_string_length(text))) {
            x->stopped = 1;
            rc = 1;
        }
    }
    json_decref(j);
    return rc;
}

static size_t on_bytes(char *p, size_t size, size_t nmemb, void *ctx) {
    xfer *x = ctx;
    size_t n = size * nmemb;
    if (x->status == 0) {   /* the first bytes of the body: the status line and headers are in */
        curl_easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &x->status);
        char *ct = NULL;
        curl_easy_getinfo(x->c, CURLINFO_CONTENT_TYPE, &ct);
        if (x->stream && x->status < 300 && (!ct || strncasecmp(ct, "text/event-stream", 17) != 0)) {
            x->failed = 1;
            cl_fail("%s: answered with Content-Type %s, not an event stream (text/event-stream)", x->url,
                    ct ? ct : "(none)");
            return 0;
        }
    }
    if (!x->stream || x->status >= 300) {
        if (x->body_len + n > x->body_max && x->body_max == GET_BODY_MAX) {
            x->failed = 1;
            cl_fail("%s: answer of over %u bytes", x->url, GET_BODY_MAX);
            return 0;
        }
        keep(x, p, n);
        return n;
    }
    int rc = cl_sse_feed(&x->sse, p, n);
    if (rc < 0 && !x->failed) {   /* the parser's own error (a line over the limit) */
        x->failed = 1;
        cl_fail_prefix("%s", x->url);
    }
    return rc ? 0 : n;
}

/* The server's message in an error answer: JSON error.message / message / detail, or its first line. */
static void server_message(const char *body, size_t n, char *out, size_t cap) {
    json_t *j = json_loadb(body ? body : "", n, 0, NULL);
    const char *m = NULL;
    char *dumped = NULL;
    if (json_is_object(j)) {
        json_t *e = json_object_get(j, "error"), *v = NULL;
        if (json_is_object(e)) v = json_object_get(e, "message");
        else if (json_is_string(e)) v = e;
        if (!v) v = json_object_get(j, "message");
        if (!v) v = json_object_get(j, "detail");
        if (json_is_string(v)) m = json_string_value(v);
        else if (v) m = dumped = json_dumps(v, JSON_COMPACT);
    }
    if (m) {
        snprintf(out, cap, "%s", m);
    } else {
        size_t k = 0;
        while (body && k < n && k + 1 < cap && body[k] != '\n' && body[k] != '\r') k++;
        snprintf(out, cap, "%.*s", (int)k, body ? body : "");
        if (k == 0) snprintf(out, cap, "(no message)");
    }
    for (char *q = out; *q; q++)
        if (*q == '\n' || *q == '\r') *q = ' ';
    free(dumped);
    json_decref(j);
}

typedef enum { T_OK, T_NO_CONNECT, T_RETRY_STATUS, T_FAIL } outcome;

/* One HTTP exchange; body NULL for a GET. */
static outcome perform(xfer *x, const char *body, size_t body_len) {
    const cl_remote *r = x->r;
    CURL *c = x->c = curl_easy_init();
    if (!c) return cl_fail("%s: cannot start libcurl", x->url), T_FAIL;
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *h = NULL;
    if (r->api_key && *r->api_key) {
        size_t n = strlen(r->api_key) + 32;
        char *auth = cl_malloc(n);
        snprintf(auth, n, "Authorization: Bearer %s", r->api_key);
        h = curl_slist_append(h, auth);   /* copies it */
        free(auth);
    }
    if (body) {
        h = curl_slist_append(h, "Content-Type: application/json");
        h = curl_slist_append(h, "Accept: text/event-stream");
        h = curl_slist_append(h, "Expect:");   /* no 100-continue round trip */
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    double t = r->timeout_s > 0 ? r->timeout_s : 120;
    curl_easy_setopt(c, CURLOPT_URL, x->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_bytes);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "compllm-cl-ask");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(t * 1000));
    /* silence limit: under 1 byte/s for t seconds (whole seconds, at least 1) */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)ceil(t));
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_off_t connected = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(c, CURLINFO_CONNECT_TIME_T, &connected);
    long os_errno = 0;
    curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);
    x->status = status;
    if (x->s) {
        curl_off_t up = 0;
        curl_easy_getinfo(c, CURLINFO_SIZE_UPLOAD_T, &up);
        x->s->sent_bytes = (double)up;
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);

    if (x->failed) return T_FAIL;                       /* a callback said why */
    if (rc == CURLE_WRITE_ERROR && x->stopped) return T_OK;
    if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_RESOLVE_PROXY ||
        (rc == CURLE_OPERATION_TIMEDOUT && connected == 0)) {
        cl_fail("%s: cannot connect%s%s: %s", x->url, os_errno ? ": " : "", os_errno ? strerror((int)os_errno) : "",
                errbuf[0] ? errbuf : curl_easy_strerror(rc));
        return T_NO_CONNECT;
    }
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        cl_fail("%s: no answer for %g s (--timeout)%s", x->url, t,
                x->text_bytes ? "; the answer above is incomplete" : "");
        return T_FAIL;
    }
    if (status >= 400 || (rc == CURLE_OK && status >= 300)) {
        char msg[1024];
        server_message(x->body, x->body_len, msg, sizeof msg);
        cl_fail("%s: HTTP %ld: %s", x->url, status, msg);
        return status == 429 || status == 503 || (!body && (status == 502 || status == 504)) ? T_RETRY_STATUS : T_FAIL;
    }
    if (rc != CURLE_OK) {
        cl_fail("%s: %s%s", x->url, errbuf[0] ? errbuf : curl_easy_strerror(rc),
                x->text_bytes ? "; the answer above is incomplete" : "");
        return T_FAIL;
    }
    return T_OK;
}

/* "{base}/v1/{path}" from the server URL, with or without its "/v1". */
static char *endpoint(const char *base, const char *path) {
    size_t n = strlen(base);
    while (n && base[n - 1] == '/') n--;
    int has_v1 = n >= 3 && !memcmp(base + n - 3, "/v1", 3);
    size_t cap = n + strlen(path) + 8;
    char *u = cl_malloc(cap);
    snprintf(u, cap, "%.*s%s/%s", (int)n, base, has_v1 ? "" : "/v1", path);
    return u;
}

static void backoff(int attempt) {
    double s = 0.25 * (double)(1 << attempt);
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

int cl_remote_models(const cl_remote *r, cl_remote_model **models, int *n) {
    *models = NULL;
    *n = 0;
    char *url = endpoint(r->url, "models");
    xfer x;
    outcome o;
    for (int attempt = 0;; attempt++) {
        x = (xfer){.r = r, .url = url, .body_max = GET_BODY_MAX};
        o = perform(&x, NULL, 0);
        if (o == T_OK || o == T_FAIL || attempt >= r->retries) break;
        free(x.body);
        backoff(attempt);
    }
    int rc = -1;
    if (o == T_OK) {
        json_error_t je;
        json_t *j = json_loadb(x.body ? x.body : "", x.body_len, 0, &je);
        json_t *data = json_object_get(j, "data");
        if (!json_is_array(data)) {
            cl_fail("%s: not an OpenAI model list (no \"data\" array)%s%s", url, j ? "" : ": ", j ? "" : je.text);
        } else {
            size_t k = json_array_size(data);
            *models = cl_calloc(k + 1, sizeof **models);
            for (size_t i = 0; i < k; i++) {
                json_t *m = json_array_get(data, i), *id = json_object_get(m, "id");
                json_t *len = json_object_get(m, "max_model_len");
                if (json_is_string(id)) snprintf((*models)[*n].id, sizeof (*models)[0].id, "%s", json_string_value(id));
                else continue;
                (*models)[*n].max_model_len = json_is_integer(len) ? (long)json_integer_value(len) : 0;
                (*n)++;
            }
            rc = 0;
        }
        json_decref(j);
    }
    free(x.body);
    free(url);
    return rc;
}

int cl_remote_complete(const cl_remote *r, const char *body, size_t body_len, cl_remote_stream *s) {
    char *url = endpoint(r->url, "completions");
    s->ttft_s = s->total_s = s->sent_bytes = 0;
    s->prompt_tokens = s->completion_tokens = -1;
    s->finish_reason[0] = 0;
    s->events = 0;
    double t0 = cl_now();
    xfer x;
    outcome o;
    for (int attempt = 0;; attempt++) {
        x = (xfer){.r = r, .url = url, .stream = 1, .body_max = ERR_BODY_MAX, .s = s, .t0 = t0};
        cl_sse_init(&x.sse, 0, on_event, &x);
        o = perform(&x, body, body_len);
        /* retried only while nothing of the answer has arrived */
        if (o == T_OK || o == T_FAIL || x.text_bytes || attempt >= r->retries) break;
        cl_sse_free(&x.sse);
        free(x.body);
        backoff(attempt);
    }
    int rc = o == T_OK ? 0 : -1;
    if (rc == 0 && !x.stopped && !x.done) {
        rc = cl_fail("%s: the answer stream ended before \"data: [DONE]\" (after %d events%s)%s", url, s->events,
                     cl_sse_pending(&x.sse) ? ", in the middle of one" : "",
                     x.text_bytes ? "; the answer above is incomplete" : "");
    }
    s->total_s = cl_now() - t0;
    cl_sse_free(&x.sse);
    free(x.body);
    free(url);
    return rc;
}
