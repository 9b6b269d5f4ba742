/* train_data.c — cl-train's JSONL examples (see train_data.h, train_example.h). */
#include "train_data.h"
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include "prompt.h"
#include "segment_text.h"
#include "generate.h"
#include "stop.h"
#include "train_each.h"
#include "util.h"

void tr_example_free(tr_example *e) {
    free(e->seg_len); free(e->ctx); free(e->tctx); free(e->q); free(e->a); free(e->teacher); free(e->sigma);
    memset(e, 0, sizeof *e);
}

static int encode(const cl_tokenizer *t, const char *s, int32_t **ids, int *n) {
    size_t k = 0;
    *ids = NULL;
    if (!*s) { *ids = cl_malloc(4); *n = 0; return 0; }
    if (cl_tokenizer_encode(t, s, strlen(s), 0, ids, &k)) return -1;
    *n = (int)k;
    return 0;
}

/* The question after the context as cl-ask lays it out without a chat template (prompt.h);
 * no question: nothing (no separator alone). */
static int encode_question(const cl_tokenizer *t, const char *q, int32_t **ids, int *n) {
    if (!*q) return encode(t, q, ids, n);
    cl_chat plain = {.kind = CL_CHAT_NONE};
    char *text = cl_qa_question_text(t, &plain, 1, q);
    int rc = encode(t, text, ids, n);
    free(text);
    return rc;
}

static const char *str_field(json_t *o, const char *key, int *present) {
    json_t *v = json_object_get(o, key);
    *present = v != NULL && !json_is_null(v);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

int tr_context_room(const cl_model *m, int bos, int n_question, int n_answer) {
    return m->cfg.max_ctx - (bos && m->cfg.bos_id >= 0) - n_question - n_answer;
}

/* The teacher's answers, one job per example (train_each.h). */
typedef struct {
    const char *path;
    const tr_data_opts *o;
    tr_example *ex;
    const uint8_t *need;      /* need[i]: example i has no answer of its own */
    int stop[CL_STOP_MAX], n_stop;
    double t0, tp;            /* progress: start, last report */
} answers;

static int answer_one(void *ctx, int i) {
    answers *k = ctx;
    if (!k->need[i]) return 0;
    const cl_config *c = &k->o->m->cfg;
    tr_example *e = &k->ex[i];
    int bos = k->o->bos && c->bos_id >= 0;
    cl_piece pre[3] = {{.ids = &c->bos_id, .n = bos}, {.ids = e->tctx, .n = e->n_tctx}, {.ids = e->q, .n = e->n_q}};
    e->a = cl_malloc((size_t)(k->o->n_answer > 0 ? k->o->n_answer : 1) * sizeof(int32_t));
    e->n_a = cl_greedy(k->o->m, pre, 3, k->o->n_answer, k->stop, k->n_stop, e->a, NULL);
    return e->n_a < 0 ? -1 : 0;
}

static void answers_progress(void *ctx, int done, int n) {
    answers *k = ctx;
    if (!k->o->progress || cl_now() - k->tp <= 2.0) return;
    k->tp = cl_now();
    fprintf(stderr, "%s: %d of %d examples read (%.1f/s)\n", k->path, done, n, done / (k->tp - k->t0));
}

/* The teacher's answers where need[i], on o->threads threads.  0, or -1 with cl_error() naming
 * the line (lines[i]) of the first failure or, when *o->stop was set, "interrupted at line N". */
static int teacher_answers(const char *path, const tr_data_opts *o, tr_example *ex, const int *lines,
                           const uint8_t *need, int n) {
    answers k = {.path = path, .o = o, .ex = ex, .need = need, .t0 = cl_now()};
    k.tp = k.t0;
    k.n_stop = cl_stop_ids(&o->m->cfg, NULL, NULL, k.stop);   /* as cl-eval's teacher */
    tr_each_result r;
    if (tr_each(n, o->threads, answer_one, &k, o->stop, answers_progress, &r) == 0) return 0;
    if (r.bad >= 0) return cl_fail("%s: line %d: teacher generation: %s", path, lines[r.bad], r.err);
    return cl_fail("%s: interrupted at line %d", path, lines[r.stopped]);
}

int tr_data_load(const char *path, const tr_data_opts *o, tr_example **ex, int *n, int *skipped) {
    char *buf;
    size_t len;
    cl_oom_context("%s: reading the file", path);
    int rf = cl_read_file(path, &buf, &len);
    cl_oom_context(NULL);
    if (rf) return -1;
    /* 1. parse, tokenize and segment every line (in order: errors name the first bad line);
     * 2. the teacher's answers where the line has none (in parallel); 3. drop the examples
     * left without answer tokens */
    int cap = 0, cnt = 0, skip = 0, rc = 0, line = 0, first_skip = 0;
    const char *skip_why = NULL;
    tr_example *out = NULL;
    int *lines = NULL;
    uint8_t *need = NULL;
    double tp = cl_now();
    for (char *p = buf, *end = buf + len; p < end && rc == 0; line++) {
        if (o->stop && *o->stop) {
            rc = cl_fail("%s: interrupted at line %d", path, line + 1);
            break;
        }
        if (o->progress && cl_now() - tp > 2.0) {
            tp = cl_now();
            fprintf(stderr, "%s: %d lines parsed\n", path, line);
        }
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char *cur = p;
        p += ll + 1;
        int blank = 1;
        for (size_t i = 0; i < ll; i++) if (cur[i] != ' ' && cur[i] != '\t' && cur[i] != '\r') blank = 0;
        if (blank) continue;
        cl_oom_context("%s: line %d (%zu bytes): parsing the example", path, line + 1, ll);
        json_error_t je;
        json_t *js = json_loadb(cur, ll, 0, &je);
        int has_c, has_q, has_a;
        const char *ctx = js ? str_field(js, "context", &has_c) : NULL;
        const char *q = js ? str_field(js, "question", &has_q) : NULL;
        const char *a = js ? str_field(js, "answer", &has_a) : NULL;
        if (!js || !json_is_object(js)) { rc = cl_fail("%s: line %d: not a JSON object%s%s", path, line + 1, js ? "" : ": ", js ? "" : je.text); }
        else if (!ctx || !*ctx) rc = cl_fail("%s: line %d: \"context\" must be a non-empty string", path, line + 1);
        else if ((has_q && !q) || (has_a && !a)) rc = cl_fail("%s: line %d: \"question\" and \"answer\" must be strings", path, line + 1);
        tr_example e = {0};
        /* the whole example's token count first: one too long for the model is refused by its
         * line before segmenting it or running the teacher on it */
        cl_oom_context("%s: line %d (%zu bytes): tokenizing the example", path, line + 1, ll);
        if (rc == 0 && encode(o->tok, ctx, &e.tctx, &e.n_tctx))
            rc = cl_fail("%s: line %d: context: %s", path, line + 1, cl_error());
        if (rc == 0 && encode_question(o->tok, q ? q : "", &e.q, &e.n_q))
            rc = cl_fail("%s: line %d: question: %s", path, line + 1, cl_error());
        if (rc == 0 && a && encode(o->tok, a, &e.a, &e.n_a))
            rc = cl_fail("%s: line %d: answer: %s", path, line + 1, cl_error());
        if (rc == 0) {   /* the teacher reads [BOS] context question answer: all within the context */
            int n_ans = a ? e.n_a : o->n_answer, room = tr_context_room(o->m, o->bos, e.n_q, n_ans);
            if (e.n_tctx > room && !o->allow_long)
                rc = cl_fail("%s: line %d: %ld tokens (context %d, question %d, answer %s%d) exceed the model's "
                             "context of %d (--allow-long keeps such examples)", path, line + 1,
                             (long)e.n_tctx + o->m->cfg.max_ctx - room, e.n_tctx, e.n_q, a ? "" : "up to ", n_ans,
                             o->m->cfg.max_ctx);
            else if (e.n_tctx > room && o->n_long)
                ++*o->n_long;
        }
        cl_oom_context("%s: line %d (%zu bytes): segmenting the context", path, line + 1, ll);
        if (rc == 0 && cl_text_segments(o->tok, ctx, o->S, 0, &e.ctx, &e.seg_len, &e.n_seg))
            rc = cl_fail("%s: line %d: context: %s", path, line + 1, cl_error());
        if (rc == 0 && e.n_seg == 0) {
            if (!skip++) first_skip = line + 1, skip_why = "the context has no tokens";
            tr_example_free(&e);
            json_decref(js);
            continue;
        }
        if (rc == 0)
            for (int i = 0; i < e.n_seg; i++) e.n_ctx += e.seg_len[i];
        json_decref(js);
        cl_oom_context("%s: line %d (%zu bytes): storing the example", path, line + 1, ll);
        if (rc) { tr_example_free(&e); break; }
        if (cnt == cap) {
            cap = 2 * cap + 64;
            out = cl_realloc(out, (size_t)cap * sizeof *out);
            lines = cl_realloc(lines, (size_t)cap * sizeof *lines);
            need = cl_realloc(need, (size_t)cap);
        }
        lines[cnt] = line + 1;
        need[cnt] = !a;
        out[cnt++] = e;
    }
    cl_oom_context(NULL);
    free(buf);
    if (rc == 0) {
        cl_oom_context("%s: teacher generation", path);
        rc = teacher_answers(path, o, out, lines, need, cnt);
        cl_oom_context(NULL);
    }
    if (rc == 0) {   /* drop the examples without answer tokens, keeping the others' order */
        int k = 0;
        for (int i = 0; i < cnt; i++) {
            if (out[i].n_a < 1) {
                if (!skip++ || lines[i] < first_skip)
                    first_skip = lines[i], skip_why = need[i] ? "the teacher's answer is empty (EOS first)" : "the answer has no tokens";
                tr_example_free(&out[i]);
            } else {
                out[k++] = out[i];
            }
        }
        cnt = k;
    }
    free(lines);
    free(need);
    if (rc == 0 && cnt == 0) {
        if (skip) rc = cl_fail("%s: no examples: all %d skipped (first: line %d, %s)", path, skip, first_skip, skip_why);
        else rc = cl_fail("%s: no examples (no non-blank line)", path);
    }
    if (rc) {
        for (int i = 0; i < cnt; i++) tr_example_free(&out[i]);
        free(out);
        return -1;
    }
    *ex = out;
    *n = cnt;
    if (skipped) *skipped = skip;
    return 0;
}
