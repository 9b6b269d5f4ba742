/* chat.c — chat-format detection and one-turn prompt rendering (see chat.h). */
#include "chat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* The default system message of a ChatML template: a string literal
 *   '<|im_start|>system\n<text><|im_end|>
 * whose text is plain (no quotes, no Jinja expression).  "\n" may be written as a newline or
 * as the two characters backslash-n (inside the Jinja string literal). */
static char *chatml_default_system(const char *t) {
    static const char open[] = "<|im_start|>system";
    for (const char *p = strstr(t, open); p; p = strstr(p + 1, open)) {
        const char *s = p + sizeof open - 1;
        if (*s == '\n') s++;
        else if (s[0] == '\\' && s[1] == 'n') s += 2;
        else continue;
        const char *e = strstr(s, "<|im_end|>");
        if (!e || e == s) continue;
        if (strcspn(s, "'\"{}+") < (size_t)(e - s)) continue;
        char *out = cl_malloc((size_t)(e - s) + 1), *o = out;
        for (const char *q = s; q < e; q++) {
            if (q[0] == '\\' && q[1] == 'n') { *o++ = '\n'; q++; }
            else *o++ = *q;
        }
        *o = 0;
        return out;
    }
    return NULL;
}

void cl_chat_detect(cl_chat *c, const char *tmpl) {
    c->kind = CL_CHAT_NONE;
    c->system = NULL;
    c->tight = 0;
    if (!tmpl) return;
    if (strstr(tmpl, "<|im_start|>")) {
        c->kind = CL_CHAT_CHATML;
        c->system = chatml_default_system(tmpl);
    } else if (strstr(tmpl, "<|start_header_id|>")) {
        c->kind = CL_CHAT_LLAMA3;
    } else if (strstr(tmpl, "<start_of_turn>")) {
        c->kind = CL_CHAT_GEMMA;
    } else if (strstr(tmpl, "[INST]") && strstr(tmpl, "<<SYS>>")) {
        c->kind = CL_CHAT_LLAMA2;
    } else if (strstr(tmpl, "[INST]")) {
        c->kind = CL_CHAT_MISTRAL;
        c->tight = strstr(tmpl, "' [/INST]'") == NULL && strstr(tmpl, "'[/INST]'") != NULL;
    }
}

void cl_chat_free(cl_chat *c) {
    free(c->system);
    c->system = NULL;
}

const char *cl_chat_name(cl_chat_kind k) {
    switch (k) {
    case CL_CHAT_CHATML: return "chatml";
    case CL_CHAT_LLAMA3: return "llama3";
    case CL_CHAT_LLAMA2: return "llama2";
    case CL_CHAT_MISTRAL: return "mistral";
    case CL_CHAT_GEMMA: return "gemma";
    default: return "none";
    }
}

static char *cat3(const char *a, const char *b, const char *c) {
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *o = cl_malloc(la + lb + lc + 1);
    memcpy(o, a, la);
    memcpy(o + la, b, lb);
    memcpy(o + la + lb, c, lc + 1);
    return o;
}

char *cl_chat_prefix(const cl_chat *c) {
    const char *sys = c->system;
    switch (c->kind) {
    case CL_CHAT_CHATML:
        return sys ? cat3("<|im_start|>system\n", sys, "<|im_end|>\n<|im_start|>user\n")
                   : cl_strdup("<|im_start|>user\n");
    case CL_CHAT_LLAMA3:
        return sys ? cat3("<|start_header_id|>system<|end_header_id|>\n\n", sys,
                          "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n")
                   : cl_strdup("<|start_header_id|>user<|end_header_id|>\n\n");
    case CL_CHAT_LLAMA2:
        return sys ? cat3("[INST] <<SYS>>\n", sys, "\n<</SYS>>\n\n") : cl_strdup("[INST] ");
    case CL_CHAT_MISTRAL:   /* the system message, if any, opens the user turn */
        return sys ? cat3("[INST] ", sys, "\n\n") : cl_strdup("[INST] ");
    case CL_CHAT_GEMMA:
        return sys ? cat3("<start_of_turn>user\n", sys, "\n\n") : cl_strdup("<start_of_turn>user\n");
    default:
        return cl_strdup("");
    }
}

char *cl_chat_suffix(const cl_chat *c) {
    switch (c->kind) {
    case CL_CHAT_CHATML: return cl_strdup("<|im_end|>\n<|im_start|>assistant\n");
    case CL_CHAT_LLAMA3: return cl_strdup("<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
    case CL_CHAT_LLAMA2: return cl_strdup(" [/INST]");
    case CL_CHAT_MISTRAL: return cl_strdup(c->tight ? "[/INST]" : " [/INST]");
    case CL_CHAT_GEMMA: return cl_strdup("<end_of_turn>\n<start_of_turn>model\n");
    default: return cl_strdup("");
    }
}

char *cl_chat_render(const cl_chat *c, const char *user) {
    char *p = cl_chat_prefix(c), *s = cl_chat_suffix(c), *o = cat3(p, user, s);
    free(p);
    free(s);
    return o;
}

int cl_chat_wants_bos(const cl_chat *c) {
    return c->kind != CL_CHAT_CHATML;
}

const char *cl_chat_end_of_turn(const cl_chat *c) {
    switch (c->kind) {
    case CL_CHAT_CHATML: return "<|im_end|>";
    case CL_CHAT_LLAMA3: return "<|eot_id|>";
    case CL_CHAT_GEMMA: return "<end_of_turn>";
    default: return NULL;
    }
}
