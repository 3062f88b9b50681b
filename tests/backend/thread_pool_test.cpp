#include <gtest/gtest.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

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

// A thread the system refuses (here: no address space left for its stack)
// used to throw std::system_error out of the constructor; the pool now runs
// with the workers it got. In a child process, whose address space is capped.
TEST(ThreadPool, RunsWithTheThreadsItGetsWhenTheSystemRefusesMore) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer's shadow memory does not fit under an address-space cap";
#else
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    rlimit limit{};
    ::getrlimit(RLIMIT_AS, &limit);
    long pages = 0;  // what this process maps now
    if (FILE* f = std::fopen("/proc/self/statm", "r")) {
      if (std::fscanf(f, "%ld", &pages) != 1) pages = 0;
      std::fclose(f);
    }
    limit.rlim_cur = static_cast<rlim_t>(pages) * ::sysconf(_SC_PAGESIZE) + (64 << 20);  // room for ~7 stacks
    if (::setrlimit(RLIMIT_AS, &limit) != 0) ::_exit(3);
    ThreadPool pool(64);  // 64 stacks of 8 MiB do not fit
    if (pool.threads() >= 64 || pool.threads() < 1) ::_exit(4);
    std::vector<std::atomic<int>> hits(1000);
    pool.parallel_for(hits.size(), [&](size_t i) { hits[i].fetch_add(1); });
    for (auto& h : hits) {
      if (h.load() != 1) ::_exit(5);
    }
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "the child died of signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0);
#endif
}

}  // namespace
}  // namespace ws::detail
