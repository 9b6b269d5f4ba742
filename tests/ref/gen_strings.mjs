// gen_strings.mjs SEED COUNT — random and adversarial strings for the differential tokenizer
// test, one JSON string per line, the same for the same SEED (mulberry32).  Only valid Unicode
// (no lone surrogates): the reference takes Rust strings.
const seed = Number(process.argv[2] ?? 1234);
const count = Number(process.argv[3] ?? 3000);

let st = seed >>> 0;
function rnd() {          // mulberry32
  st = (st + 0x6d2b79f5) >>> 0;
  let t = st;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const ri = (n) => Math.floor(rnd() * n);
const pick = (a) => a[ri(a.length)];
const cp = (c) => String.fromCodePoint(c);

const scripts = [
  [0x20, 0x7e], [0xa0, 0xff], [0x100, 0x17f], [0x370, 0x3ff], [0x400, 0x4ff], [0x530, 0x58f],
  [0x590, 0x5ff], [0x600, 0x6ff], [0x900, 0x97f], [0x980, 0x9ff], [0xe00, 0xe7f], [0x1780, 0x17ff],
  [0x10a0, 0x10ff], [0x3040, 0x30ff], [0x4e00, 0x4fff], [0xac00, 0xad00], [0x2000, 0x206f],
  [0x2100, 0x22ff], [0x2460, 0x24ff], [0x2500, 0x257f], [0xff00, 0xffef], [0x1f300, 0x1f6ff],
  [0x1f900, 0x1f9ff], [0x1d400, 0x1d4ff], [0x0300, 0x036f], [0x2150, 0x218f], [0x10000, 0x1007f],
];
const ws = [' ', '  ', '   ', '\t', '\n', '\r', '\r\n', '\n\n', ' \n ', '\u000b', '\u000c', '\u00a0',
  '\u3000', '\u2009', '\u0085', '\u200b', '\u2028', '\u2029', '\ufeff', '\u1680', '\u202f', ' \t\n'];
const contractions = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'LL", "'D", "’s",
  "n't", "I'm", "you're", "it's", "'", "''", "' s"];
const specials = ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<|start_story|>', '<|end_story|>',
  '<unk>', '<s>', '</s>', '<|im_', '<|endoftext|', '< |endoftext|>', '<|im_start|>user\n', '▁<unk>',
  '<repo_name>', '<file_sep>', '<0x41>', '<|endoftext|><|endoftext|>', '<reponame>', 'a<repo_name>b',
  ' <reponame>  ', '<|im_end|>\n\n', '\t<|im_start|>', ' <repo_name>'];
const digits = ['0', '7', '42', '123', '2024', '3.14159', '1,000,000', '٣٤٥', '０１２', '½', '²', '³⁴',
  'Ⅻ', '१२३', '๓', '00000000000', '9'.repeat(40), '1e-5', '0x1F'];
const emoji = ['😀', '👍🏽', '👨‍👩‍👧‍👦', '🏳️‍🌈', '🇫🇷', '❤️', '✅', '🦙', '👩🏿‍💻', '🤷‍♀️', '©️', '1️⃣', '🫠'];
const words = ['the', 'The', ' cat', 'Hello', 'world', 'Tim', 'Lily', 'once', 'upon', 'a', 'time',
  'naïve', 'Straße', 'ÉCOLE', 'résumé', 'Ġ', 'Ċ', '▁', '▁▁', 'über', 'ПРИВЕТ', 'привет', 'こんにちは',
  '中文', '한국어', 'مرحبا', 'שלום', 'नमस्ते', 'สวัสดี', 'e\u0301', 'A\u030a', 'ﬁ', 'Ω', 'ǅ'];
const punct = ['.', ',', '!', '?', '...', '!!!', '--', '—', '(', ')', '"', '“', '”', '«»', '@', '#',
  '$', '%', '^&*', '_', '__init__', '->', '=>', '::', '{}', '[]', '/*', '\\', '|', '~', '`'];

function randomScript(n) {
  const [lo, hi] = pick(scripts);
  let s = '';
  for (let i = 0; i < n; i++) {
    let c = lo + ri(hi - lo + 1);
    if (c >= 0xd800 && c <= 0xdfff) c = 0x41;
    s += cp(c);
  }
  return s;
}
function fragment() {
  switch (ri(11)) {
    case 0: return randomScript(1 + ri(12));
    case 1: return pick(ws).repeat(1 + ri(3));
    case 2: return pick(contractions);
    case 3: return pick(specials);
    case 4: return pick(digits);
    case 5: return pick(emoji);
    case 6: return pick(words);
    case 7: return pick(punct);
    case 8: return pick(words).repeat(1 + ri(4));
    case 9: return ' ';
    default: return (rnd() < 0.5 ? ' ' : '') + pick(words);
  }
}
function longWord() {
  const base = pick(['a', 'ab', 'xyz', 'é', '中', '1', ' ', '\n', '!', '😀', 'the']);
  return base.repeat(20 + ri(300));
}

const out = [];
for (let i = 0; i < count; i++) {
  let s;
  const k = ri(20);
  if (k === 0) s = longWord();
  else if (k === 1) s = randomScript(1 + ri(80));
  else if (k === 2) {        // paragraph-length: long words are cut inside SentencePiece-style BPE
    s = '';
    const n = 40 + ri(120);
    for (let j = 0; j < n; j++) s += rnd() < 0.7 ? (rnd() < 0.8 ? ' ' : '') + pick(words) + pick(['', '', '.', ',', '!']) : fragment();
  }
  else {
    s = '';
    const n = 1 + ri(14);
    for (let j = 0; j < n; j++) s += fragment();
  }
  out.push(JSON.stringify(s));
}
process.stdout.write(out.join('\n') + '\n');
