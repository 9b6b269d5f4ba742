// gguf_dump.mjs FILE.gguf — reads a GGUF file with Hugging Face's own parser (@huggingface/gguf),
// an implementation independent of lib/gguf.c, and prints what `cl-model info` prints for it:
// "key: value" lines of the model config and one "name dtype [shape]" line per tensor, shape
// outermost first (GGUF stores ne[0], the innermost, first).
import { gguf } from "@huggingface/gguf";

const { metadata: m, tensorInfos } = await gguf(process.argv[2], { allowLocalFile: true });
const a = m["general.architecture"];
const num = (k) => (m[k] === undefined ? undefined : Number(m[k]));
const out = [];
out.push(`arch: ${a}`);
out.push(`dim: ${num(`${a}.embedding_length`)}`);
out.push(`n_layers: ${num(`${a}.block_count`)}`);
out.push(`n_heads: ${num(`${a}.attention.head_count`)}`);
out.push(`n_kv_heads: ${num(`${a}.attention.head_count_kv`)}`);
out.push(`ffn_dim: ${num(`${a}.feed_forward_length`)}`);
out.push(`max_ctx: ${num(`${a}.context_length`)}`);
if (m["tokenizer.ggml.bos_token_id"] !== undefined) out.push(`bos_id: ${num("tokenizer.ggml.bos_token_id")}`);
if (m["tokenizer.ggml.eos_token_id"] !== undefined) out.push(`eos_id: ${num("tokenizer.ggml.eos_token_id")}`);
const names = { 0: "f32", 1: "f16", 8: "q8_0", 30: "bf16" };
for (const t of tensorInfos) {
  const shape = t.shape.map((d) => d.toString()).reverse().join(", ");
  out.push(`${t.name} ${names[t.dtype] ?? `type${t.dtype}`} [${shape}]`);
}
const emb = tensorInfos.find((t) => t.name === "token_embd.weight");
if (emb) out.push(`n_vocab: ${emb.shape[1].toString()}`);
if (m["tokenizer.ggml.tokens"]) out.push(`tokens: ${m["tokenizer.ggml.tokens"].length}`);
console.log(out.join("\n"));
