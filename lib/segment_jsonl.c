/* segment_jsonl.c — read and write the JSONL segment stream; see segment_jsonl.h. */
#include "segment_jsonl.h"
#include "util.h"
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

void cl_segment_free(cl_segment *seg) {
    free((char *)seg->name);
    free((char *)seg->text);
    free((int32_t *)seg->ids);
    memset(seg, 0, sizeof *seg);
}

static int get_uint(json_t *root, const char *key, uint64_t *out) {
    json_t *v = json_object_get(root, key);
    if (!v) return cl_fail("missing \"%s\"", key);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return cl_fail("\"%s\" is not a non-negative integer", key);
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static int parse_object(json_t *root, cl_segment *seg) {
    if (!json_is_object(root)) return cl_fail("not a JSON object");
    json_t *v = json_object_get(root, "v");
    if (!v) return cl_fail("missing \"v\" (format version)");
    if (!json_is_integer(v) || json_integer_value(v) != CL_SEGMENT_VERSION)
        return cl_fail("unsupported segment format version (this reader knows \"v\":%d)",
                       CL_SEGMENT_VERSION);
    json_t *name = json_object_get(root, "name");
    if (!json_is_string(name)) return cl_fail("\"name\" missing or not a string");
    if (memchr(json_string_value(name), 0, json_string_length(name)))
        return cl_fail("\"name\" contains a NUL character");
    json_t *text = json_object_get(root, "text");
    if (!json_is_string(text)) return cl_fail("\"text\" missing or not a string");
    json_t *end = json_object_get(root, "end");
    if (!json_is_string(end)) return cl_fail("\"end\" missing or not a string");
    if (!strcmp(json_string_value(end), "sentence")) seg->sentence_end = 1;
    else if (!strcmp(json_string_value(end), "tokens")) seg->sentence_end = 0;
    else return cl_fail("\"end\" is neither \"sentence\" nor \"tokens\"");
    if (get_uint(root, "index", &seg->index) || get_uint(root, "offset", &seg->offset) ||
        get_uint(root, "length", &seg->length))
        return -1;
    json_t *ids = json_object_get(root, "ids");
    if (!json_is_array(ids)) return cl_fail("\"ids\" missing or not an array");
    size_t n = json_array_size(ids);
    int32_t *idv = cl_malloc(n * sizeof *idv);
    seg->ids = idv;
    for (size_t i = 0; i < n; i++) {
        json_t *id = json_array_get(ids, i);
        if (!json_is_integer(id) || json_integer_value(id) < 0 || json_integer_value(id) > INT32_MAX)
            return cl_fail("\"ids\"[%zu] is not a token id (integer 0..2^31-1)", i);
        idv[i] = (int32_t)json_integer_value(id);
    }
    seg->n_ids = n;
    seg->name = cl_strdup(json_string_value(name));
    seg->text_len = json_string_length(text);
    seg->text = cl_strndup(json_string_value(text), seg->text_len);
    return 0;
}

int cl_segment_parse(const char *line, size_t len, cl_segment *seg) {
    memset(seg, 0, sizeof *seg);
    json_error_t err;
    /* JSON_ALLOW_NUL: "\u0000" is legal text (the input may contain NUL bytes). */
    json_t *root = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
    if (!root) return cl_fail("column %d: %s", err.column, err.text);
    int rc = parse_object(root, seg);
    json_decref(root);
    if (rc) cl_segment_free(seg);
    return rc;
}

/* ---- writer ---- */

static void put_uint(FILE *f, uint64_t v) {
    char buf[24], *p = buf + sizeof buf;
    do *--p = (char)('0' + v % 10); while (v /= 10);
    fwrite_unlocked(p, 1, (size_t)(buf + sizeof buf - p), f);
}

/* A JSON string literal; bytes >= 0x80 pass through (the text is valid UTF-8). */
static void put_string(FILE *f, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    size_t run = 0;
    putc_unlocked('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        fwrite_unlocked(s + run, 1, i - run, f);
        run = i + 1;
        char esc[7] = {'\\', 0};
        size_t k = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            k = 6;
        }
        fwrite_unlocked(esc, 1, k, f);
    }
    fwrite_unlocked(s + run, 1, n - run, f);
    putc_unlocked('"', f);
}

int cl_segment_write(FILE *f, const char *name, uint64_t index, uint64_t offset, uint64_t length,
                     int sentence_end, const char *text, size_t text_len, const int32_t *ids,
                     size_t n_ids) {
    fputs_unlocked("{\"v\":1,\"name\":", f);
    put_string(f, name, strlen(name));
    fputs_unlocked(",\"index\":", f);
    put_uint(f, index);
    fputs_unlocked(",\"offset\":", f);
    put_uint(f, offset);
    fputs_unlocked(",\"length\":", f);
    put_uint(f, length);
    fputs_unlocked(sentence_end ? ",\"end\":\"sentence\",\"text\":" : ",\"end\":\"tokens\",\"text\":", f);
    put_string(f, text, text_len);
    fputs_unlocked(",\"ids\":[", f);
    for (size_t i = 0; i < n_ids; i++) {
        if (i) putc_unlocked(',', f);
        put_uint(f, (uint64_t)(uint32_t)ids[i]);
    }
    fputs_unlocked("]}\n", f);
    return ferror(f) ? cl_fail("write error: %s", strerror(errno)) : 0;
}

/* ---- line reader ---- */

struct cl_segment_reader {
    FILE *f;
    char *path;
    char *line;
    size_t cap;
    uint64_t lineno;
};

cl_segment_reader *cl_segment_reader_open(const char *path) {
    FILE *f = strcmp(path, "-") ? cl_open_read(path) : stdin;
    if (!f) return NULL;
    cl_segment_reader *r = cl_calloc(1, sizeof *r);
    r->f = f;
    r->path = cl_strdup(path);
    return r;
}

int cl_segment_reader_next(cl_segment_reader *r, cl_segment *seg) {
    for (;;) {
        errno = 0;
        ssize_t n = getline(&r->line, &r->cap, r->f);
        if (n < 0) {
            memset(seg, 0, sizeof *seg);
            if (ferror(r->f)) return cl_fail("%s: read error: %s", r->path, strerror(errno));
            return 0;
        }
        r->lineno++;
        size_t len = (size_t)n;
        while (len && (r->line[len - 1] == '\n' || r->line[len - 1] == '\r' ||
                       r->line[len - 1] == ' ' || r->line[len - 1] == '\t'))
            len--;
        if (len == 0) continue;
        if (cl_segment_parse(r->line, len, seg)) {
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", cl_error());
            return cl_fail("%s: line %llu: %s", r->path, (unsigned long long)r->lineno, msg);
        }
        return 1;
    }
}

uint64_t cl_segment_reader_line(const cl_segment_reader *r) { return r->lineno; }

void cl_segment_reader_close(cl_segment_reader *r) {
    if (!r) return;
    if (r->f != stdin) fclose(r->f);
    free(r->path);
    free(r->line);
    free(r);
}
