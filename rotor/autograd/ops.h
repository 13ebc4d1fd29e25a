#pragma once
// Everything a model needs from autograd, in one include.
#include "rotor/autograd/arithmetic.h"
#include "rotor/autograd/attention.h"
#include "rotor/autograd/dropout.h"
#include "rotor/autograd/fused_attention.h"
#include "rotor/autograd/indexing.h"
#include "rotor/autograd/linalg.h"
#include "rotor/autograd/losses.h"
#include "rotor/autograd/normalization.h"
#include "rotor/autograd/reduction.h"
#include "rotor/autograd/softmax.h"
#include "rotor/autograd/var.h"
#include "rotor/autograd/views.h"
