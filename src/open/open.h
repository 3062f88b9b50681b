// Opening a model, for every target: what it takes, before any weight byte
// moves, to hold a checkpoint's headers (safetensors, sharded or not, or one
// GGUF file), its config, tokenizer, chat template and generation settings.
//
// There is no transport here. A ModelOpener is a state machine that asks for
// bytes ("file F, bytes [a, b)") and is handed them: natively through the
// file and HTTP transports (native/source/model_source.cpp), in the browser
// through fetch (web/js/index.js via web/src/exports.cpp). Every decision
// (which files, in which order, how far a GGUF header prefix grows, what a
// missing shard means) is made once, here.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "format/format.h"

namespace ws {

// One thing the opener needs: bytes [begin, end) of `file` (a name relative
// to the model's root: "config.json", "model-00001-of-00002.safetensors").
// The answer holds the bytes the file has in that range (fewer where it ends
// first) and the file's whole size.
struct ByteRequest {
  std::string file;
  uint64_t begin = 0;
  uint64_t end = 0;
  // A file that may not exist: ModelOpener::absent is an answer, not an error.
  bool optional = false;
  // The whole file is wanted; `end` is the cap on its size (a larger file is
  // OutOfBudget, so a caller may skip reading it once it knows the size).
  bool whole = false;
};

struct OpenOptions {
  // Also read the side files generation needs (config.json, tokenizer.json,
  // tokenizer_config.json, generation_config.json, chat_template.jinja,
  // chat_template.json). Off for tools that only need the headers (inspect,
  // convert): a GGUF's are made from its metadata either way.
  bool side_files = true;
  // The first request of a weights file's header. Most safetensors headers
  // fit in 256 KiB (a 7B shard's is tens of kB) and most GGUF headers,
  // vocabulary included, in a few MiB; past that the prefix doubles, so a
  // 10 MB vocabulary takes a handful of requests, not thousands.
  uint64_t first_safetensors_prefix_bytes = 256ull << 10;
  uint64_t first_gguf_prefix_bytes = 4ull << 20;
};

// Caps on side files: the largest real tokenizer.json files are tens of MB;
// an index of a huge checkpoint a few MB.
constexpr uint64_t kSideFileMaxBytes = 64ull << 20;
constexpr uint64_t kIndexFileMaxBytes = 256ull << 20;

struct OpenedModel {
  Checkpoint checkpoint;  // shard file names relative to the model's root
  bool gguf = false;
  // Side files by name: read (OpenOptions::side_files) or, for a GGUF,
  // made from its metadata. A GGUF's are the only ones: files that happen to
  // lie beside it belong to some other model.
  std::map<std::string, std::string> files;
  // Why a GGUF side file could not be made (an architecture we do not run:
  // Unsupported, naming it). The file is still a checkpoint to inspect.
  std::map<std::string, Error> file_errors;
};

class ModelOpener {
 public:
  // `weights_file`: the one weights file a location names (ends in .gguf or
  // .safetensors), or "" for a directory (model.safetensors, else
  // model.safetensors.index.json and its shards, as transformers looks).
  // `location` (the directory or file the user named, credentials redacted)
  // is what messages about the model as a whole name.
  ModelOpener(std::string location, std::string weights_file, OpenOptions options = {});

  // What is wanted now, in any order (empty when done() or failed). Side files
  // are asked for together with the first header bytes, so a caller that can
  // may fetch them in parallel.
  const std::vector<ByteRequest>& wanted() const { return wanted_; }
  bool done() const { return wanted_.empty() && !failed_; }

  // The answer to the request for `file`: `size` bytes from the request's
  // begin, `file_bytes` the file's size; `where` (a path or URL) is what
  // error messages name. Errors: InvalidArgument for an answer to nothing
  // asked, or of the wrong length; the parsers' (InvalidHeader, Truncated,
  // InvalidIndex, OutOfBudget, ...). After an error the opener is failed and
  // wants nothing more.
  Status answer(const std::string& file, const uint8_t* data, uint64_t size, uint64_t file_bytes,
                const std::string& where);
  // `file` does not exist (`why`: the transport's words, naming the file):
  // fine for an optional file, else NotFound (a shard an index names:
  // InvalidIndex).
  Status absent(const std::string& file, const std::string& why);

  // The opened model, once done(); InvalidArgument before.
  Result<OpenedModel> take();

 private:
  enum class Stage { kFindWeights, kIndex, kShard, kDone };
  Status fail(Error error);
  ByteRequest* find(const std::string& file);
  void request_header(const std::string& file, uint64_t begin, uint64_t end);
  void request_next_shard();
  Status header_bytes(ByteRequest request, const uint8_t* data, uint64_t size, uint64_t file_bytes,
                      const std::string& where);
  Status gguf_prefix(const std::string& where);
  Status safetensors_prefix(const std::string& where);
  Status shard_parsed();

  std::string location_;
  OpenOptions options_;
  Stage stage_ = Stage::kFindWeights;
  bool failed_ = false;
  std::vector<ByteRequest> wanted_;
  OpenedModel opened_;
  // The weights file whose header is being read, and its first bytes.
  std::string header_file_;
  uint64_t header_file_bytes_ = 0;
  std::vector<uint8_t> prefix_;
  std::optional<ShardIndex> index_;
  std::string index_where_;
  size_t next_shard_ = 0;
};

}  // namespace ws
