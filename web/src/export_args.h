// Checks of the raw values JS hands the wasm exports (exports.cpp): every
// handle, pointer, length, count and 64-bit-as-double there comes from a
// caller we do not control, so each is proven valid before use, and a bad
// one is an InvalidArgument error, never a trap or a read out of bounds.
// Exports are called from the one JS thread that owns the module (the
// pthreads build's workers run kernels, never exports): no locking here.
#pragma once

#include <emscripten/heap.h>

#include <cmath>
#include <cstdint>
#include <climits>
#include <cstring>
#include <map>
#include <memory>
#include <new>
#include <string>

#include "core/result.h"
#include "web/src/session.h"

namespace ws::web {

// Sessions by handle. A handle is a number JS holds: it is looked up, never
// dereferenced, and never reused (a monotonic counter), so a destroyed one
// stays invalid even after another session takes its memory.
class SessionTable {
 public:
  // A new session's handle (> 0), or an error: OutOfBudget without memory,
  // after 2^31 - 1 sessions (handles would repeat).
  Result<int> create() {
    if (next_ == INT32_MAX) return make_error(ErrorKind::OutOfBudget, "no session handles left");
    std::unique_ptr<Session> session(new (std::nothrow) Session());
    if (!session) return make_error(ErrorKind::OutOfBudget, "no memory for a session");
    sessions_.emplace(next_, std::move(session));
    return next_++;
  }
  // The live session `handle` names, or InvalidArgument.
  Result<Session*> find(int handle) const {
    auto it = sessions_.find(handle);
    if (it == sessions_.end()) {
      return make_error(ErrorKind::InvalidArgument, "session handle " + std::to_string(handle) +
                                                        " is not live (never created, or destroyed already)");
    }
    return it->second.get();
  }
  Status destroy(int handle) {
    WS_TRY(find(handle).status());
    sessions_.erase(handle);
    return Status::ok();
  }

 private:
  std::map<int, std::unique_ptr<Session>> sessions_;
  int next_ = 1;
};

// [p, p + bytes) lies inside the wasm heap (address 0 only when bytes is 0).
inline Status check_heap_range(const void* p, uint64_t bytes, const char* what) {
  const uint64_t begin = reinterpret_cast<uintptr_t>(p);
  const uint64_t heap = emscripten_get_heap_size();
  if (bytes == 0) return Status::ok();
  if (begin == 0 || begin > heap || bytes > heap - begin) {
    return make_error(ErrorKind::InvalidArgument, std::string(what) + ": " + std::to_string(bytes) + " bytes at " +
                                                      std::to_string(begin) + " are not inside the wasm heap of " +
                                                      std::to_string(heap) + " bytes");
  }
  return Status::ok();
}

// A NUL-terminated string of at most `max_bytes` inside the heap.
inline Result<std::string> checked_c_string(const char* p, const char* what, size_t max_bytes = 1 << 16) {
  const uint64_t begin = reinterpret_cast<uintptr_t>(p);
  const uint64_t heap = emscripten_get_heap_size();
  if (begin == 0 || begin >= heap) return make_error(ErrorKind::InvalidArgument, std::string(what) + ": not a string in the wasm heap");
  const size_t room = static_cast<size_t>(std::min<uint64_t>(heap - begin, max_bytes + 1));
  const void* end = std::memchr(p, '\0', room);
  if (!end) {
    return make_error(ErrorKind::InvalidArgument, std::string(what) + ": no terminating NUL within " +
                                                      std::to_string(max_bytes) + " bytes");
  }
  return std::string(p, static_cast<const char*>(end));
}

// A count or byte size that crossed as a double: a whole number in [0, 2^53].
inline Result<uint64_t> checked_size(double value, const char* what) {
  if (!(value >= 0) || value > 9007199254740992.0 || value != std::floor(value)) {
    return make_error(ErrorKind::InvalidArgument, std::string(what) + " must be a whole number from 0 to 2^53, got " +
                                                      std::to_string(value));
  }
  return static_cast<uint64_t>(value);
}

// `count` int32 values at `p`, inside the heap; count >= 0.
inline Status check_int32s(const int32_t* p, int count, const char* what) {
  if (count < 0) return make_error(ErrorKind::InvalidArgument, std::string(what) + ": negative count " + std::to_string(count));
  if (reinterpret_cast<uintptr_t>(p) % alignof(int32_t) != 0) {
    return make_error(ErrorKind::InvalidArgument, std::string(what) + ": misaligned pointer");
  }
  return check_heap_range(p, static_cast<uint64_t>(count) * sizeof(int32_t), what);
}

}  // namespace ws::web
