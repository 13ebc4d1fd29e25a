#include "rotor/nn/module.h"

#include <set>

namespace rotor::nn {

namespace {
void check_name(const std::string& name, const char* what) {
  ROTOR_CHECK(!name.empty() && name.find('.') == std::string::npos, "module: ", what, " name '", name,
              "' must be non-empty and contain no '.'");
}
}  // namespace

Var Module::add_parameter(const std::string& name, Tensor value) {
  check_name(name, "parameter");
  for (const auto& p : params_) ROTOR_CHECK(p.first != name, "module: parameter '", name, "' registered twice");
  for (const auto& c : children_) ROTOR_CHECK(c.first != name, "module: '", name, "' is already a child module");
  Var v(std::move(value), true);
  params_.emplace_back(name, v);
  return v;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
  check_name(name, "child module");
  ROTOR_CHECK(module != nullptr, "module: child '", name, "' is null");
  for (const auto& c : children_) ROTOR_CHECK(c.first != name, "module: child '", name, "' registered twice");
  for (const auto& p : params_) ROTOR_CHECK(p.first != name, "module: '", name, "' is already a parameter");
  children_.emplace_back(name, std::move(module));
}

void Module::collect(const std::string& prefix, std::vector<std::pair<std::string, Var>>& out) const {
  for (const auto& [name, v] : params_) out.emplace_back(prefix + name, v);
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", out);
}

std::vector<std::pair<std::string, Var>> Module::named_parameters() const {
  std::vector<std::pair<std::string, Var>> out;
  collect("", out);
  return out;
}

std::vector<Var> Module::parameters() const {
  std::vector<Var> out;
  for (auto& [name, v] : named_parameters()) out.push_back(v);
  return out;
}

int64_t Module::parameter_count() const {
  int64_t n = 0;
  for (const Var& v : parameters()) n += v.numel();
  return n;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

void Module::zero_grad() {
  for (Var& v : parameters()) v.zero_grad();
}

StateDict Module::state_dict() const {
  StateDict out;
  for (const auto& [name, v] : named_parameters()) out[name] = v.value();
  return out;
}

void Module::load_state_dict(const StateDict& state, bool strict) {
  std::set<std::string> used;
  for (auto& [name, v] : named_parameters()) {
    auto it = state.find(name);
    if (it == state.end()) {
      ROTOR_CHECK(!strict, "load_state_dict: missing parameter '", name, "'");
      continue;
    }
    ROTOR_CHECK(it->second.shape() == v.shape(), "load_state_dict: '", name, "' has shape ",
                shape_str(it->second.shape()), ", the module expects ", shape_str(v.shape()));
    Var target = v;
    target.mutable_value().copy_(it->second);
    used.insert(name);
  }
  if (strict)
    for (const auto& [name, t] : state)
      ROTOR_CHECK(used.count(name), "load_state_dict: unexpected parameter '", name, "'");
}

}  // namespace rotor::nn
