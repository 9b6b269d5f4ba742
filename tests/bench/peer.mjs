// peer.mjs — llama.cpp's side of tests/bench/peer.sh, through node-llama-cpp (its prebuilt CPU
// backend): the same measurements, warm-up and output lines as tests/bin/bench_gguf.
//   node peer.mjs MODEL.gguf PREFILL[,PREFILL..] N_DECODE THREADS N_VOCAB BATCH
// Token ids are i * 7919 mod N_VOCAB, as bench_gguf gives our engine.  Settings, matched to ours
// as far as node-llama-cpp's API allows (the first output line states what llama.cpp reports):
// THREADS threads for prefill and decode (n_threads = n_threads_batch), n_batch = n_ubatch = BATCH
// (node-llama-cpp sets both; peer.sh passes our prefill span, so both engines process a long
// prompt in chunks of the same size), context = longest prefill + N_DECODE (llama.cpp may round it
// up to a multiple of 256), flash attention on, KV cache f16 (K and V), weights mmap'ed, no mlock.
// Warm-up (untimed): a prefill of the first length and one decode step.  Each prefill starts from
// an empty cache; the decode steps follow the first prefill length (the cache cut back to it).
// Like ours, every evaluation computes the logits of its last token (greedy pick of the next
// token, not used): evaluateWithoutGeneratingNewTokens would skip the lm_head, a quarter of the
// weights a decode step reads.
import {readFileSync} from "node:fs";
import {getLlama} from "node-llama-cpp";

const [path, preArg, decArg, thrArg, vocabArg, batchArg] = process.argv.slice(2);
const pre = preArg.split(",").map(Number), nDec = Number(decArg), threads = Number(thrArg);
const V = Number(vocabArg), batch = Number(batchArg);
if (!(V > 0 && batch > 0 && threads > 0 && nDec > 0) || pre.some(p => !(p > 0))) {
    console.error("usage: node peer.mjs MODEL.gguf PREFILL[,PREFILL..] N_DECODE THREADS N_VOCAB BATCH");
    process.exit(2);
}
const llama = await getLlama({gpu: false, build: "never", logLevel: "error", maxThreads: threads});
const model = await llama.loadModel({modelPath: path, gpuLayers: 0, useMmap: true, useMlock: false});
const maxP = Math.max(...pre);
const ids = [];
for (let k = 0; k < maxP + nDec; k++) ids.push((k * 7919) % V);
const ctx = await model.createContext({
    contextSize: maxP + nDec, batchSize: batch, threads: {ideal: threads, min: threads},
    flashAttention: true, experimentalKvCacheKeyType: "F16", experimentalKvCacheValueType: "F16"});
const seq = ctx.getSequence();
const kvName = t => ({0: "f32", 1: "f16", 30: "bf16"})[t] ?? `ggml type ${t}`;
const binding = JSON.parse(readFileSync(new URL("node_modules/node-llama-cpp/package.json", import.meta.url))).version;
console.log(`llama.cpp ${llama.llamaCppRelease.release} (node-llama-cpp ${binding}, prebuilt CPU backend): ` +
    `vocab ${V}, ${ctx.currentThreads} threads, n_batch = n_ubatch ${ctx.batchSize}, context ${ctx.contextSize}, ` +
    `flash attention ${ctx.flashAttention}, kv ${kvName(ctx.kvCacheKeyType)}/${kvName(ctx.kvCacheValueType)}, mmap ${model.useMmap}`);
console.log(`cpu: ${llama.systemInfo.trim()}`);

// tokens ids[a..b), logits of the last one (llama.cpp computes no lm_head rows for the others)
const feed = (a, b) => seq.controlledEvaluate(ids.slice(a, b).map((id, i) =>
    a + i === b - 1 ? [id, {generateNext: {token: true, options: {temperature: 0}}}] : id));
await feed(0, pre[0]);   // warm-up
await feed(pre[0], pre[0] + 1);
for (const p of pre) {
    await seq.clearHistory();
    const t = performance.now();
    await feed(0, p);
    const s = (performance.now() - t) / 1000;
    console.log(`prefill ${p}: ${(p / s).toFixed(1)} tok/s`);
}
if (seq.nextTokenIndex >= pre[0]) await seq.eraseContextTokenRanges([{start: pre[0], end: seq.nextTokenIndex}]);
else {
    await seq.clearHistory();
    await feed(0, pre[0]);
}
if (seq.nextTokenIndex !== pre[0]) throw new Error(`cache holds ${seq.nextTokenIndex} tokens, not ${pre[0]}`);
const t = performance.now();
for (let d = 0; d < nDec; d++) await feed(pre[0] + d, pre[0] + d + 1);
const s = (performance.now() - t) / 1000;
console.log(`decode after ${pre[0]}: ${(nDec / s).toFixed(2)} tok/s`);
await ctx.dispose();
await model.dispose();
