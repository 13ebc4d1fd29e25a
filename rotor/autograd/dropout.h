#pragma once
// Inverted dropout: in training, each element is zeroed with probability p and the survivors are
// scaled by 1 / (1 - p); in evaluation (or p = 0) the input is returned unchanged.
#include "rotor/autograd/var.h"
#include "rotor/core/rng.h"

namespace rotor::autograd {

// The mask is drawn from `rng` (one uniform per element, in row-major order), so a seed fixes it.
Var dropout(const Var& x, double p, Rng& rng, bool training = true);

}  // namespace rotor::autograd
