// Malformed or unsupported tokenizer files give typed errors, never a crash.
#include <gtest/gtest.h>

#include "tokenizer/tokenizer.h"

namespace ws {
namespace {

// A minimal valid BPE tokenizer.json with `model` and `extra` spliced in.
std::string tokenizer_json(const std::string& model, const std::string& extra = "") {
  return R"({"version": "1.0", "added_tokens": [], )" + extra + R"("model": )" + model + "}";
}

const char* kBpe = R"({"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]})";

void expect_error(const std::string& json, ErrorKind kind, const std::string& words) {
  Result<Tokenizer> result = Tokenizer::from_json(json);
  ASSERT_FALSE(result.is_ok()) << json;
  EXPECT_EQ(result.error().kind, kind) << result.error().to_string();
  EXPECT_NE(result.error().message.find(words), std::string::npos) << result.error().to_string();
}

TEST(TokenizerErrors, MinimalBpeLoads) {
  Result<Tokenizer> tok = Tokenizer::from_json(tokenizer_json(kBpe));
  ASSERT_TRUE(tok.is_ok()) << tok.error().to_string();
  EXPECT_EQ(tok->encode("abab"), (std::vector<int32_t>{2, 2}));
  EXPECT_EQ(tok->decode({2, 0}), "ab a");  // no decoder: HF joins with spaces
  EXPECT_EQ(tok->vocab_size(), 3u);
}

TEST(TokenizerErrors, InvalidJson) {
  expect_error("{\"model\": ", ErrorKind::InvalidConfig, "not valid JSON");
  expect_error("", ErrorKind::InvalidConfig, "not valid JSON");
  expect_error("[1, 2]", ErrorKind::InvalidConfig, "not a JSON object");
  expect_error(std::string("{\"a\": \"\xFF\"}"), ErrorKind::InvalidConfig, "not valid JSON");
}

// Sequence stages nest; 100k levels must be a typed error, not a stack overflow
// in the stage loaders (nor in nlohmann's recursive copy of the value).
TEST(TokenizerErrors, NormalizerSequenceNested100kDeepIsATypedError) {
  std::string deep;
  const size_t depth = 100'000;
  for (size_t i = 0; i < depth; ++i) deep += R"({"type": "Sequence", "normalizers": [)";
  deep += R"({"type": "Lowercase"})";
  for (size_t i = 0; i < depth; ++i) deep += "]}";
  expect_error(tokenizer_json(kBpe, R"("normalizer": )" + deep + ", "), ErrorKind::InvalidConfig, "nests deeper than");
}

// Replace a -> aa, 40 times: 2^40 times longer; refused at load, not a
// bad_alloc at the first encode.
TEST(TokenizerErrors, NormalizerChainsThatGrowWithoutBoundAreRefused) {
  std::string steps;
  for (int i = 0; i < 40; ++i) {
    steps += std::string(i ? "," : "") + R"({"type": "Replace", "pattern": {"String": "a"}, "content": "aa"})";
  }
  expect_error(tokenizer_json(kBpe, R"("normalizer": {"type": "Sequence", "normalizers": [)" + steps + "]}, "),
               ErrorKind::OutOfBudget, "times longer");
  // A real chain (SentencePiece-style) loads.
  Result<Tokenizer> ok = Tokenizer::from_json(tokenizer_json(kBpe,
      R"("normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"},
         {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]}, )"));
  ASSERT_TRUE(ok.is_ok()) << ok.error().to_string();
}

TEST(TokenizerErrors, DuplicateKeysAreRejected) {
  expect_error(tokenizer_json(kBpe, R"("decoder": null, "decoder": null, )"), ErrorKind::InvalidConfig, "twice");
}

TEST(TokenizerErrors, MissingModel) {
  expect_error(R"({"version": "1.0"})", ErrorKind::InvalidConfig, "model");
  expect_error(R"({"model": 3})", ErrorKind::InvalidConfig, "model");
}

TEST(TokenizerErrors, UnsupportedModelTypes) {
  expect_error(tokenizer_json(R"({"type": "Weird", "vocab": {"a": 0}})"), ErrorKind::Unsupported, "Weird");
}

TEST(TokenizerErrors, BadUnigramAndWordPiece) {
  expect_error(tokenizer_json(R"({"type": "Unigram", "vocab": [["a", 0.0]], "unk_id": 5})"),
               ErrorKind::InvalidConfig, "unk_id");
  expect_error(tokenizer_json(R"({"type": "Unigram", "vocab": [["a", "high"]]})"), ErrorKind::InvalidConfig,
               "vocab[0]");
  expect_error(tokenizer_json(R"({"type": "WordPiece", "vocab": {"a": -1}})"), ErrorKind::InvalidConfig,
               "model.vocab['a']");
  expect_error(tokenizer_json(R"({"type": "WordPiece", "vocab": {"a": 0}, "max_input_chars_per_word": "x"})"),
               ErrorKind::InvalidConfig, "max_input_chars_per_word");
}

TEST(TokenizerErrors, BadVocabAndMerges) {
  expect_error(tokenizer_json(R"({"type": "BPE", "vocab": {"a": 0}, "merges": ["a zz"]})"),
               ErrorKind::InvalidConfig, "'zz'");
  expect_error(tokenizer_json(R"({"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a b"]})"),
               ErrorKind::InvalidConfig, "'ab'");
  expect_error(tokenizer_json(R"({"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["ab"]})"),
               ErrorKind::InvalidConfig, "merges[0]");
  expect_error(tokenizer_json(R"({"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": [["a"]]})"),
               ErrorKind::InvalidConfig, "merges[0]");
  expect_error(tokenizer_json(R"({"type": "BPE", "vocab": {"a": -1}, "merges": []})"), ErrorKind::InvalidConfig,
               "vocab");
  expect_error(tokenizer_json(R"({"type": "BPE", "vocab": {"a": "x"}, "merges": []})"),
               ErrorKind::InvalidConfig, "vocab");
  expect_error(tokenizer_json(R"({"type": "BPE", "vocab": [], "merges": []})"), ErrorKind::InvalidConfig,
               "vocab");
  expect_error(tokenizer_json(R"({"type": "BPE", "vocab": {"a": 0}, "merges": {}})"), ErrorKind::InvalidConfig,
               "merges");
  expect_error(tokenizer_json(R"({"type": "BPE", "vocab": {"a": 0}, "merges": [], "unk_token": "<unk>"})"),
               ErrorKind::InvalidConfig, "unk_token");
  expect_error(tokenizer_json(R"({"type": "BPE", "vocab": {"a": 0}, "merges": [], "byte_fallback": "yes"})"),
               ErrorKind::InvalidConfig, "byte_fallback");
}

TEST(TokenizerErrors, UnsupportedComponentsAreNamed) {
  expect_error(tokenizer_json(kBpe, R"("normalizer": {"type": "ByteLevel"}, )"), ErrorKind::Unsupported,
               "normalizer type 'ByteLevel'");
  expect_error(tokenizer_json(kBpe, R"("normalizer": {"type": "Sequence", "normalizers": [{"type": "Weird"}]}, )"),
               ErrorKind::Unsupported, "Weird");
  expect_error(tokenizer_json(kBpe, R"("pre_tokenizer": {"type": "CharDelimiterSplit", "delimiter": "x"}, )"),
               ErrorKind::Unsupported, "pre_tokenizer type 'CharDelimiterSplit'");
  expect_error(tokenizer_json(kBpe, R"("pre_tokenizer": {"type": "Split", "pattern": {"Regex": "x"}, "behavior": "Sideways"}, )"),
               ErrorKind::Unsupported, "Sideways");
  expect_error(tokenizer_json(kBpe, R"("decoder": {"type": "Weird"}, )"), ErrorKind::Unsupported,
               "decoder type 'Weird'");
  expect_error(tokenizer_json(kBpe, R"("post_processor": {"type": "Weird"}, )"), ErrorKind::Unsupported,
               "post_processor type 'Weird'");
}

// A pattern Oniguruma rejects is an InvalidConfig error with its message and
// the pattern, never a crash; so is a pattern object of neither kind.
TEST(TokenizerErrors, BadPatterns) {
  expect_error(tokenizer_json(kBpe, R"("pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(ab"}, "behavior": "Isolated"}, )"),
               ErrorKind::InvalidConfig, "(ab");
  expect_error(tokenizer_json(kBpe, R"("normalizer": {"type": "Replace", "pattern": {"Regex": "[z-a]"}, "content": ""}, )"),
               ErrorKind::InvalidConfig, "Replace");
  expect_error(tokenizer_json(kBpe, R"("decoder": {"type": "Replace", "pattern": {"Glob": "*"}, "content": ""}, )"),
               ErrorKind::InvalidConfig, "pattern");
  expect_error(tokenizer_json(kBpe, R"("pre_tokenizer": {"type": "Split", "pattern": {"Regex": "\\p{Nope}"}}, )"),
               ErrorKind::InvalidConfig, "Nope");
}

TEST(TokenizerErrors, BadComponents) {
  expect_error(tokenizer_json(kBpe, R"("added_tokens": [{"content": "x"}], )").replace(
                   tokenizer_json(kBpe).find("\"added_tokens\": [], "), 20, ""),
               ErrorKind::InvalidConfig, "added_tokens[0]");
  expect_error(tokenizer_json(kBpe, R"("pre_tokenizer": {"type": "Metaspace", "prepend_scheme": "sometimes"}, )"),
               ErrorKind::InvalidConfig, "prepend_scheme");
  expect_error(tokenizer_json(kBpe, R"("post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>"}}], "special_tokens": {}}, )"),
               ErrorKind::InvalidConfig, "<s>");
  expect_error(tokenizer_json(kBpe, R"("decoder": {"type": "Strip", "content": "ab", "start": 1, "stop": 0}, )"),
               ErrorKind::InvalidConfig, "Strip");
}

std::string base64(const std::string& bytes) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t v = static_cast<uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) v |= static_cast<uint8_t>(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[v & 63] : '=';
  }
  return out;
}

std::string precompiled(const std::string& charsmap_bytes) {
  return R"("normalizer": {"type": "Precompiled", "precompiled_charsmap": ")" + base64(charsmap_bytes) + R"("}, )";
}

// A charsmap: the u32 trie size, the trie units, the replacement strings.
std::string charsmap(const std::vector<uint32_t>& units, const std::string& replacements) {
  std::string bytes;
  auto put = [&](uint32_t v) { for (int i = 0; i < 4; ++i) bytes += static_cast<char>((v >> (8 * i)) & 0xFF); };
  put(static_cast<uint32_t>(units.size() * 4));
  for (uint32_t u : units) put(u);
  return bytes + replacements;
}

TEST(TokenizerErrors, MalformedPrecompiledCharsmaps) {
  expect_error(tokenizer_json(kBpe, R"("normalizer": {"type": "Precompiled", "precompiled_charsmap": "!!"}, )"),
               ErrorKind::InvalidConfig, "not base64");
  expect_error(tokenizer_json(kBpe, precompiled("ab")), ErrorKind::InvalidConfig, "4-byte header");
  expect_error(tokenizer_json(kBpe, precompiled(std::string("\x64\0\0\0", 4) + "abcd")), ErrorKind::InvalidConfig,
               "trie size 100");
  expect_error(tokenizer_json(kBpe, precompiled(std::string("\x03\0\0\0", 4) + "abcd")), ErrorKind::InvalidConfig,
               "trie size 3");
  expect_error(tokenizer_json(kBpe, precompiled(charsmap({0}, "\xff\xfe"))), ErrorKind::InvalidConfig, "UTF-8");
  expect_error(tokenizer_json(kBpe, R"("normalizer": {"type": "Precompiled", "precompiled_charsmap": 3}, )"),
               ErrorKind::InvalidConfig, "precompiled_charsmap");
}

// Any trie is walked with checked indexes: units pointing anywhere (offsets
// past the end, leaves whose value is past the strings) change nothing or
// map to a replacement, never read out of bounds.
TEST(TokenizerErrors, HostilePrecompiledTriesDoNotCrash) {
  uint32_t seed = 12345;
  auto next = [&]() { seed = seed * 1664525u + 1013904223u; return seed; };
  for (int round = 0; round < 200; ++round) {
    std::vector<uint32_t> units(1 + next() % 300);
    for (uint32_t& u : units) u = round % 2 ? next() : (next() & 0x3FF) | ((next() % 64) << 10);
    Result<Tokenizer> tok = Tokenizer::from_json(tokenizer_json(kBpe, precompiled(charsmap(units, std::string("ab\0b\0", 5)))));
    ASSERT_TRUE(tok.is_ok()) << tok.error().to_string();
    (void)tok->encode("abba a\xcc\x81 \xe2\x98\x83 \xff ab");
  }
}

// A trie mapping "a" to "b" (built by hand: root offset 1 -> node 1^'a' has
// label 'a' and a leaf whose value is replacement offset 0).
TEST(TokenizerErrors, HandBuiltPrecompiledTrieReplaces) {
  const uint32_t kA = 'a';
  std::vector<uint32_t> units(256, 0);
  units[0] = 1u << 10;                              // root: offset 1
  units[1 ^ kA] = kA | (1u << 8) | ((kA ^ 1 ^ 2) << 10);  // label 'a', has leaf, offset -> node 2
  units[2] = 0;                                    // leaf value: replacement at byte 0
  Result<Tokenizer> tok = Tokenizer::from_json(tokenizer_json(kBpe, precompiled(charsmap(units, std::string("b\0", 2)))));
  ASSERT_TRUE(tok.is_ok()) << tok.error().to_string();
  EXPECT_EQ(tok->encode("ab"), (std::vector<int32_t>{1, 1}));
}

TEST(TokenizerErrors, WordLevelWithoutItsUnkDropsTheWord) {
  Result<Tokenizer> tok = Tokenizer::from_json(tokenizer_json(
      R"({"type": "WordLevel", "vocab": {"ab": 0, "b": 1}, "unk_token": "<unk>"})",
      R"("pre_tokenizer": {"type": "WhitespaceSplit"}, )"));
  ASSERT_TRUE(tok.is_ok()) << tok.error().to_string();
  EXPECT_EQ(tok->encode("ab zz b"), (std::vector<int32_t>{0, 1}));
}

TEST(TokenizerErrors, Gpt2Files) {
  Result<Tokenizer> bad_json = Tokenizer::from_gpt2_files("{", "#version: 0.2\n");
  ASSERT_FALSE(bad_json.is_ok());
  EXPECT_EQ(bad_json.error().kind, ErrorKind::InvalidConfig);
  EXPECT_NE(bad_json.error().message.find("vocab.json"), std::string::npos);

  Result<Tokenizer> bad_line = Tokenizer::from_gpt2_files(R"({"a": 0, "b": 1, "ab": 2})", "#version: 0.2\na b\nab\n");
  ASSERT_FALSE(bad_line.is_ok());
  EXPECT_NE(bad_line.error().message.find("merges.txt line 3"), std::string::npos) << bad_line.error().message;

  Result<Tokenizer> unknown = Tokenizer::from_gpt2_files(R"({"a": 0})", "a q\n");
  ASSERT_FALSE(unknown.is_ok());
  EXPECT_EQ(unknown.error().kind, ErrorKind::InvalidConfig);

  Result<Tokenizer> ok = Tokenizer::from_gpt2_files(R"({"a": 0, "b": 1, "ab": 2})", "#version: 0.2\r\na b\r\n");
  ASSERT_TRUE(ok.is_ok()) << ok.error().to_string();
  EXPECT_EQ(ok->encode("ab"), std::vector<int32_t>{2});
}

}  // namespace
}  // namespace ws
