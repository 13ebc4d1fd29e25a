#include "rotor/io/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "rotor/core/rng.h"
#include "rotor/io/atomic_file.h"
#include "tests/io/file_size_limit.h"
#include "tests/io/io_test_util.h"

namespace rotor::io {
namespace {

using testing::data_path;
using testing::expect_error;
using testing::fresh_dir;
using testing::pattern_tensor;
namespace fs = std::filesystem;

// Checks tensors against a sidecar written by tests/io/make_reference.py (values from torch/numpy).
void expect_matches_reference(const TensorMap& tensors, const std::string& sidecar) {
  const nlohmann::json expected = nlohmann::json::parse(read_file(data_path(sidecar)));
  EXPECT_EQ(tensors.size(), expected.size());
  for (const auto& [name, want] : expected.items()) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(tensors.count(name));
    const Tensor& t = tensors.at(name);
    EXPECT_STREQ(safetensors_dtype_name(t.dtype()), want["dtype"].get<std::string>().c_str());
    EXPECT_EQ(t.shape(), want["shape"].get<Shape>());
    EXPECT_EQ(t.to_double_vector(), want["values"].get<std::vector<double>>());
  }
}

// A file image from header text and a data region of `data_bytes` bytes.
std::string image(const std::string& header, size_t data_bytes) {
  std::string out(8, '\0');
  const uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  return out + header + std::string(data_bytes, '\x01');
}

std::string parse_error(const std::string& bytes) {
  try {
    SafetensorsFile::from_bytes(bytes, "case.safetensors");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(SafetensorsReader, ReadsIndependentlyWrittenFiles) {
  Metadata metadata;
  const TensorMap padded = load_safetensors(data_path("mixed.safetensors"), &metadata);
  expect_matches_reference(padded, "mixed.json");
  EXPECT_EQ(metadata, (Metadata{{"format", "pt"}, {"note", "reference"}}));
  expect_matches_reference(load_safetensors(data_path("mixed_unpadded.safetensors")), "mixed.json");
}

TEST(SafetensorsReader, UnsupportedDtypesAreRecognisedButNotLoaded) {
  const SafetensorsFile file = SafetensorsFile::open(data_path("unsupported.safetensors"));
  EXPECT_EQ(file.names(), (std::vector<std::string>{"mask", "q", "w"}));
  EXPECT_EQ(file.entry("mask").dtype, "BOOL");
  EXPECT_EQ(file.load("w").shape(), (Shape{2}));
  expect_error([&] { file.load("mask"); }, {"unsupported.safetensors", "'mask'", "BOOL", "not supported"});
  expect_error([&] { file.load("q"); }, {"'q'", "I8", "not supported"});
  expect_error([&] { file.load_all(); }, {"not supported"});
  expect_error([&] { file.load("missing"); }, {"no tensor 'missing'"});
}

TEST(SafetensorsReader, ShardedCheckpoint) {
  expect_matches_reference(load_model_tensors(data_path("sharded")), "sharded.json");

  // An index whose weight_map disagrees with the shards is rejected.
  const std::string dir = fresh_dir("sharded_bad");
  for (const auto& entry : fs::directory_iterator(data_path("sharded")))
    fs::copy_file(entry.path(), fs::path(dir) / entry.path().filename());
  nlohmann::json index = nlohmann::json::parse(read_file(dir + "/model.safetensors.index.json"));
  index["weight_map"]["extra.weight"] = "model-00002-of-00002.safetensors";
  write_file_atomic(dir + "/model.safetensors.index.json", index.dump());
  expect_error([&] { load_model_tensors(dir); }, {"'extra.weight'", "not in shard"});
  index["weight_map"].erase("extra.weight");
  index["weight_map"]["model.norm.weight"] = "model-00002-of-00002.safetensors";
  write_file_atomic(dir + "/model.safetensors.index.json", index.dump());
  expect_error([&] { load_model_tensors(dir); }, {"shard 'model-00001-of-00002.safetensors' holds tensor 'model.norm.weight'", "does not assign"});
  index["weight_map"]["model.norm.weight"] = "model-00001-of-00002.safetensors";
  write_file_atomic(dir + "/model.safetensors.index.json", index.dump());
  EXPECT_EQ(load_model_tensors(dir).size(), 3u);  // repaired
  index["weight_map"]["lm_head.weight"] = "../model-00002-of-00002.safetensors";
  write_file_atomic(dir + "/model.safetensors.index.json", index.dump());
  expect_error([&] { load_model_tensors(dir); }, {"not a plain file name"});
  expect_error([&] { load_model_tensors(dir + "/nowhere"); }, {"neither model.safetensors"});
}

TensorMap every_dtype() {
  TensorMap t;
  t["f32"] = pattern_tensor({2, 3}, DType::f32);
  t["bf16"] = pattern_tensor({5}, DType::bf16);  // odd length: the next tensor would be misaligned
  t["f16"] = pattern_tensor({3}, DType::f16);
  t["f64"] = pattern_tensor({2, 2}, DType::f64);
  t["i32"] = pattern_tensor({7}, DType::i32);
  t["i64"] = pattern_tensor({3, 1}, DType::i64);
  t["u8"] = pattern_tensor({9}, DType::u8);
  t["scalar"] = pattern_tensor({}, DType::f32);
  t["empty"] = Tensor::zeros({0, 4});
  t["transposed"] = pattern_tensor({3, 4}, DType::f32).transpose(0, 1);  // non-contiguous view
  return t;
}

TEST(SafetensorsWriter, RoundTripsEveryDtype) {
  const TensorMap tensors = every_dtype();
  const Metadata metadata{{"format", "pt"}, {"step", "12"}};
  const std::string bytes = serialize_safetensors(tensors, metadata);
  EXPECT_EQ(bytes, serialize_safetensors(tensors, metadata));  // deterministic

  uint64_t header_size;
  std::memcpy(&header_size, bytes.data(), 8);
  EXPECT_EQ(header_size % 8, 0u);
  EXPECT_EQ(bytes.substr(8, 16), "{\"__metadata__\":");
  const std::string header = bytes.substr(8, header_size);
  EXPECT_EQ(header.find_last_not_of(' '), header.find_last_of('}'));  // padded with spaces only

  const SafetensorsFile file = SafetensorsFile::from_bytes(bytes);
  EXPECT_EQ(file.metadata(), metadata);
  for (const SafetensorsEntry& e : file.entries()) {
    SCOPED_TRACE(e.name);
    const Tensor& want = tensors.at(e.name);
    EXPECT_EQ(e.begin % dtype_size(want.dtype()), 0u);  // natural alignment within the data region
    const Tensor got = file.load(e.name);
    EXPECT_EQ(got.dtype(), want.dtype());
    EXPECT_EQ(got.shape(), want.shape());
    EXPECT_EQ(got.to_double_vector(), want.to_double_vector());
  }
  EXPECT_EQ(file.entries().size(), tensors.size());
}

TEST(SafetensorsWriter, ReserialisesReferenceFileLosslessly) {
  Metadata metadata;
  const TensorMap tensors = load_safetensors(data_path("mixed.safetensors"), &metadata);
  const SafetensorsFile again = SafetensorsFile::from_bytes(serialize_safetensors(tensors, metadata));
  EXPECT_EQ(again.metadata(), metadata);
  expect_matches_reference(again.load_all(), "mixed.json");
}

TEST(SafetensorsWriter, FailedSaveLeavesExistingFile) {
  const std::string dir = fresh_dir("safetensors_atomic");
  const std::string path = dir + "/model.safetensors";
  save_safetensors(path, {{"w", pattern_tensor({4}, DType::f32)}});
  const std::string before = read_file(path);
  TensorMap bad = {{"a", pattern_tensor({4}, DType::f32)}, {"b", Tensor()}};
  expect_error([&] { save_safetensors(path, bad); }, {"'b'", "undefined"});
  expect_error([&] { save_safetensors(path, {{"__metadata__", pattern_tensor({1}, DType::f32)}}); },
               {"__metadata__"});
  EXPECT_EQ(read_file(path), before);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);  // no temporaries
}

// The disk refuses the rest of the file part-way through the tensor data: an error, the old file, no temporary.
TEST(SafetensorsWriter, WriteFailingPartWayLeavesExistingFile) {
  const std::string dir = fresh_dir("safetensors_partial");
  const std::string path = dir + "/model.safetensors";
  save_safetensors(path, {{"w", pattern_tensor({4}, DType::f32)}});
  const std::string before = read_file(path);
  const TensorMap big = {{"w", pattern_tensor({64, 1024}, DType::f32)}};
  {
    testing::FileSizeLimit limit(serialize_safetensors(big, {}).size() / 2);
    expect_error([&] { save_safetensors(path, big); }, {"model.safetensors"});
  }
  EXPECT_EQ(read_file(path), before);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);  // no temporaries
}

// Writes files for the reference script's --check mode:
//   /usr/bin/python3 tests/io/make_reference.py --check build/test_tmp/rotor_written_safetensors-<pid>
TEST(SafetensorsWriter, FilesForPython) {
  const std::string dir = fresh_dir("rotor_written_safetensors");
  TensorMap tensors = every_dtype();
  tensors.erase("transposed");
  save_safetensors(dir + "/every_dtype.safetensors", tensors, {{"writer", "rotor"}});
  EXPECT_EQ(load_safetensors(dir + "/every_dtype.safetensors").size(), tensors.size());
  // The streamed file equals the in-memory image.
  EXPECT_EQ(read_file(dir + "/every_dtype.safetensors"), serialize_safetensors(tensors, {{"writer", "rotor"}}));
}

TEST(SafetensorsCorrupt, EachDefectHasAClearError) {
  const std::string f32x2 = R"({"dtype":"F32","shape":[2],"data_offsets":)";
  struct Case {
    std::string bytes;
    std::vector<std::string> fragments;
  };
  const std::vector<Case> cases = {
      {std::string("\x05\x00\x00", 3), {"case.safetensors", "3 bytes, too short"}},
      {image("{}", 0).substr(0, 7), {"too short"}},
      {[] { std::string s = image("{}", 0); s[0] = 100; return s; }(), {"header size 100 exceeds the 2 bytes"}},
      {image(R"({"a": )", 0), {"not valid JSON"}},
      {image("[1, 2]", 0), {"must be a JSON object"}},
      {image("\"text\"", 0), {"must be a JSON object"}},
      {image(" {}", 0), {"starting with '{'"}},
      {image("{}\n", 0), {"padding after the JSON must be spaces"}},
      {image("{}  \t ", 0), {"padding after the JSON must be spaces"}},
      {image(R"({"a":)" + f32x2 + "[0,8]}," + R"("b":)" + f32x2 + "[4,12]}}", 12), {"'b' [4, 12) overlaps tensor 'a'"}},
      {image(R"({"a":)" + f32x2 + "[0,8]}," + R"("b":)" + f32x2 + "[12,20]}}", 20), {"gap of 4 bytes", "'b'"}},
      {image(R"({"a":)" + f32x2 + "[0,8]}}", 12), {"last 4 bytes of the data region belong to no tensor"}},
      {image(R"({"a":)" + f32x2 + "[4,12]}}", 12), {"gap of 4 bytes"}},
      {image(R"({"a":)" + f32x2 + "[0,8]}}", 4), {"'a'", "outside the data region of 4 bytes"}},
      {image(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8), {"'a'", "needs 12 bytes", "hold 8"}},
      {image(R"({"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}})", 8), {"'a'", "unknown dtype 'F33'"}},
      {image(R"({"a":)" + f32x2 + "[0,8]}," + R"("a":)" + f32x2 + "[0,8]}}", 8), {"duplicate key 'a'"}},
      {image(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8), {"shape entry", "non-negative"}},
      {image(R"({"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", 8), {"non-negative integer"}},
      {image(R"({"a":)" + f32x2 + "[8,0]}}", 8), {"end before they begin"}},
      {image(R"({"a":)" + f32x2 + "[0]}}", 8), {"data_offsets must be [begin, end]"}},
      {image(R"({"a":{"dtype":"F32","shape":[2]}})", 8), {"must have dtype, shape and data_offsets"}},
      {image(R"({"a":)" + f32x2 + R"([0,8],"extra":1}})", 8), {"unknown field 'extra'"}},
      {image(R"({"a":{"dtype":"U8","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}})", 8),
       {"too many elements"}},
      {image(R"({"a":{"dtype":"U8","shape":[0,4294967296,4294967296],"data_offsets":[0,0]}})", 0),
       {"too many elements"}},  // no bytes, but its strides would overflow
      {image(R"({"__metadata__":{"k":1}})", 0), {"__metadata__ value of 'k' must be a string"}},
      {image(R"({"__metadata__":[]})", 0), {"__metadata__ must be an object"}},
      {image(R"({"a":[1,2]})", 0), {"'a' must be an object"}},
      {image("{\"a\xff\":1}", 0), {"not valid JSON"}},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cat("case ", i));
    const std::string message = parse_error(cases[i].bytes);
    ASSERT_FALSE(message.empty()) << "accepted";
    EXPECT_NE(message.find("case.safetensors"), std::string::npos) << message;
    for (const std::string& f : cases[i].fragments) EXPECT_NE(message.find(f), std::string::npos) << message;
  }
  // The same defects are accepted once repaired (so the checks above are not vacuous).
  EXPECT_EQ(parse_error(image(R"({"a":)" + f32x2 + "[0,8]}," + R"("b":)" + f32x2 + "[8,16]}}", 16)), "");
  EXPECT_EQ(parse_error(image("{}", 0)), "");
  EXPECT_EQ(parse_error(image("{}      ", 0)), "");
}

TEST(SafetensorsCorrupt, TruncationAndFileErrors) {
  const std::string bytes = serialize_safetensors(every_dtype(), {{"k", "v"}});
  for (size_t n = 0; n < bytes.size(); ++n) EXPECT_NE(parse_error(bytes.substr(0, n)), "") << "length " << n;
  EXPECT_EQ(parse_error(bytes), "");
  expect_error([] { SafetensorsFile::open("/nonexistent/x.safetensors"); }, {"cannot read '/nonexistent/x.safetensors'"});
  expect_error([] { SafetensorsFile::open(ROTOR_SOURCE_DIR); }, {"not a regular file"});
  const std::string dir = fresh_dir("safetensors_empty");
  write_file_atomic(dir + "/empty.safetensors", "");
  expect_error([&] { SafetensorsFile::open(dir + "/empty.safetensors"); }, {"empty.safetensors", "0 bytes"});
}

// Random byte corruption: every result is either a valid file or a rotor::Error (never a crash).
TEST(SafetensorsCorrupt, RandomMutationsNeverCrash) {
  const std::string bytes = serialize_safetensors(every_dtype(), {{"k", "v"}});
  Rng rng(5);
  int accepted = 0, rejected = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    std::string m = bytes;
    const int flips = 1 + static_cast<int>(rng.uniform_int(3));
    for (int k = 0; k < flips; ++k) {
      const size_t pos = rng.uniform_int(std::min<size_t>(m.size(), 8 + 400));  // mostly the header
      m[pos] = static_cast<char>(rng.uniform_int(256));
    }
    try {
      const SafetensorsFile f = SafetensorsFile::from_bytes(m);
      for (const std::string& name : f.names()) {
        try {
          f.load(name);
        } catch (const Error&) {  // an unsupported dtype written by the mutation
        }
      }
      ++accepted;
    } catch (const Error&) {
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 1000);
  EXPECT_GT(accepted, 0);  // flips inside names, or padding, keep the file valid
}

}  // namespace
}  // namespace rotor::io
