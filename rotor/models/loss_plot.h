#pragma once
// The loss curve of a training run as a small self-contained SVG (train loss and validation points).
#include <string>
#include <vector>

#include "rotor/models/lm_trainer.h"

namespace rotor::models {

std::string loss_plot_svg(const std::vector<MetricRow>& rows);
void write_loss_plot(const std::string& path, const std::vector<MetricRow>& rows);  // atomic

}  // namespace rotor::models
