// ws::LanguageModel, the library's facade, through its public header only:
// on the transformers-written GPT-2 fixture it gives transformers' greedy ids
// and text, streams pieces that add up to that text, and every error a
// caller can cause comes back as its typed kind.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "weightstream/weightstream.h"

namespace {

std::string fixture(const std::string& name) { return std::string(WS_FIXTURES_DIR) + "/models/" + name; }

nlohmann::json reference(const std::string& name) {
  std::ifstream file(fixture(name) + "/reference.json");
  std::stringstream text;
  text << file.rdbuf();
  return nlohmann::json::parse(text.str(), nullptr, false);
}

std::vector<int32_t> ids_of(const nlohmann::json& list) { return list.get<std::vector<int32_t>>(); }

std::string describe(const ws::Error& error) { return error.to_string(); }

TEST(LanguageModel, TextPromptMatchesTransformers) {
  const nlohmann::json ref = reference("gpt2");
  ASSERT_FALSE(ref.is_discarded());
  uint64_t progress_done = 0, progress_total = 0;
  ws::ModelOptions model_options;
  model_options.threads = 2;
  model_options.on_progress = [&](uint64_t done, uint64_t total) {
    progress_done = done;
    progress_total = total;
  };
  ws::Result<ws::LanguageModel> model = ws::LanguageModel::load(fixture("gpt2"), model_options);
  ASSERT_TRUE(model) << describe(model.error());
  EXPECT_EQ(model->model_type(), "gpt2");
  EXPECT_GT(model->load_stats().bound_bytes, 0u);
  EXPECT_GT(progress_total, 0u);
  EXPECT_EQ(progress_done, progress_total);
  EXPECT_TRUE(model->has_tokenizer());
  EXPECT_FALSE(model->has_chat_template());

  std::string streamed;
  size_t calls = 0;
  ws::GenerationOptions options;
  options.max_new_tokens = 32;
  ws::Result<ws::Generation> out =
      model->generate(ref["text_prompt"].get<std::string>(), options, [&](const std::string& piece) {
        streamed += piece;
        ++calls;
        return true;
      });
  ASSERT_TRUE(out) << describe(out.error());
  EXPECT_EQ(out->prompt_ids, ids_of(ref["text_prompt_ids"]));
  EXPECT_EQ(out->ids, ids_of(ref["text_greedy"]));
  EXPECT_EQ(out->text, ref["text_output"].get<std::string>());
  EXPECT_EQ(streamed, out->text);
  EXPECT_GE(calls, out->ids.size());
}

TEST(LanguageModel, IdPromptMatchesTransformersAndTokenizerRoundTrips) {
  const nlohmann::json ref = reference("gpt2");
  ws::Result<ws::LanguageModel> model = ws::LanguageModel::load(fixture("gpt2"));
  ASSERT_TRUE(model) << describe(model.error());
  ws::Result<ws::Generation> out = model->generate_from_ids(ids_of(ref["prompt"]));
  ASSERT_TRUE(out) << describe(out.error());
  EXPECT_EQ(out->ids, ids_of(ref["greedy"]));

  ws::Result<std::vector<int32_t>> ids = model->tokenize(ref["text_prompt"].get<std::string>());
  ASSERT_TRUE(ids);
  EXPECT_EQ(*ids, ids_of(ref["text_prompt_ids"]));
  ws::Result<std::string> text = model->detokenize(*ids);
  ASSERT_TRUE(text);
  EXPECT_EQ(*text, ref["text_prompt"].get<std::string>());
}

TEST(LanguageModel, MappedWeightsMatchTransformers) {
  const nlohmann::json ref = reference("gpt2");
  ws::ModelOptions options;
  options.map_weights = true;
  ws::Result<ws::LanguageModel> model = ws::LanguageModel::load(fixture("gpt2"), options);
  ASSERT_TRUE(model) << describe(model.error());
  ws::Result<ws::Generation> out = model->generate_from_ids(ids_of(ref["prompt"]));
  ASSERT_TRUE(out) << describe(out.error());
  EXPECT_EQ(out->ids, ids_of(ref["greedy"]));
}

TEST(LanguageModel, CallbackStopsGeneration) {
  ws::Result<ws::LanguageModel> model = ws::LanguageModel::load(fixture("gpt2"));
  ASSERT_TRUE(model) << describe(model.error());
  size_t calls = 0;
  ws::Result<ws::Generation> out = model->generate("Hello world", {}, [&](const std::string&) { return ++calls < 3; });
  ASSERT_TRUE(out) << describe(out.error());
  EXPECT_EQ(out->ids.size(), 3u);
}

TEST(LanguageModel, WithoutTokenizerIdsStillWork) {
  const nlohmann::json ref = reference("llama_gqa");
  ws::Result<ws::LanguageModel> model = ws::LanguageModel::load(fixture("llama_gqa"));
  ASSERT_TRUE(model) << describe(model.error());
  EXPECT_FALSE(model->has_tokenizer());
  ws::Result<ws::Generation> out = model->generate_from_ids(ids_of(ref["prompt"]));
  ASSERT_TRUE(out) << describe(out.error());
  EXPECT_EQ(out->ids, ids_of(ref["greedy"]));
  EXPECT_EQ(out->text.substr(0, out->text.find(' ')), std::to_string(out->ids[0]));  // ids in decimal

  ws::Result<std::vector<int32_t>> ids = model->tokenize("hello");
  ASSERT_FALSE(ids);
  EXPECT_EQ(ids.error().kind, ws::ErrorKind::NotFound) << describe(ids.error());
  ws::Result<ws::Generation> text = model->generate("hello");
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().kind, ws::ErrorKind::NotFound) << describe(text.error());
}

// ---- errors a caller can cause ----

ws::ErrorKind load_error(const std::string& location, const ws::ModelOptions& options = {}) {
  ws::Result<ws::LanguageModel> model = ws::LanguageModel::load(location, options);
  EXPECT_FALSE(model) << location << " loaded";
  return model ? ws::ErrorKind::Cancelled : model.error().kind;  // Cancelled: never returned by load
}

TEST(LanguageModelErrors, MissingPathIsNotFound) {
  EXPECT_EQ(load_error(fixture("does_not_exist")), ws::ErrorKind::NotFound);
  EXPECT_EQ(load_error(fixture("does_not_exist.gguf")), ws::ErrorKind::NotFound);
}

// The options are enums; text meets them in the parse functions (core/choices.h).
TEST(LanguageModelErrors, BadSpellingsAreInvalidArgument) {
  EXPECT_EQ(ws::parse_weight_dtype("f8").error().kind, ws::ErrorKind::InvalidArgument);
  EXPECT_EQ(*ws::parse_weight_dtype("q4_k"), ws::WeightDType::Q4_K);
  EXPECT_EQ(ws::parse_backend_kind("tpu").error().kind, ws::ErrorKind::InvalidArgument);
  EXPECT_EQ(ws::parse_compute_device("gpu").error().kind, ws::ErrorKind::InvalidArgument);
}

// The HTTP options reach the transport: checked before any request.
TEST(LanguageModelErrors, BadHttpOptionsAreInvalidArgument) {
  ws::ModelOptions header;
  header.http.headers = {"Authorization: Bearer x\r\nX-Injected: 1"};
  EXPECT_EQ(load_error("http://127.0.0.1:1/model/", header), ws::ErrorKind::InvalidArgument);
  ws::ModelOptions bundle;
  bundle.http.ca_bundle = fixture("does_not_exist.pem");
  EXPECT_EQ(load_error("https://127.0.0.1:1/model/", bundle), ws::ErrorKind::InvalidArgument);
  ws::ModelOptions deadline;  // a refused connection stays an Http error with a deadline set
  deadline.http.deadline_s = 30;
  EXPECT_EQ(load_error("http://127.0.0.1:1/model/", deadline), ws::ErrorKind::Http);
}

TEST(LanguageModelErrors, BadBackendOptionsAreInvalidArgument) {
  ws::ModelOptions device;
  device.device = ws::ComputeDevice{ws::DeviceKind::Cuda, 0};  // only the torch backend takes a device
  EXPECT_EQ(load_error(fixture("gpt2"), device), ws::ErrorKind::InvalidArgument);
  ws::ModelOptions threads;
  threads.threads = -1;
  EXPECT_EQ(load_error(fixture("gpt2"), threads), ws::ErrorKind::InvalidArgument);
}

TEST(LanguageModelErrors, TorchWithoutLibTorchIsUnsupported) {
  const std::vector<std::string> backends = ws::available_backends();
  ASSERT_FALSE(backends.empty());
  EXPECT_EQ(backends[0], "portable");
  if (backends.size() > 1) GTEST_SKIP() << "this build has the torch backend";
  ws::ModelOptions options;
  options.backend = ws::BackendKind::Torch;
  EXPECT_EQ(load_error(fixture("gpt2"), options), ws::ErrorKind::Unsupported);
}

TEST(LanguageModelErrors, BadGenerationRequestsAreTyped) {
  ws::Result<ws::LanguageModel> model = ws::LanguageModel::load(fixture("gpt2"));
  ASSERT_TRUE(model) << describe(model.error());
  auto kind = [](const ws::Result<ws::Generation>& out) {
    EXPECT_FALSE(out);
    return out ? ws::ErrorKind::Cancelled : out.error().kind;
  };
  ws::GenerationOptions chat;
  chat.chat = true;
  EXPECT_EQ(kind(model->generate("hi", chat)), ws::ErrorKind::Unsupported);  // no chat template
  EXPECT_EQ(kind(model->generate_from_ids({1, 2}, chat)), ws::ErrorKind::InvalidArgument);
  ws::GenerationOptions system;
  system.system = "You are terse.";
  EXPECT_EQ(kind(model->generate("hi", system)), ws::ErrorKind::InvalidArgument);  // system needs chat
  ws::GenerationOptions temperature;
  temperature.temperature = -1;
  EXPECT_EQ(kind(model->generate("hi", temperature)), ws::ErrorKind::InvalidArgument);
  EXPECT_EQ(kind(model->generate_from_ids({999999})), ws::ErrorKind::InvalidArgument);  // id >= vocab
  EXPECT_EQ(kind(model->generate_from_ids({})), ws::ErrorKind::InvalidArgument);
  EXPECT_EQ(kind(model->generate("")), ws::ErrorKind::InvalidArgument);  // encodes to no tokens
}

}  // namespace
