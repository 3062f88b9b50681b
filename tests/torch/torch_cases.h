// What the torch tests share: a fixture x weight-dtype case, and running the
// CLI for its --json output.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "model/model.h"
#include "native/test_support.h"

namespace ws::test {

struct Case {
  const char* fixture;
  WeightDType dtype;
};

inline void PrintTo(const Case& c, std::ostream* os) { *os << c.fixture; }

// "<fixture>_<keep|f32|f16|bf16>"
inline std::string case_name(const testing::TestParamInfo<Case>& info) {
  const char* dtypes[] = {"keep", "f32", "f16", "bf16"};
  return std::string(info.param.fixture) + "_" + dtypes[static_cast<int>(info.param.dtype)];
}

// `weightstream <args>` must exit 0 and print one JSON document.
inline nlohmann::json run_json(const std::string& args) {
  auto [status, out] = run_command(std::string(WS_CLI) + " " + args);
  EXPECT_EQ(status, 0) << out;
  nlohmann::json j = nlohmann::json::parse(out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << out;
  return j;
}

}  // namespace ws::test
