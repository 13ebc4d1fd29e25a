#pragma once
// Helpers shared by the rotor/io tests.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <initializer_list>
#include <source_location>
#include <string>

#include "rotor/core/error.h"
#include "rotor/core/tensor.h"

namespace rotor::io::testing {

inline std::string data_path(const std::string& name) {
  return std::string(ROTOR_SOURCE_DIR) + "/tests/io/data/" + name;
}

// A fresh, empty directory under the build tree, unique to this process.
inline std::string fresh_dir(const std::string& name) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(ROTOR_BINARY_DIR) / "test_tmp" / (name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

// The pattern the reference script checks in rotor-written files: i*0.5-3 for floats, i-3 for signed
// integers, i for u8.
inline Tensor pattern_tensor(const Shape& shape, DType dtype) {
  Tensor t = Tensor::empty(shape, dtype);
  Tensor flat = t.view({t.numel()});
  for (int64_t i = 0; i < t.numel(); ++i) {
    const double v = dtype_is_floating(dtype) ? i * 0.5 - 3 : dtype == DType::u8 ? i : i - 3;
    flat.set({i}, v);
  }
  return t;
}

// Runs fn, expects rotor::Error whose message contains every fragment; returns the message.
inline std::string expect_error(const std::function<void()>& fn, std::initializer_list<std::string> fragments,
                                const std::source_location where = std::source_location::current()) {
  SCOPED_TRACE(cat("expect_error called at line ", where.line()));
  try {
    fn();
  } catch (const Error& e) {
    const std::string message = e.what();
    for (const std::string& f : fragments)
      EXPECT_NE(message.find(f), std::string::npos) << "message lacks '" << f << "': " << message;
    return message;
  }
  ADD_FAILURE() << "no rotor::Error thrown";
  return "";
}

}  // namespace rotor::io::testing
