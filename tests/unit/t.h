/* t.h — a tiny TAP producer for the C unit tests.  Each test binary prints "ok N - what" /
 * "not ok N - what", then "1..N"; tests/run adds them up.  Run from the repository root. */
#ifndef CL_T_H
#define CL_T_H
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int t_count, t_failed;

__attribute__((format(printf, 4, 5), unused))
static int t_ok(int cond, const char *file, int line, const char *fmt, ...) {
    va_list ap;
    printf("%sok %d - ", cond ? "" : "not ", ++t_count);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    if (!cond) {
        printf("  # at %s:%d", file, line);
        t_failed++;
    }
    printf("\n");
    fflush(stdout);
    return cond;
}
#define OK(cond, ...) t_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

__attribute__((format(printf, 2, 3), unused))
static void t_skip(const char *kind, const char *fmt, ...) {
    va_list ap;
    printf("ok %d # skip %s", ++t_count, kind);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}
/* A reference (../shared, npm, python module) is missing: CI (CL_REQUIRE_SHARED=1) fails on it. */
#define SKIP(...) t_skip("", __VA_ARGS__)
/* This CPU lacks the kernel family under test ("# skip cpu: .."): nothing to install, so CI
 * reports it and passes; every other family still runs. */
#define SKIP_CPU(...) t_skip("cpu: ", __VA_ARGS__)

/* Path of a file under ../shared (or $CL_SHARED), or NULL when it is absent. */
__attribute__((unused))
static const char *t_shared(const char *rel) {
    static char buf[8][4096];
    static int k;
    const char *root = getenv("CL_SHARED");
    char *p = buf[k++ & 7];
    snprintf(p, 4096, "%s/%s", root ? root : "../shared", rel);
    return access(p, R_OK) == 0 ? p : NULL;
}

/* Scratch directory for test files (created by tests/run). */
__attribute__((unused))
static const char *t_tmp(const char *name) {
    static char buf[8][4096];
    static int k;
    const char *root = getenv("CL_TMP");
    char *p = buf[k++ & 7];
    snprintf(p, 4096, "%s/%s", root ? root : "tests/tmp", name);
    return p;
}

static int t_done(void) {
    printf("1..%d\n", t_count);
    return t_failed ? 1 : 0;
}
#endif
