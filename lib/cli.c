/* cli.c — usage errors and number arguments of the cl-* tools (cli.h). */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "util.h"

static const char *usage_text = "";

void cl_cli_set_usage(const char *text) { usage_text = text ? text : ""; }

void cl_usage_error(const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "%s: ", cl_progname());
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n%s", usage_text);
    exit(2);
}

int cl_parse_long(const char *s, long lo, long hi, long *v) {
    char *e;
    long x = strtol(s, &e, 10);
    if (!*s || *e || x < lo || x > hi) return -1;
    *v = x;
    return 0;
}

int cl_parse_double(const char *s, double lo, double hi, double *v) {
    char *e;
    double x = strtod(s, &e);
    if (!*s || *e || !(x >= lo && x <= hi)) return -1;
    *v = x;
    return 0;
}

long cl_arg_long(const char *s, const char *opt, long lo, long hi) {
    long v;
    if (cl_parse_long(s, lo, hi, &v) < 0) cl_usage_error("bad number for %s", opt);
    return v;
}

double cl_arg_double(const char *s, const char *opt, double lo, double hi) {
    double v;
    if (cl_parse_double(s, lo, hi, &v) < 0) cl_usage_error("bad value for %s", opt);
    return v;
}
