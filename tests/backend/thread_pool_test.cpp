#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "util/thread_pool.h"

namespace ws::detail {
namespace {

TEST(ThreadPool, RunsEveryTaskExactlyOnceAcrossManyJobs) {
  for (int threads : {1, 2, 4}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.threads(), threads);
    for (size_t job = 0; job < 2000; ++job) {
      const size_t count = job % 17;
      std::vector<std::atomic<int>> hits(count);
      pool.parallel_for(count, [&](size_t i) { hits[i].fetch_add(1); });
      for (size_t i = 0; i < count; ++i) ASSERT_EQ(hits[i].load(), 1) << "job " << job << " task " << i;
    }
  }
}

}  // namespace
}  // namespace ws::detail
