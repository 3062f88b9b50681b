// plan_load: manifest x checkpoint -> per-shard windows in file order.
#include <algorithm>
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
    plan.source_dtypes[i] = t.dtype;
    plan.bytes_to_bind += t.numel() * dtype_size(e.dtype);
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
      const size_t source_size = dtype_size(t.dtype);
      const bool identity = t.dtype == manifest[n.entry].dtype;
      // Every window fits the staging buffer, so a destination that cannot be
      // written in place (GPU memory) can always be staged.
      const uint64_t elements_per_window = std::max<uint64_t>(1, options.staging_bytes / source_size);
      for (uint64_t first = 0; first < t.numel(); first += elements_per_window) {
        const uint64_t count = std::min(elements_per_window, t.numel() - first);
        const uint64_t begin = t.begin + first * source_size;
        shard.windows.push_back({n.entry, begin, begin + count * source_size, first, identity});
        if (!identity) plan.staging_bytes = std::max(plan.staging_bytes, count * source_size);
      }
      position = t.end;
    }
    shard.end = position;
    plan.bytes_to_read += shard.end - shard.begin;
  }
  return plan;
}

}  // namespace ws
