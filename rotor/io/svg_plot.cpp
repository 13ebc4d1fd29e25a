#include "rotor/io/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "rotor/core/error.h"
#include "rotor/io/atomic_file.h"

namespace rotor::io {

namespace {

constexpr const char* kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                    "#9467bd", "#8c564b", "#e377c2", "#17becf"};

// Length of the valid UTF-8 sequence starting at s[i], or 0 when the bytes there are not valid UTF-8.
size_t utf8_sequence_length(const std::string& s, size_t i) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  const size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return 0;
  return n;
}

std::string xml_escape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_sequence_length(s, i);
    if (n != 1) {  // multi-byte characters pass through; invalid bytes would make the XML ill-formed
      out += n ? s.substr(i, n) : "?";
      i += n ? n : 1;
      continue;
    }
    const char c = s[i++];
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // Control characters are not allowed in XML 1.0 documents.
        out += (static_cast<unsigned char>(c) < 0x20 && c != '\t') ? ' ' : c;
    }
  }
  return out;
}

std::string fixed(double v, int decimals = 2) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// A tick label with as many decimals as the spacing needs ("0.25", "1000", "1e+06").
std::string tick_label(double v, double spacing) {
  if (v == 0) return "0";
  const double magnitude = std::max(std::fabs(v), spacing);
  char buf[64];
  if (magnitude >= 1e6 || magnitude < 1e-4) {
    std::snprintf(buf, sizeof buf, "%.3g", v);
  } else {
    const int decimals = std::max(0, static_cast<int>(std::ceil(-std::log10(spacing) - 1e-9)));
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  }
  return buf;
}

struct Range {
  double lo = INFINITY, hi = -INFINITY;
  void widen_if_flat() {
    if (hi > lo) return;
    const double pad = lo == 0 ? 1 : std::fabs(lo) * 0.05;
    lo -= pad;
    hi += pad;
  }
};

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int target) {
  ROTOR_CHECK(std::isfinite(lo) && std::isfinite(hi) && lo < hi && target > 0, "plot: bad tick range [", lo, ", ",
              hi, "]");
  // Among 1, 2, 5, 10 x 10^k near the raw spacing, the one whose tick count is closest to target.
  const double raw = (hi - lo) / target;
  const double decade = std::pow(10.0, std::floor(std::log10(raw)));
  double best_step = decade;
  long best_miss = -1;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    const double step = m * decade;
    const long n = static_cast<long>(std::floor(hi / step + 1e-9) - std::ceil(lo / step - 1e-9)) + 1;
    const long miss = std::labs(n - target);
    if (best_miss < 0 || miss <= best_miss) {
      best_miss = miss;
      best_step = step;
    }
  }
  std::vector<double> ticks;
  for (double k = std::ceil(lo / best_step - 1e-9); k * best_step <= hi + best_step * 1e-9; k += 1)
    ticks.push_back(k == 0 ? 0.0 : k * best_step);
  return ticks;
}

std::string render_svg_plot(const std::vector<PlotSeries>& series, const PlotOptions& options) {
  ROTOR_CHECK(!series.empty(), "plot: no series to draw");
  ROTOR_CHECK(options.width >= 200 && options.height >= 150, "plot: ", options.width, "x", options.height,
              " is too small (at least 200x150)");
  auto y_of = [&](double y) { return options.log_y ? std::log10(y) : y; };
  Range xr, yr;
  size_t points = 0;
  for (const PlotSeries& s : series) {
    ROTOR_CHECK(s.x.size() == s.y.size(), "plot: series '", s.name, "' has ", s.x.size(), " x values but ",
                s.y.size(), " y values");
    for (size_t i = 0; i < s.x.size(); ++i) {
      ROTOR_CHECK(std::isfinite(s.x[i]) && std::isfinite(s.y[i]), "plot: series '", s.name,
                  "' has a non-finite value at point ", i, " (", s.x[i], ", ", s.y[i], ")");
      ROTOR_CHECK(!options.log_y || s.y[i] > 0, "plot: series '", s.name, "' has y = ", s.y[i], " at point ", i,
                  ", which a logarithmic axis cannot show");
      xr.lo = std::min(xr.lo, s.x[i]);
      xr.hi = std::max(xr.hi, s.x[i]);
      yr.lo = std::min(yr.lo, y_of(s.y[i]));
      yr.hi = std::max(yr.hi, y_of(s.y[i]));
    }
    points += s.x.size();
  }
  ROTOR_CHECK(points > 0, "plot: every series is empty");
  xr.widen_if_flat();
  yr.widen_if_flat();

  // Plot area inside margins for labels and the legend.
  const double left = 70, right = options.width - 20.0, top = options.title.empty() ? 20.0 : 40.0,
               bottom = options.height - 50.0;
  auto px = [&](double x) { return left + (x - xr.lo) / (xr.hi - xr.lo) * (right - left); };
  auto py = [&](double y) { return bottom - (y - yr.lo) / (yr.hi - yr.lo) * (bottom - top); };

  std::string svg;
  svg += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  svg += cat("<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"", options.width, "\" height=\"",
             options.height, "\" viewBox=\"0 0 ", options.width, " ", options.height,
             "\" font-family=\"sans-serif\" font-size=\"12\">\n");
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  if (!options.title.empty())
    svg += cat("<text class=\"title\" x=\"", fixed((left + right) / 2), "\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">",
               xml_escape(options.title), "</text>\n");

  svg += "<g class=\"axes\" stroke=\"#000\" stroke-width=\"1\">\n";
  svg += cat("<line x1=\"", fixed(left), "\" y1=\"", fixed(bottom), "\" x2=\"", fixed(right), "\" y2=\"", fixed(bottom), "\"/>\n");
  svg += cat("<line x1=\"", fixed(left), "\" y1=\"", fixed(top), "\" x2=\"", fixed(left), "\" y2=\"", fixed(bottom), "\"/>\n");
  svg += "</g>\n";

  const std::vector<double> xt = nice_ticks(xr.lo, xr.hi, 6);
  const double x_spacing = xt.size() > 1 ? xt[1] - xt[0] : xr.hi - xr.lo;
  svg += "<g class=\"x-ticks\">\n";
  for (double t : xt) {
    const std::string x = fixed(px(t));
    svg += cat("<line x1=\"", x, "\" y1=\"", fixed(top), "\" x2=\"", x, "\" y2=\"", fixed(bottom),
               "\" stroke=\"#e0e0e0\"/><line x1=\"", x, "\" y1=\"", fixed(bottom), "\" x2=\"", x, "\" y2=\"",
               fixed(bottom + 5), "\" stroke=\"#000\"/><text x=\"", x, "\" y=\"", fixed(bottom + 18),
               "\" text-anchor=\"middle\">", tick_label(t, x_spacing), "</text>\n");
  }
  svg += "</g>\n";

  // y ticks: on a log axis, ticks at the 1/2/5 x 10^k values within range (labels show the values).
  std::vector<std::pair<double, std::string>> yt;
  if (options.log_y) {
    for (int e = static_cast<int>(std::floor(yr.lo)); e <= static_cast<int>(std::ceil(yr.hi)); ++e)
      for (double m : {1.0, 2.0, 5.0}) {
        const double v = m * std::pow(10.0, e), lv = std::log10(v);
        if (lv >= yr.lo - 1e-9 && lv <= yr.hi + 1e-9) yt.emplace_back(lv, tick_label(v, std::pow(10.0, e)));
      }
    if (yt.size() > 10) {  // many decades: keep the powers of ten
      std::vector<std::pair<double, std::string>> decades;
      for (const auto& t : yt)
        if (std::fabs(t.first - std::round(t.first)) < 1e-9) decades.push_back(t);
      yt = decades;
    }
  } else {
    const std::vector<double> ticks = nice_ticks(yr.lo, yr.hi, 6);
    const double spacing = ticks.size() > 1 ? ticks[1] - ticks[0] : yr.hi - yr.lo;
    for (double t : ticks) yt.emplace_back(t, tick_label(t, spacing));
  }
  svg += "<g class=\"y-ticks\">\n";
  for (const auto& [t, label] : yt) {
    const std::string y = fixed(py(t));
    svg += cat("<line x1=\"", fixed(left), "\" y1=\"", y, "\" x2=\"", fixed(right), "\" y2=\"", y,
               "\" stroke=\"#e0e0e0\"/><line x1=\"", fixed(left - 5), "\" y1=\"", y, "\" x2=\"", fixed(left), "\" y2=\"",
               y, "\" stroke=\"#000\"/><text x=\"", fixed(left - 8), "\" y=\"", fixed(py(t) + 4),
               "\" text-anchor=\"end\">", label, "</text>\n");
  }
  svg += "</g>\n";

  svg += cat("<text class=\"x-label\" x=\"", fixed((left + right) / 2), "\" y=\"", fixed(options.height - 12.0),
             "\" text-anchor=\"middle\">", xml_escape(options.x_label), "</text>\n");
  const double ymid = (top + bottom) / 2;
  svg += cat("<text class=\"y-label\" x=\"16\" y=\"", fixed(ymid), "\" text-anchor=\"middle\" transform=\"rotate(-90 16 ",
             fixed(ymid), ")\">", xml_escape(options.y_label), "</text>\n");

  for (size_t k = 0; k < series.size(); ++k) {
    const PlotSeries& s = series[k];
    const char* color = kPalette[k % std::size(kPalette)];
    svg += cat("<g class=\"series\" data-name=\"", xml_escape(s.name), "\" stroke=\"", color, "\" fill=\"", color, "\">\n");
    if (s.x.size() == 1) {
      svg += cat("<circle cx=\"", fixed(px(s.x[0])), "\" cy=\"", fixed(py(y_of(s.y[0]))), "\" r=\"3\"/>\n");
    } else if (!s.x.empty()) {
      svg += "<polyline fill=\"none\" stroke-width=\"1.5\" points=\"";
      for (size_t i = 0; i < s.x.size(); ++i)
        svg += cat(i ? " " : "", fixed(px(s.x[i])), ",", fixed(py(y_of(s.y[i]))));
      svg += "\"/>\n";
    }
    svg += "</g>\n";
  }

  svg += "<g class=\"legend\">\n";
  for (size_t k = 0; k < series.size(); ++k) {
    const double y = top + 12 + 18.0 * static_cast<double>(k);
    const char* color = kPalette[k % std::size(kPalette)];
    svg += cat("<line x1=\"", fixed(right - 150), "\" y1=\"", fixed(y), "\" x2=\"", fixed(right - 126), "\" y2=\"",
               fixed(y), "\" stroke=\"", color, "\" stroke-width=\"2\"/><text x=\"", fixed(right - 120), "\" y=\"",
               fixed(y + 4), "\">", xml_escape(series[k].name), "</text>\n");
  }
  svg += "</g>\n</svg>\n";
  return svg;
}

void save_svg_plot(const std::string& path, const std::vector<PlotSeries>& series, const PlotOptions& options) {
  write_file_atomic(path, render_svg_plot(series, options));
}

}  // namespace rotor::io
