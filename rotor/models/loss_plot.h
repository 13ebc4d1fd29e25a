#pragma once
// The loss curve of a training run as a small self-contained SVG (train loss and validation points).
#include <string>
#include <vector>

#include "rotor/models/lm_trainer.h"

namespace rotor::models {

// `title` heads the plot (e.g. "critic Wasserstein estimate" when train_loss carries another series).
std::string loss_plot_svg(const std::vector<MetricRow>& rows, const std::string& title = "loss (nats/byte)");
void write_loss_plot(const std::string& path, const std::vector<MetricRow>& rows,
                     const std::string& title = "loss (nats/byte)");  // atomic

}  // namespace rotor::models
