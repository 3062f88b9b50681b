// plan_load: manifest x checkpoint -> per-shard windows in file order.
#include <algorithm>
#include <numeric>
#include <unordered_map>

#include "load/load.h"

namespace ws {

namespace {

std::string shape_string(const std::vector<uint64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Collects every problem before failing, so a user sees all of them at once
// (as transformers reports missing and unexpected keys together).
struct Problems {
  std::vector<std::string> missing, mismatched, unsupported, unexpected, duplicated;

  bool empty() const {
    return missing.empty() && mismatched.empty() && unsupported.empty() && unexpected.empty() && duplicated.empty();
  }
  Error to_error() const {
    std::string message;
    auto section = [&](const char* title, const std::vector<std::string>& items) {
      if (items.empty()) return;
      if (!message.empty()) message += "; ";
      message += title + std::string(" (") + std::to_string(items.size()) + "): ";
      const size_t shown = std::min<size_t>(items.size(), 20);
      for (size_t i = 0; i < shown; ++i) message += (i ? ", " : "") + items[i];
      if (shown < items.size()) message += ", ... and " + std::to_string(items.size() - shown) + " more";
    };
    section("duplicate manifest entries", duplicated);
    section("missing tensors", missing);
    section("shape mismatches", mismatched);
    section("unsupported conversions", unsupported);
    section("unexpected tensors", unexpected);
    ErrorKind kind = !duplicated.empty()  ? ErrorKind::InvalidArgument
                     : !missing.empty()   ? ErrorKind::MissingTensor
                     : !mismatched.empty() ? ErrorKind::ShapeMismatch
                     : !unsupported.empty() ? ErrorKind::Unsupported
                                            : ErrorKind::UnexpectedTensor;
    return make_error(kind, message);
  }
};

// llama.cpp's converter permutes the rows of each head h of q/k as
// reshape(heads, 2, half, cols).swapaxes(1, 2): file row h*d + 2*i + j holds
// Hugging Face row h*d + j*half + i (d = rows per head, half = d / 2).
uint64_t hugging_face_row(const TensorInfo& t, uint64_t file_row) {
  const uint64_t per_head = t.shape[0] / t.interleaved_heads, half = per_head / 2;
  const uint64_t head = file_row / per_head, within = file_row % per_head;
  return head * per_head + (within % 2) * half + within / 2;
}

bool interleaved_rows_valid(const TensorInfo& t) {
  if (t.shape.empty() || t.shape[0] == 0 || t.shape[0] % t.interleaved_heads != 0) return false;
  if ((t.shape[0] / t.interleaved_heads) % 2 != 0) return false;
  // Rows must be whole blocks so a row is a byte range of its own.
  return (t.numel() / t.shape[0]) % dtype_block_elements(t.dtype) == 0;
}

// A quantised destination keeps ggml's layout: every row (last dimension) is
// a whole number of blocks, so rows, and the windows cut on block boundaries,
// never share a block.
bool rows_are_whole_blocks(const std::vector<uint64_t>& shape, DType dtype) {
  return !shape.empty() && shape.back() % dtype_block_elements(dtype) == 0;
}

struct Needed {
  const TensorInfo* tensor;
  size_t entry;
};

}  // namespace

Result<LoadPlan> plan_load(const Checkpoint& checkpoint, const std::vector<ManifestEntry>& manifest,
                           const PlanOptions& options) {
  if (options.staging_bytes < 64) {
    return make_error(ErrorKind::InvalidArgument, "staging buffer must be at least 64 bytes");
  }
  std::unordered_map<std::string, const TensorInfo*> by_name;
  by_name.reserve(checkpoint.tensors.size());
  for (const TensorInfo& t : checkpoint.tensors) by_name.emplace(t.name, &t);

  Problems problems;
  LoadPlan plan;
  plan.shards.resize(checkpoint.shards.size());
  plan.source_dtypes.resize(manifest.size());
  std::vector<std::vector<Needed>> needed(checkpoint.shards.size());
  std::unordered_map<std::string, size_t> entry_of;
  for (size_t i = 0; i < manifest.size(); ++i) {
    const ManifestEntry& e = manifest[i];
    if (!entry_of.emplace(e.name, i).second) {
      problems.duplicated.push_back(e.name);
      continue;
    }
    auto it = by_name.find(e.name);
    if (it == by_name.end()) {
      problems.missing.push_back(e.name);
      continue;
    }
    const TensorInfo& t = *it->second;
    if (t.shape != e.shape) {
      problems.mismatched.push_back(e.name + " is " + shape_string(t.shape) + " in " +
                                    checkpoint.shards[t.shard].file_name + ", expected " + shape_string(e.shape));
      continue;
    }
    if (!can_convert(t.dtype, e.dtype)) {
      problems.unsupported.push_back(e.name + " " + dtype_name(t.dtype) + " -> " + dtype_name(e.dtype));
      continue;
    }
    if (t.dtype != e.dtype && dtype_is_quantized(e.dtype) && !rows_are_whole_blocks(t.shape, e.dtype)) {
      problems.unsupported.push_back(e.name + " " + shape_string(t.shape) + " -> " + dtype_name(e.dtype) +
                                     ": rows are not a whole number of " +
                                     std::to_string(dtype_block_elements(e.dtype)) + "-element blocks");
      continue;
    }
    if (t.interleaved_heads != 0 && !interleaved_rows_valid(t)) {
      problems.unsupported.push_back(e.name + " stores " + std::to_string(t.interleaved_heads) +
                                     " interleaved rotary heads, which do not divide its rows in halves");
      continue;
    }
    plan.source_dtypes[i] = t.dtype;
    plan.bytes_to_bind += dtype_storage_bytes(e.dtype, t.numel());
    needed[t.shard].push_back({&t, i});
  }
  if (!options.allow_unused_tensors) {
    for (const TensorInfo& t : checkpoint.tensors) {
      if (!entry_of.count(t.name)) problems.unexpected.push_back(t.name);
    }
  }
  if (!problems.empty()) return problems.to_error();

  for (size_t s = 0; s < needed.size(); ++s) {
    std::vector<Needed>& list = needed[s];
    // Empty tensors share their begin with the next tensor: order by (begin, end).
    std::sort(list.begin(), list.end(), [](const Needed& a, const Needed& b) {
      return a.tensor->begin != b.tensor->begin ? a.tensor->begin < b.tensor->begin : a.tensor->end < b.tensor->end;
    });
    ShardPlan& shard = plan.shards[s];
    // Skip windows only cover gaps between needed tensors: bytes before the
    // first and after the last needed tensor are never read.
    uint64_t position = list.empty() ? 0 : list.front().tensor->begin;
    shard.begin = position;
    for (const Needed& n : list) {
      const TensorInfo& t = *n.tensor;
      if (t.begin > position) shard.windows.push_back({kSkip, position, t.begin, 0, false});
      const bool identity = t.dtype == manifest[n.entry].dtype;
      // Every window fits the staging buffer (at least one block), so a
      // destination that cannot be written in place (GPU memory) can always be
      // staged; windows start and end on source block boundaries, and on
      // destination block boundaries when they quantise (a unit is then one
      // destination block: its source bytes may exceed a tiny staging size).
      const uint64_t block_elements = dtype_block_elements(t.dtype), block_bytes = dtype_block_bytes(t.dtype);
      const uint64_t unit_elements = std::lcm(block_elements, dtype_block_elements(manifest[n.entry].dtype));
      const uint64_t unit_bytes = unit_elements / block_elements * block_bytes;
      const uint64_t elements_per_window = std::max<uint64_t>(1, options.staging_bytes / unit_bytes) * unit_elements;
      // A tensor stored with interleaved rotary rows is read one row at a time
      // (file order), each row landing at its Hugging Face row: no extra memory.
      const uint64_t rows = t.interleaved_heads ? t.shape[0] : 1;
      const uint64_t row_elements = t.numel() / std::max<uint64_t>(rows, 1);
      for (uint64_t row = 0; row < rows; ++row) {
        const uint64_t destination_row = t.interleaved_heads ? hugging_face_row(t, row) : row;
        for (uint64_t first = 0; first < row_elements; first += elements_per_window) {
          const uint64_t count = std::min(elements_per_window, row_elements - first);
          const uint64_t begin = t.begin + (row * row_elements + first) / block_elements * block_bytes;
          const uint64_t bytes = count / block_elements * block_bytes;
          shard.windows.push_back({n.entry, begin, begin + bytes, destination_row * row_elements + first, identity});
          if (!identity) plan.staging_bytes = std::max(plan.staging_bytes, bytes);
        }
      }
      position = t.end;
    }
    shard.end = position;
    plan.bytes_to_read += shard.end - shard.begin;
  }
  return plan;
}

}  // namespace ws
