#include "rotor/trees/objective.h"

#include <algorithm>
#include <cmath>

#include "rotor/core/error.h"
#include "rotor/core/threads.h"

namespace rotor::trees {

namespace {

inline float weight_at(const float* w, int64_t i) { return w ? w[i] : 1.0f; }
inline float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }
constexpr float kHessEps = 1e-16f;

class SquaredError : public Objective {
 public:
  std::string name() const override { return "reg:squarederror"; }
  void gradients(const float* m, const float* y, const float* w, int64_t n, GradPair* gp) const override {
#pragma omp parallel for schedule(static) if (n > kParallelThreshold)
    for (int64_t i = 0; i < n; ++i) {
      const float wi = weight_at(w, i);
      gp[i] = {(m[i] - y[i]) * wi, wi};
    }
  }
  std::vector<std::string> default_metrics() const override { return {"rmse"}; }
};

class PseudoHuber : public Objective {
 public:
  explicit PseudoHuber(double slope) : slope_(static_cast<float>(slope)) {
    ROTOR_CHECK(slope > 0, "reg:pseudohubererror: huber_slope must be > 0, got ", slope);
  }
  std::string name() const override { return "reg:pseudohubererror"; }
  void gradients(const float* m, const float* y, const float* w, int64_t n, GradPair* gp) const override {
#pragma omp parallel for schedule(static) if (n > kParallelThreshold)
    for (int64_t i = 0; i < n; ++i) {
      const float z = m[i] - y[i], wi = weight_at(w, i);
      const float scale = 1.0f + (z / slope_) * (z / slope_);
      const float scale_sqrt = std::sqrt(scale);
      gp[i] = {z / scale_sqrt * wi, 1.0f / (scale * scale_sqrt) * wi};
    }
  }
  std::vector<std::string> default_metrics() const override { return {"mae"}; }

 private:
  float slope_;
};

// Pinball loss: the gradient is 1-alpha above the label and -alpha below; unit hessian. The leaves
// are then re-fitted to the alpha-quantile of their residuals.
class Quantile : public Objective {
 public:
  explicit Quantile(double alpha) : alpha_(alpha) {
    ROTOR_CHECK(alpha > 0 && alpha < 1, "reg:quantileerror: quantile_alpha must be in (0, 1), got ", alpha);
  }
  std::string name() const override { return "reg:quantileerror"; }
  void gradients(const float* m, const float* y, const float* w, int64_t n, GradPair* gp) const override {
    const float a = static_cast<float>(alpha_);
#pragma omp parallel for schedule(static) if (n > kParallelThreshold)
    for (int64_t i = 0; i < n; ++i) {
      const float wi = weight_at(w, i);
      gp[i] = {(m[i] >= y[i] ? 1.0f - a : -a) * wi, wi};
    }
  }
  std::vector<std::string> default_metrics() const override { return {"mae"}; }
  double leaf_quantile() const override { return alpha_; }

 private:
  double alpha_;
};

class Logistic : public Objective {
 public:
  std::string name() const override { return "binary:logistic"; }
  void check_labels(const std::vector<float>& labels, const std::string& source) const override {
    for (size_t i = 0; i < labels.size(); ++i)
      ROTOR_CHECK(labels[i] >= 0.0f && labels[i] <= 1.0f, source, ": row ", i + 1, ": label ", labels[i],
                  " is outside [0, 1] (binary:logistic)");
  }
  void gradients(const float* m, const float* y, const float* w, int64_t n, GradPair* gp) const override {
#pragma omp parallel for schedule(static) if (n > kParallelThreshold)
    for (int64_t i = 0; i < n; ++i) {
      const float p = sigmoid(m[i]), wi = weight_at(w, i);
      gp[i] = {(p - y[i]) * wi, std::max(p * (1.0f - p), kHessEps) * wi};
    }
  }
  void transform(float* v, int64_t n) const override {
    for (int64_t i = 0; i < n; ++i) v[i] = sigmoid(v[i]);
  }
  float base_margin(double base_score) const override {
    ROTOR_CHECK(base_score > 0 && base_score < 1, "binary:logistic: base_score must be in (0, 1), got ", base_score);
    return static_cast<float>(-std::log(1.0 / base_score - 1.0));
  }
  std::vector<std::string> default_metrics() const override { return {"logloss"}; }
};

class Poisson : public Objective {
 public:
  explicit Poisson(double mds) : mds_(static_cast<float>(mds)) {}
  std::string name() const override { return "count:poisson"; }
  void check_labels(const std::vector<float>& labels, const std::string& source) const override {
    for (size_t i = 0; i < labels.size(); ++i)
      ROTOR_CHECK(labels[i] >= 0.0f, source, ": row ", i + 1, ": label ", labels[i], " is negative (count:poisson)");
  }
  void gradients(const float* m, const float* y, const float* w, int64_t n, GradPair* gp) const override {
#pragma omp parallel for schedule(static) if (n > kParallelThreshold)
    for (int64_t i = 0; i < n; ++i) {
      const float wi = weight_at(w, i);
      gp[i] = {(std::exp(m[i]) - y[i]) * wi, std::exp(m[i] + mds_) * wi};
    }
  }
  void transform(float* v, int64_t n) const override {
    for (int64_t i = 0; i < n; ++i) v[i] = std::exp(v[i]);
  }
  float base_margin(double base_score) const override {
    ROTOR_CHECK(base_score > 0, "count:poisson: base_score must be > 0, got ", base_score);
    return static_cast<float>(std::log(base_score));
  }
  std::vector<std::string> default_metrics() const override { return {"rmse"}; }

 private:
  float mds_;
};

class Softprob : public Objective {
 public:
  explicit Softprob(int k) : k_(k) {
    ROTOR_CHECK(k >= 2 && k <= 256, "multi:softprob: num_class must be in [2, 256], got ", k);
  }
  std::string name() const override { return "multi:softprob"; }
  int num_outputs() const override { return k_; }
  void check_labels(const std::vector<float>& labels, const std::string& source) const override {
    for (size_t i = 0; i < labels.size(); ++i) {
      const float y = labels[i];
      ROTOR_CHECK(y >= 0 && y < static_cast<float>(k_) && y == std::floor(y), source, ": row ", i + 1, ": label ", y,
                  " is not a class in [0, ", k_, ")");
    }
  }
  void gradients(const float* m, const float* y, const float* w, int64_t n, GradPair* gp) const override {
    const int K = k_;
#pragma omp parallel for schedule(static) if (n * K > kParallelThreshold)
    for (int64_t i = 0; i < n; ++i) {
      const float* mi = m + i * K;
      const float mx = *std::max_element(mi, mi + K);
      float p[256];
      float z = 0;
      for (int k = 0; k < K; ++k) z += (p[k] = std::exp(mi[k] - mx));
      const float wi = weight_at(w, i);
      const int label = static_cast<int>(y[i]);
      for (int k = 0; k < K; ++k) {
        const float pk = p[k] / z;
        const float g = (k == label ? pk - 1.0f : pk) * wi;
        const float h = std::max(2.0f * pk * (1.0f - pk) * wi, kHessEps);
        gp[static_cast<int64_t>(k) * n + i] = {g, h};
      }
    }
  }
  void transform(float* v, int64_t n) const override {
    for (int64_t i = 0; i < n; ++i) {
      float* vi = v + i * k_;
      const float mx = *std::max_element(vi, vi + k_);
      float z = 0;
      for (int k = 0; k < k_; ++k) z += (vi[k] = std::exp(vi[k] - mx));
      for (int k = 0; k < k_; ++k) vi[k] /= z;
    }
  }
  std::vector<std::string> default_metrics() const override { return {"mlogloss"}; }

 private:
  int k_;
};

}  // namespace

void Objective::check_labels(const std::vector<float>& labels, const std::string& source) const {
  for (size_t i = 0; i < labels.size(); ++i)
    ROTOR_CHECK(std::isfinite(labels[i]), source, ": row ", i + 1, ": label ", labels[i], " is not finite");
}

std::unique_ptr<Objective> make_objective(const std::string& name, const ObjectiveParams& p) {
  if (name == "reg:squarederror" || name == "reg:linear") return std::make_unique<SquaredError>();
  if (name == "binary:logistic") return std::make_unique<Logistic>();
  if (name == "multi:softprob" || name == "multi:softmax") {
    ROTOR_CHECK(name == "multi:softprob", "objective multi:softmax is not supported (use multi:softprob)");
    return std::make_unique<Softprob>(p.num_class);
  }
  if (name == "count:poisson") return std::make_unique<Poisson>(p.poisson_max_delta_step);
  if (name == "reg:pseudohubererror") return std::make_unique<PseudoHuber>(p.huber_slope);
  if (name == "reg:quantileerror") return std::make_unique<Quantile>(p.quantile_alpha);
  throw Error(cat("objective '", name,
                  "' is not supported (expected reg:squarederror, binary:logistic, multi:softprob, count:poisson, "
                  "reg:pseudohubererror, reg:quantileerror)"));
}

}  // namespace rotor::trees
