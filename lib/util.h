/* util.h — errors, allocation, files, time: the small things every file needs. */
#ifndef CL_UTIL_H
#define CL_UTIL_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Library functions report failure by returning -1 (or NULL) after cl_fail()
 * stored a one-line message; tools print it as "prog: message" and exit 1. */
int cl_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *cl_error(void);
/* Prefix the stored message: cl_fail_prefix("%s", path) turns "x" into "path: x".  Returns -1. */
int cl_fail_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "prog: message\n" to stderr and exit(code). */
_Noreturn void cl_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cl_set_progname(const char *argv0);
const char *cl_progname(void);

/* Allocation that exits with a message on out-of-memory: "prog: out of memory (N bytes)", or
 * "prog: CONTEXT: out of memory (N bytes)" while an oom context is set. */
void *cl_malloc(size_t n);
void *cl_calloc(size_t n, size_t size);
void *cl_realloc(void *p, size_t n);
char *cl_strdup(const char *s);
char *cl_strndup(const char *s, size_t n);
/* Append n bytes at p to the growable byte buffer *buf (*len bytes used, *cap held; a NULL
 * buffer with 0 and 0 starts one), grown geometrically, a NUL kept after the bytes so that a text
 * buffer is always a C string (binary buffers just ignore it). */
void cl_buf_append(char **buf, size_t *len, size_t *cap, const void *p, size_t n);
/* Set (printf format) or clear (NULL) the oom context: what the process is doing, e.g.
 * "data.jsonl: line 3: segmenting the context", named when an allocation above fails. One
 * process-wide string: set it from one thread while no other thread is setting it. */
void cl_oom_context(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* n*size, or fails (returns -1) on overflow. */
int cl_mul_overflow(size_t a, size_t b, size_t *out);

/* Read-only memory map of a whole regular file (size 0 files give data=NULL, size=0); anything
 * else fails without blocking: "PATH: is a directory", "PATH: not a regular file". */
typedef struct { const void *data; size_t size; } cl_map;
int cl_map_file(const char *path, cl_map *m);
void cl_unmap(cl_map *m);
/* fopen(path, "rb") for readers: NULL with "PATH: ERRNO", or "PATH: is a directory" (which
 * fopen would open, to fail at the first read). */
FILE *cl_open_read(const char *path);
/* Read a whole file (or "-" for stdin) into a NUL-terminated malloc'd buffer. */
int cl_read_file(const char *path, char **buf, size_t *len);

/* Atomic output (atomic_out.c), what every tool's -o and every file writer uses.
 *   "-"                        stdout.
 *   a regular file or nothing  "<path>.tmp.<pid>.<n>" beside it (mode of the old file kept), then
 *                              fflush+fsync+rename on commit; abort, a failed commit, or death by
 *                              SIGINT/SIGTERM/SIGHUP leaves path untouched and no temp file.
 *   a symlink (chain)          the same for the file it finally names; the link stays a link.
 *   a FIFO, character or block device   written directly (nothing renamed over it).
 *   a directory                refused: "PATH: is a directory".
 * Opening also makes SIGXFSZ ignored (if it was default), so a file-size limit is a write error
 * (EFBIG) like a full disk.  Errors name the path and errno.  SIGINT/SIGTERM/SIGHUP handlers are
 * installed only where the program left the default.  Open, commit and abort from one thread at
 * a time (writing to a->f is the caller's business). */
typedef struct { FILE *f; char *path; char *tmp; int slot; void *sink; } cl_atomic;
int cl_atomic_open(cl_atomic *a, const char *path);
/* Same, for a cache entry or other re-computable file: whatever is at path (even a FIFO or device)
 * is replaced by rename, and there is no fsync. */
int cl_atomic_open_replace(cl_atomic *a, const char *path);
/* -1 with "PATH: write error: ERRNO" once a write to a->f has failed (to stop a long run early). */
int cl_atomic_check(cl_atomic *a);
/* fwrite all n bytes, or -1 with that message. */
int cl_atomic_write(cl_atomic *a, const void *p, size_t n);
int cl_atomic_commit(cl_atomic *a);   /* flush (+fsync+rename); -1 on any write error */
void cl_atomic_abort(cl_atomic *a);   /* remove the temp file; a direct write is closed as is */

double cl_now(void);                  /* monotonic seconds */
int cl_isatty_stderr(void);
/* Number of threads from --threads or OPENBLAS_NUM_THREADS, applied to OpenBLAS. */
void cl_set_threads(int n);

/* SHA-256 (FIPS 180-4). */
typedef struct { uint32_t h[8]; uint64_t len; uint8_t buf[64]; size_t nbuf; } cl_sha256;
void cl_sha256_init(cl_sha256 *s);
void cl_sha256_update(cl_sha256 *s, const void *data, size_t n);
void cl_sha256_final(cl_sha256 *s, uint8_t out[32]);
void cl_hex(const uint8_t *bytes, size_t n, char *out /* 2n+1 */);

#endif
