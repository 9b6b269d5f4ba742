/* fuzz_hub.c — libFuzzer target for what the Hub client parses from its input and the network
 * (lib/hub.h): a model reference, the model-info JSON, an ETag.  Any bytes parse or fail cleanly;
 * what parses keeps the invariants the cache layout relies on (no '/' or ".." in names). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "hub.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *s = cl_strndup((const char *)data, size);
    cl_hub_ref r;
    if (cl_hub_ref_parse(s, &r) == 0) {
        if (strchr(r.org, '/') || strchr(r.name, '/') || strstr(r.org, "..") || strstr(r.name, "..") ||
            !cl_hub_is_ref(s))
            abort();
        cl_hub_ref_free(&r);
    }
    char *commit = NULL, **files = NULL;
    int n = 0;
    if (cl_hub_parse_model_info(s, &commit, &files, &n) == 0) {
        if (strlen(commit) != 40) abort();
        for (int i = 0; i < n; i++) free(files[i]);
        free(files);
        free(commit);
    }
    char *e = cl_hub_normalize_etag(s);
    if (e && (strchr(e, '/') || strchr(e, '.') || !*e)) abort();
    free(e);
    free(s);
    return 0;
}
