#pragma once
// Sample quality of the `rotor vision` generative models, measured with rotor's own Fashion-MNIST
// classifier (rotor/models/fashion_cnn.h): `fid_rotor`, the Frechet distance (rotor/metrics/frechet.h)
// between Gaussians fitted to the classifier's penultimate features of the samples and of the reference
// images. This is not the Inception FID of Heusel et al.: the features come from a small CNN trained on
// Fashion-MNIST, so the numbers are comparable only between runs scored by the same classifier.
//
// The class spread: the classifier's predicted class of every sample, as fractions of the samples, and
// their entropy divided by log(10) (1: the samples cover the ten classes evenly; 0: one class only).
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "rotor/models/fashion_cnn.h"

namespace rotor::models {

struct SampleQuality {
  double fid_rotor = 0;
  std::vector<double> class_fractions;  // [10]
  double class_entropy_ratio = 0;
  int64_t samples = 0, references = 0;
  nlohmann::json to_json() const;
};

// images: [N, 28, 28] or [N, 1, 28, 28] in [0, 1]; the classifier runs in evaluation mode.
SampleQuality sample_quality(FashionCnn& classifier, const Tensor& samples, const Tensor& references);

// Draws `count` samples of a generative model in the form its data has: for models of binarized images
// (binarized_data()), each pixel is drawn from Bernoulli(sample value), so a sample is a binary image as
// the binarized test images are (a model whose samples are already binary is unchanged).
Tensor draw_samples(VisionModel& model, int64_t count, Rng& rng);

// The test images in the form `model` is trained on (binarized for binarized_data() models).
Tensor reference_images(const VisionModel& model, const VisionData& test);

}  // namespace rotor::models
