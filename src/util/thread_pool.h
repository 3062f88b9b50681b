// A small persistent thread pool: the portable backend splits one op over
// output rows with it, the file transport one read over file ranges.
// The calling thread works too, so `threads` = 1 means no worker threads.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>
#include <vector>

namespace ws::detail {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Runs task(i) for every i < count, spread over the pool and the caller;
  // returns when all have finished. Not reentrant: tasks must not call it.
  template <class F>
  void parallel_for(size_t count, const F& task) {
    if (count == 0) return;
    if (workers_.empty() || count == 1) {
      for (size_t i = 0; i < count; ++i) task(i);
      return;
    }
    run(count, [](const void* context, size_t i) { (*static_cast<const F*>(context))(i); }, &task);
  }

 private:
  using TaskFn = void (*)(const void* context, size_t index);
  void run(size_t count, TaskFn fn, const void* context);
  void worker_loop();
  void drain(TaskFn fn, const void* context, size_t count);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  // Job state, published under mutex_ with a new generation.
  TaskFn fn_ = nullptr;
  const void* context_ = nullptr;
  size_t count_ = 0;
  std::atomic<size_t> next_{0};
  std::atomic<size_t> finished_{0};
  std::atomic<int> active_{0};  // workers inside drain(); run() waits for 0
  std::atomic<uint64_t> generation_{0};
  bool stop_ = false;
};

}  // namespace ws::detail
