/* remote_ask.c — cl-ask's prompt answered by a remote server (remote_ask.h). */
#include "remote_ask.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "torch_save.h"
#include "util.h"

/* The served model to ask: o->model (which must be listed when the server lists any), or the
 * only one served.  Its max_model_len (0: not said) in *max_len. */
static int pick_model(const cl_remote_ask_opts *o, char *name, size_t cap, long *max_len) {
    cl_remote_model *ms;
    int n;
    if (cl_remote_models(&o->server, &ms, &n) < 0) return -1;
    int rc = 0, found = -1;
    for (int i = 0; i < n; i++)
        if (!o->model || !strcmp(ms[i].id, o->model)) found = found < 0 ? i : found;
    if (o->model && n > 0 && found < 0) {
        rc = cl_fail("%s: serves no model \"%s\" (it serves \"%s\"%s)", o->server.url, o->model, ms[0].id,
                     n > 1 ? " and others: see GET /v1/models" : "");
    } else if (!o->model && n != 1) {
        rc = n == 0 ? cl_fail("%s: serves no model", o->server.url)
                    : cl_fail("%s: serves %d models (\"%s\", ...): choose one with --server-model", o->server.url, n,
                              ms[0].id);
    } else {
        snprintf(name, cap, "%s", o->model ? o->model : ms[0].id);
        *max_len = found >= 0 ? ms[found].max_model_len : 0;
    }
    free(ms);
    return rc;
}

/* Whether the served model reads prompt embeddings as plain rows of its token-embedding table,
 * as ours does: true of the Llama/Qwen2/Qwen3 decoders in vLLM; an architecture that scales
 * its input embeddings (Gemma: sqrt(hidden)) would need that checked against vLLM first. */
static int embeds_as_rows(const cl_config *c) {
    switch (c->arch) {
    case CL_ARCH_LLAMA:
    case CL_ARCH_QWEN2:
    case CL_ARCH_QWEN3: return 1;
    default: return 0;
    }
}

/* The request body, malloc'd; NULL after cl_fail. */
static char *request(const cl_remote_ask_opts *o, const char *model, const cl_prompt *pr, const cl_model_file *mf,
                     cl_remote_ask_stats *st) {
    const cl_config *c = cl_model_file_config(mf);
    json_t *j = json_object();
    json_object_set_new(j, "model", json_string(model));
    int n = cl_prompt_len(pr);
    if (cl_prompt_has_embd(pr)) {
        if (!embeds_as_rows(c))
            return json_decref(j), cl_fail("--server: prompt embeddings for a %s model are not implemented",
                                           cl_arch_name(c->arch)), NULL;
        const cl_tensor *table = cl_model_file_tensor(mf, "token_embd.weight");
        if (!table)
            return json_decref(j), cl_fail("%s: no token_embd.weight", cl_model_file_path(mf)), NULL;
        float *e = cl_prompt_embeddings(pr, table, c->n_vocab, c->dim);
        if (!e) return json_decref(j), NULL;
        size_t zn;
        uint8_t *z = cl_torch_save_2d(e, n, c->dim, o->dtype, &zn);
        free(e);
        if (!z) return json_decref(j), cl_fail_prefix("--server-dtype %s: prompt embeddings", cl_dtype_name(o->dtype)), NULL;
        char *b64 = cl_malloc(cl_base64_len(zn) + 1);
        cl_base64_encode(z, zn, b64);
        json_object_set_new(j, "prompt_embeds", json_stringn_nocheck(b64, cl_base64_len(zn)));
        st->payload_bytes = zn;
        st->as_embeddings = 1;
        free(b64);
        free(z);
    } else {
        int32_t *ids = cl_prompt_ids(pr);
        json_t *a = json_array();
        for (int i = 0; i < n; i++) json_array_append_new(a, json_integer(ids[i]));
        json_object_set_new(j, "prompt", a);
        free(ids);
    }
    json_object_set_new(j, "max_tokens", json_integer(o->max_tokens));
    json_object_set_new(j, "temperature", json_real(o->temperature));
    json_object_set_new(j, "top_p", json_real(o->top_p));
    json_object_set_new(j, "seed", json_integer((json_int_t)(o->seed & 0x7fffffffffffffffULL)));
    json_t *stop = json_array();
    for (int i = 0; i < CL_STOP_MAX; i++)
        if (o->stop_ids[i] >= 0) json_array_append_new(stop, json_integer(o->stop_ids[i]));
    json_object_set_new(j, "stop_token_ids", stop);   /* vLLM's; the model's EOS ends it anyway */
    json_object_set_new(j, "stream", json_true());
    json_t *so = json_object();
    json_object_set_new(so, "include_usage", json_true());
    json_object_set_new(j, "stream_options", so);
    char *body = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!body) cl_fail("request too large to encode");
    return body;
}

int cl_remote_ask(const cl_remote_ask_opts *o, const cl_prompt *pr, const cl_model_file *mf,
                  int (*on_text)(void *ctx, const char *text, size_t n), void *ctx, cl_remote_ask_stats *st) {
    memset(st, 0, sizeof *st);
    st->positions = cl_prompt_len(pr);
    long max_len = 0;
    if (pick_model(o, st->model, sizeof st->model, &max_len) < 0) return -1;
    if (max_len > 0 && st->positions >= max_len)
        return cl_fail("%s: the prompt's %d positions do not fit model \"%s\"'s max_model_len of %ld", o->server.url,
                       st->positions, st->model, max_len);
    double t0 = cl_now();
    char *body = request(o, st->model, pr, mf, st);
    if (!body) return -1;
    st->body_bytes = strlen(body);
    st->prepare_s = cl_now() - t0;
    st->stream.on_text = on_text;
    st->stream.ctx = ctx;
    int rc = cl_remote_complete(&o->server, body, st->body_bytes, &st->stream);
    free(body);
    if (rc < 0 && st->as_embeddings && strstr(cl_error(), ": HTTP 4") && !strstr(cl_error(), "prompt_embeds") &&
        !strstr(cl_error(), "prompt-embeds")) {
        char *e = cl_strdup(cl_error());
        cl_fail("%s (the request carried prompt_embeds: the server must accept them; vLLM: vllm serve MODEL "
                "--enable-prompt-embeds)", e);
        free(e);
    }
    if (rc == 0 && st->stream.prompt_tokens >= 0 && st->stream.prompt_tokens != st->positions)
        rc = cl_fail("%s: the server read a prompt of %ld tokens, not the %d positions sent: it did not take the %s "
                     "(vLLM: start it with --enable-prompt-embeds); the answer above is not about the context",
                     o->server.url, st->stream.prompt_tokens, st->positions,
                     st->as_embeddings ? "prompt embeddings" : "token ids");
    st->ttft_s = st->stream.ttft_s > 0 ? st->prepare_s + st->stream.ttft_s : 0;
    return rc;
}
