#include "rotor/models/hf_tokenizer.h"

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "rotor/core/error.h"
#include "rotor/io/atomic_file.h"
#include "rotor/text/byte_pair_encoding.h"
#include "rotor/text/sentencepiece_processor.h"

namespace rotor::models {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The cl100k_base pattern (LLaMA 3's tokenizer.json spells the same one).
const char* const kCl100kRegex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

json read_json(const std::string& path) {
  json j = json::parse(io::read_file(path), nullptr, /*allow_exceptions=*/false);
  ROTOR_CHECK(!j.is_discarded(), path, ": not valid JSON");
  return j;
}

// Inverse of GPT-2's bytes_to_unicode: byte b maps to itself for printable bytes ('!'..'~', 0xA1..0xAC,
// 0xAE..0xFF) and to 256 + (its index among the others) otherwise.
std::map<uint32_t, unsigned char> unicode_to_byte() {
  std::map<uint32_t, unsigned char> m;
  uint32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
    m[printable ? uint32_t(b) : next++] = static_cast<unsigned char>(b);
  }
  return m;
}

// The bytes a byte-level vocabulary string stands for; false when it has a character outside the map.
bool byte_level_bytes(const std::string& s, const std::map<uint32_t, unsigned char>& map, std::string& out) {
  out.clear();
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    uint32_t cp;
    int n;
    if (c < 0x80) cp = c, n = 1;
    else if ((c >> 5) == 6) cp = c & 0x1F, n = 2;
    else if ((c >> 4) == 14) cp = c & 0x0F, n = 3;
    else return false;
    if (i + n > s.size()) return false;
    for (int k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    auto it = map.find(cp);
    if (it == map.end()) return false;
    out += static_cast<char>(it->second);
    i += n;
  }
  return true;
}

// GPT-2's pattern when the pre-tokenizer is ByteLevel with its regex; cl100k for Split(cl100k pattern)
// then ByteLevel without regex.
text::SplitPattern split_pattern(const json& pre, const std::string& path) {
  auto is_byte_level = [](const json& p) { return p.is_object() && p.value("type", "") == "ByteLevel"; };
  if (is_byte_level(pre) && pre.value("use_regex", true)) return text::SplitPattern::kGpt2;
  if (pre.is_object() && pre.value("type", "") == "Sequence" && pre.contains("pretokenizers")) {
    const json& seq = pre["pretokenizers"];
    if (seq.is_array() && seq.size() == 2 && is_byte_level(seq[1]) && !seq[1].value("use_regex", true) &&
        seq[0].value("type", "") == "Split" && seq[0].contains("pattern") && seq[0]["pattern"].is_object() &&
        seq[0]["pattern"].value("Regex", "") == kCl100kRegex)
      return text::SplitPattern::kCl100k;
  }
  ROTOR_CHECK(false, path, ": pre_tokenizer ", pre.dump().substr(0, 120),
              " is not supported (ByteLevel, or Split by the cl100k/LLaMA 3 pattern then ByteLevel)");
  return text::SplitPattern::kGpt2;
}

int32_t json_id(const json& v, const std::string& path, const std::string& what) {
  ROTOR_CHECK(v.is_number_integer() && v.get<int64_t>() >= 0 && v.get<int64_t>() < (int64_t(1) << 24), path, ": ",
              what, " must be a token id, got ", v.dump());
  return v.get<int32_t>();
}

// The special tokens a TemplateProcessing post-processor puts before and after the single sequence.
void template_tokens(const json& post, const std::string& path, std::vector<int32_t>& prefix,
                     std::vector<int32_t>& suffix) {
  if (!post.is_object()) return;
  if (post.value("type", "") == "Sequence" && post.contains("processors") && post["processors"].is_array()) {
    for (const json& p : post["processors"]) template_tokens(p, path, prefix, suffix);
    return;
  }
  if (post.value("type", "") != "TemplateProcessing") return;
  ROTOR_CHECK(post.contains("single") && post["single"].is_array(), path, ": TemplateProcessing without 'single'");
  bool seen_sequence = false;
  for (const json& item : post["single"]) {
    if (item.contains("Sequence")) {
      seen_sequence = true;
      continue;
    }
    ROTOR_CHECK(item.contains("SpecialToken") && item["SpecialToken"].contains("id"), path,
                ": TemplateProcessing item ", item.dump(), " is neither a Sequence nor a SpecialToken");
    const std::string name = item["SpecialToken"]["id"].get<std::string>();
    const json& specials = post.value("special_tokens", json::object());
    ROTOR_CHECK(specials.contains(name) && specials[name].contains("ids") && specials[name]["ids"].is_array(), path,
                ": TemplateProcessing names special token ", name, " without its ids");
    for (const json& id : specials[name]["ids"])
      (seen_sequence ? suffix : prefix).push_back(json_id(id, path, "special token " + name));
  }
}

}  // namespace

HfTokenizer::~HfTokenizer() = default;
HfTokenizer::HfTokenizer(HfTokenizer&&) noexcept = default;

bool HfTokenizer::available(const std::string& dir) {
  std::error_code ec;
  return fs::is_regular_file(fs::path(dir) / "tokenizer.json", ec) ||
         fs::is_regular_file(fs::path(dir) / "tokenizer.model", ec);
}

HfTokenizer HfTokenizer::load(const std::string& dir) {
  std::error_code ec;
  HfTokenizer t;
  const std::string json_path = (fs::path(dir) / "tokenizer.json").string();
  const std::string sp_path = (fs::path(dir) / "tokenizer.model").string();
  if (fs::is_regular_file(json_path, ec)) {
    t.source_ = json_path;
    const json j = read_json(json_path);
    ROTOR_CHECK(j.is_object() && j.contains("model") && j["model"].is_object(), json_path, ": no 'model' object");
    const json& model = j["model"];
    const std::string type = model.value("type", "");
    ROTOR_CHECK(type == "BPE", json_path, ": tokenizer model type '", type,
                "' is not supported (byte-level BPE only)");
    ROTOR_CHECK(model.contains("vocab") && model["vocab"].is_object(), json_path, ": model.vocab is missing");
    ROTOR_CHECK(model.contains("merges") && model["merges"].is_array(), json_path, ": model.merges is missing");
    const text::SplitPattern pattern = split_pattern(j.value("pre_tokenizer", json()), json_path);
    // added tokens: specials, taken out of the ranked vocabulary
    std::vector<text::SpecialToken> specials;
    std::map<int32_t, bool> added;
    if (j.contains("added_tokens") && j["added_tokens"].is_array())
      for (const json& a : j["added_tokens"]) {
        ROTOR_CHECK(a.is_object() && a.contains("content") && a["content"].is_string() && a.contains("id"), json_path,
                    ": malformed added token ", a.dump().substr(0, 80));
        const int32_t id = json_id(a["id"], json_path, "an added token's id");
        specials.push_back({a["content"].get<std::string>(), static_cast<uint32_t>(id)});
        added[id] = true;
      }
    const auto map = unicode_to_byte();
    std::vector<text::RankedToken> ranks;
    std::map<std::string, int32_t> vocab;  // byte-level string -> id
    std::string bytes;
    for (const auto& [s, v] : model["vocab"].items()) {
      const int32_t id = json_id(v, json_path, "vocab entry '" + s + "'");
      vocab[s] = id;
      if (added.count(id)) continue;
      ROTOR_CHECK(byte_level_bytes(s, map, bytes), json_path, ": vocab entry '", s,
                  "' is not a byte-level token (GPT-2's byte-to-character mapping)");
      ranks.push_back({bytes, static_cast<uint32_t>(id)});
    }
    // Merge i makes token id m_i; rank order equals merge order when m_i increases with i, and every
    // multi-byte token is made by some merge.
    int32_t last = -1;
    std::map<int32_t, bool> made;
    for (const json& m : model["merges"]) {
      std::string a, b;
      if (m.is_string()) {
        const std::string s = m.get<std::string>();
        const size_t sp = s.find(' ');
        ROTOR_CHECK(sp != std::string::npos && sp > 0 && sp + 1 < s.size(), json_path, ": merge '", s,
                    "' is not two tokens");
        a = s.substr(0, sp), b = s.substr(sp + 1);
      } else {
        ROTOR_CHECK(m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string(), json_path, ": merge ",
                    m.dump().substr(0, 80), " is not two tokens");
        a = m[0].get<std::string>(), b = m[1].get<std::string>();
      }
      ROTOR_CHECK(vocab.count(a) && vocab.count(b) && vocab.count(a + b), json_path, ": merge '", a, " ", b,
                  "' uses or makes a token that is not in the vocabulary");
      const int32_t id = vocab[a + b];
      ROTOR_CHECK(id > last, json_path, ": merge '", a, " ", b, "' makes token ", id, " after token ", last,
                  "; merges out of token-id order are not supported");
      last = id;
      made[id] = true;
    }
    for (const auto& r : ranks)
      ROTOR_CHECK(r.bytes.size() == 1 || made.count(static_cast<int32_t>(r.rank)), json_path, ": token ", r.rank,
                  " is neither a single byte nor made by a merge; not supported");
    t.bpe_ = std::make_unique<text::BytePairEncoding>(json_path, ranks, pattern, std::move(specials));
    template_tokens(j.value("post_processor", json()), json_path, t.prefix_, t.suffix_);
    return t;
  }
  ROTOR_CHECK(fs::is_regular_file(sp_path, ec), dir, ": no tokenizer.json or tokenizer.model (give the prompt as --ids)");
  t.source_ = sp_path;
  t.sp_ = std::make_unique<text::SentencePieceProcessor>(text::load_sentencepiece_model(sp_path));
  bool add_bos = true, add_eos = false;
  const std::string tc = (fs::path(dir) / "tokenizer_config.json").string();
  if (fs::is_regular_file(tc, ec)) {
    const json j = read_json(tc);
    add_bos = j.value("add_bos_token", true);
    add_eos = j.value("add_eos_token", false);
  }
  const json config = read_json((fs::path(dir) / "config.json").string());
  auto config_id = [&](const char* key) {
    ROTOR_CHECK(config.contains(key) && config[key].is_number_integer(), dir, "/config.json: ", key,
                " is needed to add it to the prompt (tokenizer_config.json)");
    return json_id(config[key], dir + "/config.json", key);
  };
  if (add_bos) t.prefix_.push_back(config_id("bos_token_id"));
  if (add_eos) t.suffix_.push_back(config_id("eos_token_id"));
  return t;
}

std::vector<int32_t> HfTokenizer::encode(const std::string& text, bool add_special) const {
  std::vector<int32_t> out;
  if (add_special) out = prefix_;
  const std::vector<uint32_t> ids = bpe_ ? bpe_->encode(text, text::SpecialMode::kAllow) : sp_->encode(text);
  out.insert(out.end(), ids.begin(), ids.end());
  if (add_special) out.insert(out.end(), suffix_.begin(), suffix_.end());
  return out;
}

std::string HfTokenizer::decode(const std::vector<int32_t>& ids) const {
  const std::vector<uint32_t> u(ids.begin(), ids.end());
  return bpe_ ? bpe_->decode(u) : sp_->decode(u);
}

}  // namespace rotor::models
