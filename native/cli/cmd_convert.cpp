// weightstream convert <model> <out-dir | out.gguf> (options: cli/options.cpp)
// An output path ending in .gguf gets a GGUF file (cli/convert_gguf.h).
// Otherwise: writes a standard Hugging Face directory (model.safetensors, config.json,
// tokenizer.json, tokenizer_config.json, ...) from anything ModelSource opens:
// a GGUF file (dequantised, q/k rows back in Hugging Face order, side files
// synthesized), a safetensors directory or file, an http(s) URL.
//
// Memory stays bounded: the safetensors header is computed up front from the
// checkpoint, then tensors are loaded a batch at a time (at most --batch-mib of
// output, or one tensor if larger) and written at their final offsets.
//
// Never over its input (convert DIR DIR is refused before a byte is written),
// and atomically: every file goes to a temporary name in <out-dir> and is
// renamed into place only when all of them are complete, so a failed convert
// leaves <out-dir> as it was.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/file_write.h"
#include "cli/args.h"
#include "cli/http_flags.h"
#include "cli/model_flags.h"
#include "cli/commands.h"
#include "cli/convert_gguf.h"
#include "format/gguf.h"
#include "source/model_source.h"

namespace ws::cli {

namespace {

bool ends_with_gguf(const std::string& path) {
  return path.size() > 5 && path.compare(path.size() - 5, 5, ".gguf") == 0;
}
// Side files copied (or, for GGUF, synthesized) next to the weights.
constexpr const char* kSideFiles[] = {"config.json", "tokenizer.json", "tokenizer_config.json",
                                      "generation_config.json", "special_tokens_map.json"};

// keep: float dtypes stay, ggml block types become F32 (safetensors has no
// block types). f32/f16/bf16: every float and block tensor takes that dtype.
DType output_dtype(DType stored, std::optional<DType> target) {
  const bool float_like = dtype_is_float(stored) || dtype_is_quantized(stored);
  if (target && float_like && can_convert(stored, *target)) return *target;
  return dtype_is_quantized(stored) ? DType::F32 : stored;
}

// Files written under temporary names beside their final ones; renamed by
// commit(), removed by the destructor when not committed.
class PendingFiles {
 public:
  ~PendingFiles() {
    for (const auto& [temp, final_path] : files_) ::unlink(temp.c_str());
  }
  // Creates a temporary file for `final_path`; returns its descriptor.
  Result<int> create(const std::string& final_path) {
    const size_t slash = final_path.rfind('/');
    std::string pattern = final_path.substr(0, slash + 1) + "." + final_path.substr(slash + 1) + ".tmp-XXXXXX";
    std::vector<char> name(pattern.begin(), pattern.end());
    name.push_back('\0');
    const int fd = ::mkstemp(name.data());
    if (fd < 0) return make_error(ErrorKind::Io, final_path + ": cannot create a temporary file: " + std::strerror(errno));
    ::fchmod(fd, 0644);
    files_.emplace_back(name.data(), final_path);
    return fd;
  }
  Status commit() {
    for (const auto& [temp, final_path] : files_) {
      if (::rename(temp.c_str(), final_path.c_str()) != 0) {
        return make_error(ErrorKind::Io, final_path + ": cannot rename into place: " + std::strerror(errno));
      }
    }
    files_.clear();
    return Status::ok();
  }

 private:
  std::vector<std::pair<std::string, std::string>> files_;  // temporary, final
};

Status write_text(PendingFiles& pending, const std::string& path, const std::string& text) {
  WS_ASSIGN_OR_RETURN(const int fd, pending.create(path));
  Status written = write_all_at(fd, reinterpret_cast<const uint8_t*>(text.data()), text.size(), 0, path);
  if (::close(fd) != 0 && written) written = make_error(ErrorKind::Io, path + ": close failed: " + std::strerror(errno));
  return written;
}

// InvalidArgument when an output path is one of the files the source reads
// (same device and inode: also through symlinks, "dir/." or "../dir").
Status check_not_input(const ModelSource& source, const std::string& out_dir) {
  std::vector<std::pair<dev_t, ino_t>> inputs;
  auto add_input = [&](const std::string& path) {
    struct stat st;
    if (::stat(path.c_str(), &st) == 0) inputs.emplace_back(st.st_dev, st.st_ino);
  };
  for (const ShardInfo& shard : source.checkpoint().shards) add_input(source.describe(shard.file_name));
  for (const char* file : kSideFiles) add_input(source.describe(file));
  add_input(source.describe("model.safetensors.index.json"));
  std::vector<std::string> outputs = {"model.safetensors"};
  outputs.insert(outputs.end(), std::begin(kSideFiles), std::end(kSideFiles));
  for (const std::string& name : outputs) {
    const std::string path = out_dir + "/" + name;
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) continue;
    for (const auto& [dev, ino] : inputs) {
      if (st.st_dev == dev && st.st_ino == ino) {
        return make_error(ErrorKind::InvalidArgument, path + " is one of the files being converted: choose another <out-dir>");
      }
    }
  }
  return Status::ok();
}

struct Planned {
  const TensorInfo* tensor;
  DType dtype;
  uint64_t offset;  // absolute, in model.safetensors
  uint64_t bytes;
};

// The safetensors header for `tensors` laid out in order, padded with spaces
// so the data section starts 8-byte aligned (as the reference writer does).
std::string safetensors_header(std::vector<Planned>& tensors) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  header["__metadata__"] = {{"format", "pt"}};
  uint64_t offset = 0;
  for (Planned& p : tensors) {
    header[p.tensor->name] = {{"dtype", dtype_name(p.dtype)}, {"shape", p.tensor->shape},
                              {"data_offsets", {offset, offset + p.bytes}}};
    p.offset = offset;
    offset += p.bytes;
  }
  std::string text = header.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  const uint64_t n = text.size();
  std::memcpy(&out[0], &n, 8);
  for (Planned& p : tensors) p.offset += 8 + n;
  return out + text;
}

// A safetensors header is JSON text: a name that is not UTF-8 (GGUF allows any
// bytes) would be written with U+FFFD in place of its bad bytes, renaming the
// tensor, and two such names can collide into a header our own loader refuses.
Status check_names_are_utf8(const Checkpoint& checkpoint) {
  for (const TensorInfo& t : checkpoint.tensors) {
    const nlohmann::json name = t.name;
    if (name.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) !=
        name.dump(-1, ' ', false, nlohmann::json::error_handler_t::ignore)) {
      return make_error(ErrorKind::Unsupported,
                        "tensor \"" + name.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace) +
                            "\" is not valid UTF-8, which a safetensors header cannot hold");
    }
  }
  return Status::ok();
}

// A Gemma GGUF stores its norms as 1 + w (format/gguf.h): copied as they
// are, transformers would add the 1 again.
Status check_plain_norms(ModelSource& source, const std::string& model) {
  WS_ASSIGN_OR_RETURN(bool has_config, source.has_file("config.json"));
  if (!has_config) return Status::ok();
  WS_ASSIGN_OR_RETURN(std::string config, source.read_text("config.json"));
  if (config.find(kNormWeightsPlusOne) == std::string::npos) return Status::ok();
  return make_error(ErrorKind::Unsupported, model +
                                                ": a Gemma GGUF (norm weights stored as 1 + w) cannot be written as a "
                                                "Hugging Face directory yet; load or generate from it directly");
}

Status convert(ModelSource& source, const std::string& out_dir, std::optional<DType> target, uint64_t batch_bytes) {
  const Checkpoint& checkpoint = source.checkpoint();
  WS_TRY(check_names_are_utf8(checkpoint));
  std::vector<Planned> tensors;
  for (const TensorInfo& t : checkpoint.tensors) {
    const DType dtype = output_dtype(t.dtype, target);
    tensors.push_back({&t, dtype, 0, dtype_storage_bytes(dtype, t.numel())});
  }
  const std::string header = safetensors_header(tensors);
  const std::string path = out_dir + "/model.safetensors";
  PendingFiles pending;
  WS_ASSIGN_OR_RETURN(const int fd, pending.create(path));
  Status status = write_all_at(fd, reinterpret_cast<const uint8_t*>(header.data()), header.size(), 0, path);
  for (size_t first = 0; status && first < tensors.size();) {
    // One batch: consecutive tensors up to batch_bytes of output (at least one).
    size_t last = first;
    uint64_t bytes = 0;
    while (last < tensors.size() && (last == first || bytes + tensors[last].bytes <= batch_bytes)) {
      bytes += tensors[last++].bytes;
    }
    std::vector<HostBuffer> buffers;
    std::vector<ManifestEntry> manifest;
    buffers.reserve(last - first);
    for (size_t i = first; i < last && status; ++i) {
      Result<HostBuffer> buffer = HostBuffer::allocate(tensors[i].bytes);
      if (!buffer) {
        status = buffer.status();
        break;
      }
      buffers.push_back(std::move(*buffer));
      manifest.push_back({tensors[i].tensor->name, tensors[i].dtype, tensors[i].tensor->shape, &buffers.back()});
    }
    if (!status) break;
    Result<LoadPlan> plan = plan_load(checkpoint, manifest);
    if (!plan) {
      status = plan.status();
      break;
    }
    Result<std::unique_ptr<LoadExecutor>> executor = LoadExecutor::create(*plan, manifest);
    if (!executor) {
      status = executor.status();
      break;
    }
    status = source.load(**executor);
    for (size_t i = first; i < last && status; ++i) {
      status = write_all_at(fd, buffers[i - first].data(), tensors[i].bytes, tensors[i].offset, path);
    }
    first = last;
  }
  if (::close(fd) != 0 && status) status = make_error(ErrorKind::Io, path + ": close failed: " + std::strerror(errno));
  WS_TRY(status);

  for (const char* file : kSideFiles) {
    WS_ASSIGN_OR_RETURN(bool present, source.has_file(file));
    if (!present) continue;
    WS_ASSIGN_OR_RETURN(std::string text, source.read_text(file));
    WS_TRY(write_text(pending, out_dir + "/" + file, text));
  }
  return pending.commit();
}

}  // namespace

int run_convert(const Args& args) {
  Result<HttpTransportOptions> http = http_options(args);
  if (!http) return usage_error(kConvert, http.error());
  const bool gguf = ends_with_gguf(args.positional[1]);
  Result<WeightDType> dtype = weight_dtype_flag(args);
  if (!dtype) return usage_error(kConvert, dtype.error());
  const std::optional<DType> target = weight_dtype_storage(*dtype);
  if (target && dtype_is_quantized(*target) && !gguf) {
    return usage_error(kConvert, make_error(ErrorKind::InvalidArgument, std::string("--dtype ") + weight_dtype_name(*dtype) + " needs a .gguf output "
                                                               "(safetensors has no block types)"));
  }
  Result<double> batch_mib = args.get_number("batch-mib", 64);
  if (!batch_mib) return usage_error(kConvert, batch_mib.error());
  if (!(*batch_mib >= 1 && *batch_mib <= 65536)) {
    return usage_error(kConvert, make_error(ErrorKind::InvalidArgument, "--batch-mib must be between 1 and 65536"));
  }
  if (gguf) {
    Result<std::unique_ptr<ModelSource>> source = ModelSource::open(args.positional[0], *http);
    if (!source) return report_error(source.error());
    Status done = convert_to_gguf(**source, args.positional[0], args.positional[1], target,
                                  static_cast<uint64_t>(*batch_mib * (1 << 20)));
    if (!done) return report_error(done.error());
    std::printf("wrote %s\n", args.positional[1].c_str());
    return kExitOk;
  }
  const std::string& out_dir = args.positional[1];
  // Opened first: a model that cannot be opened (a refused certificate, a
  // 404) leaves nothing behind, not even the output directory.
  Result<std::unique_ptr<ModelSource>> source = ModelSource::open(args.positional[0], *http);
  if (!source) return report_error(source.error());
  if (Status plain = check_plain_norms(**source, args.positional[0]); !plain) return report_error(plain.error());
  if (::mkdir(out_dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return report_error(make_error(ErrorKind::Io, out_dir + ": cannot create directory: " + std::strerror(errno)));
  }
  if (Status apart = check_not_input(**source, out_dir); !apart) return report_error(apart.error());
  Status done = convert(**source, out_dir, target, static_cast<uint64_t>(*batch_mib * (1 << 20)));
  if (!done) return report_error(done.error());
  std::printf("wrote %s/model.safetensors (%zu tensors)\n", out_dir.c_str(), (*source)->checkpoint().tensors.size());
  return kExitOk;
}

}  // namespace ws::cli
