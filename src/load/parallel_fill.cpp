// Several readers filling one shard at once (LoadExecutor::fill_parallel).
// One reader copying out of the page cache, or one HTTP connection, leaves
// the disk's queue or the link half idle (a cold 1 GiB load took 0.80 s where
// `cat` took 0.47 s; one connection reached 0.51x curl's throughput): pieces
// of the shard are handed out in file order to a few threads, each writing
// straight into the destinations (kept dtype) or through a bounded staging
// slot (converting windows), so the bytes written are the single reader's.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <optional>
#include <thread>

#include "load/load.h"

namespace ws {

namespace detail {

struct FillState {
  std::mutex mutex;
  std::condition_variable slot_freed;
  std::condition_variable reader_finished;
  std::vector<uint8_t*> free_slots;
  std::optional<Error> first_error;  // set before `stop`, under `mutex`
  std::atomic<bool> stop{false};
  std::atomic<size_t> next_piece{0};
  size_t readers_running = 0;
  bool inline_progress = false;  // one reader on the caller's thread: report at each commit

  // The first failure wins; the ones it causes (readers told to stop) are dropped.
  void fail(const Error& error) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!first_error) first_error = error;
    stop.store(true);
    slot_freed.notify_all();
  }
};

}  // namespace detail

namespace {

struct Piece {
  size_t window;  // the window holding `begin`
  uint64_t begin;
  uint64_t end;
};

Error stopped_error() {
  return make_error(ErrorKind::Cancelled, "stopped: another reader failed");
}

}  // namespace

PieceFill::PieceFill(LoadExecutor& executor, detail::FillState& state, size_t shard, size_t window, uint64_t begin,
                     uint64_t end)
    : executor_(executor), state_(state), shard_(shard), window_(window), begin_(begin), end_(end), offset_(begin) {}

FillTarget PieceFill::next() const {
  if (offset_ >= end_) return {offset_, nullptr, 0};
  const Window& w = executor_.plan_.shards[shard_].windows[window_];
  const uint64_t into_window = offset_ - w.file_begin;
  const uint64_t remaining = std::min(w.file_end, end_) - offset_;
  if (w.entry == kSkip) return {offset_, nullptr, remaining};
  if (!executor_.converts(w)) {
    uint8_t* base = executor_.manifest_[w.entry].destination->host_data();
    return {offset_, base + dtype_storage_bytes(executor_.plan_.source_dtypes[w.entry], w.first_element) + into_window,
            remaining};
  }
  return {offset_, slot_ + into_window, remaining};
}

Status PieceFill::enter_window() {
  if (offset_ >= end_) return Status::ok();
  const Window& w = executor_.plan_.shards[shard_].windows[window_];
  if (!executor_.converts(w) || slot_) return Status::ok();
  std::unique_lock<std::mutex> lock(state_.mutex);
  state_.slot_freed.wait(lock, [&] { return !state_.free_slots.empty() || state_.stop.load(); });
  if (state_.stop.load()) return stopped_error();
  slot_ = state_.free_slots.back();
  state_.free_slots.pop_back();
  return Status::ok();
}

void PieceFill::release_slot() {
  if (!slot_) return;
  std::lock_guard<std::mutex> lock(state_.mutex);
  state_.free_slots.push_back(slot_);
  slot_ = nullptr;
  state_.slot_freed.notify_one();
}

Status PieceFill::commit(uint64_t n) {
  LoadExecutor& ex = executor_;
  auto cancelled = [&] {
    return make_error(ErrorKind::Cancelled, "load cancelled at byte " + std::to_string(ex.bytes_done_.load()) + " of " +
                                                std::to_string(ex.plan_.bytes_to_read));
  };
  if (ex.cancelled_.load(std::memory_order_relaxed)) return cancelled();
  if (state_.stop.load(std::memory_order_relaxed)) return stopped_error();
  const FillTarget t = next();
  if (n == 0 || n > t.len) {
    return make_error(ErrorKind::InvalidArgument, "commit of " + std::to_string(n) + " bytes at shard " +
                                                      std::to_string(shard_) + " offset " + std::to_string(offset_) +
                                                      " does not fit the current piece");
  }
  offset_ += n;
  ex.bytes_done_ += n;
  const Window& w = ex.plan_.shards[shard_].windows[window_];
  if (offset_ == w.file_end) {
    Status finished = ex.finish_window(shard_, w, slot_);
    release_slot();
    WS_TRY(finished);
    ++window_;
    WS_TRY(enter_window());
  }
  if (state_.inline_progress) {
    if (ex.progress_) ex.progress_({ex.bytes_done_.load(), ex.plan_.bytes_to_read});
    if (ex.cancelled_.load(std::memory_order_relaxed)) return cancelled();
  }
  return Status::ok();
}

bool LoadExecutor::can_fill_parallel(size_t shard) const {
  if (provider_ || shard >= plan_.shards.size()) return false;
  const Cursor& c = cursors_[shard];
  const std::vector<Window>& windows = plan_.shards[shard].windows;
  if (c.window != 0 || c.offset != plan_.shards[shard].begin || windows.empty()) return false;
  for (const Window& w : windows) {
    if (w.entry == kSkip) continue;
    Destination* d = manifest_[w.entry].destination;
    if (d->host_data() == nullptr && !d->writes_from_any_thread()) return false;
  }
  return true;
}

Status LoadExecutor::fill_parallel(size_t shard, const ParallelFill& options, const ReadPiece& read_piece) {
  if (!can_fill_parallel(shard)) {
    return make_error(ErrorKind::InvalidArgument, "shard " + std::to_string(shard) + " cannot be filled in parallel");
  }
  const std::vector<Window>& windows = plan_.shards[shard].windows;
  const uint64_t piece_bytes = std::max<uint64_t>(options.piece_bytes, 1);

  // Pieces in file order: cut anywhere in a window written in place, between
  // converting windows (a converting window fills one staging slot).
  std::vector<Piece> pieces;
  Piece current{0, plan_.shards[shard].begin, plan_.shards[shard].begin};
  auto close = [&](size_t window, uint64_t at) {
    if (current.end > current.begin) pieces.push_back(current);
    current = {window, at, at};
  };
  for (size_t i = 0; i < windows.size(); ++i) {
    const Window& w = windows[i];
    if (current.end == current.begin) current = {i, w.file_begin, w.file_begin};
    if (converts(w)) {
      if (current.end - current.begin + (w.file_end - w.file_begin) > piece_bytes) close(i, w.file_begin);
      current.end = w.file_end;
      continue;
    }
    for (uint64_t at = w.file_begin; at < w.file_end;) {
      if (current.end - current.begin >= piece_bytes) close(i, at);
      const uint64_t take = std::min(w.file_end - at, piece_bytes - (current.end - current.begin));
      current.end += take;
      at += take;
    }
  }
  close(windows.size(), 0);

  // Staging slots: a fixed number, decided here, whatever the readers do.
  const unsigned readers =
      static_cast<unsigned>(std::clamp<uint64_t>(options.readers, 1, std::max<uint64_t>(pieces.size(), 1)));
  detail::FillState state;
  if (staging_needed_ > 0) {
    const uint64_t budget = options.staging_bytes > 0 ? options.staging_bytes : staging_needed_;
    const uint64_t slots = std::clamp<uint64_t>(budget / staging_needed_, 1, readers);
    if (staging_.size() < staging_needed_) staging_.resize(staging_needed_);
    state.free_slots.push_back(staging_.data());
    while (extra_slots_.size() + 1 < slots) extra_slots_.emplace_back(staging_needed_);
    for (uint64_t s = 1; s < slots; ++s) state.free_slots.push_back(extra_slots_[s - 1].data());
  }

  auto work = [&] {
    for (;;) {
      const size_t i = state.next_piece.fetch_add(1);
      if (i >= pieces.size() || state.stop.load()) return;
      PieceFill piece(*this, state, shard, pieces[i].window, pieces[i].begin, pieces[i].end);
      Status status = piece.enter_window();
      if (status) status = read_piece(piece);
      if (status && !piece.done()) {
        status = make_error(ErrorKind::InvalidArgument, "a reader returned with bytes " + std::to_string(piece.offset_) +
                                                            "-" + std::to_string(piece.end()) + " of shard " +
                                                            std::to_string(shard) + " unread");
      }
      piece.release_slot();
      if (!status) return state.fail(status.error());
    }
  };

  if (readers == 1) {
    state.inline_progress = true;
    work();
  } else {
    // Readers report nothing themselves: the progress callback (a Python
    // binding's Ctrl-C check, a terminal bar) runs on the caller's thread.
    state.readers_running = readers;
    uint64_t reported = bytes_done_.load();  // before any reader starts: the last report is never skipped
    std::vector<std::thread> threads;
    threads.reserve(readers);
    for (unsigned r = 0; r < readers; ++r) {
      threads.emplace_back([&] {
        work();
        std::lock_guard<std::mutex> lock(state.mutex);
        --state.readers_running;
        state.reader_finished.notify_all();
      });
    }
    for (bool running = true; running;) {
      {
        std::unique_lock<std::mutex> lock(state.mutex);
        state.reader_finished.wait_for(lock, std::chrono::milliseconds(20),
                                       [&] { return state.readers_running == 0; });
        running = state.readers_running > 0;
      }
      const uint64_t done = bytes_done_.load();
      if (progress_ && done != reported) progress_({done, plan_.bytes_to_read});
      reported = done;
    }
    for (std::thread& t : threads) t.join();
  }
  if (state.first_error) return *state.first_error;
  Cursor& c = cursors_[shard];
  c.window = windows.size();
  c.offset = plan_.shards[shard].end;
  return Status::ok();
}

}  // namespace ws
