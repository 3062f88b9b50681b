// Greedy ids with quantized weights on TRAINED fixtures
// (make_trained_fixtures.py): tiny byte-level models of four families that
// have learnt a short English text, so that, like a real model, their
// next-token distributions are peaked (the fixture script fails unless every
// greedy step wins by at least 1 logit). On them the quality bar of issue 10
// is a real check: quantized to Q8_0 while loading (matrices in Q8_0 blocks,
// activations quantized to 8 bits per block in our kernels, as ggml's), the
// 32-token greedy continuation must equal transformers' f32 continuation
// exactly, with the SIMD kernels and with the scalar reference kernels, and
// from the GGUF that `weightstream convert --dtype q8_0` writes. The random
// fixtures cannot carry this check: see quantized_parity_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "model_fixture.h"
#include "native/test_support.h"
#include "parity_check.h"

namespace ws::test {
namespace {

const char* const kTrained[] = {"trained_gpt2", "trained_llama_gqa", "trained_qwen2", "trained_mistral_window"};

// How many leading ids agree.
size_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return n;
}

// The greedy ids of `fixture` held in `dtype`; every matrix must really be
// held in blocks (`blocks_out`: how many parameters are).
std::vector<int32_t> quantized_greedy(const std::string& fixture, WeightDType dtype, bool scalar,
                                      size_t* blocks_out = nullptr) {
  const Reference ref = read_reference(fixture);
  Result<LoadedModel> loaded = load_model(fixture_dir(fixture), dtype, {2, scalar});
  EXPECT_TRUE(loaded.is_ok()) << loaded.error().to_string();
  if (!loaded) return {};
  size_t blocks = 0, matrices = 0;
  for (const ManifestEntry& e : loaded->model->manifest()) {
    blocks += dtype_is_quantized(e.dtype);
    matrices += e.shape.size() == 2;
  }
  EXPECT_EQ(blocks, matrices) << "every matrix held in blocks";
  if (blocks_out) *blocks_out = blocks;
  return greedy_continuation(*loaded->model, ref);
}

// The fixtures themselves: our f32 forward matches transformers (logits
// within 1e-4, the same greedy ids), so what the quantized tests below measure
// is quantization alone.
TEST(TrainedFixtures, F32MatchesTransformers) {
  for (const char* fixture : kTrained) {
    SCOPED_TRACE(fixture);
    const Reference ref = read_reference(fixture);
    ASSERT_EQ(ref.greedy.size(), 32u) << "missing " << fixture_dir(fixture) << "/reference.json";
    Result<LoadedModel> loaded = load_model(fixture_dir(fixture), WeightDType::Keep, {2, false});
    ASSERT_TRUE(loaded.is_ok()) << loaded.error().to_string();
    expect_transformers_parity(*loaded->model, ref);
  }
}

TEST(TrainedQuantized, Q8_0GreedyIdsEqualTransformersF32WithSimdAndScalarKernels) {
  for (const char* fixture : kTrained) {
    const Reference ref = read_reference(fixture);
    ASSERT_EQ(ref.greedy.size(), 32u) << fixture;
    for (const bool scalar : {false, true}) {
      SCOPED_TRACE(std::string(fixture) + (scalar ? " scalar" : " simd"));
      size_t blocks = 0;
      EXPECT_EQ(quantized_greedy(fixture, WeightDType::Q8_0, scalar, &blocks), ref.greedy);
      EXPECT_GE(blocks, 8u);
    }
  }
}

// The 4-6 bit formats hold too on these fixtures (measured: 32 of 32 ids
// on every fixture and format; each step's margin is at least 1 logit), so
// they are asserted, and the agreement is printed. On the 64-wide fixtures
// the K-quants fall back (rows are not 256-blocks: q6_k -> Q8_0, q5_k ->
// Q5_1, q4_k -> Q5_0); trained_llama_gqa's rows are, so there its matrices
// are Q4_K / Q5_K / Q6_K blocks. The output head is Q6_K (or its fallback)
// below q8_0, as llama.cpp's mix holds it.
TEST(TrainedQuantized, LowerBitFormatsGiveTheSameGreedyIds) {
  for (const WeightDType dtype : {WeightDType::Q6_K, WeightDType::Q5_K, WeightDType::Q4_K, WeightDType::Q4_0}) {
    for (const char* fixture : kTrained) {
      SCOPED_TRACE(std::string(fixture) + " " + weight_dtype_name(dtype));
      const Reference ref = read_reference(fixture);
      const std::vector<int32_t> ids = quantized_greedy(fixture, dtype, false);
      std::printf("%s %s: %zu of %zu greedy ids equal transformers f32\n", fixture, weight_dtype_name(dtype),
                  common_prefix(ids, ref.greedy), ref.greedy.size());
      EXPECT_EQ(ids, ref.greedy);
    }
  }
}

// The GGUF route: `weightstream convert <fixture> out.gguf --dtype q8_0`, then
// `generate` from that file (its blocks kept as stored): the same ids. Not
// trained_gpt2: our GGUF reader does not take general.architecture "gpt2"
// (convert writes it; llama.cpp reads it). trained_mistral_window found that
// convert dropped the sliding window (llama.attention.sliding_window): the
// GGUF's continuation differed from the 3rd id on.
TEST(TrainedQuantized, Q8_0GgufWrittenByConvertGivesTheSameIds) {
  const std::string out_dir = std::string(WS_FIXTURES_DIR) + "/trained-gguf";
  std::filesystem::create_directories(out_dir);
  for (const char* fixture : {"trained_llama_gqa", "trained_qwen2", "trained_mistral_window"}) {
    SCOPED_TRACE(fixture);
    const Reference ref = read_reference(fixture);
    const std::string gguf = out_dir + "/" + fixture + ".q8_0.gguf";
    std::filesystem::remove(gguf);
    auto [convert_status, convert_out] =
        run_command(std::string(WS_CLI) + " convert " + fixture_dir(fixture) + " " + gguf + " --dtype q8_0 2>&1");
    ASSERT_EQ(convert_status, 0) << convert_out;
    std::ostringstream prompt;
    for (size_t i = 0; i < ref.prompt.size(); ++i) prompt << (i ? "," : "") << ref.prompt[i];
    auto [status, out] = run_command(std::string(WS_CLI) + " generate " + gguf + " --prompt-ids " + prompt.str() +
                                     " --max-new-tokens 32 --temperature 0 --threads 2 --json");
    ASSERT_EQ(status, 0) << out;
    const nlohmann::json j = nlohmann::json::parse(out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << out;
    EXPECT_EQ(j["ids"].get<std::vector<int32_t>>(), ref.greedy);
  }
}

}  // namespace
}  // namespace ws::test
