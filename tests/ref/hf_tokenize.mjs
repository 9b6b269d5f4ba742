// hf_tokenize.mjs TOKENIZER_JSON STRINGS_JSONL
// Encodes every string (one JSON string per line) with Hugging Face tokenizers (the Rust
// implementation, napi binding `tokenizers`), no post-processing (no BOS), no truncation, and
// prints one JSON line per string: {"ids":[...],"text":"<HF decode of those ids>"}.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { Tokenizer } = require('tokenizers');

const [tokPath, strPath] = process.argv.slice(2);
if (!tokPath || !strPath) {
  console.error('usage: node hf_tokenize.mjs TOKENIZER_JSON STRINGS_JSONL');
  process.exit(2);
}
const tok = Tokenizer.fromFile(tokPath);
tok.disableTruncation();
tok.disablePadding();
const lines = readFileSync(strPath, 'utf8').split('\n').filter((l) => l.length > 0);
const out = [];
for (const line of lines) {
  const s = JSON.parse(line);
  const enc = await tok.encode(s, null, { addSpecialTokens: false });
  const ids = Array.from(enc.getIds());
  const text = await tok.decode(ids, false);
  out.push(JSON.stringify({ ids, text }));
}
process.stdout.write(out.join('\n') + '\n');
