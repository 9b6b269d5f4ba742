/* test_config.c — every config value that changes the maths is honoured or refused with an error
 * naming it: Hugging Face config.json / generation_config.json and GGUF keys, one case each. */
#include <string.h>
#include <sys/stat.h>

#include "gguf.h"
#include "model_file.h"
#include "t.h"
#include "util.h"

#define BASE "\"architectures\": [\"LlamaForCausalLM\"], \"hidden_size\": 32, \"intermediate_size\": 48, " \
    "\"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"vocab_size\": 64, \"eos_token_id\": 2"

static int load_json(const char *json, cl_config *c) {
    const char *p = t_tmp("cfg.json");
    FILE *f = fopen(p, "w");
    if (!f) return -1;
    fputs(json, f);
    fclose(f);
    return cl_hf_config_load(p, c);
}

/* json must be refused with an error containing `names`. */
static void refused(const char *what, const char *json, const char *names) {
    cl_config c;
    int rc = load_json(json, &c);
    OK(rc < 0 && strstr(cl_error(), names), "config.json %s: refused naming %s (%s)", what, names, rc < 0 ? cl_error() : "loaded");
}

static void test_hf_refusals(void) {
    refused("hidden_act gelu", "{" BASE ", \"hidden_act\": \"gelu\"}", "hidden_act");
    refused("hidden_activation relu", "{" BASE ", \"hidden_activation\": \"relu\"}", "hidden_activation");
    refused("rope_type dynamic", "{" BASE ", \"rope_scaling\": {\"rope_type\": \"dynamic\", \"factor\": 2.0}}", "dynamic");
    refused("rope_type longrope", "{" BASE ", \"rope_scaling\": {\"type\": \"longrope\", \"factor\": 2.0}}", "longrope");
    refused("rope_scaling without factor", "{" BASE ", \"rope_scaling\": {\"rope_type\": \"linear\"}}", "factor");
    refused("yarn truncate false", "{" BASE ", \"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4.0, \"truncate\": false}}",
            "truncate");
    refused("attn_logit_softcapping", "{" BASE ", \"attn_logit_softcapping\": 50.0}", "attn_logit_softcapping");
    refused("final_logit_softcapping", "{" BASE ", \"final_logit_softcapping\": 30.0}", "final_logit_softcapping");
    refused("mlp_bias", "{" BASE ", \"mlp_bias\": true}", "mlp_bias");
    refused("llama attention_bias (o_proj bias)", "{" BASE ", \"attention_bias\": true}", "attention_bias");
    refused("partial_rotary_factor", "{" BASE ", \"partial_rotary_factor\": 0.5}", "partial_rotary_factor");
    refused("quantization_config", "{" BASE ", \"quantization_config\": {\"quant_method\": \"gptq\"}}", "quantization_config");
    refused("layer_types with an unknown kind", "{" BASE ", \"layer_types\": [\"full_attention\", \"chunked_attention\"]}",
            "layer_types");
    refused("unknown architecture", "{\"architectures\": [\"MixtralForCausalLM\"], \"hidden_size\": 32}", "MixtralForCausalLM");
}

static void test_hf_honoured(void) {
    cl_config c;
    OK(load_json("{" BASE ", \"rope_scaling\": {\"rope_type\": \"default\"}}", &c) == 0 && c.rope_scaling.type == CL_ROPE_DEFAULT,
       "rope_scaling {rope_type: default} accepted as no scaling");
    OK(load_json("{" BASE ", \"rope_parameters\": {\"rope_type\": \"default\", \"rope_theta\": 500000.0}}", &c) == 0 &&
           c.rope_theta == 500000.0f,
       "transformers 5 rope_parameters: rope_theta read from it");
    OK(load_json("{" BASE ", \"eos_token_id\": [128001, 128008, 128009], \"vocab_size\": 128256}", &c) == 0 && c.n_stop == 3 &&
           c.eos_id == 128001 && c.stop_ids[2] == 128009,
       "eos_token_id list: every id stops (%d ids)", c.n_stop);
    const char *gp = t_tmp("gen.json");
    FILE *f = fopen(gp, "w");
    if (f) fputs("{\"eos_token_id\": [2, 7]}", f), fclose(f);
    OK(load_json("{" BASE "}", &c) == 0 && cl_hf_generation_config_load(gp, &c) == 0 && c.n_stop == 2 && c.stop_ids[1] == 7,
       "generation_config.json eos_token_id list joins the stop ids");
    OK(load_json("{\"architectures\": [\"Qwen2ForCausalLM\"], \"hidden_size\": 32, \"intermediate_size\": 48, "
                 "\"num_hidden_layers\": 4, \"num_attention_heads\": 4, \"vocab_size\": 64, \"use_sliding_window\": true, "
                 "\"sliding_window\": 100, \"max_window_layers\": 2}", &c) == 0 &&
           c.sliding_window == 100 && !c.layer_window[1] && c.layer_window[2] && c.layer_window[3],
       "Qwen2 use_sliding_window: layers >= max_window_layers slide");
    OK(load_json("{\"architectures\": [\"Qwen2ForCausalLM\"], \"hidden_size\": 32, \"intermediate_size\": 48, "
                 "\"num_hidden_layers\": 4, \"num_attention_heads\": 4, \"vocab_size\": 64, \"use_sliding_window\": false, "
                 "\"sliding_window\": 100}", &c) == 0 && c.sliding_window == 0,
       "Qwen2 sliding_window without use_sliding_window: no window (as HF)");
    OK(load_json("{\"architectures\": [\"MistralForCausalLM\"], \"hidden_size\": 32, \"intermediate_size\": 48, "
                 "\"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"vocab_size\": 64, \"sliding_window\": 4096}", &c) == 0 &&
           c.arch == CL_ARCH_LLAMA && c.sliding_window == 4096 && c.layer_window[0] && c.layer_window[1],
       "MistralForCausalLM: llama maths with its sliding window on every layer");
    OK(load_json("{\"architectures\": [\"Gemma3ForCausalLM\"], \"hidden_size\": 32, \"intermediate_size\": 48, "
                 "\"num_hidden_layers\": 12, \"num_attention_heads\": 4, \"head_dim\": 16, \"vocab_size\": 64, "
                 "\"final_logit_softcapping\": null}", &c) == 0 &&
           c.arch == CL_ARCH_GEMMA3 && c.act == CL_ACT_GELU_TANH && c.layer_window[4] && !c.layer_window[5] &&
           !c.layer_window[11] && c.sliding_window == 4096 && c.rope_theta_local == 10000.0f && c.attn_scale == 1.0f / 16,
       "Gemma 3 defaults: gelu_pytorch_tanh, pattern 6, window 4096, local base 1e4, query_pre_attn_scalar 256");
    OK(load_json("{\"architectures\": [\"Gemma3ForCausalLM\"], \"hidden_size\": 32, \"intermediate_size\": 48, "
                 "\"num_hidden_layers\": 6, \"num_attention_heads\": 4, \"head_dim\": 16, \"vocab_size\": 64, "
                 "\"rope_parameters\": {\"full_attention\": {\"rope_type\": \"linear\", \"factor\": 8.0, "
                 "\"rope_theta\": 1000000.0}, \"sliding_attention\": {\"rope_type\": \"default\", \"rope_theta\": 20000.0}}}",
                 &c) == 0 &&
           c.rope_scaling.type == CL_ROPE_LINEAR && c.rope_scaling.factor == 8.0f && c.rope_theta == 1e6f &&
           c.rope_theta_local == 20000.0f,
       "transformers 5 per-layer-type rope_parameters (Gemma 3): global linear 8, local base read");
    refused("per-layer-type rope_parameters with scaled sliding layers",
            "{\"architectures\": [\"Gemma3ForCausalLM\"], \"rope_parameters\": {\"full_attention\": {\"rope_type\": "
            "\"default\"}, \"sliding_attention\": {\"rope_type\": \"linear\", \"factor\": 2.0}}}",
            "sliding_attention");
}

/* A GGUF with the plain llama keys plus one extra, opened as a model file. */
static cl_model_file *gguf_with(const char *key, const char *sval, double fval, int tensor_bias) {
    cl_config c = {.arch = CL_ARCH_LLAMA, .n_vocab = 16, .dim = 8, .n_layers = 1, .n_heads = 2, .n_kv_heads = 2,
                   .head_dim = 4, .ffn_dim = 8, .max_ctx = 64, .rope_theta = 1e4f, .rms_eps = 1e-5f, .tied_embeddings = 1,
                   .bos_id = 1, .eos_id = 2};
    cl_gguf_writer *w = cl_gguf_writer_new();
    cl_gguf_set_config(w, &c);
    if (key && sval) cl_gguf_set_str(w, key, sval);
    else if (key) cl_gguf_set_f32(w, key, (float)fval);
    static float z[256];
    int64_t e[2] = {16, 8}, d[1] = {8}, sq[2] = {8, 8}, f[2] = {8, 8};
    cl_gguf_add_tensor(w, "token_embd.weight", CL_F32, 2, e, z);
    cl_gguf_add_tensor(w, "output_norm.weight", CL_F32, 1, d, z);
    const char *n2[] = {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"};
    for (int i = 0; i < 7; i++) {
        char nm[64];
        snprintf(nm, sizeof nm, "blk.0.%s.weight", n2[i]);
        cl_gguf_add_tensor(w, nm, CL_F32, 2, i < 4 ? sq : f, z);
    }
    cl_gguf_add_tensor(w, "blk.0.attn_norm.weight", CL_F32, 1, d, z);
    cl_gguf_add_tensor(w, "blk.0.ffn_norm.weight", CL_F32, 1, d, z);
    if (tensor_bias) cl_gguf_add_tensor(w, "blk.0.attn_output.bias", CL_F32, 1, d, z);
    cl_gguf_set_u32(w, "tokenizer.ggml.eot_token_id", 9);
    const char *p = t_tmp("cfg.gguf");
    cl_gguf_writer_save(w, p);
    cl_gguf_writer_free(w);
    return cl_model_file_open(p);
}

static void gguf_refused(const char *what, const char *key, const char *sval, double fval, int bias, const char *names) {
    cl_model_file *mf = gguf_with(key, sval, fval, bias);
    OK(!mf && strstr(cl_error(), names), "GGUF %s: refused naming %s (%s)", what, names, mf ? "loaded" : cl_error());
    cl_model_file_close(mf);
}

static void test_gguf(void) {
    cl_model_file *mf = gguf_with(NULL, NULL, 0, 0);
    const cl_config *c = mf ? cl_model_file_config(mf) : NULL;
    OK(c && c->n_stop == 2 && c->stop_ids[0] == 2 && c->stop_ids[1] == 9, "GGUF eos and eot ids both stop");
    cl_model_file_close(mf);
    mf = gguf_with("llama.rope.scaling.type", "linear", 0, 0);
    OK(!mf && strstr(cl_error(), "factor"), "GGUF linear scaling without a factor refused (%s)", mf ? "loaded" : cl_error());
    cl_model_file_close(mf);
    gguf_refused("rope.scaling.type longrope", "llama.rope.scaling.type", "longrope", 0, 0, "llama.rope.scaling.type");
    gguf_refused("rope.scaling.factor without type", "llama.rope.scaling.factor", NULL, 4.0, 0, "llama.rope.scaling.factor");
    gguf_refused("attn_logit_softcapping", "llama.attn_logit_softcapping", NULL, 50.0, 0, "llama.attn_logit_softcapping");
    gguf_refused("final_logit_softcapping", "llama.final_logit_softcapping", NULL, 30.0, 0, "llama.final_logit_softcapping");
    gguf_refused("an unknown llama.* key", "llama.attention.scale", NULL, 0.5, 0, "llama.attention.scale");
    gguf_refused("partial RoPE", "llama.rope.dimension_count", NULL, 2, 0, "dimension_count");
    gguf_refused("an output-projection bias tensor", NULL, NULL, 0, 1, "blk.0.attn_output.bias");
    gguf_refused("experts", "llama.expert_count", NULL, 8, 0, "expert_count");
}

static void test_plain(void) {
    cl_config c = {.arch = CL_ARCH_GEMMA3, .sliding_window = 8, .layer_window = {1}, .act = CL_ACT_GELU_TANH,
                   .post_norms = 1, .embd_scale = 8, .attn_scale = 0.25f, .rope_theta_local = 1e4f};
    OK(cl_config_require_plain(&c, "train") == 0, "trainer takes gemma3 (windows, geglu, post norms, scales)");
    c.norm_plus_one = 1;
    OK(cl_config_require_plain(&c, "train") < 0 && strstr(cl_error(), "norm_plus_one"),
       "trainer refuses unfolded norm_plus_one gains: %s", cl_error());
    c = (cl_config){.rope_scaling = {.type = CL_ROPE_LLAMA3}};
    OK(cl_config_require_plain(&c, "train") == 0, "trainer takes RoPE scaling (its backward uses the forward's table)");
    c = (cl_config){.sliding_window = 8};
    OK(cl_config_require_plain(&c, "train") == 0, "trainer takes sliding windows (mistral, qwen2)");
    c = (cl_config){.rope_freqs = 1};
    OK(cl_config_require_plain(&c, "train") == 0, "trainer takes rope_freqs.weight");
    c = (cl_config){.arch = CL_ARCH_QWEN2};
    OK(cl_config_require_plain(&c, "train") == 0, "qwen2 without extras is plain");
}

int main(void) {
    test_hf_refusals();
    test_hf_honoured();
    test_gguf();
    test_plain();
    return t_done();
}
