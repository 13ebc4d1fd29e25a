// `rotor rf`: the receptive field, jump and start of every layer of a conv/pool chain (a known net or a
// JSON config: {"layers": [{"name": "conv1", "kernel": 3, "stride": 1, "padding": 1, "dilation": 1}, ...]}).
#include <cstdio>
#include <nlohmann/json.hpp>

#include "rotor/cli/command.h"
#include "rotor/core/error.h"
#include "rotor/io/atomic_file.h"
#include "rotor/metrics/receptive_field.h"

namespace {

std::vector<rotor::metrics::RfLayer> layers_from_config(const std::string& path) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(rotor::io::read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw rotor::Error(rotor::cat("rf: ", path, ": not JSON (", e.what(), ")"));
  }
  ROTOR_CHECK(j.is_object() && j.contains("layers") && j["layers"].is_array() && !j["layers"].empty(), "rf: ", path,
              ": wants {\"layers\": [{\"kernel\": K, ...}, ...]}");
  std::vector<rotor::metrics::RfLayer> layers;
  for (const auto& l : j["layers"]) {
    ROTOR_CHECK(l.is_object() && l.contains("kernel") && l["kernel"].is_number_integer(), "rf: ", path, ": layer ",
                layers.size() + 1, " has no integer \"kernel\"");
    auto get = [&](const char* key, int def) {
      if (!l.contains(key)) return def;
      ROTOR_CHECK(l[key].is_number_integer(), "rf: ", path, ": layer ", layers.size() + 1, ": \"", key,
                  "\" must be an integer");
      return l[key].get<int>();
    };
    layers.push_back({l.value("name", rotor::cat("layer", layers.size() + 1)), get("kernel", 1), get("stride", 1),
                      get("padding", 0), get("dilation", 1)});
  }
  return layers;
}

void setup(CLI::App& cmd) {
  static std::string config, net;
  auto* c = cmd.add_option("--config", config, "JSON file with the layers (kernel, stride, padding, dilation)");
  cmd.add_option("--net", net, "a known net: alexnet, vgg16")->excludes(c);
  cmd.callback([] {
    ROTOR_CHECK(!config.empty() || !net.empty(), "rf: give --config FILE or --net NAME");
    const auto rows = rotor::metrics::receptive_fields(config.empty() ? rotor::metrics::named_net(net)
                                                                      : layers_from_config(config));
    std::printf("%-12s %8s %6s %8s\n", "layer", "rf", "jump", "start");
    for (const auto& r : rows) std::printf("%-12s %8g %6g %8g\n", r.name.c_str(), r.receptive_field, r.jump, r.start);
  });
}

const bool registered =
    rotor::cli::register_command("rf", "receptive field, jump and start of every layer of a conv net", setup);

}  // namespace
