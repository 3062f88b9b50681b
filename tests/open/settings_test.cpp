// read_model_settings and render_model_chat (src/open/settings.cpp) on the
// transformers-written gpt2 fixture's files: config, tokenizer, EOS ids from
// config.json + generation_config.json, which chat template wins, and what a
// missing or unusable file means.
#include <gtest/gtest.h>


#include <nlohmann/json.hpp>

#include "open/settings.h"
#include "native/test_support.h"

namespace ws {
namespace {

const std::string kGpt2 = std::string(WS_FIXTURES_DIR) + "/models/gpt2/";

using test::read_file;

OpenedModel gpt2_files() {
  OpenedModel opened;
  for (const char* name : {"config.json", "tokenizer.json", "generation_config.json"}) {
    opened.files[name] = read_file(kGpt2 + name);
    EXPECT_FALSE(opened.files[name].empty()) << kGpt2 << name << " (ctest fixtures.models writes it)";
  }
  return opened;
}

bool contains(const std::vector<int32_t>& ids, int32_t id) { return std::find(ids.begin(), ids.end(), id) != ids.end(); }

TEST(ModelSettings, ConfigTokenizerAndEosIdsFromTheFiles) {
  const OpenedModel opened = gpt2_files();
  Result<ModelSettings> settings = read_model_settings(opened, "gpt2");
  ASSERT_TRUE(settings.is_ok()) << settings.error().message;
  EXPECT_EQ(settings->config.model_type, "gpt2");
  ASSERT_TRUE(settings->tokenizer.has_value());
  EXPECT_FALSE(settings->tokenizer_error.has_value());
  // The ids transformers' files name (read here with nlohmann, not our parser).
  const auto config = nlohmann::json::parse(opened.files.at("config.json"));
  EXPECT_TRUE(contains(settings->eos_token_ids, config["eos_token_id"].get<int32_t>()));
  EXPECT_TRUE(settings->chat_template.empty());
  Result<RenderedChat> chat = render_model_chat(*settings, nlohmann::ordered_json::array());
  ASSERT_FALSE(chat.is_ok());
  EXPECT_EQ(chat.error().kind, ErrorKind::Unsupported);
}

TEST(ModelSettings, GenerationConfigEosListIsMerged) {
  OpenedModel opened = gpt2_files();
  opened.files["generation_config.json"] = R"({"eos_token_id": [7, 11]})";
  Result<ModelSettings> settings = read_model_settings(opened, "gpt2");
  ASSERT_TRUE(settings.is_ok());
  EXPECT_TRUE(contains(settings->eos_token_ids, 7));
  EXPECT_TRUE(contains(settings->eos_token_ids, 11));
  // A malformed one only costs its ids.
  opened.files["generation_config.json"] = "{not json";
  EXPECT_TRUE(read_model_settings(opened, "gpt2").is_ok());
}

TEST(ModelSettings, WithoutConfigIsNotFoundOrTheGgufsReason) {
  OpenedModel opened = gpt2_files();
  opened.files.erase("config.json");
  Result<ModelSettings> settings = read_model_settings(opened, "some/model");
  ASSERT_FALSE(settings.is_ok());
  EXPECT_EQ(settings.error().kind, ErrorKind::NotFound);
  EXPECT_NE(settings.error().message.find("some/model"), std::string::npos);
  opened.file_errors.emplace("config.json", Error{ErrorKind::Unsupported, "m.gguf: architecture \"bert\""});
  settings = read_model_settings(opened, "m.gguf");
  ASSERT_FALSE(settings.is_ok());
  EXPECT_EQ(settings.error().kind, ErrorKind::Unsupported);
}

TEST(ModelSettings, AnUnusableTokenizerIsKeptAsItsError) {
  OpenedModel opened = gpt2_files();
  opened.files["tokenizer.json"] = "{not json";
  Result<ModelSettings> settings = read_model_settings(opened, "gpt2");
  ASSERT_TRUE(settings.is_ok()) << "token ids still work";
  EXPECT_FALSE(settings->tokenizer.has_value());
  ASSERT_TRUE(settings->tokenizer_error.has_value());
}

// transformers' order: chat_template.jinja, chat_template.json, tokenizer_config.json.
TEST(ModelSettings, ChatTemplateFileOrderAndRendering) {
  OpenedModel opened = gpt2_files();
  opened.files["tokenizer_config.json"] = R"({"chat_template": "config: {{ messages[0]['content'] }}"})";
  Result<ModelSettings> settings = read_model_settings(opened, "gpt2");
  ASSERT_TRUE(settings.is_ok());
  EXPECT_EQ(settings->chat_template_origin, "tokenizer_config.json");
  opened.files["chat_template.jinja"] = "jinja: {% for m in messages %}{{ m['role'] }}={{ m['content'] }};{% endfor %}";
  settings = read_model_settings(opened, "gpt2");
  ASSERT_TRUE(settings.is_ok());
  EXPECT_EQ(settings->chat_template_origin, "chat_template.jinja");
  const nlohmann::ordered_json messages = nlohmann::ordered_json::parse(R"([{"role": "user", "content": "hi"}])");
  Result<RenderedChat> chat = render_model_chat(*settings, messages);
  ASSERT_TRUE(chat.is_ok()) << chat.error().message;
  EXPECT_EQ(chat->text, "jinja: user=hi;");
  // A template error names the file it came from.
  opened.files["chat_template.jinja"] = "{% if %}";
  settings = read_model_settings(opened, "gpt2");
  ASSERT_TRUE(settings.is_ok());
  chat = render_model_chat(*settings, messages);
  ASSERT_FALSE(chat.is_ok());
  EXPECT_EQ(chat.error().kind, ErrorKind::Template);
  EXPECT_EQ(chat.error().message.rfind("chat_template.jinja: ", 0), 0u) << chat.error().message;
}

// A chat prompt: the rendered text encoded with no special tokens added (the
// template writes them), and without a tokenizer the reason there is none.
TEST(ModelSettings, ChatPromptEncodesTheRenderedTextAsItIs) {
  OpenedModel opened = gpt2_files();
  opened.files["chat_template.jinja"] = "{% for m in messages %}{{ m['content'] }}\n{% endfor %}";
  Result<ModelSettings> settings = read_model_settings(opened, "gpt2");
  ASSERT_TRUE(settings.is_ok());
  const nlohmann::ordered_json messages = nlohmann::ordered_json::parse(R"([{"role": "user", "content": "Hello world"}])");
  Result<ChatPrompt> prompt = encode_model_chat(*settings, messages);
  ASSERT_TRUE(prompt.is_ok()) << prompt.error().message;
  EXPECT_EQ(prompt->text, "Hello world\n");
  EXPECT_EQ(prompt->ids, settings->tokenizer->encode(prompt->text, /*add_special_tokens=*/false));
  EXPECT_TRUE(prompt->stop_ids.empty()) << "this template writes no end-of-turn marker";

  opened.files["tokenizer.json"] = "{not json";
  settings = read_model_settings(opened, "gpt2");
  ASSERT_TRUE(settings.is_ok());
  Result<ChatPrompt> without = encode_model_chat(*settings, messages);
  ASSERT_FALSE(without.is_ok());
  EXPECT_EQ(without.error().kind, settings->tokenizer_error->kind);
  opened.files.erase("tokenizer.json");
  settings = read_model_settings(opened, "gpt2");
  ASSERT_TRUE(settings.is_ok());
  EXPECT_EQ(encode_model_chat(*settings, messages).error().kind, ErrorKind::NotFound);
}

TEST(ModelSettings, AGgufsTemplateIsNamedAsItsMetadata) {
  OpenedModel opened = gpt2_files();
  opened.gguf = true;
  opened.files["tokenizer_config.json"] = R"({"chat_template": "{{ messages[0]['content'] }}"})";
  Result<ModelSettings> settings = read_model_settings(opened, "m.gguf");
  ASSERT_TRUE(settings.is_ok());
  EXPECT_EQ(settings->chat_template_origin, "GGUF tokenizer.chat_template");
}

}  // namespace
}  // namespace ws
