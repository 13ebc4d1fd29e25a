// nn modules and autograd ops against PyTorch (float64), from tests/nn/reference.json written by
// tests/nn/make_reference.py. Each case checks the output and the gradients of sum(output * seed).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "rotor/autograd/ops.h"
#include "rotor/nn/attention.h"
#include "rotor/nn/batch_norm.h"
#include "rotor/nn/conv.h"
#include "rotor/nn/layers.h"
#include "tests/nn/json_reference.h"
#include "rotor/nn/mlp.h"
#include "rotor/nn/positions.h"

namespace rotor::nn {
namespace {

using json = nlohmann::json;
namespace ag = rotor::autograd;

const json& reference() {
  static const json j = testing_json::read_reference("tests/nn/reference.json");
  return j;
}

using testing_json::ids_of;
using testing_json::tensor_of;

void expect_close(const Tensor& got, const json& want, const std::string& what, double tol = 1e-10) {
  testing_json::expect_close(got, want, what, tol);
}

// Runs one reference case: builds inputs as f64 leaves, calls forward, seeds backward and compares
// the output and the gradients of `module`'s parameters and of every input.
void check_case(const std::string& name, Module* module,
                const std::function<Var(const std::map<std::string, Var>&, const json&)>& forward) {
  SCOPED_TRACE(name);
  const json& c = reference().at("cases").at(name);
  if (module) {
    StateDict sd;
    for (auto& [k, v] : c["params"].items()) sd[k] = tensor_of(v);
    module->load_state_dict(sd);
    module->zero_grad();
  }
  std::map<std::string, Var> inputs;
  for (auto& [k, v] : c["inputs"].items()) inputs[k] = Var(tensor_of(v), true);
  Var y = forward(inputs, c);
  expect_close(y.value(), c["output"], name + " output");
  y.backward(tensor_of(c["seed"]).reshape(y.shape()));
  if (module)
    for (auto& [k, v] : module->named_parameters()) expect_close(v.grad(), c["grads"][k], name + " grad " + k);
  for (auto& [k, v] : inputs) expect_close(v.grad(), c["grads"][k], name + " grad " + k);
}

TEST(NnReference, Linear) {
  Rng rng(1);
  Linear with_bias(4, 5, true, rng, DType::f64), without(4, 3, false, rng, DType::f64);
  check_case("linear_bias", &with_bias, [&](auto& in, auto&) { return with_bias.forward(in.at("x")); });
  check_case("linear_nobias", &without, [&](auto& in, auto&) { return without.forward(in.at("x")); });
  EXPECT_THROW(with_bias.forward(Var(Tensor::zeros({2, 3}, DType::f64))), Error);
}

TEST(NnReference, Embedding) {
  Rng rng(2);
  Embedding emb(7, 3, rng, 1.0, DType::f64);
  check_case("embedding", &emb, [&](auto&, const json& c) { return emb.forward(ids_of(c["ids"]["ids"])); });
  EXPECT_THROW(emb.forward(Tensor::from_vector(std::vector<int64_t>{7}, {1})), Error);
}

TEST(NnReference, Norms) {
  LayerNorm ln(6, 1e-5, true, true, DType::f64);
  check_case("layer_norm", &ln, [&](auto& in, auto&) { return ln.forward(in.at("x")); });
  RMSNorm rms(6, 1e-6, DType::f64);
  check_case("rms_norm", &rms, [&](auto& in, auto&) { return rms.forward(in.at("x")); });
}

TEST(NnReference, MlpAndGatedMlp) {
  Rng rng(3);
  Mlp mlp(4, 8, Activation::gelu, true, rng, DType::f64);
  check_case("mlp_gelu", &mlp, [&](auto& in, auto&) { return mlp.forward(in.at("x")); });
  GatedMlp swiglu(4, 6, Activation::silu, rng, DType::f64), geglu(4, 6, Activation::gelu, rng, DType::f64);
  check_case("swiglu", &swiglu, [&](auto& in, auto&) { return swiglu.forward(in.at("x")); });
  check_case("geglu", &geglu, [&](auto& in, auto&) { return geglu.forward(in.at("x")); });
}

TEST(NnReference, Activations) {
  for (const char* a : {"relu", "gelu", "gelu_tanh", "silu", "tanh", "sigmoid"})
    check_case(std::string("act_") + a, nullptr,
               [&](auto& in, auto&) { return activate(in.at("x"), activation_from_name(a)); });
  check_case("act_leaky_relu", nullptr, [](auto& in, auto&) { return ag::leaky_relu(in.at("x"), 0.2); });
  check_case("act_softplus", nullptr, [](auto& in, auto&) { return ag::softplus(in.at("x")); });
  EXPECT_THROW(activation_from_name("swishy"), Error);
}

TEST(NnReference, LossesAndSoftmax) {
  check_case("cross_entropy_smoothing", nullptr, [](auto& in, const json& c) {
    return ag::cross_entropy(in.at("x"), ids_of(c["ids"]["targets"]), {-100, 0.1, ag::Reduction::mean});
  });
  check_case("cross_entropy_plain", nullptr,
             [](auto& in, const json& c) { return ag::cross_entropy(in.at("x"), ids_of(c["ids"]["targets"])); });
  check_case("softmax_axis1", nullptr, [](auto& in, auto&) { return ag::softmax(in.at("x"), 1); });
  check_case("log_softmax_last", nullptr, [](auto& in, auto&) { return ag::log_softmax(in.at("x"), -1); });
  check_case("logsumexp_0_2", nullptr, [](auto& in, auto&) { return ag::logsumexp(in.at("x"), {0, 2}); });
  check_case("mse_loss", nullptr, [](auto& in, auto&) { return ag::mse_loss(in.at("x"), in.at("y")); });
}

TEST(NnReference, Attention) {
  for (const char* name : {"attention_causal", "attention_kv_cache"})
    check_case(name, nullptr, [](auto& in, auto&) {
      return ag::scaled_dot_product_attention(in.at("q"), in.at("k"), in.at("v"), {true, 0, Tensor()});
    });
}

// Convolution ops take their parameters as inputs here: a tiny Module holding weight and bias.
class Params : public Module {
 public:
  Params(const Shape& w, const Shape& b) : weight(add_parameter("weight", Tensor::zeros(w, DType::f64))),
                                           bias(add_parameter("bias", Tensor::zeros(b, DType::f64))) {}
  Var weight, bias;
};

TEST(NnReference, ConvolutionsAndPooling) {
  Params c2({4, 3, 3, 2}, {4});
  check_case("conv2d", &c2, [&](auto& in, auto&) {
    ag::Conv2dOptions o;
    o.stride = {2, 1};
    o.padding = {1, 2};
    o.dilation = {1, 2};
    return ag::conv2d(in.at("x"), c2.weight, c2.bias, o);
  });
  Params c1({2, 3, 3}, {2});
  check_case("conv1d", &c1, [&](auto& in, auto&) { return ag::conv1d(in.at("x"), c1.weight, c1.bias, 2, 1); });
  Params ct({3, 2, 3, 3}, {2});
  check_case("conv_transpose2d", &ct, [&](auto& in, auto&) {
    ag::Conv2dOptions o;
    o.stride = {2, 2};
    o.padding = {1, 0};
    return ag::conv_transpose2d(in.at("x"), ct.weight, ct.bias, o, {1, 0});
  });
  check_case("max_pool2d", nullptr, [](auto& in, auto&) { return ag::max_pool2d(in.at("x"), {2, 2}); });
  check_case("avg_pool2d", nullptr, [](auto& in, auto&) { return ag::avg_pool2d(in.at("x"), {3, 2}, {1, 1}); });
  check_case("upsample_nearest2d", nullptr, [](auto& in, auto&) { return ag::upsample_nearest2d(in.at("x"), {2, 3}); });
  EXPECT_THROW(ag::conv2d(Var(Tensor::zeros({1, 3, 2, 2})), Var(Tensor::zeros({4, 3, 3, 3}))), Error);
}

TEST(NnReference, ConvolutionToolbox) {
  Params cg({6, 2, 3, 2}, {6});
  check_case("conv2d_groups", &cg, [&](auto& in, auto&) {
    ag::Conv2dOptions o;
    o.stride = {1, 2};
    o.padding = {1, 1};
    o.dilation = {2, 1};
    o.groups = 2;
    return ag::conv2d(in.at("x"), cg.weight, cg.bias, o);
  });
  check_case("pixel_shuffle", nullptr, [](auto& in, auto&) { return ag::pixel_shuffle(in.at("x"), 2); });
  check_case("pixel_unshuffle", nullptr, [](auto& in, auto&) { return ag::pixel_unshuffle(in.at("x"), 2); });
  for (bool ac : {false, true})
    for (std::array<int64_t, 2> size : {std::array<int64_t, 2>{7, 8}, std::array<int64_t, 2>{3, 2}})
      check_case(cat("bilinear_", ac ? "ac" : "hp", "_", size[0], "x", size[1]), nullptr,
                 [&](auto& in, auto&) { return ag::upsample_bilinear2d(in.at("x"), size, ac); });
  check_case("max_unpool2d", nullptr, [](auto& in, auto&) {
    const ag::PoolWithIndices p = ag::max_pool2d_with_indices(in.at("x"), {2, 2});
    return ag::max_unpool2d(p.output, p.indices, {4, 6});
  });
  EXPECT_THROW(ag::pixel_shuffle(Var(Tensor::zeros({1, 3, 2, 2})), 2), Error);
  EXPECT_THROW(ag::max_unpool2d(Var(Tensor::zeros({1, 1, 1, 1})), Tensor::full({1, 1, 1, 1}, 9, DType::i32), {2, 2}),
               Error);
}

TEST(NnReference, MultiHeadAttention) {
  Rng rng(6);
  MultiHeadAttention two(8, 2, true, rng, DType::f64), four(8, 4, true, rng, DType::f64);
  check_case("mha_self_causal", &two, [&](auto& in, auto&) { return two.forward(in.at("x"), true); });
  check_case("mha_cross_padding", &four, [&](auto& in, const json& c) {
    return four.forward(in.at("q"), in.at("kv"), in.at("kv"), false, ids_of(c["ids"]["pad"]));
  });
  EXPECT_THROW(MultiHeadAttention(8, 3, true, rng), Error);
}

TEST(NnReference, ConvModulesShapes) {
  Rng rng(8);
  ag::Conv2dOptions o;
  o.stride = {2, 2};
  o.padding = {1, 1};
  Conv2d down(3, 4, {3, 3}, o, true, rng);
  ConvTranspose2d up(4, 3, {3, 3}, o, {1, 1}, true, rng);
  Var x(Tensor::ones({2, 3, 8, 8}));
  Var h = down.forward(x);
  EXPECT_EQ(h.shape(), (Shape{2, 4, 4, 4}));
  EXPECT_EQ(up.forward(h).shape(), (Shape{2, 3, 8, 8}));
  EXPECT_EQ(down.parameter_count(), 4 * 3 * 9 + 4);
}

TEST(NnReference, BatchNorm) {
  BatchNorm bn(3, 1e-5, 0.1, DType::f64);
  check_case("batch_norm_train", &bn, [&](auto& in, auto&) { return bn.forward(in.at("x")); });
  const json& c = reference().at("cases").at("batch_norm_train");
  expect_close(bn.running_mean(), c.at("running_mean"), "running mean");
  expect_close(bn.running_var(), c.at("running_var"), "running var");
  bn.eval();
  check_case("batch_norm_eval", &bn, [&](auto& in, auto&) { return bn.forward(in.at("x")); });
  GroupNorm gn(3, 6, 1e-5, DType::f64);
  check_case("group_norm", &gn, [&](auto& in, auto&) { return gn.forward(in.at("x")); });
  EXPECT_THROW(GroupNorm(4, 6), Error);
}

TEST(NnReference, SinusoidalPositions) {
  expect_close(sinusoidal_positions(7, 6, 10000.0, DType::f64), reference().at("cases").at("sinusoidal_7x6").at("output"),
               "sinusoidal", 1e-12);
  EXPECT_THROW(sinusoidal_positions(4, 5), Error);
}

TEST(Module, NamesStateDictAndModes) {
  Rng rng(4);
  Mlp mlp(4, 8, Activation::relu, true, rng);
  std::vector<std::string> names;
  for (auto& [n, v] : mlp.named_parameters()) names.push_back(n);
  EXPECT_EQ(names, (std::vector<std::string>{"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}));
  EXPECT_EQ(mlp.parameter_count(), 8 * 4 + 8 + 4 * 8 + 4);
  StateDict sd = mlp.state_dict();
  EXPECT_TRUE(sd.at("fc1.weight").shares_storage(mlp.parameters()[0].value()));
  StateDict bad = sd;
  bad["fc1.weight"] = Tensor::zeros({3, 3});
  EXPECT_THROW(mlp.load_state_dict(bad), Error);
  bad = sd;
  bad["extra"] = Tensor::zeros({1});
  EXPECT_THROW(mlp.load_state_dict(bad), Error);
  bad.erase("fc2.bias");
  bad.erase("extra");
  EXPECT_THROW(mlp.load_state_dict(bad), Error);
  EXPECT_NO_THROW(mlp.load_state_dict(bad, /*strict=*/false));
  // Loading copies values (converting f64 -> f32).
  Mlp other(4, 8, Activation::relu, true, rng);
  StateDict sd64;
  for (auto& [k, v] : sd) sd64[k] = v.to(DType::f64);
  other.load_state_dict(sd64);
  EXPECT_EQ(other.state_dict().at("fc2.bias").to_float_vector(), sd.at("fc2.bias").to_float_vector());
  EXPECT_FALSE(other.state_dict().at("fc2.bias").shares_storage(sd.at("fc2.bias")));

  Dropout drop(0.5);
  Var x(Tensor::ones({64}));
  Rng r(9);
  EXPECT_NE(drop.forward(x, r).value().to_float_vector(), x.value().to_float_vector());
  drop.eval();
  EXPECT_EQ(drop.forward(x, r).value().to_float_vector(), x.value().to_float_vector());
}

TEST(Module, LearnedPositionsSliceTheTable) {
  Rng rng(5);
  LearnedPositions pos(8, 4, rng);
  Var p = pos.forward(3, 2);
  EXPECT_EQ(p.shape(), (Shape{3, 4}));
  EXPECT_EQ(p.value().at({0, 1}), pos.state_dict().at("weight").at({2, 1}));
  ag::sum(p).backward();
  const Tensor g = pos.parameters()[0].grad();
  EXPECT_EQ(g.at({1, 0}), 0.0);
  EXPECT_EQ(g.at({4, 3}), 1.0);
  EXPECT_THROW(pos.forward(7, 2), Error);
}

}  // namespace
}  // namespace rotor::nn
