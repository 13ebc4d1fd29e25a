#pragma once
// Activation checkpointing: run a block without keeping its intermediate values, and recompute them
// during the backward pass. Memory drops to the block's inputs and output; compute grows by one forward.
#include <functional>
#include <vector>

#include "rotor/autograd/var.h"

namespace rotor::autograd {

// y = fn(inputs), recorded as one node; the recomputation runs in the autocast state (autocast.h) of
// the forward. fn must be deterministic (give it its own copy of any Rng it
// uses, e.g. for dropout, so the recomputation draws the same mask). Parameters captured by fn (not in
// `inputs`) receive their gradients during the recomputation's backward, as they would without
// checkpointing.
Var checkpoint(const std::function<Var(const std::vector<Var>&)>& fn, const std::vector<Var>& inputs);

}  // namespace rotor::autograd
