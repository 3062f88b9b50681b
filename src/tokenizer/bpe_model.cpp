// HF tokenizers' BPE model (models/bpe/{model,word}.rs), without dropout.
#include <algorithm>
#include <cstdio>
#include <queue>

#include "tokenizer/pipeline.h"
#include "tokenizer/unicode.h"

namespace ws::tokenizer_detail {

void BpeModel::MergeTable::reserve(size_t count) {
  size_t capacity = 16;
  while (capacity < 2 * count) capacity *= 2;
  if (capacity <= slots_.size()) return;
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(capacity, Slot{});
  mask_ = capacity - 1;
  size_ = 0;
  for (const Slot& slot : old) {
    if (slot.key != kEmpty) set(slot.key, slot.target);
  }
}

void BpeModel::MergeTable::set(uint64_t key, MergeTarget target) {
  if (2 * (size_ + 1) > slots_.size()) reserve(size_ + 1);
  for (size_t i = slot_of(key);; i = (i + 1) & mask_) {
    if (slots_[i].key == key) {
      slots_[i].target = target;
      return;
    }
    if (slots_[i].key == kEmpty) {
      slots_[i] = Slot{key, target};
      ++size_;
      return;
    }
  }
}

const BpeModel::MergeTarget* BpeModel::MergeTable::find(uint64_t key) const {
  if (slots_.empty()) return nullptr;
  for (size_t i = slot_of(key);; i = (i + 1) & mask_) {
    if (slots_[i].key == key) return &slots_[i].target;
    if (slots_[i].key == kEmpty) return nullptr;
  }
}

Result<BpeModel> BpeModel::build(std::unordered_map<std::string, int32_t> vocab,
                                 const std::vector<std::pair<std::string, std::string>>& merges,
                                 BpeOptions options) {
  BpeModel model;
  model.options_ = std::move(options);
  for (const auto& [token, id] : vocab) {
    if (id < 0) {
      return make_error(ErrorKind::InvalidConfig, "BPE vocab: token '" + token + "' has negative id " +
                                                       std::to_string(id));
    }
    model.id_limit_ = std::max(model.id_limit_, static_cast<size_t>(id) + 1);
  }
  model.vocab_ = std::move(vocab);

  const size_t prefix_len = model.options_.continuing_subword_prefix.size();
  model.merges_.reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [left, right] = merges[rank];
    auto left_it = model.vocab_.find(left);
    auto right_it = model.vocab_.find(right);
    if (left_it == model.vocab_.end() || right_it == model.vocab_.end()) {
      const std::string& missing = left_it == model.vocab_.end() ? left : right;
      return make_error(ErrorKind::InvalidConfig, "BPE merge #" + std::to_string(rank) + " ('" + left + "' '" +
                                                      right + "') names token '" + missing +
                                                      "' which is not in the vocab");
    }
    // With a continuing-subword prefix ("##"), "a" + "##b" makes "ab".
    std::string merged = left;
    if (prefix_len > 0 && right.compare(0, prefix_len, model.options_.continuing_subword_prefix) == 0) {
      merged.append(right, prefix_len, std::string::npos);
    } else {
      merged += right;
    }
    auto merged_it = model.vocab_.find(merged);
    if (merged_it == model.vocab_.end()) {
      return make_error(ErrorKind::InvalidConfig, "BPE merge #" + std::to_string(rank) + " ('" + left + "' '" +
                                                      right + "') makes token '" + merged +
                                                      "' which is not in the vocab");
    }
    // A repeated pair takes its last rank, as HF's map collection does.
    model.merges_.set(pair_key(left_it->second, right_it->second),
                      MergeTarget{static_cast<int32_t>(rank), merged_it->second});
  }

  if (model.options_.continuing_subword_prefix.empty() && model.options_.end_of_word_suffix.empty()) {
    model.char_ids_.assign(0x10000, -1);
    for (const auto& [token, id] : model.vocab_) {
      uint32_t cp;
      if (!token.empty() && token.size() <= 3 && utf8_decode(token, 0, &cp) == token.size() &&
          (cp != 0xFFFD || token.size() == 3)) {
        model.char_ids_[cp] = id;
      }
    }
  }

  model.byte_tokens_.fill(-1);
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    auto it = model.vocab_.find(name);
    if (it != model.vocab_.end()) model.byte_tokens_[b] = it->second;
  }
  if (model.options_.unk_token) {
    auto it = model.vocab_.find(*model.options_.unk_token);
    if (it == model.vocab_.end()) {
      return make_error(ErrorKind::InvalidConfig,
                        "BPE unk_token '" + *model.options_.unk_token + "' is not in the vocab");
    }
    model.unk_id_ = it->second;
  }
  return model;
}

std::optional<int32_t> BpeModel::find(std::string_view token) const {
  auto it = vocab_.find(std::string(token));
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

namespace {

struct Symbol {
  int32_t id;
  int32_t prev;  // index, -1 for none
  int32_t next;  // index, -1 for none
  bool removed;
};

struct QueuedMerge {
  int32_t rank;
  int32_t pos;
  int32_t new_id;
  // std::priority_queue pops the largest: lowest rank first, then leftmost.
  bool operator<(const QueuedMerge& other) const {
    if (rank != other.rank) return rank > other.rank;
    return pos > other.pos;
  }
};

}  // namespace

void BpeModel::tokenize(std::string_view word, std::vector<int32_t>* ids) const {
  if (word.empty()) return;
  if (options_.ignore_merges) {
    auto it = vocab_.find(std::string(word));
    if (it != vocab_.end()) {
      ids->push_back(it->second);
      return;
    }
  }

  // Initial symbols: one per character, unknown ones as <0xNN> bytes or unk.
  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  const auto add = [&](int32_t id) {
    int32_t index = static_cast<int32_t>(symbols.size());
    symbols.push_back(Symbol{id, index - 1, -1, false});
    if (index > 0) symbols[index - 1].next = index;
  };
  int32_t pending_unk = -1;  // an unk not yet added (fuse_unk grows it)
  std::string piece;
  size_t pos = 0;
  while (pos < word.size()) {
    uint32_t cp;
    size_t len = utf8_decode(word, pos, &cp);
    if (!char_ids_.empty() && cp < 0x10000 && (cp != 0xFFFD || len == 3)) {
      const int32_t id = char_ids_[cp];
      if (id >= 0) {
        pos += len;
        if (pending_unk >= 0) add(pending_unk);
        pending_unk = -1;
        add(id);
        continue;
      }
    }
    piece.clear();
    if (pos > 0) piece += options_.continuing_subword_prefix;
    piece.append(word.substr(pos, len));
    if (pos + len == word.size()) piece += options_.end_of_word_suffix;
    pos += len;

    auto it = vocab_.find(piece);
    if (it != vocab_.end()) {
      if (pending_unk >= 0) add(pending_unk);
      pending_unk = -1;
      add(it->second);
      continue;
    }
    if (options_.byte_fallback) {
      bool all_bytes = std::all_of(piece.begin(), piece.end(),
                                   [&](char c) { return byte_tokens_[static_cast<uint8_t>(c)] >= 0; });
      if (all_bytes) {
        // As in HF, a pending unk is not flushed first (it lands after).
        for (char c : piece) add(byte_tokens_[static_cast<uint8_t>(c)]);
        continue;
      }
    }
    if (unk_id_) {
      if (pending_unk >= 0 && !options_.fuse_unk) add(pending_unk);
      pending_unk = *unk_id_;
    }
  }
  if (pending_unk >= 0) add(pending_unk);

  std::priority_queue<QueuedMerge> queue;
  const auto push_pair = [&](int32_t left) {
    int32_t right = symbols[left].next;
    if (right < 0) return;
    if (const MergeTarget* merge = merges_.find(pair_key(symbols[left].id, symbols[right].id))) {
      queue.push(QueuedMerge{merge->rank, left, merge->new_id});
    }
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(symbols.size()); ++i) push_pair(i);

  while (!queue.empty()) {
    QueuedMerge top = queue.top();
    queue.pop();
    Symbol& left = symbols[top.pos];
    if (left.removed || left.next < 0) continue;
    Symbol& right = symbols[left.next];
    // Skip stale entries: the pair at this position changed since queued.
    const MergeTarget* merge = merges_.find(pair_key(left.id, right.id));
    if (!merge || merge->new_id != top.new_id) continue;
    left.id = top.new_id;
    right.removed = true;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = top.pos;
    if (left.prev >= 0) push_pair(left.prev);
    push_pair(top.pos);
  }
  for (const Symbol& symbol : symbols) {
    if (!symbol.removed) ids->push_back(symbol.id);
  }
}

}  // namespace ws::tokenizer_detail
