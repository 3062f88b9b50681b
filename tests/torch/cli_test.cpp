// weightstream load/generate --backend torch: the same JSON fields and
// tensor hashes as the portable path, and the same greedy ids.
#include <gtest/gtest.h>

#include "../model/model_fixture.h"
#include "native/test_support.h"
#include "torch/ws_torch.h"
#include "torch_cases.h"

namespace ws::test {
namespace {

TEST(TorchCli, LoadGivesThePortableHashesAndFields) {
  for (const char* dtype : {"keep", "f16"}) {
    const std::string model = fixture_dir("llama_sharded") + " --hash --json --dtype " + dtype;
    const nlohmann::json portable = run_json("load " + model);
    const nlohmann::json torch = run_json("load " + model + " --backend torch --device cpu");
    ASSERT_FALSE(portable.is_discarded());
    ASSERT_FALSE(torch.is_discarded());
    for (auto it = portable.begin(); it != portable.end(); ++it) EXPECT_TRUE(torch.contains(it.key())) << it.key();
    EXPECT_EQ(torch.size(), portable.size());
    EXPECT_EQ(torch["tensors"], portable["tensors"]) << dtype;
    EXPECT_EQ(torch["bound_bytes"], portable["bound_bytes"]);
  }
}

TEST(TorchCli, CudaDeviceIsAnErrorNotAFallback) {
  if (torch_cuda_available()) GTEST_SKIP() << "CUDA is available here (tests/torch/cuda_test.cpp covers it)";
  auto [status, out] = run_command(std::string(WS_CLI) + " load " + fixture_dir("gpt2") +
                                   " --backend torch --device cuda 2>&1");
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("CUDA"), std::string::npos) << out;
}

TEST(TorchCli, GenerateGivesTransformersGreedyIds) {
  const Reference ref = read_reference("llama_gqa");
  ASSERT_FALSE(ref.prompt.empty());
  const nlohmann::json out = run_json(greedy_generate_args(fixture_dir("llama_gqa"), ref.prompt, ref.greedy.size()) +
                                      " --backend torch --device cpu --threads 2 --json");
  ASSERT_FALSE(out.is_discarded());
  EXPECT_EQ(out["ids"].get<std::vector<int32_t>>(), ref.greedy);
  EXPECT_NE(out["backend"].get<std::string>().find("torch"), std::string::npos);
}

}  // namespace
}  // namespace ws::test
