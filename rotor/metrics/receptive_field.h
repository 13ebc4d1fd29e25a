#pragma once
// Receptive-field arithmetic of a chain of convolution / pooling layers (Dumoulin & Visin's and
// Araujo et al.'s formulas), per layer, starting from the input (r = 1, j = 1, start = 0.5):
//   j_out = j_in s,  r_out = r_in + (k - 1) d j_in,  start_out = start_in + ((k - 1) / 2 - p) j_in
// (start: the centre of the first output unit's field, in input pixels).
#include <string>
#include <vector>

namespace rotor::metrics {

struct RfLayer {
  std::string name;
  int kernel = 1, stride = 1, padding = 0, dilation = 1;
};

struct RfRow {
  std::string name;
  double receptive_field, jump, start;
};

std::vector<RfRow> receptive_fields(const std::vector<RfLayer>& layers);

// Known nets: "alexnet" (Krizhevsky et al. 2012) and "vgg16" (Simonyan & Zisserman 2015), their conv and
// pool layers; anything else is a rotor::Error.
std::vector<RfLayer> named_net(const std::string& name);

}  // namespace rotor::metrics
