// plan_load and the executor on in-memory checkpoints.
#include <gtest/gtest.h>

#include "load/in_memory.h"

namespace ws {
namespace {

using test::f32_file;
using test::InMemoryCheckpoint;

struct Bound {
  std::vector<ManifestEntry> manifest;
  std::vector<HostBuffer> buffers;
};

Bound bind_all(const Checkpoint& checkpoint, DType dtype, const std::vector<std::string>& names) {
  Bound b;
  b.buffers.reserve(names.size());
  for (const std::string& name : names) {
    const TensorInfo* t = checkpoint.find(name);
    b.buffers.push_back(std::move(HostBuffer::allocate(t->numel() * dtype_size(dtype)).value()));
    b.manifest.push_back({name, dtype, t->shape, &b.buffers.back()});
  }
  return b;
}

float element_f32(const HostBuffer& buffer, DType dtype, uint64_t i) {
  float f;
  convert_elements(dtype, buffer.data() + i * dtype_size(dtype), DType::F32, reinterpret_cast<uint8_t*>(&f), 1);
  return f;
}

TEST(Plan, LoadsIdentityAndConvertingWindowsAcrossShards) {
  InMemoryCheckpoint ckpt;
  ckpt.add_shard(f32_file({{"a", 100}, {"skip_me", 50}, {"b", 1000}}), "s1");
  ckpt.add_shard(f32_file({{"c", 7}}), "s2");
  for (DType dtype : {DType::F32, DType::BF16, DType::F16}) {
    Bound bound = bind_all(ckpt.checkpoint, dtype, {"b", "a", "c"});
    PlanOptions options;
    options.staging_bytes = 256;  // forces many windows
    Result<LoadPlan> plan = plan_load(ckpt.checkpoint, bound.manifest, options);
    ASSERT_TRUE(plan.is_ok()) << plan.error().to_string();
    EXPECT_EQ(plan->bytes_to_bind, (100 + 1000 + 7) * dtype_size(dtype));
    // The unused tensor sits between a and b: read (as a skip) only because it is in between.
    EXPECT_EQ(plan->bytes_to_read, (100 + 50 + 1000 + 7) * 4u);
    EXPECT_LE(plan->staging_bytes, 256u);
    auto executor = LoadExecutor::create(*plan, bound.manifest);
    ASSERT_TRUE(executor.is_ok());
    ASSERT_TRUE(run_load(**executor, 2, ckpt.reader(), 100).is_ok());
    EXPECT_EQ((*executor)->bytes_done(), plan->bytes_to_read);
    EXPECT_EQ((*executor)->staging_allocated(), dtype == DType::F32 ? 0u : 256u);
    // Small integers are exact in every dtype up to 256 (bf16) / 2048 (f16).
    EXPECT_EQ(element_f32(bound.buffers[1], dtype, 99), 99.0f);  // a[99]
    EXPECT_EQ(element_f32(bound.buffers[0], dtype, 0), 2000.0f);  // b[0] = 2 * 1000
    EXPECT_EQ(element_f32(bound.buffers[2], dtype, 6), 6.0f);    // c[6]
    if (dtype == DType::F32) {
      EXPECT_EQ(element_f32(bound.buffers[0], dtype, 999), 2999.0f);
    }
  }
}

TEST(Plan, ReportsEveryProblemAtOnce) {
  InMemoryCheckpoint ckpt;
  ckpt.add_shard(f32_file({{"a", 4}, {"b", 4}}), "s1");
  HostBuffer dummy = HostBuffer::allocate(64).value();
  std::vector<ManifestEntry> manifest = {
      {"a", DType::F32, {5}, &dummy},        // wrong shape
      {"missing.one", DType::F32, {4}, &dummy},
      {"missing.two", DType::F32, {4}, &dummy},
      {"b", DType::I32, {4}, &dummy},         // F32 -> I32 unsupported
  };
  Result<LoadPlan> plan = plan_load(ckpt.checkpoint, manifest);
  ASSERT_FALSE(plan.is_ok());
  EXPECT_EQ(plan.error().kind, ErrorKind::MissingTensor);
  const std::string& m = plan.error().message;
  EXPECT_NE(m.find("missing tensors (2): missing.one, missing.two"), std::string::npos) << m;
  EXPECT_NE(m.find("a is [4] in s1, expected [5]"), std::string::npos) << m;
  EXPECT_NE(m.find("b F32 -> I32"), std::string::npos) << m;
}

TEST(Plan, UnexpectedTensorsWhenStrict) {
  InMemoryCheckpoint ckpt;
  ckpt.add_shard(f32_file({{"a", 4}, {"extra", 4}}), "s1");
  Bound bound = bind_all(ckpt.checkpoint, DType::F32, {"a"});
  PlanOptions strict;
  strict.allow_unused_tensors = false;
  Result<LoadPlan> plan = plan_load(ckpt.checkpoint, bound.manifest, strict);
  ASSERT_FALSE(plan.is_ok());
  EXPECT_EQ(plan.error().kind, ErrorKind::UnexpectedTensor);
  EXPECT_NE(plan.error().message.find("extra"), std::string::npos);
}

TEST(Plan, DuplicateManifestEntry) {
  InMemoryCheckpoint ckpt;
  ckpt.add_shard(f32_file({{"a", 4}}), "s1");
  Bound bound = bind_all(ckpt.checkpoint, DType::F32, {"a", "a"});
  Result<LoadPlan> plan = plan_load(ckpt.checkpoint, bound.manifest);
  ASSERT_FALSE(plan.is_ok());
  EXPECT_EQ(plan.error().kind, ErrorKind::InvalidArgument);
}

// A destination that is not host memory (as GPU memory is): it gets source
// elements through write_source and converts them itself.
class RecordingDestination : public Destination {
 public:
  uint8_t* host_data() override { return nullptr; }
  Status write_source(uint64_t first, DType dtype, const uint8_t* bytes, uint64_t count) override {
    EXPECT_EQ(dtype, DType::F32);
    EXPECT_EQ(first, received.size());
    const float* f = reinterpret_cast<const float*>(bytes);
    received.insert(received.end(), f, f + count);
    return Status::ok();
  }
  std::vector<float> received;
};

TEST(Executor, StagesNonHostDestinationsInWindowOrder) {
  InMemoryCheckpoint ckpt;
  ckpt.add_shard(f32_file({{"a", 1000}}), "s1");
  RecordingDestination destination;
  std::vector<ManifestEntry> manifest = {{"a", DType::F32, {1000}, &destination}};
  PlanOptions options;
  options.staging_bytes = 1024;
  LoadPlan plan = plan_load(ckpt.checkpoint, manifest, options).value();
  auto executor = LoadExecutor::create(plan, manifest).value();
  EXPECT_EQ(executor->staging_allocated(), 1024u);
  ASSERT_TRUE(run_load(*executor, 1, ckpt.reader()).is_ok());
  ASSERT_EQ(destination.received.size(), 1000u);
  EXPECT_EQ(destination.received[999], 999.0f);
}

// A ring of buffers, as the CUDA uploader's pinned ones: records what it
// handed out so the test can check every window was staged in one of them.
class RingProvider : public StagingProvider {
 public:
  RingProvider(size_t buffers, uint64_t bytes) : ring(buffers, std::vector<uint8_t>(bytes)) {}
  uint8_t* acquire(uint64_t bytes) override {
    if (bytes > ring[0].size()) return nullptr;
    uint8_t* buffer = ring[handed_out++ % ring.size()].data();
    return buffer;
  }
  bool owns(const uint8_t* p) const {
    for (const auto& b : ring) {
      if (p >= b.data() && p < b.data() + b.size()) return true;
    }
    return false;
  }
  std::vector<std::vector<uint8_t>> ring;
  size_t handed_out = 0;
};

// Records which buffer each window arrived in.
class StagedFromDestination : public RecordingDestination {
 public:
  Status write_source(uint64_t first, DType dtype, const uint8_t* bytes, uint64_t count) override {
    sources.push_back(bytes);
    return RecordingDestination::write_source(first, dtype, bytes, count);
  }
  std::vector<const uint8_t*> sources;
};

TEST(Executor, StagesWindowsInTheProvidersBuffersInTurn) {
  InMemoryCheckpoint ckpt;
  ckpt.add_shard(f32_file({{"a", 1000}}), "s1");
  StagedFromDestination destination;
  std::vector<ManifestEntry> manifest = {{"a", DType::F32, {1000}, &destination}};
  PlanOptions options;
  options.staging_bytes = 1024;
  LoadPlan plan = plan_load(ckpt.checkpoint, manifest, options).value();
  auto executor = LoadExecutor::create(plan, manifest).value();
  RingProvider ring(3, 1024);
  executor->set_staging(&ring);
  EXPECT_EQ(executor->staging_allocated(), 0u);  // its own buffer is freed
  // Reads of 100 bytes: a window is filled by several reads into one buffer.
  ASSERT_TRUE(run_load(*executor, 1, ckpt.reader(), 100).is_ok());
  ASSERT_EQ(destination.received.size(), 1000u);
  for (size_t i = 0; i < 1000; ++i) ASSERT_EQ(destination.received[i], static_cast<float>(i)) << i;
  ASSERT_EQ(destination.sources.size(), 4u);  // 4000 bytes in 1024-byte windows
  EXPECT_EQ(ring.handed_out, 4u);
  for (size_t w = 0; w < destination.sources.size(); ++w) {
    EXPECT_EQ(destination.sources[w], ring.ring[w % 3].data()) << "window " << w;
  }
  EXPECT_EQ(executor->staging_allocated(), 0u);
}

TEST(Executor, FallsBackToItsOwnBufferForWindowsTheProviderCannotHold) {
  InMemoryCheckpoint ckpt;
  ckpt.add_shard(f32_file({{"a", 1000}}), "s1");
  StagedFromDestination destination;
  std::vector<ManifestEntry> manifest = {{"a", DType::F32, {1000}, &destination}};
  PlanOptions options;
  options.staging_bytes = 2048;
  LoadPlan plan = plan_load(ckpt.checkpoint, manifest, options).value();
  auto executor = LoadExecutor::create(plan, manifest).value();
  RingProvider small(2, 1024);
  executor->set_staging(&small);
  ASSERT_TRUE(run_load(*executor, 1, ckpt.reader()).is_ok());
  ASSERT_EQ(destination.received.size(), 1000u);
  EXPECT_EQ(destination.received[999], 999.0f);
  EXPECT_EQ(small.handed_out, 0u);
  for (const uint8_t* p : destination.sources) EXPECT_FALSE(small.owns(p));
  EXPECT_EQ(executor->staging_allocated(), 2048u);
}

TEST(Executor, RejectsCommitsThatDoNotFit) {
  InMemoryCheckpoint ckpt;
  ckpt.add_shard(f32_file({{"a", 4}}), "s1");
  Bound bound = bind_all(ckpt.checkpoint, DType::F32, {"a"});
  LoadPlan plan = plan_load(ckpt.checkpoint, bound.manifest).value();
  auto executor = LoadExecutor::create(plan, bound.manifest).value();
  EXPECT_FALSE(executor->commit(0, 17).is_ok());
  EXPECT_TRUE(executor->commit(0, 16).is_ok());
  EXPECT_TRUE(executor->shard_done(0));
  EXPECT_FALSE(executor->commit(0, 1).is_ok());
}

TEST(Executor, ReportsProgressUpToTheTotal) {
  InMemoryCheckpoint ckpt;
  ckpt.add_shard(f32_file({{"a", 64}, {"b", 64}}), "s1");
  Bound bound = bind_all(ckpt.checkpoint, DType::BF16, {"a", "b"});
  LoadPlan plan = plan_load(ckpt.checkpoint, bound.manifest).value();
  auto executor = LoadExecutor::create(plan, bound.manifest).value();
  uint64_t last = 0, calls = 0;
  executor->set_progress([&](const LoadProgress& p) {
    EXPECT_GE(p.bytes_done, last);
    EXPECT_EQ(p.bytes_total, 512u);
    last = p.bytes_done;
    ++calls;
  });
  ASSERT_TRUE(run_load(*executor, 1, ckpt.reader(), 100).is_ok());
  EXPECT_EQ(last, 512u);
  EXPECT_GE(calls, 6u);
}

}  // namespace
}  // namespace ws
