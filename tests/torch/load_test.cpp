// A load into torch-allocated storage (meta skeleton -> at::empty -> pread in
// place) gives byte for byte what the portable backend's host buffers hold.
#include <gtest/gtest.h>

#include <cstring>

#include "../model/model_fixture.h"
#include "torch/ws_torch.h"
#include "torch_cases.h"

namespace ws::test {
namespace {

class TorchLoad : public testing::TestWithParam<Case> {};

TEST_P(TorchLoad, SameBytesAsThePortableBackend) {
  const Case& c = GetParam();
  Result<LoadedModel> portable = load_model(fixture_dir(c.fixture), c.dtype);
  ASSERT_TRUE(portable.is_ok()) << portable.error().to_string();

  // The same manifest, declared on a backend that allocates nothing.
  Result<std::unique_ptr<ModelSource>> source = ModelSource::open(fixture_dir(c.fixture));
  ASSERT_TRUE(source.is_ok());
  const Checkpoint& checkpoint = (*source)->checkpoint();
  Result<std::unique_ptr<TorchSkeleton>> skeleton = declare_skeleton(portable->model->config(), c.dtype, checkpoint);
  ASSERT_TRUE(skeleton.is_ok()) << skeleton.error().to_string();
  ASSERT_TRUE((*skeleton)->materialize(TorchDevice{}).is_ok());
  Result<LoadPlan> plan = plan_load(checkpoint, (*skeleton)->manifest());
  ASSERT_TRUE(plan.is_ok()) << plan.error().to_string();
  Result<std::unique_ptr<LoadExecutor>> executor = LoadExecutor::create(*plan, (*skeleton)->manifest());
  ASSERT_TRUE(executor.is_ok());
  ASSERT_TRUE((*source)->load(**executor).is_ok());

  const std::vector<ManifestEntry>& expected = portable->model->manifest();
  ASSERT_EQ(expected.size(), (*skeleton)->size());
  for (size_t i = 0; i < expected.size(); ++i) {
    const HostBuffer* buffer = static_cast<const HostBuffer*>(expected[i].destination);
    ASSERT_EQ(expected[i].name, (*skeleton)->manifest()[i].name);
    ASSERT_EQ(buffer->bytes(), (*skeleton)->bytes(i)) << expected[i].name;
    EXPECT_EQ(std::memcmp(buffer->data(), (*skeleton)->host_bytes(i), buffer->bytes()), 0) << expected[i].name;
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TorchLoad,
                         testing::Values(Case{"gpt2", WeightDType::Keep}, Case{"gpt2_no_prefix", WeightDType::Keep},
                                         Case{"llama_sharded", WeightDType::Keep},
                                         Case{"llama_bf16", WeightDType::Keep}, Case{"llama_bf16", WeightDType::F32},
                                         Case{"llama_f16", WeightDType::BF16}),
                         case_name);

}  // namespace
}  // namespace ws::test
