#include "rotor/nn/layers.h"

#include <cmath>

#include "rotor/autograd/dropout.h"
#include "rotor/autograd/indexing.h"
#include "rotor/autograd/linalg.h"
#include "rotor/autograd/normalization.h"
#include "rotor/nn/init.h"

namespace rotor::nn {

Linear::Linear(int64_t in_features, int64_t out_features, bool bias, Rng& rng, DType dtype) {
  ROTOR_CHECK(in_features > 0 && out_features > 0, "Linear: feature counts must be positive, got ", in_features,
              " -> ", out_features);
  const double k = 1.0 / std::sqrt(static_cast<double>(in_features));
  weight_ = add_parameter("weight", uniform_tensor({out_features, in_features}, -k, k, rng, dtype));
  if (bias) bias_ = add_parameter("bias", uniform_tensor({out_features}, -k, k, rng, dtype));
}

Var Linear::forward(const Var& x) const { return autograd::linear(x, weight_, bias_); }

Embedding::Embedding(int64_t num_embeddings, int64_t dim, Rng& rng, double init_std, DType dtype) {
  ROTOR_CHECK(num_embeddings > 0 && dim > 0, "Embedding: sizes must be positive, got ", num_embeddings, " x ", dim);
  weight_ = add_parameter("weight", normal_tensor({num_embeddings, dim}, 0.0, init_std, rng, dtype));
}

Var Embedding::forward(const Tensor& ids) const { return autograd::embedding(weight_, ids); }

LayerNorm::LayerNorm(int64_t dim, double eps, bool affine, bool with_bias, DType dtype) : eps_(eps) {
  ROTOR_CHECK(dim > 0, "LayerNorm: dimension must be positive, got ", dim);
  if (affine) {
    weight_ = add_parameter("weight", Tensor::ones({dim}, dtype));
    if (with_bias) bias_ = add_parameter("bias", Tensor::zeros({dim}, dtype));
  }
}

Var LayerNorm::forward(const Var& x) const { return autograd::layer_norm(x, weight_, bias_, eps_); }

RMSNorm::RMSNorm(int64_t dim, double eps, DType dtype) : eps_(eps) {
  ROTOR_CHECK(dim > 0, "RMSNorm: dimension must be positive, got ", dim);
  weight_ = add_parameter("weight", Tensor::ones({dim}, dtype));
}

Var RMSNorm::forward(const Var& x) const { return autograd::rms_norm(x, weight_, eps_); }

Dropout::Dropout(double p) : p_(p) {
  ROTOR_CHECK(p >= 0 && p < 1, "Dropout: probability ", p, " is outside [0, 1)");
}

Var Dropout::forward(const Var& x, Rng& rng) const { return autograd::dropout(x, p_, rng, is_training()); }

Activation activation_from_name(const std::string& name) {
  if (name == "relu") return Activation::relu;
  if (name == "gelu") return Activation::gelu;
  if (name == "gelu_tanh" || name == "gelu_new") return Activation::gelu_tanh;
  if (name == "silu" || name == "swish") return Activation::silu;
  if (name == "tanh") return Activation::tanh;
  if (name == "sigmoid") return Activation::sigmoid;
  throw Error(cat("unknown activation '", name, "' (expected relu, gelu, gelu_tanh, silu, tanh or sigmoid)"));
}

Var activate(const Var& x, Activation a) {
  switch (a) {
    case Activation::relu: return autograd::relu(x);
    case Activation::gelu: return autograd::gelu(x, autograd::GeluForm::erf);
    case Activation::gelu_tanh: return autograd::gelu(x, autograd::GeluForm::tanh);
    case Activation::silu: return autograd::silu(x);
    case Activation::tanh: return autograd::tanh(x);
    case Activation::sigmoid: return autograd::sigmoid(x);
  }
  return x;
}

}  // namespace rotor::nn
