/* comp_settings.h — the compression rate C and segment length S a tool works at, as its command
 * line gives them.  A compressor file sets both (its compllm.rate and compllm.max_segment,
 * compressor.h); a rate or segment length given beside it must agree with the file, or the tool
 * stops.  The one code path of cl-segment --compressor, cl-compress --compressor and cl-eval
 * --compressor, so the three read and check C and S alike. */
#ifndef CL_COMP_SETTINGS_H
#define CL_COMP_SETTINGS_H
#include "compressor.h"

typedef struct {
    int rate, max_seg;          /* as given, or the tool's defaults; the file's after a load */
    int rate_given, seg_given;  /* whether the command line gave them */
    const char *rate_opt;       /* the tool's option names in messages, e.g. "--rate", */
    const char *seg_opt;        /* "--max-segment" or "-S/--max-tokens" */
} cl_comp_settings;

/* Load the compressor at path (m as cl_compressor_load: NULL reads the file without a model, for
 * its settings) and check the given C and S against it.  Returns the compressor, with s->rate
 * and s->max_seg set to its C and S; or NULL and cl_error(), e.g. "PATH: segment length is 40,
 * --max-segment says 20" (nothing is left allocated). */
cl_compressor *cl_comp_settings_load(const char *path, const cl_model *m, cl_comp_settings *s);

#endif
