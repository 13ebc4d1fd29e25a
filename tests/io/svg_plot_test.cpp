#include "rotor/io/svg_plot.h"

#include <gtest/gtest.h>

#include <cmath>
#include <regex>

#include "rotor/io/atomic_file.h"
#include "tests/io/file_size_limit.h"
#include "tests/io/io_test_util.h"

namespace rotor::io {
namespace {

using testing::expect_error;
using testing::fresh_dir;

// A small XML well-formedness check: balanced tags, quoted attributes, known entities only.
// (tests/cli/plot_test.sh also parses the output with Python's xml.etree.)
std::string xml_problem(const std::string& doc) {
  std::vector<std::string> open;
  size_t i = 0;
  int roots = 0;
  while (i < doc.size()) {
    if (doc[i] == '&') {
      static const std::regex entity("&(amp|lt|gt|quot|apos);");
      if (!std::regex_search(doc.begin() + i, doc.begin() + std::min(doc.size(), i + 6), entity,
                             std::regex_constants::match_continuous))
        return cat("bad entity at ", i);
      ++i;
      continue;
    }
    if (doc[i] != '<') {
      if (open.empty() && doc[i] != '\n') return cat("text outside the root at ", i);
      ++i;
      continue;
    }
    if (doc.compare(i, 2, "<?") == 0) {
      i = doc.find("?>", i);
      if (i == std::string::npos) return "unterminated declaration";
      i += 2;
      continue;
    }
    const size_t end = doc.find('>', i);
    if (end == std::string::npos) return "unterminated tag";
    std::string tag = doc.substr(i + 1, end - i - 1);
    i = end + 1;
    if (tag[0] == '/') {
      if (open.empty() || open.back() != tag.substr(1)) return cat("mismatched </", tag.substr(1), ">");
      open.pop_back();
      continue;
    }
    const bool self_closing = tag.back() == '/';
    if (self_closing) tag.pop_back();
    const std::string name = tag.substr(0, tag.find(' '));
    static const std::regex attrs(R"(^[A-Za-z][\w:-]*(\s+[\w:-]+="[^"<]*")*\s*$)");
    if (!std::regex_match(tag, attrs)) return cat("malformed tag <", tag, ">");
    if (open.empty()) ++roots;
    if (!self_closing) open.push_back(name);
  }
  if (!open.empty()) return cat("unclosed <", open.back(), ">");
  return roots == 1 ? "" : cat(roots, " root elements");
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

TEST(SvgPlot, WellFormedWithSeriesLegendAndAxes) {
  PlotSeries train{"train <loss> & \"more\"", {}, {}}, val{"validation", {0, 50, 100}, {2.9, 2.1, 1.8}};
  for (int i = 0; i <= 100; ++i) {
    train.x.push_back(i);
    train.y.push_back(3.0 * std::exp(-i / 40.0) + 1.2);
  }
  PlotOptions options;
  options.title = "loss curve";
  options.y_label = "cross-entropy";
  const std::string svg = render_svg_plot({train, val}, options);
  EXPECT_EQ(xml_problem(svg), "");
  EXPECT_EQ(count(svg, "<g class=\"series\""), 2u);
  EXPECT_NE(svg.find("data-name=\"train &lt;loss&gt; &amp; &quot;more&quot;\""), std::string::npos);
  EXPECT_NE(svg.find(">validation</text>"), std::string::npos);  // legend entry
  EXPECT_NE(svg.find(">cross-entropy</text>"), std::string::npos);
  EXPECT_NE(svg.find(">loss curve</text>"), std::string::npos);
  EXPECT_EQ(count(svg, "<polyline"), 2u);
  // The train polyline has all 101 points.
  const size_t poly = svg.find("points=\"");
  const std::string pts = svg.substr(poly + 8, svg.find('"', poly + 8) - poly - 8);
  EXPECT_EQ(count(pts, ","), 101u);
  // x ticks at 0, 20, ..., 100; y ticks at nice values.
  for (const char* label : {">0</text>", ">20</text>", ">100</text>"}) EXPECT_NE(svg.find(label), std::string::npos);
  EXPECT_EQ(svg, render_svg_plot({train, val}, options));  // deterministic
}

TEST(SvgPlot, NiceTicks) {
  EXPECT_EQ(nice_ticks(0, 100, 5), (std::vector<double>{0, 20, 40, 60, 80, 100}));
  EXPECT_EQ(nice_ticks(1.13, 3.9, 6), (std::vector<double>{1.5, 2, 2.5, 3, 3.5}));
  const std::vector<double> small = nice_ticks(-0.003, 0.0071, 5);
  EXPECT_EQ(small.front(), -0.002);
  EXPECT_EQ(small.size(), 5u);
  EXPECT_EQ(small[1], 0.0);
}

TEST(SvgPlot, LogAxisSinglePointsAndErrors) {
  const std::string svg =
      render_svg_plot({{"loss", {1, 2, 3, 4}, {100, 10, 1, 0.5}}, {"one", {2}, {5}}}, {.title = "", .log_y = true});
  EXPECT_EQ(xml_problem(svg), "");
  EXPECT_NE(svg.find(">100</text>"), std::string::npos);
  EXPECT_NE(svg.find(">0.5</text>"), std::string::npos);
  EXPECT_EQ(count(svg, "<circle"), 1u);
  expect_error([] { render_svg_plot({{"a", {1, 2}, {1, NAN}}}); }, {"'a'", "non-finite value at point 1"});
  expect_error([] { render_svg_plot({{"a", {1, 2}, {1}}}); }, {"2 x values but 1 y values"});
  expect_error([] { render_svg_plot({{"a", {1}, {0}}}, {.title = "t", .log_y = true}); }, {"logarithmic"});
  expect_error([] { render_svg_plot({}); }, {"no series"});
  expect_error([] { render_svg_plot({{"a", {}, {}}}); }, {"every series is empty"});
  // Invalid UTF-8 in a name still gives well-formed XML.
  EXPECT_EQ(xml_problem(render_svg_plot({{"bad\xff\xfe name \xc3\xa9", {1, 2}, {1, 1}}})), "");
}

TEST(SvgPlot, SavedAtomically) {
  const std::string dir = fresh_dir("svg_plot");
  save_svg_plot(dir + "/loss.svg", {{"a", {1, 2}, {3, 4}}});
  const std::string before = read_file(dir + "/loss.svg");
  EXPECT_EQ(xml_problem(before), "");
  expect_error([&] { save_svg_plot(dir + "/loss.svg", {{"a", {1, 2}, {3, INFINITY}}}); }, {"non-finite"});
  EXPECT_EQ(read_file(dir + "/loss.svg"), before);
}

// A write that fails part-way (the file-size limit is half the new plot) leaves the old plot and no temporary.
TEST(SvgPlot, WriteFailingPartWayLeavesExistingFile) {
  const std::string dir = fresh_dir("svg_plot_partial");
  const std::string path = dir + "/loss.svg";
  save_svg_plot(path, {{"a", {1, 2}, {3, 4}}});
  const std::string before = read_file(path);
  std::vector<double> x, y;
  for (int i = 0; i < 2000; ++i) x.push_back(i), y.push_back(std::sin(i * 0.01));
  save_svg_plot(dir + "/big.svg", {{"a", x, y}});
  const auto big = std::filesystem::file_size(dir + "/big.svg");
  ASSERT_GT(big, 4 * before.size());
  {
    testing::FileSizeLimit limit(big / 2);
    EXPECT_THROW(save_svg_plot(path, {{"a", x, y}}), Error);
  }
  EXPECT_EQ(read_file(path), before);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()), 2);
}

}  // namespace
}  // namespace rotor::io
