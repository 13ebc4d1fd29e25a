#include "rotor/autograd/autocast.h"

namespace rotor::autograd {

namespace {
thread_local bool t_autocast_bf16 = false;
}

bool autocast_bf16() { return t_autocast_bf16; }
AutocastGuard::AutocastGuard() : previous_(t_autocast_bf16) { t_autocast_bf16 = true; }
AutocastGuard::AutocastGuard(bool enabled) : previous_(t_autocast_bf16) { t_autocast_bf16 = enabled; }
AutocastGuard::~AutocastGuard() { t_autocast_bf16 = previous_; }

}  // namespace rotor::autograd
