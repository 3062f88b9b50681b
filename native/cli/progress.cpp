#include "cli/progress.h"

#include <unistd.h>

#include <cstdio>

namespace ws::cli {

bool stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

ProgressBar::ProgressBar(bool enabled)
    : enabled_(enabled), start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

void ProgressBar::update(uint64_t done, uint64_t total) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (done < total && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const double seconds = std::chrono::duration<double>(now - start_).count();
  const double mb_per_s = seconds > 0 ? done / 1e6 / seconds : 0;
  const double eta = mb_per_s > 0 ? (total - done) / 1e6 / mb_per_s : 0;
  const int width = 30;
  const int filled = total ? static_cast<int>(width * (double)done / total) : width;
  char bar[width + 1];
  for (int i = 0; i < width; ++i) bar[i] = i < filled ? '#' : '.';
  bar[width] = '\0';
  std::fprintf(stderr, "\r[%s] %7.1f / %.1f MB  %7.1f MB/s  ETA %4.0fs ", bar, done / 1e6, total / 1e6, mb_per_s, eta);
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::finish() {
  if (enabled_ && drawn_) std::fprintf(stderr, "\n");
}

}  // namespace ws::cli
