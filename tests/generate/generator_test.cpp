// The pull-based Generator on a real (tiny, transformers-written) model: the
// same ids as ws::generate, text pieces that add up to the tokenizer's decode,
// no text for an EOS id, stop() and the context limit.
#include <gtest/gtest.h>

#include <string>

#include "generate/generator.h"
#include "model_fixture.h"

namespace ws::test {
namespace {

// A byte-fallback vocabulary as large as the fixture's (300 ids): <unk>, the
// 256 byte tokens <0x00>..<0xFF>, then words, so any id the model picks
// decodes, and multi-byte characters arrive split over several ids.
Tokenizer byte_fallback_tokenizer(size_t vocab) {
  std::string entries = R"("<unk>": 0)";
  char name[16];
  for (int b = 0; b < 256; ++b) {
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    entries += ", \"" + std::string(name) + "\": " + std::to_string(b + 1);
  }
  for (size_t id = 257; id < vocab; ++id) entries += ", \"w" + std::to_string(id) + "\": " + std::to_string(id);
  const std::string json = R"({"added_tokens": [{"id": 0, "content": "<unk>", "special": true, "normalized": false}],
    "normalizer": null, "pre_tokenizer": null, "post_processor": null,
    "decoder": {"type": "Sequence", "decoders": [{"type": "ByteFallback"}, {"type": "Fuse"}]},
    "model": {"type": "BPE", "unk_token": "<unk>", "byte_fallback": true, "vocab": {)" +
                           entries + R"(}, "merges": []}})";
  Result<Tokenizer> tok = Tokenizer::from_json(json);
  EXPECT_TRUE(tok.is_ok()) << tok.error().to_string();
  return std::move(tok).value();
}

class GeneratorSteps : public testing::Test {
 protected:
  void SetUp() override {
    ref_ = read_reference("llama_gqa");
    ASSERT_FALSE(ref_.prompt.empty());
    Result<LoadedModel> loaded = load_model(fixture_dir("llama_gqa"), WeightDType::Keep, {2, false});
    ASSERT_TRUE(loaded.is_ok()) << loaded.error().to_string();
    loaded_ = std::move(loaded).value();
  }
  // Steps to the end; returns the ids and appends every piece to `text`.
  std::vector<int32_t> run(Generator& g, std::string* text) {
    std::vector<int32_t> ids;
    for (;;) {
      Result<std::optional<int32_t>> id = g.step();
      EXPECT_TRUE(id.is_ok()) << id.error().to_string();
      if (text) *text += g.piece();
      if (!id.is_ok() || !*id) return ids;
      ids.push_back(**id);
    }
  }
  Reference ref_;
  LoadedModel loaded_;
};

TEST_F(GeneratorSteps, StepsGiveTheGreedyIdsOfTransformers) {
  GenerateOptions options;
  options.sampling.temperature = 0;
  options.max_new_tokens = ref_.greedy.size();
  Result<Generator> g = Generator::start(*loaded_.model, ref_.prompt, options);
  ASSERT_TRUE(g.is_ok()) << g.error().to_string();
  EXPECT_EQ(run(*g, nullptr), ref_.greedy);
  EXPECT_EQ(g->result().ids, ref_.greedy);
  EXPECT_EQ(g->result().prefill_tokens, ref_.prompt.size());
  EXPECT_EQ(g->result().decode_tokens, ref_.greedy.size() - 1);
  EXPECT_TRUE(g->finished());
}

TEST_F(GeneratorSteps, PiecesAddUpToTheDecodeAndAnEosAddsNoText) {
  const Tokenizer tok = byte_fallback_tokenizer(loaded_.model->config().vocab_size);
  GenerateOptions options;
  options.sampling = {0.9f, 0, 1.0f, 1.0f, 7};  // sampled: a spread of ids, byte tokens among them
  options.max_new_tokens = 40;
  Result<Generator> g = Generator::start(*loaded_.model, ref_.prompt, options, &tok);
  ASSERT_TRUE(g.is_ok()) << g.error().to_string();
  std::string text;
  const std::vector<int32_t> ids = run(*g, &text);
  ASSERT_EQ(ids.size(), 40u);
  EXPECT_EQ(text, tok.decode(ids));

  // The same run with its 10th id as EOS: it stops there, returns the id, and
  // the text is the decode of the ids before it.
  options.eos_token_ids = {ids[9]};
  const size_t first = std::find(ids.begin(), ids.end(), ids[9]) - ids.begin();
  Result<Generator> h = Generator::start(*loaded_.model, ref_.prompt, options, &tok);
  ASSERT_TRUE(h.is_ok());
  std::string stopped_text;
  const std::vector<int32_t> stopped = run(*h, &stopped_text);
  EXPECT_EQ(stopped, std::vector<int32_t>(ids.begin(), ids.begin() + first + 1));
  EXPECT_TRUE(h->result().stopped_at_eos);
  EXPECT_EQ(stopped_text, tok.decode(std::vector<int32_t>(ids.begin(), ids.begin() + first)));
}

TEST_F(GeneratorSteps, StopEndsAtTheNextStep) {
  GenerateOptions options;
  options.sampling.temperature = 0;
  Result<Generator> g = Generator::start(*loaded_.model, ref_.prompt, options);
  ASSERT_TRUE(g.is_ok());
  ASSERT_TRUE(g->step().is_ok());
  g->stop();
  Result<std::optional<int32_t>> next = g->step();
  ASSERT_TRUE(next.is_ok());
  EXPECT_FALSE(next->has_value());
  EXPECT_EQ(g->result().ids.size(), 1u);
}

TEST_F(GeneratorSteps, TheContextLimitEndsGeneration) {
  GenerateOptions options;
  options.sampling.temperature = 0;
  options.max_new_tokens = 100;
  options.max_context = ref_.prompt.size() + 3;
  Result<Generator> g = Generator::start(*loaded_.model, ref_.prompt, options);
  ASSERT_TRUE(g.is_ok());
  // Positions prompt..prompt+2 are written by the prefill and two decode steps;
  // the 4th token is sampled from the last of them.
  EXPECT_EQ(run(*g, nullptr).size(), 4u);
  options.max_context = ref_.prompt.size() - 1;
  Result<Generator> too_long = Generator::start(*loaded_.model, ref_.prompt, options);
  ASSERT_FALSE(too_long.is_ok());
  EXPECT_EQ(too_long.error().kind, ErrorKind::InvalidArgument);
}

TEST(GenerationEos, MergesConfigGenerationConfigAndTokenizerIds) {
  ModelConfig config;
  config.eos_token_ids = {2, 5};
  EXPECT_EQ(model_eos_ids(config, R"({"eos_token_id": [5, 7, 2, 9]})", nullptr), (std::vector<int32_t>{2, 5, 7, 9}));
  EXPECT_EQ(model_eos_ids(config, R"({"eos_token_id": 11})", nullptr), (std::vector<int32_t>{2, 5, 11}));
  // Absent, malformed or out-of-range settings cost only their own ids.
  EXPECT_EQ(model_eos_ids(config, "", nullptr), (std::vector<int32_t>{2, 5}));
  EXPECT_EQ(model_eos_ids(config, "{not json", nullptr), (std::vector<int32_t>{2, 5}));
  EXPECT_EQ(model_eos_ids(config, R"({"eos_token_id": [-1, 4294967296, "x", 3]})", nullptr),
            (std::vector<int32_t>{2, 5, 3}));
}

}  // namespace
}  // namespace ws::test
