// The generation loop on a real (tiny, transformers-written) model.
#include <gtest/gtest.h>

#include "generate/generate.h"
#include "model_fixture.h"

namespace ws::test {
namespace {

class GenerateLoop : public testing::Test {
 protected:
  void SetUp() override {
    ref_ = read_reference("llama_gqa");
    ASSERT_FALSE(ref_.prompt.empty());
    Result<LoadedModel> loaded = load_model(fixture_dir("llama_gqa"), WeightDType::Keep, {2, false});
    ASSERT_TRUE(loaded.is_ok()) << loaded.error().to_string();
    loaded_ = std::move(loaded).value();
  }
  Reference ref_;
  LoadedModel loaded_;
};

TEST_F(GenerateLoop, StopsAfterEosAndIncludesIt) {
  GenerateOptions options;
  options.sampling.temperature = 0;
  options.max_new_tokens = 32;
  options.eos_token_ids = {ref_.greedy[3]};
  const size_t first = std::find(ref_.greedy.begin(), ref_.greedy.end(), ref_.greedy[3]) - ref_.greedy.begin();
  Result<GenerateResult> r = generate(*loaded_.model, ref_.prompt, options);
  ASSERT_TRUE(r.is_ok()) << r.error().to_string();
  EXPECT_TRUE(r->stopped_at_eos);
  EXPECT_EQ(r->ids, std::vector<int32_t>(ref_.greedy.begin(), ref_.greedy.begin() + first + 1));
}

TEST_F(GenerateLoop, CallbackCanStopAndSeesTokensInOrder) {
  GenerateOptions options;
  options.sampling.temperature = 0;
  std::vector<int32_t> seen;
  Result<GenerateResult> r = generate(*loaded_.model, ref_.prompt, options, [&](int32_t id) {
    seen.push_back(id);
    return seen.size() < 5;
  });
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(seen, std::vector<int32_t>(ref_.greedy.begin(), ref_.greedy.begin() + 5));
  EXPECT_EQ(r->ids, seen);
  EXPECT_FALSE(r->stopped_at_eos);
}

TEST_F(GenerateLoop, SeededSamplingRepeatsExactly) {
  GenerateOptions options;
  options.sampling = {0.8f, 40, 0.9f, 1.2f, 1234};
  options.max_new_tokens = 24;
  Result<GenerateResult> a = generate(*loaded_.model, ref_.prompt, options);
  Result<GenerateResult> b = generate(*loaded_.model, ref_.prompt, options);
  ASSERT_TRUE(a.is_ok() && b.is_ok());
  EXPECT_EQ(a->ids, b->ids);
  EXPECT_EQ(a->ids.size(), 24u);
  options.sampling.seed = 1235;
  Result<GenerateResult> c = generate(*loaded_.model, ref_.prompt, options);
  ASSERT_TRUE(c.is_ok());
  EXPECT_NE(a->ids, c->ids);
}

TEST_F(GenerateLoop, ContextLimitBoundsTheOutput) {
  GenerateOptions options;
  options.sampling.temperature = 0;
  options.max_new_tokens = 32;
  options.max_context = ref_.prompt.size() + 4;
  Result<GenerateResult> r = generate(*loaded_.model, ref_.prompt, options);
  ASSERT_TRUE(r.is_ok());
  // 4 more positions in the cache, and the last token is sampled without
  // being fed back.
  EXPECT_EQ(r->ids, std::vector<int32_t>(ref_.greedy.begin(), ref_.greedy.begin() + 5));
  options.max_context = ref_.prompt.size() - 1;
  EXPECT_EQ(generate(*loaded_.model, ref_.prompt, options).error().kind, ErrorKind::InvalidArgument);
  EXPECT_EQ(generate(*loaded_.model, {}, options).error().kind, ErrorKind::InvalidArgument);
}

}  // namespace
}  // namespace ws::test
