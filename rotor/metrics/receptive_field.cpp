#include "rotor/metrics/receptive_field.h"

#include "rotor/core/error.h"

namespace rotor::metrics {

std::vector<RfRow> receptive_fields(const std::vector<RfLayer>& layers) {
  double r = 1, j = 1, start = 0.5;
  std::vector<RfRow> rows;
  for (const RfLayer& l : layers) {
    ROTOR_CHECK(l.kernel > 0 && l.stride > 0 && l.dilation > 0 && l.padding >= 0, "rf: layer ", l.name,
                ": kernel, stride and dilation must be positive and padding non-negative");
    start += ((l.kernel - 1) / 2.0 - l.padding) * j;
    r += (l.kernel - 1) * l.dilation * j;
    j *= l.stride;
    rows.push_back({l.name, r, j, start});
  }
  return rows;
}

std::vector<RfLayer> named_net(const std::string& name) {
  if (name == "alexnet")
    return {{"conv1", 11, 4, 2}, {"pool1", 3, 2}, {"conv2", 5, 1, 2}, {"pool2", 3, 2}, {"conv3", 3, 1, 1},
            {"conv4", 3, 1, 1},  {"conv5", 3, 1, 1}, {"pool5", 3, 2}};
  if (name == "vgg16") {
    std::vector<RfLayer> v;
    const int convs[] = {2, 2, 3, 3, 3};
    for (int b = 0; b < 5; ++b) {
      for (int c = 0; c < convs[b]; ++c) v.push_back({cat("conv", b + 1, "_", c + 1), 3, 1, 1});
      v.push_back({cat("pool", b + 1), 2, 2});
    }
    return v;
  }
  throw Error(cat("rf: unknown net '", name, "' (known: alexnet, vgg16)"));
}

}  // namespace rotor::metrics
