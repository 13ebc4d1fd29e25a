// The IDX reader (rotor/io/idx.h): every type code and several ranks from files encoded here byte by byte
// (big-endian, as LeCun's MNIST page describes the format), gzip through zlib, malformed files, and the
// Fashion-MNIST files Debian installs.
#include "rotor/io/idx.h"

#include <zlib.h>

#include <cmath>
#include <filesystem>

#include "rotor/io/atomic_file.h"
#include "tests/io/io_test_util.h"

namespace rotor::io {
namespace {

using testing::expect_error;
using testing::fresh_dir;

// An IDX file: header for `shape` and type `code`, then `payload` (already big-endian).
std::string idx_bytes(unsigned char code, const std::vector<uint32_t>& shape, const std::string& payload) {
  std::string out{'\0', '\0', static_cast<char>(code), static_cast<char>(shape.size())};
  for (uint32_t s : shape)
    for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((s >> shift) & 0xff);
  return out + payload;
}

std::string big_endian(uint64_t v, int bytes) {
  std::string out;
  for (int i = bytes - 1; i >= 0; --i) out += static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}

std::string gzip(const std::string& bytes) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);  // +16: gzip wrapper
  std::string out(deflateBound(&z, bytes.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  z.avail_in = static_cast<uInt>(bytes.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

TEST(Idx, EveryTypeCode) {
  // u8 [2, 3]
  std::string u8;
  for (int i = 0; i < 6; ++i) u8 += static_cast<char>(250 + i);
  Tensor t = parse_idx(idx_bytes(0x08, {2, 3}, u8));
  EXPECT_EQ(t.dtype(), DType::u8);
  EXPECT_EQ(t.shape(), (Shape{2, 3}));
  EXPECT_EQ(t.to_double_vector(), (std::vector<double>{250, 251, 252, 253, 254, 255}));
  // i8 [3]: bytes 0xff 0x80 0x7f are -1 -128 127
  t = parse_idx(idx_bytes(0x09, {3}, "\xff\x80\x7f"));
  EXPECT_EQ(t.dtype(), DType::i32);
  EXPECT_EQ(t.to_double_vector(), (std::vector<double>{-1, -128, 127}));
  // i16 [1, 2]
  t = parse_idx(idx_bytes(0x0B, {1, 2}, big_endian(0xfffe, 2) + big_endian(0x1234, 2)));
  EXPECT_EQ(t.to_double_vector(), (std::vector<double>{-2, 0x1234}));
  // i32 [2, 1, 1]
  t = parse_idx(idx_bytes(0x0C, {2, 1, 1}, big_endian(0xffffff00u, 4) + big_endian(70000, 4)));
  EXPECT_EQ(t.shape(), (Shape{2, 1, 1}));
  EXPECT_EQ(t.to_double_vector(), (std::vector<double>{-256, 70000}));
  // f32 [2]: 1.5 is 0x3fc00000, -0.25 is 0xbe800000
  t = parse_idx(idx_bytes(0x0D, {2}, big_endian(0x3fc00000u, 4) + big_endian(0xbe800000u, 4)));
  EXPECT_EQ(t.dtype(), DType::f32);
  EXPECT_EQ(t.to_double_vector(), (std::vector<double>{1.5, -0.25}));
  // f64 [1]: pi is 0x400921fb54442d18
  t = parse_idx(idx_bytes(0x0E, {1}, big_endian(0x400921fb54442d18ull, 8)));
  EXPECT_EQ(t.dtype(), DType::f64);
  EXPECT_EQ(t.to_double_vector()[0], M_PI);
}

TEST(Idx, GzipFilesAndPlainFilesReadAlike) {
  const std::string dir = fresh_dir("idx");
  std::string payload;
  for (int i = 0; i < 4 * 5 * 6; ++i) payload += static_cast<char>(i * 7);
  const std::string bytes = idx_bytes(0x08, {4, 5, 6}, payload);
  write_file_atomic(dir + "/a.idx", bytes);
  write_file_atomic(dir + "/a.idx.gz", gzip(bytes));
  const Tensor plain = load_idx(dir + "/a.idx"), packed = load_idx(dir + "/a.idx.gz");
  EXPECT_EQ(packed.shape(), (Shape{4, 5, 6}));
  EXPECT_EQ(packed.to_double_vector(), plain.to_double_vector());
  EXPECT_EQ(plain.to_double_vector()[3], 21);
}

TEST(Idx, MalformedFilesNameTheFile) {
  const std::string dir = fresh_dir("idx_bad");
  auto expect_bad = [&](const std::string& name, const std::string& bytes, const std::string& what) {
    write_file_atomic(dir + "/" + name, bytes);
    expect_error([&] { load_idx(dir + "/" + name); }, {name, what});
  };
  expect_bad("magic.idx", "\x01\x00\x08\x01\x00\x00\x00\x01x", "bad magic");
  expect_bad("short.idx", std::string("\0\0", 2), "bad magic");
  expect_bad("code.idx", idx_bytes(0x0A, {1}, "x"), "unknown type code");
  expect_bad("dims0.idx", idx_bytes(0x08, {}, ""), "zero dimensions");
  expect_bad("header.idx", idx_bytes(0x08, {3, 4}, "").substr(0, 9), "truncated header");
  expect_bad("data.idx", idx_bytes(0x0C, {3}, big_endian(1, 4) + big_endian(2, 4)), "truncated data");
  expect_bad("extra.idx", idx_bytes(0x08, {2}, "abc"), "1 bytes after");
  const std::string packed = gzip(idx_bytes(0x08, {100}, std::string(100, 'x')));
  expect_bad("cut.idx.gz", packed.substr(0, packed.size() / 2), "truncated compressed");
  expect_bad("corrupt.idx.gz", packed.substr(0, 10) + std::string(40, '\xff'), "compressed data");
  expect_error([&] { load_idx(dir + "/missing.idx"); }, {"missing.idx"});
}

TEST(Idx, ImageSetCountsMustMatch) {
  const std::string dir = fresh_dir("idx_set");
  write_file_atomic(dir + "/images", idx_bytes(0x08, {3, 2, 2}, std::string(12, '\x01')));
  write_file_atomic(dir + "/labels", idx_bytes(0x08, {2}, "\x01\x02"));
  write_file_atomic(dir + "/labels3", idx_bytes(0x08, {3}, "\x01\x02\x05"));
  expect_error([&] { load_idx_image_set(dir + "/images", dir + "/labels"); }, {"holds 2 labels", "3 images"});
  expect_error([&] { load_idx_image_set(dir + "/labels3", dir + "/labels3"); }, {"images must be u8 [N, H, W]"});
  const ImageSet set = load_idx_image_set(dir + "/images", dir + "/labels3");
  EXPECT_EQ(set.labels.dtype(), DType::i32);
  EXPECT_EQ(set.labels.to_double_vector(), (std::vector<double>{1, 2, 5}));
}

// Debian's files (scripts/setup.sh installs dataset-fashion-mnist). The first labels and the pixel sum
// of the first image were read with Python's gzip and numpy (np.frombuffer past the IDX headers).
TEST(Idx, FashionMnistFromDebian) {
  const ImageSet train = load_fashion_mnist(kFashionMnistDir, true), test = load_fashion_mnist(kFashionMnistDir, false);
  EXPECT_EQ(train.images.shape(), (Shape{60000, 28, 28}));
  EXPECT_EQ(test.images.shape(), (Shape{10000, 28, 28}));
  const auto labels = train.labels.to_double_vector();
  EXPECT_EQ(std::vector<double>(labels.begin(), labels.begin() + 10), (std::vector<double>{9, 0, 0, 3, 0, 2, 7, 2, 5, 5}));
  std::vector<int> per_class(10);
  for (double l : test.labels.to_double_vector()) per_class.at(static_cast<size_t>(l))++;
  EXPECT_EQ(per_class, std::vector<int>(10, 1000));
  const uint8_t* px = train.images.data<uint8_t>();
  int64_t first = 0;
  for (int i = 0; i < 784; ++i) first += px[i];
  EXPECT_EQ(first, 76247);
  expect_error([] { load_fashion_mnist("/nonexistent", true); }, {"fashion-mnist", "dataset-fashion-mnist"});
}

}  // namespace
}  // namespace rotor::io
