// The memory promise, measured deterministically: besides the tensor buffers,
// the loader allocates no more than its staging buffer plus a small constant
// per tensor. Every operator new in this test binary is counted.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "load/in_memory.h"

namespace {
std::atomic<uint64_t> g_live_bytes{0};
std::atomic<uint64_t> g_peak_bytes{0};
constexpr size_t kHeader = 16;  // we store each block's size in front of it

void* counted_alloc(size_t n) {
  void* p = std::malloc(n + kHeader);
  if (!p) throw std::bad_alloc();
  *static_cast<size_t*>(p) = n;
  const uint64_t live = g_live_bytes += n;
  uint64_t peak = g_peak_bytes.load();
  while (live > peak && !g_peak_bytes.compare_exchange_weak(peak, live)) {}
  return static_cast<char*>(p) + kHeader;
}
void counted_free(void* p) {
  if (!p) return;
  char* block = static_cast<char*>(p) - kHeader;
  g_live_bytes -= *reinterpret_cast<size_t*>(block);
  std::free(block);
}
}  // namespace

void* operator new(size_t n) { return counted_alloc(n); }
void* operator new[](size_t n) { return counted_alloc(n); }
void operator delete(void* p) noexcept { counted_free(p); }
void operator delete[](void* p) noexcept { counted_free(p); }
void operator delete(void* p, size_t) noexcept { counted_free(p); }
void operator delete[](void* p, size_t) noexcept { counted_free(p); }

namespace ws {
namespace {

TEST(MemoryBound, LoaderAllocatesAtMostStagingPlusAConstantPerTensor) {
  constexpr int kTensors = 300;
  std::vector<std::pair<std::string, uint64_t>> spec;
  for (int i = 0; i < kTensors; ++i) {
    spec.push_back({"model.layers." + std::to_string(i) + ".self_attn.q_proj.weight", 4096});
  }
  test::InMemoryCheckpoint ckpt;
  ckpt.add_shard(test::f32_file(spec), "s1");

  // Destination buffers are the model's memory, not the loader's: made first.
  std::vector<HostBuffer> buffers;
  std::vector<ManifestEntry> manifest;
  buffers.reserve(kTensors);
  for (const auto& [name, n] : spec) {
    buffers.push_back(std::move(HostBuffer::allocate(n * 2).value()));  // bf16
    manifest.push_back({name, DType::BF16, {n}, &buffers.back()});
  }
  constexpr uint64_t kStaging = 64 << 10;
  constexpr uint64_t kPerTensor = 512;

  const uint64_t baseline = g_live_bytes.load();
  g_peak_bytes = baseline;
  {
    PlanOptions options;
    options.staging_bytes = kStaging;
    LoadPlan plan = plan_load(ckpt.checkpoint, manifest, options).value();
    auto executor = LoadExecutor::create(plan, manifest).value();
    ASSERT_TRUE(run_load(*executor, 1, ckpt.reader()).is_ok());
  }
  const uint64_t loader_peak = g_peak_bytes.load() - baseline;
  EXPECT_LE(loader_peak, kStaging + kPerTensor * kTensors) << "loader peak " << loader_peak << " bytes";
  EXPECT_GE(loader_peak, kStaging) << "the counter did not see the staging buffer";
  float last;
  convert_elements(DType::BF16, buffers.back().data() + 4095 * 2, DType::F32, reinterpret_cast<uint8_t*>(&last), 1);
  // element 4095 of tensor 299 is 303095; bf16 keeps 8 significant bits, ulp 2048 there
  EXPECT_EQ(last, 303104.0f);
}

// Quantize-on-load keeps the same promise: the f32 values of a window are
// widened and quantised through a small stack chunk, nothing on the heap
// beyond the staging buffer.
TEST(MemoryBound, QuantizeOnLoadAllocatesAtMostStagingPlusAConstantPerTensor) {
  constexpr int kTensors = 100;
  std::vector<std::pair<std::string, uint64_t>> spec;
  for (int i = 0; i < kTensors; ++i) spec.push_back({"w" + std::to_string(i), 4096});
  test::InMemoryCheckpoint ckpt;
  ckpt.add_shard(test::f32_file(spec), "s1");
  for (DType dtype : {DType::Q8_0, DType::Q4_K, DType::Q6_K}) {
    std::vector<HostBuffer> buffers;
    std::vector<ManifestEntry> manifest;
    buffers.reserve(kTensors);
    for (const auto& [name, n] : spec) {
      buffers.push_back(std::move(HostBuffer::allocate(dtype_storage_bytes(dtype, n)).value()));
      manifest.push_back({name, dtype, {n}, &buffers.back()});
    }
    constexpr uint64_t kStaging = 8 << 10;
    constexpr uint64_t kPerTensor = 512;
    const uint64_t baseline = g_live_bytes.load();
    g_peak_bytes = baseline;
    {
      PlanOptions options;
      options.staging_bytes = kStaging;
      LoadPlan plan = plan_load(ckpt.checkpoint, manifest, options).value();
      EXPECT_EQ(plan.staging_bytes, kStaging) << dtype_name(dtype);
      auto executor = LoadExecutor::create(plan, manifest).value();
      ASSERT_TRUE(run_load(*executor, 1, ckpt.reader()).is_ok());
    }
    const uint64_t loader_peak = g_peak_bytes.load() - baseline;
    EXPECT_LE(loader_peak, kStaging + kPerTensor * kTensors) << dtype_name(dtype) << ": loader peak " << loader_peak;
    EXPECT_GE(loader_peak, kStaging) << "the counter did not see the staging buffer";
    // Element 4095 of the last tensor is 103095: decoded within a grid step.
    float last[256];
    convert_elements(dtype, buffers.back().data() + dtype_storage_bytes(dtype, 4096 - 256), DType::F32,
                     reinterpret_cast<uint8_t*>(last), 256);
    EXPECT_NEAR(last[255], 103095.0f, 103095.0f / 16) << dtype_name(dtype);
  }
}

}  // namespace
}  // namespace ws
