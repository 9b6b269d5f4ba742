/* cl-eval — how much of a context a compressor keeps, and what it costs (see man/cl-eval.1).
 *
 * fidelity: teacher-forced NLL of a continuation given the text / the CEs / nothing / the naive
 *           mean-of-C-embeddings, the retained utility (none - ce) / (none - text), and greedy
 *           agreement of the CE-conditioned generation with the text-conditioned one;
 * qa:       answers over the text and over the CEs, SQuAD exact match and F1 of each, and their
 *           agreement; optionally inside long contexts made of distractor paragraphs.
 * Both report mean time to first token and KV cache bytes of each path. */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "stop.h"
#include "cli.h"
#include "hub.h"
#include "compressor.h"
#include "comp_settings.h"
#include "eval_data.h"
#include "eval_drop.h"
#include "eval_needle.h"
#include "generate.h"
#include "eval_squad.h"
#include "model.h"
#include "model_file.h"
#include "prompt.h"
#include "segment_text.h"
#include "stories.h"
#include "tokenizer.h"
#include "util.h"

static const char usage_text[] =
    "usage: cl-eval [--mode fidelity] [options] [TEXT-FILE...]\n"
    "       cl-eval --mode qa --data QA-FILE [options]\n"
    "       cl-eval --mode needle [--data FILE | TEXT-FILE...] [options]\n"
    "Measure what a compressor keeps of a context, and the time and memory it saves.\n"
    "  --model PATH          model (default $CL_MODEL or ../shared/models/tinystories-656k)\n"
    "  --pull                --model ORG/NAME[@REV] not in the Hugging Face cache: download it\n"
    "  --compressor K        compressor GGUF (cl-train), 'identity' (untrained: final hidden\n"
    "                        states as CEs) or 'naive' (mean of C embeddings); default identity\n"
    "  --rate C              identity and naive: tokens per CE (default 2); a GGUF sets C itself\n"
    "                        and a differing --rate is an error\n"
    "  --max-segment S       identity and naive: segment length in tokens (default 20); a GGUF\n"
    "                        sets S itself and a differing --max-segment is an error\n"
    "  --mode M              fidelity (default), qa or needle; each compares the text, the CEs,\n"
    "                        token-drop (keep the ceil(n/C) tokens of each segment with the highest\n"
    "                        -log p(token | preceding text)) and naive; fidelity and needle also\n"
    "                        no context\n"
    "  --data FILE           JSONL {context, question?, answer?|answers?} or SQuAD v1.1/v2.0 JSON;\n"
    "                        fidelity without it: TEXT-FILEs (each a context), or held-out stories\n"
    "                        sampled from the model (temperature 0.8, --seed); needle: the\n"
    "                        filler texts (default 48 sampled stories)\n"
    "  --limit N             at most N examples (default: 16 sampled stories; all of a file);\n"
    "                        needle: trials per depth x length cell (8)\n"
    "  --seed S              sample of the examples and of the stories (default 20251125;\n"
    "                        0: the file's first N in order)\n"
    "  --answer-tokens N     fidelity: teacher continuation length when none is given (32)\n"
    "  --agree-tokens N      fidelity: greedy tokens compared for agreement (32)\n"
    "  --max-tokens N        qa: answer length limit (32)\n"
    "  --context-tokens L    qa: long contexts of these token counts (comma list, k = 1024),\n"
    "                        the gold paragraph among other examples' contexts; needle: the\n"
    "                        haystack lengths (default 1/8, 1/4, 1/2 and all of the model's context\n"
    "                        that fits; longer ones are refused)\n"
    "  --depth D             qa: where the gold paragraph goes, 0 (first) .. 1 (last); default 0.5\n"
    "  --depths D,...        needle: where the needle goes (default 0,0.25,0.5,0.75,1)\n"
    "  --no-template         plain completion prompt even if the model has a chat template\n"
    "  --answers FILE        every example as JSONL: qa: the answers and scores; fidelity: the\n"
    "                        continuation and each method's NLL, top-1 and per-token NLL\n"
    "  --json FILE           the JSON summary to FILE (default: the last line of stdout)\n"
    "  --threads N           BLAS threads (default $OPENBLAS_NUM_THREADS or all cores)\n"
    "  --help                this text\n";

/* "0,0.5,1" -> depths in [0, 1]. */
static int parse_depths(const char *s, double *out, int cap) {
    int n = 0;
    char *list = cl_strdup(s), *save = NULL;
    for (char *p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save))
        if (n == cap || cl_parse_double(p, 0, 1, &out[n++]) < 0)
            cl_usage_error("bad depth list for --depths (numbers 0..1, comma-separated): %s", s);
    free(list);
    if (n == 0 || s[strlen(s) - 1] == ',' || s[0] == ',' || strstr(s, ",,"))
        cl_usage_error("bad depth list for --depths (numbers 0..1, comma-separated): %s", s);
    return n;
}

typedef struct {
    cl_model *m;
    cl_tokenizer *tok;
    cl_compressor *comp;   /* NULL for naive */
    int C, S, naive;
    int start_id;          /* BOS, or EOS for models without one */
    int progress;
} ctx_t;

static int32_t *encode(const cl_tokenizer *tok, const char *s, int *n) {
    int32_t *ids = NULL;
    size_t k = 0;
    if (*s && cl_tokenizer_encode(tok, s, strlen(s), 0, &ids, &k) < 0) cl_die("%s", cl_error());
    if (!ids) ids = cl_malloc(sizeof *ids);
    *n = (int)k;
    return ids;
}

/* The context's segments, cut exactly as cl-segment cuts them (what the compressor gets). */
static int segments(const ctx_t *x, const char *text, int32_t **ids, int **len) {
    int n_seg;
    if (cl_text_segments(x->tok, text, x->S, 1, ids, len, &n_seg) < 0) cl_die("%s", cl_error());
    return n_seg;
}

/* Segment and compress a text: *ce gets n_ce vectors; returns n_ce.  naive forces the naive
 * baseline whatever the compressor. */
static int compress_text(const ctx_t *x, const char *text, int naive, float **ce) {
    int32_t *ids;
    int *len, n_seg = segments(x, text, &ids, &len);
    int n_ce = 0;
    for (int i = 0; i < n_seg; i++) n_ce += cl_compress_n_out(len[i], x->C);
    *ce = cl_malloc(((size_t)n_ce + 1) * x->m->cfg.dim * sizeof **ce);
    const int32_t **ptr = cl_malloc(((size_t)n_seg + 1) * sizeof *ptr);
    for (int i = 0, off = 0; i < n_seg; off += len[i++]) ptr[i] = ids + off;
    enum { BATCH = 64 };   /* segments per forward pass */
    for (int i = 0, o = 0; i < n_seg; i += BATCH) {
        int nb = n_seg - i < BATCH ? n_seg - i : BATCH;
        float *out = *ce + (size_t)o * x->m->cfg.dim;
        int rc = naive || x->naive ? cl_compress_naive(x->m, x->C, nb, ptr + i, len + i, out)
                                   : cl_compress(x->m, x->comp, nb, ptr + i, len + i, out);
        if (rc < 0) cl_die("compress: %s", cl_error());
        for (int j = i; j < i + nb; j++) o += cl_compress_n_out(len[j], x->C);
    }
    free(ptr);
    free(ids);
    free(len);
    return n_ce;
}

/* Token dropping at rate C over the same segments (eval_drop.h): *kept gets the ids; their count. */
static int drop_text(const ctx_t *x, const char *text, int32_t **kept) {
    int32_t *ids;
    int *len, n_seg = segments(x, text, &ids, &len), n_out = 0;
    for (int i = 0; i < n_seg; i++) n_out += cl_compress_n_out(len[i], x->C);
    *kept = cl_malloc(((size_t)n_out + 1) * sizeof **kept);
    int n = cl_drop_tokens(x->m, x->start_id, ids, len, n_seg, x->C, *kept, NULL);
    if (n < 0) cl_die("token dropping: %s", cl_error());
    free(ids);
    free(len);
    return n;
}

/* The context methods every mode compares, and the table's names for them. */
enum { F_TEXT, F_CE, F_NONE, F_NAIVE, F_DROP, F_N };
static const char *const f_names[F_N] = {"text", "ce", "none", "naive", "drop"};
static const char *const f_label[F_N] = {"text", "compressed", "none", "naive", "token-drop"};
static const int f_order[F_N] = {F_TEXT, F_CE, F_DROP, F_NAIVE, F_NONE};   /* table rows */

/* One context in every form: its text tokens, CEs, naive CEs and kept tokens, the time each took
 * to make from the text (prep_s; 0 for text and none), and as prompt pieces. */
typedef struct {
    int32_t *ids, *kept;
    float *ce, *naive;
    double prep_s[F_N];
    cl_piece piece[F_N];
} ctx_views;

static void views_make(const ctx_t *x, const char *text, ctx_views *v) {
    memset(v, 0, sizeof *v);
    int n_ids, n;
    v->ids = encode(x->tok, text, &n_ids);
    v->piece[F_TEXT] = (cl_piece){.ids = v->ids, .n = n_ids};
    double t0 = cl_now();
    n = compress_text(x, text, 0, &v->ce);
    v->prep_s[F_CE] = cl_now() - t0;
    v->piece[F_CE] = (cl_piece){.embd = v->ce, .n = n};
    t0 = cl_now();
    n = compress_text(x, text, 1, &v->naive);
    v->prep_s[F_NAIVE] = cl_now() - t0;
    v->piece[F_NAIVE] = (cl_piece){.embd = v->naive, .n = n};
    t0 = cl_now();
    n = drop_text(x, text, &v->kept);
    v->prep_s[F_DROP] = cl_now() - t0;
    v->piece[F_DROP] = (cl_piece){.ids = v->kept, .n = n};
    v->piece[F_NONE] = (cl_piece){.n = 0};
}

static void views_free(ctx_views *v) {
    free(v->ids);
    free(v->kept);
    free(v->ce);
    free(v->naive);
}

static void progress(const ctx_t *x, int i, int n) {
    if (x->progress) fprintf(stderr, "\r%s: %d/%d", cl_progname(), i, n);
    if (x->progress && i == n) fputc('\n', stderr);
}

static double ratio(double a, double b) { return b != 0 ? a / b : NAN; }

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

/* j[fmt with method k's name] = v (NaN as null): the "<key>_<method>" fields of every summary.
 * fmt holds one %s. */
static void set_method(json_t *j, const char *fmt, int k, double v) {
    char key[64];
    snprintf(key, sizeof key, fmt, f_names[k]);
    json_object_set_new(j, key, num(v));
}

/* What method k costs (means): ttft_<m>_s (making its context form included), kv_<m>_bytes and
 * kv_<m>_positions. */
static void set_costs(json_t *j, int k, double ttft_s, double kv_bytes, double positions) {
    set_method(j, "ttft_%s_s", k, ttft_s);
    set_method(j, "kv_%s_bytes", k, kv_bytes);
    set_method(j, "kv_%s_positions", k, positions);
}

/* Mean seconds making the CEs, the naive CEs and the kept tokens from the text took (prep_s sums
 * over n examples): compress_s, naive_s, drop_s. */
static void set_prep(json_t *j, const double prep_s[], double n) {
    json_object_set_new(j, "compress_s", num(prep_s[F_CE] / n));
    json_object_set_new(j, "naive_s", num(prep_s[F_NAIVE] / n));
    json_object_set_new(j, "drop_s", num(prep_s[F_DROP] / n));
}

/* What the model reads beyond its context is out of what it was trained on: say how often. */
static void warn_over_ctx(const ctx_t *x, int over, int n) {
    if (over)
        fprintf(stderr, "%s: warning: %d of %d prompts (+ answer) exceed the model's context of %d tokens\n",
                cl_progname(), over, n, x->m->cfg.max_ctx);
}

/* ---- fidelity ---------------------------------------------------------------------------- */

typedef struct {
    double nll[F_N], agree[F_N], ttft[F_N], kv[F_N], pos[F_N], prep_s[F_N];
    long top1[F_N], tokens, agree_tokens;
    double context_tokens;
    int examples, skipped, over_ctx;
} fid_sums;

/* One example's continuation and every method's per-token NLL as a JSONL line of out. */
static void fidelity_write(const ctx_t *x, FILE *out, int index, const cl_qa_item *it, int n_ctx, const int32_t *a,
                           int n_a, float *const tok_nll[F_N], const double nll[F_N], const int top1[F_N]) {
    json_t *j = json_object();
    json_object_set_new(j, "index", json_integer(index));
    if (it->id && *it->id) json_object_set_new(j, "id", json_string(it->id));
    json_object_set_new(j, "context", json_string(it->context));
    json_object_set_new(j, "context_tokens", json_integer(n_ctx));
    char *cont;
    size_t len;
    if (cl_tokenizer_decode_ex(x->tok, a, (size_t)n_a, 0, &cont, &len) < 0) cl_die("%s", cl_error());
    json_object_set_new(j, "continuation", json_stringn(cont, len));
    free(cont);
    json_object_set_new(j, "continuation_tokens", json_integer(n_a));
    for (int r = 0; r < F_N; r++) {
        int k = f_order[r];
        char key[64];
        set_method(j, "nll_%s", k, nll[k]);
        snprintf(key, sizeof key, "top1_%s", f_names[k]);
        json_object_set_new(j, key, json_integer(top1[k]));
        json_t *t = json_array();
        for (int i = 0; i < n_a; i++) json_array_append_new(t, json_real(tok_nll[k][i]));
        snprintf(key, sizeof key, "token_nll_%s", f_names[k]);
        json_object_set_new(j, key, t);
    }
    char *line = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(7));
    if (!line) cl_die("answers: example %d is not valid UTF-8", index + 1);   /* jansson needs UTF-8 */
    fprintf(out, "%s\n", line);
    free(line);
    json_decref(j);
}

static void fidelity_one(const ctx_t *x, const cl_qa_item *it, int n_answer, int n_agree, FILE *out, fid_sums *s) {
    const cl_model *m = x->m;
    int n_q;
    int32_t *q = encode(x->tok, it->question, &n_q);
    int32_t start = x->start_id;
    ctx_views v;
    views_make(x, it->context, &v);
    cl_piece pre[F_N][3];
    for (int k = 0; k < F_N; k++) {
        pre[k][0] = (cl_piece){.ids = &start, .n = 1};
        pre[k][1] = v.piece[k];
        pre[k][2] = (cl_piece){.ids = q, .n = n_q};
    }
    /* the continuation: the given answer, or the teacher's greedy one (stopping at EOS) */
    int n_a;
    int32_t *a;
    if (it->n_answers > 0) {
        a = encode(x->tok, it->answers[0], &n_a);
    } else {
        a = cl_malloc((size_t)n_answer * sizeof *a);
        int stop[CL_STOP_MAX], n_stop = cl_stop_ids(&m->cfg, NULL, NULL, stop);
        n_a = cl_greedy(m, pre[F_TEXT], 3, n_answer, stop, n_stop, a, NULL);
        if (n_a < 0) cl_die("%s", cl_error());
    }
    if (n_a == 0) {
        s->skipped++;
    } else {
        if (1 + v.piece[F_TEXT].n + n_q + (n_a > n_agree ? n_a : n_agree) > m->cfg.max_ctx) s->over_ctx++;
        int32_t *g[F_N];
        float *tok_nll[F_N];
        double nll[F_N];
        int top1[F_N];
        for (int k = 0; k < F_N; k++) {
            tok_nll[k] = cl_malloc((size_t)n_a * sizeof *tok_nll[k]);
            if (cl_score_tokens(m, pre[k], 3, a, n_a, &nll[k], &top1[k], tok_nll[k]) < 0) cl_die("%s", cl_error());
            s->nll[k] += nll[k];
            s->top1[k] += top1[k];
            cl_gen_stats st = {0};
            g[k] = cl_malloc((size_t)n_agree * sizeof *g[k]);
            if (cl_greedy(m, pre[k], 3, n_agree, NULL, 0, g[k], &st) != n_agree) cl_die("%s", cl_error());
            s->ttft[k] += st.ttft_s + v.prep_s[k];
            s->kv[k] += (double)st.kv_bytes;
            s->pos[k] += cl_pieces_len(pre[k], 3);
            s->prep_s[k] += v.prep_s[k];
        }
        for (int k = 0; k < F_N; k++) {
            for (int i = 0; i < n_agree; i++) s->agree[k] += g[k][i] == g[F_TEXT][i];
        }
        if (out) fidelity_write(x, out, s->examples + s->skipped, it, v.piece[F_TEXT].n, a, n_a, tok_nll, nll, top1);
        for (int k = 0; k < F_N; k++) free(g[k]), free(tok_nll[k]);
        s->tokens += n_a;
        s->agree_tokens += n_agree;
        s->context_tokens += v.piece[F_TEXT].n;
        s->examples++;
    }
    free(a);
    free(q);
    views_free(&v);
}

static json_t *fidelity(const ctx_t *x, const cl_qa_set *set, const int *idx, int n, int n_answer,
                        int n_agree, FILE *out) {
    fid_sums s = {0};
    for (int i = 0; i < n; i++) {
        fidelity_one(x, &set->items[idx[i]], n_answer, n_agree, out, &s);
        progress(x, i + 1, n);
    }
    if (s.examples == 0) cl_die("no example gave a continuation to score");
    warn_over_ctx(x, s.over_ctx, s.examples);
    double nll[F_N], util[F_N];
    for (int k = 0; k < F_N; k++) nll[k] = s.nll[k] / (double)s.tokens;
    for (int k = 0; k < F_N; k++) util[k] = ratio(nll[F_NONE] - nll[k], nll[F_NONE] - nll[F_TEXT]);
    int E = s.examples;
    printf("%d examples (%d skipped), %ld continuation tokens, mean context %.1f tokens -> %.1f CEs\n", E,
           s.skipped, s.tokens, s.context_tokens / E, s.pos[F_CE] / E - (s.pos[F_NONE] / E));
    printf("%-12s %10s %8s %9s %9s %12s %8s %12s\n", "context", "NLL/token", "top-1", "agree", "utility", "TTFT ms",
           "KV pos", "KV bytes");
    for (int r = 0; r < F_N; r++) {
        int k = f_order[r];
        printf("%-12s %10.4f %8.3f %9.3f %9.3f %12.3f %8.1f %12.0f\n", f_label[k], nll[k],
               (double)s.top1[k] / s.tokens, s.agree[k] / s.agree_tokens, util[k], 1e3 * s.ttft[k] / E,
               s.pos[k] / E, s.kv[k] / E);
    }
    printf("retained utility (none - compressed) / (none - text): %.3f   token-drop: %.3f   naive: %.3f\n",
           util[F_CE], util[F_DROP], util[F_NAIVE]);
    printf("(TTFT of compressed/token-drop/naive includes making them from the text: %.3f / %.3f / %.3f ms)\n",
           1e3 * s.prep_s[F_CE] / E, 1e3 * s.prep_s[F_DROP] / E, 1e3 * s.prep_s[F_NAIVE] / E);
    json_t *j = json_object();
    json_object_set_new(j, "examples", json_integer(E));
    json_object_set_new(j, "skipped", json_integer(s.skipped));
    json_object_set_new(j, "tokens", json_integer(s.tokens));
    json_object_set_new(j, "agree_tokens", json_integer(n_agree));
    json_object_set_new(j, "context_tokens", num(s.context_tokens / E));
    json_object_set_new(j, "ces", num((s.pos[F_CE] - s.pos[F_NONE]) / E));
    for (int k = 0; k < F_N; k++) {
        set_method(j, "nll_%s", k, nll[k]);
        set_method(j, "top1_%s", k, (double)s.top1[k] / s.tokens);
        if (k != F_TEXT) set_method(j, "agreement_%s", k, s.agree[k] / s.agree_tokens);
        set_costs(j, k, s.ttft[k] / E, s.kv[k] / E, s.pos[k] / E);
    }
    set_prep(j, s.prep_s, E);
    json_object_set_new(j, "utility", num(util[F_CE]));
    json_object_set_new(j, "utility_naive", num(util[F_NAIVE]));
    json_object_set_new(j, "utility_drop", num(util[F_DROP]));
    json_object_set_new(j, "agreement", num(s.agree[F_CE] / s.agree_tokens));
    return j;
}

/* ---- qa ---------------------------------------------------------------------------------- */

typedef struct {
    const cl_chat *chat;
    int max_tokens, stop[CL_STOP_MAX], n_stop;
    const char *stop_text;
    FILE *answers;
} qa_opts;

/* The answer as text: special tokens left out, cut at the model's spelled-out end marker and at
 * the first line break after it started, trimmed. */
static char *answer_text(const ctx_t *x, const qa_opts *o, const int32_t *ids, int n) {
    char *s;
    size_t len;
    if (cl_tokenizer_decode_ex(x->tok, ids, (size_t)n, CL_TOK_SKIP_SPECIAL, &s, &len) < 0) cl_die("%s", cl_error());
    if (o->stop_text) {
        char *e = strstr(s, o->stop_text);
        if (e) *e = 0;
    }
    char *p = s;
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') p++;
    char *nl = strchr(p, '\n');
    if (nl) *nl = 0;
    size_t l = strlen(p);
    while (l && (p[l - 1] == ' ' || p[l - 1] == '\t' || p[l - 1] == '\r')) p[--l] = 0;
    char *r = cl_strdup(p);
    free(s);
    return r;
}

/* The context methods QA compares (no "none": a question without a context is another prompt). */
enum { Q_N = 4 };
static const int q_methods[Q_N] = {F_TEXT, F_CE, F_DROP, F_NAIVE};

typedef struct {
    double em[F_N], f1[F_N], agree_em[F_N], agree_f1[F_N], ttft[F_N], kv[F_N], pos[F_N], prep_s[F_N];
    double context_tokens, ces;
    int n, over_ctx;
} qa_sums;

/* One question's answers and scores as a JSONL line of o->answers. */
static void qa_write_answer(const qa_opts *o, const cl_qa_item *it, int n_ctx, char *const ans[F_N],
                            const double em[F_N], const double f1[F_N], const double agree_em[F_N],
                            const double agree_f1[F_N]) {
    json_t *j = json_object(), *g = json_array();
    for (int i = 0; i < it->n_answers; i++) json_array_append_new(g, json_string(it->answers[i]));
    json_object_set_new(j, "id", json_string(it->id));
    json_object_set_new(j, "question", json_string(it->question));
    json_object_set_new(j, "answers", g);
    json_object_set_new(j, "context_tokens", json_integer(n_ctx));
    for (int r = 0; r < Q_N; r++) {
        int k = q_methods[r];
        char key[64];
        snprintf(key, sizeof key, "%s_answer", f_names[k]);
        json_object_set_new(j, key, json_stringn(ans[k], strlen(ans[k])));
        snprintf(key, sizeof key, "em_%s", f_names[k]);
        json_object_set_new(j, key, json_integer((int)em[k]));
        set_method(j, "f1_%s", k, f1[k]);
    }
    json_object_set_new(j, "agree_em", json_integer((int)agree_em[F_CE]));
    json_object_set_new(j, "agree_f1", json_real(agree_f1[F_CE]));
    for (int r = 2; r < Q_N; r++) {   /* token-drop and naive vs text (agree_*: the CEs') */
        set_method(j, "agree_em_%s", q_methods[r], agree_em[q_methods[r]]);
        set_method(j, "agree_f1_%s", q_methods[r], agree_f1[q_methods[r]]);
    }
    char *line = json_dumps(j, JSON_COMPACT);
    if (!line) cl_die("answers: an answer is not valid UTF-8");   /* jansson needs UTF-8 */
    fprintf(o->answers, "%s\n", line);
    free(line);
    json_decref(j);
}

/* Answer one question over the context as text, CEs, kept tokens and naive CEs (views_make:
 * the same segments, the same KV positions for all but the text). */
static void qa_one(const ctx_t *x, const qa_opts *o, const cl_qa_item *it, const char *context, qa_sums *s) {
    cl_qa_prompt pr;
    if (cl_qa_prompt_build(&pr, x->tok, o->chat, *context != 0, it->question) < 0) cl_die("%s", cl_error());
    ctx_views v;
    views_make(x, context, &v);
    int32_t *gen = cl_malloc((size_t)o->max_tokens * sizeof *gen);
    char *ans[F_N] = {0};
    double em[F_N] = {0}, f1[F_N] = {0}, agree_em[F_N] = {0}, agree_f1[F_N] = {0};
    const char *const *gold = (const char *const *)it->answers;
    for (int r = 0; r < Q_N; r++) {
        int k = q_methods[r];
        cl_piece p[3] = {{.ids = pr.pre, .n = pr.n_pre}, v.piece[k], {.ids = pr.post, .n = pr.n_post}};
        if (k == F_TEXT && cl_pieces_len(p, 3) + o->max_tokens > x->m->cfg.max_ctx) s->over_ctx++;
        cl_gen_stats st = {0};
        int n = cl_greedy(x->m, p, 3, o->max_tokens, o->stop, o->n_stop, gen, &st);
        if (n < 0) cl_die("%s", cl_error());
        ans[k] = answer_text(x, o, gen, n);
        em[k] = cl_squad_exact_max(ans[k], gold, it->n_answers);
        f1[k] = cl_squad_f1_max(ans[k], gold, it->n_answers);
        agree_em[k] = cl_squad_exact(ans[k], ans[F_TEXT]);
        agree_f1[k] = cl_squad_f1(ans[k], ans[F_TEXT]);
        s->em[k] += em[k];
        s->f1[k] += f1[k];
        s->agree_em[k] += agree_em[k];
        s->agree_f1[k] += agree_f1[k];
        s->ttft[k] += st.ttft_s + v.prep_s[k];
        s->kv[k] += (double)st.kv_bytes;
        s->pos[k] += cl_pieces_len(p, 3);
        s->prep_s[k] += v.prep_s[k];
    }
    s->context_tokens += v.piece[F_TEXT].n;
    s->ces += v.piece[F_CE].n;
    s->n++;
    if (o->answers) qa_write_answer(o, it, v.piece[F_TEXT].n, ans, em, f1, agree_em, agree_f1);
    for (int k = 0; k < F_N; k++) free(ans[k]);
    free(gen);
    views_free(&v);
    cl_qa_prompt_free(&pr);
}

/* The QA table's header (qa_run prints a row per method). */
static void qa_header(void) {
    printf("%-8s %5s %8s %-11s %7s %7s %8s %8s %10s %8s %10s\n", "target", "n", "ctx tok", "context", "EM", "F1",
           "agree EM", "agree F1", "TTFT ms", "KV pos", "KV bytes");
}

static json_t *qa_run(const ctx_t *x, const qa_opts *o, const cl_qa_set *set, const int *idx, int n,
                      int target, double depth, uint64_t seed, const int *para_tokens) {
    qa_sums s = {0};
    for (int i = 0; i < n; i++) {
        const cl_qa_item *it = &set->items[idx[i]];
        int est;
        char *long_ctx = target ? cl_qa_long_context(set, idx[i], para_tokens, target, depth, seed, &est) : NULL;
        qa_one(x, o, it, long_ctx ? long_ctx : it->context, &s);
        free(long_ctx);
        progress(x, i + 1, n);
    }
    double N = s.n;
    warn_over_ctx(x, s.over_ctx, s.n);
    char tgt[32];
    snprintf(tgt, sizeof tgt, "%d", target);
    for (int r = 0; r < Q_N; r++) {
        int k = q_methods[r];
        printf("%-8s %5d %8.1f %-11s %7.3f %7.3f %8.3f %8.3f %10.2f %8.1f %10.0f\n", target ? tgt : "natural", s.n,
               s.context_tokens / N, f_label[k], s.em[k] / N, s.f1[k] / N, s.agree_em[k] / N, s.agree_f1[k] / N,
               1e3 * s.ttft[k] / N, s.pos[k] / N, s.kv[k] / N);
    }
    json_t *j = json_object();
    json_object_set_new(j, "context_tokens_target", json_integer(target));
    json_object_set_new(j, "depth", target ? json_real(depth) : json_null());
    json_object_set_new(j, "questions", json_integer(s.n));
    json_object_set_new(j, "context_tokens", num(s.context_tokens / N));
    json_object_set_new(j, "ces", num(s.ces / N));
    for (int r = 0; r < Q_N; r++) {
        int k = q_methods[r];
        set_method(j, "em_%s", k, s.em[k] / N);
        set_method(j, "f1_%s", k, s.f1[k] / N);
        if (k != F_TEXT && k != F_CE) {
            set_method(j, "agree_em_%s", k, s.agree_em[k] / N);
            set_method(j, "agree_f1_%s", k, s.agree_f1[k] / N);
        }
        set_costs(j, k, s.ttft[k] / N, s.kv[k] / N, s.pos[k] / N);
    }
    json_object_set_new(j, "agree_em", num(s.agree_em[F_CE] / N));
    json_object_set_new(j, "agree_f1", num(s.agree_f1[F_CE] / N));
    set_prep(j, s.prep_s, N);
    return j;
}

/* ---- needle ------------------------------------------------------------------------------ */

static int count_tokens(void *tok, const char *s) {
    int n;
    free(encode(tok, s, &n));
    return n;
}

typedef struct {
    const char *const *pool;   /* filler texts */
    int n_pool, trials;
    uint64_t seed;
    int32_t *q;                /* the probe, cl_needle_probe */
    int n_q, max_answer;       /* the longest answer in tokens */
} needle_opts;

/* The answer's tokens as they follow the probe: encode(probe + answer + " ") past the probe's
 * tokens (a story goes on after the name, and this tokenizer family glues a word's following
 * space to it: "Mia▁"). */
static int32_t *answer_ids(const ctx_t *x, const needle_opts *o, const char *answer, int *n) {
    char *full = cl_malloc(strlen(cl_needle_probe) + strlen(answer) + 2);
    strcpy(full, cl_needle_probe);
    strcat(full, answer);
    strcat(full, " ");
    int n_full;
    int32_t *ids = encode(x->tok, full, &n_full);
    if (n_full <= o->n_q || memcmp(ids, o->q, (size_t)o->n_q * sizeof *ids) != 0)
        cl_die("needle: the tokenizer does not keep the probe's tokens in \"%s\"", full);
    *n = n_full - o->n_q;
    memmove(ids, ids + o->n_q, (size_t)*n * sizeof *ids);
    free(full);
    return ids;
}

typedef struct {
    double p[F_N], recall[F_N], kv[F_N], pos[F_N], context_tokens, before_tokens;
    int n, over_ctx;
} needle_sums;

static void needle_one(const ctx_t *x, const needle_opts *o, int length, double depth, uint64_t seed,
                       needle_sums *s) {
    cl_needle_doc d;
    if (cl_needle_make(o->pool, o->n_pool, length, depth, seed, count_tokens, x->tok, &d) < 0)
        cl_die("%s", cl_error());
    int n_a, n_before;
    int32_t *a = answer_ids(x, o, d.answer, &n_a);
    char *head = cl_strdup(d.context);
    head[d.needle_off] = 0;
    free(encode(x->tok, head, &n_before));
    free(head);
    ctx_views v;
    views_make(x, d.context, &v);
    int32_t start = x->start_id, *g = cl_malloc((size_t)n_a * sizeof *g);
    if (1 + v.piece[F_TEXT].n + o->n_q + n_a > x->m->cfg.max_ctx) s->over_ctx++;
    for (int k = 0; k < F_N; k++) {
        cl_piece pre[3] = {{.ids = &start, .n = 1}, v.piece[k], {.ids = o->q, .n = o->n_q}};
        double nll;
        if (cl_score_continuation(x->m, pre, 3, a, n_a, &nll, NULL) < 0) cl_die("%s", cl_error());
        cl_gen_stats st = {0};
        int n = cl_greedy(x->m, pre, 3, n_a, NULL, 0, g, &st);
        if (n != n_a) cl_die("%s", cl_error());
        s->p[k] += exp(-nll);
        s->recall[k] += memcmp(g, a, (size_t)n_a * sizeof *g) == 0;
        s->kv[k] += (double)st.kv_bytes;
        s->pos[k] += cl_pieces_len(pre, 3);
    }
    s->context_tokens += v.piece[F_TEXT].n;
    s->before_tokens += n_before;
    s->n++;
    views_free(&v);
    free(g);
    free(a);
    cl_needle_free(&d);
}

static json_t *needle_run(const ctx_t *x, const needle_opts *o, const int *lengths, int n_len,
                          const double *depths, int n_dep) {
    json_t *cells = json_array();
    double mp[F_N] = {0}, mr[F_N] = {0};
    int over = 0, total = 0;
    printf("%6s %5s %7s", "length", "depth", "tokens");
    for (int r = 0; r < F_N; r++) printf(" %17s", f_label[f_order[r]]);
    printf("\n%20s", "");
    for (int r = 0; r < F_N; r++) printf(" %10s %6s", "p(needle)", "recall");
    printf("\n");
    for (int l = 0; l < n_len; l++)
        for (int di = 0; di < n_dep; di++) {
            needle_sums s = {0};
            for (int t = 0; t < o->trials; t++)
                needle_one(x, o, lengths[l], depths[di], o->seed + (uint64_t)t, &s);
            progress(x, l * n_dep + di + 1, n_len * n_dep);
            over += s.over_ctx;
            total += s.n;
            double N = s.n;
            printf("%6d %5.2f %7.1f", lengths[l], depths[di], s.context_tokens / N);
            for (int r = 0; r < F_N; r++) printf(" %10.4f %6.3f", s.p[f_order[r]] / N, s.recall[f_order[r]] / N);
            printf("\n");
            json_t *c = json_object();
            json_object_set_new(c, "length", json_integer(lengths[l]));
            json_object_set_new(c, "depth", json_real(depths[di]));
            json_object_set_new(c, "trials", json_integer(s.n));
            json_object_set_new(c, "context_tokens", num(s.context_tokens / N));
            json_object_set_new(c, "needle_token_depth", num(s.before_tokens / s.context_tokens));
            for (int k = 0; k < F_N; k++) {
                set_method(c, "p_%s", k, s.p[k] / N);
                set_method(c, "recall_%s", k, s.recall[k] / N);
                set_method(c, "kv_%s_positions", k, s.pos[k] / N);
                set_method(c, "kv_%s_bytes", k, s.kv[k] / N);
                mp[k] += s.p[k] / N / (n_len * n_dep);
                mr[k] += s.recall[k] / N / (n_len * n_dep);
            }
            json_array_append_new(cells, c);
        }
    warn_over_ctx(x, over, total);
    printf("%-20s", "mean");
    for (int r = 0; r < F_N; r++) printf(" %10.4f %6.3f", mp[f_order[r]], mr[f_order[r]]);
    printf("\n");
    json_t *j = json_object();
    json_object_set_new(j, "probe", json_string(cl_needle_probe));
    json_object_set_new(j, "trials", json_integer(o->trials));
    json_object_set_new(j, "filler_texts", json_integer(o->n_pool));
    for (int k = 0; k < F_N; k++) {
        set_method(j, "p_%s", k, mp[k]);
        set_method(j, "recall_%s", k, mr[k]);
    }
    json_object_set_new(j, "cells", cells);
    return j;
}

/* The probe and answers' tokens, and the lengths to run: want[] (refused when one does not fit
 * the model's context) or the defaults.  Before any work, so a refusal costs nothing. */
static void needle_prepare(const ctx_t *x, const int *want, int n_want, needle_opts *o, int *lengths, int *n_len) {
    o->q = encode(x->tok, cl_needle_probe, &o->n_q);
    for (int i = 0; i < cl_needle_n_names(); i++) {
        int k;
        free(answer_ids(x, o, cl_needle_name(i), &k));
        if (k > o->max_answer) o->max_answer = k;
    }
    int fit = x->m->cfg.max_ctx - 1 - o->n_q - o->max_answer;   /* the longest context that fits */
    *n_len = 0;
    if (n_want) {
        for (int i = 0; i < n_want; i++)
            if (want[i] > fit)
                cl_die("needle: --context-tokens %d does not fit the model's context of %d tokens (BOS, the "
                       "probe's %d and the answer's up to %d tokens leave %d)",
                       want[i], x->m->cfg.max_ctx, o->n_q, o->max_answer, fit);
        memcpy(lengths, want, (size_t)n_want * sizeof *want);
        *n_len = n_want;
    } else {   /* 1/8, 1/4, 1/2 of the context and all that fits */
        for (int div = 8; div >= 2; div /= 2)
            if (x->m->cfg.max_ctx / div < fit) lengths[(*n_len)++] = x->m->cfg.max_ctx / div;
        lengths[(*n_len)++] = fit;
    }
}

/* Needle mode over the examples' contexts as filler. */
static json_t *needle(const ctx_t *x, needle_opts *o, const cl_qa_set *set, const int *idx, int n,
                      const int *lengths, int n_len, const double *depths, int n_dep) {
    const char **pool = cl_malloc((size_t)(n > 0 ? n : 1) * sizeof *pool);
    for (int i = 0; i < n; i++) pool[i] = set->items[idx[i]].context;
    o->pool = pool;
    o->n_pool = n;
    printf("needle \"%sNAME.\" (%d names), probe \"%s\", %d trials per cell, %d filler texts\n", cl_needle_pre,
           cl_needle_n_names(), cl_needle_probe, o->trials, n);
    json_t *j = needle_run(x, o, lengths, n_len, depths, n_dep);
    free(pool);
    free(o->q);
    return j;
}

/* ---- main -------------------------------------------------------------------------------- */

static void load_texts(char **paths, int n, cl_qa_set *set) {
    /* plain texts as a JSONL of contexts, so they go through the one loader */
    json_t *lines = json_array();
    char *buf;
    size_t len;
    for (int i = 0; i < n; i++) {
        if (cl_read_file(paths[i], &buf, &len) < 0) cl_die("%s", cl_error());
        if (strlen(buf) != len) cl_die("%s: contains a NUL byte", paths[i]);
        json_t *o = json_object();
        json_object_set_new(o, "context", json_stringn(buf, len));
        if (!json_object_get(o, "context")) cl_die("%s: not valid UTF-8", paths[i]);
        json_array_append_new(lines, o);
        free(buf);
    }
    char *mem = NULL;
    size_t msz = 0;
    FILE *f = open_memstream(&mem, &msz);
    size_t k;
    json_t *o;
    json_array_foreach(lines, k, o) {
        char *l = json_dumps(o, JSON_COMPACT);
        fprintf(f, "%s\n", l);
        free(l);
    }
    fclose(f);
    json_decref(lines);
    if (cl_qa_load_mem(n == 1 ? paths[0] : "texts", mem, msz, set) < 0) cl_die("%s", cl_error());
    free(mem);
}

enum { NEEDLE_STORIES = 48, NEEDLE_TRIALS = 8 };   /* needle mode's defaults */

/* What the command line asks for. */
typedef struct {
    const char *model_path, *comp_path, *data, *answers_path, *json_path;
    cl_comp_settings cs;          /* --rate, --max-segment */
    int qa, needle, limit, n_answer, n_agree, max_tokens, threads, no_template;
    int lengths[64], n_lengths;   /* --context-tokens */
    double depth;
    double depths[64];            /* --depths */
    int n_depths;
    unsigned long long seed;
    char **texts;                 /* TEXT-FILEs */
    int n_texts;
} eval_opts;

/* Parse argv into o (exits on a usage error or after --help). */
static void parse_options(int argc, char **argv, eval_opts *o) {
    enum { O_MODEL = 256, O_COMP, O_MODE, O_DATA, O_LIMIT, O_SEED, O_ANS, O_AGREE, O_MAX, O_CTX, O_DEPTH,
           O_NOTMPL, O_ANSWERS, O_JSON, O_THREADS, O_HELP, O_DEPTHS, O_RATE, O_MAXSEG };
    static const struct option opts[] = {
        {"model", 1, 0, O_MODEL}, {"compressor", 1, 0, O_COMP}, {"mode", 1, 0, O_MODE},
        {"data", 1, 0, O_DATA}, {"limit", 1, 0, O_LIMIT}, {"seed", 1, 0, O_SEED},
        {"answer-tokens", 1, 0, O_ANS}, {"agree-tokens", 1, 0, O_AGREE}, {"max-tokens", 1, 0, O_MAX},
        {"context-tokens", 1, 0, O_CTX}, {"depth", 1, 0, O_DEPTH}, {"depths", 1, 0, O_DEPTHS}, {"no-template", 0, 0, O_NOTMPL},
        {"answers", 1, 0, O_ANSWERS}, {"json", 1, 0, O_JSON}, {"threads", 1, 0, O_THREADS},
        {"help", 0, 0, O_HELP}, {"pull", 0, 0, CL_OPT_PULL}, {"rate", 1, 0, O_RATE}, {"max-segment", 1, 0, O_MAXSEG},
        {0, 0, 0, 0}};
    *o = (eval_opts){.comp_path = "identity", .limit = -1, .n_answer = 32, .n_agree = 32, .max_tokens = 32,
                     .depth = 0.5, .seed = 20251125,
                     .cs = {.rate = 2, .max_seg = 20, .rate_opt = "--rate", .seg_opt = "--max-segment"}};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_MODEL: o->model_path = optarg; break;
        case CL_OPT_PULL: cl_hub_set_pull(1); break;
        case O_COMP: o->comp_path = optarg; break;
        case O_MODE:
            o->qa = !strcmp(optarg, "qa");
            o->needle = !strcmp(optarg, "needle");
            if (!o->qa && !o->needle && strcmp(optarg, "fidelity") != 0)
                cl_usage_error("unknown mode '%s' (fidelity, qa or needle)", optarg);
            break;
        case O_DATA: o->data = optarg; break;
        case O_LIMIT: o->limit = (int)cl_arg_long(optarg, "--limit", 1, 1 << 30); break;
        case O_SEED: o->seed = cl_arg_u64(optarg, "--seed"); break;
        case O_ANS: o->n_answer = (int)cl_arg_long(optarg, "--answer-tokens", 1, 1 << 16); break;
        case O_AGREE: o->n_agree = (int)cl_arg_long(optarg, "--agree-tokens", 1, 1 << 16); break;
        case O_MAX: o->max_tokens = (int)cl_arg_long(optarg, "--max-tokens", 1, 1 << 16); break;
        case O_CTX: o->n_lengths = cl_arg_lengths(optarg, "--context-tokens", o->lengths, 64); break;
        case O_DEPTHS: o->n_depths = parse_depths(optarg, o->depths, 64); break;
        case O_DEPTH: o->depth = cl_arg_double(optarg, "--depth", 0, 1); break;
        case O_NOTMPL: o->no_template = 1; break;
        case O_ANSWERS: o->answers_path = optarg; break;
        case O_JSON: o->json_path = optarg; break;
        case O_THREADS: o->threads = (int)cl_arg_long(optarg, "--threads", 1, 1024); break;
        case O_RATE: o->cs.rate = (int)cl_arg_long(optarg, "--rate", 1, 1024), o->cs.rate_given = 1; break;
        case O_MAXSEG: o->cs.max_seg = (int)cl_arg_long(optarg, "--max-segment", 1, 65536), o->cs.seg_given = 1; break;
        case O_HELP: fputs(usage_text, stdout); exit(0);
        default: cl_usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    o->texts = argv + optind;
    o->n_texts = argc - optind;
    if (o->qa && !o->data) cl_usage_error("%s", "--mode qa needs --data FILE");
    if (o->n_texts && (o->qa || o->data)) cl_usage_error("%s", "TEXT-FILEs are for fidelity or needle mode without --data");
    if (o->needle && o->answers_path) cl_usage_error("%s", "--answers is for --mode fidelity or qa");
    if (!o->qa && !o->needle && o->n_lengths) cl_usage_error("%s", "--context-tokens is for --mode qa or needle");
    if (!o->needle && o->n_depths) cl_usage_error("%s", "--depths is for --mode needle (qa: --depth)");
}

/* Evaluate (fidelity or QA) and print the table and the JSON summary; the exit status. */
static int run_eval(const eval_opts *opt) {
    const char *model_path = opt->model_path;
    if (!model_path) model_path = cl_default_model_path();
    if (!model_path) cl_die("no model: give --model or set CL_MODEL");
    cl_set_threads(opt->threads);

    ctx_t x = {.progress = cl_isatty_stderr()};
    cl_model_file *mf = cl_model_file_open(model_path);
    if (!mf) cl_die("%s", cl_error());
    if (!(x.tok = cl_tokenizer_for_model(mf))) cl_die("%s", cl_error());
    if (!(x.m = cl_model_load(mf))) cl_die("%s", cl_error());
    x.start_id = x.m->cfg.bos_id >= 0 ? x.m->cfg.bos_id : x.m->cfg.eos_id;
    if (x.start_id < 0) cl_die("%s: the model has neither BOS nor EOS to start a sequence", model_path);
    cl_comp_settings cs = opt->cs;   /* a GGUF's own C and S, checked against --rate / --max-segment */
    if (!strcmp(opt->comp_path, "naive")) {
        x.naive = 1;
    } else {
        x.comp = !strcmp(opt->comp_path, "identity") ? cl_compressor_new_init(x.m, cs.rate, cs.max_seg, 0, 0, 0, 0)
                                                : cl_comp_settings_load(opt->comp_path, x.m, &cs);
        if (!x.comp) cl_die("%s", cl_error());
    }
    x.C = cs.rate, x.S = cs.max_seg;
    FILE *answers = NULL;
    cl_atomic aa;
    if (opt->answers_path) {
        if (cl_atomic_open(&aa, opt->answers_path) < 0) cl_die("%s", cl_error());
        answers = aa.f;
    }

    needle_opts no = {.trials = opt->limit > 0 ? opt->limit : NEEDLE_TRIALS, .seed = opt->seed};
    int needle_len[64], n_needle_len = 0;
    if (opt->needle) needle_prepare(&x, opt->lengths, opt->n_lengths, &no, needle_len, &n_needle_len);
    cl_qa_set set;
    int default_limit = 16;
    if (opt->data) {
        if (cl_qa_load(opt->data, &set) < 0) cl_die("%s", cl_error());
        default_limit = set.n;
    } else if (opt->n_texts) {
        load_texts(opt->texts, opt->n_texts, &set);
        default_limit = set.n;
    } else {   /* held-out stories from the model itself */
        int n = opt->needle ? NEEDLE_STORIES : opt->limit > 0 ? opt->limit : default_limit;
        char *mem = NULL;
        size_t msz = 0;
        FILE *f = open_memstream(&mem, &msz);
        int max_tok = x.m->cfg.max_ctx < 512 ? x.m->cfg.max_ctx : 512;
        if (cl_sample_stories(x.m, x.tok, n, 0.8f, max_tok, 0, opt->seed, f, x.progress, NULL) < 0) cl_die("%s", cl_error());
        fclose(f);
        if (cl_qa_load_mem("stories", mem, msz, &set) < 0) cl_die("%s", cl_error());
        free(mem);
    }
    int n;
    int *idx = opt->needle ? cl_qa_sample(&set, set.n, 0, &n)   /* every text is filler */
                           : cl_qa_sample(&set, opt->limit > 0 ? opt->limit : default_limit, opt->data ? opt->seed : 0, &n);
    const char *mode = opt->qa ? "qa" : opt->needle ? "needle" : "fidelity";

    char comp_desc[512];
    snprintf(comp_desc, sizeof comp_desc, "%s (C=%d, S=%d)", opt->comp_path, x.C, x.S);
    printf("cl-eval %s: model %s, compressor %s, %d %s, seed %llu\n", mode, model_path, comp_desc, n,
           opt->needle ? "filler texts" : "examples", opt->seed);
    json_t *summary = json_object();
    json_object_set_new(summary, "mode", json_string(mode));
    json_object_set_new(summary, "model", json_string(model_path));
    json_object_set_new(summary, "compressor", json_string(opt->comp_path));
    json_object_set_new(summary, "rate", json_integer(x.C));
    json_object_set_new(summary, "max_segment", json_integer(x.S));
    json_object_set_new(summary, "seed", json_integer((json_int_t)opt->seed));
    if (opt->needle) {
        static const double def_depths[] = {0, 0.25, 0.5, 0.75, 1};
        json_t *f = needle(&x, &no, &set, idx, n, needle_len, n_needle_len, opt->n_depths ? opt->depths : def_depths,
                           opt->n_depths ? opt->n_depths : 5);
        json_object_update(summary, f);
        json_decref(f);
    } else if (!opt->qa) {
        json_t *f = fidelity(&x, &set, idx, n, opt->n_answer, opt->n_agree, answers);
        json_object_update(summary, f);
        json_decref(f);
    } else {
        cl_chat chat;
        cl_chat_detect(&chat, opt->no_template ? NULL : cl_model_file_chat_template(mf));
        qa_opts o = {.chat = &chat, .max_tokens = opt->max_tokens, .answers = answers};
        o.n_stop = cl_stop_ids(&x.m->cfg, x.tok, &chat, o.stop);
        /* story models spell their end marker out in text pieces */
        const char *eos_piece = o.n_stop > 0 ? cl_tokenizer_piece(x.tok, o.stop[0]) : NULL;
        if (eos_piece && eos_piece[0] == '<') o.stop_text = eos_piece;
        printf("chat format: %s\n", cl_chat_name(chat.kind));
        int *para_tokens = NULL;
        if (opt->n_lengths) {   /* token count of every distinct paragraph, for long contexts */
            para_tokens = cl_calloc((size_t)set.n_paras, sizeof *para_tokens);
            char *done = cl_calloc((size_t)set.n_paras, 1);
            for (int i = 0; i < set.n; i++) {
                if (done[set.items[i].para]) continue;
                int k;
                free(encode(x.tok, set.items[i].context, &k));
                para_tokens[set.items[i].para] = k + 1;   /* + the blank line between paragraphs */
                done[set.items[i].para] = 1;
            }
            free(done);
        }
        json_t *runs = json_array();
        qa_header();
        if (!opt->n_lengths) json_array_append_new(runs, qa_run(&x, &o, &set, idx, n, 0, opt->depth, opt->seed, NULL));
        for (int l = 0; l < opt->n_lengths; l++)
            json_array_append_new(runs, qa_run(&x, &o, &set, idx, n, opt->lengths[l], opt->depth, opt->seed, para_tokens));
        json_object_set_new(summary, "runs", runs);
        free(para_tokens);
        cl_chat_free(&chat);
    }
    if (answers && cl_atomic_commit(&aa) < 0) cl_die("%s", cl_error());
    char *js = json_dumps(summary, JSON_COMPACT | JSON_REAL_PRECISION(8));
    if (opt->json_path) {
        cl_atomic a;
        if (cl_atomic_open(&a, opt->json_path) < 0) cl_die("%s", cl_error());
        fprintf(a.f, "%s\n", js);
        if (cl_atomic_commit(&a) < 0) cl_die("%s", cl_error());
    } else {
        printf("%s\n", js);
    }
    cl_cli_flush_stdout();   /* a write error on stdout is reported at exit (cli.h) */
    free(js);
    json_decref(summary);
    free(idx);
    cl_qa_free(&set);
    cl_compressor_free(x.comp);
    cl_model_free(x.m);
    cl_tokenizer_free(x.tok);
    cl_model_file_close(mf);
    return 0;
}

int main(int argc, char **argv) {
    cl_set_progname(argv[0]);
    cl_cli_set_usage("Try 'cl-eval --help'.\n");
    eval_opts o;
    parse_options(argc, argv, &o);
    return run_eval(&o);
}
