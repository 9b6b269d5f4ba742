/* zip_store.h — write a zip archive in memory with stored (uncompressed) entries, the
 * container torch.save uses (PyTorchStreamWriter): each entry's data starts at a multiple of
 * 64 bytes (padding in a local-header extra field, id "FB", as torch writes it), sizes and
 * CRC-32 are in the local headers (no data descriptors), no zip64: an archive is at most
 * 4 GiB - 1 bytes.  Names are stored as given (UTF-8 flag unset; use ASCII). */
#ifndef CL_ZIP_STORE_H
#define CL_ZIP_STORE_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *buf;             /* the archive so far */
    size_t len, cap;
    uint8_t *cdir;            /* central directory entries so far */
    size_t cdir_len, cdir_cap;
    int n_entries;
    int failed;               /* set by a too-large archive; cl_zip_finish then fails */
} cl_zip;

/* CRC-32 (ISO-HDLC, the zip/gzip one) of n bytes, continuing crc (start with 0). */
uint32_t cl_crc32(uint32_t crc, const void *data, size_t n);

void cl_zip_init(cl_zip *z);
/* Append entry `name` holding n bytes of data. */
void cl_zip_add(cl_zip *z, const char *name, const void *data, size_t n);
/* Write the central directory; returns the archive (malloc'd, *size bytes; the caller frees it)
 * and resets z, or NULL (cl_error: over 4 GiB or 65535 entries) after freeing everything. */
uint8_t *cl_zip_finish(cl_zip *z, size_t *size);

#endif
