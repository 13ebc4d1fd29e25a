#include "rotor/models/sample_quality.h"

#include <cmath>

#include "rotor/autograd/ops.h"
#include "rotor/core/error.h"
#include "rotor/metrics/frechet.h"

namespace rotor::models {

namespace {

// The classifier's features [N, hidden] and predicted classes of [N, 1, 28, 28] images, in batches.
void features_and_classes(FashionCnn& classifier, const Tensor& images, std::vector<float>& features,
                          std::vector<int64_t>& classes, int64_t& dim) {
  ROTOR_CHECK(images.defined() && images.numel() % (28 * 28) == 0 && images.numel() > 0,
              "fid_rotor: want 28x28 images, got ", images.str());
  const int64_t n = images.numel() / (28 * 28);
  const Tensor batched = images.contiguous().reshape({n, 1, 28, 28});
  const bool was_training = classifier.is_training();
  classifier.eval();
  autograd::NoGradGuard no_grad;
  features.clear();
  classes.clear();
  dim = 0;
  const int64_t chunk = 500;
  for (int64_t b = 0; b < n; b += chunk) {
    const Tensor part = batched.narrow(0, b, std::min(chunk, n - b)).contiguous();
    const Tensor f = classifier.features(Var(part)).value().contiguous();
    dim = f.size(1);
    const float* pf = f.data<float>();
    features.insert(features.end(), pf, pf + f.numel());
    const std::vector<int64_t> c = classifier.predict(part);
    classes.insert(classes.end(), c.begin(), c.end());
  }
  classifier.train(was_training);
}

}  // namespace

nlohmann::json SampleQuality::to_json() const {
  return {{"fid_rotor", fid_rotor},
          {"class_fractions", class_fractions},
          {"class_entropy_ratio", class_entropy_ratio},
          {"samples", samples},
          {"references", references}};
}

SampleQuality sample_quality(FashionCnn& classifier, const Tensor& samples, const Tensor& references) {
  std::vector<float> fs, fr;
  std::vector<int64_t> cs, cr;
  int64_t dim_s = 0, dim_r = 0;
  features_and_classes(classifier, samples, fs, cs, dim_s);
  features_and_classes(classifier, references, fr, cr, dim_r);
  SampleQuality q;
  q.samples = static_cast<int64_t>(cs.size());
  q.references = static_cast<int64_t>(cr.size());
  ROTOR_CHECK(q.samples >= 2 && q.references >= 2, "fid_rotor: need at least 2 samples and 2 reference images");
  q.fid_rotor = metrics::frechet_distance(metrics::fit_gaussian(fs.data(), q.samples, dim_s),
                                          metrics::fit_gaussian(fr.data(), q.references, dim_r));
  std::vector<int64_t> counts(10, 0);
  for (int64_t c : cs) ++counts[static_cast<size_t>(c)];
  double entropy = 0;
  for (int64_t k : counts) {
    const double p = static_cast<double>(k) / static_cast<double>(q.samples);
    q.class_fractions.push_back(p);
    if (k > 0) entropy -= p * std::log(p);
  }
  q.class_entropy_ratio = entropy / std::log(10.0);
  return q;
}

Tensor draw_samples(VisionModel& model, int64_t count, Rng& rng) {
  ROTOR_CHECK(model.generative(), "vision: ", model.name(), " is a classifier; it has no samples");
  Tensor images = model.sample(count, rng).contiguous().to(DType::f32);
  if (!model.binarized_data()) return images;
  float* p = images.data<float>();
  for (int64_t i = 0; i < images.numel(); ++i) {
    ROTOR_CHECK(p[i] >= 0 && p[i] <= 1, "vision: ", model.name(), " sample value ", p[i], " is not in [0, 1]");
    p[i] = rng.uniform() < p[i] ? 1.0f : 0.0f;
  }
  return images;
}

Tensor reference_images(const VisionModel& model, const VisionData& test) {
  return model.binarized_data() ? binarize(test.images) : test.images;
}

}  // namespace rotor::models
