#include "rotor/io/voc_files.h"

#include <pugixml.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>
#include <string_view>
#include <unordered_map>

#include "rotor/core/error.h"
#include "rotor/io/atomic_file.h"

namespace rotor::io {

namespace {

namespace fs = std::filesystem;

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool parse_number(std::string_view s, double& out) {
  s = trim(s);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc() && ptr == s.data() + s.size() && std::isfinite(out);
}

void check_box(const std::array<double, 4>& b, const std::string& where) {
  ROTOR_CHECK(b[2] >= b[0] && b[3] >= b[1], where, ": box has negative size (x1 ", b[0], ", y1 ", b[1], ", x2 ", b[2],
              ", y2 ", b[3], ")");
}

struct Object {
  std::string name;
  bool difficult = false;
  std::array<double, 4> box{};
};

std::vector<Object> read_annotation_file(const std::string& path) {
  pugi::xml_document doc;
  const pugi::xml_parse_result ok = doc.load_file(path.c_str());
  ROTOR_CHECK(ok, path, ": malformed XML (", ok.description(), " at byte ", ok.offset, ")");
  const pugi::xml_node root = doc.child("annotation");
  ROTOR_CHECK(root, path, ": no <annotation> element");
  std::vector<Object> objects;
  int n = 0;
  for (const pugi::xml_node obj : root.children("object")) {
    const std::string where = cat(path, ": object ", ++n);
    Object o;
    o.name = std::string(trim(obj.child_value("name")));
    ROTOR_CHECK(!o.name.empty(), where, " has no <name>");
    if (const pugi::xml_node diff = obj.child("difficult")) {
      double v = 0;
      ROTOR_CHECK(parse_number(diff.child_value(), v) && (v == 0 || v == 1), where, ": <difficult> must be 0 or 1, got '",
                  diff.child_value(), "'");
      o.difficult = v == 1;
    }
    const pugi::xml_node box = obj.child("bndbox");
    ROTOR_CHECK(box, where, " (", o.name, ") has no <bndbox>");
    const char* keys[4] = {"xmin", "ymin", "xmax", "ymax"};
    for (int i = 0; i < 4; ++i) {
      const pugi::xml_node v = box.child(keys[i]);
      ROTOR_CHECK(v, where, " (", o.name, "): <bndbox> has no <", keys[i], ">");
      ROTOR_CHECK(parse_number(v.child_value(), o.box[i]), where, " (", o.name, "): <", keys[i], "> is not a number: '",
                  v.child_value(), "'");
    }
    check_box(o.box, cat(where, " (", o.name, ")"));
    objects.push_back(std::move(o));
  }
  return objects;
}

std::vector<std::string> image_names(const std::string& folder, const std::string& image_set) {
  std::vector<std::string> names;
  if (!image_set.empty()) {
    std::istringstream lines(read_file(image_set));
    for (std::string line; std::getline(lines, line);)
      if (const std::string_view name = trim(line); !name.empty()) names.emplace_back(name);
    ROTOR_CHECK(!names.empty(), image_set, ": no image names");
    return names;
  }
  std::error_code ec;
  ROTOR_CHECK(fs::is_directory(folder, ec), folder, ": not a folder of VOC annotation files");
  for (const auto& entry : fs::directory_iterator(folder, ec))
    if (entry.path().extension() == ".xml") names.push_back(entry.path().stem().string());
  ROTOR_CHECK(!ec, folder, ": cannot list (", ec.message(), ")");
  ROTOR_CHECK(!names.empty(), folder, ": no .xml annotation files");
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

metrics::DetectionDataset read_voc_annotations(const std::string& folder, const std::string& image_set) {
  metrics::DetectionDataset d;
  d.image_names = image_names(folder, image_set);
  std::unordered_map<std::string, int32_t> seen;
  for (size_t i = 0; i < d.image_names.size(); ++i) {
    ROTOR_CHECK(seen.emplace(d.image_names[i], static_cast<int32_t>(i)).second, image_set, ": image '",
                d.image_names[i], "' listed twice");
    d.image_ids.push_back(static_cast<int64_t>(i));
  }
  std::vector<std::vector<Object>> per_image(d.image_names.size());
  std::map<std::string, int32_t> classes;
  for (size_t i = 0; i < d.image_names.size(); ++i) {
    const std::string path = (fs::path(folder) / (d.image_names[i] + ".xml")).string();
    std::error_code ec;
    ROTOR_CHECK(fs::is_regular_file(path, ec), path, ": no such annotation file");
    per_image[i] = read_annotation_file(path);
    for (const Object& o : per_image[i]) classes.emplace(o.name, 0);
  }
  for (auto& [name, index] : classes) {
    index = static_cast<int32_t>(d.category_names.size());
    d.category_ids.push_back(index);
    d.category_names.push_back(name);
  }
  for (size_t i = 0; i < per_image.size(); ++i)
    for (const Object& o : per_image[i]) {
      metrics::GroundTruthBox g;
      g.image = static_cast<int32_t>(i);
      g.category = classes[o.name];
      g.box = o.box;
      g.difficult = o.difficult;
      g.id = static_cast<int64_t>(d.ground_truth.size()) + 1;
      d.ground_truth.push_back(g);
    }
  return d;
}

std::vector<metrics::DetectionBox> read_voc_detections(const std::string& pattern, const metrics::DetectionDataset& gt) {
  const size_t hole = pattern.find("{}");
  ROTOR_CHECK(hole != std::string::npos && pattern.find("{}", hole + 2) == std::string::npos, "VOC detections '",
              pattern, "': give per-class files as a pattern with one {} for the class, e.g. results/comp4_det_test_{}.txt");
  const std::string prefix = pattern.substr(0, hole), suffix = pattern.substr(hole + 2);
  // Files in the pattern's folder that fit it must name a known class.
  const fs::path dir = fs::path(prefix).parent_path().empty() ? fs::path(".") : fs::path(prefix).parent_path();
  const std::string name_prefix = fs::path(prefix + "x").filename().string();  // the file-name part before {}
  const std::string head = name_prefix.substr(0, name_prefix.size() - 1);
  ROTOR_CHECK(suffix.find('/') == std::string::npos, "VOC detections '", pattern, "': {} must be in the file name");
  std::error_code ec;
  ROTOR_CHECK(fs::is_directory(dir, ec), "VOC detections '", pattern, "': no folder ", dir.string());
  std::unordered_map<std::string, int32_t> class_index, image_index;
  for (size_t k = 0; k < gt.category_names.size(); ++k) class_index[gt.category_names[k]] = static_cast<int32_t>(k);
  for (size_t i = 0; i < gt.image_names.size(); ++i) image_index[gt.image_names[i]] = static_cast<int32_t>(i);
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string f = entry.path().filename().string();
    if (f.size() <= head.size() + suffix.size() || f.compare(0, head.size(), head) != 0 ||
        f.compare(f.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    const std::string cls = f.substr(head.size(), f.size() - head.size() - suffix.size());
    ROTOR_CHECK(class_index.count(cls), entry.path().string(), ": detections for class '", cls,
                "', which no ground-truth object has");
    ++files;
  }
  ROTOR_CHECK(files > 0, "VOC detections: no file matches ", pattern);
  std::vector<metrics::DetectionBox> dets;
  for (size_t k = 0; k < gt.category_names.size(); ++k) {
    const std::string path = prefix + gt.category_names[k] + suffix;
    if (!fs::exists(path, ec)) continue;
    std::istringstream lines(read_file(path));
    int line_no = 0;
    for (std::string line; std::getline(lines, line);) {
      ++line_no;
      std::istringstream fields{std::string(trim(line))};
      std::vector<std::string> f;
      for (std::string w; fields >> w;) f.push_back(w);
      if (f.empty()) continue;
      const std::string where = cat(path, ":", line_no);
      ROTOR_CHECK(f.size() == 6, where, ": expected 'image_id score x1 y1 x2 y2', got ", f.size(), " fields");
      const auto img = image_index.find(f[0]);
      ROTOR_CHECK(img != image_index.end(), where, ": unknown image '", f[0], "'");
      metrics::DetectionBox d;
      d.image = img->second;
      d.category = static_cast<int32_t>(k);
      ROTOR_CHECK(parse_number(f[1], d.score), where, ": score is not a number: '", f[1], "'");
      for (int i = 0; i < 4; ++i)
        ROTOR_CHECK(parse_number(f[2 + i], d.box[i]), where, ": coordinate is not a number: '", f[2 + i], "'");
      check_box(d.box, where);
      dets.push_back(d);
    }
  }
  return dets;
}

}  // namespace rotor::io
