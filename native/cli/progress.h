// A load progress bar on stderr (bytes, MB/s, ETA), drawn only when stderr is
// a terminal, at most ten times a second.
#pragma once

#include <chrono>
#include <cstdint>

namespace ws::cli {

class ProgressBar {
 public:
  explicit ProgressBar(bool enabled);
  void update(uint64_t done, uint64_t total);
  void finish();

 private:
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

bool stderr_is_terminal();

}  // namespace ws::cli
