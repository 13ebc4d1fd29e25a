#include "rotor/cli/dist_data.h"

#include <cstdio>
#include <fstream>
#include <iterator>

#include "rotor/core/error.h"
#include "rotor/dist/comm.h"

namespace rotor::cli {

io::Table read_or_report(const TableArgs& args, const std::string& path, std::string& problem) {
  try {
    return args.read(path);
  } catch (const Error& e) {
    problem = e.what();
    return {};
  }
}

io::Table read_rank_rows(const TableArgs& args, const std::string& path, std::string& problem) {
  const size_t at = path.find("%d");
  if (at != std::string::npos) {
    std::string mine = path;
    mine.replace(at, 2, std::to_string(dist::rank()));
    return read_or_report(args, mine, problem);
  }
  io::Table all = read_or_report(args, path, problem);
  if (!problem.empty() || !dist::distributed()) return all;
  const auto [begin, end] = dist::share(all.rows);
  io::Table part;
  part.cols = all.cols;
  part.rows = end - begin;
  part.feature_names = all.feature_names;
  part.source = cat(path, " rows ", begin + 1, "..", end);
  part.values.assign(all.values.begin() + begin * all.cols, all.values.begin() + end * all.cols);
  if (!all.labels.empty()) part.labels.assign(all.labels.begin() + begin, all.labels.begin() + end);
  if (!all.weights.empty()) part.weights.assign(all.weights.begin() + begin, all.weights.begin() + end);
  return part;
}

std::string command_line_fingerprint() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  char buf[32];
  std::snprintf(buf, sizeof buf, "command line %016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace rotor::cli
