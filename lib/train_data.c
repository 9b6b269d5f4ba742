/* train_data.c — cl-train's JSONL examples (see train_data.h, train_example.h). */
#include "train_data.h"
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include "prompt.h"
#include "segment_text.h"
#include "generate.h"
#include "stop.h"
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

int tr_data_load(const char *path, const tr_data_opts *o, tr_example **ex, int *n, int *skipped) {
    char *buf;
    size_t len;
    cl_oom_context("%s: reading the file", path);
    int rf = cl_read_file(path, &buf, &len);
    cl_oom_context(NULL);
    if (rf) return -1;
    int cap = 0, cnt = 0, skip = 0, rc = 0, line = 0, first_skip = 0;
    const char *skip_why = NULL;
    tr_example *out = NULL;
    double t0 = cl_now(), tp = t0;
    for (char *p = buf, *end = buf + len; p < end && rc == 0; line++) {
        if (o->stop && *o->stop) {   /* the teacher's answers take minutes on a large file */
            rc = cl_fail("%s: interrupted at line %d", path, line + 1);
            break;
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
        if (rc == 0 && !a) {
            int bos = o->bos && o->m->cfg.bos_id >= 0, stop[CL_STOP_MAX];
            int n_stop = cl_stop_ids(&o->m->cfg, NULL, NULL, stop);   /* as cl-eval's teacher */
            cl_piece pre[3] = {{.ids = &o->m->cfg.bos_id, .n = bos}, {.ids = e.tctx, .n = e.n_tctx},
                               {.ids = e.q, .n = e.n_q}};
            cl_oom_context("%s: line %d (%zu bytes): teacher generation", path, line + 1, ll);
            e.a = cl_malloc((size_t)(o->n_answer > 0 ? o->n_answer : 1) * sizeof(int32_t));
            e.n_a = cl_greedy(o->m, pre, 3, o->n_answer, stop, n_stop, e.a, NULL);
            if (e.n_a < 0) rc = cl_fail("%s: line %d: teacher generation: %s", path, line + 1, cl_error());
        }
        json_decref(js);
        cl_oom_context("%s: line %d (%zu bytes): storing the example", path, line + 1, ll);
        if (rc) { tr_example_free(&e); break; }
        if (e.n_a < 1) {
            if (!skip++) first_skip = line + 1, skip_why = a ? "the answer has no tokens" : "the teacher's answer is empty (EOS first)";
            tr_example_free(&e);
            continue;
        }
        if (cnt == cap) { cap = 2 * cap + 64; out = cl_realloc(out, (size_t)cap * sizeof *out); }
        out[cnt++] = e;
        if (o->progress && cl_now() - tp > 2.0) {
            tp = cl_now();
            fprintf(stderr, "%s: %d examples read (%.1f/s)\n", path, cnt, cnt / (tp - t0));
        }
    }
    cl_oom_context(NULL);
    free(buf);
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

