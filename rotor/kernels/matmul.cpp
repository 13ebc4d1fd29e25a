#include "rotor/kernels/matmul.h"

#include <oneapi/dnnl/dnnl.hpp>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include <map>
#include <mutex>
#include <tuple>
#include <vector>

#include "rotor/core/error.h"

namespace rotor::kernels {

namespace {

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, int, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                       int64_t, int64_t, int64_t, bool, bool, int>;

struct CachedMatmul {
  dnnl::matmul primitive;
  dnnl::memory::desc a, b, c, bias, scratchpad;
};

// Per calling thread: memory objects of each cached primitive (re-pointed with set_data_handle on
// every call, cheaper than creating them) and one scratchpad buffer that grows to the largest need
// (oneDNN would otherwise allocate and free a scratchpad inside many executions).
struct ThreadMemories {
  dnnl::memory a, b, c, bias, scratchpad;
};
struct ThreadState {
  std::map<const void*, ThreadMemories> memories;
  std::vector<unsigned char> scratchpad;
};
ThreadState& thread_state() {
  thread_local ThreadState state;
  return state;
}

std::mutex& cache_mutex() {
  static std::mutex m;
  return m;
}
std::map<Key, CachedMatmul>& cache() {
  static std::map<Key, CachedMatmul> c;
  return c;
}

dnnl::memory::desc describe(int64_t batch, int64_t rows, int64_t cols, MatrixLayout l, dnnl::memory::data_type t) {
  // A broadcast operand (batch_stride 0) is described with batch dimension 1.
  const int64_t bdim = l.batch_stride == 0 ? 1 : batch;
  const int64_t bstride = l.batch_stride == 0 ? rows * cols : l.batch_stride;
  return dnnl::memory::desc({bdim, rows, cols}, t, {bstride, l.row_stride, l.col_stride});
}

const CachedMatmul& get_primitive(int64_t batch, int64_t M, int64_t N, int64_t K, DType in_dtype, MatrixLayout a,
                                  MatrixLayout b, MatrixLayout c, bool accumulate, bool has_bias, DType out_dtype) {
  const Key key{batch, M, N, K, static_cast<int>(in_dtype), a.row_stride, a.col_stride, a.batch_stride,
                b.row_stride, b.col_stride, b.batch_stride, c.row_stride, c.col_stride, c.batch_stride, accumulate,
                has_bias, static_cast<int>(out_dtype)};
  std::lock_guard<std::mutex> lock(cache_mutex());
  auto it = cache().find(key);
  if (it != cache().end()) return it->second;
  const auto in_t = in_dtype == DType::bf16 ? dnnl::memory::data_type::bf16 : dnnl::memory::data_type::f32;
  CachedMatmul entry;
  entry.a = describe(batch, M, K, a, in_t);
  entry.b = describe(batch, K, N, b, in_t);
  entry.c = describe(batch, M, N, c,
                     out_dtype == DType::bf16 ? dnnl::memory::data_type::bf16 : dnnl::memory::data_type::f32);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (accumulate) {
    dnnl::post_ops ops;
    ops.append_sum(1.0f);
    attr.set_post_ops(ops);
  }
  if (has_bias) entry.bias = dnnl::memory::desc({1, 1, N}, dnnl::memory::data_type::f32, {N, N, 1});
  dnnl::matmul::desc desc = has_bias ? dnnl::matmul::desc(entry.a, entry.b, entry.bias, entry.c)
                                     : dnnl::matmul::desc(entry.a, entry.b, entry.c);
  dnnl::matmul::primitive_desc pd(desc, attr, cpu_engine());
  entry.primitive = dnnl::matmul(pd);
  entry.scratchpad = pd.scratchpad_desc();
  return cache().emplace(key, std::move(entry)).first->second;
}

}  // namespace

namespace {

void run_gemm(int64_t batch, int64_t M, int64_t N, int64_t K, DType in_dtype, const void* A, MatrixLayout a,
              const void* B, MatrixLayout b, void* C, DType out_dtype, MatrixLayout c, bool accumulate,
              const float* bias) {
  ROTOR_CHECK(in_dtype == DType::f32 || in_dtype == DType::bf16, "matmul: inputs must be f32 or bf16, got ",
              dtype_name(in_dtype));
  ROTOR_CHECK(batch > 0 && M > 0 && N > 0, "matmul: empty output [", batch, ", ", M, ", ", N, "]");
  ROTOR_CHECK(c.batch_stride != 0 || batch == 1, "matmul: output cannot be broadcast over the batch");
  if (K == 0) {  // empty reduction: C = bias (or 0), plus C when accumulating
    for (int64_t bi = 0; bi < batch; ++bi)
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) {
          const int64_t at = bi * c.batch_stride + i * c.row_stride + j * c.col_stride;
          const float add = bias ? bias[j] : 0.0f;
          if (out_dtype == DType::bf16) {
            bf16& out = static_cast<bf16*>(C)[at];
            out = float_to_bf16((accumulate ? bf16_to_float(out) : 0.0f) + add);
          } else {
            float& out = static_cast<float*>(C)[at];
            out = (accumulate ? out : 0.0f) + add;
          }
        }
    return;
  }
  const CachedMatmul& mm = get_primitive(batch, M, N, K, in_dtype, a, b, c, accumulate, bias != nullptr, out_dtype);
  dnnl::engine& engine = cpu_engine();
  ThreadState& state = thread_state();
  auto found = state.memories.find(&mm);
  if (found == state.memories.end()) {
    ThreadMemories m;
    m.a = dnnl::memory(mm.a, engine, DNNL_MEMORY_NONE);
    m.b = dnnl::memory(mm.b, engine, DNNL_MEMORY_NONE);
    m.c = dnnl::memory(mm.c, engine, DNNL_MEMORY_NONE);
    if (bias) m.bias = dnnl::memory(mm.bias, engine, DNNL_MEMORY_NONE);
    m.scratchpad = dnnl::memory(mm.scratchpad, engine, DNNL_MEMORY_NONE);
    found = state.memories.emplace(&mm, std::move(m)).first;
  }
  ThreadMemories& m = found->second;
  const size_t scratch_bytes = mm.scratchpad.get_size();
  if (state.scratchpad.size() < scratch_bytes) state.scratchpad.resize(scratch_bytes);  // re-pointed below
  m.a.set_data_handle(const_cast<void*>(A));
  m.b.set_data_handle(const_cast<void*>(B));
  m.c.set_data_handle(C);
  m.scratchpad.set_data_handle(scratch_bytes ? state.scratchpad.data() : nullptr);
  thread_local dnnl::stream stream(engine);  // one per calling thread, reused by every call
  if (bias) {
    m.bias.set_data_handle(const_cast<float*>(bias));
    mm.primitive.execute(stream, {{DNNL_ARG_SRC, m.a}, {DNNL_ARG_WEIGHTS, m.b}, {DNNL_ARG_BIAS, m.bias},
                                  {DNNL_ARG_DST, m.c}, {DNNL_ARG_SCRATCHPAD, m.scratchpad}});
  } else {
    mm.primitive.execute(stream, {{DNNL_ARG_SRC, m.a}, {DNNL_ARG_WEIGHTS, m.b}, {DNNL_ARG_DST, m.c},
                                  {DNNL_ARG_SCRATCHPAD, m.scratchpad}});
  }
  stream.wait();
}

}  // namespace

void gemm(int64_t batch, int64_t M, int64_t N, int64_t K, DType in_dtype, const void* A, MatrixLayout a,
          const void* B, MatrixLayout b, float* C, MatrixLayout c, bool accumulate, const float* bias) {
  run_gemm(batch, M, N, K, in_dtype, A, a, B, b, C, DType::f32, c, accumulate, bias);
}

void gemm_to_bf16(int64_t batch, int64_t M, int64_t N, int64_t K, const bf16* A, MatrixLayout a, const bf16* B,
                  MatrixLayout b, bf16* C, MatrixLayout c, const float* bias) {
  run_gemm(batch, M, N, K, DType::bf16, A, a, B, b, C, DType::bf16, c, false, bias);
}

void gemm_f32(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* A, const float* B, float* C,
              bool accumulate) {
  gemm(1, M, N, K, DType::f32, A, trans_a ? transposed(M, K) : row_major(M, K), B,
       trans_b ? transposed(K, N) : row_major(K, N), C, row_major(M, N), accumulate);
}

void gemm_bf16(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const bf16* A, const bf16* B, float* C,
               bool accumulate) {
  gemm(1, M, N, K, DType::bf16, A, trans_a ? transposed(M, K) : row_major(M, K), B,
       trans_b ? transposed(K, N) : row_major(K, N), C, row_major(M, N), accumulate);
}

namespace {

// Make the last two dims of a 3-D view usable by oneDNN: one of them must have unit stride.
Tensor usable_matrix(const Tensor& t) {
  if (t.stride(-1) == 1 || t.stride(-2) == 1) return t;
  return t.contiguous();
}

}  // namespace

Tensor matmul(const Tensor& a_in, const Tensor& b_in) {
  ROTOR_CHECK(a_in.dim() >= 1 && b_in.dim() >= 1, "matmul: operands must have at least one dimension, got ",
              shape_str(a_in.shape()), " and ", shape_str(b_in.shape()));
  ROTOR_CHECK(a_in.dtype() == b_in.dtype(), "matmul: operand types differ (", dtype_name(a_in.dtype()), " and ",
              dtype_name(b_in.dtype()), ")");
  ROTOR_CHECK(a_in.dtype() == DType::f32 || a_in.dtype() == DType::bf16, "matmul: inputs must be f32 or bf16, got ",
              dtype_name(a_in.dtype()));
  const bool a_vec = a_in.dim() == 1, b_vec = b_in.dim() == 1;
  Tensor a = a_vec ? a_in.unsqueeze(0) : a_in;
  Tensor b = b_vec ? b_in.unsqueeze(1) : b_in;
  const int64_t M = a.size(-2), K = a.size(-1), N = b.size(-1);
  ROTOR_CHECK(b.size(-2) == K, "matmul: shapes ", shape_str(a_in.shape()), " and ", shape_str(b_in.shape()),
              " do not match (", K, " vs ", b.size(-2), ")");
  const Shape a_batch(a.shape().begin(), a.shape().end() - 2), b_batch(b.shape().begin(), b.shape().end() - 2);
  const Shape batch_shape = broadcast_shapes(a_batch, b_batch);
  const int64_t batch = shape_numel(batch_shape);
  Shape out_shape = batch_shape;
  out_shape.push_back(M);
  out_shape.push_back(N);
  Tensor out = Tensor::empty(out_shape, DType::f32);
  if (out.numel() == 0) return out;

  Shape a_full = batch_shape, b_full = batch_shape;
  a_full.insert(a_full.end(), {M, K});
  b_full.insert(b_full.end(), {K, N});
  Tensor ae = usable_matrix(a.expand(a_full)), be = usable_matrix(b.expand(b_full));
  // oneDNN takes one batch stride per operand. Batch dims [k, nb) that merge into one for both operands
  // (broadcast dims have stride 0) become that batch; the outer dims [0, k) are looped over, one call
  // each, instead of copying a strided operand (attention's heads are views of [B, T, H, Dh] rows).
  const int64_t nb = static_cast<int64_t>(batch_shape.size());
  auto merges = [&](const Tensor& t, int64_t k) {
    int64_t stride = 0, span = 0;  // innermost stride and size of the run merged so far
    for (int64_t d = nb - 1; d >= k; --d) {
      if (t.size(d) == 1) continue;
      if (span == 0) stride = t.stride(d), span = t.size(d);
      else if (t.stride(d) != stride * span) return false;
      else span *= t.size(d);
    }
    return true;
  };
  int64_t k = 0;
  while (k < nb && !(merges(ae, k) && merges(be, k))) ++k;
  int64_t outer = 1;
  for (int64_t d = 0; d < k; ++d) outer *= batch_shape[d];
  if (outer > 256 && M * N * K < (int64_t(1) << 18)) {  // many small products: one copy, one call
    ae = ae.contiguous();
    be = be.contiguous();
    k = 0;
    outer = 1;
  }
  const int64_t inner = batch / outer;
  auto layout = [&](const Tensor& t) {
    int64_t bs = 0;
    for (int64_t d = nb - 1; d >= k && inner > 1; --d)
      if (t.size(d) > 1) {
        bs = t.stride(d);
        break;
      }
    return MatrixLayout{t.stride(-2), t.stride(-1), bs};
  };
  const MatrixLayout la = layout(ae), lb = layout(be);
  const size_t esize = dtype_size(a.dtype());
  for (int64_t o = 0; o < outer; ++o) {
    int64_t off_a = 0, off_b = 0, rest = o;
    for (int64_t d = k - 1; d >= 0; --d) {
      const int64_t i = rest % batch_shape[d];
      rest /= batch_shape[d];
      off_a += i * ae.stride(d);
      off_b += i * be.stride(d);
    }
    gemm(inner, M, N, K, a.dtype(), static_cast<const char*>(ae.raw_data()) + off_a * esize, la,
         static_cast<const char*>(be.raw_data()) + off_b * esize, lb, out.data<float>() + o * inner * M * N,
         MatrixLayout{N, 1, M * N});
  }
  if (a_vec && b_vec) return out.view({});
  if (a_vec) {
    Shape s = batch_shape;
    s.push_back(N);
    return out.view(s);
  }
  if (b_vec) {
    Shape s = batch_shape;
    s.push_back(M);
    return out.view(s);
  }
  return out;
}

int64_t matmul_cache_size() {
  std::lock_guard<std::mutex> lock(cache_mutex());
  return static_cast<int64_t>(cache().size());
}

bool onednn_uses_amx() {
  static const bool amx = (unsigned(dnnl_get_effective_cpu_isa()) & unsigned(dnnl_cpu_isa_avx512_core_amx)) ==
                          unsigned(dnnl_cpu_isa_avx512_core_amx);
  return amx;
}

bool cpu_has_amx_bf16() {
#if defined(__x86_64__) || defined(__i386__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  return (d >> 22) & 1u;  // EDX bit 22: AMX-BF16
#else
  return false;
#endif
}

const char* onednn_isa_name() {
  switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "other";
  }
}

}  // namespace rotor::kernels
