/* ce.c — CE records: encode, stream-decode with validation, read whole files.  See ce.h. */
#include "ce.h"
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "quant.h"
#include "utf8.h"
#include "util.h"

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> 8 * i); }
static void put64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> 8 * i); }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32; }

static int elem_size(int dtype) {
    switch (dtype) {
    case CL_F32: return 4;
    case CL_F16: case CL_BF16: return 2;
    default: return 0;
    }
}

void cl_ce_content_hash(const int32_t *ids, size_t n, uint8_t out[32]) {
    cl_sha256 s;
    cl_sha256_init(&s);
    uint8_t b[4 * 256];
    for (size_t i = 0; i < n;) {
        size_t k = 0;
        for (; i < n && k < sizeof b; i++, k += 4) put32(b + k, (uint32_t)ids[i]);
        cl_sha256_update(&s, b, k);
    }
    cl_sha256_final(&s, out);
}

/* Checksum of a record whose bytes 0..151 are in hdr and whose name+payload follow in rest. */
static void checksum(const uint8_t *hdr, const uint8_t *rest, size_t nrest, uint8_t out[8]) {
    cl_sha256 s;
    uint8_t d[32];
    cl_sha256_init(&s);
    cl_sha256_update(&s, hdr, 152);
    cl_sha256_update(&s, rest, nrest);
    cl_sha256_final(&s, d);
    memcpy(out, d, 8);
}

size_t cl_ce_encode(const cl_ce_meta *m, const float *embd, uint8_t **out) {
    int es = elem_size(m->dtype);
    if (!es) {
        cl_fail("CE: unsupported element type %d", (int)m->dtype);
        return 0;
    }
    if (m->dim == 0 || m->dim > CL_CE_MAX_DIM || m->count > CL_CE_MAX_COUNT) {
        cl_fail("CE: dim %u / count %u out of range", m->dim, m->count);
        return 0;
    }
    /* a longer name is cut at a character boundary: a valid UTF-8 name stays valid */
    size_t name_len = m->source ? cl_utf8_floor(m->source, strlen(m->source), CL_CE_MAX_NAME) : 0;
    size_t nel = (size_t)m->count * m->dim, payload = nel * (size_t)es;
    size_t total = CL_CE_HEADER + name_len + payload;
    uint8_t *p = cl_calloc(1, total);
    memcpy(p, CL_CE_MAGIC, 4);
    put16(p + 4, CL_CE_VERSION);
    put16(p + 6, CL_CE_HEADER);
    put32(p + 8, m->dim);
    put32(p + 12, m->count);
    p[16] = (uint8_t)m->dtype;
    put16(p + 18, (uint16_t)name_len);
    put32(p + 20, m->n_tokens);
    put64(p + 24, m->seg_index);
    put64(p + 32, m->src_offset);
    put64(p + 40, m->src_length);
    memcpy(p + 48, m->model_fp, 32);
    memcpy(p + 80, m->comp_fp, 32);
    memcpy(p + 112, m->content_hash, 32);
    put64(p + 144, payload);
    if (name_len) memcpy(p + CL_CE_HEADER, m->source, name_len);
    uint8_t *q = p + CL_CE_HEADER + name_len;
    if (m->dtype == CL_F32) {
        for (size_t i = 0; i < nel; i++) {
            uint32_t u;
            memcpy(&u, &embd[i], 4);
            put32(q + 4 * i, u);
        }
    } else {   /* f16/bf16 by cl_quantize, which refuses a finite value beyond the range */
        uint16_t *h = cl_malloc(nel * sizeof *h);
        for (uint32_t v = 0; v < m->count; v++)
            if (cl_quantize(m->dtype, embd + (size_t)v * m->dim, m->dim, h + (size_t)v * m->dim) < 0) {
                cl_fail_prefix("CE: segment %llu of \"%s\" (offset %llu, %llu bytes): vector %u", (unsigned long long)m->seg_index,
                               m->source ? m->source : "", (unsigned long long)m->src_offset,
                               (unsigned long long)m->src_length, v);
                free(h), free(p);
                return 0;
            }
        for (size_t i = 0; i < nel; i++) put16(q + 2 * i, h[i]);
        free(h);
    }
    checksum(p, p + CL_CE_HEADER, name_len + payload, p + 152);
    *out = p;
    return total;
}

int cl_ce_write(FILE *f, const cl_ce_meta *meta, const float *embd) {
    uint8_t *buf;
    size_t n = cl_ce_encode(meta, embd, &buf);
    if (!n) return -1;
    size_t w = fwrite(buf, 1, n, f);
    free(buf);
    if (w != n) return cl_fail("CE: write error: %s", strerror(errno));
    return 0;
}

/* ---- reader ---- */
struct cl_ce_reader {
    char *name;
    FILE *f;                 /* NULL for memory input */
    int own_f;
    const uint8_t *mem;      /* memory input */
    size_t mem_size;
    uint64_t pos;            /* byte offset of the next record */
    int64_t nrec;            /* records returned so far */
    uint8_t *buf;            /* file input: the current record's bytes */
    size_t cap;
    const uint8_t *rec;      /* current record's bytes */
    size_t rec_size;
    float *f32;
    size_t f32_cap;
    char *source;
    size_t source_cap;
    int failed;
};

static cl_ce_reader *reader_new(const char *name) {
    cl_ce_reader *r = cl_calloc(1, sizeof *r);
    r->name = cl_strdup(name);
    return r;
}

cl_ce_reader *cl_ce_open(const char *path) {
    FILE *f = stdin;
    if (strcmp(path, "-")) {
        f = cl_open_read(path);
        if (!f) return NULL;
    }
    cl_ce_reader *r = reader_new(strcmp(path, "-") ? path : "<stdin>");
    r->f = f;
    r->own_f = f != stdin;
    return r;
}

cl_ce_reader *cl_ce_open_mem(const void *data, size_t size, const char *name) {
    cl_ce_reader *r = reader_new(name ? name : "<memory>");
    r->mem = data;
    r->mem_size = size;
    return r;
}

void cl_ce_close(cl_ce_reader *r) {
    if (!r) return;
    if (r->own_f) fclose(r->f);
    free(r->name);
    free(r->buf);
    free(r->f32);
    free(r->source);
    free(r);
}

/* Make the first `need` bytes of the current record available at r->rec; returns how many are
 * (fewer only at the end of the input). */
static size_t fill(cl_ce_reader *r, size_t have, size_t need) {
    if (!r->f) {
        size_t left = r->mem_size - r->pos;
        r->rec = r->mem + r->pos;
        return left < need ? left : need;
    }
    while (have < need) {
        if (r->cap < need) {
            /* grow with the data actually read, so a lying header cannot make us allocate much */
            size_t c = r->cap ? r->cap : 4096;
            while (c < need && c < have + (1u << 24)) c *= 2;
            r->buf = cl_realloc(r->buf, r->cap = c);
        }
        size_t want = (need < r->cap ? need : r->cap) - have;
        size_t got = fread(r->buf + have, 1, want, r->f);
        have += got;
        if (got < want) break;
    }
    r->rec = r->buf;
    return have < need ? have : need;
}

__attribute__((format(printf, 2, 3)))
static int bad(cl_ce_reader *r, const char *fmt, ...) {
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    r->failed = 1;
    return cl_fail("%s: record %lld at byte offset %llu: %s", r->name, (long long)r->nrec + 1,
                   (unsigned long long)r->pos, msg);
}

int cl_ce_next(cl_ce_reader *r, cl_ce_meta *meta, const float **embd) {
    cl_ce_meta scratch, *m = meta ? meta : &scratch;
    if (r->failed) return cl_fail("%s: reader failed earlier", r->name);
    size_t got = fill(r, 0, CL_CE_HEADER);
    if (r->f && ferror(r->f)) return bad(r, "read error");
    if (got == 0) return 0;
    const uint8_t *h = r->rec;
    if (got < 4 || memcmp(h, CL_CE_MAGIC, 4))
        return bad(r, "%s", got < 4 ? "truncated record (input ends inside the magic)"
                                       : "not a CE record (bad magic)");
    if (got < CL_CE_HEADER) return bad(r, "truncated record header (%zu of %d bytes)", got, CL_CE_HEADER);
    uint16_t version = get16(h + 4), hsize = get16(h + 6);
    if (version != CL_CE_VERSION) return bad(r, "unsupported version %u (this build reads %d)", version, CL_CE_VERSION);
    if (hsize != CL_CE_HEADER) return bad(r, "bad header size %u (expected %d)", hsize, CL_CE_HEADER);
    uint32_t dim = get32(h + 8), count = get32(h + 12);
    int dtype = h[16], es = elem_size(dtype);
    if (!es) return bad(r, "unsupported element type %d", dtype);
    if (h[17]) return bad(r, "reserved byte is not zero");
    if (dim == 0 || dim > CL_CE_MAX_DIM) return bad(r, "bad dimension %u", dim);
    if (count > CL_CE_MAX_COUNT) return bad(r, "bad vector count %u", count);
    uint64_t payload = get64(h + 144), expect = (uint64_t)count * dim * (uint64_t)es;
    if (payload != expect) return bad(r, "bad payload size %llu (count x dim x element size = %llu)", (unsigned long long)payload, (unsigned long long)expect);
    size_t name_len = get16(h + 18);
    size_t total = CL_CE_HEADER + name_len + (size_t)payload;
    got = fill(r, CL_CE_HEADER, total);
    if (r->f && ferror(r->f)) return bad(r, "read error");
    if (got < total) return bad(r, "truncated record (%zu of %zu bytes)", got, total);
    h = r->rec;
    if (memchr(h + CL_CE_HEADER, 0, name_len)) return bad(r, "source name holds a NUL byte");
    uint8_t sum[8];
    checksum(h, h + CL_CE_HEADER, total - CL_CE_HEADER, sum);
    if (memcmp(sum, h + 152, 8)) return bad(r, "checksum mismatch (corrupt record)");

    memset(m, 0, sizeof *m);
    m->dim = dim;
    m->count = count;
    m->dtype = (cl_dtype)dtype;
    m->n_tokens = get32(h + 20);
    m->seg_index = get64(h + 24);
    m->src_offset = get64(h + 32);
    m->src_length = get64(h + 40);
    memcpy(m->model_fp, h + 48, 32);
    memcpy(m->comp_fp, h + 80, 32);
    memcpy(m->content_hash, h + 112, 32);
    if (r->source_cap < name_len + 1) r->source = cl_realloc(r->source, r->source_cap = name_len + 1);
    memcpy(r->source, h + CL_CE_HEADER, name_len);
    r->source[name_len] = 0;
    m->source = r->source;

    size_t nel = (size_t)count * dim;
    if (r->f32_cap < nel) r->f32 = cl_realloc(r->f32, (r->f32_cap = nel) * sizeof(float));
    const uint8_t *q = h + CL_CE_HEADER + name_len;
    for (size_t i = 0; i < nel; i++) {
        if (dtype == CL_F32) {
            uint32_t u = get32(q + 4 * i);
            memcpy(&r->f32[i], &u, 4);
        } else {
            uint16_t u = get16(q + 2 * i);
            r->f32[i] = dtype == CL_F16 ? cl_f16_to_f32(u) : cl_bf16_to_f32(u);
        }
    }
    if (embd) *embd = r->f32;
    r->rec_size = total;
    r->pos += total;
    r->nrec++;
    return 1;
}

const uint8_t *cl_ce_raw(const cl_ce_reader *r, size_t *size) {
    if (size) *size = r->rec_size;
    return r->rec;
}

int64_t cl_ce_record_number(const cl_ce_reader *r) { return r->nrec - 1; }

int cl_ce_read_all(const char *const *paths, int n_paths, const uint8_t *model_fp, float **embd,
                   size_t *n, uint32_t *dim) {
    float *out = NULL;
    size_t nv = 0, cap = 0;
    uint32_t d = 0;
    for (int i = 0; i < n_paths; i++) {
        cl_ce_reader *r = cl_ce_open(paths[i]);
        if (!r) goto fail;
        cl_ce_meta m;
        const float *e;
        int rc;
        while ((rc = cl_ce_next(r, &m, &e)) == 1) {
            if (model_fp && memcmp(m.model_fp, model_fp, 32)) {
                char want[65], have[65];
                cl_hex(model_fp, 32, want);
                cl_hex(m.model_fp, 32, have);
                r->pos -= r->rec_size;
                r->nrec--;
                bad(r, "made for a different base model (its fingerprint %.16s..., the model's %.16s...)",
                    have, want);
                rc = -1;
                break;
            }
            if (d && m.dim != d) {
                r->pos -= r->rec_size;
                r->nrec--;
                bad(r, "dimension %u differs from %u before", m.dim, d);
                rc = -1;
                break;
            }
            d = m.dim;
            if (nv + m.count > cap) {
                cap = (nv + m.count) * 2;
                out = cl_realloc(out, cap * d * sizeof(float));
            }
            memcpy(out + nv * d, e, (size_t)m.count * d * sizeof(float));
            nv += m.count;
        }
        cl_ce_close(r);
        if (rc < 0) goto fail;
    }
    *embd = out;
    *n = nv;
    *dim = d;
    return 0;
fail:
    free(out);
    return -1;
}

int cl_ce_is_file(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return 0;
    struct stat st;
    char magic[4];
    int yes = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && read(fd, magic, 4) == 4 && !memcmp(magic, CL_CE_MAGIC, 4);
    close(fd);
    return yes;
}
