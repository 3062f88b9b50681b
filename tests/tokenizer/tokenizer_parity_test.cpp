// Parity with Hugging Face tokenizers: make_fixtures.py encodes a corpus with
// the Python reference; weightstream must produce the same ids and text.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <random>
#include <sstream>

#include "tokenizer/tokenizer.h"

namespace ws {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

bool is_valid_utf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

bool file_exists(const std::string& path) { return std::ifstream(path).good(); }

struct Case {
  std::string text;
  std::vector<int32_t> ids, ids_special;
  std::string decoded, decoded_skip_special, decoded_special;
  bool lossless = false;
};

struct PairCase {
  std::string first, second;
  std::vector<int32_t> ids, ids_special;
};

struct Fixture {
  std::optional<Tokenizer> tokenizer;
  std::string load_error;
  std::vector<Case> cases;
  std::vector<PairCase> pairs;
  size_t vocab_size = 0;
  std::vector<std::string> special_tokens;
};

Fixture load_fixture(const std::string& variant) {
  Fixture fixture;
  const std::string dir = std::string(WS_TOKENIZER_FIXTURE_DIR) + "/" + variant + "/";
  Result<Tokenizer> tokenizer =
      file_exists(dir + "vocab.json")
          ? Tokenizer::from_gpt2_files(read_file(dir + "vocab.json"), read_file(dir + "merges.txt"))
          : Tokenizer::from_json(read_file(dir + "tokenizer.json"));
  if (!tokenizer) {
    fixture.load_error = tokenizer.error().to_string();
    return fixture;
  }
  fixture.tokenizer = std::move(tokenizer).value();

  nlohmann::json expected = nlohmann::json::parse(read_file(dir + "expected.json"), nullptr, false);
  if (!expected.is_object()) {
    fixture.load_error = "cannot read " + dir + "expected.json";
    return fixture;
  }
  fixture.vocab_size = expected["vocab_size"].get<size_t>();
  fixture.special_tokens = expected["special_tokens"].get<std::vector<std::string>>();
  for (const auto& c : expected["cases"]) {
    fixture.cases.push_back(Case{c["text"], c["ids"], c["ids_special"], c["decoded"], c["decoded_skip_special"],
                                 c["decoded_special"], c["lossless"]});
  }
  for (const auto& p : expected["pairs"]) fixture.pairs.push_back(PairCase{p["first"], p["second"], p["ids"], p["ids_special"]});
  return fixture;
}

std::string show(const std::vector<int32_t>& ids) {
  std::string out = "[";
  for (size_t i = 0; i < ids.size(); ++i) out += (i ? "," : "") + std::to_string(ids[i]);
  return out + "]";
}

class Parity : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    fixture_ = load_fixture(GetParam());
    ASSERT_TRUE(fixture_.tokenizer.has_value()) << fixture_.load_error;
    ASSERT_GE(fixture_.cases.size(), 200u);
  }
  const Tokenizer& tokenizer() const { return *fixture_.tokenizer; }
  Fixture fixture_;
};

void expect_encode_matches(const Fixture& fixture) {
  const Tokenizer& tok = *fixture.tokenizer;
  size_t mismatches = 0;
  for (const Case& c : fixture.cases) {
    std::vector<int32_t> ids = tok.encode(c.text);
    std::vector<int32_t> ids_special = tok.encode(c.text, /*add_special_tokens=*/true);
    if (ids != c.ids || ids_special != c.ids_special) {
      if (++mismatches <= 5) {
        ADD_FAILURE() << "text " << nlohmann::json(c.text).dump() << "\n  expected " << show(c.ids) << " / "
                      << show(c.ids_special) << "\n  got      " << show(ids) << " / " << show(ids_special);
      }
    }
  }
  EXPECT_EQ(mismatches, 0u) << "of " << fixture.cases.size() << " strings";
}

// tokenizers' encode(first, second): the pair template (TemplateProcessing's
// "pair", Roberta's and Bert's layouts), or the two encodings joined.
void expect_pairs_match(const Fixture& fixture) {
  const Tokenizer& tok = *fixture.tokenizer;
  ASSERT_GE(fixture.pairs.size(), 10u);
  size_t mismatches = 0;
  for (const PairCase& c : fixture.pairs) {
    std::vector<int32_t> ids = tok.encode_pair(c.first, c.second);
    std::vector<int32_t> ids_special = tok.encode_pair(c.first, c.second, /*add_special_tokens=*/true);
    if ((ids != c.ids || ids_special != c.ids_special) && ++mismatches <= 5) {
      ADD_FAILURE() << "pair " << nlohmann::json(c.first).dump() << ", " << nlohmann::json(c.second).dump()
                    << "\n  expected " << show(c.ids) << " / " << show(c.ids_special) << "\n  got      " << show(ids)
                    << " / " << show(ids_special);
    }
  }
  EXPECT_EQ(mismatches, 0u) << "of " << fixture.pairs.size() << " pairs";
}

void expect_decode_matches(const Fixture& fixture) {
  const Tokenizer& tok = *fixture.tokenizer;
  size_t mismatches = 0;
  for (const Case& c : fixture.cases) {
    std::string decoded = tok.decode(c.ids);
    std::string skipped = tok.decode(c.ids, /*skip_special_tokens=*/true);
    std::string with_special = tok.decode(c.ids_special);
    bool ok = decoded == c.decoded && skipped == c.decoded_skip_special && with_special == c.decoded_special &&
              (!c.lossless || decoded == c.text);
    if (!ok && ++mismatches <= 5) {
      ADD_FAILURE() << "ids " << show(c.ids) << "\n  expected " << nlohmann::json(c.decoded).dump() << " / "
                    << nlohmann::json(c.decoded_skip_special).dump() << " / "
                    << nlohmann::json(c.decoded_special).dump() << "\n  got      "
                    << nlohmann::json(decoded).dump() << " / " << nlohmann::json(skipped).dump() << " / "
                    << nlohmann::json(with_special).dump();
    }
  }
  EXPECT_EQ(mismatches, 0u) << "of " << fixture.cases.size() << " strings";
}

TEST_P(Parity, EncodeMatchesReference) { expect_encode_matches(fixture_); }
TEST_P(Parity, PairEncodeMatchesReference) { expect_pairs_match(fixture_); }
TEST_P(Parity, DecodeMatchesReference) { expect_decode_matches(fixture_); }

TEST_P(Parity, StreamDecodeConcatenatesToDecode) {
  size_t mismatches = 0;
  for (const Case& c : fixture_.cases) {
    for (const auto* ids : {&c.ids, &c.ids_special}) {
      StreamDecoder stream(tokenizer());
      std::string text;
      bool valid_pieces = true;
      for (int32_t id : *ids) {
        std::string piece = stream.push(id);
        // Each piece is whole characters: valid UTF-8 on its own.
        valid_pieces = valid_pieces && is_valid_utf8(piece);
        text += piece;
      }
      text += stream.flush();
      std::string whole = tokenizer().decode(*ids);
      if ((text != whole || !valid_pieces) && ++mismatches <= 5) {
        ADD_FAILURE() << "ids " << show(*ids) << "\n  decode " << nlohmann::json(whole).dump() << "\n  stream "
                      << nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                      << (valid_pieces ? "" : " (a piece split a character)");
      }
    }
  }
  EXPECT_EQ(mismatches, 0u);
}

TEST_P(Parity, VocabularyLookups) {
  EXPECT_EQ(tokenizer().vocab_size(), fixture_.vocab_size);
  size_t mismatches = 0;
  for (size_t id = 0; id < tokenizer().vocab_size(); ++id) {
    std::string text = tokenizer().token_text(static_cast<int32_t>(id));
    if (text.empty()) continue;
    std::optional<int32_t> back = tokenizer().token_id(text);
    if ((!back || *back != static_cast<int32_t>(id)) && ++mismatches <= 5) {
      ADD_FAILURE() << "id " << id << " -> " << text << " -> " << (back ? std::to_string(*back) : "none");
    }
  }
  EXPECT_EQ(mismatches, 0u);
  for (const std::string& special : fixture_.special_tokens) {
    std::optional<int32_t> id = tokenizer().token_id(special);
    ASSERT_TRUE(id.has_value()) << special;
    EXPECT_TRUE(tokenizer().is_special(*id)) << special;
  }
  EXPECT_TRUE(tokenizer().token_text(-1).empty());
  EXPECT_TRUE(tokenizer().token_text(static_cast<int32_t>(tokenizer().vocab_size())).empty());
}

// Arbitrary bytes (invalid UTF-8 included) and arbitrary ids: no crash, ids in
// range, and streaming still adds up to the whole decode.
TEST_P(Parity, ArbitraryBytesAndIds) {
  std::mt19937 random(1234);
  for (int round = 0; round < 200; ++round) {
    std::string bytes(random() % 40, '\0');
    for (char& b : bytes) b = static_cast<char>(random() % 256);
    for (int32_t id : tokenizer().encode(bytes, true)) {
      ASSERT_GE(id, 0);
      ASSERT_LT(static_cast<size_t>(id), tokenizer().vocab_size());
    }
    std::vector<int32_t> ids(random() % 12);
    for (int32_t& id : ids) id = static_cast<int32_t>(random() % (tokenizer().vocab_size() + 10)) - 5;
    StreamDecoder stream(tokenizer());
    std::string text;
    for (int32_t id : ids) text += stream.push(id);
    text += stream.flush();
    EXPECT_EQ(text, tokenizer().decode(ids)) << show(ids);
  }
}

INSTANTIATE_TEST_SUITE_P(Tokenizers, Parity,
                         ::testing::Values("gpt2", "gpt2_files", "gpt2_merge_pairs", "gpt2_added", "gpt2_split_regex",
                                           "digits_individual", "digits_contiguous",
                                           "llama3_style", "qwen2_style", "llama_legacy", "llama_metaspace",
                                           "metaspace_unk", "bytelevel_subword", "split_removed", "split_isolated",
                                           "split_mergedwithprevious", "split_mergedwithnext", "split_contiguous",
                                           "split_inverted_removed", "split_inverted_mergedwithnext",
                                           "split_onig_syntax", "whitespace", "whitespace_split_punctuation",
                                           "bert_pre_tokenizer", "normalizer_nfc", "normalizer_nfd_accents_lowercase",
                                           "normalizer_nfkc_replace", "normalizer_nfkd", "decoder_wordpiece",
                                           "decoder_replace_regex", "wordpiece_bert", "wordpiece_cased",
                                           "unigram_unk", "unigram_byte_fallback", "t5_precompiled", "precompiled_nfkc_cf",
                                           "wordlevel", "unicode_scripts"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

// Real tokenizer.json files (make_family_fixtures.py; the list matches
// fixtures.tokenizer_families in CMakeLists.txt).
INSTANTIATE_TEST_SUITE_P(Families, Parity,
                         ::testing::Values("family_claude", "family_deepseek_v3", "family_gemma3", "family_gpt4o",
                                           "family_gptoss", "family_llama2", "family_llama3_1", "family_qwen3"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

// Decoders whose output for a token depends on the next one (WordPiece's
// cleanup joins " 's" across tokens, CTC collapses repeats): no streaming, whole decodes only.
class ParityWholeDecode : public Parity {};
TEST_P(ParityWholeDecode, EncodeMatchesReference) { expect_encode_matches(fixture_); }
TEST_P(ParityWholeDecode, PairEncodeMatchesReference) { expect_pairs_match(fixture_); }
TEST_P(ParityWholeDecode, DecodeMatchesReference) { expect_decode_matches(fixture_); }
INSTANTIATE_TEST_SUITE_P(Tokenizers, ParityWholeDecode, ::testing::Values("decoder_wordpiece_cleanup", "decoder_ctc"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

TEST(ParitySpecialIds, Gpt2AndLlama) {
  Fixture gpt2 = load_fixture("gpt2");
  ASSERT_TRUE(gpt2.tokenizer) << gpt2.load_error;
  EXPECT_EQ(gpt2.tokenizer->bos_id(), std::optional<int32_t>(50256));
  EXPECT_EQ(gpt2.tokenizer->eos_id(), std::optional<int32_t>(50256));
  Fixture files = load_fixture("gpt2_files");
  ASSERT_TRUE(files.tokenizer) << files.load_error;
  EXPECT_EQ(files.tokenizer->eos_id(), std::optional<int32_t>(50256));
  Fixture llama = load_fixture("llama_legacy");
  ASSERT_TRUE(llama.tokenizer) << llama.load_error;
  EXPECT_EQ(llama.tokenizer->bos_id(), std::optional<int32_t>(1));
  EXPECT_EQ(llama.tokenizer->eos_id(), std::optional<int32_t>(2));

  Tokenizer& tok = *llama.tokenizer;
  ASSERT_TRUE(apply_special_tokens_config(tok, R"({"bos_token": {"content": "</s>"}, "eos_token": "<unk>"})",
                                          R"({"bos_token_id": 1, "eos_token_id": [2, 0]})")
                  .is_ok());
  EXPECT_EQ(tok.bos_id(), std::optional<int32_t>(2));
  EXPECT_EQ(tok.eos_id(), std::optional<int32_t>(0));
  ASSERT_TRUE(apply_special_tokens_config(tok, "", R"({"bos_token_id": 1, "eos_token_id": [2, 0]})").is_ok());
  EXPECT_EQ(tok.bos_id(), std::optional<int32_t>(1));
  EXPECT_EQ(tok.eos_id(), std::optional<int32_t>(2));
  Status bad = apply_special_tokens_config(tok, R"({"eos_token": "<nope>"})", "");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.error().kind, ErrorKind::InvalidConfig);
  Status bad_id = apply_special_tokens_config(tok, "", R"({"eos_token_id": 999999})");
  ASSERT_FALSE(bad_id.is_ok());
  Status bad_json = apply_special_tokens_config(tok, "{", "");
  ASSERT_FALSE(bad_json.is_ok());
  EXPECT_EQ(bad_json.error().kind, ErrorKind::InvalidConfig);
}

// Qwen2/2.5/3's tokenizer_config.json has "bos_token": null and
// transformers 5 writes "bos_token_id": null: no BOS, not an error.
TEST(ParitySpecialIds, NullMeansNone) {
  Fixture llama = load_fixture("llama_legacy");
  ASSERT_TRUE(llama.tokenizer) << llama.load_error;
  Tokenizer& tok = *llama.tokenizer;
  ASSERT_TRUE(apply_special_tokens_config(tok, R"({"bos_token": null, "eos_token": "</s>"})",
                                          R"({"bos_token_id": null, "eos_token_id": null})")
                  .is_ok());
  EXPECT_EQ(tok.bos_id(), std::optional<int32_t>(1));  // the tokenizer's own, unchanged
  EXPECT_EQ(tok.eos_id(), std::optional<int32_t>(2));
}

}  // namespace
}  // namespace ws
