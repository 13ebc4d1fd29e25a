#include "rotor/models/loss_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "rotor/io/atomic_file.h"

namespace rotor::models {

std::string loss_plot_svg(const std::vector<MetricRow>& rows, const std::string& title) {
  constexpr double kW = 640, kH = 400, kLeft = 60, kRight = 20, kTop = 30, kBottom = 45;
  double lo = INFINITY, hi = -INFINITY, max_step = 1;
  for (const auto& r : rows) {
    for (double v : {r.train_loss, r.val_loss})
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
    max_step = std::max(max_step, double(r.step));
  }
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  if (hi - lo < 1e-9) hi = lo + 1;
  auto x = [&](double s) { return kLeft + (kW - kLeft - kRight) * s / max_step; };
  auto y = [&](double v) { return kTop + (kH - kTop - kBottom) * (hi - v) / (hi - lo); };
  std::ostringstream o;
  o.precision(5);
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kW << "\" height=\"" << kH << "\" "
    << "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  o << "<text x=\"" << kW / 2 << "\" y=\"18\" text-anchor=\"middle\">" << title << "</text>\n";
  o << "<line x1=\"" << kLeft << "\" y1=\"" << kH - kBottom << "\" x2=\"" << kW - kRight << "\" y2=\"" << kH - kBottom
    << "\" stroke=\"black\"/>\n<line x1=\"" << kLeft << "\" y1=\"" << kTop << "\" x2=\"" << kLeft << "\" y2=\""
    << kH - kBottom << "\" stroke=\"black\"/>\n";
  for (int i = 0; i <= 4; ++i) {
    const double v = lo + (hi - lo) * i / 4.0, s = max_step * i / 4.0;
    o << "<text x=\"" << kLeft - 6 << "\" y=\"" << y(v) + 4 << "\" text-anchor=\"end\">" << v << "</text>\n";
    o << "<text x=\"" << x(s) << "\" y=\"" << kH - kBottom + 16 << "\" text-anchor=\"middle\">" << std::llround(s)
      << "</text>\n";
  }
  o << "<text x=\"" << kW / 2 << "\" y=\"" << kH - 8 << "\" text-anchor=\"middle\">step</text>\n";
  o << "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.2\" points=\"";
  for (const auto& r : rows)
    if (std::isfinite(r.train_loss)) o << x(double(r.step)) << ',' << y(r.train_loss) << ' ';
  o << "\"/>\n";
  for (const auto& r : rows)
    if (std::isfinite(r.val_loss))
      o << "<circle cx=\"" << x(double(r.step)) << "\" cy=\"" << y(r.val_loss) << "\" r=\"3\" fill=\"#d62728\"/>\n";
  o << "<text x=\"" << kW - kRight - 150 << "\" y=\"" << kTop + 12 << "\" fill=\"#1f77b4\">train</text>\n";
  o << "<text x=\"" << kW - kRight - 90 << "\" y=\"" << kTop + 12 << "\" fill=\"#d62728\">validation</text>\n";
  o << "</svg>\n";
  return o.str();
}

void write_loss_plot(const std::string& path, const std::vector<MetricRow>& rows, const std::string& title) {
  io::write_file_atomic(path, loss_plot_svg(rows, title));
}

}  // namespace rotor::models
