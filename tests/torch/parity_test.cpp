// src/model's single forward of each architecture, run on the ATen ops
// backend, against Hugging Face transformers (make_model_fixtures.py):
// last-position logits within 1e-4 and the same greedy tokens.
#include <gtest/gtest.h>


#include "../model/model_fixture.h"
#include "../model/parity_check.h"
#include "generate/generate.h"
#include "torch/ws_torch.h"
#include "torch_cases.h"

namespace ws::test {
namespace {

Result<LoadedModel> load_on_torch(const std::string& dir, WeightDType dtype) {
  BackendOptions options;
  options.threads = 2;
  WS_ASSIGN_OR_RETURN(std::unique_ptr<Backend> backend, make_torch_backend(TorchDevice{}, options));
  return load_model_on(std::move(backend), dir, dtype);
}

class TorchParity : public testing::TestWithParam<Case> {};

TEST_P(TorchParity, LastLogitsAndGreedyContinuationMatchTransformers) {
  const Case& c = GetParam();
  const Reference ref = read_reference(c.fixture);
  ASSERT_FALSE(ref.prompt.empty()) << "missing " << fixture_dir(c.fixture) << "/reference.json";
  Result<LoadedModel> loaded = load_on_torch(fixture_dir(c.fixture), c.dtype);
  ASSERT_TRUE(loaded.is_ok()) << loaded.error().to_string();
  expect_transformers_parity(*loaded->model, ref);
}

INSTANTIATE_TEST_SUITE_P(
    Transformers, TorchParity,
    testing::Values(Case{"gpt2", WeightDType::Keep}, Case{"gpt2_f16", WeightDType::Keep},
                    Case{"llama_gqa", WeightDType::Keep}, Case{"llama_sharded", WeightDType::Keep},
                    Case{"llama_bf16", WeightDType::Keep}, Case{"llama_f16", WeightDType::Keep},
                    Case{"qwen2", WeightDType::Keep}, Case{"llama3_rope", WeightDType::Keep},
                    Case{"mistral", WeightDType::Keep}, Case{"llama_linear_rope", WeightDType::Keep},
                    Case{"mistral_window", WeightDType::Keep}, Case{"qwen2_window", WeightDType::Keep},
                    Case{"qwen3", WeightDType::Keep}, Case{"gemma", WeightDType::Keep}, Case{"gemma2", WeightDType::Keep},
                    Case{"gemma3", WeightDType::Keep}, Case{"phi3", WeightDType::Keep},
                    Case{"phi4_mini", WeightDType::Keep}),
    [](const testing::TestParamInfo<Case>& info) { return std::string(info.param.fixture); });

// Blocks on the CPU: held as Q8_0 / Q4_0 blocks (quantized while loading) and
// widened per product in f32, so transformers on gguf-py's blocks of the same
// weights is matched as closely as f32 weights are (no 8-bit activations here).
TEST(TorchBackend, QuantizedWeightsMatchTransformersOnTheSameBlocks) { expect_quantized_parity(load_on_torch, 2e-4f); }

// The trained fixtures (make_trained_fixtures.py: peaked next-token
// distributions, as a real model's) held as Q8_0 blocks: the 32 greedy ids of
// transformers in f32, exactly (tests/model/trained_quantized_test.cpp has
// the portable backend's check).
TEST(TorchBackend, Q8_0GreedyIdsOnTrainedFixturesEqualTransformersF32) {
  for (const char* fixture : {"trained_gpt2", "trained_llama_gqa", "trained_qwen2", "trained_mistral_window"}) {
    SCOPED_TRACE(fixture);
    const Reference ref = read_reference(fixture);
    ASSERT_EQ(ref.greedy.size(), 32u) << "missing " << fixture_dir(fixture) << "/reference.json";
    Result<LoadedModel> loaded = load_on_torch(fixture_dir(fixture), WeightDType::Q8_0);
    ASSERT_TRUE(loaded.is_ok()) << loaded.error().to_string();
    size_t blocks = 0;
    for (const ManifestEntry& e : loaded->model->manifest()) blocks += e.dtype == DType::Q8_0;
    EXPECT_GE(blocks, 8u);
    EXPECT_EQ(greedy_continuation(*loaded->model, ref), ref.greedy);
  }
}

TEST(TorchBackend, CudaIsRefusedWithAReasonWhereItIsUnavailable) {
  if (torch_cuda_available()) GTEST_SKIP() << "CUDA is available here (tests/torch/cuda_test.cpp covers it)";
  Result<std::unique_ptr<Backend>> backend = make_torch_backend(TorchDevice{true, 0});
  ASSERT_FALSE(backend.is_ok());
  // Unsupported: a build without the CUDA path; Device: no CUDA LibTorch or GPU.
  EXPECT_TRUE(backend.error().kind == ErrorKind::Unsupported || backend.error().kind == ErrorKind::Device)
      << backend.error().to_string();
  EXPECT_FALSE(torch_cuda_unavailable_reason().empty());
  EXPECT_NE(backend.error().message.find("CUDA"), std::string::npos) << backend.error().to_string();
}

}  // namespace
}  // namespace ws::test
