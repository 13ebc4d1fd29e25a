// The token mixers of rotor/nn alone, timed: a training step (forward + backward of sum(out * seed)) on
// x [1, T, 64] and decoding (step() over T tokens, no gradients), per mixer and context length.
// bench/mixers_bench.sh runs the same mixers in PyTorch (bench/mixers_torch.py) and prints the ratios.
// Sizes: width 64, 4 heads (multi-head mixers), one recurrent layer of 64, S4D N 32, Mamba d_state 16,
// Performer M 64, FLASH s 64 chunk 64, local window 64, strided/fixed l = round(sqrt(T)) (the Sparse
// Transformer's choice: 32 at T 1024; fixed c 4), chunks 64.
// Output: "mixer T train_ms decode_tokens_per_s" per line (medians over the timed repetitions).
// Usage: mixers_bench [THREADS] [T,T,...] [MIXER,MIXER,...|all] [REPS] [train]
// With `train` (bench/mixers_scaling.sh) decoding is skipped and the line is "mixer T train_ms peak_mb": the
// growth of the peak resident set during the steps (warm-up included) over the resident set before them (the high-water
// mark is reset through /proc/self/clear_refs), so run one T per process. Mixer `softmax` (causal softmax
// attention, the models' default: a fused qkv projection and fused_causal_attention, which keeps the
// [1, heads, T, T] probabilities for backward) is available in this mode only (it has no step()).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <fstream>

#include "rotor/autograd/ops.h"
#include "rotor/core/rng.h"
#include "rotor/core/threads.h"
#include "rotor/nn/flash.h"
#include "rotor/nn/init.h"
#include "rotor/nn/layers.h"
#include "rotor/nn/linear_attention.h"
#include "rotor/nn/mamba.h"
#include "rotor/nn/performer.h"
#include "rotor/nn/recurrent.h"
#include "rotor/nn/s4d.h"
#include "rotor/nn/sparse_attention.h"

using namespace rotor;
namespace ag = rotor::autograd;

namespace {

constexpr int64_t kDim = 64, kHeads = 4;

// One mixer: its module, a full forward [1, T, dim] -> [1, T, dim] and a decoder over tokens [1, dim].
struct Mixer {
  std::shared_ptr<nn::Module> module;
  std::function<ag::Var(const ag::Var&)> forward;
  std::function<std::function<ag::Var(const ag::Var&)>()> decoder;  // a fresh decode state per call
};

template <class M, class State>
Mixer make(std::shared_ptr<M> m) {
  Mixer out;
  out.module = m;
  out.forward = [m](const ag::Var& x) { return m->forward(x); };
  out.decoder = [m] {
    auto state = std::make_shared<State>();
    return std::function<ag::Var(const ag::Var&)>([m, state](const ag::Var& x) { return m->step(x, *state); });
  };
  return out;
}

Mixer build(const std::string& name, int64_t T, Rng& rng) {
  if (name == "softmax") {
    auto qkv = std::make_shared<nn::Linear>(kDim, 3 * kDim, true, rng);
    ag::FusedAttentionSpec spec;
    spec.heads = spec.kv_heads = kHeads;
    Mixer out;
    out.module = qkv;
    out.forward = [qkv, spec](const ag::Var& x) { return ag::fused_causal_attention(qkv->forward(x), spec); };
    return out;
  }
  if (name == "rnn" || name == "lstm" || name == "gru")
    return make<nn::Recurrent, nn::RecurrentState>(
        std::make_shared<nn::Recurrent>(nn::recurrent_cell_from_name(name), kDim, kDim, 1, true, rng));
  if (name == "linear")
    return make<nn::LinearAttention, nn::LinearAttentionState>(
        std::make_shared<nn::LinearAttention>(kDim, kHeads, nn::LinearAttentionOptions{}, rng, 64));
  if (name == "performer")
    return make<nn::Performer, nn::LinearAttentionState>(std::make_shared<nn::Performer>(kDim, kHeads, 64, rng, 64));
  if (name == "flash") {
    nn::FlashOptions o;
    o.qk_dim = 64;
    o.chunk = 64;
    o.norm_length = 4096;
    return make<nn::FlashAttention, nn::FlashState>(std::make_shared<nn::FlashAttention>(kDim, o, rng));
  }
  if (name == "local" || name == "strided" || name == "fixed") {
    nn::AttentionPattern p;
    p.kind = name == "local" ? nn::AttentionPattern::Kind::local
             : name == "strided" ? nn::AttentionPattern::Kind::strided
                                 : nn::AttentionPattern::Kind::fixed;
    p.size = name == "local" ? 64 : std::lround(std::sqrt(static_cast<double>(T)));
    p.summary = 4;
    return make<nn::SparseAttention, nn::PatternAttentionState>(
        std::make_shared<nn::SparseAttention>(kDim, kHeads, p, rng));
  }
  if (name == "s4d") return make<nn::S4D, nn::S4DState>(std::make_shared<nn::S4D>(kDim, 32, rng));
  if (name == "mamba") {
    nn::MambaOptions o;
    o.d_state = 16;
    return make<nn::MambaBlock, nn::MambaState>(std::make_shared<nn::MambaBlock>(kDim, o, rng));
  }
  std::fprintf(stderr, "mixers_bench: unknown mixer %s\n", name.c_str());
  std::exit(2);
}

double median_ms(const std::function<void()>& f, int reps) {
  f();  // warm-up (allocations)
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

// A field of /proc/self/status in MB ("VmRSS", "VmHWM").
double status_mb(const std::string& field) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(field + ":", 0) == 0) return std::atof(line.c_str() + field.size() + 1) / 1024.0;
  return 0;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) out.push_back(item);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  set_num_threads(argc > 1 ? std::atoi(argv[1]) : 1);
  const std::vector<std::string> lengths = split(argc > 2 ? argv[2] : "256,1024");
  std::string which = argc > 3 ? argv[3] : "all";
  if (which == "all") which = "rnn,lstm,gru,linear,performer,flash,local,strided,fixed,s4d,mamba";
  const int reps = argc > 4 ? std::atoi(argv[4]) : 3;
  const bool train_only = argc > 5 && std::string(argv[5]) == "train";
  for (const std::string& name : split(which)) {
    for (const std::string& len : lengths) {
      const int64_t T = std::atoll(len.c_str());
      Rng rng(1);
      Mixer m = build(name, T, rng);
      const ag::Var x(nn::normal_tensor({1, T, kDim}, 0, 1, rng), true);
      const ag::Var seed(nn::normal_tensor({1, T, kDim}, 0, 1, rng));
      const auto step = [&] {
        m.module->zero_grad();
        ag::sum(ag::mul(m.forward(x), seed)).backward();
      };
      if (train_only) {
        // Before the warm-up step: freed memory that malloc keeps resident would otherwise hide the peak.
        const double before = status_mb("VmRSS");
        std::ofstream("/proc/self/clear_refs") << "5";  // reset the high-water mark to the current RSS
        const double train = median_ms(step, reps);     // the warm-up step, then the timed ones
        std::printf("%s %lld %.3f %.1f\n", name.c_str(), (long long)T, train, status_mb("VmHWM") - before);
        std::fflush(stdout);
        continue;
      }
      if (!m.decoder) {
        std::fprintf(stderr, "mixers_bench: %s has no decode path (use the train mode)\n", name.c_str());
        return 2;
      }
      const double train = median_ms(step, reps);
      const double decode = median_ms([&] {
        ag::NoGradGuard no_grad;
        auto step = m.decoder();
        for (int64_t t = 0; t < T; ++t) step(ag::Var(x.value().select(1, t)));
      }, std::max(1, reps / 2));
      std::printf("%s %lld %.3f %.1f\n", name.c_str(), (long long)T, train, double(T) / (decode / 1e3));
      std::fflush(stdout);
    }
  }
  return 0;
}
