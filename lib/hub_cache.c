/* hub_cache.c — model references, the Hugging Face cache directory and offline resolution
 * (see hub.h).  No network here. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include "hub.h"
#include "util.h"

static int name_ok(const char *s, size_t n) {
    if (!n || n > 96) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!(isalnum((unsigned char)c) || c == '.' || c == '_' || c == '-')) return 0;
        if (i && ((c == '-' && s[i - 1] == '-') || (c == '.' && s[i - 1] == '.'))) return 0;
    }
    /* huggingface_hub: no leading/trailing '-' or '.' */
    return !strchr("-.", s[0]) && !strchr("-.", s[n - 1]);
}

/* A revision: a git ref name (no "..", no control characters or spaces, no leading '/' or '-'). */
static int rev_ok(const char *s, size_t n) {
    if (!n || n > 255 || s[0] == '/' || s[0] == '-' || s[n - 1] == '/') return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c == 0x7f || strchr("~^:?*[\\", c)) return 0;
        if (i && c == '.' && s[i - 1] == '.') return 0;
    }
    return 1;
}

int cl_hub_ref_parse(const char *s, cl_hub_ref *r) {
    memset(r, 0, sizeof *r);
    const char *slash = strchr(s, '/');
    if (!slash) return cl_fail("%s: not a model reference ORG/NAME[@REVISION][:QUANT]", s);
    const char *end = s + strlen(s);
    const char *colon = strchr(slash, ':');
    const char *at = strchr(slash, '@');
    if (at && colon && colon < at) return cl_fail("%s: write ORG/NAME@REVISION:QUANT", s);
    const char *name_end = at ? at : colon ? colon : end;
    const char *rev_end = colon ? colon : end;
    if (!name_ok(s, (size_t)(slash - s)) || !name_ok(slash + 1, (size_t)(name_end - slash - 1)))
        return cl_fail("%s: not a model reference ORG/NAME[@REVISION][:QUANT]", s);
    if (at && !rev_ok(at + 1, (size_t)(rev_end - at - 1))) return cl_fail("%s: bad revision", s);
    if (colon && !name_ok(colon + 1, (size_t)(end - colon - 1))) return cl_fail("%s: bad quant name", s);
    r->org = cl_strndup(s, (size_t)(slash - s));
    r->name = cl_strndup(slash + 1, (size_t)(name_end - slash - 1));
    r->repo = cl_strndup(s, (size_t)(name_end - s));
    r->revision = at ? cl_strndup(at + 1, (size_t)(rev_end - at - 1)) : cl_strdup("main");
    r->quant = colon ? cl_strdup(colon + 1) : NULL;
    return 0;
}

void cl_hub_ref_free(cl_hub_ref *r) {
    free(r->org);
    free(r->name);
    free(r->repo);
    free(r->revision);
    free(r->quant);
    memset(r, 0, sizeof *r);
}

int cl_hub_is_ref(const char *s) {
    cl_hub_ref r;
    char saved[512];
    snprintf(saved, sizeof saved, "%s", cl_error());   /* a syntax probe must not clobber errors */
    int ok = strlen(s) < 400 && cl_hub_ref_parse(s, &r) == 0;
    if (ok) cl_hub_ref_free(&r);
    else cl_fail("%s", saved);
    return ok;
}

static char *env(const char *name) {
    const char *v = getenv(name);
    return v && *v ? (char *)v : NULL;
}

static char *join2(const char *a, const char *b) {
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = cl_malloc(n);
    snprintf(p, n, "%s/%s", a, b);
    return p;
}

char *cl_hub_cache_dir(void) {
    if (env("HF_HUB_CACHE")) return cl_strdup(env("HF_HUB_CACHE"));
    if (env("HUGGINGFACE_HUB_CACHE")) return cl_strdup(env("HUGGINGFACE_HUB_CACHE"));
    if (env("HF_HOME")) return join2(env("HF_HOME"), "hub");
    char *base = env("XDG_CACHE_HOME") ? cl_strdup(env("XDG_CACHE_HOME"))
                 : env("HOME")         ? join2(env("HOME"), ".cache")
                                       : cl_strdup(".cache");
    char *d = join2(base, "huggingface/hub");
    free(base);
    return d;
}

char *cl_hub_repo_dir(const cl_hub_ref *r) {
    char *cache = cl_hub_cache_dir();
    size_t n = strlen(cache) + strlen(r->org) + strlen(r->name) + 16;
    char *d = cl_malloc(n);
    snprintf(d, n, "%s/models--%s--%s", cache, r->org, r->name);
    free(cache);
    return d;
}

int cl_hub_offline(void) {
    const char *v = env("HF_HUB_OFFLINE");
    return v && (!strcmp(v, "1") || !strcasecmp(v, "on") || !strcasecmp(v, "yes") || !strcasecmp(v, "true"));
}

static int is_commit(const char *s) {
    if (strlen(s) != 40) return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s) && !(*s >= 'a' && *s <= 'f')) return 0;
    return 1;
}

static int ends_with_ci(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcasecmp(s + n - k, suffix);
}

/* The one .gguf under dir (top level) whose name contains quant (any case; NULL: any); NULL +
 * cl_error() when none or several. */
static char *pick_gguf(const char *dir, const char *quant, const char *what) {
    DIR *d = opendir(dir);
    if (!d) return cl_fail("%s: %s", dir, strerror(errno)), NULL;
    char *found = NULL;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!ends_with_ci(e->d_name, ".gguf") || (quant && !strcasestr(e->d_name, quant))) continue;
        if (!n++) found = join2(dir, e->d_name);
    }
    closedir(d);
    if (n == 1) return found;
    free(found);
    if (!n) cl_fail("%s: no .gguf%s%s in the cached snapshot %s", what, quant ? " matching " : "", quant ? quant : "", dir);
    else cl_fail("%s: %d .gguf files%s%s in %s: name one with :QUANT", what, n, quant ? " match " : "", quant ? quant : "", dir);
    return NULL;
}

/* Read refs/<rev> (trailing whitespace dropped) into a malloc'd string, or NULL. */
static char *read_ref(const char *repo_dir, const char *rev) {
    size_t n = strlen(repo_dir) + strlen(rev) + 8;
    char *p = cl_malloc(n), *buf = NULL;
    size_t len;
    snprintf(p, n, "%s/refs/%s", repo_dir, rev);
    char saved[512];
    snprintf(saved, sizeof saved, "%s", cl_error());
    if (cl_read_file(p, &buf, &len) == 0) {
        while (len && isspace((unsigned char)buf[len - 1])) buf[--len] = 0;
        if (!is_commit(buf)) free(buf), buf = NULL;
    } else cl_fail("%s", saved);
    free(p);
    return buf;
}

char *cl_hub_resolve(const char *s) {
    cl_hub_ref r;
    if (cl_hub_ref_parse(s, &r)) return NULL;
    char *repo_dir = cl_hub_repo_dir(&r), *out = NULL;
    char *commit = is_commit(r.revision) ? cl_strdup(r.revision) : read_ref(repo_dir, r.revision);
    char *snap = NULL;
    if (commit) {
        size_t n = strlen(repo_dir) + 64;
        snap = cl_malloc(n);
        snprintf(snap, n, "%s/snapshots/%s", repo_dir, commit);
    }
    struct stat st;
    if (!snap || stat(snap, &st) || !S_ISDIR(st.st_mode)) {
        cl_fail("%s: no such file, and not in the Hugging Face cache (%s): fetch it with `cl-model pull %s`, or give --pull", s,
                repo_dir, s);
    } else if (r.quant) {
        out = pick_gguf(snap, r.quant, s);
    } else {
        char *cfg = join2(snap, "config.json");
        out = stat(cfg, &st) == 0 ? cl_strdup(snap) : pick_gguf(snap, NULL, s);
        free(cfg);
    }
    free(snap);
    free(commit);
    free(repo_dir);
    cl_hub_ref_free(&r);
    return out;
}

static int allow_pull;
void cl_hub_set_pull(int allow) { allow_pull = allow; }

char *cl_hub_model_path(const char *ref) {
    char *p = cl_hub_resolve(ref);
    if (p || !allow_pull) return p;
    cl_hub_pull_opts o = {0};
    o.progress = cl_isatty_stderr();
    return cl_hub_pull(ref, &o);
}

/* ---- cl-model list ---- */

static long long dir_bytes(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    long long sum = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char *p = join2(dir, e->d_name);
        struct stat st;
        if (!lstat(p, &st) && S_ISREG(st.st_mode)) sum += (long long)st.st_size;
        free(p);
    }
    closedir(d);
    return sum;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int cl_hub_list(FILE *out) {
    char *cache = cl_hub_cache_dir();
    DIR *d = opendir(cache);
    if (!d) {
        int rc = errno == ENOENT ? 0 : cl_fail("%s: %s", cache, strerror(errno));
        if (!rc) fprintf(out, "(no Hugging Face cache at %s)\n", cache);
        free(cache);
        return rc;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, "models--", 8)) {
            names = cl_realloc(names, (n + 1) * sizeof *names);
            names[n++] = cl_strdup(e->d_name);
        }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    fprintf(out, "Hugging Face cache %s:\n", cache);
    for (size_t i = 0; i < n; i++) {
        char *org = cl_strdup(names[i] + 8), *sep = strstr(org, "--");
        if (!sep) {
            free(org);
            continue;
        }
        *sep = 0;
        char *repo_dir = join2(cache, names[i]), *blobs = join2(repo_dir, "blobs"), *refs = join2(repo_dir, "refs");
        fprintf(out, "  %s/%s  %.1f MB", org, sep + 2, (double)dir_bytes(blobs) / 1e6);
        DIR *rd = opendir(refs);
        while (rd && (e = readdir(rd))) {
            if (e->d_name[0] == '.') continue;
            char *c = read_ref(repo_dir, e->d_name);
            if (c) fprintf(out, "  %s=%.12s", e->d_name, c);
            free(c);
        }
        if (rd) closedir(rd);
        fprintf(out, "  %s\n", repo_dir);
        free(org);
        free(repo_dir);
        free(blobs);
        free(refs);
        free(names[i]);
    }
    if (!n) fprintf(out, "  (no models)\n");
    free(names);
    free(cache);
    return 0;
}
