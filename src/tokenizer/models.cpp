// The WordPiece, WordLevel and Unigram models, and Model, which dispatches to the kind a
// tokenizer.json names (BPE lives in bpe_model.cpp).
#include <algorithm>
#include <limits>

#include "tokenizer/pipeline.h"
#include "tokenizer/unicode.h"

namespace ws::tokenizer_detail {

void WordPieceModel::tokenize(std::string_view word, std::vector<int32_t>* ids) const {
  const auto unk = vocab.find(unk_token);
  const auto push_unk = [&] {
    if (unk != vocab.end()) ids->push_back(unk->second);  // HF fails without an unk token; we drop the word
  };
  size_t chars = 0;
  for (size_t pos = 0; pos < word.size(); pos += utf8_char_length(word, pos)) ++chars;
  if (chars > max_input_chars_per_word) return push_unk();
  std::vector<int32_t> pieces;
  std::string candidate;
  for (size_t start = 0; start < word.size();) {
    size_t end = word.size();
    std::optional<int32_t> found;
    while (start < end) {
      candidate.assign(start > 0 ? continuing_subword_prefix : std::string());
      candidate.append(word.substr(start, end - start));
      if (auto it = vocab.find(candidate); it != vocab.end()) {
        found = it->second;
        break;
      }
      // Back off by the last character of the candidate.
      size_t last = end - 1;
      while (last > start && (static_cast<unsigned char>(word[last]) & 0xC0) == 0x80) --last;
      end = last;
    }
    if (!found) return push_unk();
    pieces.push_back(*found);
    start = end;
  }
  ids->insert(ids->end(), pieces.begin(), pieces.end());
}

void UnigramModel::tokenize(std::string_view word, std::vector<int32_t>* ids) const {
  constexpr double kUnkPenalty = 10.0;
  struct Node {
    int32_t id = -1;
    double score = 0;
    size_t starts_at = std::numeric_limits<size_t>::max();  // none yet
  };
  const size_t size = word.size();
  if (size == 0) return;
  const double unk_score = min_score - kUnkPenalty;
  std::vector<Node> best(size + 1);
  std::string piece;
  for (size_t start = 0; start < size;) {
    const double score_here = best[start].score;
    const size_t char_length = utf8_char_length(word, start);
    bool has_single_char = false;
    // Every vocabulary piece starting here, shortest first (HF's trie order:
    // on equal scores the first one found stays).
    for (size_t length = 1; length <= std::min(longest_piece, size - start); ++length) {
      piece.assign(word.substr(start, length));
      auto it = vocab.find(piece);
      if (it == vocab.end()) continue;
      Node& target = best[start + length];
      const double candidate = pieces[static_cast<size_t>(it->second)].second + score_here;
      if (target.starts_at == std::numeric_limits<size_t>::max() || candidate > target.score) {
        target = Node{it->second, candidate, start};
      }
      if (length == char_length) has_single_char = true;
    }
    if (!has_single_char) {
      Node& target = best[start + char_length];
      const double candidate = unk_score + score_here;
      if (target.starts_at == std::numeric_limits<size_t>::max() || candidate > target.score) {
        target = Node{unk_id.value_or(-1), candidate, start};
      }
    }
    start += char_length;
  }
  // Back from the end: the best path, unknown pieces fused.
  std::vector<std::pair<size_t, size_t>> path;  // byte ranges, last first
  bool previous_unknown = false;
  for (size_t end = size; end > 0;) {
    const Node& node = best[end];
    const bool unknown = unk_id && node.id == *unk_id;
    if (unknown && previous_unknown) {
      path.back().first = node.starts_at;
    } else {
      path.emplace_back(node.starts_at, end);
    }
    previous_unknown = unknown;
    end = node.starts_at;
  }
  std::reverse(path.begin(), path.end());
  for (const auto& [begin, end] : path) {
    const std::string text(word.substr(begin, end - begin));
    if (auto it = vocab.find(text); it != vocab.end()) {
      ids->push_back(it->second);
      continue;
    }
    if (byte_fallback) {
      std::vector<int32_t> bytes;
      static const char* hex = "0123456789ABCDEF";
      for (char c : text) {
        const auto b = static_cast<unsigned char>(c);
        auto it = vocab.find(std::string("<0x") + hex[b >> 4] + hex[b & 15] + ">");
        if (it == vocab.end()) break;
        bytes.push_back(it->second);
      }
      if (bytes.size() == text.size()) {
        ids->insert(ids->end(), bytes.begin(), bytes.end());
        continue;
      }
    }
    if (unk_id) ids->push_back(*unk_id);  // HF fails without an unk id; we drop the piece
  }
}

void WordLevelModel::tokenize(std::string_view word, std::vector<int32_t>* ids) const {
  if (auto it = vocab.find(std::string(word)); it != vocab.end()) {
    ids->push_back(it->second);
  } else if (auto unk = vocab.find(unk_token); unk != vocab.end()) {
    ids->push_back(unk->second);  // HF fails without an unk token; we drop the word
  }
}

void Model::tokenize(std::string_view word, std::vector<int32_t>* ids) const {
  switch (kind) {
    case Kind::Bpe: return bpe.tokenize(word, ids);
    case Kind::WordPiece: return wordpiece.tokenize(word, ids);
    case Kind::WordLevel: return wordlevel.tokenize(word, ids);
    case Kind::Unigram: return unigram.tokenize(word, ids);
  }
}

const std::unordered_map<std::string, int32_t>& Model::vocab() const {
  switch (kind) {
    case Kind::WordPiece: return wordpiece.vocab;
    case Kind::WordLevel: return wordlevel.vocab;
    case Kind::Unigram: return unigram.vocab;
    case Kind::Bpe: break;
  }
  return bpe.vocab();
}

std::optional<int32_t> Model::find(std::string_view token) const {
  if (kind == Kind::Bpe) return bpe.find(token);
  const auto& map = vocab();
  auto it = map.find(std::string(token));
  return it == map.end() ? std::nullopt : std::optional<int32_t>(it->second);
}

size_t Model::id_limit() const {
  switch (kind) {
    case Kind::Unigram: return unigram.pieces.size();
    case Kind::WordPiece:
    case Kind::WordLevel: {
      size_t limit = 0;
      for (const auto& [token, id] : vocab()) limit = std::max(limit, static_cast<size_t>(id) + 1);
      return limit;
    }
    case Kind::Bpe: break;
  }
  return bpe.id_limit();
}

}  // namespace ws::tokenizer_detail
