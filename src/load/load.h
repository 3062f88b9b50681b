// load: match what a model needs (a manifest) against what a checkpoint has,
// and fill every destination buffer while reading each shard once, in file
// order. Nothing here knows about files, HTTP or JS: a source asks the
// executor where the next bytes of a shard go, writes them there, and commits.
//
//   identity window  : source bytes land in the destination buffer in place
//   converting window: source bytes land in the one staging buffer, then are
//                      converted (F32/F16/BF16, round-to-nearest-even),
//                      dequantised or quantised (ggml blocks) into place
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "backend/buffer.h"
#include "core/result.h"
#include "format/format.h"

namespace ws {

namespace detail {
class ThreadPool;
struct FillState;
}

// ---- conversion ---------------------------------------------------------------
// True when `from` -> `to` is supported (identity for every dtype; any pair of
// F32, F16, BF16; a ggml block type to F32, F16 or BF16; F32, F16 or BF16 to
// Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K). Block type to another
// block type is not offered.
bool can_convert(DType from, DType to);
// Converts `count` elements (a whole number of blocks of `from` and of `to`).
// Narrowing rounds to nearest even; NaN stays NaN. Block types are dequantised
// exactly as ggml does, then rounded to F16/BF16 when asked. Quantising widens
// to f32 exactly, then writes the blocks gguf-py's quantizer writes (Q8_0,
// Q4_0, Q4_1, Q5_0, Q5_1) or ggml's reference quantizer's algorithm (K-quants,
// load/quantize.h). Never allocates.
void convert_elements(DType from, const uint8_t* in, DType to, uint8_t* out, uint64_t count);

// ---- destinations ---------------------------------------------------------------
// Destination (where one tensor's final bytes live), HostBuffer and
// StagingProvider are the backend's buffer types: backend/buffer.h.

// ---- the manifest: what the model needs -----------------------------------------
// One rank's part of a tensor under tensor parallelism: indices [begin, end)
// of dimension `dim`, which is 0 (rows: one contiguous byte range) or the last
// one (columns: one byte range per row). Only those bytes are read.
struct TensorSlice {
  size_t dim = 0;
  uint64_t begin = 0;
  uint64_t end = 0;
};

struct ManifestEntry {
  std::string name;              // checkpoint tensor name
  DType dtype;                   // dtype the destination holds
  std::vector<uint64_t> shape;   // expected shape (the slice's, with a slice)
  Destination* destination = nullptr;  // not owned; may be set after planning
  std::optional<TensorSlice> slice;    // none: the whole tensor
};

// The part of `extent` (a dimension's length) that rank `rank` of `world`
// keeps: an even split, the first (extent % world) ranks one element longer.
// Every index in [0, extent) belongs to exactly one rank.
TensorSlice split_evenly(size_t dim, uint64_t extent, uint64_t rank, uint64_t world);

// ---- the plan ---------------------------------------------------------------------
struct Window {
  size_t entry;              // index into the manifest; kSkip for bytes nobody needs
  uint64_t file_begin;       // absolute offsets in the shard file
  uint64_t file_end;
  uint64_t first_element;    // where the window's first element goes in the destination tensor
                             // (its own position, unless TensorInfo::interleaved_heads reorders rows);
                             // a multiple of the source's and the destination's block elements
  bool identity;             // source dtype == destination dtype
};
constexpr size_t kSkip = static_cast<size_t>(-1);

struct ShardPlan {
  std::vector<Window> windows;  // strictly increasing, non-overlapping file ranges
  uint64_t begin = 0;           // first byte the plan needs (data section start)
  uint64_t end = 0;             // one past the last byte
};

struct LoadPlan {
  std::vector<ShardPlan> shards;    // same order as Checkpoint::shards
  std::vector<DType> source_dtypes; // per manifest entry
  uint64_t bytes_to_read = 0;       // sum over shards of (end - begin)
  uint64_t bytes_needed = 0;        // the bytes of every non-skip window: what a reader that seeks past skips reads
  uint64_t bytes_to_bind = 0;       // sum of destination sizes
  uint64_t staging_bytes = 0;       // the staging buffer this plan needs (0 if none)
};

struct PlanOptions {
  // Converting windows are cut to fit this, but never below one block: a
  // window holds at least one source block and, when it quantises, one
  // destination block (256 F32 elements, 1 KiB, for the K-quants).
  uint64_t staging_bytes = 16ull << 20;
  // When false, tensors the manifest does not name are an UnexpectedTensor error.
  bool allow_unused_tensors = true;
};

// Matches a manifest against a checkpoint. Reports every missing tensor,
// mis-shaped tensor and unsupported conversion in one error (MissingTensor,
// ShapeMismatch, UnexpectedTensor, Unsupported), before any byte moves. A
// quantising entry whose rows (last dimension) are not a whole number of
// destination blocks is an unsupported conversion.
Result<LoadPlan> plan_load(const Checkpoint& checkpoint, const std::vector<ManifestEntry>& manifest,
                           const PlanOptions& options = {});

// ---- the executor ----------------------------------------------------------------
struct LoadProgress {
  uint64_t bytes_done;
  uint64_t bytes_total;
};
using ProgressCallback = std::function<void(const LoadProgress&)>;

// Where the next bytes of a shard go. `dst` is nullptr for a skipped range
// (the source may seek past it, or read it into `scratch`).
struct FillTarget {
  uint64_t file_offset;
  uint8_t* dst;
  uint64_t len;  // 0 when the shard is complete
};

// ---- parallel readers ----------------------------------------------------------
// A shard is cut into pieces that several readers fill at once, each piece
// in file order by one reader. A piece may end anywhere inside a window that
// is written in place, never inside a converting window: that one passes
// through one of a fixed set of staging slots, each the size of the plan's
// largest converting window, floor(staging_bytes / that size) of them (at
// least one, at most `readers`). The staging held is therefore fixed before
// the first byte (staging_allocated()) and within the budget; a reader that
// needs a slot while all are taken waits for one.
struct ParallelFill {
  unsigned readers = 1;
  uint64_t piece_bytes = 16ull << 20;  // a reader's unit of work
  // The budget for staging slots; 0: the plan's own staging (one slot, what
  // the single reader holds).
  uint64_t staging_bytes = 0;
};

class LoadExecutor;
// One piece of one shard, [begin(), end()): next() and commit() as the
// executor's own, for this piece only. Used by one reader thread at a time.
class PieceFill {
 public:
  uint64_t begin() const { return begin_; }
  uint64_t end() const { return end_; }
  bool done() const { return offset_ == end_; }
  // Where the piece's next bytes go (dst nullptr: bytes nobody needs; len 0: done).
  FillTarget next() const;
  // `n` bytes (1 <= n <= next().len) were written at next().dst (or skipped).
  // Cancelled once the load is cancelled or another reader failed.
  Status commit(uint64_t n);

 private:
  friend class LoadExecutor;
  PieceFill(LoadExecutor& executor, detail::FillState& state, size_t shard, size_t window, uint64_t begin,
            uint64_t end);
  Status enter_window();  // takes a staging slot when the current window converts
  void release_slot();
  LoadExecutor& executor_;
  detail::FillState& state_;
  size_t shard_;
  size_t window_;
  uint64_t begin_, end_, offset_;
  uint8_t* slot_ = nullptr;
};
using ReadPiece = std::function<Status(PieceFill& piece)>;

class LoadExecutor {
 public:
  // The executor keeps references: `plan` and `manifest` (and every
  // destination in it) must all be set and outlive the executor.
  static Result<std::unique_ptr<LoadExecutor>> create(const LoadPlan& plan,
                                                      const std::vector<ManifestEntry>& manifest);
  ~LoadExecutor();

  // The shard's next region to fill, in file order.
  FillTarget next(size_t shard) const;
  // `n` bytes (1 <= n <= next(shard).len) were written at next(shard).dst (or
  // skipped). Converts a staging window when it is full.
  Status commit(size_t shard, uint64_t n);
  // Stage windows in `provider`'s buffers from now on (nullptr: the
  // executor's own buffer). Call before the first byte; frees that buffer.
  void set_staging(StagingProvider* provider);
  // For sources that cannot seek: somewhere to read skipped bytes into.
  uint8_t* scratch(uint64_t len);
  // Converts each staged window on `threads` threads (the caller's included),
  // cut on block boundaries; the bytes written do not depend on it. Pays for
  // quantising (Q4_K: ~65 ns of CPU per element here, 16.7M elements in 1.1 s
  // user time; the float conversions are memory-bound); call
  // before the first byte. 1, the default, starts no thread.
  void set_conversion_threads(int threads);

  // ---- several readers at once (load/parallel_fill.cpp) ----
  // True when fill_parallel can take shard `shard`: it has not been started,
  // no StagingProvider is set (a GPU's pinned buffers are handed out in turn
  // to the single, in-order reader) and every destination it writes is host
  // memory or writes_from_any_thread(); those get their windows through the
  // staging slots, one write_source call at a time.
  bool can_fill_parallel(size_t shard) const;
  // Fills shard `shard` with up to `options.readers` threads, each calling
  // `read_piece` for one piece at a time (pieces handed out in file order).
  // The first error of any reader (a cancel() included) stops the others at
  // their next commit and is returned; progress is reported on the calling
  // thread. With one reader no thread is started (the wasm build's path).
  // InvalidArgument when !can_fill_parallel(shard).
  Status fill_parallel(size_t shard, const ParallelFill& options, const ReadPiece& read_piece);

  bool shard_done(size_t shard) const;
  uint64_t shard_end(size_t shard) const { return plan_.shards[shard].end; }
  uint64_t bytes_done() const { return bytes_done_; }
  uint64_t bytes_total() const { return plan_.bytes_to_read; }
  // Bytes this executor allocated for itself: the staging buffer, plus the
  // parallel readers' extra staging slots (fill_parallel).
  uint64_t staging_allocated() const;
  void set_progress(ProgressCallback callback) { progress_ = std::move(callback); }
  // Makes every later commit() fail with Cancelled, so the source stops at
  // the next chunk. Callable from the progress callback (a Python binding's
  // KeyboardInterrupt) or from another thread.
  void cancel() { cancelled_.store(true, std::memory_order_relaxed); }

 private:
  LoadExecutor(const LoadPlan& plan, const std::vector<ManifestEntry>& manifest);
  struct Cursor {
    size_t window = 0;       // current window index
    uint64_t offset = 0;     // absolute file offset of the next byte
    // The current window's staging buffer, taken from the provider when the
    // window is first asked for (next() is logically const).
    mutable uint8_t* staging = nullptr;
  };
  friend class PieceFill;
  uint8_t* staging_for(const Cursor& cursor, const Window& window) const;
  bool converts(const Window& window) const;
  Status finish_window(size_t shard, const Window& window, const uint8_t* staged);
  void convert_window(DType from, const uint8_t* in, DType to, uint8_t* out, uint64_t count);

  const LoadPlan& plan_;
  const std::vector<ManifestEntry>& manifest_;
  std::vector<Cursor> cursors_;
  mutable std::vector<uint8_t> staging_;
  uint64_t staging_needed_ = 0;
  StagingProvider* provider_ = nullptr;
  std::atomic<uint64_t> bytes_done_{0};
  ProgressCallback progress_;
  std::atomic<bool> cancelled_{false};
  std::unique_ptr<detail::ThreadPool> pool_;  // set_conversion_threads(> 1)
  // Parallel readers convert at once: the one holding this lock splits its
  // window over pool_, the others convert on their own thread.
  std::mutex pool_mutex_;
  std::mutex write_source_mutex_;
  std::vector<std::vector<uint8_t>> extra_slots_;  // fill_parallel's staging slots beyond staging_
};

// Random-access sources (files, mmap, in-memory) drive a whole load with this:
// reads each shard's windows in order, `read_at` writes exactly `len` bytes of
// shard `shard` at `offset` into `dst` or fails.
using ReadAt = std::function<Status(size_t shard, uint64_t offset, uint8_t* dst, uint64_t len)>;
Status run_load(LoadExecutor& executor, size_t shard_count, const ReadAt& read_at,
                uint64_t max_read_bytes = 16ull << 20);

}  // namespace ws
