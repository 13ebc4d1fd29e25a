#include "rotor/models/word2vec.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>

#include "rotor/core/error.h"
#include "rotor/core/rng.h"
#include "rotor/models/word2vec_kernels.h"

namespace rotor::w2v {

void TrainOptions::validate() const {
  ROTOR_CHECK(dim >= 1 && dim <= 4096, "w2v: --dim ", dim, " must be in [1, 4096]");
  ROTOR_CHECK(window >= 1 && window <= 1000, "w2v: --window ", window, " must be in [1, 1000]");
  ROTOR_CHECK(epochs >= 1, "w2v: --epochs ", epochs, " must be >= 1");
  ROTOR_CHECK(negative >= 0 && negative < kMaxTargets, "w2v: --negative ", negative, " must be in [0, ",
              kMaxTargets - 1, "]");
  ROTOR_CHECK(negative > 0 || hierarchical_softmax, "w2v: --negative 0 needs --hs (nothing to train otherwise)");
  ROTOR_CHECK(sample >= 0 && sample < 1, "w2v: --sample ", sample, " must be in [0, 1)");
  ROTOR_CHECK(learning_rate >= 0 && learning_rate < 10, "w2v: --lr ", learning_rate, " must be in (0, 10)");
  ROTOR_CHECK(threads >= 1 && threads <= 4096, "w2v: --threads ", threads, " must be >= 1");
}

namespace {

// 64-byte aligned float matrix [rows, padded_dim], zero-initialised.
struct AlignedMatrix {
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  std::unique_ptr<float[], Free> data;
  int64_t rows = 0, stride = 0;
  AlignedMatrix(int64_t r, int64_t s) : rows(r), stride(s) {
    const size_t bytes = (static_cast<size_t>(std::max<int64_t>(r, 1) * s) * sizeof(float) + 63) / 64 * 64;
    data.reset(static_cast<float*>(std::aligned_alloc(64, bytes)));
    if (!data) throw std::bad_alloc();
    std::fill(data.get(), data.get() + bytes / sizeof(float), 0.0f);
  }
  float* row(int64_t i) { return data.get() + i * stride; }
};

// splitmix64 as a stream: cheap enough for the inner loop (one draw per negative).
struct FastRng {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  float uniform() { return static_cast<float>(next() >> 40) * 0x1.0p-24f; }
  int below(int n) { return static_cast<int>(((next() >> 32) * static_cast<uint64_t>(n)) >> 32); }
};

struct Shared {
  const Corpus& corpus;
  const TrainOptions& options;
  AlignedMatrix& input;
  AlignedMatrix* output_negative;   // [V, Dp] or null
  AlignedMatrix* output_huffman;    // [V-1, Dp] or null
  const std::vector<float>& keep;
  const AliasSampler* sampler;
  const HuffmanTree* tree;
  const SigmoidTable& table;
  int64_t words_total;              // epochs * corpus.ids.size()
  std::atomic<int64_t>& words_done;
  double lr0;
};

// One thread's share: sentences [first, last) for every epoch. Cache-line aligned so that two workers'
// counters and generator states never share a line.
class alignas(64) Worker {
 public:
  Worker(const Shared& s, uint64_t seed) : s_(s), rng_{seed} {
    dp_ = static_cast<int>(s.input.stride);
    grad_.reset(static_cast<float*>(std::aligned_alloc(64, dp_ * sizeof(float))));
    hidden_.reset(static_cast<float*>(std::aligned_alloc(64, dp_ * sizeof(float))));
  }

  template <int NB>
  void run(int64_t first, int64_t last, const std::function<void(double, double)>& report) {
    const auto& starts = s_.corpus.sentence_starts;
    const int32_t* ids = s_.corpus.ids.data();
    std::vector<int32_t> kept;
    kept.reserve(kMaxSentenceLength);
    int64_t pending = 0;
    lr_ = static_cast<float>(s_.lr0);
    for (int epoch = 0; epoch < s_.options.epochs; ++epoch) {
      epoch_loss_ = 0;
      epoch_predictions_ = 0;
      for (int64_t sent = first; sent < last; ++sent) {
        kept.clear();
        for (int64_t i = starts[sent]; i < starts[sent + 1]; ++i) {
          const int32_t w = ids[i];
          if (s_.keep[w] >= 1.0f || rng_.uniform() < s_.keep[w]) kept.push_back(w);
        }
        pending += starts[sent + 1] - starts[sent];
        if (pending >= 10000) {
          const int64_t done = s_.words_done.fetch_add(pending, std::memory_order_relaxed) + pending;
          pending = 0;
          update_learning_rate(done);
          if (report) report(lr_, epoch_predictions_ > 0 ? epoch_loss_ / epoch_predictions_ : 0.0);
        }
        if (s_.options.cbow) train_cbow<NB>(kept);
        else train_skipgram<NB>(kept);
      }
    }
    s_.words_done.fetch_add(pending, std::memory_order_relaxed);
  }

  double epoch_loss() const { return epoch_loss_; }
  int64_t epoch_predictions() const { return epoch_predictions_; }

 private:
  void update_learning_rate(int64_t done) {
    const double progress = static_cast<double>(done) / static_cast<double>(s_.words_total);
    lr_ = static_cast<float>(s_.lr0 * std::max(1.0 - progress, 1e-4));
  }

  // h against the positive `target` and its negatives, then its Huffman path; grad accumulates.
  template <int NB>
  void predict(const float* h, int32_t target) {
    const int nb = dp_ / kLanes;
    if (s_.sampler) {
      int32_t targets[kMaxTargets];
      float labels[kMaxTargets];
      targets[0] = target;
      labels[0] = 1.0f;
      const int n = 1 + s_.options.negative;
      for (int k = 1; k < n; ++k) {
        int32_t neg;
        do neg = s_.sampler->sample(rng_.next()); while (neg == target);
        targets[k] = neg;
        labels[k] = 0.0f;
      }
      epoch_loss_ += train_targets<NB>(h, grad_.get(), s_.output_negative->data.get(), dp_, targets, labels, n, lr_,
                                       s_.table, nb);
      epoch_predictions_ += n;
    }
    if (s_.tree) {
      const auto& path = s_.tree->path[target];
      const auto& code = s_.tree->code[target];
      float labels[kMaxTargets];
      const int len = static_cast<int>(path.size());
      for (int k = 0; k < len; ++k) labels[k] = 1.0f - static_cast<float>(code[k]);
      epoch_loss_ += train_targets<NB>(h, grad_.get(), s_.output_huffman->data.get(), dp_, path.data(), labels, len,
                                       lr_, s_.table, nb);
      epoch_predictions_ += len;
    }
  }

  template <int NB>
  void train_skipgram(const std::vector<int32_t>& sentence) {
    const int n = static_cast<int>(sentence.size());
    for (int i = 0; i < n; ++i) {
      const int reach = 1 + rng_.below(s_.options.window);
      float* h = s_.input.row(sentence[i]);
      const int lo = std::max(0, i - reach), hi = std::min(n - 1, i + reach);
      for (int j = lo; j <= hi; ++j) {
        if (j == i) continue;
        std::fill(grad_.get(), grad_.get() + dp_, 0.0f);
        predict<NB>(h, sentence[j]);
        add_rows(h, grad_.get(), dp_);
      }
    }
  }

  template <int NB>
  void train_cbow(const std::vector<int32_t>& sentence) {
    const int n = static_cast<int>(sentence.size());
    float* hidden = hidden_.get();
    for (int i = 0; i < n; ++i) {
      const int reach = 1 + rng_.below(s_.options.window);
      const int lo = std::max(0, i - reach), hi = std::min(n - 1, i + reach);
      const int contexts = hi - lo;  // excluding i
      if (contexts == 0) continue;
      std::fill(hidden, hidden + dp_, 0.0f);
      for (int j = lo; j <= hi; ++j)
        if (j != i) add_rows(hidden, s_.input.row(sentence[j]), dp_);
      const float inv = 1.0f / static_cast<float>(contexts);
      for (int d = 0; d < dp_; ++d) hidden[d] *= inv;
      std::fill(grad_.get(), grad_.get() + dp_, 0.0f);
      predict<NB>(hidden, sentence[i]);
      for (int j = lo; j <= hi; ++j)
        if (j != i) add_rows(s_.input.row(sentence[j]), grad_.get(), dp_);
    }
  }

  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  const Shared& s_;
  FastRng rng_;
  int dp_ = 0;
  float lr_ = 0;
  std::unique_ptr<float[], Free> grad_, hidden_;
  double epoch_loss_ = 0;
  int64_t epoch_predictions_ = 0;
};

// Splits sentences into `parts` contiguous ranges of about equal token counts.
std::vector<int64_t> split_sentences(const Corpus& corpus, int parts) {
  std::vector<int64_t> bounds{0};
  const int64_t total = static_cast<int64_t>(corpus.ids.size());
  int64_t sent = 0;
  for (int p = 1; p < parts; ++p) {
    const int64_t target = total * p / parts;
    while (sent < corpus.num_sentences() && corpus.sentence_starts[sent] < target) ++sent;
    bounds.push_back(std::max(sent, bounds.back()));
  }
  bounds.push_back(corpus.num_sentences());
  return bounds;
}

template <int NB>
void run_worker(Worker& worker, int64_t first, int64_t last, const std::function<void(double, double)>& report) {
  worker.run<NB>(first, last, report);
}

void dispatch(Worker& worker, int blocks, int64_t first, int64_t last,
              const std::function<void(double, double)>& report) {
  switch (blocks) {
    case 1: return run_worker<1>(worker, first, last, report);
    case 2: return run_worker<2>(worker, first, last, report);
    case 3: return run_worker<3>(worker, first, last, report);
    case 4: return run_worker<4>(worker, first, last, report);
    case 5: return run_worker<5>(worker, first, last, report);
    case 6: return run_worker<6>(worker, first, last, report);
    case 7: return run_worker<7>(worker, first, last, report);
    case 8: return run_worker<8>(worker, first, last, report);
    default: return run_worker<0>(worker, first, last, report);
  }
}

}  // namespace

TrainResult train(const Corpus& corpus, const TrainOptions& options, const ProgressCallback& progress) {
  options.validate();
  const int32_t vocab_size = corpus.vocab.size();
  ROTOR_CHECK(vocab_size >= 2, "w2v: the vocabulary has ", vocab_size,
              " word(s) after min-count; word2vec needs at least 2");
  ROTOR_CHECK(!corpus.ids.empty(), "w2v: the corpus has no words");
  const int blocks = (options.dim + kLanes - 1) / kLanes;
  const int64_t dp = static_cast<int64_t>(blocks) * kLanes;

  // Input rows uniform in [-0.5/dim, 0.5/dim) (word2vec's initialisation), output rows zero.
  AlignedMatrix input(vocab_size, dp);
  Rng rng(options.seed);
  for (int32_t w = 0; w < vocab_size; ++w)
    for (int d = 0; d < options.dim; ++d) input.row(w)[d] = (rng.uniform_float() - 0.5f) / options.dim;
  std::unique_ptr<AlignedMatrix> output_negative, output_huffman;
  std::unique_ptr<AliasSampler> sampler;
  std::unique_ptr<HuffmanTree> tree;
  if (options.negative > 0) {
    output_negative = std::make_unique<AlignedMatrix>(vocab_size, dp);
    sampler = std::make_unique<AliasSampler>(corpus.vocab.counts, 0.75);
  }
  if (options.hierarchical_softmax) {
    output_huffman = std::make_unique<AlignedMatrix>(vocab_size - 1, dp);
    tree = std::make_unique<HuffmanTree>(build_huffman_tree(corpus.vocab.counts));
    ROTOR_CHECK(tree->max_depth() < kMaxTargets, "w2v: Huffman code length ", tree->max_depth(),
                " exceeds the supported ", kMaxTargets - 1);
  }
  const std::vector<float> keep = keep_probabilities(corpus.vocab, options.sample);
  static const SigmoidTable table;
  std::atomic<int64_t> words_done{0};
  const int64_t words_total = static_cast<int64_t>(corpus.ids.size()) * options.epochs;
  const Shared shared{corpus,         options,          input, output_negative.get(), output_huffman.get(), keep,
                      sampler.get(), tree.get(),        table, words_total,           words_done,
                      options.initial_learning_rate()};

  const int threads = static_cast<int>(std::min<int64_t>(options.threads, std::max<int64_t>(corpus.num_sentences(), 1)));
  const std::vector<int64_t> bounds = split_sentences(corpus, threads);
  std::vector<std::unique_ptr<Worker>> workers;
  for (int t = 0; t < threads; ++t) workers.push_back(std::make_unique<Worker>(shared, rng.split(t).next_u64()));

  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  std::function<void(double, double)> report;
  if (progress) {
    report = [&](double lr, double loss) {
      TrainProgress p;
      p.words_done = words_done.load(std::memory_order_relaxed);
      p.words_total = words_total;
      p.learning_rate = lr;
      p.loss = loss;
      const double s = elapsed();
      p.words_per_second = s > 0 ? p.words_done / s : 0;
      progress(p);
    };
  }
  const std::function<void(double, double)> no_report;
#pragma omp parallel num_threads(threads)
  {
    // Normally one worker per thread; if OpenMP grants fewer threads, the rest run in turn.
    for (int t = omp_get_thread_num(); t < threads; t += omp_get_num_threads())
      dispatch(*workers[t], blocks, bounds[t], bounds[t + 1], t == 0 ? report : no_report);
  }

  TrainResult result;
  result.seconds = elapsed();
  result.words_done = words_done.load();
  result.words_per_second = result.seconds > 0 ? result.words_done / result.seconds : 0;
  double loss = 0;
  int64_t predictions = 0;
  for (const auto& w : workers) loss += w->epoch_loss(), predictions += w->epoch_predictions();
  result.final_loss = predictions > 0 ? loss / predictions : 0;
  result.vectors.dim = options.dim;
  result.vectors.words = corpus.vocab.words;
  result.vectors.values.resize(static_cast<size_t>(vocab_size) * options.dim);
  for (int32_t w = 0; w < vocab_size; ++w)
    std::copy(input.row(w), input.row(w) + options.dim, result.vectors.row(w));
  return result;
}

}  // namespace rotor::w2v
