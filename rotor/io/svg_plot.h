#pragma once
// A small SVG line-plot writer for training curves: one or more named series on shared axes, with
// "nice" ticks (1, 2, 5 x 10^k), grid lines, axis labels, a title and a legend.
//
//   save_svg_plot("runs/x/loss.svg", {{"train", steps, train_loss}, {"validation", vsteps, val_loss}},
//                 {.title = "loss", .x_label = "step", .y_label = "cross-entropy"});
//
// Every value must be finite (and positive with log_y); a series with one point is drawn as a dot.
// The document is plain SVG 1.1; each series is a <g class="series" data-name="..."> holding a polyline.
#include <string>
#include <vector>

namespace rotor::io {

struct PlotSeries {
  std::string name;
  std::vector<double> x, y;
};

struct PlotOptions {
  std::string title;
  std::string x_label = "step";
  std::string y_label = "loss";
  int width = 720, height = 440;  // pixels
  bool log_y = false;
};

std::string render_svg_plot(const std::vector<PlotSeries>& series, const PlotOptions& options = {});
void save_svg_plot(const std::string& path, const std::vector<PlotSeries>& series, const PlotOptions& options = {});

// Tick positions covering [lo, hi] at a 1/2/5 x 10^k spacing, about `target` of them (exposed for tests).
std::vector<double> nice_ticks(double lo, double hi, int target = 6);

}  // namespace rotor::io
