// LoadExecutor::cancel(): a progress callback (the Python binding's Ctrl-C
// check) stops a load at the next commit with Cancelled.
#include <gtest/gtest.h>

#include "load/in_memory.h"

namespace ws {
namespace {

TEST(ExecutorCancel, CancelFromTheProgressCallbackStopsTheLoad) {
  test::InMemoryCheckpoint ckpt;
  ckpt.add_shard(test::f32_file({{"a", 1024}, {"b", 1024}, {"c", 1024}}), "s1");
  std::vector<HostBuffer> buffers;
  std::vector<ManifestEntry> manifest;
  buffers.reserve(3);
  for (const char* name : {"a", "b", "c"}) {
    buffers.push_back(std::move(HostBuffer::allocate(4096).value()));
    manifest.push_back({name, DType::F32, {1024}, &buffers.back()});
  }
  auto plan = plan_load(ckpt.checkpoint, manifest);
  ASSERT_TRUE(plan.is_ok()) << plan.error().to_string();
  auto executor = LoadExecutor::create(*plan, manifest);
  ASSERT_TRUE(executor.is_ok());
  LoadExecutor& ex = **executor;
  int calls = 0;
  ex.set_progress([&](const LoadProgress&) {
    if (++calls == 1) ex.cancel();
  });
  // 4 KiB reads: the first commit (tensor a) reports progress and cancels.
  Status status = run_load(ex, 1, ckpt.reader(), 4096);
  ASSERT_FALSE(status.is_ok());
  EXPECT_EQ(status.error().kind, ErrorKind::Cancelled);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(ex.bytes_done(), 4096u);
  EXPECT_FALSE(ex.shard_done(0));
}

TEST(ExecutorCancel, WithoutCancelTheSameLoadCompletes) {
  test::InMemoryCheckpoint ckpt;
  ckpt.add_shard(test::f32_file({{"a", 1024}, {"b", 1024}}), "s1");
  std::vector<HostBuffer> buffers;
  std::vector<ManifestEntry> manifest;
  buffers.reserve(2);
  for (const char* name : {"a", "b"}) {
    buffers.push_back(std::move(HostBuffer::allocate(4096).value()));
    manifest.push_back({name, DType::F32, {1024}, &buffers.back()});
  }
  auto plan = plan_load(ckpt.checkpoint, manifest);
  ASSERT_TRUE(plan.is_ok());
  auto executor = LoadExecutor::create(*plan, manifest);
  ASSERT_TRUE(executor.is_ok());
  ASSERT_TRUE(run_load(**executor, 1, ckpt.reader(), 4096).is_ok());
  EXPECT_TRUE((*executor)->shard_done(0));
  float first_of_b;
  std::memcpy(&first_of_b, buffers[1].data(), 4);
  EXPECT_EQ(first_of_b, 1000.0f);
}

}  // namespace
}  // namespace ws
