// A model location (directory, single .safetensors file, or http(s) URL of a
// directory) opened as: side files (config.json, tokenizer.json, ...), the
// parsed and cross-checked checkpoint, and a way to stream its shards into a
// LoadExecutor. Only headers and small side files are read by open().
#pragma once

#include <map>
#include <memory>
#include <string>

#include "load/load.h"
#include "open/open.h"
#include "source/http_options.h"
#include "source/mapped_file.h"

namespace ws {

// How bytes of the model's files are fetched: local files or HTTP ranges.
class Transport {
 public:
  virtual ~Transport() = default;
  // Full size of `file` (relative to the model root). Io/Http error if absent.
  virtual Result<uint64_t> file_size(const std::string& file) = 0;
  // Exactly `len` bytes at `offset` into `dst`, or an error (Truncated at EOF).
  virtual Status read(const std::string& file, uint64_t offset, uint8_t* dst, uint64_t len) = 0;
  // Streams shard `shard` (file `file`) through the executor in file order;
  // with readers.readers > 1, and a shard the executor can fill in parallel,
  // in pieces on that many threads (HTTP: connections).
  virtual Status stream(const std::string& file, size_t shard, LoadExecutor& executor, const ParallelFill& readers) = 0;
  // Human-readable location of `file`, for error messages.
  virtual std::string describe(const std::string& file) const = 0;
  // A read-only mapping of `file` for zero-copy binding, where the transport
  // has one (local files); Unsupported otherwise.
  virtual Result<std::shared_ptr<const MappedFile>> map(const std::string& file, bool populate) {
    return make_error(ErrorKind::Unsupported, describe(file) + ": cannot be memory-mapped");
  }
};

// Readers (threads; HTTP: connections) per shard when nobody says: on the
// 2-core VM bench/RESULTS-readers.md measures 4 against 1. Staging stays the
// plan's own (one slot) unless the caller gives its budget.
constexpr unsigned kDefaultReaders = 4;
inline ParallelFill default_readers() {
  ParallelFill fill;
  fill.readers = kDefaultReaders;
  return fill;
}

class ModelSource {
 public:
  // `location`: a directory holding model.safetensors or
  // model.safetensors.index.json + shards (config.json optional), a single
  // .safetensors file, an http(s):// URL of such a directory, or a .gguf file
  // (local path or URL). A GGUF file is one shard whose tensors carry Hugging
  // Face names; its config.json, tokenizer.json and tokenizer_config.json are
  // synthesized from its metadata (read_text returns them).
  // `http` applies to a URL (headers, CA bundle, deadlines; its load deadline
  // runs from this call to the end of load()); check_http_options' errors.
  // The requests come from the shared ModelOpener (src/open); `options`
  // decides whether generation's side files are read now (read_text reads
  // any other file when asked). Errors: the opener's and the transport's.
  static Result<std::unique_ptr<ModelSource>> open(const std::string& location,
                                                   const HttpTransportOptions& http = {},
                                                   const OpenOptions& options = without_side_files());
  static OpenOptions without_side_files() {
    OpenOptions options;
    options.side_files = false;
    return options;
  }

  const Checkpoint& checkpoint() const { return opened_.checkpoint; }
  // The headers and the side files read or made while opening.
  const OpenedModel& opened() const { return opened_; }
  const std::string& location() const { return location_; }
  // location() for messages: credentials in a URL replaced by ***.
  std::string shown_location() const;
  // Where `file` (relative to the model root) is: a local path, or a URL
  // (credentials redacted).
  std::string describe(const std::string& file) const { return transport_->describe(file); }
  // A small side file next to the weights (config.json, tokenizer.json,
  // generation_config.json, ...). Io/Http error if it does not exist. For a
  // GGUF file only those made from its metadata exist; one it could not make
  // is that error (Unsupported naming the architecture).
  Result<std::string> read_text(const std::string& file_name, uint64_t max_bytes = 64ull << 20);
  // True if the file exists, false if it does not (NotFound), else the error
  // (a refused connection, a 500, a permission problem).
  Result<bool> has_file(const std::string& file_name);

  // Streams every shard through the executor (each byte read once), each
  // shard by `readers` (LoadExecutor::fill_parallel; one reader: file order).
  Status load(LoadExecutor& executor, const ParallelFill& readers = default_readers());

  // Maps shard `shard` read-only (local files only; Unsupported over HTTP).
  // A tensor whose stored dtype is the one wanted can then be bound as a view
  // at data() + TensorInfo::begin, with no copy at all.
  Result<std::shared_ptr<const MappedFile>> map_shard(size_t shard, bool populate);

 private:
  std::string location_;
  std::unique_ptr<Transport> transport_;
  // GGUF: the side files made from its metadata are the only ones: files that
  // happen to lie beside the .gguf belong to some other model.
  OpenedModel opened_;
};

}  // namespace ws
