// The shared load sequence (src/open/load_sequence.h) on the transformers-
// written gpt2 fixture, fed from memory as a transport would: admission with
// its budget and context, the plan, the executor, and finish()'s checks.
#include <gtest/gtest.h>

#include <cstring>

#include "format/header_builder.h"
#include "load/in_memory.h"
#include "model/admission.h"
#include "native/test_support.h"
#include "open/load_sequence.h"
#include "open/settings.h"

namespace ws {
namespace {

const std::string kGpt2 = std::string(WS_FIXTURES_DIR) + "/models/gpt2/";

struct Gpt2 {
  test::InMemoryCheckpoint files;
  ModelConfig config;
  std::unique_ptr<Backend> backend;
};

Gpt2 gpt2() {
  Gpt2 g;
  g.files.add_shard(test::read_file(kGpt2 + "model.safetensors"), "model.safetensors");
  OpenedModel opened;
  opened.files["config.json"] = test::read_file(kGpt2 + "config.json");
  Result<ModelSettings> settings = read_model_settings(opened, "gpt2");
  EXPECT_TRUE(settings.is_ok()) << kGpt2 << " (ctest fixtures.models writes it)";
  if (settings) g.config = settings->config;
  g.backend = make_portable_backend().value();
  return g;
}

TEST(LoadSequence, LoadsWhatTheTransportFeedsAndFinishesOnce) {
  Gpt2 g = gpt2();
  Result<std::unique_ptr<Model>> model =
      build_admitted_model(g.config, *g.backend, WeightDType::Keep, g.files.checkpoint, ModelLoadOptions{});
  ASSERT_TRUE(model.is_ok()) << model.error().to_string();
  Result<std::unique_ptr<ModelLoad>> load = ModelLoad::start(**model, g.files.checkpoint, *g.backend, 1);
  ASSERT_TRUE(load.is_ok()) << load.error().to_string();
  ASSERT_NE((*load)->executor(), nullptr);
  EXPECT_GT((*load)->plan().bytes_to_bind, 0u);
  ASSERT_TRUE(run_load(*(*load)->executor(), 1, g.files.reader()).is_ok());
  ASSERT_TRUE((*load)->finish().is_ok());
  EXPECT_EQ((*load)->executor(), nullptr);  // the staging buffer is gone
  EXPECT_EQ((*load)->finish().error().kind, ErrorKind::InvalidArgument);
}

TEST(LoadSequence, AStreamThatStopsShortIsTruncatedNamingTheFile) {
  Gpt2 g = gpt2();
  Result<std::unique_ptr<Model>> model =
      build_admitted_model(g.config, *g.backend, WeightDType::Keep, g.files.checkpoint, ModelLoadOptions{});
  ASSERT_TRUE(model.is_ok());
  Result<std::unique_ptr<ModelLoad>> load = ModelLoad::start(**model, g.files.checkpoint, *g.backend, 1);
  ASSERT_TRUE(load.is_ok());
  Status finished = (*load)->finish();  // no byte fed
  ASSERT_FALSE(finished.is_ok());
  EXPECT_EQ(finished.error().kind, ErrorKind::Truncated);
  EXPECT_NE(finished.error().message.find("model.safetensors"), std::string::npos) << finished.error().message;
}

// Admission counts the KV cache for the context asked: a budget between the
// need at a short context and at the default one admits only the short one,
// and the refusal names the budget's source.
TEST(LoadSequence, AdmissionUsesTheBudgetAndTheContext) {
  Gpt2 g = gpt2();
  AdmissionOptions short_context;
  short_context.context = 4;
  Result<MemoryNeed> small = estimate_memory(g.config, *g.backend, WeightDType::Keep, &g.files.checkpoint, short_context);
  Result<MemoryNeed> full = estimate_memory(g.config, *g.backend, WeightDType::Keep, &g.files.checkpoint);
  ASSERT_TRUE(small.is_ok() && full.is_ok());
  ASSERT_LT(small->total(), full->total());
  ModelLoadOptions options;
  options.budget_bytes = small->total();
  options.budget_source = "the test's budget";
  Result<std::unique_ptr<Model>> refused =
      build_admitted_model(g.config, *g.backend, WeightDType::Keep, g.files.checkpoint, options);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::OutOfBudget);
  EXPECT_NE(refused.error().message.find("the test's budget"), std::string::npos) << refused.error().message;
  options.context = 4;
  EXPECT_TRUE(build_admitted_model(g.config, *g.backend, WeightDType::Keep, g.files.checkpoint, options).is_ok());
}

}  // namespace
}  // namespace ws
