#include "rotor/io/npy.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "rotor/io/atomic_file.h"
#include "tests/io/io_test_util.h"

namespace rotor::io {
namespace {

using testing::data_path;
using testing::expect_error;
using testing::fresh_dir;
using testing::pattern_tensor;

// Files written by numpy.save (tests/io/make_reference.py), with their values in npy.json.
nlohmann::json reference() { return nlohmann::json::parse(read_file(data_path("npy.json"))); }

DType dtype_of_reference(const std::string& name) {
  const std::string prefix = name.substr(0, name.find('_'));
  return dtype_from_name(prefix);
}

TEST(NpyReader, ReadsNumpyFiles) {
  const nlohmann::json expected = reference();
  ASSERT_GE(expected.size(), 10u);
  for (const auto& [name, want] : expected.items()) {
    SCOPED_TRACE(name);
    const Tensor t = load_npy(data_path(name + ".npy"));
    EXPECT_EQ(t.dtype(), dtype_of_reference(name));
    EXPECT_EQ(t.shape(), want["shape"].get<Shape>());
    EXPECT_TRUE(t.is_contiguous());
    EXPECT_EQ(t.to_double_vector(), want["values"].get<std::vector<double>>());
  }
}

TEST(NpyWriter, ProducesNumpysExactBytes) {
  const nlohmann::json expected = reference();
  for (const auto& [name, want] : expected.items()) {
    if (name == "i32_v2_2x5") continue;  // format 2.0: only read (the writer emits 1.0, as numpy does)
    SCOPED_TRACE(name);
    const std::string target = name == "f64_fortran_2x3" ? "f64_fortran_2x3_as_c.npy" : name + ".npy";
    const std::string written = serialize_npy(load_npy(data_path(name + ".npy")));
    EXPECT_EQ(written.size() % 64, load_npy(data_path(target)).nbytes() % 64);
    EXPECT_EQ(written, read_file(data_path(target)));
  }
}

TEST(NpyWriter, RoundTripsViewsAndRejectsBf16) {
  const Tensor base = pattern_tensor({3, 4, 2}, DType::f64);
  const Tensor view = base.permute({2, 0, 1}).slice(2, 1, 4);
  const Tensor back = parse_npy(serialize_npy(view));
  EXPECT_EQ(back.shape(), view.shape());
  EXPECT_EQ(back.to_double_vector(), view.to_double_vector());
  expect_error([] { serialize_npy(Tensor::zeros({2}, DType::bf16)); }, {"bf16", "no NumPy equivalent"});
}

// Writes files for the reference script's --check mode (numpy reads them back):
//   /usr/bin/python3 tests/io/make_reference.py --check build/test_tmp/rotor_written_npy-<pid>
TEST(NpyWriter, FilesForNumpy) {
  const std::string dir = fresh_dir("rotor_written_npy");
  for (DType t : {DType::f32, DType::f64, DType::f16, DType::i32, DType::i64, DType::u8}) {
    const Tensor a = pattern_tensor({3, 5}, t);
    save_npy(cat(dir, "/", dtype_name(t), ".npy"), a);
    EXPECT_EQ(load_npy(cat(dir, "/", dtype_name(t), ".npy")).to_double_vector(), a.to_double_vector());
  }
  save_npy(dir + "/scalar.npy", pattern_tensor({}, DType::f32));
}

TEST(NpyReader, RejectsMalformedFiles) {
  const std::string good = read_file(data_path("f32_2x3.npy"));
  auto with_descr = [&](const std::string& descr) {
    std::string s = good;
    s.replace(s.find("'<f4'"), 5, "'" + descr + "'");
    return s;
  };
  EXPECT_EQ(parse_npy(good, "x.npy").numel(), 6);
  expect_error([&] { parse_npy("NUMPY", "x.npy"); }, {"x.npy", "bad magic"});
  expect_error([&] { parse_npy(good.substr(0, good.size() - 1), "x.npy"); }, {"needs 24 data bytes", "holds 23"});
  expect_error([&] { parse_npy(good + "z", "x.npy"); }, {"holds 25"});
  expect_error([&] { parse_npy(good.substr(0, 40), "x.npy"); }, {"exceeds the file"});
  expect_error([&] { parse_npy(with_descr(">f4"), "x.npy"); }, {"'>f4' is not supported"});
  expect_error([&] { parse_npy(with_descr("|b1"), "x.npy"); }, {"'|b1' is not supported"});
  std::string bad_version = good;
  bad_version[6] = 4;
  expect_error([&] { parse_npy(bad_version, "x.npy"); }, {"unsupported NPY version 4.0"});
  std::string bad_shape = good;
  bad_shape.replace(bad_shape.find("(2, 3)"), 6, "(2, x)");
  expect_error([&] { parse_npy(bad_shape, "x.npy"); }, {"malformed"});
  std::string bad_key = good;
  bad_key.replace(bad_key.find("'shape'"), 7, "'shapo'");
  expect_error([&] { parse_npy(bad_key, "x.npy"); }, {"unexpected or repeated header key 'shapo'"});
  expect_error([] { load_npy("/nonexistent/a.npy"); }, {"/nonexistent/a.npy"});
}

}  // namespace
}  // namespace rotor::io
