// The torch backend on a CUDA device (preset native-cuda on a GPU machine;
// bench/gpu.sh): the meta skeleton materialised on the GPU and filled through
// the pinned upload ring holds the portable load's bytes; src/model's forward
// on GPU-resident weights, activations and KV cache matches transformers;
// the CLI's --device cuda gives the same hashes and greedy ids. Every test
// skips, saying why, where CUDA is unavailable (fails, under WS_REQUIRE_CUDA=1).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <numeric>

#include "../model/model_fixture.h"
#include "../model/parity_check.h"
#include "native/test_support.h"
#include "require.h"
#include "torch/ws_torch.h"
#include "torch_cases.h"

namespace ws::test {
namespace {

// A GPU run (bench/gpu.sh sets WS_REQUIRE_CUDA=1) fails instead of skipping.
#define SKIP_WITHOUT_CUDA()                                                                             \
  do {                                                                                                  \
    if (!torch_cuda_available()) {                                                                      \
      WS_SKIP_UNLESS_REQUIRED("WS_REQUIRE_CUDA", "no CUDA: " + std::string(torch_cuda_unavailable_reason())); \
    }                                                                                                   \
  } while (0)

const TorchDevice kCuda{true, 0};

class TorchCudaSkeleton : public testing::TestWithParam<Case> {};

TEST_P(TorchCudaSkeleton, GpuTensorsHoldThePortableBytes) {
  SKIP_WITHOUT_CUDA();
  const Case& c = GetParam();
  Result<LoadedModel> portable = load_model(fixture_dir(c.fixture), c.dtype);
  ASSERT_TRUE(portable.is_ok()) << portable.error().to_string();
  Result<std::unique_ptr<ModelSource>> source = ModelSource::open(fixture_dir(c.fixture));
  ASSERT_TRUE(source.is_ok());
  const Checkpoint& checkpoint = (*source)->checkpoint();
  Result<std::unique_ptr<TorchSkeleton>> skeleton = declare_skeleton(portable->model->config(), c.dtype, checkpoint);
  ASSERT_TRUE(skeleton.is_ok()) << skeleton.error().to_string();
  PlanOptions options;
  options.staging_bytes = 4096;  // many windows: the pinned ring wraps often
  ASSERT_TRUE((*skeleton)->materialize(kCuda, options.staging_bytes).is_ok());
  EXPECT_GT((*skeleton)->pinned_bytes(), 0u);
  Result<LoadPlan> plan = plan_load(checkpoint, (*skeleton)->manifest(), options);
  ASSERT_TRUE(plan.is_ok()) << plan.error().to_string();
  auto executor = LoadExecutor::create(*plan, (*skeleton)->manifest()).value();
  executor->set_staging((*skeleton)->staging());
  ASSERT_TRUE((*source)->load(*executor).is_ok());
  ASSERT_TRUE((*skeleton)->finish_load().is_ok());
  EXPECT_EQ(executor->staging_allocated(), 0u);  // every window went through pinned memory

  const std::vector<ManifestEntry>& expected = portable->model->manifest();
  ASSERT_EQ(expected.size(), (*skeleton)->size());
  for (size_t i = 0; i < expected.size(); ++i) {
    const HostBuffer* buffer = static_cast<const HostBuffer*>(expected[i].destination);
    EXPECT_EQ((*skeleton)->host_bytes(i), nullptr);  // on the device
    const std::vector<uint8_t> got = (*skeleton)->copy_to_host(i);
    ASSERT_EQ(got.size(), buffer->bytes()) << expected[i].name;
    EXPECT_EQ(std::memcmp(got.data(), buffer->data(), got.size()), 0) << expected[i].name;
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TorchCudaSkeleton,
                         testing::Values(Case{"gpt2", WeightDType::Keep}, Case{"llama_sharded", WeightDType::Keep},
                                         Case{"llama_sharded", WeightDType::BF16}, Case{"llama_bf16", WeightDType::F32},
                                         Case{"gpt2_f16", WeightDType::F32}),
                         case_name);

Result<LoadedModel> load_on_cuda(const std::string& dir, WeightDType dtype) {
  WS_ASSIGN_OR_RETURN(std::unique_ptr<Backend> backend, make_torch_backend(kCuda));
  return load_model_on(std::move(backend), dir, dtype);
}

// f32 weights on the GPU (narrow checkpoints widened by the upload kernels),
// computed in f32 as the reference was: the generation issue's tolerance.
class TorchCudaParity : public testing::TestWithParam<Case> {};

TEST_P(TorchCudaParity, LastLogitsAndGreedyContinuationMatchTransformers) {
  SKIP_WITHOUT_CUDA();
  const Case& c = GetParam();
  const Reference ref = read_reference(c.fixture);
  ASSERT_FALSE(ref.prompt.empty()) << "missing " << fixture_dir(c.fixture) << "/reference.json";
  Result<LoadedModel> loaded = load_on_cuda(fixture_dir(c.fixture), c.dtype);
  ASSERT_TRUE(loaded.is_ok()) << loaded.error().to_string();
  EXPECT_FALSE(loaded->backend->computes_on_host());
  expect_transformers_parity(*loaded->model, ref);
}

INSTANTIATE_TEST_SUITE_P(
    Transformers, TorchCudaParity,
    testing::Values(Case{"gpt2", WeightDType::F32}, Case{"gpt2_f16", WeightDType::F32},
                    Case{"llama_gqa", WeightDType::F32}, Case{"llama_sharded", WeightDType::F32},
                    Case{"llama_bf16", WeightDType::F32}, Case{"llama_f16", WeightDType::F32},
                    Case{"qwen2", WeightDType::F32}, Case{"llama3_rope", WeightDType::F32},
                    Case{"mistral", WeightDType::F32}, Case{"mistral_window", WeightDType::F32},
                    Case{"qwen2_window", WeightDType::F32}, Case{"qwen3", WeightDType::F32},
                    Case{"gemma", WeightDType::F32}, Case{"gemma2", WeightDType::F32}, Case{"gemma3", WeightDType::F32},
                    Case{"phi3", WeightDType::F32}, Case{"phi4_mini", WeightDType::F32}),
    case_name);

// bf16 weights kept as stored are multiplied in bf16 (as transformers runs a
// bf16 model): close to the f32 result, not equal.
TEST(TorchCuda, NarrowWeightsComputeCloseToF32) {
  SKIP_WITHOUT_CUDA();
  const Reference ref = read_reference("llama_bf16");
  ASSERT_FALSE(ref.prompt.empty());
  std::vector<std::vector<float>> logits;
  for (WeightDType dtype : {WeightDType::Keep, WeightDType::F32}) {
    Result<LoadedModel> loaded = load_on_cuda(fixture_dir("llama_bf16"), dtype);
    ASSERT_TRUE(loaded.is_ok()) << loaded.error().to_string();
    Result<KVCache> cache = loaded->model->make_cache(64);
    ASSERT_TRUE(cache.is_ok());
    std::vector<int32_t> positions(ref.prompt.size());
    std::iota(positions.begin(), positions.end(), 0);
    logits.emplace_back(loaded->model->config().vocab_size);
    ASSERT_TRUE(loaded->model->forward(ref.prompt.data(), positions.data(), ref.prompt.size(), *cache,
                                       logits.back().data()).is_ok());
  }
  float scale = 0, diff = 0;
  for (size_t i = 0; i < logits[0].size(); ++i) {
    ASSERT_TRUE(std::isfinite(logits[0][i]));
    scale = std::max(scale, std::fabs(logits[1][i]));
    diff = std::max(diff, std::fabs(logits[0][i] - logits[1][i]));
  }
  EXPECT_GT(diff, 0.0f);  // it really ran in bf16
  EXPECT_LE(diff, 0.05f * scale + 1e-3f);
}

// Quantized weights stay blocks on the GPU (quantized on the host while
// streaming, uploaded as blocks) and are widened by ATen ops per product: the
// CPU test of the same name (parity_test.cpp) runs the same ops.
TEST(TorchCuda, QuantizedWeightsMatchTransformersOnTheSameBlocks) {
  SKIP_WITHOUT_CUDA();
  expect_quantized_parity(load_on_cuda, 1e-3f);
}

TEST(TorchCudaCli, LoadGivesThePortableHashes) {
  SKIP_WITHOUT_CUDA();
  // Blocks are hashed in GGUF layout: the GPU holds the bytes the CPU quantizer wrote.
  for (const char* dtype : {"keep", "bf16", "q8_0", "q4_k"}) {
    const std::string model = fixture_dir("llama_sharded") + " --hash --json --dtype " + dtype;
    const nlohmann::json portable = run_json("load " + model);
    const nlohmann::json cuda = run_json("load " + model + " --backend torch --device cuda --staging-mib 0.01");
    EXPECT_EQ(cuda["tensors"], portable["tensors"]) << dtype;
    EXPECT_EQ(cuda["bound_bytes"], portable["bound_bytes"]);
    EXPECT_GT(cuda["staging_bytes"].get<uint64_t>(), 0u);  // the pinned ring
  }
}

TEST(TorchCudaCli, GenerateGivesTransformersGreedyIds) {
  SKIP_WITHOUT_CUDA();
  const Reference ref = read_reference("llama_gqa");
  ASSERT_FALSE(ref.prompt.empty());
  const nlohmann::json out = run_json(greedy_generate_args(fixture_dir("llama_gqa"), ref.prompt, ref.greedy.size()) +
                                      " --backend torch --device cuda --dtype f32 --json");
  EXPECT_EQ(out["ids"].get<std::vector<int32_t>>(), ref.greedy);
  EXPECT_NE(out["backend"].get<std::string>().find("cuda"), std::string::npos);
}

TEST(TorchCuda, AMissingDeviceIsATypedError) {
  SKIP_WITHOUT_CUDA();
  Result<std::unique_ptr<Backend>> backend = make_torch_backend(TorchDevice{true, 99});
  ASSERT_FALSE(backend.is_ok());
  EXPECT_EQ(backend.error().kind, ErrorKind::Device) << backend.error().to_string();
}

}  // namespace
}  // namespace ws::test
