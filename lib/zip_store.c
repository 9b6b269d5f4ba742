/* zip_store.c — stored-entry zip writer (zip_store.h).  Layout per PKWARE APPNOTE 6.3: local
 * file header (30 bytes + name + extra) and data per entry, then the central directory
 * (46 bytes + name per entry) and the end-of-central-directory record (22 bytes). */
#include "zip_store.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

#define ZIP_ALIGN 64

uint32_t cl_crc32(uint32_t crc, const void *data, size_t n) {
    static uint32_t table[256];
    static int ready;   /* the table is the same bytes whoever fills it: a benign race */
    if (!ready) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
        ready = 1;
    }
    const uint8_t *p = data;
    crc = ~crc;
    for (size_t i = 0; i < n; i++) crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

static void grow(uint8_t **b, size_t *cap, size_t need) {
    if (need <= *cap) return;
    *cap = need > 2 * *cap ? need : 2 * *cap;
    *b = cl_realloc(*b, *cap);
}

static void put(uint8_t **b, size_t *len, size_t *cap, const void *p, size_t n) {
    grow(b, cap, *len + n);
    memcpy(*b + *len, p, n);
    *len += n;
}

static void le(uint8_t *p, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; i++) p[i] = (uint8_t)(v >> (8 * i));
}

void cl_zip_init(cl_zip *z) { memset(z, 0, sizeof *z); }

void cl_zip_add(cl_zip *z, const char *name, const void *data, size_t n) {
    size_t name_len = strlen(name), off = z->len;
    size_t data_at = off + 30 + name_len + 4;   /* with the smallest extra field */
    size_t pad = (ZIP_ALIGN - data_at % ZIP_ALIGN) % ZIP_ALIGN;
    if (n > 0xfffffffeu || off > 0xfffffffeu || name_len > 0xffff || z->n_entries == 0xffff) {
        z->failed = 1;
        return;
    }
    uint32_t crc = cl_crc32(0, data, n);
    uint8_t h[30];
    le(h, 0x04034b50, 4);          /* local file header signature */
    le(h + 4, 20, 2);              /* version needed: 2.0 */
    le(h + 6, 0, 2);               /* flags */
    le(h + 8, 0, 2);               /* method: stored */
    le(h + 10, 0, 2);              /* mod time */
    le(h + 12, 0x21, 2);           /* mod date: 1980-01-01 */
    le(h + 14, crc, 4);
    le(h + 18, n, 4);              /* compressed size */
    le(h + 22, n, 4);              /* uncompressed size */
    le(h + 26, name_len, 2);
    le(h + 28, 4 + pad, 2);        /* extra field length */
    put(&z->buf, &z->len, &z->cap, h, 30);
    put(&z->buf, &z->len, &z->cap, name, name_len);
    uint8_t x[4] = {'F', 'B'};
    le(x + 2, pad, 2);
    put(&z->buf, &z->len, &z->cap, x, 4);
    grow(&z->buf, &z->cap, z->len + pad);
    memset(z->buf + z->len, 'Z', pad);
    z->len += pad;
    put(&z->buf, &z->len, &z->cap, data, n);

    uint8_t c[46];
    le(c, 0x02014b50, 4);          /* central directory header signature */
    le(c + 4, 20, 2);              /* version made by */
    memcpy(c + 6, h + 4, 26);      /* version needed .. name length, as in the local header */
    le(c + 30, 0, 2);              /* extra field length */
    le(c + 32, 0, 2);              /* comment length */
    le(c + 34, 0, 2);              /* disk number */
    le(c + 36, 0, 2);              /* internal attributes */
    le(c + 38, 0, 4);              /* external attributes */
    le(c + 42, off, 4);            /* local header offset */
    put(&z->cdir, &z->cdir_len, &z->cdir_cap, c, 46);
    put(&z->cdir, &z->cdir_len, &z->cdir_cap, name, name_len);
    z->n_entries++;
}

uint8_t *cl_zip_finish(cl_zip *z, size_t *size) {
    size_t cdir_at = z->len;
    if (z->failed || cdir_at + z->cdir_len > 0xffffffffu - 22) {
        free(z->buf);
        free(z->cdir);
        cl_zip_init(z);
        return cl_fail("zip: archive over 4 GiB or 65535 entries (zip64 is not written)"), NULL;
    }
    put(&z->buf, &z->len, &z->cap, z->cdir, z->cdir_len);
    uint8_t e[22];
    le(e, 0x06054b50, 4);          /* end of central directory signature */
    le(e + 4, 0, 2);               /* this disk */
    le(e + 6, 0, 2);               /* disk with the central directory */
    le(e + 8, z->n_entries, 2);
    le(e + 10, z->n_entries, 2);
    le(e + 12, z->cdir_len, 4);
    le(e + 16, cdir_at, 4);
    le(e + 20, 0, 2);              /* comment length */
    put(&z->buf, &z->len, &z->cap, e, 22);
    uint8_t *out = z->buf;
    *size = z->len;
    free(z->cdir);
    cl_zip_init(z);
    return out;
}
