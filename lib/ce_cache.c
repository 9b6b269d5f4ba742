/* ce_cache.c — see ce_cache.h. */
#include "ce_cache.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "util.h"

struct cl_ce_cache {
    char *dir;
    cl_ce_cache_stats st;
    int writes_off;      /* a put failed (or the directory could not be made): no more tries */
    char *write_err;     /* why, until the first put reports it */
};

/* errno values that mean "this cache cannot be written", not "this path is wrong" */
static int unwritable(int e) { return e == EROFS || e == EACCES || e == EPERM || e == ENOSPC || e == EDQUOT; }

/* 0, or 1 when the directory cannot be made for want of permission or space, or -1. */
static int mkdir_p(const char *path) {
    char *p = cl_strdup(path);
    for (char *s = p + 1;; s++) {
        if (*s == '/' || !*s) {
            char c = *s;
            *s = 0;
            if (mkdir(p, 0777) < 0 && errno != EEXIST) {
                int e = errno;
                free(p);
                cl_fail("cache: %s: %s", path, strerror(e));
                return unwritable(e) ? 1 : -1;
            }
            *s = c;
            if (!c) break;
        }
    }
    free(p);
    struct stat st;
    if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) return cl_fail("cache: %s: not a directory", path);
    return 0;
}

cl_ce_cache *cl_ce_cache_open(const char *dir) {
    if (!*dir) {
        cl_fail("cache: empty directory name");
        return NULL;
    }
    int rc = mkdir_p(dir);
    if (rc < 0) return NULL;
    cl_ce_cache *c = cl_calloc(1, sizeof *c);
    c->dir = cl_strdup(dir);
    if (rc > 0) {   /* e.g. a read-only file system: every get misses, the first put says why */
        c->writes_off = 1;
        c->write_err = cl_strdup(cl_error());
    }
    return c;
}

void cl_ce_cache_close(cl_ce_cache *c) {
    if (!c) return;
    free(c->dir);
    free(c->write_err);
    free(c);
}

cl_ce_cache_stats cl_ce_cache_get_stats(const cl_ce_cache *c) { return c->st; }

/* DIR/ab/abcd....ce into path (and the subdirectory alone into sub when not NULL). */
static void entry_path(const cl_ce_cache *c, const uint8_t comp_fp[32], const uint8_t content_hash[32],
                       char **path, char **sub) {
    uint8_t key[32];
    char hex[65];
    cl_sha256 s;
    cl_sha256_init(&s);
    cl_sha256_update(&s, comp_fp, 32);
    cl_sha256_update(&s, content_hash, 32);
    cl_sha256_final(&s, key);
    cl_hex(key, 32, hex);
    size_t n = strlen(c->dir) + 80;
    *path = cl_malloc(n);
    snprintf(*path, n, "%s/%.2s/%s.ce", c->dir, hex, hex);
    if (sub) {
        *sub = cl_malloc(n);
        snprintf(*sub, n, "%s/%.2s", c->dir, hex);
    }
}

int cl_ce_cache_get(cl_ce_cache *c, const uint8_t comp_fp[32], const uint8_t content_hash[32], uint32_t dim,
                    uint32_t count, float *out) {
    char *path;
    entry_path(c, comp_fp, content_hash, &path, NULL);
    cl_map map;
    int hit = 0;
    if (cl_map_file(path, &map) == 0) {
        cl_ce_reader *r = cl_ce_open_mem(map.data, map.size, path);
        cl_ce_meta m;
        const float *e;
        if (cl_ce_next(r, &m, &e) == 1 && cl_ce_next(r, NULL, NULL) == 0 && !memcmp(m.comp_fp, comp_fp, 32) &&
            !memcmp(m.content_hash, content_hash, 32) && m.dim == dim && m.count == count && m.dtype == CL_F32) {
            memcpy(out, e, (size_t)count * dim * sizeof(float));
            hit = 1;
        } else {
            c->st.corrupt++;
        }
        cl_ce_close(r);
        cl_unmap(&map);
    }
    if (hit) c->st.hits++;
    else c->st.misses++;
    free(path);
    return hit;
}

int cl_ce_cache_put(cl_ce_cache *c, const cl_ce_meta *m, const float *embd) {
    if (c->writes_off) {
        if (!c->write_err) {
            c->st.skipped++;
            return 0;
        }
        cl_fail("%s; not writing to the cache for the rest of this run", c->write_err);
        free(c->write_err);
        c->write_err = NULL;
        return -1;
    }
    cl_ce_meta e = *m;
    e.dtype = CL_F32;            /* exact: a hit gives the very floats a recomputation would */
    e.source = NULL;             /* where a segment came from is the caller's, not the entry's */
    e.seg_index = e.src_offset = e.src_length = 0;
    uint8_t *buf;
    size_t n = cl_ce_encode(&e, embd, &buf);
    if (!n) return -1;
    char *path, *sub;
    entry_path(c, m->comp_fp, m->content_hash, &path, &sub);
    int rc = -1;
    cl_atomic a;
    if (mkdir(sub, 0777) < 0 && errno != EEXIST) cl_fail("cache: %s: %s", sub, strerror(errno));
    else if (cl_atomic_open_replace(&a, path) < 0) cl_fail_prefix("cache");
    else if (cl_atomic_write(&a, buf, n) < 0) {
        cl_fail_prefix("cache");
        cl_atomic_abort(&a);
    } else if (cl_atomic_commit(&a) < 0) {
        cl_fail_prefix("cache");
    } else {
        rc = 0;
        c->st.puts++;
    }
    if (rc < 0) {   /* read-only, full, or broken: warn once (the caller prints this), then skip */
        c->writes_off = 1;
        char *why = cl_strdup(cl_error());
        cl_fail("%s; not writing to the cache for the rest of this run", why);
        free(why);
    }
    free(buf);
    free(path);
    free(sub);
    return rc;
}
