/* comp_settings.c — C and S from a compressor file, checked against the command line. */
#include "comp_settings.h"
#include "util.h"

cl_compressor *cl_comp_settings_load(const char *path, const cl_model *m, cl_comp_settings *s) {
    cl_compressor *c = cl_compressor_load(path, m);
    if (!c) return NULL;
    int rc = 0;
    if (s->rate_given && s->rate != c->rate)
        rc = cl_fail("%s: compression rate is %d, %s says %d", path, c->rate, s->rate_opt, s->rate);
    else if (s->seg_given && s->max_seg != c->max_seg)
        rc = cl_fail("%s: segment length is %d, %s says %d", path, c->max_seg, s->seg_opt, s->max_seg);
    if (rc < 0) {
        cl_compressor_free(c);
        return NULL;
    }
    s->rate = c->rate;
    s->max_seg = c->max_seg;
    return c;
}
