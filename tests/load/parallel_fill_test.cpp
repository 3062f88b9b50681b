// LoadExecutor::fill_parallel: several readers give the single reader's
// bytes (in place and converting), hold a fixed, bounded staging, stop on the
// first error, report progress on the caller's thread and can be cancelled;
// a host "device" (write_source memcpy into a separate buffer) is fed through
// the staging slots.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "load/in_memory.h"

namespace ws {
namespace {

// Tensors of uneven sizes (window and piece boundaries fall everywhere).
std::string mixed_file() {
  return test::f32_file({{"a", 1000}, {"b", 4096}, {"c", 7}, {"d", 3000}, {"e", 2048}, {"f", 513}});
}

struct Loaded {
  std::vector<HostBuffer> buffers;
  std::vector<ManifestEntry> manifest;
  LoadPlan plan;
};

// Every tensor of `ckpt` into its own host buffer in `dtype`, windows of at
// most `window_bytes` when converting.
Loaded prepare(const test::InMemoryCheckpoint& ckpt, DType dtype, uint64_t window_bytes) {
  Loaded l;
  l.buffers.reserve(ckpt.checkpoint.tensors.size());
  for (const TensorInfo& t : ckpt.checkpoint.tensors) {
    l.buffers.push_back(std::move(HostBuffer::allocate(dtype_storage_bytes(dtype, t.numel())).value()));
    l.manifest.push_back({t.name, dtype, t.shape, &l.buffers.back()});
  }
  PlanOptions options;
  options.staging_bytes = window_bytes;
  l.plan = plan_load(ckpt.checkpoint, l.manifest, options).value();
  return l;
}

// A reader over the in-memory files: every piece read in `chunk`-byte reads.
ReadPiece piece_reader(const test::InMemoryCheckpoint& ckpt, size_t shard, uint64_t chunk) {
  return [&ckpt, shard, chunk](PieceFill& piece) -> Status {
    for (FillTarget t = piece.next(); t.len != 0; t = piece.next()) {
      const uint64_t n = std::min(t.len, chunk);
      if (t.dst) WS_TRY(ckpt.reader()(shard, t.file_offset, t.dst, n));
      WS_TRY(piece.commit(n));
    }
    return Status::ok();
  };
}

std::vector<std::string> contents(const Loaded& l) {
  std::vector<std::string> out;
  for (const HostBuffer& b : l.buffers) out.emplace_back(reinterpret_cast<const char*>(b.data()), b.bytes());
  return out;
}

std::vector<std::string> single_reader(const test::InMemoryCheckpoint& ckpt, DType dtype, uint64_t window_bytes) {
  Loaded l = prepare(ckpt, dtype, window_bytes);
  auto executor = LoadExecutor::create(l.plan, l.manifest).value();
  EXPECT_TRUE(run_load(*executor, ckpt.files.size(), ckpt.reader()).is_ok());
  return contents(l);
}

std::vector<std::string> parallel_readers(const test::InMemoryCheckpoint& ckpt, DType dtype, uint64_t window_bytes,
                                          const ParallelFill& fill, uint64_t* staging = nullptr) {
  Loaded l = prepare(ckpt, dtype, window_bytes);
  auto executor = LoadExecutor::create(l.plan, l.manifest).value();
  for (size_t s = 0; s < ckpt.files.size(); ++s) {
    EXPECT_TRUE(executor->can_fill_parallel(s));
    Status status = executor->fill_parallel(s, fill, piece_reader(ckpt, s, 300));
    EXPECT_TRUE(status.is_ok()) << status.error().to_string();
    EXPECT_TRUE(executor->shard_done(s));
    EXPECT_FALSE(executor->can_fill_parallel(s));  // done: not again
  }
  EXPECT_EQ(executor->bytes_done(), l.plan.bytes_to_read);
  if (staging) *staging = executor->staging_allocated();
  return contents(l);
}

test::InMemoryCheckpoint two_shards() {
  test::InMemoryCheckpoint ckpt;
  ckpt.add_shard(mixed_file(), "s1");
  ckpt.add_shard(test::f32_file({{"g", 5000}, {"h", 1}, {"i", 2500}}), "s2");
  return ckpt;
}

TEST(ParallelFill, KeptDtypeGivesTheSingleReadersBytes) {
  const test::InMemoryCheckpoint ckpt = two_shards();
  const auto expected = single_reader(ckpt, DType::F32, 16 << 20);
  for (unsigned readers : {1u, 2u, 4u, 7u}) {
    for (uint64_t piece : {1ull, 64ull, 1000ull, 4096ull, 1ull << 20}) {
      ParallelFill fill;
      fill.readers = readers;
      fill.piece_bytes = piece;
      uint64_t staging = 1;
      EXPECT_EQ(parallel_readers(ckpt, DType::F32, 16 << 20, fill, &staging), expected)
          << readers << " readers, pieces of " << piece;
      EXPECT_EQ(staging, 0u);  // every byte in place: no staging at all
    }
  }
}

TEST(ParallelFill, ConversionGivesTheSingleReadersBytes) {
  const test::InMemoryCheckpoint ckpt = two_shards();
  for (DType dtype : {DType::BF16, DType::F16}) {
    const auto expected = single_reader(ckpt, dtype, 1024);
    for (unsigned readers : {1u, 3u, 4u}) {
      ParallelFill fill;
      fill.readers = readers;
      fill.piece_bytes = 2048;
      fill.staging_bytes = 4 * 1024;
      EXPECT_EQ(parallel_readers(ckpt, dtype, 1024, fill), expected) << dtype_name(dtype) << ", " << readers;
    }
  }
}

// The staging held is slots x the largest converting window, the slot count
// fixed by the budget (at least one, at most the readers): deterministic, and
// never above the budget (nor the single reader's, with no budget given).
TEST(ParallelFill, StagingIsFixedSlotsWithinTheBudget) {
  const test::InMemoryCheckpoint ckpt = two_shards();
  struct Case {
    unsigned readers;
    uint64_t budget;
    uint64_t expected;
  };
  // Windows of at most 1024 bytes (256 f32 elements).
  for (const Case& c : {Case{4, 0, 1024}, Case{4, 1024, 1024}, Case{4, 2047, 1024}, Case{4, 3 * 1024, 3 * 1024},
                        Case{4, 1 << 20, 4 * 1024}, Case{2, 1 << 20, 2 * 1024}, Case{1, 1 << 20, 1024}}) {
    ParallelFill fill;
    fill.readers = c.readers;
    fill.piece_bytes = 2048;
    fill.staging_bytes = c.budget;
    for (int run = 0; run < 3; ++run) {
      uint64_t staging = 0;
      parallel_readers(ckpt, DType::BF16, 1024, fill, &staging);
      EXPECT_EQ(staging, c.expected) << c.readers << " readers, budget " << c.budget;
    }
  }
}

TEST(ParallelFill, TheFirstReaderErrorStopsTheOthersAndIsReturned) {
  const test::InMemoryCheckpoint ckpt = two_shards();
  for (DType dtype : {DType::F32, DType::BF16}) {
    Loaded l = prepare(ckpt, dtype, 1024);
    auto executor = LoadExecutor::create(l.plan, l.manifest).value();
    ParallelFill fill;
    fill.readers = 4;
    fill.piece_bytes = 512;
    fill.staging_bytes = 4096;
    const ReadPiece inner = piece_reader(ckpt, 0, 128);
    Status status = executor->fill_parallel(0, fill, [&](PieceFill& piece) -> Status {
      if (piece.begin() <= 20000 && 20000 < piece.end()) {
        return make_error(ErrorKind::Io, "disk error at byte 20000");
      }
      return inner(piece);
    });
    ASSERT_FALSE(status.is_ok());
    EXPECT_EQ(status.error().kind, ErrorKind::Io);
    EXPECT_EQ(status.error().message, "disk error at byte 20000");
    EXPECT_FALSE(executor->shard_done(0));
  }
}

TEST(ParallelFill, AReaderThatStopsShortIsAnError) {
  const test::InMemoryCheckpoint ckpt = two_shards();
  Loaded l = prepare(ckpt, DType::F32, 1024);
  auto executor = LoadExecutor::create(l.plan, l.manifest).value();
  ParallelFill fill;
  fill.readers = 2;
  fill.piece_bytes = 4096;
  Status status = executor->fill_parallel(0, fill, [](PieceFill&) { return Status::ok(); });
  ASSERT_FALSE(status.is_ok());
  EXPECT_EQ(status.error().kind, ErrorKind::InvalidArgument);
}

TEST(ParallelFill, ProgressRunsOnTheCallersThreadAndCancelStopsTheLoad) {
  test::InMemoryCheckpoint ckpt;
  ckpt.add_shard(test::f32_file({{"a", 1 << 18}, {"b", 1 << 18}}), "s1");  // 2 MiB
  Loaded l = prepare(ckpt, DType::F32, 1 << 20);
  auto executor = LoadExecutor::create(l.plan, l.manifest).value();
  LoadExecutor& ex = *executor;
  const std::thread::id caller = std::this_thread::get_id();
  bool other_thread = false;
  uint64_t last = 0;
  ex.set_progress([&](const LoadProgress& p) {
    other_thread |= std::this_thread::get_id() != caller;
    last = p.bytes_done;
    ex.cancel();
  });
  ParallelFill fill;
  fill.readers = 4;
  fill.piece_bytes = 4096;
  std::atomic<bool> cancelled_seen{false};
  const ReadPiece inner = piece_reader(ckpt, 0, 4096);
  Status status = ex.fill_parallel(0, fill, [&](PieceFill& piece) -> Status {
    // Slow readers: the coordinator's progress report (and cancel) comes first.
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    Status s = inner(piece);
    if (!s && s.error().kind == ErrorKind::Cancelled) cancelled_seen = true;
    return s;
  });
  ASSERT_FALSE(status.is_ok());
  EXPECT_EQ(status.error().kind, ErrorKind::Cancelled);
  EXPECT_TRUE(cancelled_seen.load());
  EXPECT_FALSE(other_thread);
  EXPECT_GT(last, 0u);
  EXPECT_LT(ex.bytes_done(), l.plan.bytes_to_read);
}

TEST(ParallelFill, ProgressReachesTheTotal) {
  const test::InMemoryCheckpoint ckpt = two_shards();
  Loaded l = prepare(ckpt, DType::F32, 1 << 20);
  auto executor = LoadExecutor::create(l.plan, l.manifest).value();
  uint64_t last = 0;
  executor->set_progress([&](const LoadProgress& p) {
    EXPECT_GE(p.bytes_done, last);
    last = p.bytes_done;
  });
  ParallelFill fill;
  fill.readers = 3;
  fill.piece_bytes = 1000;
  for (size_t s = 0; s < 2; ++s) ASSERT_TRUE(executor->fill_parallel(s, fill, piece_reader(ckpt, s, 77)).is_ok());
  EXPECT_EQ(last, l.plan.bytes_to_read);
}

// The host "device" of issue 14: its bytes are not host-addressable to the
// executor; each window reaches it through a staging slot and write_source,
// which copies (memcpy) into the device's own, separate buffer.
class MemcpyDevice final : public Destination {
 public:
  explicit MemcpyDevice(uint64_t bytes) : memory_(bytes) {}
  uint8_t* host_data() override { return nullptr; }
  bool writes_from_any_thread() const override { return true; }
  Status write_source(uint64_t first_element, DType source_dtype, const uint8_t* bytes, uint64_t count) override {
    if (inside_.exchange(true)) overlapped_ = true;  // calls must come one at a time
    std::memcpy(memory_.data() + dtype_storage_bytes(source_dtype, first_element), bytes,
                dtype_storage_bytes(source_dtype, count));
    inside_.store(false);
    return Status::ok();
  }
  const std::vector<uint8_t>& memory() const { return memory_; }
  bool overlapped() const { return overlapped_; }

 private:
  std::vector<uint8_t> memory_;
  std::atomic<bool> inside_{false};
  std::atomic<bool> overlapped_{false};
};

TEST(ParallelFill, HostDeviceGetsEveryWindowThroughBoundedStaging) {
  const test::InMemoryCheckpoint ckpt = two_shards();
  const auto expected = single_reader(ckpt, DType::F32, 16 << 20);
  std::vector<std::unique_ptr<MemcpyDevice>> devices;
  std::vector<ManifestEntry> manifest;
  for (const TensorInfo& t : ckpt.checkpoint.tensors) {
    devices.push_back(std::make_unique<MemcpyDevice>(t.bytes()));
    manifest.push_back({t.name, DType::F32, t.shape, devices.back().get()});
  }
  PlanOptions options;
  options.staging_bytes = 1024;
  const LoadPlan plan = plan_load(ckpt.checkpoint, manifest, options).value();
  auto executor = LoadExecutor::create(plan, manifest).value();
  ParallelFill fill;
  fill.readers = 4;
  fill.piece_bytes = 1024;
  fill.staging_bytes = 2 * 1024;
  for (size_t s = 0; s < 2; ++s) {
    ASSERT_TRUE(executor->can_fill_parallel(s));
    Status status = executor->fill_parallel(s, fill, piece_reader(ckpt, s, 100));
    ASSERT_TRUE(status.is_ok()) << status.error().to_string();
  }
  EXPECT_EQ(executor->staging_allocated(), 2u * 1024);
  for (size_t i = 0; i < devices.size(); ++i) {
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(devices[i]->memory().data()), devices[i]->memory().size()),
              expected[i])
        << manifest[i].name;
    EXPECT_FALSE(devices[i]->overlapped());
  }
}

struct CountingProvider final : StagingProvider {
  std::vector<uint8_t> buffer = std::vector<uint8_t>(1 << 20);
  uint8_t* acquire(uint64_t) override { return buffer.data(); }
};

TEST(ParallelFill, AStagingProviderKeepsTheSingleReader) {
  const test::InMemoryCheckpoint ckpt = two_shards();
  Loaded l = prepare(ckpt, DType::BF16, 1024);
  auto executor = LoadExecutor::create(l.plan, l.manifest).value();
  CountingProvider provider;
  executor->set_staging(&provider);
  EXPECT_FALSE(executor->can_fill_parallel(0));
  Status status = executor->fill_parallel(0, ParallelFill{}, piece_reader(ckpt, 0, 100));
  ASSERT_FALSE(status.is_ok());
  EXPECT_EQ(status.error().kind, ErrorKind::InvalidArgument);
}

// A destination that does not say write_source may run on any thread (a GPU's
// current device is per-thread) keeps the single reader.
class MainThreadDevice final : public Destination {
 public:
  uint8_t* host_data() override { return nullptr; }
  Status write_source(uint64_t, DType, const uint8_t*, uint64_t) override { return Status::ok(); }
};

TEST(ParallelFill, DestinationsBoundToOneThreadKeepTheSingleReader) {
  const test::InMemoryCheckpoint ckpt = two_shards();
  std::vector<MainThreadDevice> devices(ckpt.checkpoint.tensors.size());
  std::vector<ManifestEntry> manifest;
  for (size_t i = 0; i < devices.size(); ++i) {
    const TensorInfo& t = ckpt.checkpoint.tensors[i];
    manifest.push_back({t.name, DType::F32, t.shape, &devices[i]});
  }
  const LoadPlan plan = plan_load(ckpt.checkpoint, manifest).value();
  auto executor = LoadExecutor::create(plan, manifest).value();
  EXPECT_FALSE(executor->can_fill_parallel(0));
  EXPECT_FALSE(executor->can_fill_parallel(1));
}

}  // namespace
}  // namespace ws
