#include "rotor/io/metrics_csv.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "rotor/core/error.h"
#include "rotor/io/atomic_file.h"

namespace rotor::io {

namespace {

std::vector<std::string> split_fields(const std::string& line) {
  std::vector<std::string> fields;
  size_t start = 0;
  while (true) {
    const size_t comma = line.find(',', start);
    fields.push_back(line.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) return fields;
    start = comma + 1;
  }
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? "," : "") + parts[i];
  return out;
}

double parse_field(const std::string& field, const std::string& where) {
  if (field.empty()) return NAN;
  double value = 0;
  const auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), value);
  ROTOR_CHECK(ec == std::errc() && end == field.data() + field.size(), where, ": '", field, "' is not a number");
  return value;
}

// Lines of a file without their '\n'; a final line without '\n' (an interrupted append) is dropped.
std::vector<std::string> complete_lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1)
    lines.push_back(text.substr(start, nl - start));
  return lines;
}

}  // namespace

std::string format_number(double value) {
  if (std::isnan(value)) return "";
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, end);
}

MetricsCsv::MetricsCsv(std::string path, std::vector<std::string> columns, std::optional<double> keep_rows_up_to)
    : path_(std::move(path)), columns_(std::move(columns)) {
  ROTOR_CHECK(!columns_.empty(), "metrics '", path_, "': no columns");
  for (const std::string& c : columns_)
    ROTOR_CHECK(!c.empty() && c.find_first_of(",\"\n\r") == std::string::npos, "metrics '", path_,
                "': column name '", c, "' is empty or holds a comma, quote or newline");
  const std::string header = join(columns_);
  std::string text = std::filesystem::exists(path_) ? read_file(path_) : "";
  if (!text.empty()) {
    const std::vector<std::string> lines = complete_lines(text);
    ROTOR_CHECK(!lines.empty() && lines[0] == header, "metrics '", path_, "': existing header '",
                lines.empty() ? text.substr(0, 80) : lines[0], "' differs from '", header, "'");
    std::string kept = header + "\n";
    for (size_t i = 1; i < lines.size(); ++i) {
      if (keep_rows_up_to) {
        const double first = parse_field(split_fields(lines[i])[0], cat("metrics '", path_, "' line ", i + 1));
        if (!(first <= *keep_rows_up_to)) continue;
      }
      kept += lines[i] + "\n";
    }
    if (kept != text) write_file_atomic(path_, kept);  // dropped rows, or an incomplete last line
  }
  file_ = std::fopen(path_.c_str(), "ab");
  ROTOR_CHECK(file_, "cannot write '", path_, "': ", std::strerror(errno));
  if (text.empty()) {
    std::fputs((header + "\n").c_str(), file_);
    ROTOR_CHECK(std::fflush(file_) == 0, "cannot write '", path_, "': ", std::strerror(errno));
  }
}

MetricsCsv::~MetricsCsv() {
  if (file_) std::fclose(file_);
}

void MetricsCsv::append(const std::vector<double>& values) {
  ROTOR_CHECK(values.size() == columns_.size(), "metrics '", path_, "': row has ", values.size(),
              " values for ", columns_.size(), " columns");
  std::vector<std::string> fields;
  for (double v : values) fields.push_back(format_number(v));
  const std::string line = join(fields) + "\n";
  ROTOR_CHECK(std::fwrite(line.data(), 1, line.size(), file_) == line.size() && std::fflush(file_) == 0,
              "cannot write '", path_, "': ", std::strerror(errno));
}

std::vector<double> MetricsTable::column(const std::string& name) const {
  for (size_t c = 0; c < columns.size(); ++c) {
    if (columns[c] != name) continue;
    std::vector<double> out;
    for (const auto& row : rows) out.push_back(row[c]);
    return out;
  }
  throw Error(cat("metrics: no column '", name, "' (columns: ", join(columns), ")"));
}

MetricsTable read_metrics_csv(const std::string& path) {
  const std::vector<std::string> lines = complete_lines(read_file(path));
  ROTOR_CHECK(!lines.empty(), "metrics '", path, "': empty file");
  MetricsTable table;
  table.columns = split_fields(lines[0]);
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::string where = cat("metrics '", path, "' line ", i + 1);
    const std::vector<std::string> fields = split_fields(lines[i]);
    ROTOR_CHECK(fields.size() == table.columns.size(), where, ": ", fields.size(), " fields for ",
                table.columns.size(), " columns");
    std::vector<double> row;
    for (const std::string& f : fields) row.push_back(parse_field(f, where));
    table.rows.push_back(std::move(row));
  }
  return table;
}

}  // namespace rotor::io
