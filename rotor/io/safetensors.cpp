#include "rotor/io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "rotor/core/error.h"
#include "rotor/io/atomic_file.h"

namespace rotor::io {

static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

namespace {

constexpr uint64_t kMaxHeaderBytes = 100'000'000;  // same limit as the reference implementation
constexpr const char* kMetadataKey = "__metadata__";

struct DTypeInfo {
  const char* name;
  size_t size;
  bool supported;
  DType dtype;
};

// Every dtype of the safetensors specification that has a whole-byte element size.
constexpr DTypeInfo kDTypes[] = {
    {"F32", 4, true, DType::f32},      {"BF16", 2, true, DType::bf16},    {"F16", 2, true, DType::f16},
    {"F64", 8, true, DType::f64},      {"I32", 4, true, DType::i32},      {"I64", 8, true, DType::i64},
    {"U8", 1, true, DType::u8},        {"BOOL", 1, false, DType::u8},     {"I8", 1, false, DType::u8},
    {"I16", 2, false, DType::u8},      {"U16", 2, false, DType::u8},      {"U32", 4, false, DType::u8},
    {"U64", 8, false, DType::u8},      {"F8_E4M3", 1, false, DType::u8}, {"F8_E5M2", 1, false, DType::u8},
};

const DTypeInfo* find_dtype(const std::string& name) {
  for (const DTypeInfo& info : kDTypes)
    if (name == info.name) return &info;
  return nullptr;
}

std::string show_name(const std::string& s) {
  // Names come from untrusted files: show at most 80 bytes, with control bytes escaped.
  std::string out = "'";
  for (size_t i = 0; i < s.size() && i < 80; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) out += cat("\\x", "0123456789abcdef"[c >> 4], "0123456789abcdef"[c & 15]);
    else out += static_cast<char>(c);
  }
  if (s.size() > 80) out += "...";
  return out + "'";
}

using json = nlohmann::json;

// Parses the header, rejecting duplicate keys at any depth (nlohmann would keep the last silently).
json parse_header_json(std::string_view text, const std::string& where) {
  std::vector<std::set<std::string>> keys_per_object;
  auto callback = [&](int depth, json::parse_event_t event, json& parsed) {
    ROTOR_CHECK(depth <= 8, where, ": header JSON is nested deeper than a safetensors header can be");
    switch (event) {
      case json::parse_event_t::object_start: keys_per_object.emplace_back(); break;
      case json::parse_event_t::object_end: keys_per_object.pop_back(); break;
      case json::parse_event_t::key: {
        const std::string key = parsed.get<std::string>();
        ROTOR_CHECK(keys_per_object.back().insert(key).second, where, ": duplicate key ", show_name(key),
                    " in the header");
        break;
      }
      default: break;
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), callback);
  } catch (const json::exception& e) {
    throw Error(cat(where, ": header is not valid JSON: ", e.what()));
  }
}

uint64_t checked_unsigned(const json& value, const std::string& what) {
  ROTOR_CHECK(value.is_number_unsigned(), what, " must be a non-negative integer, got ", value.dump());
  return value.get<uint64_t>();
}

}  // namespace

DType dtype_from_safetensors(const std::string& dtype, const std::string& what) {
  const DTypeInfo* info = find_dtype(dtype);
  ROTOR_CHECK(info, what, ": unknown dtype ", show_name(dtype));
  ROTOR_CHECK(info->supported, what, ": dtype ", dtype,
              " is not supported by rotor (supported: F32, BF16, F16, F64, I32, I64, U8)");
  return info->dtype;
}

const char* safetensors_dtype_name(DType dtype) {
  for (const DTypeInfo& info : kDTypes)
    if (info.supported && info.dtype == dtype) return info.name;
  throw Error(cat("safetensors: no file dtype for ", dtype_name(dtype)));
}

// The bytes of a file: a read-only memory mapping, or an owned copy for in-memory images.
struct SafetensorsFile::Buffer {
  std::string owned;
  void* mapping = nullptr;
  size_t mapped_bytes = 0;
  const uint8_t* data = nullptr;
  size_t size = 0;

  Buffer() = default;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() {
    if (mapping) ::munmap(mapping, mapped_bytes);
  }
};

SafetensorsFile::SafetensorsFile(std::shared_ptr<const Buffer> buffer, std::string path)
    : buffer_(std::move(buffer)), path_(std::move(path)) {
  parse();
}

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  auto buffer = std::make_shared<Buffer>();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ROTOR_CHECK(fd >= 0, "cannot read '", path, "': ", std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(cat("cannot read '", path, "': not a regular file"));
  }
  buffer->size = static_cast<size_t>(st.st_size);
  if (buffer->size > 0) {
    void* p = ::mmap(nullptr, buffer->size, PROT_READ, MAP_PRIVATE, fd, 0);
    const int err = errno;
    if (p == MAP_FAILED) {
      ::close(fd);
      throw Error(cat("cannot map '", path, "': ", std::strerror(err)));
    }
    buffer->mapping = p;
    buffer->mapped_bytes = buffer->size;
    buffer->data = static_cast<const uint8_t*>(p);
  }
  ::close(fd);
  return SafetensorsFile(std::move(buffer), path);
}

SafetensorsFile SafetensorsFile::from_bytes(std::string_view bytes, const std::string& label) {
  auto buffer = std::make_shared<Buffer>();
  buffer->owned.assign(bytes.data(), bytes.size());
  buffer->data = reinterpret_cast<const uint8_t*>(buffer->owned.data());
  buffer->size = buffer->owned.size();
  return SafetensorsFile(std::move(buffer), label);
}

void SafetensorsFile::parse() {
  const std::string where = cat("safetensors '", path_, "'");
  const size_t file_size = buffer_->size;
  ROTOR_CHECK(file_size >= 8, where, ": file is ", file_size, " bytes, too short for the 8-byte header size");
  uint64_t header_size = 0;
  std::memcpy(&header_size, buffer_->data, 8);
  ROTOR_CHECK(header_size <= file_size - 8, where, ": header size ", header_size, " exceeds the ",
              file_size - 8, " bytes that follow it");
  ROTOR_CHECK(header_size <= kMaxHeaderBytes, where, ": header size ", header_size, " exceeds the limit of ",
              kMaxHeaderBytes, " bytes");
  data_start_ = 8 + header_size;
  const uint64_t data_size = file_size - data_start_;

  const std::string_view text(reinterpret_cast<const char*>(buffer_->data) + 8, header_size);
  // The format requires the header to start with '{' and allows only spaces as trailing padding.
  ROTOR_CHECK(!text.empty() && text[0] == '{', where, ": header must be a JSON object starting with '{'");
  const json header = parse_header_json(text, where);
  ROTOR_CHECK(header.is_object(), where, ": header must be a JSON object, got a ", header.type_name());
  ROTOR_CHECK(text[text.find_last_not_of(' ')] == '}', where, ": header padding after the JSON must be spaces (0x20)");

  for (const auto& [name, value] : header.items()) {
    if (name == kMetadataKey) {
      ROTOR_CHECK(value.is_object(), where, ": __metadata__ must be an object of strings");
      for (const auto& [key, item] : value.items()) {
        ROTOR_CHECK(item.is_string(), where, ": __metadata__ value of ", show_name(key), " must be a string, got ",
                    item.type_name());
        metadata_[key] = item.get<std::string>();
      }
      continue;
    }
    const std::string what = cat(where, ": tensor ", show_name(name));
    ROTOR_CHECK(value.is_object(), what, " must be an object with dtype, shape and data_offsets");
    for (const auto& [key, item] : value.items())
      ROTOR_CHECK(key == "dtype" || key == "shape" || key == "data_offsets", what, " has unknown field ",
                  show_name(key));
    ROTOR_CHECK(value.contains("dtype") && value.contains("shape") && value.contains("data_offsets"), what,
                " must have dtype, shape and data_offsets");
    SafetensorsEntry entry;
    entry.name = name;
    ROTOR_CHECK(value["dtype"].is_string(), what, ": dtype must be a string");
    entry.dtype = value["dtype"].get<std::string>();
    const DTypeInfo* info = find_dtype(entry.dtype);
    ROTOR_CHECK(info, what, ": unknown dtype ", show_name(entry.dtype));

    const json& shape = value["shape"];
    ROTOR_CHECK(shape.is_array(), what, ": shape must be an array");
    uint64_t numel = 1, span = 1;  // span: product of max(d, 1), so strides fit in int64 too
    for (const json& d : shape) {
      const uint64_t n = checked_unsigned(d, what + " shape entry");
      ROTOR_CHECK(!__builtin_mul_overflow(span, std::max<uint64_t>(n, 1), &span) &&
                      span <= static_cast<uint64_t>(INT64_MAX),
                  what, ": shape ", shape.dump(), " has too many elements");
      numel *= n;
      entry.shape.push_back(static_cast<int64_t>(n));
    }
    uint64_t nbytes = 0;
    ROTOR_CHECK(!__builtin_mul_overflow(numel, info->size, &nbytes), what, ": shape ", shape.dump(),
                " has too many bytes");

    const json& offsets = value["data_offsets"];
    ROTOR_CHECK(offsets.is_array() && offsets.size() == 2, what, ": data_offsets must be [begin, end]");
    entry.begin = checked_unsigned(offsets[0], what + " data_offsets begin");
    entry.end = checked_unsigned(offsets[1], what + " data_offsets end");
    ROTOR_CHECK(entry.begin <= entry.end, what, ": data_offsets [", entry.begin, ", ", entry.end,
                "] end before they begin");
    ROTOR_CHECK(entry.end <= data_size, what, ": data_offsets [", entry.begin, ", ", entry.end,
                "] lie outside the data region of ", data_size, " bytes");
    ROTOR_CHECK(entry.end - entry.begin == nbytes, what, ": shape ", shape.dump(), " of ", entry.dtype,
                " needs ", nbytes, " bytes but data_offsets [", entry.begin, ", ", entry.end, "] hold ",
                entry.end - entry.begin);
    entries_.push_back(std::move(entry));
  }

  // The byte ranges, in file order, must tile the data region exactly.
  std::vector<const SafetensorsEntry*> by_offset;
  for (const SafetensorsEntry& e : entries_) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(), [](const SafetensorsEntry* a, const SafetensorsEntry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t covered = 0;
  const SafetensorsEntry* previous = nullptr;
  for (const SafetensorsEntry* e : by_offset) {
    ROTOR_CHECK(e->begin >= covered, where, ": tensor ", show_name(e->name), " [", e->begin, ", ", e->end,
                ") overlaps tensor ", show_name(previous ? previous->name : ""), " [", previous ? previous->begin : 0,
                ", ", covered, ")");
    ROTOR_CHECK(e->begin == covered, where, ": gap of ", e->begin - covered, " bytes in the data region before tensor ",
                show_name(e->name), " (bytes [", covered, ", ", e->begin, ") belong to no tensor)");
    covered = e->end;
    previous = e;
  }
  ROTOR_CHECK(covered == data_size, where, ": the last ", data_size - covered,
              " bytes of the data region belong to no tensor (tensors cover ", covered, " of ", data_size, " bytes)");
  std::sort(entries_.begin(), entries_.end(),
            [](const SafetensorsEntry& a, const SafetensorsEntry& b) { return a.name < b.name; });
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  for (const SafetensorsEntry& e : entries_) out.push_back(e.name);
  return out;
}

bool SafetensorsFile::contains(const std::string& name) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), name,
                             [](const SafetensorsEntry& e, const std::string& n) { return e.name < n; });
  return it != entries_.end() && it->name == name;
}

const SafetensorsEntry& SafetensorsFile::entry(const std::string& name) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), name,
                             [](const SafetensorsEntry& e, const std::string& n) { return e.name < n; });
  ROTOR_CHECK(it != entries_.end() && it->name == name, "safetensors '", path_, "': no tensor ", show_name(name));
  return *it;
}

Tensor SafetensorsFile::load(const std::string& name) const {
  const SafetensorsEntry& e = entry(name);
  const DType dtype = dtype_from_safetensors(e.dtype, cat("safetensors '", path_, "': tensor ", show_name(name)));
  Tensor t = Tensor::empty(e.shape, dtype);
  if (e.end > e.begin) std::memcpy(t.raw_data(), buffer_->data + data_start_ + e.begin, e.end - e.begin);
  return t;
}

TensorMap SafetensorsFile::load_all() const {
  TensorMap out;
  for (const SafetensorsEntry& e : entries_) out.emplace(e.name, load(e.name));
  return out;
}

TensorMap load_safetensors(const std::string& path, Metadata* metadata) {
  SafetensorsFile file = SafetensorsFile::open(path);
  if (metadata) *metadata = file.metadata();
  return file.load_all();
}

namespace {

// The file layout: the header bytes (size prefix included) and the tensors in data order.
struct SafetensorsLayout {
  std::string prefix_and_header;
  std::vector<const Tensor*> order;
  uint64_t data_bytes = 0;
};

SafetensorsLayout plan_safetensors(const TensorMap& tensors, const Metadata& metadata) {
  std::vector<std::pair<const std::string*, const Tensor*>> order;
  for (const auto& [name, tensor] : tensors) {
    ROTOR_CHECK(tensor.defined(), "safetensors: tensor ", show_name(name), " is undefined");
    ROTOR_CHECK(name != kMetadataKey, "safetensors: a tensor cannot be named __metadata__");
    order.emplace_back(&name, &tensor);
  }
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    return dtype_size(a.second->dtype()) > dtype_size(b.second->dtype());  // names already sorted
  });

  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    nlohmann::ordered_json meta = nlohmann::ordered_json::object();
    for (const auto& [key, value] : metadata) meta[key] = value;
    header[kMetadataKey] = std::move(meta);
  }
  SafetensorsLayout layout;
  for (const auto& [name, tensor] : order) {
    const uint64_t nbytes = tensor->nbytes();
    header[*name] = {{"dtype", safetensors_dtype_name(tensor->dtype())},
                     {"shape", tensor->shape()},
                     {"data_offsets", {layout.data_bytes, layout.data_bytes + nbytes}}};
    layout.data_bytes += nbytes;
    layout.order.push_back(tensor);
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& e) {
    throw Error(cat("safetensors: cannot encode header (names and metadata must be UTF-8): ", e.what()));
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  const uint64_t header_size = text.size();
  layout.prefix_and_header.assign(reinterpret_cast<const char*>(&header_size), 8);
  layout.prefix_and_header += text;
  return layout;
}

}  // namespace

std::string serialize_safetensors(const TensorMap& tensors, const Metadata& metadata) {
  const SafetensorsLayout layout = plan_safetensors(tensors, metadata);
  std::string out;
  out.reserve(layout.prefix_and_header.size() + layout.data_bytes);
  out += layout.prefix_and_header;
  for (const Tensor* tensor : layout.order) {
    const Tensor c = tensor->contiguous();
    out.append(static_cast<const char*>(c.raw_data()), c.nbytes());
  }
  return out;
}

void save_safetensors(const std::string& path, const TensorMap& tensors, const Metadata& metadata) {
  const SafetensorsLayout layout = plan_safetensors(tensors, metadata);  // validates before touching disk
  AtomicFile file(path);
  file.write(layout.prefix_and_header);
  for (const Tensor* tensor : layout.order) {  // streamed: no second copy of the whole model in memory
    const Tensor c = tensor->contiguous();
    file.write(c.raw_data(), c.nbytes());
  }
  file.commit();
}

TensorMap load_sharded_safetensors(const std::string& index_path) {
  namespace fs = std::filesystem;
  const std::string where = cat("safetensors index '", index_path, "'");
  json index;
  try {
    index = json::parse(read_file(index_path));
  } catch (const json::exception& e) {
    throw Error(cat(where, ": not valid JSON: ", e.what()));
  }
  ROTOR_CHECK(index.is_object() && index.contains("weight_map") && index["weight_map"].is_object(), where,
              ": expected an object with a \"weight_map\" object");
  std::map<std::string, std::set<std::string>> names_by_shard;
  for (const auto& [name, file] : index["weight_map"].items()) {
    ROTOR_CHECK(file.is_string(), where, ": weight_map entry ", show_name(name), " must name a file");
    const std::string shard = file.get<std::string>();
    ROTOR_CHECK(!shard.empty() && shard.find('/') == std::string::npos && shard != "." && shard != "..", where,
                ": weight_map entry ", show_name(name), " names ", show_name(shard), ", which is not a plain file name");
    names_by_shard[shard].insert(name);
  }
  const fs::path dir = fs::path(index_path).parent_path();
  TensorMap out;
  for (const auto& [shard, names] : names_by_shard) {
    const SafetensorsFile file = SafetensorsFile::open((dir / shard).string());
    for (const std::string& name : file.names())
      ROTOR_CHECK(names.count(name), where, ": shard '", shard, "' holds tensor ", show_name(name),
                  ", which the weight_map does not assign to it");
    for (const std::string& name : names) {
      ROTOR_CHECK(file.contains(name), where, ": tensor ", show_name(name), " is not in shard '", shard, "'");
      out.emplace(name, file.load(name));
    }
  }
  return out;
}

TensorMap load_model_tensors(const std::string& dir) {
  namespace fs = std::filesystem;
  const fs::path single = fs::path(dir) / "model.safetensors";
  const fs::path index = fs::path(dir) / "model.safetensors.index.json";
  if (fs::exists(single)) return load_safetensors(single.string());
  if (fs::exists(index)) return load_sharded_safetensors(index.string());
  throw Error(cat("'", dir, "' has neither model.safetensors nor model.safetensors.index.json"));
}

}  // namespace rotor::io
