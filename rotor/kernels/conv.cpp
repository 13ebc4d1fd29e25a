#include "rotor/kernels/conv.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <map>
#include <mutex>
#include <tuple>

#include "rotor/core/error.h"

namespace rotor::kernels {

namespace {

using dnnl::memory;
using Tag = memory::format_tag;
constexpr auto kF32 = memory::data_type::f32;

dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

// N, O, C, H, W, KH, KW, SH, SW, PH, PW, DH, DW, with bias
using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                       int64_t, int64_t, int64_t, bool>;

// The three primitives of one geometry (the backward ones created on first use).
struct ConvPrimitives {
  dnnl::convolution_forward::primitive_desc fwd_pd;
  dnnl::convolution_forward fwd;
  dnnl::convolution_backward_data::primitive_desc data_pd;
  dnnl::convolution_backward_data data;
  dnnl::convolution_backward_weights::primitive_desc weights_pd;
  dnnl::convolution_backward_weights weights;
  memory::desc x, w, b, y;  // the plain layouts (nchw, oihw, x)
  memory::dims strides, dilates, padding;
};

std::mutex& cache_mutex() {
  static std::mutex m;
  return m;
}

ConvPrimitives& primitives(int64_t N, int64_t O, const Conv2dGeometry& g, bool bias) {
  const Key key{N, O, g.C, g.H, g.W, g.KH, g.KW, g.SH, g.SW, g.PH, g.PW, g.DH, g.DW, bias};
  static std::map<Key, ConvPrimitives> cache;
  std::lock_guard<std::mutex> lock(cache_mutex());
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  ConvPrimitives p;
  p.x = memory::desc({N, g.C, g.H, g.W}, kF32, Tag::nchw);
  p.w = memory::desc({O, g.C, g.KH, g.KW}, kF32, Tag::oihw);
  p.b = memory::desc({O}, kF32, Tag::x);
  p.y = memory::desc({N, O, g.out_h(), g.out_w()}, kF32, Tag::nchw);
  p.strides = {g.SH, g.SW};
  p.dilates = {g.DH - 1, g.DW - 1};  // oneDNN counts the gaps
  p.padding = {g.PH, g.PW};
  // oneDNN picks the layouts (format any); the plain ones are reordered in and out
  const memory::desc x_any({N, g.C, g.H, g.W}, kF32, Tag::any), w_any({O, g.C, g.KH, g.KW}, kF32, Tag::any),
      y_any({N, O, g.out_h(), g.out_w()}, kF32, Tag::any);
  const auto fwd_desc =
      bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                             x_any, w_any, p.b, y_any, p.strides, p.dilates, p.padding, p.padding)
           : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                             x_any, w_any, y_any, p.strides, p.dilates, p.padding, p.padding);
  p.fwd_pd = dnnl::convolution_forward::primitive_desc(fwd_desc, engine());
  p.fwd = dnnl::convolution_forward(p.fwd_pd);
  return cache.emplace(key, std::move(p)).first->second;
}

// A memory in the primitive's layout `want` holding the plain `plain` data at ptr (reordered into a new
// buffer when the layouts differ).
memory input(const memory::desc& want, const memory::desc& plain, const void* ptr, dnnl::stream& s) {
  memory user(plain, engine(), const_cast<void*>(ptr));
  if (want == plain) return user;
  memory m(want, engine());
  dnnl::reorder(user, m).execute(s, user, m);
  return m;
}

// An output memory in the layout `have`: the plain buffer itself, or a new one to reorder from.
memory output(const memory::desc& have, const memory::desc& plain, void* ptr) {
  if (have == plain) return memory(plain, engine(), ptr);
  return memory(have, engine());
}

void finish(memory& m, const memory::desc& plain, void* ptr, dnnl::stream& s) {
  if (m.get_desc() == plain) return;
  memory user(plain, engine(), ptr);
  dnnl::reorder(m, user).execute(s, m, user);
}

dnnl::stream& stream() {
  thread_local dnnl::stream s(engine());
  return s;
}

}  // namespace

void conv2d_forward_f32(float* y, const float* x, const float* w, const float* b, int64_t N, int64_t O,
                        const Conv2dGeometry& g) {
  ConvPrimitives& p = primitives(N, O, g, b != nullptr);
  dnnl::stream& s = stream();
  memory xm = input(p.fwd_pd.src_desc(), p.x, x, s), wm = input(p.fwd_pd.weights_desc(), p.w, w, s);
  memory ym = output(p.fwd_pd.dst_desc(), p.y, y);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, xm}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_DST, ym}};
  if (b) args.insert({DNNL_ARG_BIAS, memory(p.b, engine(), const_cast<float*>(b))});
  p.fwd.execute(s, args);
  finish(ym, p.y, y, s);
  s.wait();
}

void conv2d_backward_data_f32(float* dx, const float* dy, const float* w, int64_t N, int64_t O,
                              const Conv2dGeometry& g) {
  ConvPrimitives& p = primitives(N, O, g, false);
  {
    std::lock_guard<std::mutex> lock(cache_mutex());
    if (!p.data) {
      const memory::desc x_any({N, g.C, g.H, g.W}, kF32, Tag::any), w_any({O, g.C, g.KH, g.KW}, kF32, Tag::any),
          y_any({N, O, g.out_h(), g.out_w()}, kF32, Tag::any);
      const dnnl::convolution_backward_data::desc d(dnnl::algorithm::convolution_direct, x_any, w_any, y_any,
                                                    p.strides, p.dilates, p.padding, p.padding);
      p.data_pd = dnnl::convolution_backward_data::primitive_desc(d, engine(), p.fwd_pd);
      p.data = dnnl::convolution_backward_data(p.data_pd);
    }
  }
  dnnl::stream& s = stream();
  memory dym = input(p.data_pd.diff_dst_desc(), p.y, dy, s), wm = input(p.data_pd.weights_desc(), p.w, w, s);
  memory dxm = output(p.data_pd.diff_src_desc(), p.x, dx);
  p.data.execute(s, {{DNNL_ARG_DIFF_DST, dym}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_DIFF_SRC, dxm}});
  finish(dxm, p.x, dx, s);
  s.wait();
}

void conv2d_backward_weights_f32(float* dw, float* db, const float* dy, const float* x, int64_t N, int64_t O,
                                 const Conv2dGeometry& g) {
  ConvPrimitives& p = primitives(N, O, g, db != nullptr);
  {
    std::lock_guard<std::mutex> lock(cache_mutex());
    if (!p.weights) {
      const memory::desc x_any({N, g.C, g.H, g.W}, kF32, Tag::any), w_any({O, g.C, g.KH, g.KW}, kF32, Tag::any),
          y_any({N, O, g.out_h(), g.out_w()}, kF32, Tag::any);
      const auto d = db ? dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, x_any, w_any,
                                                                   p.b, y_any, p.strides, p.dilates, p.padding,
                                                                   p.padding)
                        : dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, x_any, w_any,
                                                                   y_any, p.strides, p.dilates, p.padding, p.padding);
      p.weights_pd = dnnl::convolution_backward_weights::primitive_desc(d, engine(), p.fwd_pd);
      p.weights = dnnl::convolution_backward_weights(p.weights_pd);
    }
  }
  dnnl::stream& s = stream();
  memory dym = input(p.weights_pd.diff_dst_desc(), p.y, dy, s), xm = input(p.weights_pd.src_desc(), p.x, x, s);
  memory dwm = output(p.weights_pd.diff_weights_desc(), p.w, dw);
  std::unordered_map<int, memory> args{{DNNL_ARG_DIFF_DST, dym}, {DNNL_ARG_SRC, xm}, {DNNL_ARG_DIFF_WEIGHTS, dwm}};
  if (db) args.insert({DNNL_ARG_DIFF_BIAS, memory(p.b, engine(), db)});
  p.weights.execute(s, args);
  finish(dwm, p.w, dw, s);
  s.wait();
}

}  // namespace rotor::kernels
