// `rotor sample`: generates text from a trained byte-level transformer with the KV cache, with
// temperature, top-k and top-p (nucleus) sampling.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <vector>

#include "rotor/cli/command.h"
#include "rotor/core/error.h"
#include "rotor/core/rng.h"
#include "rotor/models/lm_trainer.h"

namespace {

using namespace rotor;

struct Args {
  std::string model, prompt = "\n";
  int64_t tokens = 200, top_k = 0;
  double temperature = 0.8, top_p = 1.0;
  uint64_t seed = 1;
  int threads = 0;
};

// Picks a token from logits: temperature 0 is greedy; otherwise softmax(logits / T) restricted to the
// top-k tokens and to the smallest set whose probability reaches top-p.
int32_t pick(const float* logits, int64_t V, const Args& a, Rng& rng) {
  std::vector<int32_t> order(V);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int32_t x, int32_t y) { return logits[x] > logits[y]; });
  if (a.temperature == 0) return order[0];
  const int64_t k = a.top_k > 0 ? std::min<int64_t>(a.top_k, V) : V;
  std::vector<double> p(k);
  double sum = 0;
  for (int64_t i = 0; i < k; ++i) sum += p[i] = std::exp((logits[order[i]] - logits[order[0]]) / a.temperature);
  int64_t keep = k;
  double cum = 0;
  for (int64_t i = 0; i < k; ++i) {
    cum += p[i] / sum;
    if (cum >= a.top_p) {
      keep = i + 1;
      break;
    }
  }
  double total = 0;
  for (int64_t i = 0; i < keep; ++i) total += p[i];
  double u = rng.uniform() * total;
  for (int64_t i = 0; i < keep; ++i) {
    u -= p[i];
    if (u <= 0) return order[i];
  }
  return order[keep - 1];
}

void run(const Args& a) {
  ROTOR_CHECK(a.temperature >= 0 && std::isfinite(a.temperature), "--temperature must be >= 0, got ", a.temperature);
  ROTOR_CHECK(a.top_p > 0 && a.top_p <= 1, "--top-p must be in (0, 1], got ", a.top_p);
  ROTOR_CHECK(a.top_k >= 0, "--top-k must be >= 0, got ", a.top_k);
  ROTOR_CHECK(a.tokens >= 0, "--tokens must be >= 0, got ", a.tokens);
  auto model = models::load_model(a.model);
  const auto& c = model->config();
  ROTOR_CHECK(c.vocab == 256, a.model, ": sample generates bytes and needs a 256-token vocabulary, got ", c.vocab);
  ROTOR_CHECK(!a.prompt.empty(), "--prompt must not be empty");
  Rng rng(a.seed);
  models::Transformer::Decoder decoder(*model);
  std::vector<int32_t> text(a.prompt.begin(), a.prompt.end());
  for (auto& t : text) t = static_cast<uint8_t>(t);
  // feed the prompt (its last ctx tokens), then generate; when the context is full, restart the cache
  // from the most recent half of it
  auto refill = [&](size_t keep) {
    decoder.reset();
    const float* logits = nullptr;
    for (size_t i = text.size() - keep; i < text.size(); ++i) logits = decoder.step(text[i]);
    return logits;
  };
  const float* logits = refill(std::min<size_t>(text.size(), c.ctx));
  std::fwrite(a.prompt.data(), 1, a.prompt.size(), stdout);
  for (int64_t i = 0; i < a.tokens; ++i) {
    const int32_t next = pick(logits, c.vocab, a, rng);
    text.push_back(next);
    std::fputc(next, stdout);
    if (decoder.position() >= c.ctx) logits = refill(std::max<int64_t>(1, c.ctx / 2));
    else logits = decoder.step(next);
  }
  std::fputc('\n', stdout);
}

void setup(CLI::App& cmd) {
  static Args a;
  cmd.add_option("--model", a.model, "run directory (config.json + model.safetensors)")->required();
  cmd.add_option("--prompt", a.prompt, "text to continue");
  cmd.add_option("--tokens", a.tokens, "bytes to generate");
  cmd.add_option("--temperature", a.temperature, "softmax temperature (0: greedy)");
  cmd.add_option("--top-k", a.top_k, "sample among the k most likely bytes (0: all)");
  cmd.add_option("--top-p", a.top_p, "sample among the most likely bytes holding this probability");
  cmd.add_option("--seed", a.seed, "random seed");
  rotor::cli::add_threads_option(cmd, a.threads);
  cmd.callback([] { run(a); });
}

const bool registered = rotor::cli::register_command("sample", "generate text from a trained transformer", setup);

}  // namespace
