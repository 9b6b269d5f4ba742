/* test_torch_save.c — CRC-32, base64 and torch.save archives (zip_store.h, base64.h,
 * torch_save.h); the archives are loaded by torch itself (tests/remote/torch_load_check.py,
 * torch.load(weights_only=True)) when /usr/bin/python3 has torch; finite values beyond f16/bf16
 * are refused (torch would make them inf). */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "t.h"
#include "torch_save.h"
#include "util.h"
#include "zip_store.h"

static int have_torch(void) {
    return access("/usr/bin/python3", X_OK) == 0 &&
           system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0;
}

static int write_file(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(p, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

/* The checks queued for tests/remote/torch_load_check.py (one torch import for all). */
typedef struct {
    char spec[64][512];
    char what[64][128];
    int n;
} checks;

static void queue(checks *c, const char *what, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void queue(checks *c, const char *what, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->spec[c->n], sizeof c->spec[0], fmt, ap);
    va_end(ap);
    snprintf(c->what[c->n++], sizeof c->what[0], "%s", what);
}

/* Run every queued check; one test line each, passing when the checker printed "ok". */
static void run_checks(checks *c) {
    const char *list = t_tmp("torch_checks.txt");
    FILE *f = fopen(list, "w");
    for (int i = 0; f && i < c->n; i++) fprintf(f, "%s\n", c->spec[i]);
    if (f) fclose(f);
    char cmd[1024], line[512];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/remote/torch_load_check.py < %s 2>&1", list);
    FILE *p = popen(cmd, "r");
    for (int i = 0; i < c->n; i++) {
        int got = p && fgets(line, sizeof line, p);
        OK(got && !strcmp(line, "ok\n"), "%s%s%s", c->what[i], got && strcmp(line, "ok\n") ? ": " : "",
           got && strcmp(line, "ok\n") ? line : "");
    }
    if (p) pclose(p);
}

static void crc_and_base64(void) {
    OK(cl_crc32(0, "123456789", 9) == 0xCBF43926u, "CRC-32 check value of \"123456789\"");
    OK(cl_crc32(cl_crc32(0, "1234", 4), "56789", 5) == 0xCBF43926u, "CRC-32 continues across calls");
    OK(cl_crc32(0, "", 0) == 0, "CRC-32 of nothing is 0");
    static const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *out[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    int good = 1;
    for (int i = 0; i < 7; i++) {
        char buf[16];
        cl_base64_encode(in[i], strlen(in[i]), buf);
        good &= strcmp(buf, out[i]) == 0 && cl_base64_len(strlen(in[i])) == strlen(out[i]);
    }
    OK(good, "base64: the RFC 4648 section 10 test vectors");
}

static void zip_layout(void) {
    size_t n;
    uint8_t *z = cl_torch_save_2d((const float[]){1, 2, 3, 4, 5, 6}, 2, 3, CL_F32, &n);
    OK(z && !memcmp(z, "PK\3\4", 4), "archive starts with a local file header");
    /* every entry's data starts at a multiple of 64 bytes, as torch writes it */
    int aligned = 1, entries = 0;
    for (size_t off = 0; z && off + 30 <= n && !memcmp(z + off, "PK\3\4", 4); entries++) {
        size_t name = z[off + 26] | (size_t)z[off + 27] << 8, extra = z[off + 28] | (size_t)z[off + 29] << 8;
        size_t size = z[off + 18] | (size_t)z[off + 19] << 8 | (size_t)z[off + 20] << 16 | (size_t)z[off + 21] << 24;
        size_t data = off + 30 + name + extra;
        aligned &= data % 64 == 0;
        off = data + size;
    }
    OK(aligned && entries == 5, "5 entries, each one's data 64-byte aligned (%d entries)", entries);
    free(z);
    z = cl_torch_save_2d((const float[]){1}, 1, 1, CL_Q8_0, &n);
    OK(!z && strstr(cl_error(), "q8_0 not supported"), "Q8_0 refused: %s", cl_error());
    OK(!cl_torch_save_2d((const float[]){1}, 0, 1, CL_F32, &n), "an empty tensor is refused");
}

static void torch_loads(void) {
    if (!have_torch()) {
        SKIP("/usr/bin/python3 without torch (apt-get install python3-torch): archives not loaded by torch");
        return;
    }
    static const int shapes[][2] = {{1, 1}, {5, 7}, {3, 300}, {300, 300}};
    static const cl_dtype dts[] = {CL_F32, CL_BF16, CL_F16};
    static const char *names[] = {"float32", "bfloat16", "float16"};
    static checks c;
    for (int s = 0; s < 4; s++) {
        int rows = shapes[s][0], cols = shapes[s][1];
        float *x = cl_malloc((size_t)rows * cols * sizeof *x);
        uint64_t st = 88172645463325252ull;
        for (int i = 0; i < rows * cols; i++) {   /* xorshift bits: every exponent and sign */
            st ^= st << 13, st ^= st >> 7, st ^= st << 17;
            uint32_t u = (uint32_t)st;
            memcpy(&x[i], &u, 4);
            if (i % 3 == 0) x[i] = (float)(int)(u % 2001) / 256.0f - 4;   /* ordinary values */
            if (isnan(x[i])) x[i] = 0.5f;   /* NaN payloads may convert differently: none */
        }
        char raw[4096], arc[4096], what[128], name[64];
        float *xd = cl_malloc((size_t)rows * cols * sizeof *xd);
        for (int d = 0; d < 3; d++) {
            /* finite values that round to inf in f16/bf16 are refused (refusal below): inf here,
             * which torch converts as it would have converted them */
            for (int i = 0; i < rows * cols; i++) {
                const uint16_t h = dts[d] == CL_F16 ? cl_f32_to_f16(x[i]) : cl_f32_to_bf16(x[i]);
                xd[i] = dts[d] != CL_F32 && (h & 0x7FFF) == (dts[d] == CL_F16 ? 0x7C00 : 0x7F80) ? copysignf(INFINITY, x[i]) : x[i];
            }
            snprintf(name, sizeof name, "torch_save_%d_%d.raw", s, d);
            snprintf(raw, sizeof raw, "%s", t_tmp(name));
            write_file(raw, xd, (size_t)rows * cols * sizeof *xd);
            size_t n;
            uint8_t *z = cl_torch_save_2d(xd, rows, cols, dts[d], &n);
            snprintf(name, sizeof name, "torch_save_%d_%d.pt", s, d);
            snprintf(arc, sizeof arc, "%s", t_tmp(name));
            snprintf(what, sizeof what, "torch.load(weights_only=True) reads [%d, %d] %s bit for bit", rows, cols,
                     names[d]);
            if (z && write_file(arc, z, n) == 0) queue(&c, what, "save %s %s %s %d %d", arc, raw, names[d], rows, cols);
            else OK(0, "%s: not written", what);
            free(z);
        }
        free(x), free(xd);
    }
    /* sizes past BININT: numel 2^32 goes as LONG1 (the pickle alone; no 16 GiB storage) */
    static const int64_t big[][2] = {{65536, 65536}, {70000, 1024}, {1, 255}, {1, 256}};
    for (int i = 0; i < 4; i++) {
        size_t n;
        uint8_t *p = cl_torch_pickle_2d(big[i][0], big[i][1], CL_F32, &n);
        char arc[4096], what[128], name[64];
        snprintf(name, sizeof name, "torch_pickle_%d.pkl", i);
        snprintf(arc, sizeof arc, "%s", t_tmp(name));
        snprintf(what, sizeof what, "pickle of [%lld, %lld] unpickles to the right arguments", (long long)big[i][0],
                 (long long)big[i][1]);
        if (write_file(arc, p, n) == 0) queue(&c, what, "pickle %s %lld %lld", arc, (long long)big[i][0], (long long)big[i][1]);
        else OK(0, "%s: not written", what);
        free(p);
    }
    run_checks(&c);
}

/* A finite value beyond f16 / bf16 is refused naming its row and element; inf and nan pass. */
static void out_of_range(void) {
    float x[6] = {1, 2, INFINITY, NAN, 70000.0f, 6};
    size_t n;
    uint8_t *z = cl_torch_save_2d(x, 2, 3, CL_F16, &n);
    OK(!z && !strcmp(cl_error(), "torch.save: row 1: element 1 is 70000, beyond f16 (max 65504)"), "f16: 70000 refused: %s",
       z ? "saved" : cl_error());
    free(z);
    z = cl_torch_save_2d(x, 2, 3, CL_BF16, &n);
    OK(z != NULL, "bf16 holds 70000, inf and nan");
    free(z);
    x[4] = -FLT_MAX;
    z = cl_torch_save_2d(x, 2, 3, CL_BF16, &n);
    OK(!z && strstr(cl_error(), "torch.save: row 1: element 1 is -3.40282e+38, beyond bf16"), "bf16: -FLT_MAX refused: %s",
       z ? "saved" : cl_error());
    free(z);
}

int main(void) {
    out_of_range();
    crc_and_base64();
    zip_layout();
    torch_loads();
    return t_done();
}
