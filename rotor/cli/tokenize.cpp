// `rotor tokenize` and `rotor detokenize`: text on stdin to token ids on stdout and back, with a
// tiktoken encoding (by name or --ranks FILE).
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "rotor/cli/command.h"
#include "rotor/cli/text_input.h"
#include "rotor/core/error.h"
#include "rotor/core/threads.h"
#include "rotor/io/atomic_file.h"
#include "rotor/text/encodings.h"
#include "rotor/text/sentencepiece_processor.h"

namespace {

using rotor::text::SpecialMode;

struct TokenizerOptions {
  std::string encoding;
  std::string ranks;
  std::string pattern;
  std::string sp_model;
  bool allow_special = false, special_as_text = false, count = false, time = false;
  int threads = 0;
};

void add_tokenizer_options(CLI::App& cmd, TokenizerOptions& o) {
  cmd.add_option("--encoding", o.encoding,
                 "tiktoken encoding: gpt2, r50k_base, p50k_base, p50k_edit, cl100k_base, o200k_base");
  cmd.add_option("--ranks", o.ranks, "rank file (.tiktoken) instead of the encoding's installed one");
  cmd.add_option("--pattern", o.pattern,
                 "pre-tokenization pattern (gpt2, cl100k, o200k) for a --ranks file without --encoding (default: FILE.json)");
  cmd.add_option("--sp-model", o.sp_model, "use a sentencepiece .model file instead");
}

std::unique_ptr<rotor::text::BytePairEncoding> load_bpe(const TokenizerOptions& o) {
  if (!o.encoding.empty()) {
    ROTOR_CHECK(o.pattern.empty(), "--pattern goes with --ranks alone; --encoding ", o.encoding,
                " has its own pattern");
    return rotor::text::load_encoding(o.encoding, o.ranks.empty() ? std::nullopt : std::optional(o.ranks));
  }
  ROTOR_CHECK(!o.ranks.empty(), "give --encoding NAME, --ranks FILE [--pattern NAME], or --sp-model FILE");
  // A trained file (rotor bpe train) has FILE.json beside it with its pattern and special tokens.
  std::string pattern = o.pattern;
  std::vector<rotor::text::SpecialToken> specials;
  const std::string meta_path = o.ranks + ".json";
  if (std::filesystem::exists(meta_path)) {
    try {
      const auto meta = nlohmann::json::parse(rotor::io::read_file(meta_path));
      if (pattern.empty()) pattern = meta.at("pattern").get<std::string>();
      for (const auto& [text, id] : meta.at("special_tokens").items())
        specials.push_back({text, id.get<uint32_t>()});
    } catch (const nlohmann::json::exception& e) {
      throw rotor::Error(rotor::cat(meta_path, ": ", e.what()));
    }
  }
  ROTOR_CHECK(!pattern.empty(), "--ranks ", o.ranks, " without --encoding needs --pattern gpt2|cl100k|o200k");
  const auto ranks = rotor::text::load_tiktoken_ranks(o.ranks);
  return std::make_unique<rotor::text::BytePairEncoding>(o.ranks, ranks, rotor::text::parse_split_pattern(pattern),
                                                         std::move(specials));
}

// sentencepiece models work line by line, as spm_encode and spm_decode do: one output line per input
// line (a final line without a newline counts; a trailing newline does not add an empty line).
template <class Function>
void for_each_line(std::string_view text, Function&& function) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    function(text.substr(pos, end - pos));
    pos = end + 1;
  }
}

void tokenize_with_sentencepiece(const TokenizerOptions& o, const std::string& text) {
  ROTOR_CHECK(o.encoding.empty() && o.ranks.empty() && o.pattern.empty(),
              "--sp-model replaces --encoding, --ranks and --pattern");
  ROTOR_CHECK(!o.allow_special && !o.special_as_text,
              "--allow-special and --special-as-text apply to tiktoken encodings, not --sp-model");
  const rotor::text::SentencePieceProcessor sp(rotor::text::load_sentencepiece_model(o.sp_model));
  std::string out;
  size_t count = 0;
  for_each_line(text, [&](std::string_view line) {
    const auto ids = sp.encode(line);
    count += ids.size();
    for (size_t k = 0; k < ids.size(); ++k) {
      if (k) out += ' ';
      out += std::to_string(ids[k]);
    }
    out += '\n';
  });
  if (o.count) std::printf("%zu\n", count);
  else rotor::cli::write_stdout(out);
}

void setup_tokenize(CLI::App& cmd) {
  static TokenizerOptions o;
  add_tokenizer_options(cmd, o);
  auto* allow = cmd.add_flag("--allow-special", o.allow_special, "encode special tokens (e.g. <|endoftext|>) in the text");
  auto* as_text = cmd.add_flag("--special-as-text", o.special_as_text,
                               "encode text that spells a special token as ordinary text");
  allow->excludes(as_text);
  cmd.add_flag("--count", o.count, "print only the number of tokens");
  cmd.add_flag("--time", o.time, "encode three times; print the best time and MB/s on stderr (loading excluded)");
  rotor::cli::add_threads_option(cmd, o.threads);
  cmd.callback([] {
    if (!o.sp_model.empty()) {
      tokenize_with_sentencepiece(o, rotor::cli::read_all_stdin());
      return;
    }
    const auto bpe = load_bpe(o);
    const std::string text = rotor::cli::read_all_stdin();
    const SpecialMode mode = o.allow_special     ? SpecialMode::kAllow
                             : o.special_as_text ? SpecialMode::kAsText
                                                 : SpecialMode::kError;
    std::vector<uint32_t> ids;
    double seconds = 1e30, cpu_seconds = 1e30;
    auto cpu_now = [] {
      timespec t;
      clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
      return t.tv_sec + t.tv_nsec * 1e-9;
    };
    for (int run = 0; run < (o.time ? 3 : 1); ++run) {  // --time: best of three, as the peer scripts do
      const auto start = std::chrono::steady_clock::now();
      const double cpu_start = cpu_now();
      ids = bpe->encode(text, mode, rotor::num_threads());
      cpu_seconds = std::min(cpu_seconds, cpu_now() - cpu_start);
      seconds = std::min(seconds, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    if (o.time)
      std::fprintf(stderr, "tokenize: %zu bytes, %zu tokens, %d threads, best of 3: %.4f s, MB/s=%.2f, cpu %.4f s\n",
                   text.size(), ids.size(), rotor::num_threads(), seconds, text.size() / 1e6 / std::max(seconds, 1e-9),
                   cpu_seconds);
    if (o.count) {
      std::printf("%zu\n", ids.size());
      return;
    }
    rotor::cli::write_ids(ids);
  });
}

void setup_detokenize(CLI::App& cmd) {
  static TokenizerOptions o;
  add_tokenizer_options(cmd, o);
  cmd.callback([] {
    if (!o.sp_model.empty()) {
      ROTOR_CHECK(o.encoding.empty() && o.ranks.empty(), "--sp-model replaces --encoding and --ranks");
      const rotor::text::SentencePieceProcessor sp(rotor::text::load_sentencepiece_model(o.sp_model));
      std::string out;
      for_each_line(rotor::cli::read_all_stdin(), [&](std::string_view line) {
        out += sp.decode(rotor::cli::parse_ids(line));
        out += '\n';
      });
      rotor::cli::write_stdout(out);
      return;
    }
    const auto bpe = load_bpe(o);
    const std::vector<uint32_t> ids = rotor::cli::parse_ids(rotor::cli::read_all_stdin());
    rotor::cli::write_stdout(bpe->decode(ids));
  });
}

const bool registered_tokenize =
    rotor::cli::register_command("tokenize", "encode text on stdin into token ids (tiktoken BPE)", setup_tokenize);
const bool registered_detokenize =
    rotor::cli::register_command("detokenize", "decode token ids on stdin into text", setup_detokenize);

}  // namespace
