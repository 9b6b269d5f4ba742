/* cl-train — train a CompLLM compressor (LoRA + linear) by hidden-state distillation.
 * See man/cl-train.1. */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <limits.h>
#include "cli.h"
#include "hub.h"
#include "compressor.h"
#include "model.h"
#include "model_file.h"
#include "rng.h"
#include "stories.h"
#include "tape.h"
#include "tokenizer.h"
#include "train_data.h"
#include "train_eval.h"
#include "train_loop.h"
#include "util.h"

static const char usage_text[] =
    "usage: cl-train [options] TRAIN.jsonl        train a compressor\n"
    "       cl-train --gen-data N [options]        sample N stories as training JSONL\n"
    "       cl-train --evaluate --init COMP --dev DEV.jsonl   evaluate a compressor\n"
    "Examples are JSONL lines {\"context\":..., \"question\":... (optional), \"answer\":...\n"
    "(optional: the teacher generates it)}.\n"
    "  --model PATH          base model (default $CL_MODEL or ../shared/models/tinystories-656k)\n"
    "  --pull                --model ORG/NAME[@REV] not in the Hugging Face cache: download it\n"
    "  -o, --out FILE        output: compressor GGUF (best dev loss), or JSONL for --gen-data\n"
    "                        (default compressor.gguf / stdout)\n"
    "  --dev FILE            held-out examples: dev loss and the final evaluation\n"
    "  --rate C              tokens per concept embedding (2)\n"
    "  --max-segment S       segment length in tokens (20)\n"
    "  --rank R --alpha A    LoRA rank (8) and alpha (16)\n"
    "  --targets LIST        LoRA projections: q,k,v,o,gate,up,down | all | attn | mlp (all)\n"
    "  --init FILE           start from this compressor instead of a fresh one (its C and S\n"
    "                        unless --rate / --max-segment set new ones; a larger --rank grows\n"
    "                        its LoRA: new rows of A random, new columns of B zero, alpha x R/r)\n"
    "  --steps N             optimizer steps (1000)       --batch B   examples per step (16)\n"
    "  --lr X (1e-3) --warmup N (50) --min-lr-ratio X (0.1) --clip X (1.0) --weight-decay X (0)\n"
    "  --beta X              Smooth-L1 beta, in units of the teacher's scale (1.0)\n"
    "  --layers LIST         layers (1-based, comma list) whose states are distilled, or none (all)\n"
    "  --kl W                add W x KL(teacher || student) of the next-token distributions (0)\n"
    "  --ce W                add W x the student's NLL of the answer tokens (with no \"answer\":\n"
    "                        the teacher's greedy continuation, what cl-eval's utility scores) (0)\n"
    "  --ema D               keep an exponential moving average of the parameters (decay D in\n"
    "                        (0, 1), e.g. 0.999; 0: off): the dev loss, the best-dev output and,\n"
    "                        without --dev, the output are the average's (0)\n"
    "  --answer-tokens N     teacher continuation length when \"answer\" is absent (32)\n"
    "  --allow-long          keep examples longer than the model's context (with a warning);\n"
    "                        without it such an example is an error naming its line\n"
    "  --no-bos              no BOS before the context / the CEs\n"
    "  --threads N           worker threads: the teacher pass and the training steps (1)\n"
    "  --seed N              data order, fresh compressor, --gen-data (1)\n"
    "  --eval-every N (100)  --checkpoint FILE (OUT.ckpt) --checkpoint-every N (100)\n"
    "  --resume              continue from the checkpoint (exactly)\n"
    "  --max-minutes M       stop (with a checkpoint) after M minutes of training steps\n"
    "  --temperature T       --gen-data sampling temperature (0.8)\n"
    "  --progress            progress on stderr even when it is not a terminal\n"
    "  --bench K             time K training examples of a synthetic shape (--bench-segments\n"
    "                        segments of S random tokens, 32-token answer); no data needed\n"
    "  --bench-segments N    (6)\n"
    "  -h, --help\n";

/* --bench: time the training step on synthetic examples of a fixed shape (n_seg segments of S
 * random tokens, a 32-token answer): no tokenizer needed, so random-weight models of real
 * shapes can be measured. */
static void bench(const cl_model *m, const tr_objective *ob, cl_compressor *p, int S, int n_seg,
                  int k, int threads) {
    tr_example *ex = cl_calloc((size_t)k, sizeof *ex);
    cl_rng rng;
    cl_rng_seed(&rng, 88172645463325252ull);
    for (int i = 0; i < k; i++) {
        tr_example *e = &ex[i];
        e->n_seg = n_seg;
        e->seg_len = cl_malloc((size_t)n_seg * sizeof(int));
        e->n_ctx = n_seg * S;
        e->ctx = cl_malloc((size_t)e->n_ctx * sizeof(int32_t));
        e->q = cl_malloc(sizeof(int32_t));
        e->n_a = 32;
        e->a = cl_malloc(32 * sizeof(int32_t));
        for (int s = 0; s < n_seg; s++) e->seg_len[s] = S;
        for (int j = 0; j < e->n_ctx + 32; j++) {
            int32_t id = 3 + (int32_t)(cl_rng_next(&rng) % (uint64_t)(m->cfg.n_vocab - 3));
            if (j < e->n_ctx) e->ctx[j] = id; else e->a[j - e->n_ctx] = id;
        }
    }
    double t0 = cl_now();
    if (tr_teacher_pass(m, ob, ex, k, threads, NULL)) cl_die("%s", cl_error());
    double t_teacher = (cl_now() - t0) / k;
    int nce = n_seg * ((S + ob->C - 1) / ob->C), seg = S + (S + ob->C - 1) / ob->C;
    int ts = 1 + nce + 32;
    size_t comp = cl_tape_floats(&m->cfg, p->rank, (unsigned)p->targets, n_seg * seg),
           stud = cl_tape_floats(&m->cfg, 0, 0, ts);
    tr_adamw_cfg ac = {.lr = 1e-4f, .warmup = 1, .total_steps = 1, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};
    tr_adamw o;
    tr_adamw_init(&o, (long)p->n_params);
    tr_loop_cfg lc = {.batch = k, .threads = threads, .seed = 1};
    tr_loop_stats st;
    if (tr_train(m, ob, p, &o, &ac, &lc, ex, k, NULL, 0, &st)) cl_die("%s", cl_error());
    printf("model: dim %d, %d layers, %d/%d heads, head_dim %d, ffn %d, vocab %d\n", m->cfg.dim,
           m->cfg.n_layers, m->cfg.n_heads, m->cfg.n_kv_heads, m->cfg.head_dim, m->cfg.ffn_dim, m->cfg.n_vocab);
    printf("example: %d segments x %d tokens -> %d CEs, 32 answer tokens; trainable parameters %zu (%.1f MiB)\n",
           n_seg, S, nce, p->n_params, p->n_params * 4.0 / 1048576);
    printf("teacher pass %.1f ms/example; training step (forward + backward) %.1f ms/example = %.2f examples/s, "
           "%.2f GFLOP/s (estimated) with %d thread(s)\n", t_teacher * 1e3, st.seconds / k * 1e3,
           k / st.seconds, st.flops / st.seconds * 1e-9, threads);
    printf("activation memory per example in flight: compressor tape %.1f MiB + student tape %.1f MiB; "
           "teacher cache %.1f KiB/example; AdamW state %.1f MiB\n", comp * 4.0 / 1048576, stud * 4.0 / 1048576,
           (double)m->cfg.n_layers * 33 * m->cfg.dim * 4 / 1024, p->n_params * 8.0 / 1048576);
    tr_adamw_free(&o);
    for (int i = 0; i < k; i++) tr_example_free(&ex[i]);
    free(ex);
}

static volatile sig_atomic_t g_stop;
static void on_signal(int sig) { (void)sig; g_stop = 1; }

/* A signal before the first step: "prog: WHERE: stopped before training", exit 130, nothing
 * written (exit as cl_die does: what is allocated is still in use). */
static _Noreturn void stopped_before_training(const char *where) {
    fprintf(stderr, "%s: %s: stopped before training\n", cl_progname(), where);
    exit(130);
}

typedef struct {
    const char *out;
    double best;
    long best_step;
} saver;

static int save_params(cl_compressor *c, const char *path) {
    cl_compressor_refresh_fp(c);
    return cl_compressor_save(c, path);
}

/* keep the best-dev parameters in the output file */
static int on_eval(void *ctx, long step, double dev, cl_compressor *p) {
    saver *s = ctx;
    if (!isnan(s->best) && dev >= s->best) return 0;
    s->best = dev;
    s->best_step = step;
    return save_params(p, s->out);
}

static uint64_t settings_tag(const char *train, const char *desc, const cl_model *m) {
    cl_sha256 h;
    cl_sha256_init(&h);
    cl_sha256_update(&h, desc, strlen(desc));
    cl_sha256_update(&h, m->fingerprint, 32);
    char *buf;
    size_t len;
    if (cl_read_file(train, &buf, &len) == 0) {
        cl_sha256_update(&h, buf, len);
        free(buf);
    }
    uint8_t d[32];
    cl_sha256_final(&h, d);
    uint64_t t;
    memcpy(&t, d, 8);
    return t;
}

static void print_eval(const char *what, const tr_eval_result *r) {
    fprintf(stderr,
            "%s: %d examples, %ld answer tokens; NLL nats/token: full context %.4f, CEs %.4f, "
            "no context %.4f, naive mean %.4f; utility (none-CE)/(none-full) %.3f; greedy agreement %.3f "
            "(without context %.3f); teacher-forced top-1 full %.3f, CEs %.3f, none %.3f, naive %.3f\n",
            what, r->examples, r->tokens, r->nll_full, r->nll_ce, r->nll_none, r->nll_naive, r->utility,
            r->agreement, r->agreement_none, r->top1[0], r->top1[1], r->top1[2], r->top1[3]);
}

/* What the command line asks for. */
typedef struct {
    const char *model_path, *out, *dev_path, *init, *ckpt, *train_path;
    unsigned targets;
    int C, S, rank, steps, batch, warmup, n_answer, bos, bench_k, bench_seg, threads, eval_every, ckpt_every;
    int resume, gen, evaluate, progress, allow_long;
    int set_C, set_S, set_rank, set_alpha, set_targets;   /* --rate / --max-segment / --rank / --alpha / --targets given */
    float alpha, lr, min_lr, clip, wd, beta, temp, kl, ce, ema;
    const char *layers;       /* --layers as given (checked against the model), NULL: all */
    double max_minutes;
    unsigned long long seed;
} train_opts;

/* Parse argv into o (exits on a usage error or after --help). */
static void parse_options(int argc, char **argv, train_opts *o) {
    *o = (train_opts){.C = 2, .S = 20, .rank = 8, .steps = 1000, .batch = 16, .warmup = 50, .n_answer = 32,
                      .bos = 1, .bench_seg = 6, .threads = 1, .eval_every = 100, .ckpt_every = 100,
                      .progress = -1, .alpha = 16, .lr = 1e-3f, .min_lr = 0.1f, .clip = 1.0f, .beta = 1.0f,
                      .temp = 0.8f, .seed = 1};
    cl_compressor_parse_targets("all", &o->targets);
    enum { O_MODEL = 256, O_DEV, O_RATE, O_SEG, O_RANK, O_ALPHA, O_TARGETS, O_INIT, O_STEPS, O_BATCH,
           O_LR, O_WARM, O_MINLR, O_CLIP, O_WD, O_BETA, O_ANS, O_NOBOS, O_THREADS, O_SEED, O_EVERY,
           O_CKPT, O_CKEVERY, O_RESUME, O_MAXMIN, O_TEMP, O_PROG, O_GEN, O_EVAL, O_BENCH, O_BENCHSEG, O_LONG,
           O_LAYERS, O_KL, O_CE, O_EMA };
    static const struct option opts[] = {
        {"model", 1, 0, O_MODEL}, {"out", 1, 0, 'o'}, {"dev", 1, 0, O_DEV}, {"rate", 1, 0, O_RATE},
        {"max-segment", 1, 0, O_SEG}, {"rank", 1, 0, O_RANK}, {"alpha", 1, 0, O_ALPHA},
        {"targets", 1, 0, O_TARGETS}, {"init", 1, 0, O_INIT}, {"steps", 1, 0, O_STEPS},
        {"batch", 1, 0, O_BATCH}, {"lr", 1, 0, O_LR}, {"warmup", 1, 0, O_WARM},
        {"min-lr-ratio", 1, 0, O_MINLR}, {"clip", 1, 0, O_CLIP}, {"weight-decay", 1, 0, O_WD},
        {"beta", 1, 0, O_BETA}, {"answer-tokens", 1, 0, O_ANS}, {"no-bos", 0, 0, O_NOBOS},
        {"threads", 1, 0, O_THREADS}, {"seed", 1, 0, O_SEED}, {"eval-every", 1, 0, O_EVERY},
        {"checkpoint", 1, 0, O_CKPT}, {"checkpoint-every", 1, 0, O_CKEVERY}, {"resume", 0, 0, O_RESUME},
        {"max-minutes", 1, 0, O_MAXMIN}, {"temperature", 1, 0, O_TEMP}, {"progress", 0, 0, O_PROG},
        {"gen-data", 1, 0, O_GEN}, {"evaluate", 0, 0, O_EVAL}, {"bench", 1, 0, O_BENCH}, {"bench-segments", 1, 0, O_BENCHSEG}, {"allow-long", 0, 0, O_LONG},
        {"layers", 1, 0, O_LAYERS}, {"kl", 1, 0, O_KL}, {"ce", 1, 0, O_CE}, {"ema", 1, 0, O_EMA}, {"help", 0, 0, 'h'}, {"pull", 0, 0, CL_OPT_PULL},
        {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case O_MODEL: o->model_path = optarg; break;
        case CL_OPT_PULL: cl_hub_set_pull(1); break;
        case 'o': o->out = optarg; break;
        case O_DEV:
            if (!*optarg) cl_usage_error("--dev: empty file name");
            o->dev_path = optarg;
            break;
        case O_LONG: o->allow_long = 1; break;
        case O_RATE: o->C = (int)cl_arg_long(optarg, "--rate", 1, 64), o->set_C = 1; break;
        case O_SEG: o->S = (int)cl_arg_long(optarg, "--max-segment", 1, 4096), o->set_S = 1; break;
        case O_RANK: o->rank = (int)cl_arg_long(optarg, "--rank", 1, 4096), o->set_rank = 1; break;
        case O_ALPHA: o->alpha = (float)cl_arg_double(optarg, "--alpha", -1e6, 1e6), o->set_alpha = 1; break;
        case O_TARGETS:
            if (cl_compressor_parse_targets(optarg, &o->targets) < 0 || !o->targets) cl_usage_error("--targets: %s", cl_error());
            o->set_targets = 1;
            break;
        case O_INIT: o->init = optarg; break;
        case O_STEPS: o->steps = (int)cl_arg_long(optarg, "--steps", 1, 1000000000); break;
        case O_BATCH: o->batch = (int)cl_arg_long(optarg, "--batch", 1, 1000000); break;
        case O_LR: o->lr = (float)cl_arg_double(optarg, "--lr", 0, 1e3); break;
        case O_WARM: o->warmup = (int)cl_arg_long(optarg, "--warmup", 0, 1000000000); break;
        case O_MINLR: o->min_lr = (float)cl_arg_double(optarg, "--min-lr-ratio", 0, 1); break;
        case O_CLIP: o->clip = (float)cl_arg_double(optarg, "--clip", 0, 1e9); break;
        case O_WD: o->wd = (float)cl_arg_double(optarg, "--weight-decay", 0, 1e3); break;
        case O_BETA: o->beta = (float)cl_arg_double(optarg, "--beta", 1e-9, 1e9); break;
        case O_LAYERS: o->layers = optarg; break;
        case O_KL: o->kl = (float)cl_arg_double(optarg, "--kl", 0, 1e6); break;
        case O_CE: o->ce = (float)cl_arg_double(optarg, "--ce", 0, 1e6); break;
        case O_EMA:
            o->ema = (float)cl_arg_double(optarg, "--ema", 0, 1);
            if (o->ema >= 1) cl_usage_error("--ema: decay must be below 1 (0: off): %s", optarg);
            break;
        case O_ANS: o->n_answer = (int)cl_arg_long(optarg, "--answer-tokens", 1, 100000); break;
        case O_NOBOS: o->bos = 0; break;
        case O_THREADS: o->threads = (int)cl_arg_long(optarg, "--threads", 1, 1024); break;
        case O_SEED: o->seed = cl_arg_u64(optarg, "--seed"); break;
        case O_EVERY: o->eval_every = (int)cl_arg_long(optarg, "--eval-every", 0, 1000000000); break;
        case O_CKPT: o->ckpt = optarg; break;
        case O_CKEVERY: o->ckpt_every = (int)cl_arg_long(optarg, "--checkpoint-every", 0, 1000000000); break;
        case O_RESUME: o->resume = 1; break;
        case O_MAXMIN: o->max_minutes = cl_arg_double(optarg, "--max-minutes", 0, 1e9); break;
        case O_TEMP: o->temp = (float)cl_arg_double(optarg, "--temperature", 0, 100); break;
        case O_PROG: o->progress = 1; break;
        case O_GEN: o->gen = (int)cl_arg_long(optarg, "--gen-data", 1, 100000000); break;
        case O_EVAL: o->evaluate = 1; break;
        case O_BENCH: o->bench_k = (int)cl_arg_long(optarg, "--bench", 1, 1000000); break;
        case O_BENCHSEG: o->bench_seg = (int)cl_arg_long(optarg, "--bench-segments", 1, 100000); break;
        case 'h': fputs(usage_text, stdout); exit(0);
        default: fputs(usage_text, stderr); exit(2);
        }
    }
    if (o->progress < 0) o->progress = cl_isatty_stderr();
    if (o->C < 1 || o->S < 1 || o->rank < 1 || o->steps < 0 || o->batch < 1 || o->threads < 1 || o->n_answer < 1 || o->beta <= 0)
        cl_die("bad numeric option (rate, max-segment, rank, batch, threads, answer-tokens >= 1; beta > 0)");
    if (!o->gen && !o->evaluate && !o->bench_k && optind != argc - 1) { fputs(usage_text, stderr); exit(2); }
    if (o->evaluate && (!o->dev_path || !o->init)) cl_die("--evaluate needs --init COMPRESSOR and --dev FILE");
    o->train_path = optind < argc ? argv[optind] : NULL;
}

/* Reconcile the command line with an --init compressor *cp.  The LoRA and linear layer have the
 * same shapes at every C and S, so training may start from a compressor made for another rate or
 * segment length: an explicit --rate / --max-segment then sets the new compressor's C / S.
 * A --rank above the file's grows the adapter (cl_compressor_grow_rank: the student starts exactly
 * where the file is; alpha grows with the rank so alpha/rank stays the file's, and an --alpha
 * other than that is refused); a smaller --rank, another --targets or another --alpha at the
 * file's rank is refused.  --evaluate measures the file as it is, so there a differing --rate /
 * --max-segment / --rank is refused. */
static int adopt_init(const train_opts *o, cl_compressor **cp) {
    cl_compressor *c = *cp;
    if (o->set_rank && o->rank < c->rank)
        return cl_fail("%s: has LoRA rank %d: --rank %d can't shrink it (a larger rank grows it)", o->init, c->rank,
                       o->rank);
    if (o->set_targets && o->targets != c->targets)
        return cl_fail("%s: has LoRA targets %s: --targets can't change them", o->init,
                       cl_compressor_targets_str(c->targets));
    if (o->set_rank && o->rank > c->rank) {
        if (o->evaluate) return cl_fail("%s: compressor has LoRA rank %d, not the --rank %d asked for", o->init, c->rank, o->rank);
        cl_compressor *g = cl_compressor_grow_rank(c, o->rank, o->seed);
        if (!g) return cl_fail_prefix("%s: --rank %d", o->init, o->rank);
        if (o->set_alpha && o->alpha != g->alpha) {
            cl_fail("%s: growing LoRA rank %d (alpha %g) to %d keeps the scale alpha/rank: alpha becomes %g, not --alpha %g",
                    o->init, c->rank, c->alpha, o->rank, g->alpha, o->alpha);
            cl_compressor_free(g);
            return -1;
        }
        cl_compressor_free(c);
        *cp = c = g;
    } else if (o->set_alpha && o->alpha != c->alpha) {
        return cl_fail("%s: has LoRA rank %d, alpha %g: --alpha can't change it (a larger --rank grows it)", o->init,
                       c->rank, c->alpha);
    }
    if ((o->set_C && o->C != c->rate) || (o->set_S && o->S != c->max_seg)) {
        if (o->evaluate)
            return cl_fail("%s: compressor has C=%d S=%d, not the --rate %d --max-segment %d asked for", o->init,
                           c->rate, c->max_seg, o->set_C ? o->C : c->rate, o->set_S ? o->S : c->max_seg);
        if (o->set_C) c->rate = o->C;
        if (o->set_S) c->max_seg = o->S;
        cl_compressor_refresh_fp(c);
    }
    return 0;
}

/* The objective the options ask for (exits on a bad --layers, or no term left). */
static tr_objective make_objective(const train_opts *opt, int C, const cl_model *m) {
    tr_objective ob = {.C = C, .bos = opt->bos, .beta = opt->beta, .kl = opt->kl, .ce = opt->ce};
    if (opt->layers && tr_parse_layers(opt->layers, m->cfg.n_layers, &ob)) cl_usage_error("--%s", cl_error());
    int n_in = 0;
    for (int l = 0; l < m->cfg.n_layers; l++) n_in += !ob.skip_layer[l];
    if (!n_in && !(ob.kl > 0) && !(ob.ce > 0))
        cl_usage_error("--layers none: nothing left to train on without --kl W > 0 or --ce W > 0");
    return ob;
}

/* Train (or --gen-data, --evaluate, --bench); the exit status. */
static int run_train(const train_opts *opt) {
    const char *model_path = opt->model_path;
    int C = opt->C, S = opt->S, rank = opt->rank, n_long = 0;
    float alpha = opt->alpha;
    unsigned targets = opt->targets;
    const char *out = opt->out, *ckpt = opt->ckpt;
    cl_set_threads(1);   /* parallelism is over examples (--threads), each sgemm single-threaded */

    if (!model_path) model_path = cl_default_model_path();
    if (!model_path) cl_die("no model: use --model PATH or set CL_MODEL");
    cl_model_file *mf = cl_model_file_open(model_path);
    if (!mf) cl_die("%s", cl_error());
    if (cl_config_require_plain(cl_model_file_config(mf), model_path) < 0) cl_die("%s", cl_error());
    cl_model *m = cl_model_load(mf);
    if (!m) cl_die("%s", cl_error());
    if (opt->bench_k) {
        cl_compressor *bc = cl_compressor_new_init(m, C, S, rank, alpha, targets, opt->seed);
        if (!bc) cl_die("%s", cl_error());
        tr_objective bo = make_objective(opt, C, m);
        bench(m, &bo, bc, S, opt->bench_seg, opt->bench_k, opt->threads);
        cl_compressor_free(bc);
        cl_model_free(m);
        cl_model_file_close(mf);
        return 0;
    }
    cl_tokenizer *tok = cl_tokenizer_for_model(mf);
    if (!tok) cl_die("%s", cl_error());

    if (opt->gen) {
        cl_atomic a;
        if (cl_atomic_open(&a, out ? out : "-")) cl_die("%s", cl_error());
        /* every story's context leaves room for BOS and the teacher's answer: training reads
         * it without --allow-long */
        int n_skip = 0, room = tr_context_room(m, opt->bos, 0, opt->n_answer);
        if (room < 1) cl_usage_error("--answer-tokens %d leaves no room for a context in the model's %d", opt->n_answer, m->cfg.max_ctx);
        if (cl_sample_stories(m, tok, opt->gen, opt->temp, 512 < m->cfg.max_ctx ? 512 : m->cfg.max_ctx, room, opt->seed,
                              a.f, opt->progress, &n_skip) ||
            cl_atomic_commit(&a))
            cl_die("%s", cl_error());
        if (n_skip)
            fprintf(stderr, "%s: skipped %d stories whose context + %d answer tokens exceed the model's context of %d\n",
                    cl_progname(), n_skip, opt->n_answer, m->cfg.max_ctx);
        cl_tokenizer_free(tok);
        cl_model_free(m);
        cl_model_file_close(mf);
        return 0;
    }

    /* the compressor, fresh or --init, is what training updates in place */
    cl_compressor *comp = opt->init ? cl_compressor_load(opt->init, m)
                               : cl_compressor_new_init(m, C, S, rank, alpha, targets, opt->seed);
    if (!comp) cl_die("%s", cl_error());
    if (opt->init && adopt_init(opt, &comp)) {
        cl_compressor_free(comp);   /* exit without a leak (check-asan) */
        cl_die("%s", cl_error());
    }
    if (opt->init) { C = comp->rate; S = comp->max_seg; rank = comp->rank; alpha = comp->alpha; targets = comp->targets; }
    if (!comp->lora && !opt->evaluate) cl_die("%s: no LoRA adapter to train", opt->init);
    tr_objective ob = make_objective(opt, C, m);
    tr_data_opts dopt = {.m = m, .tok = tok, .S = S, .n_answer = opt->n_answer, .bos = opt->bos, .progress = opt->progress, .threads = opt->threads,
                         .allow_long = opt->allow_long, .n_long = &n_long};

    tr_example *dev = NULL, *train = NULL;
    int n_dev = 0, n_train = 0, skipped = 0;
    if (opt->dev_path && tr_data_load(opt->dev_path, &dopt, &dev, &n_dev, &skipped)) cl_die("%s", cl_error());
    if (tr_teacher_pass(m, &ob, dev, n_dev, opt->threads, NULL)) cl_die("%s: %s", opt->dev_path, cl_error());
    if (opt->evaluate) {
        tr_eval_result r;
        if (tr_evaluate(m, &ob, comp, dev, n_dev, &r)) cl_die("%s", cl_error());
        double dl = tr_mean_loss(m, &ob, comp, dev, n_dev, opt->threads);
        printf("examples %d\ntokens %ld\ndev_loss %.5f\nnll_full %.4f\nnll_ce %.4f\nnll_none %.4f\n"
               "nll_naive %.4f\nutility %.4f\nagreement %.4f\nagreement_none %.4f\ntop1_full %.4f\ntop1_ce %.4f\n"
               "top1_none %.4f\ntop1_naive %.4f\n", r.examples, r.tokens, dl, r.nll_full, r.nll_ce, r.nll_none,
               r.nll_naive, r.utility, r.agreement, r.agreement_none, r.top1[0], r.top1[1], r.top1[2], r.top1[3]);
        for (int i = 0; i < n_dev; i++) tr_example_free(&dev[i]);
        free(dev);
        cl_compressor_free(comp);
        cl_tokenizer_free(tok);
        cl_model_free(m);
        cl_model_file_close(mf);
        return 0;
    }
    /* from here a signal stops cleanly: before training with nothing written, in training with a
     * checkpoint at the current step */
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    const char *train_path = opt->train_path;
    double t_data = cl_now();
    dopt.stop = &g_stop;
    if (tr_data_load(train_path, &dopt, &train, &n_train, &skipped)) {
        if (g_stop) stopped_before_training(cl_error());
        cl_die("%s", cl_error());
    }
    if (n_long)
        fprintf(stderr, "%s: warning: %d examples are longer than the model's context of %d tokens (--allow-long)\n",
                cl_progname(), n_long, m->cfg.max_ctx);
    int rc = tr_teacher_pass(m, &ob, train, n_train, opt->threads, &g_stop);
    if (rc > 0) {
        cl_fail_prefix("%s", train_path);   /* cl_fail would read the message it overwrites */
        stopped_before_training(cl_error());
    }
    if (rc) cl_die("%s: %s", train_path, cl_error());
    if (opt->progress) {
        double nc = 0, ns = 0, na = 0;
        for (int i = 0; i < n_train; i++) nc += train[i].n_ctx, ns += train[i].n_seg, na += train[i].n_a;
        fprintf(stderr, "data: %d train examples (%d skipped), %d dev, teacher answers and states in %.1f s; "
                "per example: %.1f context tokens in %.1f segments, %.1f answer tokens\n",
                n_train, skipped, n_dev, cl_now() - t_data, nc / n_train, ns / n_train, na / n_train);
    }

    if (!out) out = "compressor.gguf";
    char *ckpt_buf = NULL;
    if (!ckpt) {
        ckpt_buf = cl_malloc(strlen(out) + 8);
        sprintf(ckpt_buf, "%s.ckpt", out);
        ckpt = ckpt_buf;
    }
    char desc[512];
    snprintf(desc, sizeof desc, "C%d S%d r%d a%g t%u steps%d batch%d lr%g warm%d min%g clip%g wd%g beta%g ans%d bos%d seed%llu threads%d",
             C, S, rank, alpha, targets, opt->steps, opt->batch, opt->lr, opt->warmup, opt->min_lr, opt->clip, opt->wd, opt->beta, opt->n_answer, opt->bos, opt->seed, opt->threads);
    if (opt->layers || opt->kl > 0)   /* only then, so the tags of older runs stay valid */
        snprintf(desc + strlen(desc), sizeof desc - strlen(desc), " layers%s kl%g", opt->layers ? opt->layers : "all", opt->kl);
    if (opt->ce > 0) snprintf(desc + strlen(desc), sizeof desc - strlen(desc), " ce%g", opt->ce);
    if (opt->ema > 0) snprintf(desc + strlen(desc), sizeof desc - strlen(desc), " ema%.9g", opt->ema);
    tr_adamw_cfg ac = {.lr = opt->lr, .min_lr_ratio = opt->min_lr, .warmup = opt->warmup, .total_steps = opt->steps,
                       .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = opt->wd, .clip = opt->clip};
    tr_adamw o;
    tr_adamw_init(&o, (long)comp->n_params);
    if (opt->ema > 0) tr_adamw_ema(&o, opt->ema, comp->params);   /* the average starts at the start */
    uint64_t tag = settings_tag(train_path, desc, m);
    if (opt->resume) {
        if (tr_checkpoint_load(ckpt, tag, &o, comp->params)) cl_die("%s", cl_error());
        if (opt->progress) fprintf(stderr, "resumed from %s at step %ld\n", ckpt, o.step);
    }
    saver sv = {.out = out, .best = NAN};
    if (opt->resume && n_dev && access(out, R_OK) == 0) {   /* the best so far is in OUT already */
        cl_compressor *prev = cl_compressor_load(out, m);
        if (!prev) cl_die("%s", cl_error());
        if (prev->n_params != comp->n_params || prev->rate != comp->rate)
            cl_die("%s: other compressor settings than the checkpoint", out);
        sv.best = tr_mean_loss(m, &ob, prev, dev, n_dev, opt->threads);
        cl_compressor_free(prev);
    }
    tr_loop_cfg lc = {.batch = opt->batch, .threads = opt->threads, .seed = opt->seed, .eval_every = opt->eval_every,
                      .ckpt_every = opt->ckpt_every, .progress = opt->progress, .ckpt_path = ckpt, .tag = tag,
                      .stop = &g_stop, .max_seconds = opt->max_minutes * 60, .on_eval = n_dev ? on_eval : NULL,
                      .ctx = &sv};
    if (n_dev) {   /* with an average, of the average (what a resumed run left) */
        cl_compressor *start = o.ema ? cl_compressor_clone(comp) : comp;
        if (o.ema) memcpy(start->params, o.ema, comp->n_params * sizeof(float));
        double d0 = tr_mean_loss(m, &ob, start, dev, n_dev, opt->threads);
        if (start != comp) cl_compressor_free(start);
        fprintf(stderr, "step %ld dev loss %.5f (start)\n", o.step, d0);
    }
    tr_loop_stats st;
    if (tr_train(m, &ob, comp, &o, &ac, &lc, train, n_train, dev, n_dev, &st)) cl_die("%s", cl_error());
    if (o.ema) memcpy(comp->params, o.ema, comp->n_params * sizeof(float));   /* the checkpoint has both */
    if (!n_dev && save_params(comp, out)) cl_die("%s", cl_error());
    if (n_dev && isnan(sv.best)) {   /* no evaluation ran in this invocation: evaluate now */
        double d = tr_mean_loss(m, &ob, comp, dev, n_dev, opt->threads);
        if (on_eval(&sv, o.step, d, comp)) cl_die("%s", cl_error());
    }
    fprintf(stderr,
            "%s at step %ld/%d: %ld examples in %.1f s = %.2f examples/s, %.2f GFLOP/s (estimated); "
            "train loss %.5f -> %.5f\n",
            st.interrupted ? "stopped" : "done", o.step, opt->steps, st.examples, st.seconds,
            st.examples / (st.seconds > 0 ? st.seconds : 1), st.flops / (st.seconds > 0 ? st.seconds : 1) * 1e-9,
            st.first_loss, st.last_loss);
    if (n_dev) {
        fprintf(stderr, "best dev loss %.5f at step %ld -> %s\n", sv.best, sv.best_step, out);
        if (!st.interrupted) {
            cl_compressor *best = cl_compressor_load(out, m);
            if (!best) cl_die("%s", cl_error());
            tr_eval_result r;
            if (tr_evaluate(m, &ob, best, dev, n_dev, &r)) cl_die("%s", cl_error());
            print_eval("dev evaluation", &r);
            cl_compressor_free(best);
        }
    } else {
        fprintf(stderr, "wrote %s\n", out);
    }
    for (int i = 0; i < n_train; i++) tr_example_free(&train[i]);
    for (int i = 0; i < n_dev; i++) tr_example_free(&dev[i]);
    free(train);
    free(dev);
    free(ckpt_buf);
    tr_adamw_free(&o);
    cl_compressor_free(comp);
    cl_tokenizer_free(tok);
    cl_model_free(m);
    cl_model_file_close(mf);
    return st.interrupted ? 130 : 0;
}

int main(int argc, char **argv) {
    cl_set_progname(argv[0]);
    cl_cli_set_usage("Try 'cl-train --help'.\n");
    train_opts o;
    parse_options(argc, argv, &o);
    return run_train(&o);
}
