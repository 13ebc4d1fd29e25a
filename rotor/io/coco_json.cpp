#include "rotor/io/coco_json.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <unordered_set>

#include "rotor/core/error.h"
#include "rotor/io/atomic_file.h"

namespace rotor::io {

namespace {

using nlohmann::json;

json parse_json_file(const std::string& path) {
  const std::string text = read_file(path);
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    throw Error(cat(path, ": malformed JSON (", e.what(), ")"));
  }
}

const json& field(const json& obj, const char* key, const std::string& where) {
  const auto it = obj.find(key);
  ROTOR_CHECK(it != obj.end(), where, " has no '", key, "'");
  return *it;
}

int64_t integer_field(const json& obj, const char* key, const std::string& where) {
  const json& v = field(obj, key, where);
  ROTOR_CHECK(v.is_number_integer(), where, ": '", key, "' must be an integer, got ", v.dump());
  return v.get<int64_t>();
}

double number_field(const json& obj, const char* key, const std::string& where) {
  const json& v = field(obj, key, where);
  ROTOR_CHECK(v.is_number(), where, ": '", key, "' must be a number, got ", v.dump());
  const double d = v.get<double>();
  ROTOR_CHECK(std::isfinite(d), where, ": '", key, "' is not finite");
  return d;
}

std::array<double, 4> bbox_field(const json& obj, const std::string& where) {
  const json& v = field(obj, "bbox", where);
  ROTOR_CHECK(v.is_array() && v.size() == 4, where, ": 'bbox' must be [x, y, width, height], got ", v.dump());
  std::array<double, 4> b{};
  for (int i = 0; i < 4; ++i) {
    ROTOR_CHECK(v[i].is_number() && std::isfinite(v[i].get<double>()), where, ": 'bbox' has a non-number ",
                v[i].dump());
    b[i] = v[i].get<double>();
  }
  ROTOR_CHECK(b[2] >= 0 && b[3] >= 0, where, ": 'bbox' has negative size (width ", b[2], ", height ", b[3], ")");
  return b;
}

const json& array_field(const json& root, const char* key, const std::string& path) {
  const json& v = field(root, key, path);
  ROTOR_CHECK(v.is_array(), path, ": '", key, "' must be an array");
  return v;
}

// Maps ids to indices in ascending id order; duplicates are errors.
std::unordered_map<int64_t, int32_t> index_ids(std::vector<int64_t>& ids, const std::string& what,
                                               const std::string& path) {
  std::sort(ids.begin(), ids.end());
  const auto dup = std::adjacent_find(ids.begin(), ids.end());
  ROTOR_CHECK(dup == ids.end(), path, ": ", what, " id ", dup == ids.end() ? 0 : *dup, " appears twice");
  std::unordered_map<int64_t, int32_t> index;
  for (size_t i = 0; i < ids.size(); ++i) index[ids[i]] = static_cast<int32_t>(i);
  return index;
}

struct Lookup {
  std::unordered_map<int64_t, int32_t> images, categories;
};

int32_t lookup(const std::unordered_map<int64_t, int32_t>& index, int64_t id, const char* what,
               const std::string& where) {
  const auto it = index.find(id);
  ROTOR_CHECK(it != index.end(), where, ": unknown ", what, " id ", id);
  return it->second;
}

Lookup make_lookup(const metrics::DetectionDataset& gt) {
  Lookup l;
  for (size_t i = 0; i < gt.image_ids.size(); ++i) l.images[gt.image_ids[i]] = static_cast<int32_t>(i);
  for (size_t k = 0; k < gt.category_ids.size(); ++k) l.categories[gt.category_ids[k]] = static_cast<int32_t>(k);
  return l;
}

}  // namespace

metrics::DetectionDataset read_coco_ground_truth(const std::string& path) {
  const json root = parse_json_file(path);
  ROTOR_CHECK(root.is_object(), path, ": COCO ground truth must be a JSON object with images, categories and annotations");
  const json& images = array_field(root, "images", path);
  const json& categories = array_field(root, "categories", path);
  const json& annotations = array_field(root, "annotations", path);
  metrics::DetectionDataset d;
  for (size_t i = 0; i < images.size(); ++i) {
    const std::string where = cat(path, ": images[", i, "]");
    ROTOR_CHECK(images[i].is_object(), where, " is not an object");
    d.image_ids.push_back(integer_field(images[i], "id", where));
  }
  std::vector<std::pair<int64_t, std::string>> cats;
  for (size_t i = 0; i < categories.size(); ++i) {
    const std::string where = cat(path, ": categories[", i, "]");
    ROTOR_CHECK(categories[i].is_object(), where, " is not an object");
    const int64_t id = integer_field(categories[i], "id", where);
    const auto name = categories[i].find("name");
    cats.emplace_back(id, name != categories[i].end() && name->is_string() ? name->get<std::string>()
                                                                             : std::to_string(id));
  }
  Lookup l;
  l.images = index_ids(d.image_ids, "image", path);
  for (int64_t id : d.image_ids) d.image_names.push_back(std::to_string(id));
  std::sort(cats.begin(), cats.end());
  for (const auto& [id, name] : cats) {
    d.category_ids.push_back(id);
    d.category_names.push_back(name);
  }
  l.categories = index_ids(d.category_ids, "category", path);
  std::unordered_set<int64_t> ann_ids;
  d.ground_truth.reserve(annotations.size());
  for (size_t i = 0; i < annotations.size(); ++i) {
    const json& a = annotations[i];
    std::string where = cat(path, ": annotations[", i, "]");
    ROTOR_CHECK(a.is_object(), where, " is not an object");
    metrics::GroundTruthBox g;
    g.id = integer_field(a, "id", where);
    where += cat(" (id ", g.id, ")");
    ROTOR_CHECK(ann_ids.insert(g.id).second, where, ": annotation id appears twice");
    g.image = lookup(l.images, integer_field(a, "image_id", where), "image", where);
    g.category = lookup(l.categories, integer_field(a, "category_id", where), "category", where);
    g.box = bbox_field(a, where);
    g.area = number_field(a, "area", where);
    ROTOR_CHECK(g.area >= 0, where, ": 'area' is negative (", g.area, ")");
    if (const auto c = a.find("iscrowd"); c != a.end()) {
      ROTOR_CHECK(c->is_boolean() || (c->is_number_integer() && (c->get<int64_t>() == 0 || c->get<int64_t>() == 1)),
                  where, ": 'iscrowd' must be 0 or 1, got ", c->dump());
      g.crowd = c->is_boolean() ? c->get<bool>() : c->get<int64_t>() == 1;
    }
    d.ground_truth.push_back(g);
  }
  return d;
}

std::vector<metrics::DetectionBox> read_coco_results(const std::string& path, const metrics::DetectionDataset& gt) {
  const json root = parse_json_file(path);
  ROTOR_CHECK(root.is_array(), path, ": COCO results must be a JSON array of {image_id, category_id, bbox, score}");
  const Lookup l = make_lookup(gt);
  std::vector<metrics::DetectionBox> dets;
  dets.reserve(root.size());
  for (size_t i = 0; i < root.size(); ++i) {
    const json& r = root[i];
    const std::string where = cat(path, ": results[", i, "]");
    ROTOR_CHECK(r.is_object(), where, " is not an object");
    metrics::DetectionBox d;
    d.image = lookup(l.images, integer_field(r, "image_id", where), "image", where);
    d.category = lookup(l.categories, integer_field(r, "category_id", where), "category", where);
    d.box = bbox_field(r, where);
    d.score = number_field(r, "score", where);
    dets.push_back(d);
  }
  return dets;
}

}  // namespace rotor::io
