/* fuzz_jsonl.c — libFuzzer target for the segment JSONL parser (lib/segment_jsonl.c).
 * Any input must parse or fail cleanly; whatever parses must survive write -> parse unchanged. */
#include "segment_jsonl.h"
#include "util.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cl_segment a, b;
    if (cl_segment_parse((const char *)data, size, &a)) return 0;
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f) abort();
    cl_segment_write(f, a.name, a.index, a.offset, a.length, a.sentence_end, a.text, a.text_len,
                     a.ids, a.n_ids);
    fclose(f);
    if (cl_segment_parse(buf, n, &b)) abort();
    if (strcmp(a.name, b.name) || a.text_len != b.text_len || memcmp(a.text, b.text, a.text_len) ||
        a.n_ids != b.n_ids || (a.n_ids && memcmp(a.ids, b.ids, a.n_ids * sizeof *a.ids)) ||
        a.index != b.index || a.offset != b.offset || a.length != b.length ||
        a.sentence_end != b.sentence_end)
        abort();
    cl_segment_free(&a);
    cl_segment_free(&b);
    free(buf);
    return 0;
}
