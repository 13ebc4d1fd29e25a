#include "rotor/io/npy.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <optional>

#include "rotor/core/error.h"
#include "rotor/io/atomic_file.h"

namespace rotor::io {

static_assert(std::endian::native == std::endian::little, "NPY I/O assumes a little-endian host");

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicBytes = 6;
constexpr size_t kAlign = 64;
constexpr size_t kGrowthAxisDigits = 21;  // numpy leaves room to grow the first dimension in place

const char* npy_descr(DType dtype) {
  switch (dtype) {
    case DType::f32: return "<f4";
    case DType::f64: return "<f8";
    case DType::f16: return "<f2";
    case DType::i32: return "<i4";
    case DType::i64: return "<i8";
    case DType::u8: return "|u1";
    case DType::bf16: break;
  }
  throw Error(cat("npy: dtype ", dtype_name(dtype), " has no NumPy equivalent (convert to f32 first)"));
}

std::optional<DType> dtype_from_descr(const std::string& descr) {
  for (DType t : {DType::f32, DType::f64, DType::f16, DType::i32, DType::i64, DType::u8})
    if (descr == npy_descr(t)) return t;
  if (descr == "<u1" || descr == "u1") return DType::u8;
  return std::nullopt;
}

// A cursor over the header's Python dict literal. Only the forms numpy writes are accepted.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& where) : text_(text), where_(where) {}

  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n')) ++pos_;
  }
  bool accept(char c) {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    ROTOR_CHECK(accept(c), where_, ": malformed header, expected '", c, "' at byte ", pos_, " of \"", text_, "\"");
  }
  std::string string_literal() {
    skip_space();
    ROTOR_CHECK(pos_ < text_.size() && (text_[pos_] == '\'' || text_[pos_] == '"'), where_,
                ": malformed header, expected a string at byte ", pos_);
    const char quote = text_[pos_++];
    const size_t end = text_.find(quote, pos_);
    ROTOR_CHECK(end != std::string_view::npos, where_, ": malformed header, unterminated string");
    std::string s(text_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return s;
  }
  bool boolean() {
    skip_space();
    for (const auto& [word, value] : {std::pair{"True", true}, std::pair{"False", false}}) {
      const size_t n = std::strlen(word);
      if (text_.substr(pos_, n) == word) {
        pos_ += n;
        return value;
      }
    }
    throw Error(cat(where_, ": malformed header, expected True or False at byte ", pos_));
  }
  Shape shape_tuple() {
    expect('(');
    Shape shape;
    while (!accept(')')) {
      skip_space();
      int64_t n = 0;
      size_t digits = 0;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
        ROTOR_CHECK(n < (INT64_MAX - 9) / 10, where_, ": shape dimension too large");
        n = n * 10 + (text_[pos_++] - '0');
        ++digits;
      }
      if (pos_ < text_.size() && text_[pos_] == 'L') ++pos_;  // Python 2 long suffix
      ROTOR_CHECK(digits > 0, where_, ": malformed shape in header at byte ", pos_);
      shape.push_back(n);
      if (!accept(',')) {
        expect(')');
        break;
      }
    }
    return shape;
  }
  bool at_end() {
    skip_space();
    return pos_ == text_.size();
  }

 private:
  std::string_view text_;
  const std::string& where_;
  size_t pos_ = 0;
};

}  // namespace

Tensor parse_npy(std::string_view bytes, const std::string& label) {
  const std::string where = cat("npy '", label, "'");
  ROTOR_CHECK(bytes.size() >= kMagicBytes + 4 && bytes.substr(0, kMagicBytes) == std::string_view(kMagic, kMagicBytes),
              where, ": not an NPY file (bad magic)");
  const int major = static_cast<uint8_t>(bytes[6]), minor = static_cast<uint8_t>(bytes[7]);
  ROTOR_CHECK((major == 1 || major == 2 || major == 3) && minor == 0, where, ": unsupported NPY version ", major,
              ".", minor);
  size_t header_len = 0, prefix = 0;
  if (major == 1) {
    header_len = static_cast<uint8_t>(bytes[8]) | (static_cast<size_t>(static_cast<uint8_t>(bytes[9])) << 8);
    prefix = 10;
  } else {
    ROTOR_CHECK(bytes.size() >= 12, where, ": truncated header");
    uint32_t n;
    std::memcpy(&n, bytes.data() + 8, 4);
    header_len = n;
    prefix = 12;
  }
  ROTOR_CHECK(header_len <= bytes.size() - prefix, where, ": header length ", header_len, " exceeds the file");
  const std::string_view header = bytes.substr(prefix, header_len);

  HeaderParser p(header, where);
  std::optional<std::string> descr;
  std::optional<bool> fortran_order;
  std::optional<Shape> shape;
  p.expect('{');
  while (!p.accept('}')) {
    const std::string key = p.string_literal();
    p.expect(':');
    if (key == "descr" && !descr) descr = p.string_literal();
    else if (key == "fortran_order" && !fortran_order) fortran_order = p.boolean();
    else if (key == "shape" && !shape) shape = p.shape_tuple();
    else throw Error(cat(where, ": unexpected or repeated header key '", key, "'"));
    if (!p.accept(',')) {
      p.expect('}');
      break;
    }
  }
  ROTOR_CHECK(p.at_end(), where, ": unexpected text after the header dict");
  ROTOR_CHECK(descr && fortran_order && shape, where, ": header lacks descr, fortran_order or shape");
  const std::optional<DType> dtype = dtype_from_descr(*descr);
  ROTOR_CHECK(dtype, where, ": dtype '", *descr,
              "' is not supported (supported: little-endian <f4 <f8 <f2 <i4 <i8 and |u1)");

  uint64_t numel = 1, nbytes = 0, span = 1;  // span: product of max(d, 1), so strides fit in int64 too
  for (int64_t d : *shape) {
    ROTOR_CHECK(!__builtin_mul_overflow(span, static_cast<uint64_t>(std::max<int64_t>(d, 1)), &span) &&
                    span <= static_cast<uint64_t>(INT64_MAX),
                where, ": shape ", shape_str(*shape), " is too large");
    numel *= static_cast<uint64_t>(d);
  }
  ROTOR_CHECK(!__builtin_mul_overflow(numel, dtype_size(*dtype), &nbytes), where, ": shape ", shape_str(*shape),
              " is too large");
  const size_t available = bytes.size() - prefix - header_len;
  ROTOR_CHECK(nbytes == available, where, ": shape ", shape_str(*shape), " of ", *descr, " needs ", nbytes,
              " data bytes but the file holds ", available);

  const char* data = bytes.data() + prefix + header_len;
  if (!*fortran_order) {
    Tensor t = Tensor::empty(*shape, *dtype);
    if (nbytes) std::memcpy(t.raw_data(), data, nbytes);
    return t;
  }
  // Fortran order is C order of the reversed shape, transposed back.
  Shape reversed(shape->rbegin(), shape->rend());
  Tensor t = Tensor::empty(reversed, *dtype);
  if (nbytes) std::memcpy(t.raw_data(), data, nbytes);
  std::vector<int64_t> order;
  for (int64_t d = t.dim() - 1; d >= 0; --d) order.push_back(d);
  return t.permute(order).contiguous();
}

Tensor load_npy(const std::string& path) { return parse_npy(read_file(path), path); }

std::string serialize_npy(const Tensor& tensor) {
  ROTOR_CHECK(tensor.defined(), "npy: cannot write an undefined tensor");
  std::string dict = cat("{'descr': '", npy_descr(tensor.dtype()), "', 'fortran_order': False, 'shape': (");
  for (int64_t i = 0; i < tensor.dim(); ++i) dict += cat(tensor.size(i), tensor.dim() == 1 || i + 1 < tensor.dim() ? "," : "",
                                                         i + 1 < tensor.dim() ? " " : "");
  dict += "), }";
  if (tensor.dim() > 0) dict.append(kGrowthAxisDigits - std::to_string(tensor.size(0)).size(), ' ');
  // numpy's rule: pad = 64 - (prefix + header + '\n') % 64, which is 64 (not 0) when already aligned.
  const size_t pad = kAlign - (kMagicBytes + 2 + 2 + dict.size() + 1) % kAlign;
  dict.append(pad, ' ');
  dict += '\n';
  ROTOR_CHECK(dict.size() <= 65535, "npy: header of ", dict.size(), " bytes is too long for format 1.0");

  const Tensor c = tensor.contiguous();
  std::string out(kMagic, kMagicBytes);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(dict.size() & 0xff);
  out += static_cast<char>(dict.size() >> 8);
  out += dict;
  out.append(static_cast<const char*>(c.raw_data()), c.nbytes());
  return out;
}

void save_npy(const std::string& path, const Tensor& tensor) { write_file_atomic(path, serialize_npy(tensor)); }

}  // namespace rotor::io
