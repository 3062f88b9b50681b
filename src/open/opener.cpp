// ModelOpener: the requests, in order, that take a model location to its
// parsed headers and side files. See open.h.
#include <algorithm>
#include <utility>

#include "format/gguf.h"
#include "open/open.h"

namespace ws {

namespace {

constexpr const char* kSingleFile = "model.safetensors";
constexpr const char* kIndexFile = "model.safetensors.index.json";
// What generation reads beside the weights (a GGUF makes its own from metadata).
constexpr const char* kSideFiles[] = {"config.json",          "tokenizer.json",      "tokenizer_config.json",
                                      "generation_config.json", "chat_template.jinja", "chat_template.json"};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

ByteRequest whole_file(const std::string& file, uint64_t cap) {
  ByteRequest r;
  r.file = file;
  r.end = cap;
  r.optional = true;
  r.whole = true;
  return r;
}

}  // namespace

ModelOpener::ModelOpener(std::string location, std::string weights_file, OpenOptions options)
    : location_(std::move(location)), options_(options) {
  if (ends_with(weights_file, ".gguf")) {
    opened_.gguf = true;
    stage_ = Stage::kShard;
    header_file_ = weights_file;
    request_header(weights_file, 0, options_.first_gguf_prefix_bytes);
    return;
  }
  if (options_.side_files) {
    for (const char* name : kSideFiles) wanted_.push_back(whole_file(name, kSideFileMaxBytes));
  }
  if (!weights_file.empty()) {
    stage_ = Stage::kShard;
    header_file_ = weights_file;
  } else {
    // model.safetensors first, as transformers does (modeling_utils checks
    // SAFE_WEIGHTS_NAME before SAFE_WEIGHTS_INDEX_NAME): where both lie in a
    // directory, both programs load the same weights.
    header_file_ = kSingleFile;
  }
  request_header(header_file_, 0, options_.first_safetensors_prefix_bytes);
  if (stage_ == Stage::kFindWeights) wanted_.back().optional = true;
}

void ModelOpener::request_header(const std::string& file, uint64_t begin, uint64_t end) {
  ByteRequest r;
  r.file = file;
  r.begin = begin;
  r.end = std::max(end, begin + 1);
  wanted_.push_back(std::move(r));
}

ByteRequest* ModelOpener::find(const std::string& file) {
  for (ByteRequest& r : wanted_) {
    if (r.file == file) return &r;
  }
  return nullptr;
}

Status ModelOpener::fail(Error error) {
  failed_ = true;
  wanted_.clear();
  prefix_.clear();
  return error;
}

Status ModelOpener::answer(const std::string& file, const uint8_t* data, uint64_t size, uint64_t file_bytes,
                           const std::string& where) {
  ByteRequest* found = find(file);
  if (!found) return make_error(ErrorKind::InvalidArgument, "the opener asked for no bytes of \"" + file + "\"");
  ByteRequest request = *found;
  if (request.whole && file_bytes > request.end) {
    return fail({ErrorKind::OutOfBudget, where + ": " + std::to_string(file_bytes) + " bytes, more than the " +
                                             std::to_string(request.end) + " allowed"});
  }
  const uint64_t expected = file_bytes > request.begin ? std::min(request.end, file_bytes) - request.begin : 0;
  if (size != expected || (size > 0 && data == nullptr)) {
    return fail({ErrorKind::InvalidArgument, where + ": answered with " + std::to_string(size) + " bytes from byte " +
                                                 std::to_string(request.begin) + ", expected " + std::to_string(expected) +
                                                 " of a " + std::to_string(file_bytes) + "-byte file"});
  }
  wanted_.erase(wanted_.begin() + (found - wanted_.data()));
  if (request.whole) {
    std::string text(reinterpret_cast<const char*>(data), size);
    if (stage_ == Stage::kIndex && file == kIndexFile) {
      Result<ShardIndex> index = parse_shard_index(text, where);
      if (!index) return fail(index.error());
      if (index->shard_files.empty()) return fail({ErrorKind::InvalidIndex, where + ": names no shard"});
      index_ = std::move(*index);
      index_where_ = where;
      stage_ = Stage::kShard;
      request_next_shard();
      return Status::ok();
    }
    opened_.files[file] = std::move(text);
    return Status::ok();
  }
  return header_bytes(std::move(request), data, size, file_bytes, where);
}

Status ModelOpener::absent(const std::string& file, const std::string& why) {
  ByteRequest* found = find(file);
  if (!found) return make_error(ErrorKind::InvalidArgument, "the opener asked for no bytes of \"" + file + "\"");
  const ByteRequest request = *found;
  wanted_.erase(wanted_.begin() + (found - wanted_.data()));
  if (stage_ == Stage::kFindWeights && file == kSingleFile) {
    stage_ = Stage::kIndex;
    wanted_.push_back(whole_file(kIndexFile, kIndexFileMaxBytes));
    return Status::ok();
  }
  if (stage_ == Stage::kIndex && file == kIndexFile) {
    return fail({ErrorKind::NotFound,
                 location_ + ": no " + std::string(kSingleFile) + " or " + std::string(kIndexFile) + " found"});
  }
  if (request.optional) return Status::ok();
  if (index_) {
    return fail({ErrorKind::InvalidIndex, why + " (shard named by " + std::string(kIndexFile) + ")"});
  }
  return fail({ErrorKind::NotFound, why});
}

void ModelOpener::request_next_shard() {
  header_file_ = index_->shard_files[next_shard_];
  header_file_bytes_ = 0;
  request_header(header_file_, 0, options_.first_safetensors_prefix_bytes);
}

Status ModelOpener::header_bytes(ByteRequest request, const uint8_t* data, uint64_t size, uint64_t file_bytes,
                                 const std::string& where) {
  if (request.begin == 0) {
    header_file_bytes_ = file_bytes;
  } else if (file_bytes != header_file_bytes_) {
    return fail({ErrorKind::Truncated, where + ": the file changed size while its header was read (" +
                                           std::to_string(header_file_bytes_) + " bytes, now " +
                                           std::to_string(file_bytes) + ")"});
  }
  prefix_.insert(prefix_.end(), data, data + size);
  return opened_.gguf ? gguf_prefix(where) : safetensors_prefix(where);
}

Status ModelOpener::gguf_prefix(const std::string& where) {
  const uint64_t file_bytes = header_file_bytes_;
  Result<GgufPrefix> parsed = parse_gguf_prefix(prefix_.data(), prefix_.size(), file_bytes, where);
  if (!parsed) return fail(parsed.error());
  if (!parsed->header) {
    // The parser only asks for bytes the file has (it checks lengths against
    // file_bytes), so this always makes progress.
    const uint64_t want = std::min<uint64_t>(file_bytes, std::max<uint64_t>(parsed->bytes_needed, prefix_.size() * 2));
    if (want <= prefix_.size()) {
      return fail({ErrorKind::Truncated, where + ": header needs more than the file's " + std::to_string(file_bytes) +
                                             " bytes"});
    }
    request_header(header_file_, prefix_.size(), want);
    return Status::ok();
  }
  const GgufHeader& header = *parsed->header;
  if (Status made = gguf_checkpoint(header, file_bytes, where, opened_.checkpoint); !made) return fail(made.error());
  opened_.checkpoint.shards.back().file_name = header_file_;  // relative: the transport resolves it
  // Side files are best effort: a GGUF of an architecture we cannot run is
  // still a checkpoint to inspect or convert.
  auto keep = [&](const char* name, Result<std::string> made) {
    if (made) {
      opened_.files[name] = std::move(*made);
    } else {
      opened_.file_errors.emplace(name, made.error());
    }
  };
  keep("config.json", gguf_config_json(header, where));
  keep("tokenizer.json", gguf_tokenizer_json(header, where));
  keep("tokenizer_config.json", gguf_tokenizer_config_json(header, where));
  prefix_.clear();
  prefix_.shrink_to_fit();
  stage_ = Stage::kDone;
  return Status::ok();
}

Status ModelOpener::safetensors_prefix(const std::string& where) {
  const uint64_t file_bytes = header_file_bytes_;
  if (prefix_.size() < 8) {
    uint8_t first[8] = {0};
    std::copy(prefix_.begin(), prefix_.end(), first);
    if (file_bytes < 8) {  // the parser names the file too short
      Result<uint64_t> parsed = parse_safetensors_prefix(first, file_bytes, where);
      return fail(parsed ? Error{ErrorKind::Truncated, where + ": shorter than 8 bytes"} : parsed.error());
    }
    request_header(header_file_, prefix_.size(), 8);
    return Status::ok();
  }
  Result<uint64_t> header_bytes = parse_safetensors_prefix(prefix_.data(), file_bytes, where);
  if (!header_bytes) return fail(header_bytes.error());
  if (prefix_.size() < 8 + *header_bytes) {
    request_header(header_file_, prefix_.size(), 8 + *header_bytes);
    return Status::ok();
  }
  ShardInfo shard;
  Checkpoint& checkpoint = opened_.checkpoint;
  const std::string_view header(reinterpret_cast<const char*>(prefix_.data()) + 8, *header_bytes);
  Status parsed = parse_safetensors_header(header, file_bytes, where, checkpoint.shards.size(), shard, checkpoint.tensors);
  if (!parsed) return fail(parsed.error());
  shard.file_name = header_file_;  // relative: the transport resolves it
  checkpoint.shards.push_back(std::move(shard));
  prefix_.clear();
  prefix_.shrink_to_fit();
  return shard_parsed();
}

Status ModelOpener::shard_parsed() {
  if (!index_) {
    stage_ = Stage::kDone;
    return Status::ok();
  }
  if (++next_shard_ < index_->shard_files.size()) {
    request_next_shard();
    return Status::ok();
  }
  if (Status checked = check_shard_index(*index_, opened_.checkpoint, index_where_); !checked) return fail(checked.error());
  opened_.checkpoint.index_metadata = index_->metadata;
  stage_ = Stage::kDone;
  return Status::ok();
}

Result<OpenedModel> ModelOpener::take() {
  if (failed_) return make_error(ErrorKind::InvalidArgument, location_ + ": the open failed");
  if (!done() || stage_ != Stage::kDone) {
    return make_error(ErrorKind::InvalidArgument, location_ + ": the open is not finished (bytes are still wanted)");
  }
  stage_ = Stage::kFindWeights;
  failed_ = true;  // taken once
  return std::move(opened_);
}

}  // namespace ws
