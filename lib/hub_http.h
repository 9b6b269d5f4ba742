/* hub_http.h — the HTTP requests `cl-model pull` makes, on libcurl (internal to lib/hub_*.c).
 * Every request: the token as "Authorization: Bearer" when asked (never to another origin than
 * $HF_ENDPOINT), a connect timeout and a stall timeout ($HF_HUB_ETAG_TIMEOUT for metadata,
 * $HF_HUB_DOWNLOAD_TIMEOUT for downloads: no byte for that many seconds ends the attempt), and up
 * to CL_HTTP_TRIES attempts with exponential backoff on connection errors, timeouts, truncated
 * bodies, 429 and 5xx.  $HF_HUB_OFFLINE=1 refuses every request. */
#ifndef CL_HUB_HTTP_H
#define CL_HUB_HTTP_H
#include <stddef.h>

#define CL_HTTP_TRIES 5

/* The response headers the Hub protocol uses (of the last response; NULL/-1 when absent). */
typedef struct {
    long status;
    char *etag, *linked_etag, *repo_commit, *location, *error_code, *error_message;
    long long linked_size, content_length;
    long long range_start;   /* first byte of Content-Range "bytes A-B/N", or -1 */
    char *redirect_url;      /* a 3xx's Location resolved against the request URL (libcurl) */
} cl_http_meta;
void cl_http_meta_free(cl_http_meta *m);

typedef struct cl_http cl_http;
/* A session: endpoint, token and timeouts from the environment.  NULL + cl_error() when
 * $HF_HUB_OFFLINE is set or libcurl cannot start. */
cl_http *cl_http_new(void);
void cl_http_free(cl_http *h);
const char *cl_http_endpoint(const cl_http *h);   /* $HF_ENDPOINT without trailing '/' */
int cl_http_has_token(const cl_http *h);

/* One request: method "HEAD" (redirects not followed: the caller reads the redirect's headers),
 * "GET" or "POST" (redirects followed, as huggingface_hub's API calls do; post_json the body);
 * the response body into *body (malloc'd, NUL-terminated; at most 64 MiB) when body is non-NULL.
 * 0 with meta filled for any HTTP status after the retries, or -1 + cl_error() when no response
 * came (the last transport error). */
int cl_http_request(cl_http *h, const char *method, const char *url, const char *post_json, char **body,
                    cl_http_meta *meta);

/* Download url (redirects followed) into the file part, appending from its current length with
 * "Range: bytes=N-" (a server that ignores Range restarts it from 0), until it holds size bytes.
 * label names the file in errors and on the progress bar (drawn on stderr when progress).
 * 0, or -1 + a one-line cl_error(): HTTP status, disk full / write error, a body cut short after
 * the retries ("truncated"), a stalled server ("timed out"), more bytes than size. */
int cl_http_download(cl_http *h, const char *url, const char *part, long long size, const char *label, int progress);

/* s percent-encoded for a URL path (malloc'd): all but [A-Za-z0-9-._~], and '/' when keep_slash. */
char *cl_http_escape(const char *s, int keep_slash);

#endif
