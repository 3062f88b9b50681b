// GGUF output for `weightstream convert`. The header is computed before any
// weight moves (every tensor's dtype and byte size is known from the
// checkpoint), then tensors go through the normal load path a batch at a time
// and are written at their offsets: peak memory is one batch plus, for a
// tensor whose rows must be transposed or re-encoded after loading, one copy
// of that tensor.
#include "cli/file_write.h"
#include "cli/convert_gguf.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>

#include "cli/gguf_export.h"
#include "format/gguf_writer.h"
#include "load/load.h"
#include "model/model.h"

namespace ws::cli {

namespace {

struct Job {
  GgufTensorMapping mapping;
  DType out;        // dtype in the file
  DType load;       // dtype the loader produces (out, or F32 when rows are transposed or re-encoded after)
  uint64_t offset;  // absolute, in the file
  uint64_t bytes;   // in the file
};

std::string model_name(std::string location) {
  while (location.size() > 1 && location.back() == '/') location.pop_back();
  const size_t slash = location.rfind('/');
  std::string name = slash == std::string::npos ? location : location.substr(slash + 1);
  if (name.size() > 5 && name.compare(name.size() - 5, 5, ".gguf") == 0) name.resize(name.size() - 5);
  return name;
}

// The bytes of `job` in file order: loaded, transposed, re-encoded, rows interleaved.
Status write_tensor(int fd, const Job& job, HostBuffer& loaded, const std::string& path) {
  const TensorInfo& t = *job.mapping.source;
  const uint64_t numel = t.numel();
  const uint8_t* data = loaded.data();
  HostBuffer transposed, encoded;
  if (job.mapping.rows == GgufRows::Transpose) {
    // Loaded as F32 [in, out]; written [out, in].
    WS_ASSIGN_OR_RETURN(transposed, HostBuffer::allocate(numel * sizeof(float)));
    const uint64_t rows = t.shape[0], cols = t.shape[1];
    const float* in = reinterpret_cast<const float*>(data);
    float* out = reinterpret_cast<float*>(transposed.data());
    for (uint64_t r = 0; r < rows; ++r) {
      for (uint64_t c = 0; c < cols; ++c) out[c * rows + r] = in[r * cols + c];
    }
    data = transposed.data();
  }
  if (job.load != job.out) {
    WS_ASSIGN_OR_RETURN(encoded, HostBuffer::allocate(job.bytes));
    convert_elements(job.load, data, job.out, encoded.data(), numel);
    data = encoded.data();
  }
  if (job.mapping.rows != GgufRows::InterleaveHeads) return write_all_at(fd, data, job.bytes, job.offset, path);

  // convert_hf_to_gguf.py's LlamaModel.permute: within each head, Hugging
  // Face rows [first half | second half] are stored interleaved (h0, h1, h0, ...).
  const uint64_t rows = t.shape[0], heads = job.mapping.heads;
  const uint64_t row_bytes = job.bytes / rows, per_head = rows / heads, half = per_head / 2;
  std::vector<uint8_t> head(per_head * row_bytes);
  for (uint64_t h = 0; h < heads; ++h) {
    const uint8_t* first = data + h * per_head * row_bytes;
    for (uint64_t i = 0; i < half; ++i) {
      std::memcpy(&head[(2 * i) * row_bytes], first + i * row_bytes, row_bytes);
      std::memcpy(&head[(2 * i + 1) * row_bytes], first + (half + i) * row_bytes, row_bytes);
    }
    WS_TRY(write_all_at(fd, head.data(), head.size(), job.offset + h * per_head * row_bytes, path));
  }
  return Status::ok();
}

// Loads jobs [first, last) through the normal plan/executor path and writes them.
Status write_batch(ModelSource& source, int fd, const std::vector<Job>& jobs, size_t first, size_t last,
                   const std::string& path) {
  std::vector<HostBuffer> buffers;
  std::vector<ManifestEntry> manifest;
  buffers.reserve(last - first);
  for (size_t i = first; i < last; ++i) {
    const TensorInfo& t = *jobs[i].mapping.source;
    WS_ASSIGN_OR_RETURN(HostBuffer buffer, HostBuffer::allocate(dtype_storage_bytes(jobs[i].load, t.numel())));
    buffers.push_back(std::move(buffer));
    manifest.push_back({t.name, jobs[i].load, t.shape, &buffers.back()});
  }
  WS_ASSIGN_OR_RETURN(LoadPlan plan, plan_load(source.checkpoint(), manifest));
  WS_ASSIGN_OR_RETURN(std::unique_ptr<LoadExecutor> executor, LoadExecutor::create(plan, manifest));
  WS_TRY(source.load(*executor));
  for (size_t i = first; i < last; ++i) WS_TRY(write_tensor(fd, jobs[i], buffers[i - first], path));
  return Status::ok();
}

// True when `a` and `b` name the same existing file.
bool same_file(const std::string& a, const std::string& b) {
  struct stat sa {}, sb {};
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

}  // namespace

DType gguf_output_dtype(DType stored, const std::vector<uint64_t>& shape, std::optional<DType> target,
                        bool output_head) {
  const bool float_like = dtype_is_float(stored) || dtype_is_quantized(stored);
  if (!float_like) return stored;
  if (shape.size() <= 1) return DType::F32;
  if (!target) return stored;
  if (!dtype_is_quantized(*target)) return *target;
  DType wanted = output_head && *target != DType::Q8_0 ? DType::Q6_K : *target;
  const uint64_t row = shape.back();
  if (row % dtype_block_elements(wanted) == 0) return wanted;
  if (wanted == DType::Q4_K) wanted = DType::Q5_0;
  if (wanted == DType::Q5_K) wanted = DType::Q5_1;
  if (wanted == DType::Q6_K) wanted = DType::Q8_0;
  return row % dtype_block_elements(wanted) == 0 ? wanted : DType::F16;
}

Status convert_to_gguf(ModelSource& source, const std::string& location, const std::string& out_path,
                       std::optional<DType> target, uint64_t batch_bytes) {
  if (same_file(location, out_path)) {
    return make_error(ErrorKind::InvalidArgument, out_path + " is the model being converted; refusing to write over it");
  }
  WS_ASSIGN_OR_RETURN(std::string config_json, source.read_text("config.json"));
  WS_ASSIGN_OR_RETURN(ModelConfig config, parse_model_config(config_json));
  WS_ASSIGN_OR_RETURN(GgufMetadata metadata, gguf_model_metadata(config_json, model_name(location)));
  WS_ASSIGN_OR_RETURN(bool has_tokenizer, source.has_file("tokenizer.json"));
  if (has_tokenizer) {
    WS_ASSIGN_OR_RETURN(std::string tokenizer_json, source.read_text("tokenizer.json"));
    std::string tokenizer_config;
    WS_ASSIGN_OR_RETURN(bool has_config, source.has_file("tokenizer_config.json"));
    if (has_config) {
      WS_ASSIGN_OR_RETURN(tokenizer_config, source.read_text("tokenizer_config.json"));
    }
    WS_ASSIGN_OR_RETURN(GgufMetadata tokens, gguf_tokenizer_metadata(tokenizer_json, tokenizer_config, config));
    metadata.insert(metadata.end(), tokens.begin(), tokens.end());
  } else {
    std::fprintf(stderr, "weightstream: %s has no tokenizer.json: the GGUF gets no tokenizer, and llama.cpp "
                         "needs one to load it\n", location.c_str());
  }

  WS_ASSIGN_OR_RETURN(std::vector<GgufTensorMapping> mappings, gguf_tensor_mappings(config, source.checkpoint()));
  std::vector<Job> jobs;
  std::string unsupported;
  std::map<DType, size_t> matrices;  // out dtype -> count, for general.file_type ("mostly Q4_0")
  bool quantized = false;
  bool has_output = false;
  for (const GgufTensorMapping& m : mappings) has_output = has_output || m.gguf_name == "output.weight";
  for (GgufTensorMapping& m : mappings) {
    const DType stored = m.source->dtype;
    const bool head = m.gguf_name == "output.weight" || (!has_output && m.gguf_name == "token_embd.weight");
    const DType out = gguf_output_dtype(stored, m.shape, target, head);
    // Rows are rearranged in F32 when they must be transposed; a conversion
    // the loader cannot do in one step (say Q4_1 -> Q8_0) goes through F32.
    DType load = out;
    if (m.rows == GgufRows::Transpose || !can_convert(stored, out)) load = DType::F32;
    if (!ggml_type_from_dtype(out) || !can_convert(stored, load) || (load != out && !can_convert(load, out))) {
      unsupported += std::string(unsupported.empty() ? "" : "; ") + m.source->name + " (" + dtype_name(stored) +
                     " -> " + dtype_name(out) + ")";
      continue;
    }
    if (m.shape.size() >= 2) ++matrices[out];
    quantized = quantized || dtype_is_quantized(out);
    jobs.push_back({std::move(m), out, load, 0, 0});
  }
  if (!unsupported.empty()) {
    return make_error(ErrorKind::Unsupported, "cannot write these tensors to GGUF with this build (quantizing "
                                              "needs a loader that can make the block type): " + unsupported);
  }
  // As llama-quantize does: the type asked for, else (keep) the most common one.
  DType mostly = target.value_or(DType::F32);
  if (!target) {
    for (const auto& [dtype, count] : matrices) {
      if (count > matrices[mostly]) mostly = dtype;
    }
  }
  metadata.emplace_back("general.file_type", gguf_u32(gguf_file_type(mostly)));
  if (quantized) metadata.emplace_back("general.quantization_version", gguf_u32(2));

  std::vector<GgufTensorToWrite> infos;
  for (const Job& j : jobs) infos.push_back({j.mapping.gguf_name, j.out, j.mapping.shape});
  WS_ASSIGN_OR_RETURN(GgufFileLayout layout, gguf_file_layout(metadata, infos, 32));
  for (size_t i = 0; i < jobs.size(); ++i) {
    jobs[i].offset = layout.offsets[i];
    jobs[i].bytes = layout.bytes[i];
  }

  // A temporary file beside the output, renamed over it once complete.
  std::string temp = out_path + ".tmp-XXXXXX";
  const int fd = ::mkstemp(&temp[0]);
  if (fd < 0) return make_error(ErrorKind::Io, out_path + ": cannot create a temporary file beside it: " + std::strerror(errno));
  const mode_t mask = ::umask(0);
  ::umask(mask);
  ::fchmod(fd, 0666 & ~mask);
  Status status = write_all_at(fd, reinterpret_cast<const uint8_t*>(layout.header.data()), layout.header.size(), 0, temp);
  // Padding between tensors (and after the last) reads as zeros.
  if (status && ::ftruncate(fd, static_cast<off_t>(layout.file_bytes)) != 0) {
    status = make_error(ErrorKind::Io, temp + ": cannot size the file: " + std::strerror(errno));
  }
  for (size_t first = 0; status && first < jobs.size();) {
    size_t last = first;
    uint64_t bytes = 0;
    while (last < jobs.size()) {
      const uint64_t b = dtype_storage_bytes(jobs[last].load, jobs[last].mapping.source->numel());
      if (last > first && bytes + b > batch_bytes) break;
      bytes += b;
      ++last;
    }
    status = write_batch(source, fd, jobs, first, last, temp);
    first = last;
  }
  if (status && ::fsync(fd) != 0) status = make_error(ErrorKind::Io, temp + ": fsync failed: " + std::strerror(errno));
  if (::close(fd) != 0 && status) status = make_error(ErrorKind::Io, temp + ": close failed: " + std::strerror(errno));
  if (status && ::rename(temp.c_str(), out_path.c_str()) != 0) {
    status = make_error(ErrorKind::Io, out_path + ": cannot rename " + temp + " to it: " + std::strerror(errno));
  }
  if (!status) ::unlink(temp.c_str());
  return status;
}

}  // namespace ws::cli
