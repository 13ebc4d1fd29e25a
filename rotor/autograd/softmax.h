#pragma once
// Softmax and log-softmax over one axis of a Var.
#include "rotor/autograd/var.h"

namespace rotor::autograd {

Var softmax(const Var& x, int64_t axis = -1);
Var log_softmax(const Var& x, int64_t axis = -1);

}  // namespace rotor::autograd
