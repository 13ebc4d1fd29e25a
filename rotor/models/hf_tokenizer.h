#pragma once
// The tokenizer of a Hugging Face model directory, for `rotor sample --prompt TEXT`:
//
// - tokenizer.json with model.type "BPE" over bytes (GPT-2 and LLaMA 3 style): the vocabulary's strings
//   are GPT-2's byte-to-character mapping of the token bytes, the pre-tokenizer is ByteLevel (use_regex:
//   GPT-2's pattern) or a Split by the cl100k / LLaMA 3 pattern followed by ByteLevel without regex.
//   Encoding is rotor/text's byte-level BPE with the token ids as merge ranks, which equals Hugging
//   Face's merge-list order when the merges produce tokens in increasing id order (checked at load; a
//   file where that does not hold is rejected). Added tokens are special tokens, recognised in the text;
//   a TemplateProcessing post-processor's special tokens around the sequence (e.g. LLaMA 3's
//   <|begin_of_text|>) are added.
// - else tokenizer.model (sentencepiece, LLaMA 1/2): rotor/text's sentencepiece processor, with the BOS
//   id (config.json's bos_token_id) first unless tokenizer_config.json has "add_bos_token": false (and
//   EOS last with "add_eos_token": true).
//
// Anything else (another model type or pre-tokenizer, a malformed file) is an error naming the file.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace rotor::text {
class BytePairEncoding;
class SentencePieceProcessor;
}  // namespace rotor::text

namespace rotor::models {

class HfTokenizer {
 public:
  ~HfTokenizer();
  HfTokenizer(HfTokenizer&&) noexcept;

  // Loads DIR/tokenizer.json, else DIR/tokenizer.model; throws when neither exists or it is unusable.
  static HfTokenizer load(const std::string& dir);
  // True when the directory has either file.
  static bool available(const std::string& dir);

  // Ids of the text, with the tokens the tokenizer adds around a sequence (BOS) when add_special.
  std::vector<int32_t> encode(const std::string& text, bool add_special = true) const;
  // Text of the ids (special tokens spelled out by BPE tokenizers, dropped by sentencepiece).
  std::string decode(const std::vector<int32_t>& ids) const;
  const std::string& source() const { return source_; }

 private:
  HfTokenizer() = default;
  std::string source_;
  std::unique_ptr<text::BytePairEncoding> bpe_;
  std::unique_ptr<text::SentencePieceProcessor> sp_;
  std::vector<int32_t> prefix_, suffix_;  // added around each encoded sequence
};

}  // namespace rotor::models
