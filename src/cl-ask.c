/* cl-ask — answer a question about a text with the base model (see man/cl-ask.1).
 *
 * The prompt is built from pieces, each given as token ids or as embeddings:
 *     [BOS] + chat prefix, CONTEXT, question (+ chat suffix)   (prompt.h)
 * CONTEXT is the text's tokens here; a compressed context (concept embeddings) is the same
 * piece given as embeddings, so both paths share generate() (generate.h).  The prompt is
 * built by cl_prompt_build (prompt.h) for the local model and for a remote server alike. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ce.h"
#include "cli.h"
#include "hub.h"
#include "chat.h"
#include "generate.h"
#include "stop.h"
#include "model.h"
#include "model_file.h"
#include "prompt.h"
#include "remote_ask.h"
#include "sample.h"
#include "tokenizer.h"
#include "util.h"

static const char usage_text[] =
    "usage: cl-ask [options] [--text FILE] QUESTION\n"
    "       cl-ask [options] CE-FILE... QUESTION\n"
    "       cl-ask --server URL [options] [--text FILE | CE-FILE...] QUESTION\n"
    "Answer QUESTION about the text in FILE ('-': stdin), or about the concept embeddings of\n"
    "the CE files (from cl-compress; '-': stdin) in order, with the model, streaming the answer.\n"
    "  --model PATH        model (HF directory, .gguf, llama2.c .bin); default $CL_MODEL or\n"
    "                      ../shared/models/tinystories-656k\n"
    "  --pull              --model ORG/NAME[@REV] not in the Hugging Face cache: download it\n"
    "  --text FILE         the context text ('-' reads stdin); without it, no context\n"
    "  --max-tokens N      at most N answer tokens (default 128)\n"
    "  --temperature T     sampling temperature (default 0: greedy, reproducible)\n"
    "  --top-p P           nucleus sampling mass (default 1: off)\n"
    "  --seed S            sampling seed (default 0)\n"
    "  --threads N         BLAS threads (default $OPENBLAS_NUM_THREADS or all cores)\n"
    "  --kv-type T         KV cache element type: f16 (default), bf16 or f32 (exact)\n"
    "  --no-template       plain completion even if the model has a chat template\n"
    "  --stats             one JSON line of timings and sizes on stderr\n"
    "  --server URL        answer on an OpenAI-compatible server (vLLM with --enable-prompt-embeds):\n"
    "                      CEs go as prompt embeddings, text as token ids; --model still gives the\n"
    "                      tokenizer and token embeddings, and must be the served model\n"
    "  --server-model NAME the served model to ask (default: the server's only one)\n"
    "  --api-key KEY       bearer token for --server (default $CL_API_KEY)\n"
    "  --server-dtype T    f32, bf16 or f16: the embeddings' type on the wire (default f32)\n"
    "  --timeout S         --server: give up after S seconds without a byte (default 120)\n"
    "  --retries N         --server: retries when the request did not reach the model (default 2)\n"
    "  --help              this text\n"
    "Without a chat template the prompt is a continuation: BOS, the text, then the question.\n";

typedef struct {
    int stop[CL_STOP_MAX]; /* EOS, the model's other stop ids, end-of-turn (stop.h) */
    int n_stop;
    const char *stop_text; /* the EOS marker written out as text (some models do), or NULL */
    struct outq *out;      /* where the answer's text goes */
    const cl_tokenizer *tok;
    char *piece;           /* one token's bytes */
    size_t piece_cap;
} gen_state;

/* The answer's bytes on their way to stdout: leading whitespace is dropped, and bytes that may
 * begin stop_text are held back until it is clear they do not. */
typedef struct outq {
    char *buf;
    size_t len, cap;
    int started;
} outq;

static void out_write(outq *q, const char *p, size_t n) {
    if (!q->started) {
        while (n && (*p == ' ' || *p == '\n')) p++, n--;
        if (n) q->started = 1;
    }
    if (n) fwrite(p, 1, n, stdout);   /* p is NULL when nothing was generated */
}

/* Append bytes; returns 1 when stop_text has appeared (it and what follows are dropped). */
static int out_push(outq *q, const char *p, size_t n, const char *stop_text) {
    cl_buf_append(&q->buf, &q->len, &q->cap, p, n);
    size_t keep = 0;
    if (stop_text) {
        size_t sl = strlen(stop_text);
        char *hit = memmem(q->buf, q->len, stop_text, sl);
        if (hit) {
            out_write(q, q->buf, (size_t)(hit - q->buf));
            q->len = 0;
            return 1;
        }
        for (size_t j = sl - 1; j > 0 && !keep; j--)   /* longest tail that starts stop_text */
            if (j <= q->len && !memcmp(q->buf + q->len - j, stop_text, j)) keep = j;
    }
    out_write(q, q->buf, q->len - keep);
    memmove(q->buf, q->buf + q->len - keep, keep);
    q->len = keep;
    cl_cli_flush_stdout();
    return 0;
}

/* cl_generate's per-token callback: the token's bytes into the output queue; 1 (stop) once
 * stop_text has appeared. */
static int on_token(void *ctx, int32_t id) {
    gen_state *g = ctx;
    size_t len = cl_tokenizer_token_bytes(g->tok, id, g->piece, g->piece_cap);
    if (len > g->piece_cap) {
        g->piece = cl_realloc(g->piece, g->piece_cap = len);
        len = cl_tokenizer_token_bytes(g->tok, id, g->piece, g->piece_cap);
    }
    return out_push(g->out, g->piece, len, g->stop_text);
}

/* Answer locally: the prompt's pieces, then tokens streamed until a stop token, stop_text,
 * max_tokens or a full cache (kv_cap positions).  Returns the number of answer tokens or -1. */
static int generate(const cl_model *m, cl_kv *kv, int kv_cap, const cl_prompt *pr, cl_sampler *smp,
                    int max_tokens, gen_state *g, cl_gen_stats *st) {
    cl_piece p[3];
    for (int i = 0; i < pr->n; i++) p[i] = (cl_piece){.ids = pr->p[i].ids, .embd = pr->p[i].embd, .n = pr->p[i].n};
    int room = kv_cap - cl_prompt_len(pr) + 1;   /* the last token is not fed back */
    outq q = {0};
    g->out = &q;
    int n = cl_generate_kv(m, kv, p, pr->n, max_tokens < room ? max_tokens : room, smp, g->stop, g->n_stop,
                           on_token, g, NULL, st);
    out_write(&q, q.buf, q.len);
    free(q.buf);
    return n;
}

/* CL_ASK_DUMP_EMBEDDINGS=FILE (a test hook): the prompt as the model's input embeddings,
 * [positions, dim] raw little-endian f32, the matrix --server sends. */
static int dump_embeddings(const char *path, const cl_prompt *pr, const cl_model_file *mf) {
    const cl_config *c = cl_model_file_config(mf);
    const cl_tensor *table = cl_model_file_tensor(mf, "token_embd.weight");
    if (!table) return cl_fail("%s: no token_embd.weight", cl_model_file_path(mf));
    float *e = cl_prompt_embeddings(pr, table, c->n_vocab, c->dim);
    if (!e) return -1;
    size_t n = (size_t)cl_prompt_len(pr) * (size_t)c->dim;
    cl_atomic a;
    int rc = cl_atomic_open(&a, path);
    if (rc == 0 && cl_atomic_write(&a, e, n * sizeof *e) < 0) {
        cl_atomic_abort(&a);
        rc = -1;
    } else if (rc == 0) {
        rc = cl_atomic_commit(&a);
    }
    free(e);
    return rc;
}

static int server_text(void *ctx, const char *p, size_t n) {
    gen_state *g = ctx;
    return out_push(g->out, p, n, g->stop_text);
}

/* The --server path: the same prompt, answered remotely, streamed like the local answer. */
static int ask_server(const cl_remote_ask_opts *ro, const cl_prompt *pr, const cl_model_file *mf, gen_state *g,
                      int stats) {
    outq q = {0};
    g->out = &q;
    cl_remote_ask_stats st;
    int rc = cl_remote_ask(ro, pr, mf, server_text, g, &st);
    if (q.len) out_write(&q, q.buf, q.len);
    free(q.buf);
    if (q.started || rc == 0) putchar('\n');
    cl_cli_flush_stdout();   /* the answer before --stats; a write error is reported at exit */
    if (stats)
        fprintf(stderr,
                "{\"server\":\"%s\",\"server_model\":\"%s\",\"prompt_positions\":%d,\"context_tokens\":%d,"
                "\"as_embeddings\":%d,\"payload_bytes\":%zu,\"body_bytes\":%zu,\"bytes_sent\":%.0f,"
                "\"prepare_s\":%.6f,\"ttft_s\":%.6f,\"total_s\":%.6f,\"server_prompt_tokens\":%ld,"
                "\"gen_tokens\":%ld}\n",
                ro->server.url, st.model, st.positions, pr->context_tokens, st.as_embeddings, st.payload_bytes,
                st.body_bytes, st.stream.sent_bytes, st.prepare_s, st.ttft_s, st.prepare_s + st.stream.total_s,
                st.stream.prompt_tokens, st.stream.completion_tokens);
    if (rc < 0) fprintf(stderr, "%s: %s\n", cl_progname(), cl_error());
    return rc < 0 ? 1 : 0;
}

/* What the command line asks for. */
typedef struct {
    const char *model_path, *text_path, *question;
    const char *const *ce_paths;   /* CE files before the question */
    int n_ce_paths;
    int max_tokens, threads, no_template, stats;
    double temperature, top_p;
    unsigned long long seed;
    cl_dtype kv_type;
    cl_remote_ask_opts ro;         /* --server and its options (ro.server.url NULL: local) */
} ask_opts;

/* Parse argv into o (exits on a usage error or after --help). */
static void parse_options(int argc, char **argv, ask_opts *o) {
    enum { O_MODEL = 256, O_TEXT, O_MAX, O_TEMP, O_TOPP, O_SEED, O_THREADS, O_NOTMPL, O_STATS, O_HELP,
           O_SERVER, O_SMODEL, O_APIKEY, O_SDTYPE, O_TIMEOUT, O_RETRIES, O_KVTYPE };
    static const struct option opts[] = {
        {"model", required_argument, 0, O_MODEL}, {"text", required_argument, 0, O_TEXT},
        {"max-tokens", required_argument, 0, O_MAX}, {"temperature", required_argument, 0, O_TEMP},
        {"top-p", required_argument, 0, O_TOPP}, {"seed", required_argument, 0, O_SEED},
        {"threads", required_argument, 0, O_THREADS}, {"no-template", no_argument, 0, O_NOTMPL},
        {"stats", no_argument, 0, O_STATS}, {"help", no_argument, 0, O_HELP}, {"kv-type", required_argument, 0, O_KVTYPE},
        {"server", required_argument, 0, O_SERVER}, {"server-model", required_argument, 0, O_SMODEL},
        {"api-key", required_argument, 0, O_APIKEY}, {"server-dtype", required_argument, 0, O_SDTYPE},
        {"timeout", required_argument, 0, O_TIMEOUT}, {"retries", required_argument, 0, O_RETRIES},
        {"pull", 0, 0, CL_OPT_PULL}, {0, 0, 0, 0}};
    *o = (ask_opts){.ro = {.server = {.timeout_s = 120, .retries = 2, .api_key = getenv("CL_API_KEY")},
                           .dtype = CL_F32},
                    .max_tokens = 128, .top_p = 1,
                    .kv_type = CL_F16};   /* half the cache memory; tests/bench/peer.sh measures it */
    int remote_opt = 0;   /* an option that needs --server was given */
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_MODEL: o->model_path = optarg; break;
        case CL_OPT_PULL: cl_hub_set_pull(1); break;
        case O_TEXT: o->text_path = optarg; break;
        case O_MAX: o->max_tokens = (int)cl_arg_long(optarg, "--max-tokens", 1, 1 << 20); break;
        case O_TEMP: o->temperature = cl_arg_double(optarg, "--temperature", 0, 100); break;
        case O_TOPP: o->top_p = cl_arg_double(optarg, "--top-p", 1e-6, 1); break;
        case O_SEED: o->seed = cl_arg_u64(optarg, "--seed"); break;
        case O_THREADS: o->threads = (int)cl_arg_long(optarg, "--threads", 1, 1024); break;
        case O_NOTMPL: o->no_template = 1; break;
        case O_STATS: o->stats = 1; break;
        case O_KVTYPE: o->kv_type = cl_arg_float_dtype(optarg, "--kv-type"); break;
        case O_HELP: fputs(usage_text, stdout); exit(0);
        case O_SERVER: o->ro.server.url = optarg; break;
        case O_SMODEL: o->ro.model = optarg; remote_opt = 1; break;
        case O_APIKEY: o->ro.server.api_key = optarg; remote_opt = 1; break;
        case O_SDTYPE: o->ro.dtype = cl_arg_float_dtype(optarg, "--server-dtype"), remote_opt = 1; break;
        case O_TIMEOUT: o->ro.server.timeout_s = cl_arg_double(optarg, "--timeout", 0.001, 1e6); remote_opt = 1; break;
        case O_RETRIES: o->ro.server.retries = (int)cl_arg_long(optarg, "--retries", 0, 10); remote_opt = 1; break;
        default: cl_usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc) cl_usage_error("%s", "missing QUESTION");
    if (cl_ce_is_file(argv[argc - 1]))   /* `cl-ask a.ce b.ce`: b.ce is no question */
        cl_usage_error("missing QUESTION after the CE file %s", argv[argc - 1]);
    /* arguments before the question: CE files, their vectors in order are the context */
    o->ce_paths = (const char *const *)argv + optind;
    o->n_ce_paths = argc - optind - 1;
    if (o->n_ce_paths > 0 && o->text_path) cl_usage_error("%s", "--text and CE files exclude each other");
    o->question = argv[argc - 1];
    if (remote_opt && !o->ro.server.url) cl_usage_error("%s", "--server-model, --api-key, --server-dtype, --timeout and --retries need --server");
}

/* Answer the question, locally or on --server; the exit status. */
static int run_ask(const ask_opts *o) {
    const char *model_path = o->model_path;
    cl_remote_ask_opts ro = o->ro;

    if (!model_path) model_path = cl_default_model_path();
    if (!model_path) cl_die("no model: give --model or set CL_MODEL");
    cl_set_threads(o->threads);

    char *context = NULL;
    size_t context_len = 0;
    if (o->text_path && cl_read_file(o->text_path, &context, &context_len) < 0) cl_die("%s", cl_error());
    if (context && strlen(context) != context_len) cl_die("%s: text contains a NUL byte", o->text_path);

    cl_model_file *mf = cl_model_file_open(model_path);
    if (!mf) cl_die("%s", cl_error());
    cl_tokenizer *tok = cl_tokenizer_for_model(mf);
    if (!tok) cl_die("%s", cl_error());
    /* --server reads only the token-embedding table from the model file */
    const cl_config *cfg = cl_model_file_config(mf);
    cl_model *m = ro.server.url ? NULL : cl_model_load(mf);
    if (!m && !ro.server.url) cl_die("%s", cl_error());
    uint8_t fingerprint[32];
    cl_model_file_fingerprint(mf, fingerprint);
    float *ce = NULL;
    size_t n_ce = 0;
    if (o->n_ce_paths > 0) {
        uint32_t dim;
        if (cl_ce_read_all(o->ce_paths, o->n_ce_paths, fingerprint, &ce, &n_ce, &dim) < 0) cl_die("%s", cl_error());
        if (n_ce && dim != (uint32_t)cfg->dim)
            cl_die("%s: vectors of dimension %u, the model's is %d", o->ce_paths[0], dim, cfg->dim);
        if (n_ce > (1u << 30)) cl_die("too many concept embeddings");
    }
    cl_chat chat;
    cl_chat_detect(&chat, o->no_template ? NULL : cl_model_file_chat_template(mf));

    cl_prompt pr;
    if (cl_prompt_build(&pr, tok, &chat, context, ce, (int)n_ce, o->question) < 0) cl_die("%s", cl_error());
    int n_prompt = cl_prompt_len(&pr);
    if (n_prompt == 0) cl_die("empty prompt");
    const char *dump = getenv("CL_ASK_DUMP_EMBEDDINGS");
    if (dump && *dump && dump_embeddings(dump, &pr, mf) < 0) cl_die("%s", cl_error());
    gen_state g = {.tok = tok};
    g.n_stop = cl_stop_ids(cfg, tok, &chat, g.stop);
    /* TinyStories models learned to spell their end marker "<|end_story|>" out in text pieces
     * before the EOS token itself: treat that spelling as the end too. */
    if (g.n_stop > 0 && cl_tokenizer_piece(tok, g.stop[0]) && cl_tokenizer_piece(tok, g.stop[0])[0] == '<')
        g.stop_text = cl_tokenizer_piece(tok, g.stop[0]);
    if (ro.server.url) {
        ro.max_tokens = o->max_tokens;
        ro.temperature = o->temperature;
        ro.top_p = o->top_p;
        ro.seed = o->seed;
        for (int i = 0; i < CL_STOP_MAX; i++) ro.stop_ids[i] = i < g.n_stop ? g.stop[i] : -1;
        int rc = ask_server(&ro, &pr, mf, &g, o->stats);
        cl_prompt_free(&pr);
        cl_chat_free(&chat);
        cl_tokenizer_free(tok);
        cl_model_file_close(mf);
        free(context);
        return rc;
    }
    /* the answer stops when the context is full (the prompt alone may overflow it: warned) */
    int kv_cap = n_prompt + o->max_tokens;
    if (kv_cap > m->cfg.max_ctx) {
        fprintf(stderr, "%s: warning: %d prompt + %d answer tokens exceed the model's context of %d%s\n",
                cl_progname(), n_prompt, o->max_tokens, m->cfg.max_ctx,
                n_prompt < m->cfg.max_ctx ? "; the answer stops where the context is full" : "");
        kv_cap = n_prompt > m->cfg.max_ctx ? n_prompt : m->cfg.max_ctx;
    }
    cl_kv *kv = cl_kv_new_type(m, kv_cap, o->kv_type);
    if (!kv) cl_die("%s", cl_error());
    cl_sampler smp;
    cl_sampler_init(&smp, (float)o->temperature, (float)o->top_p, o->seed);
    cl_gen_stats st;
    int n_gen = generate(m, kv, kv_cap, &pr, &smp, o->max_tokens, &g, &st);
    if (n_gen < 0) cl_die("%s", cl_error());
    putchar('\n');
    cl_cli_flush_stdout();   /* the answer before --stats; a write error is reported at exit */
    if (o->stats)
        fprintf(stderr,
                "{\"context_tokens\":%d,\"prompt_tokens\":%d,\"prefill_s\":%.6f,\"ttft_s\":%.6f,"
                "\"decode_tokens_per_s\":%.3f,\"kv_bytes\":%zu,\"gen_tokens\":%d}\n",
                pr.context_tokens, n_prompt, st.prefill_s, n_gen ? st.ttft_s : 0.0,
                st.decode_s > 0 ? st.decode_steps / st.decode_s : 0.0, cl_kv_bytes(kv), n_gen);

    free(g.piece);
    cl_sampler_free(&smp);
    cl_kv_free(kv);
    cl_prompt_free(&pr);
    cl_chat_free(&chat);
    cl_model_free(m);
    cl_tokenizer_free(tok);
    cl_model_file_close(mf);
    free(context);
    return 0;
}

int main(int argc, char **argv) {
    cl_set_progname(argv[0]);
    cl_cli_set_usage("Try 'cl-ask --help'.\n");
    ask_opts o;
    parse_options(argc, argv, &o);
    return run_ask(&o);
}
