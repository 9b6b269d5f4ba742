/* hub_pull.c — `cl-model pull`: the Hub protocol as huggingface_hub's snapshot_download speaks it
 * (see hub.h, man/cl-model.1):
 *   GET  /api/models/ORG/NAME/revision/REV        -> {"sha": commit, "siblings": [{"rfilename"}]}
 *   HEAD /ORG/NAME/resolve/COMMIT/PATH            -> X-Repo-Commit, ETag / X-Linked-Etag (LFS
 *        sha256), Content-Length / X-Linked-Size, and for LFS files a 302 to the CDN; relative
 *        redirects (a renamed repository) are followed for the HEAD, absolute ones are the
 *        download URL
 *   GET  that URL (redirects followed, Range to resume) -> blobs/ETAG.incomplete, sha256 checked
 *        for LFS files, renamed to blobs/ETAG under .locks/.../ETAG.lock, then the snapshot
 *        symlink; refs/REV is written last, so a model is resolvable only once it is complete. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "hub.h"
#include "hub_http.h"
#include "sha1.h"
#include "util.h"

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...) {
    va_list ap, ap2;
    va_start(ap, f);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, f, ap);
    va_end(ap);
    char *s = cl_malloc((size_t)n + 1);
    vsnprintf(s, (size_t)n + 1, f, ap2);
    va_end(ap2);
    return s;
}

/* mkdir -p of path's directories (all of path when whole). */
static int mkdirs(const char *path, int whole) {
    char *p = cl_strdup(path);
    if (!whole) {
        char *s = strrchr(p, '/');
        if (s) *s = 0;
    }
    int rc = 0;
    for (char *s = p + 1;; s++) {
        if (*s == '/' || !*s) {
            char c = *s;
            *s = 0;
            if (mkdir(p, 0755) && errno != EEXIST) {
                rc = cl_fail("cannot create %s: %s", p, strerror(errno));
                break;
            }
            *s = c;
            if (!c) break;
        }
    }
    free(p);
    return rc;
}

static int exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

/* A repository path safe to join under the snapshot: relative, no "." / ".." components, no
 * backslash or control characters. */
static int safe_path(const char *p) {
    if (!*p || *p == '/' || strchr(p, '\\')) return 0;
    for (const char *s = p; *s; s++)
        if ((unsigned char)*s < 0x20) return 0;
    for (const char *c = p; c;) {
        const char *e = strchr(c, '/');
        size_t n = e ? (size_t)(e - c) : strlen(c);
        if (!n || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.')) return 0;
        c = e ? e + 1 : NULL;
    }
    return 1;
}

char *cl_hub_normalize_etag(const char *e) {
    if (!e) return NULL;
    if (!strncmp(e, "W/", 2)) e += 2;
    size_t n = strlen(e);
    if (n >= 2 && e[0] == '"' && e[n - 1] == '"') e++, n -= 2;
    if (!n || n > 128) return NULL;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)e[i]) && e[i] != '_' && e[i] != '-') return NULL;
    return cl_strndup(e, n);
}

static int is_hex(const char *s, size_t len) {
    if (strlen(s) != len) return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s) && !(*s >= 'a' && *s <= 'f')) return 0;
    return 1;
}

/* A one-line error for an HTTP status of the Hub. */
static int status_error(const cl_hub_ref *r, const cl_http *h, const cl_http_meta *m, const char *what) {
    const char *code = m->error_code ? m->error_code : "";
    if (m->status == 401 || m->status == 403) {
        if (!strcmp(code, "RepoNotFound"))
            return cl_fail("%s: repository not found on %s (HTTP %ld; if it is private or gated, a token is needed: "
                           "set HF_TOKEN or put one in $HF_HOME/token)", r->repo, cl_http_endpoint(h), m->status);
        if (cl_http_has_token(h))
            return cl_fail("%s: access denied (HTTP %ld) with the token given: the repository is gated or private "
                           "and this token has no access to it", r->repo, m->status);
        return cl_fail("%s: access denied (HTTP %ld): the repository is gated or private and needs a token: "
                       "set HF_TOKEN or put one in $HF_HOME/token", r->repo, m->status);
    }
    if (m->status == 404) {
        if (!strcmp(code, "RevisionNotFound")) return cl_fail("%s: revision %s not found", r->repo, r->revision);
        if (!strcmp(code, "EntryNotFound")) return cl_fail("%s: file %s not found in the repository", r->repo, what);
        return cl_fail("%s: repository not found on %s (HTTP 404)", r->repo, cl_http_endpoint(h));
    }
    return cl_fail("%s: %s: HTTP %ld%s%s", r->repo, what, m->status, m->error_message ? ": " : "",
                   m->error_message ? m->error_message : "");
}

int cl_hub_parse_model_info(const char *body, char **commit, char ***files, int *n_files) {
    json_error_t je;
    json_t *j = json_loads(body, 0, &je);
    json_t *sha = json_object_get(j, "sha"), *sib = json_object_get(j, "siblings");
    int rc = 0;
    if (!j) rc = cl_fail("model info: bad JSON at line %d column %d: %s", je.line, je.column, je.text);
    else if (!json_is_string(sha) || strlen(json_string_value(sha)) != 40 || !json_is_array(sib))
        rc = cl_fail("model info: no 40-character \"sha\" or no \"siblings\" array");
    else {
        *commit = cl_strdup(json_string_value(sha));
        *files = cl_calloc(json_array_size(sib) + 1, sizeof **files);
        *n_files = 0;
        size_t i;
        json_t *v;
        json_array_foreach(sib, i, v) {
            const char *f = json_string_value(json_object_get(v, "rfilename"));
            if (f) (*files)[(*n_files)++] = cl_strdup(f);
        }
    }
    json_decref(j);
    return rc;
}

/* The revision's commit and file list from GET /api/models/ORG/NAME/revision/REV. */
static int repo_info(cl_http *h, const cl_hub_ref *r, char **commit, char ***files, int *n_files) {
    char *rev = cl_http_escape(r->revision, 0);
    char *url = fmt("%s/api/models/%s/revision/%s", cl_http_endpoint(h), r->repo, rev);
    free(rev);
    char *body = NULL;
    cl_http_meta m;
    int rc = cl_http_request(h, "GET", url, NULL, &body, &m);
    if (!rc && m.status != 200) rc = status_error(r, h, &m, "model info");
    if (!rc && cl_hub_parse_model_info(body, commit, files, n_files)) rc = cl_fail_prefix("%s: %s", r->repo, url);
    free(body);
    free(url);
    cl_http_meta_free(&m);
    return rc;
}

static int ends_with_ci(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcasecmp(s + n - k, suffix);
}

/* The default selection.  hf_layout: the repository has model.safetensors or its index, whose
 * weights are model.safetensors / model-NNNNN-of-NNNNN.safetensors; other top-level safetensors
 * beside them (Mistral's consolidated.safetensors, the same weights again) are left out. */
static int is_default_file(const char *f, int hf_layout) {
    static const char *const names[] = {"config.json", "generation_config.json", "tokenizer.json",
                                        "tokenizer_config.json", "model.safetensors.index.json"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!strcmp(f, names[i])) return 1;
    if (strchr(f, '/') || !ends_with_ci(f, ".safetensors")) return 0;
    return !hf_layout || !strcmp(f, "model.safetensors") || (!strncmp(f, "model-", 6) && strstr(f, "-of-"));
}

/* Mark in want[] the files to fetch; 0 or -1 + cl_error(). */
static int select_files(const cl_hub_ref *r, const cl_hub_pull_opts *o, const char *quant, char **files, int n,
                        int *want) {
    int picked = 0, n_st = 0, n_gguf = 0, has_config = 0, hf_layout = 0;
    for (int i = 0; i < n; i++) {
        want[i] = 0;
        if (!strchr(files[i], '/') && ends_with_ci(files[i], ".safetensors")) n_st++;
        if (ends_with_ci(files[i], ".gguf")) n_gguf++;
        if (!strcmp(files[i], "config.json")) has_config = 1;
        if (!strcmp(files[i], "model.safetensors") || !strcmp(files[i], "model.safetensors.index.json")) hf_layout = 1;
    }
    if (o->n_include) {
        for (int i = 0; i < n; i++)
            for (int k = 0; k < o->n_include && !want[i]; k++)
                if (!fnmatch(o->include[k], files[i], 0)) want[i] = 1, picked++;
        if (!picked) return cl_fail("%s: no file of the repository matches --include", r->repo);
        return 0;
    }
    if (quant || (!n_st && n_gguf)) {
        for (int i = 0; i < n; i++)
            if (ends_with_ci(files[i], ".gguf") && (!quant || strcasestr(files[i], quant))) want[i] = 1, picked++;
        if (picked == 1) return 0;
        char list[1024] = "";
        for (int i = 0; i < n; i++)
            if (ends_with_ci(files[i], ".gguf") && strlen(list) + strlen(files[i]) + 3 < sizeof list)
                strcat(strcat(list, *list ? ", " : ""), files[i]);
        if (!picked) return cl_fail("%s: no .gguf file%s%s (the repository has: %s)", r->repo, quant ? " matches " : "",
                                    quant ? quant : "", *list ? list : "no .gguf file");
        return cl_fail("%s: %d .gguf files%s%s: choose one with --gguf QUANT (%s)", r->repo, picked,
                       quant ? " match " : "", quant ? quant : "", list);
    }
    if (!has_config) return cl_fail("%s: no config.json in the repository (give --include GLOB or --gguf QUANT)", r->repo);
    if (!n_st) return cl_fail("%s: no .safetensors or .gguf weights in the repository", r->repo);
    for (int i = 0; i < n; i++) want[i] = is_default_file(files[i], hf_layout);
    return 0;
}

/* The downloaded file checked against its ETag: the sha256 of the content for an LFS file (64
 * hex), the git blob id sha1("blob SIZE\0" content) for a file stored in git (40 hex); other
 * ETags (not the Hub's) are not checked beyond the size. */
static int check_etag(const char *part, const char *etag, const char *label) {
    int lfs = is_hex(etag, 64);
    if (!lfs && !is_hex(etag, 40)) return 0;
    cl_map m;
    if (cl_map_file(part, &m)) return -1;
    uint8_t d[32];
    char hex[65];
    if (lfs) {
        cl_sha256 s;
        cl_sha256_init(&s);
        if (m.size) cl_sha256_update(&s, m.data, m.size);
        cl_sha256_final(&s, d);
    } else {
        cl_sha1 s;
        char hdr[32];
        int n = snprintf(hdr, sizeof hdr, "blob %zu", m.size);
        cl_sha1_init(&s);
        cl_sha1_update(&s, hdr, (size_t)n + 1);   /* with its NUL */
        if (m.size) cl_sha1_update(&s, m.data, m.size);
        cl_sha1_final(&s, d);
    }
    cl_unmap(&m);
    cl_hex(d, lfs ? 32 : 20, hex);
    if (strcmp(hex, etag))
        return cl_fail("%s: wrong checksum: %s %s, the Hub's ETag says %s", label, lfs ? "sha256" : "git blob sha1", hex,
                       etag);
    return 0;
}

/* blobs/ETAG from url, under the lock huggingface_hub also takes. */
static int fetch_blob(cl_http *h, const char *repo_dir, const char *lock_dir, const char *etag, const char *url,
                      long long size, const char *label, int progress) {
    char *blob = fmt("%s/blobs/%s", repo_dir, etag), *lock = fmt("%s/%s.lock", lock_dir, etag);
    char *part = fmt("%s.incomplete", blob);
    int rc = mkdirs(blob, 0) || mkdirs(lock, 0) ? -1 : 0, fd = -1;
    if (!rc && (fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0) rc = cl_fail("%s: %s", lock, strerror(errno));
    if (!rc && flock(fd, LOCK_EX)) rc = cl_fail("%s: cannot lock: %s", lock, strerror(errno));
    if (!rc && !exists(blob)) {   /* another pull may have finished it while we waited */
        rc = cl_http_download(h, url, part, size, label, progress);
        if (!rc && check_etag(part, etag, label)) {
            unlink(part);   /* wrong bytes are no prefix to resume from */
            rc = -1;
        }
        if (!rc && rename(part, blob)) rc = cl_fail("%s: cannot rename to %s: %s", part, blob, strerror(errno));
    }
    if (fd >= 0) close(fd);   /* releases the flock */
    free(blob);
    free(lock);
    free(part);
    return rc;
}

/* snapshots/COMMIT/PATH -> ../../blobs/ETAG (one more ../ per directory in PATH), made
 * atomically: a temporary symlink renamed over the pointer. */
static int link_pointer(const char *pointer, const char *path, const char *etag) {
    size_t depth = 2;
    for (const char *s = path; *s; s++) depth += *s == '/';
    size_t n = depth * 3 + strlen(etag) + 8;
    char *target = cl_malloc(n), *t = target;
    for (size_t i = 0; i < depth; i++) t += sprintf(t, "../");
    sprintf(t, "blobs/%s", etag);
    char *tmp = fmt("%s.tmp.%ld", pointer, (long)getpid());
    int rc = mkdirs(pointer, 0);
    unlink(tmp);
    if (!rc && symlink(target, tmp)) rc = cl_fail("cannot create symlink %s: %s", tmp, strerror(errno));
    if (!rc && rename(tmp, pointer)) rc = cl_fail("cannot create %s: %s", pointer, strerror(errno)), unlink(tmp);
    free(tmp);
    free(target);
    return rc;
}

/* HEAD the file's resolve URL (relative redirects followed, as huggingface_hub does) and fetch it. */
static int fetch_file(cl_http *h, const cl_hub_ref *r, const char *repo_dir, const char *lock_dir, const char *commit,
                      const char *path, int progress) {
    char *pointer = fmt("%s/snapshots/%s/%s", repo_dir, commit, path);
    if (exists(pointer)) {
        free(pointer);
        return 0;
    }
    char *epath = cl_http_escape(path, 1);
    char *url = fmt("%s/%s/resolve/%s/%s", cl_http_endpoint(h), r->repo, commit, epath);
    free(epath);
    cl_http_meta m;
    int rc = 0;
    for (int hops = 0;; hops++) {
        rc = cl_http_request(h, "HEAD", url, NULL, NULL, &m);
        if (rc || m.status < 300 || m.status > 399 || !m.location || m.location[0] != '/' || !m.redirect_url ||
            hops == 5)
            break;
        free(url);   /* a relative redirect: a renamed repository, same host */
        url = cl_strdup(m.redirect_url);
        cl_http_meta_free(&m);
    }
    char *etag = NULL, *dl = NULL;
    long long size = -1;
    if (!rc && m.status != 200 && !(m.status >= 300 && m.status <= 399 && m.location))
        rc = status_error(r, h, &m, path);
    if (!rc && !m.repo_commit)
        rc = cl_fail("%s: %s: no X-Repo-Commit header: %s does not look like a Hugging Face Hub", r->repo, path,
                     cl_http_endpoint(h));
    if (!rc && !(etag = cl_hub_normalize_etag(m.linked_etag ? m.linked_etag : m.etag)))
        rc = cl_fail("%s: %s: missing or unusable ETag", r->repo, path);
    if (!rc) {
        size = m.linked_size >= 0 ? m.linked_size : m.content_length;
        if (size < 0) rc = cl_fail("%s: %s: no size (X-Linked-Size / Content-Length)", r->repo, path);
    }
    if (!rc) {
        dl = cl_strdup(m.status == 200 ? url : m.redirect_url ? m.redirect_url : m.location);
        char *blob = fmt("%s/blobs/%s", repo_dir, etag);
        char *label = fmt("%s/%s", r->repo, path);
        if (!exists(blob)) rc = fetch_blob(h, repo_dir, lock_dir, etag, dl, size, label, progress);
        if (!rc) rc = link_pointer(pointer, path, etag);
        free(blob);
        free(label);
    }
    cl_http_meta_free(&m);
    free(etag);
    free(dl);
    free(url);
    free(pointer);
    return rc;
}

/* refs/REV = commit (no newline, as huggingface_hub writes it), atomically: whatever is there is
 * replaced by rename, as a cache entry (cl_atomic_open_replace). */
static int write_ref(const char *repo_dir, const char *rev, const char *commit) {
    char *ref = fmt("%s/refs/%s", repo_dir, rev);
    cl_atomic a;
    int rc = mkdirs(ref, 0);
    if (!rc && !(rc = cl_atomic_open_replace(&a, ref))) {
        rc = cl_atomic_write(&a, commit, strlen(commit));
        if (rc) cl_atomic_abort(&a);
        else rc = cl_atomic_commit(&a);
    }
    free(ref);
    return rc;
}

char *cl_hub_pull(const char *s, const cl_hub_pull_opts *o) {
    cl_hub_ref r;
    if (cl_hub_ref_parse(s, &r)) return NULL;
    const char *quant = o->gguf ? o->gguf : r.quant;
    if (cl_hub_offline() && !o->n_include) {
        /* as snapshot_download offline: the cached model, or an error */
        char *ref = o->gguf && !r.quant ? fmt("%s:%s", s, o->gguf) : cl_strdup(s), *path = cl_hub_resolve(ref);
        if (!path) cl_fail_prefix("offline mode ($HF_HUB_OFFLINE is set), no download");
        free(ref);
        cl_hub_ref_free(&r);
        return path;
    }
    cl_http *h = cl_http_new();
    char *repo_dir = cl_hub_repo_dir(&r), *commit = NULL, **files = NULL, *out = NULL;
    int n = 0, rc = h ? repo_info(h, &r, &commit, &files, &n) : -1;
    int *want = cl_calloc((size_t)n + 1, sizeof *want);
    if (!rc) rc = select_files(&r, o, quant, files, n, want);
    for (int i = 0; !rc && i < n; i++)
        if (want[i] && !safe_path(files[i])) rc = cl_fail("%s: unsafe file name in the repository: %s", r.repo, files[i]);
    char *cache = cl_hub_cache_dir();
    char *lock_dir = fmt("%s/.locks/models--%s--%s", cache, r.org, r.name);
    free(cache);
    for (int i = 0; !rc && i < n; i++)
        if (want[i]) rc = fetch_file(h, &r, repo_dir, lock_dir, commit, files[i], o->progress);
    if (!rc && strcmp(r.revision, commit)) rc = write_ref(repo_dir, r.revision, commit);
    if (!rc) {
        /* resolve what was fetched: the snapshot directory, or the one .gguf */
        char *snap = fmt("%s/snapshots/%s", repo_dir, commit), *cfg = fmt("%s/config.json", snap);
        int gguf = -1;
        for (int i = 0; i < n; i++)
            if (want[i] && ends_with_ci(files[i], ".gguf")) gguf = gguf == -1 ? i : -2;
        if (!o->n_include && gguf >= 0) out = fmt("%s/%s", snap, files[gguf]);
        else out = cl_strdup(snap);
        free(snap);
        free(cfg);
    }
    for (int i = 0; i < n; i++) free(files[i]);
    free(files);
    free(want);
    free(commit);
    free(repo_dir);
    free(lock_dir);
    cl_http_free(h);
    cl_hub_ref_free(&r);
    return out;
}
