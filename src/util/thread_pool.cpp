#include "util/thread_pool.h"

#include <system_error>

namespace ws::detail {

namespace {
// Workers spin this many polls before sleeping: one decode step issues ~50
// parallel ops a few hundred microseconds apart, and a condition-variable
// wake-up costs tens of microseconds each.
constexpr int kSpinPolls = 20000;
}  // namespace

ThreadPool::ThreadPool(int threads) {
  // A thread the system refuses (EAGAIN: a process or cgroup limit) is not an
  // error: the pool runs with the workers it got (the caller's thread always
  // takes part), so work is slower, never lost. Builds without exceptions
  // (WebAssembly) have no std::system_error to catch.
  for (int i = 1; i < threads; ++i) {
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
    try {
      workers_.emplace_back([this] { worker_loop(); });
    } catch (const std::system_error&) {
      break;
    }
#else
    workers_.emplace_back([this] { worker_loop(); });
#endif
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  for (auto& worker : workers_) worker.join();
}

void ThreadPool::drain(TaskFn fn, const void* context, size_t count) {
  for (;;) {
    const size_t i = next_.fetch_add(1, std::memory_order_relaxed);
    if (i >= count) break;
    fn(context, i);
    if (finished_.fetch_add(1) + 1 == count) {
      std::lock_guard<std::mutex> lock(mutex_);
      done_.notify_all();
    }
  }
}

void ThreadPool::run(size_t count, TaskFn fn, const void* context) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    fn_ = fn;
    context_ = context;
    count_ = count;
    next_.store(0);
    finished_.store(0);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  drain(fn, context, count);
  // A worker still inside drain() could otherwise claim an index of the next job.
  auto all_done = [&] {
    return finished_.load() == count && active_.load() == 0;
  };
  for (int spin = 0; spin < kSpinPolls; ++spin) {
    if (all_done()) return;
  }
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, all_done);
}

void ThreadPool::worker_loop() {
  uint64_t seen = 0;
  for (;;) {
    int spin = 0;
    while (generation_.load(std::memory_order_acquire) == seen && spin < kSpinPolls) ++spin;
    std::unique_lock<std::mutex> lock(mutex_);
    wake_.wait(lock, [&] { return generation_.load() != seen; });
    if (stop_) return;
    seen = generation_.load();
    const TaskFn fn = fn_;
    const void* context = context_;
    const size_t count = count_;
    // Announce first, then look: run() reads finished_ then active_, so with
    // sequentially consistent atomics it either sees us or we see the job done
    // (and must not touch next_, which the next job may already reuse).
    active_.fetch_add(1);
    const bool live = finished_.load() < count;
    lock.unlock();
    if (live) drain(fn, context, count);
    if (active_.fetch_sub(1) == 1) {
      std::lock_guard<std::mutex> done_lock(mutex_);
      done_.notify_all();
    }
  }
}

}  // namespace ws::detail
