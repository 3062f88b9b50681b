// The window executor: a cursor per shard that tells a source where the next
// bytes go, and finishes a window (conversion, or hand-off to a non-host
// destination) once its last byte has arrived.
#include <algorithm>
#include <numeric>

#include "load/load.h"
#include "util/thread_pool.h"

namespace ws {

namespace {

bool writes_in_place(const Window& w, const std::vector<ManifestEntry>& manifest) {
  return w.entry != kSkip && w.identity && manifest[w.entry].destination->host_data() != nullptr;
}

}  // namespace

LoadExecutor::LoadExecutor(const LoadPlan& plan, const std::vector<ManifestEntry>& manifest)
    : plan_(plan), manifest_(manifest) {}

LoadExecutor::~LoadExecutor() = default;

void LoadExecutor::set_conversion_threads(int threads) {
  pool_ = threads > 1 ? std::make_unique<detail::ThreadPool>(threads) : nullptr;
}

// One piece per thread, each a whole number of source and destination blocks
// (every block is converted on its own, so the split cannot change a bit).
void LoadExecutor::convert_window(DType from, const uint8_t* in, DType to, uint8_t* out, uint64_t count) {
  const uint64_t unit = std::lcm(dtype_block_elements(from), dtype_block_elements(to));
  const uint64_t units = count / unit;
  std::unique_lock<std::mutex> pool_lock(pool_mutex_, std::try_to_lock);
  if (!pool_ || !pool_lock.owns_lock() || units < 2) return convert_elements(from, in, to, out, count);
  const uint64_t pieces = std::min<uint64_t>(units, static_cast<uint64_t>(pool_->threads()));
  const uint64_t per_piece = (units + pieces - 1) / pieces * unit;
  pool_->parallel_for(static_cast<size_t>(pieces), [&](size_t i) {
    const uint64_t first = i * per_piece;
    if (first >= count) return;
    const uint64_t n = std::min(per_piece, count - first);
    convert_elements(from, in + dtype_storage_bytes(from, first), to, out + dtype_storage_bytes(to, first), n);
  });
}

Result<std::unique_ptr<LoadExecutor>> LoadExecutor::create(const LoadPlan& plan,
                                                           const std::vector<ManifestEntry>& manifest) {
  if (plan.source_dtypes.size() != manifest.size()) {
    return make_error(ErrorKind::InvalidArgument, "the plan was made for a different manifest");
  }
  for (const ManifestEntry& e : manifest) {
    if (!e.destination) return make_error(ErrorKind::InvalidArgument, "no destination for tensor \"" + e.name + "\"");
  }
  std::unique_ptr<LoadExecutor> executor(new LoadExecutor(plan, manifest));
  uint64_t staging = 0;
  for (const ShardPlan& shard : plan.shards) {
    for (const Window& w : shard.windows) {
      if (w.entry != kSkip && !writes_in_place(w, manifest)) staging = std::max(staging, w.file_end - w.file_begin);
    }
  }
  executor->staging_needed_ = staging;
  executor->staging_.resize(staging);
  executor->cursors_.resize(plan.shards.size());
  for (size_t s = 0; s < plan.shards.size(); ++s) executor->cursors_[s].offset = plan.shards[s].begin;
  return executor;
}

bool LoadExecutor::converts(const Window& w) const { return w.entry != kSkip && !writes_in_place(w, manifest_); }

uint64_t LoadExecutor::staging_allocated() const {
  uint64_t bytes = staging_.size();
  for (const std::vector<uint8_t>& slot : extra_slots_) bytes += slot.size();
  return bytes;
}

FillTarget LoadExecutor::next(size_t shard) const {
  const Cursor& c = cursors_[shard];
  const std::vector<Window>& windows = plan_.shards[shard].windows;
  if (c.window >= windows.size()) return {c.offset, nullptr, 0};
  const Window& w = windows[c.window];
  const uint64_t into_window = c.offset - w.file_begin;
  const uint64_t remaining = w.file_end - c.offset;
  if (w.entry == kSkip) return {c.offset, nullptr, remaining};
  if (writes_in_place(w, manifest_)) {
    uint8_t* base = manifest_[w.entry].destination->host_data();
    return {c.offset, base + dtype_storage_bytes(plan_.source_dtypes[w.entry], w.first_element) + into_window,
            remaining};
  }
  return {c.offset, staging_for(c, w) + into_window, remaining};
}

void LoadExecutor::set_staging(StagingProvider* provider) {
  provider_ = provider;
  if (provider_) std::vector<uint8_t>().swap(staging_);
}

uint8_t* LoadExecutor::staging_for(const Cursor& c, const Window& w) const {
  // A provider's buffer is kept for the whole window; the executor's own is
  // looked up afresh (scratch() may move it between windows).
  if (c.staging) return c.staging;
  const uint64_t bytes = w.file_end - w.file_begin;
  if (provider_ && (c.staging = provider_->acquire(bytes))) return c.staging;
  if (staging_.size() < std::max(bytes, staging_needed_)) staging_.resize(std::max(bytes, staging_needed_));
  return staging_.data();
}

uint8_t* LoadExecutor::scratch(uint64_t len) {
  // Skipped bytes are read into the staging buffer (growing it would break the
  // memory bound, so callers read skips in pieces of at most this size).
  if (staging_.size() < std::min<uint64_t>(len, 1ull << 20)) staging_.resize(std::min<uint64_t>(len, 1ull << 20));
  return staging_.data();
}

Status LoadExecutor::commit(size_t shard, uint64_t n) {
  Cursor& c = cursors_[shard];
  if (cancelled_.load(std::memory_order_relaxed)) {
    return make_error(ErrorKind::Cancelled, "load cancelled at byte " + std::to_string(bytes_done_.load()) + " of " +
                                                std::to_string(plan_.bytes_to_read));
  }
  const std::vector<Window>& windows = plan_.shards[shard].windows;
  if (c.window >= windows.size() || n == 0 || n > windows[c.window].file_end - c.offset) {
    return make_error(ErrorKind::InvalidArgument, "commit of " + std::to_string(n) + " bytes at shard " +
                                                      std::to_string(shard) + " offset " + std::to_string(c.offset) +
                                                      " does not fit the current window");
  }
  c.offset += n;
  bytes_done_ += n;
  const Window& w = windows[c.window];
  if (c.offset == w.file_end) {
    Status finished = finish_window(shard, w, c.staging ? c.staging : staging_.data());
    c.staging = nullptr;
    WS_TRY(finished);
    ++c.window;
  }
  if (progress_) progress_({bytes_done_.load(), plan_.bytes_to_read});
  if (cancelled_.load(std::memory_order_relaxed)) {
    return make_error(ErrorKind::Cancelled, "load cancelled at byte " + std::to_string(bytes_done_.load()) + " of " +
                                                std::to_string(plan_.bytes_to_read));
  }
  return Status::ok();
}

Status LoadExecutor::finish_window(size_t shard, const Window& w, const uint8_t* staged) {
  if (w.entry == kSkip || writes_in_place(w, manifest_)) return Status::ok();
  const ManifestEntry& entry = manifest_[w.entry];
  const DType source = plan_.source_dtypes[w.entry];
  const uint64_t count = (w.file_end - w.file_begin) / dtype_block_bytes(source) * dtype_block_elements(source);
  if (uint8_t* host = entry.destination->host_data()) {
    // Block types: first_element is a whole number of destination blocks (plan_load cuts windows so).
    convert_window(source, staged, entry.dtype, host + dtype_storage_bytes(entry.dtype, w.first_element), count);
    return Status::ok();
  }
  // Parallel readers hand windows over one at a time: a destination's
  // write_source (a device copy) need not be thread-safe.
  std::unique_lock<std::mutex> handing_over(write_source_mutex_);
  Status written = entry.destination->write_source(w.first_element, source, staged, count);
  handing_over.unlock();
  if (!written) {
    return make_error(written.error().kind, "tensor \"" + entry.name + "\" (shard " + std::to_string(shard) +
                                                 "): " + written.error().message);
  }
  return Status::ok();
}

bool LoadExecutor::shard_done(size_t shard) const {
  return cursors_[shard].window >= plan_.shards[shard].windows.size();
}

Status run_load(LoadExecutor& executor, size_t shard_count, const ReadAt& read_at, uint64_t max_read_bytes) {
  for (size_t s = 0; s < shard_count; ++s) {
    for (FillTarget t = executor.next(s); t.len != 0; t = executor.next(s)) {
      if (!t.dst) {  // random access: seek past bytes nobody needs
        WS_TRY(executor.commit(s, t.len));
        continue;
      }
      const uint64_t n = std::min(t.len, max_read_bytes);
      WS_TRY(read_at(s, t.file_offset, t.dst, n));
      WS_TRY(executor.commit(s, n));
    }
  }
  return Status::ok();
}

}  // namespace ws
