/* test_chat.c — chat-format detection and rendering; ChatML checked against the rendered
 * prompt of SmolLM2-135M-Instruct in ../shared (and its ids, once the tokenizer is there). */
#include <jansson.h>
#include <string.h>

#include "chat.h"
#include "t.h"
#include "tokenizer.h"

/* SmolLM2-Instruct's template (tokenizer_config.json), "\n" as JSON would decode it. */
static const char smollm2_tmpl[] =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
    "Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\n' }}{% endif %}";
/* Qwen3-like: the system turn only from a message, written with backslash-n escapes. */
static const char qwen3_tmpl[] =
    "{%- if messages[0].role == 'system' %}{{- '<|im_start|>system\\n' + messages[0].content + "
    "'<|im_end|>\\n' }}{%- endif %}{%- for message in messages %}{{- '<|im_start|>' + "
    "message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}{%- endfor %}";

int main(void) {
    cl_chat c;
    cl_chat_detect(&c, smollm2_tmpl);
    OK(c.kind == CL_CHAT_CHATML, "SmolLM2 template is ChatML");
    OK(c.system && !strcmp(c.system, "You are a helpful AI assistant named SmolLM, trained by Hugging Face"),
       "its default system message is found (%s)", c.system ? c.system : "NULL");
    OK(!cl_chat_wants_bos(&c) && !strcmp(cl_chat_end_of_turn(&c), "<|im_end|>"),
       "ChatML: no BOS, turn ends with <|im_end|>");
    char *r = cl_chat_render(&c, "What is the capital of France? Answer in 3 words.");

    const char *ex = t_shared("tokenizers/smollm2-135m-instruct/chat-template-example.json");
    json_t *j = ex ? json_load_file(ex, 0, NULL) : NULL;
    if (!j) {
        SKIP("../shared/tokenizers/smollm2-135m-instruct/chat-template-example.json absent");
    } else {
        const char *want = json_string_value(json_object_get(j, "text"));
        OK(want && !strcmp(r, want), "rendered ChatML prompt equals the example's text");
        const char *tj = t_shared("tokenizers/smollm2-135m-instruct/tokenizer.json");
        cl_tokenizer *tok = tj ? cl_tokenizer_from_json(tj) : NULL;
        if (!tok) {
            SKIP("SmolLM2 tokenizer not loadable here");
        } else {
            int32_t *ids;
            size_t n;
            json_t *wi = json_object_get(j, "ids");
            int same = cl_tokenizer_encode(tok, r, strlen(r), CL_TOK_SPECIAL, &ids, &n) == 0 &&
                       n == json_array_size(wi);
            for (size_t i = 0; same && i < n; i++)
                same = ids[i] == json_integer_value(json_array_get(wi, i));
            OK(same, "rendered prompt tokenizes (CL_TOK_SPECIAL) to the example's %zu ids",
               json_array_size(wi));
            if (same) free(ids);
            cl_tokenizer_free(tok);
        }
        json_decref(j);
    }
    free(r);
    cl_chat_free(&c);

    cl_chat_detect(&c, qwen3_tmpl);
    r = cl_chat_render(&c, "hi");
    OK(c.kind == CL_CHAT_CHATML && !c.system &&
           !strcmp(r, "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"),
       "ChatML without a default system message");
    free(r);
    cl_chat_free(&c);

    cl_chat_detect(&c, "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' }}");
    r = cl_chat_render(&c, "hi");
    OK(c.kind == CL_CHAT_LLAMA3 && cl_chat_wants_bos(&c) &&
           !strcmp(r, "<|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>"
                      "<|start_header_id|>assistant<|end_header_id|>\n\n") &&
           !strcmp(cl_chat_end_of_turn(&c), "<|eot_id|>"),
       "Llama 3 format");
    free(r);
    cl_chat_free(&c);

    cl_chat_detect(&c, "{% if system %}{{ '<<SYS>>\\n' + system + '\\n<</SYS>>\\n\\n' }}{% endif %}"
                       "{{ bos_token + '[INST] ' + message['content'] + ' [/INST]' }}");
    r = cl_chat_render(&c, "hi");
    OK(c.kind == CL_CHAT_LLAMA2 && !strcmp(r, "[INST] hi [/INST]") && !cl_chat_end_of_turn(&c),
       "Llama 2 format");
    free(r);
    cl_chat_free(&c);

    /* Mistral-7B-Instruct v0.1 and v0.3 (their templates' [INST] parts) */
    cl_chat_detect(&c, "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}"
                       "{{ '[INST] ' + message['content'] + ' [/INST]' }}{% endif %}{% endfor %}");
    r = cl_chat_render(&c, "hi");
    OK(c.kind == CL_CHAT_MISTRAL && !strcmp(r, "[INST] hi [/INST]") && cl_chat_wants_bos(&c) && !cl_chat_end_of_turn(&c),
       "Mistral v0.1 format: %s", r);
    free(r);
    cl_chat_detect(&c, "{{- bos_token }}{%- for message in loop_messages %}{%- if message['role'] == 'user' %}"
                       "{{- '[INST] ' + message['content'] + '[/INST]' }}{%- endif %}{%- endfor %}");
    r = cl_chat_render(&c, "hi");
    OK(c.kind == CL_CHAT_MISTRAL && !strcmp(r, "[INST] hi[/INST]"), "Mistral v0.3 format (no space before [/INST]): %s", r);
    free(r);
    cl_chat_free(&c);

    /* Gemma 3's template: the system turn folds into the first user turn */
    cl_chat_detect(&c, "{{ bos_token }}{%- if messages[0]['role'] == 'system' -%}{%- set first_user_prefix = "
                       "messages[0]['content'] + '\\n\\n' -%}{%- endif -%}{{ '<start_of_turn>' + role + '\\n' + "
                       "first_user_prefix }}{{ '<end_of_turn>\\n' }}{%- if add_generation_prompt -%}"
                       "{{'<start_of_turn>model\\n'}}{%- endif -%}");
    r = cl_chat_render(&c, "hi");
    OK(c.kind == CL_CHAT_GEMMA && !strcmp(r, "<start_of_turn>user\nhi<end_of_turn>\n<start_of_turn>model\n") &&
           cl_chat_wants_bos(&c) && !strcmp(cl_chat_end_of_turn(&c), "<end_of_turn>"),
       "Gemma format");
    free(r);
    cl_chat_free(&c);

    cl_chat_detect(&c, NULL);
    r = cl_chat_render(&c, "hi");
    OK(c.kind == CL_CHAT_NONE && !strcmp(r, "hi"), "no template: plain text");
    free(r);
    cl_chat_detect(&c, "{{ messages }}");
    OK(c.kind == CL_CHAT_NONE, "unknown template: plain completion");
    return t_done();
}
