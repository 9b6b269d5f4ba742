/* model_hf.c — a Hugging Face model directory: config.json, model.safetensors (or shards listed
 * by model.safetensors.index.json), tokenizer.json, tokenizer_config.json (chat template).
 * HF tensor names are mapped to llama.cpp's GGUF names. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include "model_file_int.h"

/* HF name -> GGUF name; 0 = mapped, 1 = ignore, -1 = unknown.  Gemma 3's multimodal checkpoints
 * put the text model under model.language_model.* (or language_model.model.*); its vision tower
 * and projector are skipped.  Gemma's post_attention_layernorm is llama.cpp's post_attention_norm
 * (its pre_feedforward_layernorm is ffn_norm); Llama's is ffn_norm. */
static int map_name(const char *hf, int gemma, char *out, size_t cap) {
    static const char *const layer_map[][2] = {
        {"input_layernorm.weight", "attn_norm.weight"},     {"self_attn.q_proj.weight", "attn_q.weight"},
        {"self_attn.k_proj.weight", "attn_k.weight"},       {"self_attn.v_proj.weight", "attn_v.weight"},
        {"self_attn.o_proj.weight", "attn_output.weight"},  {"self_attn.q_proj.bias", "attn_q.bias"},
        {"self_attn.k_proj.bias", "attn_k.bias"},           {"self_attn.v_proj.bias", "attn_v.bias"},
        {"self_attn.q_norm.weight", "attn_q_norm.weight"},  {"self_attn.k_norm.weight", "attn_k_norm.weight"},
        {"mlp.gate_proj.weight", "ffn_gate.weight"},
        {"mlp.up_proj.weight", "ffn_up.weight"},            {"mlp.down_proj.weight", "ffn_down.weight"},
    };
    static const char *const gemma_map[][2] = {
        {"post_attention_layernorm.weight", "post_attention_norm.weight"},
        {"pre_feedforward_layernorm.weight", "ffn_norm.weight"},
        {"post_feedforward_layernorm.weight", "post_ffw_norm.weight"},
    };
    static const char *const skip[] = {"vision_tower.", "multi_modal_projector.", "model.vision_tower.",
                                       "model.multi_modal_projector."};
    char buf[256];
    if (gemma) {
        for (size_t i = 0; i < sizeof skip / sizeof *skip; i++)
            if (!strncmp(hf, skip[i], strlen(skip[i]))) return 1;
        if (!strncmp(hf, "model.language_model.", 21)) hf += 21;
        else if (!strncmp(hf, "language_model.model.", 21)) hf += 21;
        else if (!strncmp(hf, "language_model.", 15)) hf += 15;   /* language_model.lm_head.weight */
        else if (!strncmp(hf, "model.", 6)) hf += 6;
        else if (strcmp(hf, "lm_head.weight")) return -1;
        if (strcmp(hf, "lm_head.weight")) {
            snprintf(buf, sizeof buf, "model.%s", hf);
            hf = buf;
        }
    }
    if (!strcmp(hf, "model.embed_tokens.weight")) return snprintf(out, cap, "token_embd.weight"), 0;
    if (!strcmp(hf, "model.norm.weight")) return snprintf(out, cap, "output_norm.weight"), 0;
    if (!strcmp(hf, "lm_head.weight")) return snprintf(out, cap, "output.weight"), 0;
    size_t hl = strlen(hf);
    if (hl >= 21 && !strcmp(hf + hl - 21, "rotary_emb.inv_freq")) return 1;
    if (strncmp(hf, "model.layers.", 13)) return -1;
    char *end;
    long l = strtol(hf + 13, &end, 10);
    if (end == hf + 13 || *end != '.' || l < 0 || l > 100000) return -1;
    for (size_t i = 0; gemma && i < sizeof gemma_map / sizeof *gemma_map; i++)
        if (!strcmp(end + 1, gemma_map[i][0])) return snprintf(out, cap, "blk.%ld.%s", l, gemma_map[i][1]), 0;
    if (!gemma && !strcmp(end + 1, "post_attention_layernorm.weight"))
        return snprintf(out, cap, "blk.%ld.ffn_norm.weight", l), 0;
    for (size_t i = 0; i < sizeof layer_map / sizeof *layer_map; i++)
        if (!strcmp(end + 1, layer_map[i][0])) return snprintf(out, cap, "blk.%ld.%s", l, layer_map[i][1]), 0;
    return -1;
}

static int add_hf_tensor(cl_model_file *mf, const char *where, const cl_tensor *t) {
    char name[128];
    int m = map_name(t->name, mf->cfg.arch == CL_ARCH_GEMMA3, name, sizeof name);
    if (m < 0) return cl_fail("%s: tensor %s unsupported (not a %s weight we know)", where, t->name, cl_arch_name(mf->cfg.arch));
    if (m == 0) cl_mf_add(mf, name, t);
    return 0;
}

static int open_shard(cl_model_file *mf, const char *path) {
    cl_safetensors *st = cl_st_open(path);
    if (!st) return -1;
    mf->shards = cl_realloc(mf->shards, (size_t)(mf->n_shards + 1) * sizeof *mf->shards);
    mf->shards[mf->n_shards++] = st;
    return 0;
}

static int load_sharded(cl_model_file *mf, const char *dir, const char *index) {
    json_error_t je;
    json_t *root = json_load_file(index, JSON_REJECT_DUPLICATES, &je);
    if (!root) return cl_fail("%s: line %d: %s", index, je.line, je.text);
    json_t *wm = json_object_get(root, "weight_map");
    int rc = -1;
    if (!json_is_object(wm)) {
        cl_fail("%s: weight_map missing", index);
        goto out;
    }
    /* open every distinct shard once: shard file name -> index in mf->shards */
    json_t *opened = json_object();
    const char *key;
    json_t *v;
    json_object_foreach(wm, key, v) {
        const char *file = json_string_value(v);
        if (!file || strchr(file, '/')) {
            cl_fail("%s: weight_map[%s] is not a file name in the directory", index, key);
            json_decref(opened);
            goto out;
        }
        json_t *idx = json_object_get(opened, file);
        if (!idx) {
            char *p = cl_path_join(dir, file);
            int r = open_shard(mf, p);
            free(p);
            if (r) {
                json_decref(opened);
                goto out;
            }
            json_object_set_new(opened, file, idx = json_integer(mf->n_shards - 1));
        }
        const cl_safetensors *st = mf->shards[json_integer_value(idx)];
        const cl_tensor *t = cl_st_find(st, key);
        if (!t) {
            cl_fail("%s: tensor %s listed in %s is not in %s", dir, key, index, file);
            json_decref(opened);
            goto out;
        }
        if (add_hf_tensor(mf, dir, t)) {
            json_decref(opened);
            goto out;
        }
    }
    json_decref(opened);
    rc = 0;
out:
    json_decref(root);
    return rc;
}

static void load_chat_template(cl_model_file *mf, const char *dir) {
    char *p = cl_path_join(dir, "tokenizer_config.json");
    json_t *root = cl_path_exists(p) ? json_load_file(p, 0, NULL) : NULL;
    json_t *ct = json_object_get(root, "chat_template");
    if (json_is_string(ct)) mf->chat_template = cl_strdup(json_string_value(ct));
    else if (json_is_array(ct)) { /* [{name, template}, ...]: the "default" one */
        size_t i;
        json_t *e;
        json_array_foreach(ct, i, e) {
            if (!mf->chat_template && !strcmp(json_string_value(json_object_get(e, "name")) ? json_string_value(json_object_get(e, "name")) : "", "default") &&
                json_is_string(json_object_get(e, "template")))
                mf->chat_template = cl_strdup(json_string_value(json_object_get(e, "template")));
        }
    }
    json_decref(root);
    free(p);
}

int cl_mf_open_hf(cl_model_file *mf, const char *dir) {
    char *cfg = cl_path_join(dir, "config.json"), *gen = cl_path_join(dir, "generation_config.json"), *single = cl_path_join(dir, "model.safetensors"),
         *index = cl_path_join(dir, "model.safetensors.index.json"), *tok = cl_path_join(dir, "tokenizer.json");
    int rc = -1;
    if (!cl_path_exists(cfg)) {
        cl_fail("%s: no config.json (not a Hugging Face model directory)", dir);
        goto out;
    }
    if (cl_hf_config_load(cfg, &mf->cfg)) goto out;
    if (cl_path_exists(gen) && cl_hf_generation_config_load(gen, &mf->cfg)) goto out;
    if (cl_path_exists(single)) {
        if (open_shard(mf, single)) goto out;
        const cl_safetensors *st = mf->shards[0];
        for (int i = 0; i < cl_st_n_tensors(st); i++)
            if (add_hf_tensor(mf, single, cl_st_tensor(st, i))) goto out;
    } else if (cl_path_exists(index)) {
        if (load_sharded(mf, dir, index)) goto out;
    } else {
        cl_fail("%s: neither model.safetensors nor model.safetensors.index.json", dir);
        goto out;
    }
    /* Tied heads: TinyStories-656K stores only lm_head.weight; others only embed_tokens. */
    int has_embd = 0, has_out = 0;
    for (int i = 0; i < mf->n_t; i++) {
        has_embd |= !strcmp(mf->t[i].name, "token_embd.weight");
        has_out |= !strcmp(mf->t[i].name, "output.weight");
    }
    if (has_out && !has_embd) {
        for (int i = 0; i < mf->n_t; i++)
            if (!strcmp(mf->t[i].name, "output.weight")) {
                free((char *)mf->t[i].name);
                mf->t[i].name = cl_strdup("token_embd.weight");
            }
        mf->cfg.tied_embeddings = 1;
    } else if (has_out && has_embd) {
        mf->cfg.tied_embeddings = 0; /* both stored: use each as given */
    } else if (has_embd && !mf->cfg.tied_embeddings) {
        cl_fail("%s: lm_head.weight missing and tie_word_embeddings is false", dir);
        goto out;
    }
    if (mf->cfg.embd_scale > 0) {   /* HF Gemma: sqrt(hidden) rounded to the embedding's dtype */
        const cl_tensor *e = NULL;
        for (int i = 0; i < mf->n_t && !e; i++)
            if (!strcmp(mf->t[i].name, "token_embd.weight")) e = &mf->t[i];
        if (e && e->dtype == CL_BF16) mf->cfg.embd_scale = cl_bf16_to_f32(cl_f32_to_bf16(mf->cfg.embd_scale));
        if (e && e->dtype == CL_F16) mf->cfg.embd_scale = cl_f16_to_f32(cl_f32_to_f16(mf->cfg.embd_scale));
    }
    if (cl_path_exists(tok)) mf->tok_json = cl_strdup(tok);
    load_chat_template(mf, dir);
    rc = 0;
out:
    free(cfg);
    free(gen);
    free(single);
    free(index);
    free(tok);
    return rc;
}
