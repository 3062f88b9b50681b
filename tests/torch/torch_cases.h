// What the torch tests share: a fixture x weight-dtype case, the meta
// skeleton of a fixture's model, running the CLI for its --json output, and
// the quantized-weights parity check run on each device.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "../model/model_fixture.h"
#include "../model/parity_check.h"
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

// Q8_0 / Q4_0 blocks (quantized while loading) widened per product in f32:
// transformers on gguf-py's blocks of the same weights is matched within
// `tolerance`. `load` puts a fixture on the device under test.
inline void expect_quantized_parity(const std::function<Result<LoadedModel>(const std::string&, WeightDType)>& load,
                                    float tolerance) {
  for (const char* fixture : {"gpt2", "llama_gqa", "qwen2"}) {
    for (const auto& [dtype, file] : {std::pair{WeightDType::Q8_0, "reference_q8_0.json"},
                                      std::pair{WeightDType::Q4_0, "reference_q4_0.json"}}) {
      SCOPED_TRACE(std::string(fixture) + " " + file);
      const Reference ref = read_reference(fixture, file);
      ASSERT_FALSE(ref.prompt.empty()) << "missing " << fixture_dir(fixture) << "/" << file;
      Result<LoadedModel> loaded = load(fixture_dir(fixture), dtype);
      ASSERT_TRUE(loaded.is_ok()) << loaded.error().to_string();
      size_t blocks = 0;
      for (const ManifestEntry& e : loaded->model->manifest()) blocks += dtype_is_quantized(e.dtype);
      EXPECT_GT(blocks, 4u);
      expect_transformers_parity(*loaded->model, ref, tolerance);
    }
  }
}

}  // namespace ws::test
