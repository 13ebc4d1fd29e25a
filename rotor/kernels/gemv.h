#pragma once
// Matrix-vector products for one-token decoding, where every weight is read once per token and the speed
// is the memory bandwidth: out = W x for a weight W [OUT, IN] (PyTorch's layout), f32 accumulation.
//
// The weight is packed once (at load) into tiles of kGemvRows rows x one vector of columns (16 f32 or 32
// bf16), tile after tile along the columns, then row block after row block, zero padded: the product
// reads one sequential stream (prefetched a few tiles ahead) with kGemvRows accumulators, which keeps a
// single core at its memory bandwidth. The bf16 form halves the bytes read (AVX512-BF16 vdpbf16ps on pairs
// of bf16 products). Row blocks are split across threads above a size threshold; each output is one
// thread's sum in a fixed order, so results do not depend on the thread count.
#include <cstdint>
#include <new>
#include <vector>

#include "rotor/core/dtype.h"

namespace rotor::kernels {

constexpr int64_t kGemvRows = 16;

// Cache-line (64-byte) aligned storage for the tiles, so that each tile row is one aligned vector load.
template <class T>
struct CacheLineAllocator {
  using value_type = T;
  CacheLineAllocator() = default;
  template <class U>
  CacheLineAllocator(const CacheLineAllocator<U>&) {}
  T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(64))); }
  void deallocate(T* p, size_t) { ::operator delete(p, std::align_val_t(64)); }
  bool operator==(const CacheLineAllocator&) const { return true; }
};

// A packed weight; fill one of the two vectors with pack_gemv_f32 / pack_gemv_bf16.
struct GemvMatrix {
  int64_t rows = 0, cols = 0;  // the logical [OUT, IN]
  std::vector<float, CacheLineAllocator<float>> f32;  // [ceil(OUT/16), ceil(IN/16), 16, 16]
  std::vector<bf16, CacheLineAllocator<bf16>> b16;    // [ceil(OUT/16), ceil(IN/32), 16, 32]
};

// weight: [OUT, IN] row-major f32.
GemvMatrix pack_gemv_f32(const float* weight, int64_t OUT, int64_t IN);
GemvMatrix pack_gemv_bf16(const float* weight, int64_t OUT, int64_t IN);  // rounded to bf16

// out: [OUT]; x: [IN] (read only up to IN).
void gemv_f32(float* out, const float* x, const GemvMatrix& w);
// out: [OUT] f32; x16: [IN] bf16.
void gemv_bf16(float* out, const bf16* x16, const GemvMatrix& w);

}  // namespace rotor::kernels
