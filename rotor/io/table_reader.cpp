#include "rotor/io/table_reader.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <string_view>

#include "rotor/core/error.h"
#include "rotor/io/atomic_file.h"

namespace rotor::io {

namespace {

constexpr float kMissing = std::numeric_limits<float>::quiet_NaN();

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool is_missing_token(std::string_view s) {
  return s.empty() || s == "nan" || s == "NaN" || s == "NA" || s == "NAN" || s == "?";
}

// Parses a whole cell as a float; false if it is not entirely a number.
bool parse_float(std::string_view s, float& out) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, out);
  if (ec == std::errc::result_out_of_range) {
    // Out of float range: accept tiny values through double (they round to 0 or a denormal);
    // values beyond float's range are not numbers rotor can store.
    double d = 0;
    auto [p2, ec2] = std::from_chars(s.data(), end, d);
    if (p2 != end || ec2 != std::errc()) return false;  // overflows double too (or underflow: rejected)
    if (std::fabs(d) > std::numeric_limits<float>::max()) return false;
    out = static_cast<float>(d);
    return true;
  }
  return ec == std::errc() && ptr == end && !s.empty();
}

// Iterates the lines of a text, tracking 1-based line numbers.
class LineCursor {
 public:
  explicit LineCursor(std::string_view text) : text_(text) {}
  bool next(std::string_view& line) {
    if (pos_ >= text_.size()) return false;
    size_t end = text_.find('\n', pos_);
    if (end == std::string_view::npos) end = text_.size();
    line = text_.substr(pos_, end - pos_);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos_ = end + 1;
    ++line_no_;
    return true;
  }
  int64_t line_no() const { return line_no_; }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  int64_t line_no_ = 0;
};

bool is_blank(std::string_view line) { return trim(line).empty(); }

std::string unquote(std::string_view s) {
  s = trim(s);
  if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') && s.back() == s.front()) s = s.substr(1, s.size() - 2);
  return std::string(s);
}

// Splits a CSV line into cells, remembering each cell's 1-based character column.
void split_cells(std::string_view line, char delim, std::vector<std::string_view>& cells, std::vector<int64_t>& columns) {
  cells.clear();
  columns.clear();
  size_t start = 0;
  while (true) {
    size_t end = line.find(delim, start);
    if (end == std::string_view::npos) end = line.size();
    cells.push_back(line.substr(start, end - start));
    columns.push_back(static_cast<int64_t>(start) + 1);
    if (end == line.size()) break;
    start = end + 1;
  }
}

}  // namespace

Table read_csv_text(const std::string& text, const std::string& name, const TableOptions& options) {
  Table table;
  table.source = name;
  LineCursor cursor(text);
  std::string_view line;
  std::vector<std::string_view> cells;
  std::vector<int64_t> columns;
  int64_t width = -1;
  bool first = true;
  const int label_col = options.label_column;
  const int weight_col = options.weight_column;
  ROTOR_CHECK(label_col < 0 || weight_col < 0 || label_col != weight_col,
              name, ": the label column and the weight column are both ", label_col);
  while (cursor.next(line)) {
    if (is_blank(line)) continue;
    split_cells(line, options.delimiter, cells, columns);
    const int64_t n = static_cast<int64_t>(cells.size());
    if (first) {
      first = false;
      bool header = options.header == HeaderMode::kYes;
      if (options.header == HeaderMode::kAuto) {
        int64_t numeric = 0;
        float v;
        for (auto c : cells) numeric += (parse_float(trim(c), v) || is_missing_token(trim(c))) ? 1 : 0;
        header = numeric == 0;
      }
      width = n;
      ROTOR_CHECK(label_col < n, name, ":", cursor.line_no(), ": label column ", label_col, " does not exist (the row has ",
                  n, " columns)");
      ROTOR_CHECK(weight_col < n, name, ":", cursor.line_no(), ": weight column ", weight_col,
                  " does not exist (the row has ", n, " columns)");
      table.cols = n - (label_col >= 0 ? 1 : 0) - (weight_col >= 0 ? 1 : 0);
      ROTOR_CHECK(table.cols > 0, name, ":", cursor.line_no(), ": no feature columns");
      if (header) {
        for (int64_t c = 0; c < n; ++c)
          if (c != label_col && c != weight_col) table.feature_names.push_back(unquote(cells[c]));
        continue;
      }
    }
    ROTOR_CHECK(n == width, name, ":", cursor.line_no(), ":", columns.back(), ": row has ", n, " columns, expected ",
                width, " (ragged row)");
    for (int64_t c = 0; c < n; ++c) {
      std::string_view cell = trim(cells[c]);
      float v;
      if (is_missing_token(cell)) {
        ROTOR_CHECK(c != label_col, name, ":", cursor.line_no(), ":", columns[c], ": missing label");
        ROTOR_CHECK(c != weight_col, name, ":", cursor.line_no(), ":", columns[c], ": missing weight");
        v = kMissing;
      } else if (!parse_float(cell, v)) {
        throw Error(cat(name, ":", cursor.line_no(), ":", columns[c], ": cell '", cell, "' (column ", c + 1,
                        ") is not a number"));
      }
      if (c == label_col) {
        ROTOR_CHECK(std::isfinite(v), name, ":", cursor.line_no(), ":", columns[c], ": label '", cell, "' is not finite");
        table.labels.push_back(v);
      } else if (c == weight_col) {
        ROTOR_CHECK(std::isfinite(v) && v >= 0, name, ":", cursor.line_no(), ":", columns[c], ": weight '", cell,
                    "' is not a finite non-negative number");
        table.weights.push_back(v);
      } else {
        ROTOR_CHECK(!std::isinf(v), name, ":", cursor.line_no(), ":", columns[c], ": cell '", cell, "' is infinite");
        table.values.push_back(v);
      }
    }
    ++table.rows;
  }
  ROTOR_CHECK(table.rows > 0, name, ": no data rows (empty file)");
  return table;
}

Table read_csv(const std::string& path, const TableOptions& options) {
  return read_csv_text(read_file(path), path, options);
}

Table read_libsvm_text(const std::string& text, const std::string& name, const TableOptions& options) {
  Table table;
  table.source = name;
  struct Entry {
    int64_t row, col;
    float value;
  };
  std::vector<Entry> entries;
  int64_t max_col = -1;
  LineCursor cursor(text);
  std::string_view line;
  while (cursor.next(line)) {
    const size_t hash = line.find('#');
    if (hash != std::string_view::npos) line = line.substr(0, hash);
    if (is_blank(line)) continue;
    size_t pos = 0;
    bool first_token = true;
    int64_t prev_index = -1;
    while (pos < line.size()) {
      while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t' || line[pos] == '\r')) ++pos;
      if (pos >= line.size()) break;
      size_t end = pos;
      while (end < line.size() && line[end] != ' ' && line[end] != '\t' && line[end] != '\r') ++end;
      std::string_view token = line.substr(pos, end - pos);
      const int64_t column = static_cast<int64_t>(pos) + 1;
      if (first_token) {
        first_token = false;
        float label;
        ROTOR_CHECK(parse_float(token, label), name, ":", cursor.line_no(), ":", column, ": label '", token,
                    "' is not a number");
        ROTOR_CHECK(std::isfinite(label), name, ":", cursor.line_no(), ":", column, ": label '", token, "' is not finite");
        table.labels.push_back(label);
      } else if (token.substr(0, 4) == "qid:") {
        // query ids are accepted and ignored (ranking is not supported by the learners here)
      } else {
        const size_t colon = token.find(':');
        ROTOR_CHECK(colon != std::string_view::npos, name, ":", cursor.line_no(), ":", column, ": entry '", token,
                    "' is not index:value");
        std::string_view idx_text = token.substr(0, colon), val_text = token.substr(colon + 1);
        int64_t index = 0;
        auto [p, ec] = std::from_chars(idx_text.data(), idx_text.data() + idx_text.size(), index);
        ROTOR_CHECK(ec == std::errc() && p == idx_text.data() + idx_text.size() && index >= 0 && !idx_text.empty(), name,
                    ":", cursor.line_no(), ":", column, ": feature index '", idx_text, "' is not a non-negative integer");
        ROTOR_CHECK(index < (1 << 24), name, ":", cursor.line_no(), ":", column, ": feature index ", index,
                    " is too large");
        ROTOR_CHECK(index > prev_index, name, ":", cursor.line_no(), ":", column, ": feature index ", index,
                    " is not increasing");
        prev_index = index;
        float v;
        if (is_missing_token(val_text)) {
          v = kMissing;
        } else {
          ROTOR_CHECK(parse_float(val_text, v), name, ":", cursor.line_no(), ":", column + static_cast<int64_t>(colon) + 1,
                      ": value '", val_text, "' is not a number");
          ROTOR_CHECK(!std::isinf(v), name, ":", cursor.line_no(), ":", column, ": value '", val_text, "' is infinite");
        }
        entries.push_back({table.rows, index, v});
        if (index > max_col) max_col = index;
      }
      pos = end;
    }
    ++table.rows;
  }
  ROTOR_CHECK(table.rows > 0, name, ": no data rows (empty file)");
  // Indices are used as given (0-based and 1-based files both work: column 0 may simply stay empty).
  table.cols = std::max<int64_t>(max_col + 1, std::max<int64_t>(options.min_features, 1));
  table.values.assign(static_cast<size_t>(table.rows * table.cols), kMissing);
  for (const Entry& e : entries) table.values[static_cast<size_t>(e.row * table.cols + e.col)] = e.value;
  return table;
}

Table read_libsvm(const std::string& path, const TableOptions& options) {
  return read_libsvm_text(read_file(path), path, options);
}

Table read_table(const std::string& path, const TableOptions& options) {
  std::string format = options.format;
  if (format == "auto") {
    auto ends_with = [&](std::string_view suffix) {
      return path.size() >= suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    format = (ends_with(".svm") || ends_with(".libsvm") || ends_with(".svmlight")) ? "libsvm" : "csv";
  }
  if (format == "csv") return read_csv(path, options);
  if (format == "libsvm") return read_libsvm(path, options);
  throw Error(cat("unknown data format '", options.format, "' (expected auto, csv or libsvm)"));
}

std::vector<float> read_weights_file(const std::string& path, int64_t rows) {
  const std::string text = read_file(path);
  std::vector<float> weights;
  LineCursor cursor(text);
  std::string_view line;
  while (cursor.next(line)) {
    std::string_view cell = trim(line);
    if (cell.empty()) continue;
    float w;
    ROTOR_CHECK(parse_float(cell, w) && std::isfinite(w) && w >= 0, path, ":", cursor.line_no(), ":1: weight '", cell,
                "' is not a finite non-negative number");
    weights.push_back(w);
  }
  ROTOR_CHECK(static_cast<int64_t>(weights.size()) == rows, path, ": has ", weights.size(), " weights, the data has ",
              rows, " rows");
  return weights;
}

void check_labels_finite(const Table& table) {
  for (size_t i = 0; i < table.labels.size(); ++i)
    ROTOR_CHECK(std::isfinite(table.labels[i]), table.source, ": row ", i + 1, ": label ", table.labels[i],
                " is not finite");
}

}  // namespace rotor::io
