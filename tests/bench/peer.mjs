// peer.mjs — llama.cpp's side of tests/bench/peer.sh, through node-llama-cpp (prebuilt CPU
// backend, flash attention on): the same measurements and output lines as tests/bin/bench_gguf.
//   node peer.mjs MODEL.gguf PREFILL[,PREFILL..] N_DECODE THREADS N_VOCAB
// Token ids are i * 7919 mod n_vocab, as bench_gguf gives our engine.
import {getLlama} from "node-llama-cpp";

const [path, preArg, decArg, thrArg, vocabArg] = process.argv.slice(2);
const pre = preArg.split(",").map(Number), nDec = Number(decArg), threads = Number(thrArg);
const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});
const model = await llama.loadModel({modelPath: path, gpuLayers: 0});
const V = Number(vocabArg);
const maxP = Math.max(...pre);
const ids = [];
for (let k = 0; k < maxP + nDec; k++) ids.push((k * 7919) % V);
const ctx = await model.createContext({contextSize: maxP + nDec + 16, threads, batchSize: 512, flashAttention: true});
const seq = ctx.getSequence();
console.log(`llama.cpp ${JSON.stringify(llama.llamaCppRelease)}: ${threads} threads, ${llama.systemInfo.trim()}`);
for (const p of pre) {
  await seq.clearHistory();
  const t = performance.now();
  await seq.evaluateWithoutGeneratingNewTokens(ids.slice(0, p));
  const s = (performance.now() - t) / 1000;
  console.log(`prefill ${p}: ${(p / s).toFixed(1)} tok/s`);
}
await seq.clearHistory();
await seq.evaluateWithoutGeneratingNewTokens(ids.slice(0, pre[0]));
const t = performance.now();
for (let d = 0; d < nDec; d++) await seq.evaluateWithoutGeneratingNewTokens([ids[pre[0] + d]]);
const s = (performance.now() - t) / 1000;
console.log(`decode after ${pre[0]}: ${(nDec / s).toFixed(2)} tok/s`);
await ctx.dispose();
await model.dispose();
