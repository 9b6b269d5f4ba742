/* cli.c — usage errors and number arguments of the cl-* tools (cli.h). */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

static const char *usage_text = "";

static int stdout_errno;   /* of the first failed cl_cli_flush_stdout */

void cl_cli_flush_stdout(void) {
    errno = 0;
    if (fflush(stdout) != 0 && !stdout_errno) stdout_errno = errno;
}

/* at exit: data still buffered for stdout must get out, or the run failed */
static void close_stdout(void) {
    errno = 0;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        int e = errno ? errno : stdout_errno ? stdout_errno : EIO;
        fprintf(stderr, "%s: stdout: write error: %s\n", cl_progname(), strerror(e));
        _exit(1);
    }
}

void cl_cli_set_usage(const char *text) {
    static int registered;
    if (!registered++) atexit(close_stdout);
    usage_text = text ? text : "";
}

void cl_usage_error(const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "%s: ", cl_progname());
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n%s", usage_text);
    exit(2);
}

/* strtol and friends skip leading white space: a number argument may not have any */
static int starts_ok(const char *s) { return *s && !isspace((unsigned char)*s); }

int cl_parse_long(const char *s, long lo, long hi, long *v) {
    char *e;
    errno = 0;
    long x = strtol(s, &e, 10);
    if (!starts_ok(s) || *e || errno == ERANGE || x < lo || x > hi) return -1;
    *v = x;
    return 0;
}

int cl_parse_double(const char *s, double lo, double hi, double *v) {
    char *e;
    double x = strtod(s, &e);
    if (!starts_ok(s) || *e || !(x >= lo && x <= hi)) return -1;
    *v = x;
    return 0;
}

int cl_parse_u64(const char *s, uint64_t *v) {
    if (!*s) return -1;
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9') return -1;   /* strtoull would take "-1" as 2^64-1 */
    char *e;
    errno = 0;
    unsigned long long x = strtoull(s, &e, 10);
    if (*e || errno == ERANGE) return -1;
    *v = (uint64_t)x;
    return 0;
}

long cl_arg_long(const char *s, const char *opt, long lo, long hi) {
    long v;
    if (cl_parse_long(s, lo, hi, &v) < 0) cl_usage_error("bad number for %s: \"%s\" (an integer in %ld..%ld)", opt, s, lo, hi);
    return v;
}

double cl_arg_double(const char *s, const char *opt, double lo, double hi) {
    double v;
    if (cl_parse_double(s, lo, hi, &v) < 0) cl_usage_error("bad value for %s: \"%s\" (a number in %g..%g)", opt, s, lo, hi);
    return v;
}

uint64_t cl_arg_u64(const char *s, const char *opt) {
    uint64_t v;
    if (cl_parse_u64(s, &v) < 0) cl_usage_error("bad number for %s: \"%s\" (an integer in 0..18446744073709551615)", opt, s);
    return v;
}

int cl_arg_lengths(const char *s, const char *opt, int *out, int cap) {
    int n = 0;
    char *list = cl_strdup(s), *save = NULL;
    for (char *p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        size_t l = strlen(p);
        long mul = l && (p[l - 1] == 'k' || p[l - 1] == 'K') ? 1024 : 1, v;
        if (mul > 1) p[l - 1] = 0;
        if (n == cap || cl_parse_long(p, 1, (1 << 26) / mul, &v) < 0) cl_usage_error("bad length list for %s: %s", opt, s);
        out[n++] = (int)(v * mul);
    }
    free(list);
    if (n == 0 || s[strlen(s) - 1] == ',' || s[0] == ',' || strstr(s, ",,")) cl_usage_error("bad length list for %s: %s", opt, s);
    return n;
}

cl_dtype cl_arg_float_dtype(const char *s, const char *opt) {
    if (!strcmp(s, "f32")) return CL_F32;
    if (!strcmp(s, "f16")) return CL_F16;
    if (!strcmp(s, "bf16")) return CL_BF16;
    cl_usage_error("%s must be f32, f16 or bf16, not '%s'", opt, s);
}
