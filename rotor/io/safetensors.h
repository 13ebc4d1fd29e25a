#pragma once
// safetensors: the Hugging Face tensor file format.
//
//   [8 bytes: N, little-endian u64] [N bytes: JSON header, padded with spaces] [data region]
//
// The header maps tensor names to {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}
// (offsets relative to the start of the data region) plus an optional "__metadata__" object of
// string -> string. Reading validates strictly: the header size lies within the file (and below
// 100 MB), the header is a UTF-8 JSON object with no duplicate keys, every dtype is known, shape
// product x dtype size == end - begin, and the tensors' byte ranges neither overlap nor leave gaps and
// cover the data region exactly. Every violation throws rotor::Error naming the file and the tensor.
//
// dtypes: F32, BF16, F16, F64, I32, I64 and U8 load into rotor Tensors. BOOL, I8, I16, U16, U32, U64,
// F8_E4M3 and F8_E5M2 are understood by the validator (so such files are recognised as valid) but
// loading one of those tensors throws "... dtype I8 is not supported by rotor ...".
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rotor/core/tensor.h"

namespace rotor::io {

using TensorMap = std::map<std::string, Tensor>;  // sorted by name
using Metadata = std::map<std::string, std::string>;

// One tensor's entry in a safetensors header.
struct SafetensorsEntry {
  std::string name;
  std::string dtype;     // as written in the file: "F32", "BF16", "I8", ...
  Shape shape;
  uint64_t begin = 0;    // byte range within the data region
  uint64_t end = 0;
};

// Maps the safetensors dtype string to a rotor DType; throws naming `what` when rotor has no such type.
DType dtype_from_safetensors(const std::string& dtype, const std::string& what);
const char* safetensors_dtype_name(DType dtype);  // DType::f32 -> "F32"

// A validated safetensors file. Files are memory-mapped; tensors are copied out on load().
class SafetensorsFile {
 public:
  static SafetensorsFile open(const std::string& path);
  // Parses an in-memory image (copied); `label` names it in error messages.
  static SafetensorsFile from_bytes(std::string_view bytes, const std::string& label = "<memory>");

  const std::string& path() const { return path_; }
  const Metadata& metadata() const { return metadata_; }
  const std::vector<SafetensorsEntry>& entries() const { return entries_; }  // sorted by name
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const;
  const SafetensorsEntry& entry(const std::string& name) const;  // throws when absent

  Tensor load(const std::string& name) const;  // a fresh contiguous tensor of the file's dtype
  TensorMap load_all() const;                  // throws on the first unsupported dtype

 private:
  struct Buffer;
  SafetensorsFile(std::shared_ptr<const Buffer> buffer, std::string path);
  void parse();

  std::shared_ptr<const Buffer> buffer_;
  std::string path_;
  uint64_t data_start_ = 0;  // 8 + header size
  Metadata metadata_;
  std::vector<SafetensorsEntry> entries_;
};

// Whole-file convenience: all tensors (and, if asked, the metadata).
TensorMap load_safetensors(const std::string& path, Metadata* metadata = nullptr);

// Serialises tensors (any layout; written contiguous) into the file image. Deterministic: tensors are
// ordered by dtype size (largest first, so every tensor is naturally aligned) and then by name; the
// header is padded with spaces to a multiple of 8 bytes; "__metadata__" comes first when non-empty.
std::string serialize_safetensors(const TensorMap& tensors, const Metadata& metadata = {});
// Writes atomically (temporary file + rename): an existing file is replaced only on success.
void save_safetensors(const std::string& path, const TensorMap& tensors, const Metadata& metadata = {});

// Sharded checkpoints: "model.safetensors.index.json" = {"metadata": {...}, "weight_map": {name: file}}.
// Loads every tensor of the weight map from the listed files (relative to the index's directory),
// checking that each listed tensor is in its file and each shard holds only tensors listed for it.
TensorMap load_sharded_safetensors(const std::string& index_path);
// A model directory: "model.safetensors" if present, else "model.safetensors.index.json".
TensorMap load_model_tensors(const std::string& dir);

}  // namespace rotor::io
