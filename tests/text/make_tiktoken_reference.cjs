// Generates the tiktoken reference ids that tests/text/tiktoken_reference_test.cpp compares against.
// Run: NODE_PATH=/tmp/rotor-peers-npm/node_modules node tests/text/make_tiktoken_reference.cjs
// (npm packages `tiktoken` and `gpt-tokenizer`, installed by ../shared/peers/setup-peers.sh).
// Writes tests/text/reference/tiktoken_cases.json (text, ids per encoding) and
// tests/text/reference/tiktoken_kjv.json (count and hashes of the ids of the whole King James text).
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const { get_encoding } = require('tiktoken');
const tiktokenVersion = JSON.parse(fs.readFileSync(path.join(path.dirname(require.resolve('tiktoken')),
  'package.json'), 'utf8')).version;

const encodings = ['gpt2', 'r50k_base', 'p50k_base', 'p50k_edit', 'cl100k_base', 'o200k_base'];
const outDir = path.join(__dirname, 'reference');

// Hand-picked cases: scripts, code, emoji, numbers, whitespace runs, contractions, pattern corners.
const fixed = [
  '', ' ', '  ', '\n', '\n\n', ' \n', '\n ', '\t', 'a', 'A', "'", "''", "'s", "'S", "'ſ",
  'Hello, world!', 'hello world', '  leading spaces', 'trailing spaces   ', 'a  b   c    d',
  "I'm sure you'll see they've done it, haven't they? We'd, we're, it's",
  "I'M SURE YOU'LL SEE THEY'VE DONE IT, HAVEN'T THEY? WE'D, WE'RE, IT'S",
  "I'm SuRe You'Ll sEe ThEy'vE; 'tis 'Twas 're 'Ve 'LL 'lL 'D 'M 'sam 'Tom",
  "don't DON'T Don'T don’t o'clock rock'n'roll '90s 'ſ 'ſt x'ſ DOGſ'S",
  '1234567890 12 345 6789 3.14159 -42 +7 1e10 0x1F 1,000,000 ½ ² ³ ٣٤٥٦ ⅫⅣ 𝟎𝟏𝟐𝟑',
  'The quick brown fox jumps over the lazy dog.\nTHE QUICK BROWN FOX.\r\nthe end\r\n',
  'Привет, мир! Как дела? ПРИВЕТ Мир',
  'Γειά σου Κόσμε! ΑΒΓΔ αβγδ ς',
  'こんにちは世界。カタカナ、ひらがな、漢字。ラーメンー',
  '你好，世界！我爱北京天安门。',
  '안녕하세요 세계',
  'مرحبا بالعالم! ١٢٣ العربية',
  'שלום עולם',
  'नमस्ते दुनिया। हिन्दी में लिखा है।',
  'สวัสดีชาวโลก',
  'Ελληνικά, Ǆemal ǅemal ǆemal ǈ ǉ ǋ',
  'e\u0301 E\u0301 \u0301abc \u0301ABC a\u0301\u0301b A\u0301B \u20DDx x\u20DD \u0903क',
  'ʰʲ ʰa Aʰ aʰB ー ゝ 々 ˈhello',
  'emoji 😀😃😄 👍🏽 👨‍👩‍👧‍👦 🇺🇸 ❤️ ✨',
  'math 𝐀𝐁𝐂 𝐚𝐛𝐜 𝑥 ∑∫√∞ ≤≥≠',
  'nbsp\u00a0here\u00a0\u00a0two ideographic\u3000space line\u2028sep para\u2029sep nel\u0085x vt\u000bff\u000c',
  'zwj\u200dzwnj\u200c bom\ufeffx soft\u00adhyphen',
  '   \n\n   \t\t  \r\n  x  \n',
  '\n\n\nfoo\n\n\n   bar   \n',
  'a\tb\t\tc\t\t\td',
  '!!! ??? ... --- *** /// \\\\\\ ((( ))) [[[ ]]] {{{ }}}',
  'path/to/file.txt //comment /*block*/ http://example.com/a/b?c=d&e=f#g',
  '.\n/ ./\n// x/\n\n/y /\r\n/',
  'def foo(x, y):\n    return x + y  # add\n\n\nclass Bar:\n    pass\n',
  'int main(int argc, char** argv) {\n\tprintf("%d\\n", argc);\n\treturn 0;\n}\n',
  'for (let i = 0; i < 10; i++) { console.log(`i=${i}`); }',
  '<html><body><p class="x">Hi</p></body></html>',
  '{"key": [1, 2, 3], "nested": {"a": null, "b": true}}',
  'SELECT * FROM users WHERE id = 42 AND name LIKE \'%bob%\';',
  '$$$ €€€ £100 ¥200 ₹300 ₿ 100% @user #hashtag',
  'camelCaseWord PascalCaseWord snake_case_word SCREAMING_CASE kebab-case-word',
  'HTTPServer XMLHttpRequest iPhone eBay McDonald ABCdef ABCDEFghi aBC',
  'ﬁ ﬂ ﬀ Å K Ω ß ẞ İ ı',
  '\u00a0x \u00a0\u00a0x \u3000x \u3000\u3000x \tx \t\tx',
  'x \u0301 \u0301x .\u0301x \u0301\u0301X',
  "''''' 'a 'ab ' s ' ll",
  '123abc abc123 a1b2c3 ٣abc',
  'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
  '                                                                                ',
  '\n'.repeat(40),
  '0123456789'.repeat(10),
  'supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis',
];

// Generated cases: a fixed-seed generator drawing from a pool that covers every character class the
// patterns distinguish.
let seed = 12345;
function rand() {  // mulberry32
  seed = (seed + 0x6D2B79F5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pool = [
  'a', 'b', 'e', 'l', 'd', 's', 't', 'm', 'r', 'v', 'A', 'B', 'E', 'L', 'D', 'S', 'T', 'M', 'R', 'V',
  'x', 'Z', "'", "'", "'", ' ', ' ', ' ', ' ', '\t', '\n', '\n', '\r', '0', '7', '9', '.', ',', '!', '/', '-',
  '_', '(', '"', '<', '|', '>', 'é', 'É', 'ß', 'ſ', 'ǅ', 'ʰ', 'ー', '中', 'א', 'ب', 'क', '\u0301', '\u0903',
  '\u20DD', '٣', 'Ⅻ', '½', '²', '\u00a0', '\u3000', '\u2028', '\u0085', '😀', '👍', '\u200d', '\ufeff',
  '𝐀', '𝐚', '𝟎', 'Ж', 'ж', '€', '¿', '—',
];
const words = ["'s", "'S", "'t", "'T", "'re", "'RE", "'rE", "'ve", "'Ve", "'m", "'M", "'ll", "'LL", "'lL",
  "'d", "'D", 'the', 'The', 'THE', 'hello', 'HELLO', 'Hello', '  ', '\n\n', ' \n ', '123456', '<|endoftext|>',
  '<|endofprompt|>', '<|fim_prefix|>'];
const generated = [];
for (let k = 0; k < 400; ++k) {
  const len = 1 + Math.floor(rand() * 40);
  let s = '';
  for (let i = 0; i < len; ++i) s += rand() < 0.2 ? words[Math.floor(rand() * words.length)] : pool[Math.floor(rand() * pool.length)];
  generated.push(s);
}

const specials = ['<|endoftext|>', '<|fim_prefix|>', '<|fim_middle|>', '<|fim_suffix|>', '<|endofprompt|>'];
const cases = [];
const encs = Object.fromEntries(encodings.map((e) => [e, get_encoding(e)]));
for (const text of fixed.concat(generated)) {
  const entry = { text, ordinary: {}, allowed: {} };
  for (const e of encodings) {
    // encode_ordinary semantics (special tokens as text) and allowed_special="all".
    entry.ordinary[e] = Array.from(encs[e].encode_ordinary(text));
    entry.allowed[e] = Array.from(encs[e].encode(text, 'all'));
  }
  // Whether the default (disallowed_special="all") raises.
  entry.default_raises = {};
  for (const e of encodings) {
    let raises = false;
    try { encs[e].encode(text); } catch (err) { raises = true; }
    entry.default_raises[e] = raises;
  }
  cases.push(entry);
}
fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(path.join(outDir, 'tiktoken_cases.json'), JSON.stringify({ generator: 'tiktoken npm ' + tiktokenVersion, cases }) + '\n');

// The King James text (Debian bible-kjv): count and two 32-bit hashes of the ids.
const kjv = execFileSync('bible', ['gen1:1-rev22:21'], { maxBuffer: 64 << 20 }).toString('utf8');
function hashes(ids) {
  let h1 = 2166136261, h2 = 0x9747b28c;
  for (const id of ids) {
    h1 = Math.imul(h1 ^ id, 16777619) >>> 0;
    h2 = (Math.imul(h2 ^ id, 0x5bd1e995) + 0x1b873593) >>> 0;
  }
  return [h1, h2];
}
const kjvRef = { generator: 'tiktoken npm ' + tiktokenVersion, bytes: Buffer.byteLength(kjv), encodings: {} };
for (const e of encodings) {
  const ids = encs[e].encode_ordinary(kjv);
  const [h1, h2] = hashes(ids);
  kjvRef.encodings[e] = { count: ids.length, fnv: h1, mur: h2, first: Array.from(ids.slice(0, 20)) };
}
fs.writeFileSync(path.join(outDir, 'tiktoken_kjv.json'), JSON.stringify(kjvRef, null, 1) + '\n');
console.log(`wrote ${cases.length} cases and the KJV summary to ${outDir}`);
