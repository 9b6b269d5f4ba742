/* test_ce.c — CE file format: round trip, concatenation, corruption, truncation, mismatch. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ce.h"
#include "t.h"
#include "util.h"

static void fill_meta(cl_ce_meta *m, uint32_t dim, uint32_t count, cl_dtype dt, int k) {
    memset(m, 0, sizeof *m);
    m->dim = dim;
    m->count = count;
    m->dtype = dt;
    m->n_tokens = 2 * count - (k & 1);
    m->seg_index = (uint64_t)k;
    m->src_offset = 1000u * (uint64_t)k;
    m->src_length = 77 + (uint64_t)k;
    memset(m->model_fp, 0xA0, 32);
    memset(m->comp_fp, 0xC0 + k, 32);
    int32_t ids[3] = {k, k + 1, k + 2};
    cl_ce_content_hash(ids, 3, m->content_hash);
    m->source = k & 1 ? "doc.txt" : "";
}

static float *ramp(size_t n, int k) {
    float *e = cl_malloc(n * sizeof *e);
    for (size_t i = 0; i < n; i++) e[i] = (float)((double)i * 0.37 - 3.1 + k) * (i & 1 ? -1.f : 1.f);
    return e;
}

/* Writes n records (dims d, counts 1..n) to path; returns the byte offsets where records start. */
static size_t write_file(const char *path, int n, uint32_t d, cl_dtype dt, size_t *starts) {
    FILE *f = fopen(path, "wb");
    size_t off = 0;
    for (int k = 0; k < n; k++) {
        cl_ce_meta m;
        fill_meta(&m, d, (uint32_t)k + 1, dt, k);
        float *e = ramp((size_t)m.count * d, k);
        uint8_t *buf;
        size_t sz = cl_ce_encode(&m, e, &buf);
        if (starts) starts[k] = off;
        fwrite(buf, 1, sz, f);
        off += sz;
        free(buf);
        free(e);
    }
    if (starts) starts[n] = off;
    fclose(f);
    return off;
}

static int count_records(const void *data, size_t size, int *nrec) {
    cl_ce_reader *r = cl_ce_open_mem(data, size, "mem.ce");
    cl_ce_meta m;
    const float *e;
    int rc, n = 0;
    while ((rc = cl_ce_next(r, &m, &e)) == 1) n++;
    cl_ce_close(r);
    *nrec = n;
    return rc;
}

int main(void) {
    const char *a = t_tmp("a.ce"), *b = t_tmp("b.ce"), *ab = t_tmp("ab.ce");

    /* round trip, every element type */
    cl_dtype dts[3] = {CL_F32, CL_F16, CL_BF16};
    for (int t = 0; t < 3; t++) {
        write_file(a, 3, 8, dts[t], NULL);
        cl_ce_reader *r = cl_ce_open(a);
        int good = r != NULL, n = 0;
        double maxrel = 0;
        cl_ce_meta m;
        const float *e;
        while (r && cl_ce_next(r, &m, &e) == 1) {
            cl_ce_meta w;
            fill_meta(&w, 8, (uint32_t)n + 1, dts[t], n);
            good &= m.dim == w.dim && m.count == w.count && m.dtype == w.dtype && m.n_tokens == w.n_tokens &&
                    m.seg_index == w.seg_index && m.src_offset == w.src_offset && m.src_length == w.src_length &&
                    !memcmp(m.model_fp, w.model_fp, 32) && !memcmp(m.comp_fp, w.comp_fp, 32) &&
                    !memcmp(m.content_hash, w.content_hash, 32) && !strcmp(m.source, w.source);
            float *x = ramp((size_t)m.count * 8, n);
            for (size_t i = 0; i < (size_t)m.count * 8; i++) {
                double rel = fabs(e[i] - x[i]) / (fabs(x[i]) + 1e-30);
                if (rel > maxrel) maxrel = rel;
            }
            free(x);
            n++;
        }
        cl_ce_close(r);
        /* f16 keeps 11 significant bits, bf16 8: half an ulp relative error at most */
        double tol = dts[t] == CL_F32 ? 0 : dts[t] == CL_F16 ? 1.0 / 2048 : 1.0 / 256;
        OK(good && n == 3, "%s: 3 records read back with the metadata written", cl_dtype_name(dts[t]));
        OK(maxrel <= tol, "%s: values round trip (max rel err %.3g <= %.3g)", cl_dtype_name(dts[t]), maxrel, tol);
    }

    /* content hash: little-endian int32 ids, SHA-256 (independent: bytes spelled out) */
    {
        int32_t ids[2] = {1, 258};
        uint8_t h1[32], h2[32];
        cl_ce_content_hash(ids, 2, h1);
        uint8_t bytes[8] = {1, 0, 0, 0, 2, 1, 0, 0};
        cl_sha256 s;
        cl_sha256_init(&s);
        cl_sha256_update(&s, bytes, 8);
        cl_sha256_final(&s, h2);
        OK(!memcmp(h1, h2, 32), "content hash is SHA-256 of the ids as little-endian int32");
    }

    /* concatenation: cat a b > ab reads as a's records then b's */
    {
        size_t sa = write_file(a, 2, 4, CL_F32, NULL), sb = write_file(b, 3, 4, CL_F16, NULL);
        char *da, *db;
        size_t la, lb;
        cl_read_file(a, &da, &la);
        cl_read_file(b, &db, &lb);
        FILE *f = fopen(ab, "wb");
        fwrite(da, 1, la, f);
        fwrite(db, 1, lb, f);
        fclose(f);
        float *all, *pa, *pb;
        size_t n, na, nb;
        uint32_t d, da_, db_;
        const char *one[1] = {ab}, *two[2] = {a, b};
        uint8_t fp[32];
        memset(fp, 0xA0, 32);
        int rc = cl_ce_read_all(one, 1, fp, &all, &n, &d);
        int rc2 = cl_ce_read_all(two, 1, NULL, &pa, &na, &da_) | cl_ce_read_all(two + 1, 1, NULL, &pb, &nb, &db_);
        OK(rc == 0 && rc2 == 0 && la == sa && lb == sb, "read_all over the concatenation and the parts");
        OK(n == na + nb && n == 3 + 6 && d == 4 && !memcmp(all, pa, na * 4 * sizeof(float)) &&
               !memcmp(all + na * 4, pb, nb * 4 * sizeof(float)),
           "concatenated file = a's vectors then b's (%zu vectors)", n);
        float *two_all;
        size_t n2;
        uint32_t d2;
        OK(cl_ce_read_all(two, 2, fp, &two_all, &n2, &d2) == 0 && n2 == n && !memcmp(two_all, all, n * 4 * sizeof(float)),
           "read_all(a, b) == read_all(ab)");
        free(two_all);
        free(all);
        free(pa);
        free(pb);
        free(da);
        free(db);
    }

    /* mismatches: base model, dimension */
    {
        write_file(a, 2, 4, CL_F32, NULL);
        write_file(b, 2, 6, CL_F32, NULL);
        uint8_t other[32];
        memset(other, 0x11, 32);
        const char *pa[1] = {a}, *pab[2] = {a, b};
        float *e = NULL;
        size_t n;
        uint32_t d;
        int rc = cl_ce_read_all(pa, 1, other, &e, &n, &d);
        OK(rc < 0 && strstr(cl_error(), a) &&
               strstr(cl_error(), "record 1 at byte offset 0") && strstr(cl_error(), "different base model"),
           "other base model rejected: %s", cl_error());
        rc = cl_ce_read_all(pab, 2, NULL, &e, &n, &d);
        OK(rc < 0 && strstr(cl_error(), b) && strstr(cl_error(), "dimension"),
           "dimension change rejected: %s", cl_error());
    }

    /* empty input is a CE file with no records */
    {
        FILE *f = fopen(a, "wb");
        fclose(f);
        const char *pa[1] = {a};
        float *e = NULL;
        size_t n = 9;
        uint32_t d = 9;
        OK(cl_ce_read_all(pa, 1, NULL, &e, &n, &d) == 0 && n == 0 && d == 0, "empty file: no records");
        free(e);
    }

    /* corruption: every single-byte change anywhere is rejected, naming record and offset */
    {
        size_t starts[4];
        size_t size = write_file(a, 3, 5, CL_BF16, starts);
        char *data;
        size_t len;
        cl_read_file(a, &data, &len);
        int all_rejected = 1, named = 1, nrec;
        for (size_t i = 0; i < size; i++) {
            data[i] ^= 0x10;
            int rc = count_records(data, len, &nrec);
            int k = i >= starts[2] ? 2 : i >= starts[1] ? 1 : 0;
            char want[64];
            snprintf(want, sizeof want, "mem.ce: record %d at byte offset %zu: ", k + 1, starts[k]);
            if (rc != -1 || nrec != k) all_rejected = 0;
            if (!strstr(cl_error(), want)) named = 0;
            data[i] ^= 0x10;
        }
        OK(all_rejected, "each of %zu byte flips rejected at its record, earlier records still read", size);
        OK(named, "errors name the record and its offset, e.g. \"%s\"", cl_error());
        OK(count_records(data, len, &nrec) == 0 && nrec == 3, "unflipped file reads whole");

        /* truncation: at a record boundary a file is a shorter valid CE file (as concatenation
         * needs); anywhere else it is rejected as truncated. */
        int bound_ok = 1, mid_rejected = 1;
        for (size_t cut = 0; cut < size; cut++) {
            int boundary = cut == starts[0] || cut == starts[1] || cut == starts[2];
            int rc = count_records(data, cut, &nrec);
            int k = cut >= starts[2] ? 2 : cut >= starts[1] ? 1 : 0;
            if (boundary && !(rc == 0 && nrec == k)) bound_ok = 0;
            if (!boundary && !(rc == -1 && nrec == k && strstr(cl_error(), "truncated"))) mid_rejected = 0;
        }
        OK(bound_ok, "cut at a record boundary: the whole records before it");
        OK(mid_rejected, "cut mid-record (every byte): rejected as truncated");

        /* same through the FILE* reader */
        FILE *f = fopen(b, "wb");
        fwrite(data, 1, starts[1] + 100, f);
        fclose(f);
        cl_ce_reader *r = cl_ce_open(b);
        cl_ce_meta m;
        const float *e;
        int r1 = cl_ce_next(r, &m, &e), r2 = cl_ce_next(r, &m, &e);
        char want[64];
        snprintf(want, sizeof want, "record 2 at byte offset %zu: truncated", starts[1]);
        OK(r1 == 1 && r2 == -1 && strstr(cl_error(), b) && strstr(cl_error(), want), "file reader: %s", cl_error());
        cl_ce_close(r);
        free(data);
    }

    /* not a CE file */
    {
        const char txt[] = "{\"text\": \"hello\"}\n";
        int nrec;
        OK(count_records(txt, sizeof txt - 1, &nrec) == -1 && strstr(cl_error(), "bad magic"), "%s", cl_error());
        OK(cl_ce_open(t_tmp("does-not-exist.ce")) == NULL && strstr(cl_error(), "does-not-exist.ce"),
           "missing file: %s", cl_error());
    }
    return t_done();
}
