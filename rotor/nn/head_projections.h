#pragma once
// The q, k, v and output projections of a multi-head token mixer ([dim, dim] with bias, parameter names
// q.*, k.*, v.*, out.*) with the split into heads and the merge back. Mixers derive from it and supply
// what happens between the projections.
#include <memory>

#include "rotor/nn/layers.h"

namespace rotor::nn {

class HeadProjections : public Module {
 public:
  struct Heads {
    Var q, k, v;
  };
  HeadProjections(int64_t dim, int64_t heads, Rng& rng, DType dtype, const char* what);
  // x: [B, T, dim] -> q, k, v: [B, H, T, Dh].
  Heads project(const Var& x) const;
  // y: [B, H, T, Dh] -> [B, T, dim].
  Var output(const Var& y) const;
  // One token, x: [B, dim] -> q, k, v: [B, H, Dh].
  Heads project_step(const Var& x) const;
  // y: [B, H, Dh] -> [B, dim].
  Var output_step(const Var& y) const;
  int64_t heads() const { return heads_; }

 private:
  std::shared_ptr<Linear> q_, k_, v_, out_;
  int64_t heads_;
  const char* what_;
};

}  // namespace rotor::nn
