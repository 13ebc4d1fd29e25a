#include "rotor/models/vision_model.h"

#include <algorithm>
#include <cmath>

#include "rotor/autograd/ops.h"

#include "rotor/core/error.h"
#include "rotor/models/fashion_cnn.h"
#include "rotor/models/gan.h"
#include "rotor/models/gumbel_vae.h"
#include "rotor/models/made.h"
#include "rotor/models/nade.h"
#include "rotor/models/vae.h"
#include "rotor/models/vqgan.h"
#include "rotor/models/vqvae.h"

namespace rotor::models {

Tensor VisionModel::sample(int64_t, Rng&) { throw Error(cat(name(), ": a classifier has no samples")); }
Tensor VisionModel::reconstruct(const Tensor&) {
  throw Error(cat(name(), ": not an autoencoder; it has no reconstructions (vqvae and vqgan have)"));
}

Var VisionModel::phase_loss(size_t phase, const VisionData&, Rng&, StepFigures&) {
  throw Error(cat(name(), ": has no training phase ", phase, " (it trains on one loss)"));
}

double ensemble_test_nll(const VisionData& test, int64_t members,
                         const std::function<Var(const Var&, int64_t)>& log_likelihood) {
  autograd::NoGradGuard no_grad;
  const int64_t n = test.size(), chunk = 500;
  double nll = 0;
  for (int64_t b = 0; b < n; b += chunk) {
    const int64_t m = std::min(chunk, n - b);
    const Var x(binarize(test.images.narrow(0, b, m).contiguous()).reshape({m, 784}));
    std::vector<Var> per_member;
    for (int64_t s = 0; s < members; ++s) per_member.push_back(log_likelihood(x, s));
    const Var ensemble =
        autograd::add(autograd::logsumexp(autograd::stack(per_member, 1), {1}), -std::log(static_cast<double>(members)));
    nll -= autograd::sum(ensemble).item();
  }
  return nll / static_cast<double>(n);
}

const std::vector<std::string>& vision_model_names() {
  static const std::vector<std::string> names = {"cnn", "vae", "gumbel-vae", "nade", "made", "vqvae", "vqgan", "dcgan", "wgan-gp"};
  return names;
}

std::shared_ptr<VisionModel> make_vision_model(const std::string& name, const nlohmann::json& given, Rng& rng) {
  const nlohmann::json config = given.is_null() ? nlohmann::json::object() : given;  // {} in C++ is null
  ROTOR_CHECK(config.is_object(), "vision: the config of ", name, " must be a JSON object");
  if (config.contains("model"))
    ROTOR_CHECK(config["model"] == name, "vision: config is for model ", config["model"].dump(), ", not ", name);
  if (name == "cnn") return std::make_shared<FashionCnn>(FashionCnnConfig::from_json(config), rng);
  if (name == "vae") return std::make_shared<Vae>(VaeConfig::from_json(config), rng);
  if (name == "gumbel-vae") return std::make_shared<GumbelVae>(GumbelVaeConfig::from_json(config), rng);
  if (name == "nade") return std::make_shared<Nade>(NadeConfig::from_json(config), rng);
  if (name == "made") return std::make_shared<Made>(MadeConfig::from_json(config), rng);
  if (name == "dcgan" || name == "wgan-gp")
    return std::make_shared<Gan>(GanConfig::from_json(config, name == "wgan-gp"), rng);
  if (name == "vqvae") return std::make_shared<VqVae>(VqVaeConfig::from_json(config), rng);
  if (name == "vqgan") return std::make_shared<VqGan>(VqGanConfig::from_json(config), rng);
  std::string known;
  for (const auto& n : vision_model_names()) known += (known.empty() ? "" : ", ") + n;
  throw Error(cat("vision: unknown model '", name, "' (known: ", known, ")"));
}

int64_t config_int(const nlohmann::json& config, const std::string& model, const char* key, int64_t fallback,
                   int64_t lo, int64_t hi) {
  if (!config.contains(key)) return fallback;
  const auto& v = config[key];
  ROTOR_CHECK(v.is_number_integer(), model, ": config \"", key, "\" must be an integer, got ", v.dump());
  const int64_t x = v.get<int64_t>();
  ROTOR_CHECK(x >= lo && x <= hi, model, ": config \"", key, "\" = ", x, " is outside [", lo, ", ", hi, "]");
  return x;
}

double config_number(const nlohmann::json& config, const std::string& model, const char* key, double fallback,
                     double lo, double hi) {
  if (!config.contains(key)) return fallback;
  const auto& v = config[key];
  ROTOR_CHECK(v.is_number(), model, ": config \"", key, "\" must be a number, got ", v.dump());
  const double x = v.get<double>();
  ROTOR_CHECK(x >= lo && x <= hi, model, ": config \"", key, "\" = ", x, " is outside [", lo, ", ", hi, "]");
  return x;
}

io::TensorMap with_prefix(const std::string& prefix, const io::TensorMap& m) {
  io::TensorMap out;
  for (const auto& [name, t] : m) out[prefix + "." + name] = t;
  return out;
}

io::TensorMap without_prefix(const std::string& model, const std::string& prefix, const io::TensorMap& m) {
  const std::string head = prefix + ".";
  io::TensorMap out;
  for (const auto& [name, t] : m) {
    ROTOR_CHECK(name.rfind(head, 0) == 0, model, ": unexpected buffer '", name, "'");
    out[name.substr(head.size())] = t;
  }
  return out;
}

void copy_buffers(const std::string& model, const io::TensorMap& from, const io::TensorMap& targets) {
  for (auto [name, target] : targets) {
    const auto it = from.find(name);
    ROTOR_CHECK(it != from.end(), model, ": checkpoint has no ", name);
    ROTOR_CHECK(it->second.shape() == target.shape(), model, ": ", name, " has shape ", it->second.str(), ", want ",
                target.str());
    target.copy_(it->second);
  }
}

void check_config_keys(const nlohmann::json& config, const std::string& model, const std::vector<std::string>& known) {
  for (const auto& [key, value] : config.items())
    ROTOR_CHECK(key == "model" || std::find(known.begin(), known.end(), key) != known.end(), model,
                ": unknown config key \"", key, "\"");
}

}  // namespace rotor::models
