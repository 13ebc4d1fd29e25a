#include "rotor/core/tensor.h"

#include <malloc.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <type_traits>

#include "rotor/core/strided_loop.h"
#include "rotor/core/transpose16.h"

namespace rotor {

std::string shape_str(const Shape& s) {
  std::ostringstream out;
  out << '[';
  for (size_t i = 0; i < s.size(); ++i) out << (i ? ", " : "") << s[i];
  out << ']';
  return out.str();
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

Shape contiguous_strides(const Shape& s) {
  Shape st(s.size());
  int64_t acc = 1;
  for (size_t i = s.size(); i-- > 0;) {
    st[i] = acc;
    acc *= std::max<int64_t>(s[i], 1);
  }
  return st;
}

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  const size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    ROTOR_CHECK(da == db || da == 1 || db == 1,
                "shapes ", shape_str(a), " and ", shape_str(b), " do not broadcast");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

namespace {
// glibc serves allocations above its mmap threshold with fresh mappings, which every use then faults in
// page by page (and its dynamic threshold is undone when the heap top is trimmed). Tensors of up to 32 MB
// (glibc's ceiling for the threshold) come from the heap instead, and freed memory stays with the process
// for the next tensor of the step, as in PyTorch's caching allocators.
bool tune_malloc() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
  return true;
}
}  // namespace

Storage::Storage(size_t bytes) : bytes_(bytes) {
  static const bool tuned = tune_malloc();
  (void)tuned;
  const size_t rounded = (std::max<size_t>(bytes, 1) + 63) / 64 * 64;
  data_ = std::aligned_alloc(64, rounded);
  if (!data_) throw Error(cat("out of memory allocating ", bytes, " bytes"));
}

Storage::~Storage() { std::free(data_); }

Tensor::Tensor(std::shared_ptr<Storage> storage, Shape shape, Shape strides, int64_t offset, DType dtype)
    : storage_(std::move(storage)), shape_(std::move(shape)), strides_(std::move(strides)), offset_(offset),
      dtype_(dtype) {}

Tensor Tensor::empty(const Shape& shape, DType dtype) {
  for (int64_t d : shape) ROTOR_CHECK(d >= 0, "tensor: negative dimension in shape ", shape_str(shape));
  auto storage = std::make_shared<Storage>(static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype));
  return Tensor(std::move(storage), shape, contiguous_strides(shape), 0, dtype);
}

Tensor Tensor::zeros(const Shape& shape, DType dtype) {
  Tensor t = empty(shape, dtype);
  std::memset(t.raw_data(), 0, t.nbytes());
  return t;
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype) {
  Tensor t = empty(shape, dtype);
  t.fill_(value);
  return t;
}

Tensor Tensor::arange(int64_t n, DType dtype) {
  Tensor t = empty({n}, dtype);
  for (int64_t i = 0; i < n; ++i) t.set({i}, static_cast<double>(i));
  return t;
}

namespace {
template <class T>
Tensor from_values(const std::vector<T>& values, const Shape& shape) {
  ROTOR_CHECK(static_cast<int64_t>(values.size()) == shape_numel(shape), "from_vector: ", values.size(),
              " values do not fill shape ", shape_str(shape));
  Tensor t = Tensor::empty(shape, dtype_of<T>::value);
  if (!values.empty()) std::memcpy(t.raw_data(), values.data(), values.size() * sizeof(T));
  return t;
}
}  // namespace

Tensor Tensor::from_vector(const std::vector<float>& v, const Shape& s) { return from_values(v, s); }
Tensor Tensor::from_vector(const std::vector<double>& v, const Shape& s) { return from_values(v, s); }
Tensor Tensor::from_vector(const std::vector<int64_t>& v, const Shape& s) { return from_values(v, s); }
Tensor Tensor::from_vector(const std::vector<int32_t>& v, const Shape& s) { return from_values(v, s); }

int64_t Tensor::normalize_dim(int64_t d, int64_t ndim) const {
  const int64_t r = d < 0 ? d + ndim : d;
  ROTOR_CHECK(r >= 0 && r < ndim, "dimension ", d, " is out of range for a tensor of shape ", shape_str(shape_));
  return r;
}

int64_t Tensor::size(int64_t d) const { return shape_[normalize_dim(d, dim())]; }
int64_t Tensor::stride(int64_t d) const { return strides_[normalize_dim(d, dim())]; }

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (size_t i = shape_.size(); i-- > 0;) {
    if (shape_[i] == 1) continue;
    if (strides_[i] != expected) return false;
    expected *= shape_[i];
  }
  return true;
}

void Tensor::check_dtype(DType expected) const {
  ROTOR_CHECK(defined(), "tensor: access to an undefined tensor");
  ROTOR_CHECK(dtype_ == expected, "tensor: element type is ", dtype_name(dtype_), ", accessed as ",
              dtype_name(expected));
}

void* Tensor::raw_data() {
  ROTOR_CHECK(defined(), "tensor: access to an undefined tensor");
  return static_cast<char*>(storage_->data()) + offset_ * static_cast<int64_t>(dtype_size(dtype_));
}

const void* Tensor::raw_data() const {
  ROTOR_CHECK(defined(), "tensor: access to an undefined tensor");
  return static_cast<const char*>(storage_->data()) + offset_ * static_cast<int64_t>(dtype_size(dtype_));
}

Tensor Tensor::view(const Shape& shape_in) const {
  Shape shape = shape_in;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      ROTOR_CHECK(infer < 0, "view: more than one -1 in ", shape_str(shape_in));
      infer = static_cast<int64_t>(i);
    } else {
      ROTOR_CHECK(shape[i] >= 0, "view: negative dimension in ", shape_str(shape_in));
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    ROTOR_CHECK(known > 0 && numel() % known == 0, "view: cannot view ", shape_str(shape_), " as ",
                shape_str(shape_in));
    shape[infer] = numel() / known;
  }
  ROTOR_CHECK(shape_numel(shape) == numel(), "view: shape ", shape_str(shape_in), " has ", shape_numel(shape),
              " elements, tensor ", shape_str(shape_), " has ", numel());
  if (is_contiguous()) return Tensor(storage_, shape, contiguous_strides(shape), offset_, dtype_);
  // General case: walk the old dimensions from the last, grouping runs whose strides chain
  // (stride[i] == stride[i+1] * size[i+1]); each run must be covered exactly by new dimensions.
  Shape new_strides(shape.size(), 1);
  if (numel() == 0) return Tensor(storage_, shape, contiguous_strides(shape), offset_, dtype_);
  int64_t new_d = static_cast<int64_t>(shape.size()) - 1;
  int64_t run_base_stride = strides_.back(), run_numel = 1, covered = 1;
  for (int64_t old_d = dim() - 1; old_d >= 0; --old_d) {
    run_numel *= shape_[old_d];
    const bool run_ends = old_d == 0 || (shape_[old_d - 1] != 1 && strides_[old_d - 1] != run_numel * run_base_stride);
    if (!run_ends) continue;
    while (new_d >= 0 && (covered < run_numel || shape[new_d] == 1)) {
      new_strides[new_d] = covered * run_base_stride;
      covered *= shape[new_d];
      --new_d;
    }
    ROTOR_CHECK(covered == run_numel, "view: cannot view a non-contiguous tensor of shape ", shape_str(shape_),
                " as ", shape_str(shape_in), "; use reshape");
    if (old_d > 0) {
      run_base_stride = strides_[old_d - 1];
      run_numel = 1;
      covered = 1;
    }
  }
  ROTOR_CHECK(new_d == -1, "view: cannot view ", shape_str(shape_), " as ", shape_str(shape_in));
  return Tensor(storage_, shape, new_strides, offset_, dtype_);
}

Tensor Tensor::reshape(const Shape& shape) const {
  try {
    return view(shape);
  } catch (const Error&) {
    return contiguous().view(shape);
  }
}

Tensor Tensor::slice(int64_t d, int64_t start, int64_t end, int64_t step) const {
  d = normalize_dim(d, dim());
  ROTOR_CHECK(step > 0, "slice: step must be positive, got ", step);
  const int64_t n = shape_[d];
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::clamp<int64_t>(start, 0, n);
  end = std::clamp<int64_t>(end, start, n);
  Shape shape = shape_, strides = strides_;
  shape[d] = (end - start + step - 1) / step;
  strides[d] = strides_[d] * step;
  return Tensor(storage_, shape, strides, offset_ + start * strides_[d], dtype_);
}

Tensor Tensor::select(int64_t d, int64_t index) const {
  d = normalize_dim(d, dim());
  const int64_t n = shape_[d];
  ROTOR_CHECK(index >= -n && index < n, "select: index ", index, " out of range for dimension ", d, " of size ", n);
  if (index < 0) index += n;
  Shape shape = shape_, strides = strides_;
  shape.erase(shape.begin() + d);
  strides.erase(strides.begin() + d);
  return Tensor(storage_, shape, strides, offset_ + index * strides_[d], dtype_);
}

Tensor Tensor::transpose(int64_t d0, int64_t d1) const {
  d0 = normalize_dim(d0, dim());
  d1 = normalize_dim(d1, dim());
  Shape shape = shape_, strides = strides_;
  std::swap(shape[d0], shape[d1]);
  std::swap(strides[d0], strides[d1]);
  return Tensor(storage_, shape, strides, offset_, dtype_);
}

Tensor Tensor::permute(const std::vector<int64_t>& order) const {
  ROTOR_CHECK(static_cast<int64_t>(order.size()) == dim(), "permute: ", order.size(),
              " dimensions given for a tensor of shape ", shape_str(shape_));
  Shape shape(order.size()), strides(order.size());
  std::vector<bool> seen(order.size(), false);
  for (size_t i = 0; i < order.size(); ++i) {
    const int64_t d = normalize_dim(order[i], dim());
    ROTOR_CHECK(!seen[d], "permute: dimension ", d, " repeated");
    seen[d] = true;
    shape[i] = shape_[d];
    strides[i] = strides_[d];
  }
  return Tensor(storage_, shape, strides, offset_, dtype_);
}

Tensor Tensor::expand(const Shape& shape) const {
  ROTOR_CHECK(shape.size() >= shape_.size(), "expand: cannot expand ", shape_str(shape_), " to ", shape_str(shape));
  const size_t lead = shape.size() - shape_.size();
  Shape strides(shape.size(), 0), out = shape;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i < lead) {
      ROTOR_CHECK(shape[i] >= 0, "expand: bad target shape ", shape_str(shape));
      continue;
    }
    const int64_t have = shape_[i - lead];
    if (shape[i] == -1 || shape[i] == have) {
      out[i] = have;
      strides[i] = strides_[i - lead];
    } else {
      ROTOR_CHECK(have == 1, "expand: cannot expand ", shape_str(shape_), " to ", shape_str(shape));
      strides[i] = 0;
    }
  }
  return Tensor(storage_, out, strides, offset_, dtype_);
}

Tensor Tensor::unsqueeze(int64_t d) const {
  d = normalize_dim(d, dim() + 1);
  Shape shape = shape_, strides = strides_;
  const int64_t st = d < dim() ? strides_[d] * shape_[d] : 1;
  shape.insert(shape.begin() + d, 1);
  strides.insert(strides.begin() + d, st);
  return Tensor(storage_, shape, strides, offset_, dtype_);
}

Tensor Tensor::squeeze(int64_t d) const {
  d = normalize_dim(d, dim());
  ROTOR_CHECK(shape_[d] == 1, "squeeze: dimension ", d, " has size ", shape_[d], ", not 1");
  return select(d, 0);
}

namespace {

double load_as_double(const void* base, int64_t off, DType t) {
  switch (t) {
    case DType::f32: return static_cast<const float*>(base)[off];
    case DType::bf16: return bf16_to_float(static_cast<const bf16*>(base)[off]);
    case DType::f16: return f16_to_float(static_cast<const f16*>(base)[off]);
    case DType::f64: return static_cast<const double*>(base)[off];
    case DType::i32: return static_cast<const int32_t*>(base)[off];
    case DType::i64: return static_cast<double>(static_cast<const int64_t*>(base)[off]);
    case DType::u8: return static_cast<const uint8_t*>(base)[off];
  }
  return 0;
}

void store_double(void* base, int64_t off, DType t, double v) {
  switch (t) {
    case DType::f32: static_cast<float*>(base)[off] = static_cast<float>(v); break;
    case DType::bf16: static_cast<bf16*>(base)[off] = float_to_bf16(static_cast<float>(v)); break;
    case DType::f16: static_cast<f16*>(base)[off] = float_to_f16(static_cast<float>(v)); break;
    case DType::f64: static_cast<double*>(base)[off] = v; break;
    case DType::i32: static_cast<int32_t*>(base)[off] = static_cast<int32_t>(v); break;
    case DType::i64: static_cast<int64_t*>(base)[off] = static_cast<int64_t>(v); break;
    case DType::u8: static_cast<uint8_t*>(base)[off] = static_cast<uint8_t>(v); break;
  }
}

}  // namespace

namespace {

#if defined(__AVX512F__)
// 32-bit elements whose last two plan dimensions are transposed between src and dst (dst unit-stride
// along the last, src along the second-last): 16 x 16 tiles transposed in registers, masked at the
// ragged edges. Returns false when the layout is not that one.
bool copy_transposed_words(uint32_t* d, const uint32_t* x, const detail::StridedPlan<2>& p) {
  const int64_t nd = static_cast<int64_t>(p.shape.size());
  if (nd < 2) return false;
  const int64_t R = p.shape[nd - 2], L = p.shape[nd - 1];
  const int64_t dR = p.strides[0][nd - 2], sL = p.strides[1][nd - 1];
  if (p.strides[0][nd - 1] != 1 || p.strides[1][nd - 2] != 1 || R < 16 || L < 16) return false;
  // tasks of 256 dst rows: each src row is read 1 KB at a time (16 tiles), which keeps TLB misses down
  // when both strides span pages, while the 256 dst lines being filled (16 KB) stay in L1 (measured on
  // [4096, 1024]^T: 64 rows 4.5 ms, 256 rows 3.2 ms, 512 rows 2.7 ms, all 1024 rows 6.9 ms; PyTorch 3.4)
  constexpr int64_t kRows = 256;
  const int64_t outer = p.numel / (R * L), tiles_i = (R + kRows - 1) / kRows;
  auto task = [&](int64_t t) {
    int64_t o = t / tiles_i, od = 0, os = 0;
    for (int64_t dim = nd - 3; dim >= 0; --dim) {
      const int64_t c = o % p.shape[dim];
      o /= p.shape[dim];
      od += c * p.strides[0][dim];
      os += c * p.strides[1][dim];
    }
    const int64_t r0 = (t % tiles_i) * kRows, r1 = std::min(R, r0 + kRows);
    for (int64_t j0 = 0; j0 < L; j0 += 16)  // dst columns j0.. = unit-stride runs of src, 16 at a time
      simd::transpose_block(d + od + r0 * dR + j0, dR, x + os + j0 * sL + r0, sL, std::min<int64_t>(16, L - j0),
                            r1 - r0);
  };
  const int64_t tasks = outer * tiles_i;
  const bool parallel = p.numel >= kParallelThreshold && tasks > 1 && omp_get_max_threads() > 1 && !omp_in_parallel();
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t t = 0; t < tasks; ++t) task(t);
  return true;
}
#endif

// Element conversions through double, as load_as_double / store_double do one element at a time.
template <class T> double widen(T v) {
  if constexpr (std::is_same_v<T, bf16>) return bf16_to_float(v);
  else if constexpr (std::is_same_v<T, f16>) return f16_to_float(v);
  else return static_cast<double>(v);
}
template <class T> T narrow_to(double v) {
  if constexpr (std::is_same_v<T, bf16>) return float_to_bf16(static_cast<float>(v));
  else if constexpr (std::is_same_v<T, f16>) return float_to_f16(static_cast<float>(v));
  else return static_cast<T>(v);
}

template <class F> void visit_dtype(DType t, F&& f) {
  switch (t) {
    case DType::f32: return f(float{});
    case DType::bf16: return f(bf16{});
    case DType::f16: return f(f16{});
    case DType::f64: return f(double{});
    case DType::i32: return f(int32_t{});
    case DType::i64: return f(int64_t{});
    case DType::u8: return f(uint8_t{});
  }
}

// dst = src (converted when the types differ), both walked along one strided plan: runs merged where
// both views are dense, transposed layouts in tiles.
template <class D, class S>
void copy_runs(void* dbase, const void* sbase, const Shape& shape, const Shape& dst_strides, const Shape& src_strides) {
  D* d = static_cast<D*>(dbase);
  const S* x = static_cast<const S*>(sbase);
  const auto plan = detail::make_plan<2>(shape, {dst_strides, src_strides});
  constexpr bool same = std::is_same_v<D, S>;
#if defined(__AVX512F__)
  if constexpr (same && sizeof(D) == 4)
    if (copy_transposed_words(reinterpret_cast<uint32_t*>(d), reinterpret_cast<const uint32_t*>(x), plan)) return;
#endif
  using Offsets = std::array<int64_t, 2>;
  auto one = [](S v) {
    if constexpr (same) return v;
    else return narrow_to<D>(widen(v));
  };
  detail::strided_for(plan, {0, 0}, [&](int64_t n, const Offsets& off, const Offsets& st) {
    D* dp = d + off[0];
    const S* xp = x + off[1];
    if (st[0] == 1 && st[1] == 1) {
      if constexpr (same) std::memcpy(dp, xp, static_cast<size_t>(n) * sizeof(D));
      else
        for (int64_t i = 0; i < n; ++i) dp[i] = one(xp[i]);
    } else if (st[0] == 1 && st[1] == 0) {
      std::fill_n(dp, n, one(xp[0]));  // a broadcast value
    } else {
      for (int64_t i = 0; i < n; ++i) dp[i * st[0]] = one(xp[i * st[1]]);
    }
  });
}

}  // namespace

void Tensor::copy_(const Tensor& src) {
  ROTOR_CHECK(defined() && src.defined(), "copy_: undefined tensor");
  const Tensor s = src.expand(shape_);
  const size_t es = dtype_size(dtype_);
  void* dbase = static_cast<char*>(storage_->data()) + offset_ * static_cast<int64_t>(es);
  const void* sbase = s.raw_data();
  if (s.dtype_ == dtype_) {
    if (s.is_contiguous() && is_contiguous()) {
      std::memmove(dbase, sbase, nbytes());
      return;
    }
    // same-width elements are copied as raw words
    switch (es) {
      case 1: return copy_runs<uint8_t, uint8_t>(dbase, sbase, shape_, strides_, s.strides_);
      case 2: return copy_runs<uint16_t, uint16_t>(dbase, sbase, shape_, strides_, s.strides_);
      case 4: return copy_runs<uint32_t, uint32_t>(dbase, sbase, shape_, strides_, s.strides_);
      case 8: return copy_runs<uint64_t, uint64_t>(dbase, sbase, shape_, strides_, s.strides_);
      default: break;
    }
  }
  // Converting copy: each element through double, as load_as_double / store_double convert one element.
  visit_dtype(dtype_, [&](auto d) {
    visit_dtype(s.dtype_, [&](auto x) {
      copy_runs<decltype(d), decltype(x)>(dbase, sbase, shape_, strides_, s.strides_);
    });
  });
}

void Tensor::fill_(double value) {
  void* base = static_cast<char*>(storage_->data()) + offset_ * static_cast<int64_t>(dtype_size(dtype_));
  if (dtype_ == DType::f32 && is_contiguous()) {
    float* p = static_cast<float*>(base);
    std::fill(p, p + numel(), static_cast<float>(value));
    return;
  }
  for_each_offset(shape_, strides_, 0, [&](int64_t o) { store_double(base, o, dtype_, value); });
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape_, dtype_);
  out.copy_(*this);
  return out;
}

Tensor Tensor::to(DType dtype) const {
  if (dtype == dtype_) return contiguous();
  Tensor out = empty(shape_, dtype);
  out.copy_(*this);
  return out;
}

int64_t Tensor::element_offset(const std::vector<int64_t>& index) const {
  ROTOR_CHECK(static_cast<int64_t>(index.size()) == dim(), "index has ", index.size(),
              " coordinates for a tensor of shape ", shape_str(shape_));
  int64_t off = 0;
  for (size_t i = 0; i < index.size(); ++i) {
    ROTOR_CHECK(index[i] >= 0 && index[i] < shape_[i], "index ", index[i], " out of range for dimension ", i,
                " of shape ", shape_str(shape_));
    off += index[i] * strides_[i];
  }
  return off;
}

double Tensor::item() const {
  ROTOR_CHECK(numel() == 1, "item: tensor of shape ", shape_str(shape_), " has ", numel(), " elements");
  return load_as_double(raw_data(), 0, dtype_);
}

double Tensor::at(const std::vector<int64_t>& index) const {
  return load_as_double(raw_data(), element_offset(index), dtype_);
}

void Tensor::set(const std::vector<int64_t>& index, double value) {
  store_double(raw_data(), element_offset(index), dtype_, value);
}

std::vector<float> Tensor::to_float_vector() const {
  const Tensor c = to(DType::f32);
  const float* p = c.data<float>();
  return std::vector<float>(p, p + c.numel());
}

std::vector<double> Tensor::to_double_vector() const {
  const Tensor c = to(DType::f64);
  const double* p = c.data<double>();
  return std::vector<double>(p, p + c.numel());
}

std::string Tensor::str() const {
  if (!defined()) return "Tensor(undefined)";
  return cat("Tensor(", dtype_name(dtype_), ", ", shape_str(shape_), ")");
}

}  // namespace rotor
