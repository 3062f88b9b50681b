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

// The shape a manifest entry expects of the stored tensor: its own, or with
// a slice, the sliced dimension at the stored length.
std::vector<uint64_t> expected_stored_shape(const ManifestEntry& e, const TensorInfo& t) {
  std::vector<uint64_t> shape = e.shape;
  if (e.slice && e.slice->dim < shape.size() && e.slice->dim < t.shape.size()) shape[e.slice->dim] = t.shape[e.slice->dim];
  return shape;
}

// Why a slice cannot be read as asked, or "" when it can.
std::string slice_problem(const ManifestEntry& e, const TensorInfo& t) {
  const TensorSlice& s = *e.slice;
  const size_t last = t.shape.empty() ? 0 : t.shape.size() - 1;
  if (t.shape.empty() || (s.dim != 0 && s.dim != last)) return "only rows (dim 0) or columns (the last dim) are sliced";
  if (s.begin >= s.end || s.end > t.shape[s.dim] || e.shape[s.dim] != s.end - s.begin) {
    return "slice [" + std::to_string(s.begin) + ", " + std::to_string(s.end) + ") of dim " + std::to_string(s.dim) +
           " does not fit its length " + std::to_string(t.shape[s.dim]) + " and the expected shape " +
           shape_string(e.shape);
  }
  if (s.dim == last && last > 0) {
    // Each row's part must be whole source blocks (a block cannot be cut).
    const uint64_t block = dtype_block_elements(t.dtype);
    if (s.begin % block != 0 || s.end % block != 0) {
      return "columns [" + std::to_string(s.begin) + ", " + std::to_string(s.end) + ") cut " + dtype_name(t.dtype) +
             " blocks of " + std::to_string(block);
    }
  }
  if (t.interleaved_heads != 0 && s.dim == 0) {
    const uint64_t per_head = t.shape[0] / t.interleaved_heads;
    if (s.begin % per_head != 0 || s.end % per_head != 0) return "rows that are not whole rotary heads";
  }
  return "";
}

// A stretch of the stored tensor that lands contiguously in the destination.
struct Run {
  uint64_t source_element;       // in the stored tensor
  uint64_t count;
  uint64_t destination_element;  // in the destination
};

// The runs of `t` that entry `e` keeps, in file order: one for a whole or
// row-sliced tensor; one per row for a column slice or interleaved rotary rows.
std::vector<Run> runs_of(const ManifestEntry& e, const TensorInfo& t) {
  const uint64_t rows = t.shape.empty() ? 1 : t.shape[0];
  const uint64_t row_elements = rows ? t.numel() / rows : 0;
  uint64_t first_row = 0, last_row = rows;  // [first_row, last_row) of the stored rows
  uint64_t col_begin = 0, col_end = row_elements;
  if (e.slice && e.slice->dim == 0) {
    first_row = e.slice->begin;
    last_row = e.slice->end;
  } else if (e.slice) {  // the last dimension of a 2-D tensor (checked by slice_problem)
    col_begin = e.slice->begin;
    col_end = e.slice->end;
  }
  const uint64_t width = col_end - col_begin;
  std::vector<Run> runs;
  if (!t.interleaved_heads && width == row_elements) {
    if (last_row > first_row) runs.push_back({first_row * row_elements, (last_row - first_row) * row_elements, 0});
    return runs;
  }
  runs.reserve(last_row - first_row);
  for (uint64_t row = first_row; row < last_row; ++row) {
    const uint64_t destination_row = (t.interleaved_heads ? hugging_face_row(t, row) : row) - first_row;
    runs.push_back({row * row_elements + col_begin, width, destination_row * width});
  }
  return runs;
}

}  // namespace

TensorSlice split_evenly(size_t dim, uint64_t extent, uint64_t rank, uint64_t world) {
  if (world == 0 || rank >= world) return {dim, 0, 0};
  const uint64_t base = extent / world, extra = extent % world;
  const uint64_t begin = rank * base + std::min(rank, extra);
  return {dim, begin, begin + base + (rank < extra ? 1 : 0)};
}

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
    if (t.shape != expected_stored_shape(e, t)) {
      problems.mismatched.push_back(e.name + " is " + shape_string(t.shape) + " in " +
                                    checkpoint.shards[t.shard].file_name + ", expected " +
                                    shape_string(expected_stored_shape(e, t)));
      continue;
    }
    if (e.slice) {
      if (std::string why = slice_problem(e, t); !why.empty()) {
        problems.unsupported.push_back(e.name + " " + shape_string(t.shape) + ": " + why);
        continue;
      }
    }
    if (!can_convert(t.dtype, e.dtype)) {
      problems.unsupported.push_back(e.name + " " + dtype_name(t.dtype) + " -> " + dtype_name(e.dtype));
      continue;
    }
    if (t.dtype != e.dtype && dtype_is_quantized(e.dtype) && !rows_are_whole_blocks(e.shape, e.dtype)) {
      problems.unsupported.push_back(e.name + " " + shape_string(e.shape) + " -> " + dtype_name(e.dtype) +
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
    uint64_t kept = 1;  // elements the destination holds (a slice's shape is within the checked stored one)
    for (uint64_t d : e.shape) kept *= d;
    plan.bytes_to_bind += dtype_storage_bytes(e.dtype, e.slice ? kept : t.numel());
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
      position = std::max(position, t.begin);
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
      // (file order), each row landing at its Hugging Face row: no extra
      // memory. A slice reads only its runs; the bytes between them are skips.
      for (const Run& run : runs_of(manifest[n.entry], t)) {
        const uint64_t run_begin = t.begin + run.source_element / block_elements * block_bytes;
        if (run_begin > position) shard.windows.push_back({kSkip, position, run_begin, 0, false});
        for (uint64_t first = 0; first < run.count; first += elements_per_window) {
          const uint64_t count = std::min(elements_per_window, run.count - first);
          const uint64_t begin = run_begin + first / block_elements * block_bytes;
          const uint64_t bytes = count / block_elements * block_bytes;
          shard.windows.push_back({n.entry, begin, begin + bytes, run.destination_element + first, identity});
          plan.bytes_needed += bytes;
          if (!identity) plan.staging_bytes = std::max(plan.staging_bytes, bytes);
        }
        position = run_begin + run.count / block_elements * block_bytes;
      }
      if (!manifest[n.entry].slice) position = t.end;
    }
    shard.end = position;
    plan.bytes_to_read += shard.end - shard.begin;
  }
  return plan;
}

}  // namespace ws
