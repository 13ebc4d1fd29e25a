// `rotor w2v train|analogy|neighbors`: word2vec embeddings (see rotor/models/word2vec.h).
#include <cstdio>
#include <string>

#include "rotor/cli/command.h"
#include "rotor/cli/progress.h"
#include "rotor/core/error.h"
#include "rotor/core/threads.h"
#include "rotor/io/atomic_file.h"
#include "rotor/models/word2vec.h"
#include "rotor/models/word2vec_eval.h"

namespace {

using namespace rotor;

std::string human_rate(double r) {
  char buf[32];
  if (r >= 1e6) std::snprintf(buf, sizeof buf, "%.2fM", r / 1e6);
  else std::snprintf(buf, sizeof buf, "%.1fk", r / 1e3);
  return buf;
}

struct TrainArgs {
  std::string input, out;
  w2v::TrainOptions options;
  int64_t min_count = 5;
  bool binary = false;
  int threads = 0;
  CLI::Option* negative_option = nullptr;
  CLI::Option* lr_option = nullptr;
};

void setup_train(CLI::App& cmd) {
  static TrainArgs args;
  auto& o = args.options;
  cmd.add_option("--input", args.input, "training text: words separated by whitespace, a sentence per line")
      ->required();
  cmd.add_option("--out", args.out, "output vectors (word2vec text format, or binary with --binary)")->required();
  cmd.add_flag("--cbow", o.cbow, "continuous bag of words instead of skip-gram");
  cmd.add_flag("--hs", o.hierarchical_softmax, "hierarchical softmax (negative sampling off unless --negative)");
  args.negative_option = cmd.add_option("--negative", o.negative, "negative samples per positive (default 5)");
  cmd.add_option("--dim", o.dim, "vector dimension")->capture_default_str();
  cmd.add_option("--window", o.window, "maximum context window")->capture_default_str();
  cmd.add_option("--epochs", o.epochs, "passes over the corpus")->capture_default_str();
  cmd.add_option("--min-count", args.min_count, "drop words seen fewer times")->capture_default_str();
  cmd.add_option("--sample", o.sample, "subsampling threshold for frequent words (0 = off)")->capture_default_str();
  args.lr_option = cmd.add_option("--lr", o.learning_rate, "initial learning rate (default 0.025 skip-gram, 0.05 CBOW)");
  cmd.add_option("--seed", o.seed, "random seed")->capture_default_str();
  cmd.add_flag("--binary", args.binary, "write the word2vec binary format");
  rotor::cli::add_threads_option(cmd, args.threads);
  cmd.callback([] {
    auto& o = args.options;
    if (o.hierarchical_softmax && args.negative_option->count() == 0) o.negative = 0;
    ROTOR_CHECK(args.lr_option->count() == 0 || o.learning_rate > 0, "w2v: --lr ", o.learning_rate,
                " must be positive");
    o.threads = rotor::num_threads();
    o.validate();
    const std::string text = io::read_file(args.input);
    io::AtomicFile output(args.out);  // fail before training when the output cannot be written
    const w2v::Corpus corpus = w2v::build_corpus(text, args.min_count, args.input);
    std::fprintf(stderr, "w2v: %s: %lld tokens, %d words with count >= %lld (%lld kept tokens, %lld sentences)\n",
                 args.input.c_str(), static_cast<long long>(corpus.raw_tokens), corpus.vocab.size(),
                 static_cast<long long>(args.min_count), static_cast<long long>(corpus.ids.size()),
                 static_cast<long long>(corpus.num_sentences()));
    rotor::cli::Progress bar(o.cbow ? "w2v cbow" : "w2v skipgram",
                             static_cast<int64_t>(corpus.ids.size()) * o.epochs);
    const w2v::TrainResult result = w2v::train(corpus, o, [&](const w2v::TrainProgress& p) {
      char metrics[128];
      std::snprintf(metrics, sizeof metrics, "words/s %s  lr %.5f  loss %.4f", human_rate(p.words_per_second).c_str(),
                    p.learning_rate, p.loss);
      bar.update(p.words_done, metrics);
    });
    char metrics[128];
    std::snprintf(metrics, sizeof metrics, "words/s %s  loss %.4f", human_rate(result.words_per_second).c_str(),
                  result.final_loss);
    bar.finish(metrics);
    output.write(w2v::format_vectors(result.vectors, args.binary ? w2v::VectorFormat::kBinary : w2v::VectorFormat::kText));
    output.commit();
    std::printf("vectors=%s words=%lld dim=%d threads=%d seconds=%.3f loss=%.4f\n", args.out.c_str(),
                static_cast<long long>(result.vectors.size()), o.dim, o.threads, result.seconds, result.final_loss);
    std::printf("words/s=%.0f\n", result.words_per_second);
  });
}

void setup_analogy(CLI::App& cmd) {
  static std::string vectors_path, questions_path;
  static int64_t top = 30000;
  static int threads = 0;
  cmd.add_option("--vectors", vectors_path, "word2vec vectors (text or binary, detected)")->required();
  cmd.add_option("--questions", questions_path, "questions-words.txt format")->required();
  cmd.add_option("--top", top, "search only the most frequent N words (compute-accuracy's threshold)")
      ->capture_default_str();
  rotor::cli::add_threads_option(cmd, threads);
  cmd.callback([] {
    const w2v::WordVectors vectors = w2v::read_vectors(vectors_path);
    const std::string questions = io::read_file(questions_path);
    const w2v::AnalogyResult r = w2v::evaluate_analogies(vectors, questions, questions_path, top);
    auto pct = [](int64_t a, int64_t b) { return b > 0 ? 100.0 * static_cast<double>(a) / static_cast<double>(b) : 0.0; };
    for (const auto& s : r.sections)
      std::printf("%-28s accuracy %6.2f%%  (%lld/%lld, seen %lld of %lld)\n", s.name.c_str(), pct(s.correct, s.seen),
                  static_cast<long long>(s.correct), static_cast<long long>(s.seen), static_cast<long long>(s.seen),
                  static_cast<long long>(s.questions));
    // questions-words.txt names its syntactic sections "gram*"; the others are semantic.
    int64_t sem[2] = {0, 0}, syn[2] = {0, 0};
    for (const auto& s : r.sections) {
      int64_t* acc = s.name.rfind("gram", 0) == 0 ? syn : sem;
      acc[0] += s.correct;
      acc[1] += s.seen;
    }
    std::printf("semantic accuracy %.2f%% (%lld/%lld), syntactic accuracy %.2f%% (%lld/%lld)\n", pct(sem[0], sem[1]),
                static_cast<long long>(sem[0]), static_cast<long long>(sem[1]), pct(syn[0], syn[1]),
                static_cast<long long>(syn[0]), static_cast<long long>(syn[1]));
    std::printf("coverage=%.2f%% (%lld of %lld questions; top %lld words searched)\n",
                pct(r.total.seen, r.total.questions), static_cast<long long>(r.total.seen),
                static_cast<long long>(r.total.questions), static_cast<long long>(r.searched_words));
    std::printf("accuracy=%.2f%% (%lld/%lld)\n", pct(r.total.correct, r.total.seen),
                static_cast<long long>(r.total.correct), static_cast<long long>(r.total.seen));
  });
}

void setup_neighbors(CLI::App& cmd) {
  static std::string vectors_path, word;
  static int k = 10;
  cmd.add_option("--vectors", vectors_path, "word2vec vectors (text or binary, detected)")->required();
  cmd.add_option("word", word, "the query word")->required();
  cmd.add_option("--k", k, "number of neighbours")->capture_default_str();
  cmd.callback([] {
    const w2v::WordVectors vectors = w2v::read_vectors(vectors_path);
    for (const auto& n : w2v::nearest_neighbors(vectors, word, k)) std::printf("%s %.4f\n", n.word.c_str(), n.similarity);
  });
}

void setup(CLI::App& cmd) {
  cmd.require_subcommand(1, 1);
  setup_train(*cmd.add_subcommand("train", "train word vectors (skip-gram or CBOW)"));
  setup_analogy(*cmd.add_subcommand("analogy", "accuracy on word analogies (questions-words.txt)"));
  setup_neighbors(*cmd.add_subcommand("neighbors", "nearest words by cosine similarity"));
}

const bool registered = rotor::cli::register_command("w2v", "word2vec: train, analogy, neighbors", setup);

}  // namespace
