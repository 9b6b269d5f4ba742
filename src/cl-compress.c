/* cl-compress — cl-segment JSONL in, CE records out (see man/cl-compress.1). */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ce.h"
#include "cli.h"
#include "hub.h"
#include "datadir.h"
#include "ce_cache.h"
#include "comp_settings.h"
#include "compressor.h"
#include "model.h"
#include "model_file.h"
#include "segment_jsonl.h"
#include "util.h"

static const char usage[] =
    "usage: cl-compress [--model M] [--compressor K | --naive] [-o FILE] [--cache DIR]\n"
    "                   [--dtype f32|f16|bf16] [--batch N] [--threads N] [--stats] [FILE...]\n"
    "       cl-compress --init-compressor OUT.gguf [--model M] [--rate C] [--max-segment S]\n"
    "                   [--rank R] [--alpha A] [--targets q,k,v,o] [--seed N]\n"
    "Reads cl-segment JSONL (FILEs or stdin) and writes one CE record per segment: each segment\n"
    "compressed alone into ceil(n/C) concept embeddings.\n"
    "  --model M          base model: path or ORG/NAME[@REV] in the Hugging Face cache (default\n"
    "                     $CL_MODEL or ../shared/models/tinystories-656k)\n"
    "  --pull             --model ORG/NAME[@REV] not in the Hugging Face cache: download it\n"
    "  --compressor K     compressor GGUF (default $CL_COMPRESSOR, else <model>-c<C>.gguf in\n"
    "                     PREFIX/share/compllm, then models/ beside the tools, if present)\n"
    "                     (it sets C and S: --rate / --max-segment, if given, must match it)\n"
    "  --naive            naive baseline: mean of each C consecutive token embeddings (--rate C)\n"
    "  -o, --output FILE  write FILE atomically (default stdout)\n"
    "  --cache DIR        segment cache (default $CL_CACHE; none if unset)\n"
    "  --dtype T          element type of the output vectors (default f32)\n"
    "  --batch N          segments per forward pass (default 64)\n"
    "  --threads N        threads (sub-batches compressed in parallel; never changes the output)\n"
    "  --stats            one JSON line on stderr: segments, hits, misses, segments/s\n"
    "  --init-compressor OUT.gguf  create an untrained compressor: zero LoRA B, identity linear\n"
    "                     (--rate 2 --max-segment 20 --rank 8 --alpha 16 --targets q,k,v,o --seed 1)\n"
    "  --help             this text\n";

typedef struct {
    const cl_model *model;
    const cl_compressor *comp;   /* NULL: naive */
    int rate, max_seg;
    uint8_t comp_fp[32];
    cl_ce_cache *cache;
    cl_dtype dtype;
    cl_atomic *out;
    /* the batch */
    int n, cap;
    cl_segment *segs;
    size_t maxv;                 /* vectors a segment's slot holds */
    float *embd;                 /* [cap * maxv, dim] */
    uint64_t segments, tokens, vectors, computed;
} job;

/* Compress the gathered segments (cache first), write their records, empty the batch. */
static int flush(job *j) {
    size_t D = (size_t)j->model->cfg.dim, maxv = j->maxv;
    int32_t const **ids = cl_malloc((size_t)j->n * sizeof *ids);
    int *n_ids = cl_malloc((size_t)j->n * sizeof *n_ids), *which = cl_malloc((size_t)j->n * sizeof *which);
    uint8_t(*hash)[32] = cl_malloc((size_t)j->n * 32);
    int n_miss = 0, rc = 0;
    for (int i = 0; i < j->n; i++) {
        cl_segment *s = &j->segs[i];
        int cnt = cl_compress_n_out((int)s->n_ids, j->rate);
        cl_ce_content_hash(s->ids, s->n_ids, hash[i]);
        if (s->n_ids == 0) continue;
        if (j->cache && cl_ce_cache_get(j->cache, j->comp_fp, hash[i], (uint32_t)D, (uint32_t)cnt,
                                        j->embd + (size_t)i * maxv * D))
            continue;
        ids[n_miss] = s->ids;
        n_ids[n_miss] = (int)s->n_ids;
        which[n_miss++] = i;
    }
    if (n_miss) {
        size_t nv = 0;
        for (int k = 0; k < n_miss; k++) nv += (size_t)cl_compress_n_out(n_ids[k], j->rate);
        float *tmp = cl_malloc(nv * (size_t)D * sizeof *tmp);
        rc = j->comp ? cl_compress(j->model, j->comp, n_miss, ids, n_ids, tmp)
                     : cl_compress_naive(j->model, j->rate, n_miss, ids, n_ids, tmp);
        for (size_t k = 0, v = 0; rc == 0 && k < (size_t)n_miss; k++) {
            int cnt = cl_compress_n_out(n_ids[k], j->rate);
            memcpy(j->embd + (size_t)which[k] * maxv * D, tmp + v * D, (size_t)cnt * D * sizeof(float));
            v += (size_t)cnt;
        }
        free(tmp);
        j->computed += (uint64_t)n_miss;
    }
    for (int i = 0; rc == 0 && i < j->n; i++) {
        cl_segment *s = &j->segs[i];
        cl_ce_meta m = {.dim = (uint32_t)D, .count = (uint32_t)cl_compress_n_out((int)s->n_ids, j->rate),
                        .n_tokens = (uint32_t)s->n_ids, .dtype = j->dtype, .seg_index = s->index,
                        .src_offset = s->offset, .src_length = s->length, .source = s->name};
        memcpy(m.model_fp, j->model->fingerprint, 32);
        memcpy(m.comp_fp, j->comp_fp, 32);
        memcpy(m.content_hash, hash[i], 32);
        const float *e = j->embd + (size_t)i * maxv * D;
        if (j->cache && s->n_ids) {
            int was_miss = 0;
            for (int k = 0; k < n_miss; k++) was_miss |= which[k] == i;
            if (was_miss && cl_ce_cache_put(j->cache, &m, e) < 0)
                fprintf(stderr, "cl-compress: warning: %s\n", cl_error());  /* the cache is an optimisation */
        }
        if (cl_ce_write(j->out->f, &m, e) < 0) {
            cl_atomic_check(j->out);   /* "PATH: write error: ERRNO" in place of the record's message */
            rc = -1;
        }
        j->segments++;
        j->tokens += s->n_ids;
        j->vectors += m.count;
    }
    for (int i = 0; i < j->n; i++) cl_segment_free(&j->segs[i]);
    j->n = 0;
    free(ids);
    free(n_ids);
    free(which);
    free(hash);
    return rc;
}

/* $CL_COMPRESSOR, else <model name>-c<C>.gguf in the data directories (datadir.h:
 * <tools>/../share/compllm, then <tools>/../models) when it exists, else NULL. */
static char *default_compressor(const char *model_path, int rate) {
    const char *e = getenv("CL_COMPRESSOR");
    if (e && *e) return cl_strdup(e);
    char *stem = cl_strdup(model_path);
    size_t l = strlen(stem);
    while (l > 1 && stem[l - 1] == '/') stem[--l] = 0;
    char *base = strrchr(stem, '/') ? strrchr(stem, '/') + 1 : stem;
    char *dot = strrchr(base, '.');
    if (dot && (!strcmp(dot, ".gguf") || !strcmp(dot, ".bin"))) *dot = 0;
    char *at = strchr(base, '@');   /* ORG/NAME@REV (hub.h): NAME */
    if (at) *at = 0;
    size_t len = strlen(base) + 32;
    char *name = cl_malloc(len);
    snprintf(name, len, "%s-c%d.gguf", base, rate);
    char *path = cl_data_find(name);
    free(name);
    free(stem);
    return path;
}

/* What the command line asks for. */
typedef struct {
    const char *model_path, *comp_path, *out_path, *cache_dir, *init_path;
    int naive, stats, batch, threads, rate, rate_given, max_seg, rank;
    int seg_given, init_only;   /* --max-segment given; any of --rank --alpha --targets --seed given */
    float alpha;
    unsigned targets;
    unsigned long long seed;
    cl_dtype dtype;
    const char *const *inputs;   /* segment streams, "-" for stdin */
    int n_inputs;
} compress_opts;

/* Parse argv into o (exits on a usage error or after --help). */
static void parse_options(int argc, char **argv, compress_opts *o) {
    *o = (compress_opts){.out_path = "-", .cache_dir = getenv("CL_CACHE"), .batch = 64, .rate = 2,
                         .max_seg = 20, .rank = 8, .alpha = 16, .seed = 1, .dtype = CL_F32};
    cl_compressor_parse_targets("q,k,v,o", &o->targets);
    enum { O_MODEL = 256, O_COMP, O_NAIVE, O_CACHE, O_DTYPE, O_BATCH, O_THREADS, O_STATS, O_INIT, O_RATE, O_MAXSEG,
           O_RANK, O_ALPHA, O_TARGETS, O_SEED, O_HELP };
    static const struct option opts[] = {
        {"model", 1, 0, O_MODEL}, {"compressor", 1, 0, O_COMP}, {"naive", 0, 0, O_NAIVE}, {"output", 1, 0, 'o'},
        {"cache", 1, 0, O_CACHE}, {"dtype", 1, 0, O_DTYPE}, {"batch", 1, 0, O_BATCH}, {"threads", 1, 0, O_THREADS},
        {"stats", 0, 0, O_STATS}, {"init-compressor", 1, 0, O_INIT}, {"rate", 1, 0, O_RATE},
        {"max-segment", 1, 0, O_MAXSEG}, {"rank", 1, 0, O_RANK}, {"alpha", 1, 0, O_ALPHA},
        {"targets", 1, 0, O_TARGETS}, {"seed", 1, 0, O_SEED}, {"help", 0, 0, O_HELP}, {"pull", 0, 0, CL_OPT_PULL},
        {0, 0, 0, 0}};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        switch (c) {
        case O_MODEL: o->model_path = optarg; break;
        case CL_OPT_PULL: cl_hub_set_pull(1); break;
        case O_COMP: o->comp_path = optarg; break;
        case O_NAIVE: o->naive = 1; break;
        case 'o': o->out_path = optarg; break;
        case O_CACHE: o->cache_dir = optarg; break;
        case O_DTYPE: o->dtype = cl_arg_float_dtype(optarg, "--dtype"); break;
        case O_BATCH: o->batch = (int)cl_arg_long(optarg, "--batch", 1, 4096); break;
        case O_THREADS: o->threads = (int)cl_arg_long(optarg, "--threads", 1, 1024); break;
        case O_STATS: o->stats = 1; break;
        case O_INIT: o->init_path = optarg; break;
        case O_RATE: o->rate = (int)cl_arg_long(optarg, "--rate", 1, 1024), o->rate_given = 1; break;
        case O_MAXSEG: o->max_seg = (int)cl_arg_long(optarg, "--max-segment", 1, 65536), o->seg_given = 1; break;
        case O_RANK: o->rank = (int)cl_arg_long(optarg, "--rank", 0, 4096), o->init_only = 1; break;
        case O_ALPHA: o->alpha = (float)cl_arg_double(optarg, "--alpha", -1e6, 1e6), o->init_only = 1; break;
        case O_TARGETS:
            if (cl_compressor_parse_targets(optarg, &o->targets) < 0 || !o->targets) cl_usage_error("--targets: %s", cl_error());
            o->init_only = 1;
            break;
        case O_SEED: o->seed = cl_arg_u64(optarg, "--seed"), o->init_only = 1; break;
        case O_HELP: fputs(usage, stdout); exit(0);
        default: cl_usage_error("unknown option or missing argument: %s", argv[optind - 1]);
        }
    }
    static const char *const stdin_only[1] = {"-"};
    o->inputs = optind < argc ? (const char *const *)argv + optind : stdin_only;
    o->n_inputs = optind < argc ? argc - optind : 1;
    if (o->naive && o->comp_path) cl_usage_error("--naive and --compressor exclude each other");
    if (o->init_path && optind < argc) cl_usage_error("--init-compressor takes no input files");
    if (!o->init_path && o->init_only) cl_usage_error("--rank, --alpha, --targets and --seed go with --init-compressor");
    if (o->naive && o->seg_given) cl_usage_error("--max-segment: the naive baseline has no segment length");
}

/* Compress the inputs' segments to CE records (or write a fresh compressor with
 * --init-compressor); the exit status. */
static int run_compress(const compress_opts *o) {
    const char *model_path = o->model_path, *comp_path = o->comp_path;
    cl_set_threads(o->threads);
    if (!model_path) model_path = cl_default_model_path();
    if (!model_path) cl_die("no model: give --model PATH or set CL_MODEL");
    cl_model_file *mf = cl_model_file_open(model_path);
    if (!mf) cl_die("%s", cl_error());
    cl_model *model = cl_model_load(mf);
    if (!model) cl_die("%s", cl_error());

    if (o->init_path) {
        cl_compressor *k = cl_compressor_new_init(model, o->rate, o->max_seg, o->rank, o->alpha, o->targets, o->seed);
        if (!k || cl_compressor_save(k, o->init_path) < 0) cl_die("%s", cl_error());
        cl_compressor_free(k);
        cl_model_free(model);
        cl_model_file_close(mf);
        return 0;
    }

    job j = {.model = model, .dtype = o->dtype, .rate = o->rate, .max_seg = 1 << 20};
    cl_compressor *comp = NULL;
    char *comp_default = NULL;
    if (o->naive) {
        cl_naive_fingerprint(model, o->rate, j.comp_fp);
    } else {
        if (!comp_path) comp_path = comp_default = default_compressor(model_path, o->rate);
        if (!comp_path)
            cl_die("no compressor: give --compressor K (make one with --init-compressor K), set CL_COMPRESSOR, or use --naive");
        /* the file sets C and S: a --rate or --max-segment given must agree */
        cl_comp_settings cs = {.rate = o->rate, .max_seg = o->max_seg, .rate_given = o->rate_given,
                               .seg_given = o->seg_given, .rate_opt = "--rate", .seg_opt = "--max-segment"};
        comp = cl_comp_settings_load(comp_path, model, &cs);
        if (!comp) cl_die("%s", cl_error());
        j.comp = comp;
        j.rate = comp->rate;
        j.max_seg = comp->max_seg;
        memcpy(j.comp_fp, comp->fp, 32);
    }
    if (o->cache_dir && *o->cache_dir && !(j.cache = cl_ce_cache_open(o->cache_dir))) cl_die("%s", cl_error());

    cl_atomic out;
    if (cl_atomic_open(&out, o->out_path) < 0) cl_die("%s", cl_error());
    if (out.f == stdout && isatty(1)) {
        cl_atomic_abort(&out);
        cl_die("refusing to write binary CE data to a terminal (use -o FILE or a pipe)");
    }
    j.out = &out;
    j.cap = o->batch;
    j.segs = cl_calloc((size_t)o->batch, sizeof *j.segs);
    /* naive segments have no S: the slots grow with the longest segment seen */
    j.maxv = (size_t)cl_compress_n_out(o->naive ? 64 : j.max_seg, j.rate);
    j.embd = cl_malloc((size_t)o->batch * j.maxv * (size_t)model->cfg.dim * sizeof(float));

    const char *const *inputs = o->inputs;
    int n_inputs = o->n_inputs;
    double t0 = cl_now(), last_progress = t0;
    int progress = cl_isatty_stderr(), failed = 0;
    for (int f = 0; f < n_inputs && !failed; f++) {
        cl_segment_reader *r = cl_segment_reader_open(inputs[f]);
        if (!r) {
            fprintf(stderr, "cl-compress: %s\n", cl_error());
            failed = 1;
            break;
        }
        cl_segment *s;
        int rc;
        const char *shown = strcmp(inputs[f], "-") ? inputs[f] : "<stdin>";
        while ((rc = cl_segment_reader_next(r, s = &j.segs[j.n])) == 1) {
            unsigned long long line = (unsigned long long)cl_segment_reader_line(r);
            if ((int)s->n_ids > j.max_seg) {
                fprintf(stderr, "cl-compress: %s: line %llu (\"%s\" index %llu) has %zu tokens, the compressor takes at most %d\n",
                        shown, line, s->name, (unsigned long long)s->index, s->n_ids, j.max_seg);
                cl_segment_free(s);
                failed = 1;
                break;
            }
            size_t bad = 0;
            while (bad < s->n_ids && s->ids[bad] < model->cfg.n_vocab) bad++;
            if (bad < s->n_ids) {
                fprintf(stderr, "cl-compress: %s: line %llu: token id %d out of the model's vocabulary (%d ids): "
                        "segmented for another tokenizer?\n", shown, line, (int)s->ids[bad], model->cfg.n_vocab);
                cl_segment_free(s);
                failed = 1;
                break;
            }
            if ((size_t)cl_compress_n_out((int)s->n_ids, j.rate) > j.maxv) {
                cl_segment keep = *s;   /* flush the batch before it with the old slot size */
                if (flush(&j) < 0) {
                    cl_segment_free(&keep);
                    fprintf(stderr, "cl-compress: %s\n", cl_error());
                    failed = 1;
                    break;
                }
                j.segs[0] = keep;
                while ((size_t)cl_compress_n_out((int)keep.n_ids, j.rate) > j.maxv) j.maxv *= 2;
                free(j.embd);
                j.embd = cl_malloc((size_t)o->batch * j.maxv * (size_t)model->cfg.dim * sizeof(float));
            }
            if (++j.n == j.cap && flush(&j) < 0) {
                fprintf(stderr, "cl-compress: %s\n", cl_error());
                failed = 1;
                break;
            }
            if (progress && cl_now() - last_progress > 0.5) {
                last_progress = cl_now();
                fprintf(stderr, "\rcl-compress: %llu segments, %.0f segments/s ", (unsigned long long)j.segments,
                        (double)j.segments / (last_progress - t0));
            }
        }
        if (rc < 0) {
            fprintf(stderr, "cl-compress: %s\n", cl_error());
            failed = 1;
        }
        cl_segment_reader_close(r);
    }
    if (!failed && j.n && flush(&j) < 0) {
        fprintf(stderr, "cl-compress: %s\n", cl_error());
        failed = 1;
    }
    for (int i = 0; i < j.n; i++) cl_segment_free(&j.segs[i]);
    if (progress && j.segments) fprintf(stderr, "\r\033[K");
    if (failed) {
        cl_atomic_abort(&out);
    } else if (cl_atomic_commit(&out) < 0) {
        fprintf(stderr, "cl-compress: %s\n", cl_error());
        failed = 1;
    }
    double dt = cl_now() - t0;
    if (o->stats) {
        cl_ce_cache_stats cs = j.cache ? cl_ce_cache_get_stats(j.cache) : (cl_ce_cache_stats){0};
        fprintf(stderr,
                "{\"segments\":%llu,\"tokens\":%llu,\"vectors\":%llu,\"computed\":%llu,\"cache_hits\":%llu,"
                "\"cache_misses\":%llu,\"cache_corrupt\":%llu,\"seconds\":%.6f,\"segments_per_s\":%.1f,"
                "\"tokens_per_s\":%.1f,\"rate\":%d,\"ok\":%s}\n",
                (unsigned long long)j.segments, (unsigned long long)j.tokens, (unsigned long long)j.vectors,
                (unsigned long long)j.computed, (unsigned long long)cs.hits, (unsigned long long)cs.misses,
                (unsigned long long)cs.corrupt, dt, dt > 0 ? (double)j.segments / dt : 0.0,
                dt > 0 ? (double)j.tokens / dt : 0.0, j.rate, failed ? "false" : "true");
    }
    free(j.segs);
    free(j.embd);
    cl_ce_cache_close(j.cache);
    cl_compressor_free(comp);
    free(comp_default);
    cl_model_free(model);
    cl_model_file_close(mf);
    return failed ? 1 : 0;
}

int main(int argc, char **argv) {
    cl_set_progname(argv[0]);
    cl_cli_set_usage(usage);
    compress_opts o;
    parse_options(argc, argv, &o);
    return run_compress(&o);
}
