// Skips that CI turns into failures. A test whose dependency may be absent on
// a developer's machine (the SmolLM2 model, a GPU) skips there, saying why. CI
// is meant to provide it, so a skip there would be a green run that proved
// nothing: .ci/run exports WS_REQUIRE_ALL=1 and bench/gpu.sh WS_REQUIRE_CUDA=1,
// and under them the same absence fails the test with the same reason.
#pragma once

#include <cstdlib>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

namespace ws::test {

// True when the environment variable is set to exactly "1".
inline bool required_by(const char* variable) {
  const char* value = std::getenv(variable);
  return value != nullptr && std::strcmp(value, "1") == 0;
}

}  // namespace ws::test

// Skips the test with `why`, or fails it with `why` where `variable`=1 says the
// dependency must be there. Usable wherever GTEST_SKIP is (a void function).
#define WS_SKIP_UNLESS_REQUIRED(variable, why)                                        \
  do {                                                                                \
    const std::string ws_skip_why_ = (why);                                           \
    if (::ws::test::required_by(variable)) FAIL() << variable "=1: " << ws_skip_why_; \
    GTEST_SKIP() << ws_skip_why_;                                                     \
  } while (0)
