// `rotor bpe train`: learn a byte-level BPE vocabulary (tiktoken rank file) from text files.
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rotor/cli/command.h"
#include "rotor/cli/progress.h"
#include "rotor/core/error.h"
#include "rotor/core/threads.h"
#include "rotor/io/atomic_file.h"
#include "rotor/text/bpe_trainer.h"
#include "rotor/text/unicode_class.h"

namespace {

struct TrainOptions {
  std::vector<std::string> inputs;
  size_t vocab_size = 0;
  std::string pattern = "cl100k";
  std::string out;
  std::vector<std::string> specials{"<|endoftext|>"};
  uint64_t min_frequency = 2;
  int threads = 0;
};

void setup(CLI::App& cmd) {
  cmd.require_subcommand(1, 1);
  CLI::App* train = cmd.add_subcommand("train", "learn a byte-level BPE from text files");
  static TrainOptions o;
  train->add_option("--input", o.inputs, "UTF-8 text files")->required()->expected(1, -1);
  train->add_option("--vocab-size", o.vocab_size, "ordinary tokens (the 256 bytes included; specials extra)")
      ->required();
  train->add_option("--pattern", o.pattern, "pre-tokenization pattern: gpt2, cl100k or o200k")
      ->capture_default_str();
  train->add_option("--out", o.out, "output rank file (.tiktoken); FILE.json records pattern and specials")
      ->required();
  train->add_option("--special", o.specials, "special tokens, ids after the vocabulary")->capture_default_str();
  train->add_option("--min-frequency", o.min_frequency, "do not merge pairs seen fewer times")
      ->capture_default_str();
  rotor::cli::add_threads_option(*train, o.threads);
  train->callback([] {
    using namespace rotor::text;
    const auto start = std::chrono::steady_clock::now();
    const SplitPattern pattern = parse_split_pattern(o.pattern);
    ROTOR_CHECK(o.vocab_size >= 256, "bpe train: --vocab-size ", o.vocab_size,
                " is below 256 (the single bytes alone need 256)");
    std::vector<std::string> contents;
    for (const auto& path : o.inputs) {
      contents.push_back(rotor::io::read_file(path));
      const size_t bad = find_invalid_utf8(contents.back());
      ROTOR_CHECK(bad == contents.back().size(), path, ": not valid UTF-8 at byte offset ", bad);
    }
    std::vector<std::string_view> texts(contents.begin(), contents.end());
    size_t total_bytes = 0;
    for (auto t : texts) total_bytes += t.size();
    ROTOR_CHECK(total_bytes > 0, "bpe train: the corpus (", o.inputs.size(), " files) is empty");
    const PieceCounts pieces = count_pieces(texts, pattern, rotor::num_threads());
    rotor::cli::Progress progress("bpe train", static_cast<int64_t>(o.vocab_size));
    BpeTrainOptions options;
    options.vocab_size = o.vocab_size;
    options.pattern = pattern;
    options.min_frequency = o.min_frequency;
    const auto tokens = train_bpe(pieces, options, [&](size_t n) { progress.update(static_cast<int64_t>(n)); });
    nlohmann::json meta;
    meta["pattern"] = split_pattern_name(pattern);
    meta["special_tokens"] = nlohmann::json::object();
    uint32_t next_id = static_cast<uint32_t>(tokens.size());
    for (const auto& special : o.specials) {
      ROTOR_CHECK(!special.empty(), "bpe train: empty --special");
      ROTOR_CHECK(!meta["special_tokens"].contains(special), "bpe train: --special ", special, " given twice");
      meta["special_tokens"][special] = next_id++;
    }
    rotor::io::AtomicFile ranks_file(o.out), meta_file(o.out + ".json");
    ranks_file.write(format_tiktoken_ranks(tokens));
    meta_file.write(meta.dump(1) + "\n");
    ranks_file.commit();
    meta_file.commit();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    progress.finish(rotor::cat(tokens.size(), " tokens"));
    std::fprintf(stderr, "bpe train: %zu bytes, %zu distinct pieces, %zu tokens (%zu merges) + %zu special, %.2f s\n",
                 total_bytes, pieces.size(), tokens.size(), tokens.size() - 256, o.specials.size(), seconds);
    if (tokens.size() < o.vocab_size)
      std::fprintf(stderr, "bpe train: stopped at %zu tokens: no pair occurs %llu times or more\n", tokens.size(),
                   static_cast<unsigned long long>(o.min_frequency));
  });
}

const bool registered = rotor::cli::register_command("bpe", "byte-level BPE tools (bpe train)", setup);

}  // namespace
