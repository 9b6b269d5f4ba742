/* hub_http.c — HTTP for the Hub client on libcurl (see hub_http.h). */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "hub.h"
#include "hub_http.h"
#include "util.h"

struct cl_http {
    CURL *curl;
    char *endpoint;
    char *auth;           /* "Authorization: Bearer TOKEN" or NULL */
    long etag_timeout, download_timeout;
};

static const char *env(const char *name) {
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static long env_seconds(const char *name, long dflt) {
    const char *v = env(name);
    char *end;
    double x = v ? strtod(v, &end) : 0;
    if (!v || *end || !(x > 0)) return dflt;
    return x < 1 ? 1 : (long)x;
}

/* $HF_TOKEN, else the token file ($HF_TOKEN_PATH, else $HF_HOME/token, else
 * ${XDG_CACHE_HOME:-~/.cache}/huggingface/token), whitespace trimmed; NULL when none. */
static char *read_token(void) {
    if (env("HF_TOKEN")) return cl_strdup(env("HF_TOKEN"));
    char path[4096];
    if (env("HF_TOKEN_PATH")) snprintf(path, sizeof path, "%s", env("HF_TOKEN_PATH"));
    else if (env("HF_HOME")) snprintf(path, sizeof path, "%s/token", env("HF_HOME"));
    else if (env("XDG_CACHE_HOME")) snprintf(path, sizeof path, "%s/huggingface/token", env("XDG_CACHE_HOME"));
    else if (env("HOME")) snprintf(path, sizeof path, "%s/.cache/huggingface/token", env("HOME"));
    else return NULL;
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char buf[512] = {0};
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    while (n && isspace((unsigned char)buf[n - 1])) buf[--n] = 0;
    char *s = buf;
    while (isspace((unsigned char)*s)) s++;
    return *s ? cl_strdup(s) : NULL;
}

cl_http *cl_http_new(void) {
    if (cl_hub_offline()) return cl_fail("offline mode ($HF_HUB_OFFLINE is set): no download"), NULL;
    static int global_done;
    if (!global_done) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT)) return cl_fail("libcurl: cannot initialise"), NULL;
        global_done = 1;
    }
    cl_http *h = cl_calloc(1, sizeof *h);
    h->curl = curl_easy_init();
    if (!h->curl) {
        free(h);
        return cl_fail("libcurl: cannot create a handle"), NULL;
    }
    const char *ep = env("HF_ENDPOINT") ? env("HF_ENDPOINT") : "https://huggingface.co";
    h->endpoint = cl_strdup(ep);
    size_t l = strlen(h->endpoint);
    while (l && h->endpoint[l - 1] == '/') h->endpoint[--l] = 0;
    char *tok = read_token();
    if (tok) {
        size_t n = strlen(tok) + 32;
        h->auth = cl_malloc(n);
        snprintf(h->auth, n, "Authorization: Bearer %s", tok);
        free(tok);
    }
    h->etag_timeout = env_seconds("HF_HUB_ETAG_TIMEOUT", 10);
    h->download_timeout = env_seconds("HF_HUB_DOWNLOAD_TIMEOUT", 10);
    return h;
}

void cl_http_free(cl_http *h) {
    if (!h) return;
    curl_easy_cleanup(h->curl);
    free(h->endpoint);
    free(h->auth);
    free(h);
}

const char *cl_http_endpoint(const cl_http *h) { return h->endpoint; }
int cl_http_has_token(const cl_http *h) { return h->auth != NULL; }

void cl_http_meta_free(cl_http_meta *m) {
    free(m->etag);
    free(m->linked_etag);
    free(m->repo_commit);
    free(m->location);
    free(m->error_code);
    free(m->error_message);
    free(m->redirect_url);
    memset(m, 0, sizeof *m);
    m->linked_size = m->content_length = m->range_start = -1;
}

char *cl_http_escape(const char *path, int keep_slash) {
    size_t n = strlen(path);
    char *out = cl_malloc(3 * n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)path[i];
        if (isalnum(c) || strchr("-._~", c) || (c == '/' && keep_slash)) *o++ = (char)c;
        else o += sprintf(o, "%%%02X", c);
    }
    *o = 0;
    return out;
}

/* ---- one transfer ---- */

typedef struct {
    cl_http_meta *meta;
    /* body into memory */
    char *buf;
    size_t len, cap;
    int overflow;
    /* or into a file */
    FILE *f;
    int write_errno;
    long long written;
    long long limit;        /* bytes the file may still take (download), -1: no limit */
    int too_long;
    int range_ignored;      /* asked for bytes N- and got another start: nothing was written */
    /* stall detection: no byte for `timeout` seconds ends the attempt (libcurl's low-speed check
     * averages over seconds and lets a burst hide a stall) */
    long timeout;
    curl_off_t last_bytes;
    double last_change;
    int stalled;
    /* progress bar (label non-NULL) */
    const char *label;
    long long base, total;
    double t0, last_draw;
    int drew;
} xfer;

static char *header_value(const char *line, size_t n, const char *name) {
    size_t k = strlen(name);
    if (n <= k || strncasecmp(line, name, k) || line[k] != ':') return NULL;
    const char *v = line + k + 1, *e = line + n;
    while (v < e && isspace((unsigned char)*v)) v++;
    while (e > v && isspace((unsigned char)e[-1])) e--;
    return cl_strndup(v, (size_t)(e - v));
}

static void set_str(char **dst, char *v) {
    if (!v) return;
    free(*dst);
    *dst = v;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud) {
    xfer *x = ud;
    cl_http_meta *m = x->meta;
    size_t n = size * nmemb;
    if (n >= 5 && !strncmp(p, "HTTP/", 5)) {  /* a new response (after a redirect or 100) */
        cl_http_meta_free(m);
        const char *sp = memchr(p, ' ', n);
        m->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        return n;
    }
    char *v;
    set_str(&m->etag, header_value(p, n, "ETag"));
    set_str(&m->linked_etag, header_value(p, n, "X-Linked-Etag"));
    set_str(&m->repo_commit, header_value(p, n, "X-Repo-Commit"));
    set_str(&m->location, header_value(p, n, "Location"));
    set_str(&m->error_code, header_value(p, n, "X-Error-Code"));
    set_str(&m->error_message, header_value(p, n, "X-Error-Message"));
    if ((v = header_value(p, n, "X-Linked-Size"))) m->linked_size = strtoll(v, NULL, 10), free(v);
    if ((v = header_value(p, n, "Content-Length"))) m->content_length = strtoll(v, NULL, 10), free(v);
    if ((v = header_value(p, n, "Content-Range"))) {
        if (!strncmp(v, "bytes ", 6) && isdigit((unsigned char)v[6])) m->range_start = strtoll(v + 6, NULL, 10);
        free(v);
    }
    return n;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud) {
    xfer *x = ud;
    size_t n = size * nmemb;
    if (x->f) {
        /* only a successful response's body goes to the file */
        if (x->meta->status != 200 && x->meta->status != 206) return n;
        long long start = x->meta->status == 206 ? x->meta->range_start : 0;
        if (start != x->base) {
            x->range_ignored = 1;
            return 0;
        }
        if (x->limit >= 0 && x->written + (long long)n > x->limit) {
            x->too_long = 1;
            return 0;
        }
        if (fwrite(p, 1, n, x->f) != n || fflush(x->f)) {
            x->write_errno = errno ? errno : EIO;
            return 0;
        }
        x->written += (long long)n;
        return n;
    }
    if (x->len + n + 1 > (64u << 20)) {
        x->overflow = 1;
        return 0;
    }
    cl_buf_append(&x->buf, &x->len, &x->cap, p, n);
    return n;
}

static void draw_progress(xfer *x, int final) {
    double now = cl_now();
    if (!final && now - x->last_draw < 0.2) return;
    x->last_draw = now;
    long long done = x->base + x->written;
    double el = now - x->t0, rate = el > 0 ? (double)x->written / el : 0;
    double frac = x->total > 0 ? (double)done / (double)x->total : 0;
    char bar[21];
    int fill = (int)(frac * 20);
    for (int i = 0; i < 20; i++) bar[i] = i < fill ? '#' : '.';
    bar[20] = 0;
    long eta = rate > 0 && x->total > done ? (long)((double)(x->total - done) / rate) : 0;
    size_t ll = strlen(x->label);
    const char *shown = ll > 28 ? x->label + ll - 28 : x->label;
    fprintf(stderr, "\r%-28.28s [%s] %7.1f/%.1f MB %6.1f MB/s ETA %ld:%02ld ", shown, bar, (double)done / 1e6,
            (double)x->total / 1e6, rate / 1e6, eta / 60, eta % 60);
    x->drew = 1;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
    (void)dltotal, (void)ultotal;
    xfer *x = ud;
    double now = cl_now();
    if (dlnow + ulnow != x->last_bytes || x->last_change == 0) x->last_bytes = dlnow + ulnow, x->last_change = now;
    else if (now - x->last_change > (double)x->timeout) {
        x->stalled = 1;
        return 1;
    }
    if (x->label) draw_progress(x, 0);
    return 0;
}

/* A response worth another attempt. */
static int retryable_status(long s) { return s == 429 || (s >= 500 && s <= 599); }
static int retryable_curl(CURLcode c) {
    return c == CURLE_COULDNT_CONNECT || c == CURLE_OPERATION_TIMEDOUT || c == CURLE_PARTIAL_FILE ||
           c == CURLE_RECV_ERROR || c == CURLE_SEND_ERROR || c == CURLE_GOT_NOTHING || c == CURLE_COULDNT_RESOLVE_HOST;
}

static void backoff(int attempt) {
    double s = 0.25 * (double)(1 << attempt);
    if (s > 4) s = 4;
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

/* Same origin as the endpoint: scheme://host[:port] prefix followed by '/' or end. */
static int same_origin(const cl_http *h, const char *url) {
    size_t n = strlen(h->endpoint);
    const char *rest = h->endpoint + n;
    const char *p = strstr(h->endpoint, "://");
    if (p && (p = strchr(p + 3, '/'))) rest = p;   /* endpoint with a path prefix */
    size_t k = (size_t)(rest - h->endpoint);
    return !strncmp(url, h->endpoint, k) && (url[k] == '/' || url[k] == 0);
}

static CURLcode perform(cl_http *h, const char *method, const char *url, const char *post_json, const char *range,
                        int follow, long timeout, xfer *x, char *errbuf) {
    CURL *c = h->curl;
    curl_easy_reset(c);
    struct curl_slist *hdr = NULL;
    if (h->auth && same_origin(h, url)) hdr = curl_slist_append(hdr, h->auth);
    hdr = curl_slist_append(hdr, "Accept-Encoding: identity");
    if (post_json) hdr = curl_slist_append(hdr, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "compllm/1 (libcurl; cl-model pull)");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, h->etag_timeout);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, timeout);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, (long)follow);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    if (!strcmp(method, "HEAD")) curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (post_json) curl_easy_setopt(c, CURLOPT_POSTFIELDS, post_json);
    if (range) curl_easy_setopt(c, CURLOPT_RANGE, range);
    x->timeout = timeout;
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    errbuf[0] = 0;
    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(hdr);
    if (rc == CURLE_ABORTED_BY_CALLBACK && x->stalled) rc = CURLE_OPERATION_TIMEDOUT;
    return rc;
}

static int transport_error(const char *what, CURLcode rc, const char *errbuf, long timeout) {
    if (rc == CURLE_OPERATION_TIMEDOUT)
        return cl_fail("%s: timed out (no data for %ld s; $HF_HUB_DOWNLOAD_TIMEOUT / $HF_HUB_ETAG_TIMEOUT)", what, timeout);
    return cl_fail("%s: %s", what, *errbuf ? errbuf : curl_easy_strerror(rc));
}

int cl_http_request(cl_http *h, const char *method, const char *url, const char *post_json, char **body,
                    cl_http_meta *meta) {
    char errbuf[CURL_ERROR_SIZE];
    memset(meta, 0, sizeof *meta);
    cl_http_meta_free(meta);
    for (int attempt = 0;; attempt++) {
        xfer x = {.meta = meta, .limit = -1};
        cl_http_meta_free(meta);
        CURLcode rc = perform(h, method, url, post_json, NULL, strcmp(method, "HEAD") != 0, h->etag_timeout, &x, errbuf);
        char *redir = NULL;
        if (rc == CURLE_OK && curl_easy_getinfo(h->curl, CURLINFO_REDIRECT_URL, &redir) == CURLE_OK && redir)
            meta->redirect_url = cl_strdup(redir);
        int last = attempt + 1 >= CL_HTTP_TRIES;
        if (rc == CURLE_OK && (!retryable_status(meta->status) || last)) {
            if (body) *body = x.buf ? x.buf : cl_strdup("");
            else free(x.buf);
            return 0;
        }
        free(x.buf);
        if (x.overflow) return cl_fail("%s: response larger than 64 MiB", url);
        if (rc != CURLE_OK && (!retryable_curl(rc) || last)) return transport_error(url, rc, errbuf, h->etag_timeout);
        backoff(attempt);
    }
}

static long long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) ? 0 : (long long)st.st_size;
}

int cl_http_download(cl_http *h, const char *url, const char *part, long long size, const char *label, int progress) {
    char errbuf[CURL_ERROR_SIZE];
    cl_http_meta meta;
    memset(&meta, 0, sizeof meta);
    cl_http_meta_free(&meta);
    double t0 = cl_now();
    int rc = -1, drew = 0;
    for (int attempt = 0;; attempt++) {
        long long have = file_size(part);
        if (have > size) {   /* not a prefix of this file: start over */
            if (truncate(part, 0)) return cl_fail("%s: %s", part, strerror(errno));
            have = 0;
        }
        if (have == size) {
            rc = 0;
            break;
        }
        FILE *f = fopen(part, "ab");
        if (!f) {
            rc = cl_fail("%s: %s", part, strerror(errno));
            break;
        }
        char range[64];
        snprintf(range, sizeof range, "%lld-", have);
        xfer x = {.meta = &meta, .f = f, .limit = size - have, .label = progress ? label : NULL,
                  .base = have, .total = size, .t0 = t0};
        errno = 0;
        CURLcode cc = perform(h, "GET", url, NULL, have ? range : NULL, 1, h->download_timeout, &x, errbuf);
        if (x.label && cc == CURLE_OK && (meta.status == 200 || meta.status == 206)) draw_progress(&x, 1);
        if (x.drew) drew = 1;
        if (fclose(f) && !x.write_errno && cc == CURLE_OK) x.write_errno = errno ? errno : EIO;
        int last = attempt + 1 >= CL_HTTP_TRIES;
        if (x.write_errno) {
            rc = x.write_errno == ENOSPC ? cl_fail("%s: disk full writing %s", label, part)
                                         : cl_fail("%s: cannot write %s: %s", label, part, strerror(x.write_errno));
            break;
        }
        if (x.too_long) {
            rc = cl_fail("%s: the server sent more than the %lld bytes announced", label, size);
            break;
        }
        if (x.range_ignored) {
            /* the server did not resume where asked (200 for a Range, or another range): start over */
            if (truncate(part, 0)) {
                rc = cl_fail("%s: %s", part, strerror(errno));
                break;
            }
            if (last) {
                rc = cl_fail("%s: the server does not resume at byte %lld and the download keeps failing", label, have);
                break;
            }
            continue;
        }
        if (cc == CURLE_OK && meta.status != 200 && meta.status != 206) {
            if (retryable_status(meta.status) && !last) {
                backoff(attempt);
                continue;
            }
            rc = cl_fail("%s: HTTP %ld from %s", label, meta.status, url);
            break;
        }
        if (cc == CURLE_OK && file_size(part) == size) {
            rc = 0;
            break;
        }
        if (cc != CURLE_OK && !retryable_curl(cc)) {
            rc = transport_error(label, cc, errbuf, h->download_timeout);
            break;
        }
        if (last) {
            if (cc == CURLE_OPERATION_TIMEDOUT) rc = transport_error(label, cc, errbuf, h->download_timeout);
            else
                rc = cl_fail("%s: truncated body: %lld of %lld bytes after %d attempts (%s)", label, file_size(part),
                             size, CL_HTTP_TRIES, cc != CURLE_OK ? curl_easy_strerror(cc) : "connection closed early");
            break;
        }
        backoff(attempt);
    }
    if (drew) fputc('\n', stderr);
    cl_http_meta_free(&meta);
    return rc;
}
