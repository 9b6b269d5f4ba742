/* cli.h — the parts of a cl-* tool's command line every tool handles the same way: the usage
 * error (exit 2) and whole-string number arguments.  Tools only: cl_usage_error exits. */
#ifndef CL_CLI_H
#define CL_CLI_H
#include <stdint.h>
#include "tensor.h"

/* What a usage error prints after its message: the tool's usage text, or a line such as
 * "Try 'cl-ask --help'.\n".  Not copied.  The first call also arranges that a failed write to
 * stdout, found when the tool exits, is an error: "PROG: stdout: write error: ERRNO", exit 1. */
void cl_cli_set_usage(const char *text);
/* fflush(stdout) now (streamed output, or before a report on stderr); a failure is reported at
 * exit as above, with this flush's errno. */
void cl_cli_flush_stdout(void);
/* "PROG: MESSAGE\n" and the usage text on stderr, then exit(2). */
_Noreturn void cl_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* s, all of it, as a decimal integer / a number in [lo, hi]: 0 and *v, or -1 (empty, leading
 * space, trailing characters, out of range, NaN). */
int cl_parse_long(const char *s, long lo, long hi, long *v);
int cl_parse_double(const char *s, double lo, double hi, double *v);
/* s, all of it, as decimal digits only (no sign) of a value <= 2^64-1: 0 and *v, or -1. */
int cl_parse_u64(const char *s, uint64_t *v);

/* The same, or a usage error naming OPT, the value and what was expected. */
long cl_arg_long(const char *s, const char *opt, long lo, long hi);
double cl_arg_double(const char *s, const char *opt, double lo, double hi);
uint64_t cl_arg_u64(const char *s, const char *opt);   /* seeds: 0 .. 2^64-1 */
/* s, a comma list of token counts such as "1k,2048,32k" (k = 1024), each 1 .. 2^26: their number
 * (at least 1, at most cap) and the counts in out; or a usage error "bad length list for OPT: s". */
int cl_arg_lengths(const char *s, const char *opt, int *out, int cap);
/* "f32", "f16" or "bf16" (a float dtype for values the tool keeps or sends), or a usage error
 * naming OPT and the value. */
cl_dtype cl_arg_float_dtype(const char *s, const char *opt);

#endif
