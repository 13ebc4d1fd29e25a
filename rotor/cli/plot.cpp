// `rotor plot`: draws columns of a metrics CSV (as written during training) as an SVG line plot.
#include <cmath>

#include "rotor/cli/command.h"
#include "rotor/core/error.h"
#include "rotor/io/metrics_csv.h"
#include "rotor/io/svg_plot.h"

namespace {

struct Options {
  std::string csv, out, x = "step", title;
  std::vector<std::string> y;
  bool log_y = false;
};

void setup(CLI::App& cmd) {
  static Options o;
  cmd.add_option("csv", o.csv, "metrics CSV with a header line")->required();
  cmd.add_option("--out", o.out, "SVG file to write")->required();
  cmd.add_option("--x", o.x, "column for the x axis")->capture_default_str();
  cmd.add_option("--y", o.y, "columns to draw (default: every other column)")->delimiter(',');
  cmd.add_option("--title", o.title, "plot title");
  cmd.add_flag("--log-y", o.log_y, "logarithmic y axis");
  cmd.callback([] {
    const rotor::io::MetricsTable table = rotor::io::read_metrics_csv(o.csv);
    std::vector<std::string> columns = o.y;
    if (columns.empty())
      for (const std::string& c : table.columns)
        if (c != o.x) columns.push_back(c);
    const std::vector<double> xs = table.column(o.x);
    std::vector<rotor::io::PlotSeries> series;
    for (const std::string& c : columns) {
      rotor::io::PlotSeries s{c, {}, {}};
      const std::vector<double> ys = table.column(c);
      for (size_t i = 0; i < ys.size(); ++i)
        if (!std::isnan(ys[i]) && !std::isnan(xs[i])) {  // empty fields are steps without that metric
          s.x.push_back(xs[i]);
          s.y.push_back(ys[i]);
        }
      series.push_back(std::move(s));
    }
    rotor::io::PlotOptions options;
    options.title = o.title;
    options.x_label = o.x;
    options.y_label = columns.size() == 1 ? columns[0] : "";
    options.log_y = o.log_y;
    rotor::io::save_svg_plot(o.out, series, options);
  });
}

const bool registered = rotor::cli::register_command("plot", "draw metrics CSV columns as an SVG line plot", setup);

}  // namespace
