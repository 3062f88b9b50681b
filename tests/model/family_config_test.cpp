// config.json of the Llama-family switches (Qwen2/3, Gemma 1/2/3, Phi-3) in
// the spellings real checkpoints use: transformers 4's (rope_theta,
// rope_scaling, sliding_window_pattern) as on the Hub, next to the
// transformers 5 spelling the parity fixtures are saved in.
#include <gtest/gtest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "model/model.h"

namespace ws::test {
namespace {

using json = nlohmann::json;

json base(const char* model_type) {
  return json{{"model_type", model_type}, {"vocab_size", 50},        {"hidden_size", 16},
              {"intermediate_size", 24},  {"num_hidden_layers", 6}, {"num_attention_heads", 4},
              {"num_key_value_heads", 2}, {"max_position_embeddings", 64}};
}

// Gemma 3 as google/gemma-3-1b-it writes it: 5 local layers per global one,
// local rope base 10000 unscaled, global base 1e6 with linear scaling.
TEST(FamilyConfig, Gemma3HubSpelling) {
  json c = base("gemma3_text");
  c.update({{"head_dim", 8}, {"sliding_window", 16}, {"sliding_window_pattern", 6}, {"rope_theta", 1000000.0},
            {"rope_local_base_freq", 10000.0}, {"rope_scaling", {{"rope_type", "linear"}, {"factor", 8.0}}},
            {"query_pre_attn_scalar", 8}});
  Result<ModelConfig> config = parse_model_config(c.dump());
  ASSERT_TRUE(config.is_ok()) << config.error().to_string();
  EXPECT_EQ(config->layer_sliding, (std::vector<bool>{true, true, true, true, true, false}));
  EXPECT_EQ(config->sliding_window, 16u);
  EXPECT_TRUE(config->qk_norm);
  EXPECT_TRUE(config->sandwich_norms);
  EXPECT_TRUE(config->tie_word_embeddings);
  EXPECT_EQ(config->norm_weight_offset, 1.0f);
  EXPECT_EQ(config->mlp_activation, MlpActivation::GeluTanh);
  EXPECT_FLOAT_EQ(config->attention_scale, 1.0f / std::sqrt(8.0f));
  EXPECT_FLOAT_EQ(config->embedding_scale, 4.0f);
  ASSERT_EQ(config->rope_inv_freq.size(), 4u);
  ASSERT_EQ(config->rope_local_inv_freq.size(), 4u);
  EXPECT_FLOAT_EQ(config->rope_inv_freq[1], 1.0f / std::pow(1000000.0f, 0.25f) / 8.0f);
  EXPECT_FLOAT_EQ(config->rope_local_inv_freq[1], 1.0f / std::pow(10000.0f, 0.25f));
}

// Gemma 2 without layer_types (transformers 4): even layers are local.
TEST(FamilyConfig, Gemma2AlternatesFromLayerZero) {
  json c = base("gemma2");
  c.update({{"sliding_window", 4096}, {"attn_logit_softcapping", 50.0}, {"final_logit_softcapping", 30.0}});
  Result<ModelConfig> config = parse_model_config(c.dump());
  ASSERT_TRUE(config.is_ok()) << config.error().to_string();
  EXPECT_EQ(config->layer_sliding, (std::vector<bool>{true, false, true, false, true, false}));
  EXPECT_EQ(config->attn_logit_softcap, 50.0f);
  EXPECT_EQ(config->final_logit_softcap, 30.0f);
  EXPECT_FALSE(config->qk_norm);
}

// Qwen2's window only with use_sliding_window, and only from
// max_window_layers on.
TEST(FamilyConfig, Qwen2WindowNeedsUseSlidingWindow) {
  json c = base("qwen2");
  c.update({{"sliding_window", 8}, {"max_window_layers", 4}});
  Result<ModelConfig> off = parse_model_config(c.dump());
  ASSERT_TRUE(off.is_ok());
  EXPECT_EQ(off->sliding_window, 0u);
  EXPECT_EQ(off->layer_sliding, std::vector<bool>(6, false));
  c["use_sliding_window"] = true;
  Result<ModelConfig> on = parse_model_config(c.dump());
  ASSERT_TRUE(on.is_ok());
  EXPECT_EQ(on->layer_sliding, (std::vector<bool>{false, false, false, false, true, true}));
}

// Phi-3.5-mini's shape: LongRoPE factors, one per rotary frequency, the
// attention factor from max / original positions.
TEST(FamilyConfig, Phi3LongRope) {
  json c = base("phi3");
  c.update({{"max_position_embeddings", 128}, {"original_max_position_embeddings", 16},
            {"rope_scaling",
             {{"type", "longrope"}, {"short_factor", {1.0, 2.0}}, {"long_factor", {3.0, 4.0}}}}});
  Result<ModelConfig> config = parse_model_config(c.dump());
  ASSERT_TRUE(config.is_ok()) << config.error().to_string();
  EXPECT_TRUE(config->fused_projections);
  EXPECT_EQ(config->rotary_dim, 4u);
  ASSERT_EQ(config->rope_long_inv_freq.size(), 2u);
  EXPECT_FLOAT_EQ(config->rope_inv_freq[0], 1.0f);
  EXPECT_FLOAT_EQ(config->rope_long_inv_freq[0], 1.0f / 3.0f);
  EXPECT_EQ(config->rope_original_max_positions, 16u);
  EXPECT_FLOAT_EQ(config->rope_attention_factor, static_cast<float>(std::sqrt(1 + std::log(8.0) / std::log(16.0))));
  // Factors for another number of dims are an error, not a read past the array.
  c["rope_scaling"]["long_factor"] = {3.0};
  Result<ModelConfig> bad = parse_model_config(c.dump());
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.error().kind, ErrorKind::InvalidConfig);
  EXPECT_NE(bad.error().message.find("long_factor"), std::string::npos) << bad.error().message;
}

TEST(FamilyConfig, UnknownKindsAreUnsupported) {
  json dynamic = base("llama");
  dynamic["rope_scaling"] = {{"rope_type", "dynamic"}, {"factor", 2.0}};
  json types = base("mistral");
  types.update({{"sliding_window", 8}, {"layer_types", {"full_attention", "chunked_attention", "full_attention",
                                                        "full_attention", "full_attention", "full_attention"}}});
  json activation = base("gemma");
  activation["hidden_activation"] = "relu";
  for (const json& c : {dynamic, types, activation}) {
    Result<ModelConfig> config = parse_model_config(c.dump());
    ASSERT_FALSE(config.is_ok()) << c.dump();
    EXPECT_EQ(config.error().kind, ErrorKind::Unsupported) << config.error().message;
  }
}

}  // namespace
}  // namespace ws::test
