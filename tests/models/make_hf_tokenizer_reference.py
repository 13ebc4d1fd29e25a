"""Writes the tokenizer.json files and expected ids that tests/cli/hf_tokenizer_test.sh checks `rotor sample
--prompt` against, independently of rotor: two small byte-level BPE tokenizers in Hugging Face's format, built
from the first 1000 ranks of tiktoken's r50k_base (GPT-2 style: ByteLevel pre-tokenizer with its regex) and
cl100k_base (LLaMA 3 style: Split by the cl100k pattern, ByteLevel without regex, ignore_merges, a
TemplateProcessing BOS). The merges are derived from the ranks (each token's last merge); the expected ids come
from Hugging Face's algorithm written out here: added tokens split out first, the pre-tokenizer's pattern
(Python's re with Unicode classes spelled for the test texts: letters [^\\W\\d_], digits \\d), then repeated
merging of the adjacent pair with the lowest merge index. Run from the repository root:
  /usr/bin/python3 tests/models/make_hf_tokenizer_reference.py /work/shared/data/tiktoken"""
import base64, json, os, re, sys

src = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data/tiktoken"
out = "tests/models/data/tokenizers"
N = 1000

def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b); cs.append(256 + n); n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}
B2U = bytes_to_unicode()
def u(bs): return "".join(B2U[b] for b in bs)

def load(name):
    ranks = {}
    for line in open(os.path.join(src, name + ".tiktoken"), "rb"):
        tok, r = line.split()
        if int(r) < N: ranks[base64.b64decode(tok)] = int(r)
    return ranks

def last_merge(tok, ranks):
    parts = [bytes([b]) for b in tok]
    while len(parts) > 2:
        best = min(range(len(parts) - 1), key=lambda i: ranks.get(parts[i] + parts[i + 1], 1 << 30))
        assert parts[best] + parts[best + 1] in ranks
        parts[best:best + 2] = [parts[best] + parts[best + 1]]
    return parts

def build(ranks):
    vocab = {u(t): r for t, r in ranks.items()}
    merges = []
    for t, r in sorted(ranks.items(), key=lambda x: x[1]):
        if len(t) > 1:
            a, b = last_merge(t, {k: v for k, v in ranks.items() if v < r})
            merges.append(f"{u(a)} {u(b)}")
    return vocab, merges

def hf_bpe(word, merge_rank, vocab, ignore_merges):
    if ignore_merges and word in vocab: return [vocab[word]]
    parts = list(word)
    while len(parts) > 1:
        pairs = [(merge_rank.get((parts[i], parts[i + 1]), 1 << 30), i) for i in range(len(parts) - 1)]
        r, i = min(pairs)
        if r == 1 << 30: break
        a, b = parts[i], parts[i + 1]
        new, j = [], 0
        while j < len(parts):  # every occurrence of the best pair, left to right
            if j + 1 < len(parts) and parts[j] == a and parts[j + 1] == b: new.append(a + b); j += 2
            else: new.append(parts[j]); j += 1
        parts = new
    return [vocab[p] for p in parts]

GPT2 = r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+"""
CL100K = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|(?:[^\r\n\w]|_)?[^\W\d_]+|\d{1,3}| ?(?:[^\s\w]|_)+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""

def encode(text, vocab, merges, added, pattern, ignore_merges, prefix):
    merge_rank = {tuple(m.split(" ")): i for i, m in enumerate(merges)}
    ids = list(prefix)
    pieces = re.split("(" + "|".join(re.escape(a) for a in added) + ")", text) if added else [text]
    for piece in pieces:
        if piece in added: ids.append(added[piece]); continue
        for w in re.findall(pattern, piece):
            ids += hf_bpe(u(w.encode()), merge_rank, vocab, ignore_merges)
    return ids

CASES = ["Hello world", "In the beginning God created the heaven and the earth.",
         "It's 2024, they'll say: I'm here -- 12345 apples!!",
         "  two  spaces,\ttab and\nnew lines\n\nhere ", "caf\u00e9 na\u00efve \u2014 dash_under_score",
         "first<|endoftext|>second", "I'VE DONE IT'S 1234567"]

for name, enc, pattern, ignore, special in [("gpt2_style", "r50k_base", GPT2, False, "<|endoftext|>"),
                                            ("llama3_style", "cl100k_base", CL100K, True, "<|begin_of_text|>")]:
    ranks = load(enc)
    assert len(ranks) == N
    vocab, merges = build(ranks)
    added = {special: N}
    vocab[special] = N
    if name == "gpt2_style":
        pre = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
        post = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True}
        prefix = []
    else:
        pre = {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
             "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
        post = {"type": "Sequence", "processors": [
            {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
            {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": special, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
             "pair": [], "special_tokens": {special: {"id": special, "ids": [N], "tokens": [special]}}}]}
        prefix = [N]
    tj = {"version": "1.0", "truncation": None, "padding": None,
          "added_tokens": [{"id": N, "content": special, "single_word": False, "lstrip": False, "rstrip": False,
                            "normalized": False, "special": True}],
          "normalizer": None, "pre_tokenizer": pre, "post_processor": post,
          "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
          "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                    "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": ignore,
                    "vocab": vocab, "merges": merges}}
    texts = [t.replace("<|endoftext|>", special) for t in CASES]  # each tokenizer's own special token
    cases = [[t, encode(t, vocab, merges, added, pattern, ignore, prefix)] for t in texts]
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    json.dump(tj, open(os.path.join(d, "tokenizer.json"), "w"), ensure_ascii=False)
    json.dump(cases, open(os.path.join(d, "expected.json"), "w"), ensure_ascii=False, indent=0)
    print(name, len(merges), "merges", [len(c[1]) for c in cases])
