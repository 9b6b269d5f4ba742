/* cl-segment — UTF-8 text -> JSONL sentence segments of at most S tokens (lib/segmenter.h),
 * one JSON object per line in the format of lib/segment_jsonl.h.  See man/cl-segment.1. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli.h"
#include "comp_settings.h"
#include "hub.h"
#include "model_file.h"
#include "segment_jsonl.h"
#include "segment_text.h"
#include "ce.h"
#include "segmenter.h"
#include "tokenizer.h"
#include "utf8.h"
#include "util.h"

#define BLOCK (1u << 20)
#define MAX_REPORTS 10   /* lossy replacements reported one by one per input, then counted */

static const char usage_text[] =
    "usage: cl-segment [OPTIONS] [FILE...]\n"
    "Split UTF-8 text (FILEs in order, or stdin) into sentence segments of at most S tokens;\n"
    "write one JSON object per segment per line (format v1, see cl-segment(1)).\n"
    "  -S, --max-tokens S   at most S token ids per segment (default 20)\n"
    "      --compressor FILE\n"
    "                       segment for this compressor GGUF: S is its segment length\n"
    "                       (compllm.max_segment); a -S that differs is an error\n"
    "  -m, --model PATH     model whose tokenizer counts tokens: Hugging Face directory (only\n"
    "                       tokenizer.json is needed), .gguf, or llama2.c checkpoint (default\n"
    "                       $CL_MODEL, then ../shared/models/tinystories-656k)\n"
    "  -t, --tokenizer FILE the tokenizer alone: a tokenizer.json or a GGUF file\n"
    "  --pull               --model ORG/NAME[@REV] not in the Hugging Face cache: download it\n"
    "  -l, --locale LOC     ICU locale for sentence rules (default from LC_ALL, LC_MESSAGES,\n"
    "                       LANG, else \"en\")\n"
    "  -n, --name NAME      source name written in each segment (default the file name, \"-\"\n"
    "                       for stdin; only with a single input).  Bytes of a name that are\n"
    "                       not UTF-8 are written as \\xHH; names are cut to 65535 bytes\n"
    "      --lossy          replace invalid UTF-8 by U+FFFD (reported on stderr) instead of\n"
    "                       failing\n"
    "  -o, --output FILE    write to FILE, replaced atomically on success (default stdout)\n"
    "  -h, --help           this help\n";

typedef struct {
    FILE *out;
    const char *name;
    uint64_t replaced;
} run_ctx;

static int emit(void *ctx, const cl_segment *s) {
    run_ctx *r = ctx;
    return cl_segment_write(r->out, r->name, s->index, s->offset, s->length, s->sentence_end,
                            s->text, s->text_len, s->ids, s->n_ids);
}

static void on_replaced(void *ctx, uint64_t off, size_t n) {
    run_ctx *r = ctx;
    if (r->replaced++ < MAX_REPORTS)
        fprintf(stderr, "cl-segment: %s: offset %llu: invalid UTF-8 (%zu byte%s) replaced by U+FFFD\n",
                r->name, (unsigned long long)off, n, n == 1 ? "" : "s");
}

/* Segment one input; 0 or -1 with the message printed. */
static int segment_file(cl_segmenter *seg, run_ctx *r, const char *path, char *buf) {
    int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : 0;
    struct stat st;
    if (fd < 0 || (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))) {
        fprintf(stderr, "cl-segment: %s: %s\n", path, fd < 0 ? strerror(errno) : "is a directory");
        if (fd > 0) close(fd);
        return -1;
    }
    r->replaced = 0;
    int rc = 0, lib_err = 0;
    for (;;) {
        ssize_t n = read(fd, buf, BLOCK);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            fprintf(stderr, "cl-segment: %s: read error: %s\n", path, strerror(errno));
            rc = -1;
            break;
        }
        if (n == 0) break;
        if (cl_segmenter_feed(seg, buf, (size_t)n)) {
            rc = lib_err = -1;
            break;
        }
    }
    if (rc == 0) rc = lib_err = cl_segmenter_end(seg);
    if (lib_err) fprintf(stderr, "cl-segment: %s: %s\n", path, cl_error());
    if (r->replaced > MAX_REPORTS)
        fprintf(stderr, "cl-segment: %s: %llu invalid UTF-8 sequences replaced in all\n", path,
                (unsigned long long)r->replaced);
    if (fd > 0) close(fd);
    return rc;
}

/* What the command line asks for. */
typedef struct {
    int max_tokens, lossy, seg_given;
    const char *compressor;   /* --compressor: S from the file */
    const char *model, *tokenizer, *locale, *name, *output;
    char *const *files;   /* the inputs; none: stdin */
    int n_files;
} segment_opts;

/* Parse argv into o (exits on a usage error or after --help). */
static void parse_options(int argc, char **argv, segment_opts *o) {
    static const struct option opts[] = {
        {"max-tokens", required_argument, 0, 'S'}, {"model", required_argument, 0, 'm'},
        {"locale", required_argument, 0, 'l'},     {"name", required_argument, 0, 'n'},
        {"lossy", no_argument, 0, 'L'},            {"output", required_argument, 0, 'o'},
        {"tokenizer", required_argument, 0, 't'},  {"help", no_argument, 0, 'h'},
        {"pull", 0, 0, CL_OPT_PULL}, {"compressor", required_argument, 0, 'C'},
        {0, 0, 0, 0}};
    *o = (segment_opts){.max_tokens = 20, .output = "-"};
    int c;
    while ((c = getopt_long(argc, argv, "S:m:t:l:n:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'S': o->max_tokens = (int)cl_arg_long(optarg, "--max-tokens", 1, 1000000), o->seg_given = 1; break;
        case 'C': o->compressor = optarg; break;
        case 'm': o->model = optarg; break;
        case 't': o->tokenizer = optarg; break;
        case CL_OPT_PULL: cl_hub_set_pull(1); break;
        case 'l': o->locale = optarg; break;
        case 'n': o->name = optarg; break;
        case 'L': o->lossy = 1; break;
        case 'o': o->output = optarg; break;
        case 'h': fputs(usage_text, stdout); exit(0);
        default: fputs(usage_text, stderr); exit(2);
        }
    }
    o->files = argv + optind;
    o->n_files = argc - optind;
    if (o->name && o->n_files > 1) cl_usage_error("--name applies to a single input, got several files");
    if (o->model && o->tokenizer) cl_usage_error("give --model or --tokenizer, not both");
}

/* S from the compressor file (comp_settings.h: the check cl-compress makes), or -S / the default. */
static int segment_length(const segment_opts *opt) {
    if (!opt->compressor) return opt->max_tokens;
    cl_comp_settings cs = {.max_seg = opt->max_tokens, .seg_given = opt->seg_given, .seg_opt = "-S/--max-tokens"};
    cl_compressor *c = cl_comp_settings_load(opt->compressor, NULL, &cs);
    if (!c) cl_die("%s", cl_error());
    cl_compressor_free(c);
    return cs.max_seg;
}

/* Segment every input into one output; the exit status. */
static int run_segment(const segment_opts *opt) {
    int max_tokens = segment_length(opt);
    const char *model = opt->model;
    if (!opt->tokenizer && !model) model = cl_default_model_path();
    if (!opt->tokenizer && !model) cl_die("no model: give --model PATH, --tokenizer FILE or set CL_MODEL");
    cl_tokenizer *tok = cl_tokenizer_for_path(opt->tokenizer ? opt->tokenizer : model);
    if (!tok) cl_die("%s", cl_error());

    cl_atomic out;
    if (cl_atomic_open(&out, opt->output)) cl_die("%s", cl_error());
    static char obuf[1 << 16];
    setvbuf(out.f, obuf, _IOFBF, sizeof obuf);
    run_ctx r = {.out = out.f};
    cl_segmenter_opts o = {.locale = opt->locale ? opt->locale : cl_segmenter_env_locale(),
                           .max_tokens = max_tokens, .lossy = opt->lossy,
                           .tok = cl_seg_tok_for(tok), .emit = emit, .ctx = &r,
                           .replaced = on_replaced};
    cl_segmenter *seg = cl_segmenter_new(&o);
    if (!seg) cl_die("%s", cl_error());

    char *buf = cl_malloc(BLOCK);
    int rc = 0;
    for (int i = 0; i < (opt->n_files ? opt->n_files : 1) && rc == 0; i++) {
        const char *path = opt->n_files ? opt->files[i] : "-";
        char *shown = cl_utf8_name(opt->name ? opt->name : path, CL_CE_MAX_NAME);   /* valid UTF-8 for JSON */
        r.name = shown;
        rc = segment_file(seg, &r, path, buf);
        free(shown);
    }
    free(buf);
    cl_segmenter_free(seg);
    cl_tokenizer_free(tok);
    if (rc) {
        cl_atomic_abort(&out);
        return 1;
    }
    if (cl_atomic_commit(&out)) cl_die("%s", cl_error());
    return 0;
}

int main(int argc, char **argv) {
    cl_set_progname(argv[0]);
    cl_cli_set_usage(usage_text);
    segment_opts o;
    parse_options(argc, argv, &o);
    return run_segment(&o);
}
