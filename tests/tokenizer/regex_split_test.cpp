// The hand-written splitters (gpt2_split.cpp, llama3_split.cpp) are kept only
// because they are faster than the regex engine: here they must split exactly
// as Oniguruma does with the same pattern, on random text drawn from the
// characters where the patterns' classes disagree most easily (every White_Space
// character, letters and digits of several scripts, marks, apostrophes, CR/LF).
#include <gtest/gtest.h>

#include <random>

#include "tokenizer/pipeline.h"
#include "tokenizer/regex.h"

namespace ws::tokenizer_detail {
namespace {

constexpr const char* kGpt2 = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr const char* kLlama3 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kQwen2 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

const std::vector<std::string>& alphabet() {
  static const std::vector<std::string> chars = {
      "a", "Z", "s", "t", "S", "T", "r", "e", "v", "m", "l", "d", "L", "D", "'", "'", "'", " ", " ", " ", "  ",
      "\t", "\n", "\r", "\r\n", "\v", "\f", "0", "7", "9", "12345", ".", ",", "!", "-", "_", "(", "#", "\"",
      "\xC2\x85", "\xC2\xA0", "\xE1\x9A\x80", "\xE2\x80\x80", "\xE2\x80\x8A", "\xE2\x80\x8B", "\xE2\x80\xA8",
      "\xE2\x80\xA9", "\xE2\x80\xAF", "\xE2\x81\x9F", "\xE3\x80\x80", "\xEF\xBB\xBF",          // White_Space and near
      "\xC3\xA9", "\xC3\x89", "\xC3\x9F", "\xC4\xB0", "\xCE\xA3", "\xCF\x82", "\xD0\x96",        // é É ß İ Σ ς Ж
      "\xE4\xBD\xA0", "\xE3\x81\x82", "\xED\x95\x9C", "\xD8\xB9", "\xE0\xA4\xA8", "\xE0\xA5\x8D",  // 你 あ 한 ع न ्
      "\xCC\x81", "\xCC\x88", "\xE2\x83\x9D",                                                    // combining marks
      "\xD9\xA1", "\xE2\x85\xA7", "\xC2\xBD", "\xC2\xB2", "\xF0\x9D\x9F\x8E",                    // ١ Ⅷ ½ ² 𝟎
      "\xF0\x9F\x98\x80", "\xE2\x9D\xA4", "\xEF\xB8\x8F", "\xE2\x80\x8D", "\xF0\x9F\x87\xBA",    // emoji, ZWJ
      "\xE2\x80\x99", "\xEF\xBC\x87", "\xC2\xB4",                                                // other apostrophes
  };
  return chars;
}

std::vector<std::string> engine_split(const Regex& regex, const std::string& text) {
  std::vector<MatchPiece> pieces;
  find_matches(regex, text, &pieces);
  std::vector<std::string> out;  // Isolated: every piece, empty ones dropped
  for (const MatchPiece& piece : pieces) {
    if (piece.end > piece.begin) out.push_back(text.substr(piece.begin, piece.end - piece.begin));
  }
  return out;
}

template <typename Split>
void expect_identical(const char* pattern, Split split) {
  Result<Regex> regex = Regex::compile(pattern);
  ASSERT_TRUE(regex.is_ok()) << regex.error().to_string();
  std::mt19937 random(20261129);
  const auto& chars = alphabet();
  size_t mismatches = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string text;
    const size_t length = random() % 24;
    for (size_t i = 0; i < length; ++i) text += chars[random() % chars.size()];
    std::vector<std::string_view> parts;
    split(text, &parts);
    const std::vector<std::string> fast(parts.begin(), parts.end());
    if (fast != engine_split(*regex, text) && ++mismatches <= 5) {
      ADD_FAILURE() << "splits differ on " << testing::PrintToString(text);
    }
  }
  EXPECT_EQ(mismatches, 0u);
}

TEST(RegexSplit, Gpt2SplitterEqualsEngine) { expect_identical(kGpt2, split_gpt2); }
TEST(RegexSplit, Llama3SplitterEqualsEngine) {
  expect_identical(kLlama3, [](std::string_view t, std::vector<std::string_view>* w) { split_llama3(t, 3, w); });
}
TEST(RegexSplit, Qwen2SplitterEqualsEngine) {
  expect_identical(kQwen2, [](std::string_view t, std::vector<std::string_view>* w) { split_llama3(t, 1, w); });
}

// The onig crate's find_iter: an empty match right after a match is skipped.
TEST(RegexSplit, EmptyMatchesFollowTheOnigCrate) {
  Result<Regex> regex = Regex::compile("x*");
  ASSERT_TRUE(regex.is_ok());
  std::vector<std::pair<size_t, size_t>> matches;
  regex->find_all("axxb", &matches);
  // Rust: Regex::new("x*").find_iter("axxb") -> (0,0) (1,3) (4,4)
  EXPECT_EQ(matches, (std::vector<std::pair<size_t, size_t>>{{0, 0}, {1, 3}, {4, 4}}));
}

}  // namespace
}  // namespace ws::tokenizer_detail
