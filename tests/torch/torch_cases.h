// What the torch tests share: a fixture x weight-dtype case, the meta
// skeleton of a fixture's model, and running the CLI for its --json output.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "model/model.h"
#include "native/test_support.h"
#include "torch/ws_torch.h"

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

// The meta skeleton of `config`'s model: its manifest, declared on a backend
// that allocates nothing, as meta tensors.
inline Result<std::unique_ptr<TorchSkeleton>> declare_skeleton(const ModelConfig& config, WeightDType dtype,
                                                               const Checkpoint& checkpoint) {
  std::unique_ptr<Backend> declare_only = make_manifest_only_backend();
  WS_ASSIGN_OR_RETURN(std::unique_ptr<Model> declared, build_model(config, *declare_only, dtype, &checkpoint));
  return TorchSkeleton::create(declared->manifest());
}

// "generate <fixture> --prompt-ids <ref.prompt> --max-new-tokens <ref.greedy.size()>"
inline std::string greedy_generate_args(const std::string& fixture, const std::vector<int32_t>& prompt,
                                        size_t new_tokens) {
  std::string ids;
  for (int32_t id : prompt) ids += (ids.empty() ? "" : ",") + std::to_string(id);
  return "generate " + fixture + " --prompt-ids " + ids + " --max-new-tokens " + std::to_string(new_tokens);
}

}  // namespace ws::test
