/* test_segment_jsonl.c — the segment JSONL format: writer/parser round trip, rejection of
 * malformed lines, the line reader's blank-line skipping and line numbers. */
#include "segment_jsonl.h"
#include "t.h"
#include "util.h"
#include <string.h>

static char *write_line(const char *name, const char *text, size_t len, const int32_t *ids,
                        size_t n, int sent_end, size_t *out_len) {
    char *buf = NULL;
    size_t sz = 0;
    FILE *f = open_memstream(&buf, &sz);
    cl_segment_write(f, name, 7, 1234567890123ull, len + 2, sent_end, text, len, ids, n);
    fclose(f);
    *out_len = sz;
    return buf;
}

static void round_trip(const char *what, const char *text, size_t len) {
    int32_t ids[] = {0, 5, 2147483647, 99};
    size_t n;
    char *line = write_line("dir/a \"b\".txt", text, len, ids, 4, 0, &n);
    OK(n > 0 && line[n - 1] == '\n' && memchr(line, '\n', n) == line + n - 1,
       "%s: one line ending in a newline", what);
    cl_segment s;
    int rc = cl_segment_parse(line, n, &s);
    OK(rc == 0, "%s: parses back (%s)", what, rc ? cl_error() : "ok");
    if (rc == 0) {
        OK(s.text_len == len && memcmp(s.text, text, len) == 0, "%s: text identical", what);
        OK(s.n_ids == 4 && s.ids[0] == 0 && s.ids[1] == 5 && s.ids[2] == 2147483647 && s.ids[3] == 99,
           "%s: ids identical", what);
        OK(!strcmp(s.name, "dir/a \"b\".txt") && s.index == 7 && s.offset == 1234567890123ull &&
               s.length == len + 2 && s.sentence_end == 0,
           "%s: name, index, offset, length, end identical", what);
        cl_segment_free(&s);
    }
    free(line);
}

static int rejects(const char *line) {
    cl_segment s;
    int rc = cl_segment_parse(line, strlen(line), &s);
    if (rc == 0) cl_segment_free(&s);
    return rc == -1 && s.text == NULL && s.ids == NULL;
}

int main(void) {
    round_trip("ascii", "Hello world. ", 13);
    round_trip("escapes", "a\"b\\c\n\r\t\b\f\x01\x1f/\x7f", 15);
    round_trip("NUL byte", "a\0b", 3);
    round_trip("multibyte", "Grüße, 世界！😀 ", strlen("Grüße, 世界！😀 "));
    round_trip("empty text", "", 0);

    size_t n;
    char *line = write_line("-", "x", 1, NULL, 0, 1, &n);
    OK(!strncmp(line, "{\"v\":1,\"name\":\"-\",\"index\":7,", 28), "layout starts with v, name, index: %.40s", line);
    OK(strstr(line, "\"end\":\"sentence\"") && strstr(line, "\"ids\":[]}"), "sentence end and empty ids written");
    free(line);

    const char *good = "{\"v\":1,\"name\":\"n\",\"index\":0,\"offset\":0,\"length\":1,\"end\":\"sentence\","
                       "\"text\":\"a\",\"ids\":[1]}";
    cl_segment s;
    OK(cl_segment_parse(good, strlen(good), &s) == 0 && s.sentence_end == 1, "minimal line parses");
    cl_segment_free(&s);
    const char *extra = "{\"future\":[1,{\"x\":2}],\"v\":1,\"name\":\"n\",\"index\":0,\"offset\":0,"
                        "\"length\":1,\"end\":\"tokens\",\"text\":\"a\",\"ids\":[]}";
    OK(cl_segment_parse(extra, strlen(extra), &s) == 0 && s.n_ids == 0 && s.sentence_end == 0,
       "unknown keys are ignored (fields may be added in v1)");
    cl_segment_free(&s);

    OK(rejects("{\"v\":2,\"name\":\"n\",\"index\":0,\"offset\":0,\"length\":1,\"end\":\"sentence\",\"text\":\"a\",\"ids\":[1]}"),
       "rejects version 2");
    OK(rejects("{\"name\":\"n\",\"index\":0,\"offset\":0,\"length\":1,\"end\":\"sentence\",\"text\":\"a\",\"ids\":[1]}"),
       "rejects a missing version");
    OK(rejects("{\"v\":1,\"name\":\"n\",\"index\":0,\"offset\":0,\"length\":1,\"end\":\"sentence\",\"ids\":[1]}"),
       "rejects a missing text");
    OK(rejects("{\"v\":1,\"name\":\"n\",\"index\":0,\"offset\":-1,\"length\":1,\"end\":\"sentence\",\"text\":\"a\",\"ids\":[1]}"),
       "rejects a negative offset");
    OK(rejects("{\"v\":1,\"name\":\"n\",\"index\":0,\"offset\":0,\"length\":1,\"end\":\"sentence\",\"text\":\"a\",\"ids\":[1.5]}"),
       "rejects a non-integer id");
    OK(rejects("{\"v\":1,\"name\":\"n\",\"index\":0,\"offset\":0,\"length\":1,\"end\":\"sentence\",\"text\":\"a\",\"ids\":[2147483648]}"),
       "rejects an id beyond int32");
    OK(rejects("{\"v\":1,\"name\":\"n\",\"index\":0,\"offset\":0,\"length\":1,\"end\":\"maybe\",\"text\":\"a\",\"ids\":[]}"),
       "rejects an unknown end");
    OK(rejects("{\"v\":1,\"v\":1,\"name\":\"n\",\"index\":0,\"offset\":0,\"length\":1,\"end\":\"sentence\",\"text\":\"a\",\"ids\":[]}"),
       "rejects duplicate keys");
    OK(rejects("{\"v\":1,\"name\":\"n\",\"index\":0,\"offset\":0,\"length\":1,\"end\":\"sentence\",\"text\":\"a\",\"ids\":[]} x"),
       "rejects trailing garbage");
    OK(rejects("[1,2]"), "rejects a non-object");
    OK(rejects("{\"v\":1,\"name\":\"n\",\"index\":0,\"offset\":0,\"length\":1,\"end\":\"sentence\",\"text\":\"\xC3\",\"ids\":[]}"),
       "rejects invalid UTF-8 in a string");
    OK(rejects(""), "rejects an empty line");

    /* reader: blank lines skipped, error names file and line */
    const char *path = t_tmp("segments.jsonl");
    FILE *f = fopen(path, "w");
    fprintf(f, "%s\n\n%s\r\n{\"v\":1}\n", good, good);
    fclose(f);
    cl_segment_reader *r = cl_segment_reader_open(path);
    OK(r != NULL, "reader opens %s", path);
    if (r) {
        int a = cl_segment_reader_next(r, &s);
        cl_segment_free(&s);
        int b = cl_segment_reader_next(r, &s);
        OK(a == 1 && b == 1 && s.text_len == 1, "two segments read, blank line and CRLF tolerated");
        cl_segment_free(&s);
        int c = cl_segment_reader_next(r, &s);
        OK(c == -1 && strstr(cl_error(), "line 4: \"name\" missing"), "error names line 4: %s", cl_error());
        cl_segment_reader_close(r);
    }
    OK(cl_segment_reader_open(t_tmp("does-not-exist")) == NULL, "missing file is an error");
    return t_done();
}
