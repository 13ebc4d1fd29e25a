#include "rotor/nn/relative_positions.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "rotor/autograd/attention.h"
#include "rotor/autograd/ops.h"
#include "rotor/core/error.h"
#include "rotor/nn/init.h"

namespace rotor::nn {

namespace ag = rotor::autograd;

int64_t t5_bucket(int64_t relative, bool bidirectional, int64_t buckets, int64_t max_distance) {
  int64_t base = 0, n;
  if (bidirectional) {
    buckets /= 2;
    if (relative > 0) base = buckets;
    n = std::abs(relative);
  } else {
    n = std::max<int64_t>(-relative, 0);
  }
  const int64_t exact = buckets / 2;
  if (n < exact) return base + n;
  const double scaled = std::log(double(n) / double(exact)) / std::log(double(max_distance) / double(exact)) *
                        double(buckets - exact);
  return base + std::min<int64_t>(buckets - 1, exact + static_cast<int64_t>(scaled));
}

Tensor t5_buckets(int64_t tq, int64_t tk, int64_t offset, bool bidirectional, int64_t buckets, int64_t max_distance) {
  Tensor t = Tensor::empty({tq, tk}, DType::i64);
  int64_t* p = t.data<int64_t>();
  for (int64_t i = 0; i < tq; ++i)
    for (int64_t j = 0; j < tk; ++j) p[i * tk + j] = t5_bucket(j - (offset + i), bidirectional, buckets, max_distance);
  return t;
}

T5RelativeBias::T5RelativeBias(int64_t heads, int64_t buckets, int64_t max_distance, bool bidirectional, Rng& rng,
                               double init_std, DType dtype)
    : buckets_(buckets), max_distance_(max_distance), bidirectional_(bidirectional) {
  ROTOR_CHECK(heads >= 1 && buckets >= (bidirectional ? 4 : 2) && max_distance > buckets / (bidirectional ? 4 : 2),
              "T5 relative bias: need heads >= 1, at least ", bidirectional ? 4 : 2,
              " buckets and max_distance above the exact range, got ", heads, ", ", buckets, ", ", max_distance);
  weight_ = add_parameter("weight", normal_tensor({buckets, heads}, 0.0, init_std, rng, dtype));
}

Var T5RelativeBias::forward(int64_t tq, int64_t tk, int64_t offset) const {
  const Var table = ag::embedding(weight_, t5_buckets(tq, tk, offset, bidirectional_, buckets_, max_distance_));
  return ag::permute(table, {2, 0, 1});  // [tq, tk, H] -> [H, tq, tk]
}

Tensor alibi_slopes(int64_t heads, DType dtype) {
  ROTOR_CHECK(heads >= 1, "ALiBi: heads must be >= 1, got ", heads);
  auto geometric = [](int64_t n) {
    std::vector<double> s(n);
    for (int64_t h = 0; h < n; ++h) s[h] = std::pow(2.0, -8.0 * double(h + 1) / double(n));
    return s;
  };
  int64_t m = 1;
  while (m * 2 <= heads) m *= 2;
  std::vector<double> slopes = geometric(m);
  const std::vector<double> finer = geometric(2 * m);
  for (int64_t h = 0; int64_t(slopes.size()) < heads; h += 2) slopes.push_back(finer[h]);
  return Tensor::from_vector(slopes, {heads}).to(dtype);
}

Tensor alibi_bias(int64_t heads, int64_t tq, int64_t tk, int64_t offset, DType dtype) {
  const Tensor slopes = alibi_slopes(heads, DType::f64);
  Tensor t = Tensor::empty({heads, tq, tk}, DType::f64);
  double* p = t.data<double>();
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t i = 0; i < tq; ++i)
      for (int64_t j = 0; j < tk; ++j) p[(h * tq + i) * tk + j] = -slopes.data<double>()[h] * double(offset + i - j);
  return t.to(dtype);
}

Var biased_causal_attention(const Var& q, const Var& k, const Var& v, const Var& bias) {
  ROTOR_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4 && q.size(3) == k.size(3) && k.size(2) == v.size(2) &&
                  k.size(2) >= q.size(2),
              "biased attention: q ", shape_str(q.shape()), ", k ", shape_str(k.shape()), ", v ", shape_str(v.shape()),
              " should be [B, H, Tq, D], [B, H, Tk, D], [B, H, Tk, Dv] with Tk >= Tq");
  Var scores = ag::mul(ag::matmul(q, ag::transpose(k, -1, -2)), 1.0 / std::sqrt(double(q.size(3))));  // [B, H, Tq, Tk]
  if (bias.defined()) {
    ROTOR_CHECK(bias.shape() == Shape({q.size(1), q.size(2), k.size(2)}), "biased attention: bias ",
                shape_str(bias.shape()), " should be [H, Tq, Tk]");
    scores = ag::add(scores, bias);
  }
  scores = ag::masked_fill(scores, ag::causal_mask(q.size(2), k.size(2)), -std::numeric_limits<double>::infinity());
  return ag::matmul(ag::softmax(scores, -1), v);
}

}  // namespace rotor::nn
