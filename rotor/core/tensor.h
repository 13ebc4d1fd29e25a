#pragma once
// Tensor: an n-dimensional view (shape, strides in elements, offset) of reference-counted storage.
// Views (slice, transpose, permute, view/reshape, expand, select, unsqueeze, squeeze) share storage;
// contiguous() copies only when the layout is not already row-major dense.
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "rotor/core/dtype.h"
#include "rotor/core/error.h"

namespace rotor {

using Shape = std::vector<int64_t>;

std::string shape_str(const Shape& s);  // "[2, 3, 4]"
int64_t shape_numel(const Shape& s);
Shape contiguous_strides(const Shape& s);
// Broadcast two shapes by the NumPy rules; throws naming both shapes when they do not broadcast.
Shape broadcast_shapes(const Shape& a, const Shape& b);

// A 64-byte aligned byte buffer. Storage never changes size after creation.
class Storage {
 public:
  explicit Storage(size_t bytes);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* data() { return data_; }
  const void* data() const { return data_; }
  size_t bytes() const { return bytes_; }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
};

class Tensor {
 public:
  Tensor() = default;  // undefined tensor

  // Factories. New tensors are contiguous.
  static Tensor empty(const Shape& shape, DType dtype = DType::f32);
  static Tensor zeros(const Shape& shape, DType dtype = DType::f32);
  static Tensor full(const Shape& shape, double value, DType dtype = DType::f32);
  static Tensor ones(const Shape& shape, DType dtype = DType::f32) { return full(shape, 1.0, dtype); }
  static Tensor arange(int64_t n, DType dtype = DType::f32);
  static Tensor from_vector(const std::vector<float>& values, const Shape& shape);
  static Tensor from_vector(const std::vector<double>& values, const Shape& shape);
  static Tensor from_vector(const std::vector<int64_t>& values, const Shape& shape);
  static Tensor from_vector(const std::vector<int32_t>& values, const Shape& shape);

  bool defined() const { return storage_ != nullptr; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }
  int64_t offset() const { return offset_; }
  int64_t dim() const { return static_cast<int64_t>(shape_.size()); }
  int64_t size(int64_t d) const;     // negative d counts from the end
  int64_t stride(int64_t d) const;
  int64_t numel() const { return shape_numel(shape_); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  bool is_contiguous() const;
  bool shares_storage(const Tensor& other) const { return storage_ && storage_ == other.storage_; }
  const std::shared_ptr<Storage>& storage() const { return storage_; }

  // Pointer to element 0 of this view (storage base + offset). The typed form checks the dtype.
  void* raw_data();
  const void* raw_data() const;
  template <class T> T* data() {
    check_dtype(dtype_of<T>::value);
    return static_cast<T*>(raw_data());
  }
  template <class T> const T* data() const {
    check_dtype(dtype_of<T>::value);
    return static_cast<const T*>(raw_data());
  }

  // Views sharing storage.
  Tensor view(const Shape& shape) const;       // needs a compatible layout; one -1 allowed
  Tensor reshape(const Shape& shape) const;    // view when possible, otherwise a contiguous copy
  Tensor slice(int64_t d, int64_t start, int64_t end, int64_t step = 1) const;  // Python semantics
  Tensor narrow(int64_t d, int64_t start, int64_t length) const { return slice(d, start, start + length); }
  Tensor select(int64_t d, int64_t index) const;  // drops dimension d
  Tensor transpose(int64_t d0, int64_t d1) const;
  Tensor permute(const std::vector<int64_t>& order) const;
  Tensor expand(const Shape& shape) const;     // broadcast size-1 (or new leading) dims with stride 0
  Tensor unsqueeze(int64_t d) const;
  Tensor squeeze(int64_t d) const;
  Tensor flatten() const { return reshape({numel()}); }

  // Copies.
  Tensor contiguous() const;  // returns *this when already contiguous
  Tensor clone() const;       // always a fresh contiguous copy
  Tensor to(DType dtype) const;  // converted contiguous copy (or *this when the dtype matches and contiguous)
  void copy_(const Tensor& src);  // copy values (broadcast, converting dtype) into this view
  void fill_(double value);

  // Element access for tests and small loops (converts to/from double).
  double item() const;  // one-element tensors only
  double at(const std::vector<int64_t>& index) const;
  void set(const std::vector<int64_t>& index, double value);
  std::vector<float> to_float_vector() const;
  std::vector<double> to_double_vector() const;

  std::string str() const;  // "Tensor(f32, [2, 3])"

 private:
  Tensor(std::shared_ptr<Storage> storage, Shape shape, Shape strides, int64_t offset, DType dtype);
  void check_dtype(DType expected) const;
  int64_t normalize_dim(int64_t d, int64_t ndim) const;
  int64_t element_offset(const std::vector<int64_t>& index) const;

  std::shared_ptr<Storage> storage_;
  Shape shape_;
  Shape strides_;
  int64_t offset_ = 0;
  DType dtype_ = DType::f32;
};

// Visit every element offset (in elements, relative to storage base) of a view in row-major order.
// Used by copy and conversion; kernels use specialised loops.
template <class F>
void for_each_offset(const Shape& shape, const Shape& strides, int64_t base, F&& f) {
  const size_t nd = shape.size();
  if (shape_numel(shape) == 0) return;
  if (nd == 0) { f(base); return; }
  std::vector<int64_t> idx(nd, 0);
  int64_t off = base;
  const int64_t inner = shape[nd - 1], inner_stride = strides[nd - 1];
  while (true) {
    for (int64_t i = 0; i < inner; ++i) f(off + i * inner_stride);
    int64_t d = static_cast<int64_t>(nd) - 2;
    for (; d >= 0; --d) {
      off += strides[d];
      if (++idx[d] < shape[d]) break;
      off -= strides[d] * shape[d];
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}

}  // namespace rotor
