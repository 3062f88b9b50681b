// The CUDA upload path (native/cuda) on its own, without LibTorch: windows
// staged in the pinned ring, copied on the uploader's stream and converted by
// the GPU kernels give the same bytes as the host converter and as a
// portable load of the same checkpoint. Every test skips, saying why, where
// there is no GPU (CI builds and links them only), and fails there instead
// under WS_REQUIRE_CUDA=1 (bench/gpu.sh).
#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "../model/model_fixture.h"
#include "cuda/cuda_upload.h"
#include "require.h"

namespace ws::test {
namespace {

// A GPU run (bench/gpu.sh sets WS_REQUIRE_CUDA=1) fails instead of skipping.
#define SKIP_WITHOUT_GPU()                                                                   \
  do {                                                                                       \
    std::string why;                                                                         \
    if (cuda_device_count(&why) == 0) WS_SKIP_UNLESS_REQUIRED("WS_REQUIRE_CUDA", "no GPU: " + why); \
  } while (0)

// f32 values that exercise every rounding path: normals, halfway cases,
// subnormals of both narrow types, overflow to inf, inf, NaN, signed zero.
std::vector<float> tricky_floats(size_t n) {
  std::vector<float> v = {0.0f, -0.0f, 1.0f, -1.0f, 65504.0f, 65520.0f, 1e6f, -1e6f, 6e-8f, 3e-8f, 1e-40f,
                          -1e-40f, std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                          std::numeric_limits<float>::quiet_NaN(), 1.0009765625f, 1.00048828125f, 3.14159265f};
  std::mt19937 rng(7);
  std::uniform_int_distribution<uint32_t> bits;
  while (v.size() < n) {
    uint32_t u = bits(rng);
    float f;
    std::memcpy(&f, &u, 4);
    v.push_back(f);
  }
  v.resize(n);
  return v;
}

std::vector<uint8_t> as_dtype(const std::vector<float>& values, DType dtype) {
  std::vector<uint8_t> out(dtype_storage_bytes(dtype, values.size()));
  convert_elements(DType::F32, reinterpret_cast<const uint8_t*>(values.data()), dtype, out.data(), values.size());
  return out;
}

struct Pair {
  DType from, to;
};
void PrintTo(const Pair& p, std::ostream* os) { *os << dtype_name(p.from) << "->" << dtype_name(p.to); }

class CudaConversion : public testing::TestWithParam<Pair> {};

TEST_P(CudaConversion, SameBitsAsTheHostConverter) {
  SKIP_WITHOUT_GPU();
  const Pair p = GetParam();
  const size_t n = 100003;  // several windows of 64 KiB, the last one partial
  const std::vector<uint8_t> source = as_dtype(tricky_floats(n), p.from);
  std::vector<uint8_t> expected(dtype_storage_bytes(p.to, n));
  convert_elements(p.from, source.data(), p.to, expected.data(), n);

  Result<CudaMemory> device = CudaMemory::allocate(0, expected.size());
  ASSERT_TRUE(device.is_ok()) << device.error().to_string();
  Result<std::unique_ptr<CudaUploader>> uploader = CudaUploader::create(0, 64 << 10);
  ASSERT_TRUE(uploader.is_ok()) << uploader.error().to_string();
  const uint64_t window = (64 << 10) / dtype_size(p.from);
  for (uint64_t first = 0; first < n; first += window) {
    const uint64_t count = std::min<uint64_t>(window, n - first);
    uint8_t* staged = (*uploader)->acquire(dtype_storage_bytes(p.from, count));
    ASSERT_NE(staged, nullptr);
    std::memcpy(staged, source.data() + dtype_storage_bytes(p.from, first), dtype_storage_bytes(p.from, count));
    ASSERT_TRUE((*uploader)->upload(device->data(), p.to, first, p.from, staged, count).is_ok());
  }
  ASSERT_TRUE((*uploader)->finish().is_ok());
  Result<std::vector<uint8_t>> got = device->download();
  ASSERT_TRUE(got.is_ok());
  ASSERT_EQ(got->size(), expected.size());
  for (size_t i = 0; i < n; ++i) {
    const size_t s = dtype_size(p.to);
    ASSERT_EQ(std::memcmp(got->data() + i * s, expected.data() + i * s, s), 0) << "element " << i;
  }
  if (p.from != p.to) EXPECT_GT((*uploader)->stats().gpu_conversions, 0u);
}

INSTANTIATE_TEST_SUITE_P(AllFloatPairs, CudaConversion,
                         testing::Values(Pair{DType::F32, DType::F32}, Pair{DType::F32, DType::F16},
                                         Pair{DType::F32, DType::BF16}, Pair{DType::F16, DType::F32},
                                         Pair{DType::BF16, DType::F32}, Pair{DType::F16, DType::BF16},
                                         Pair{DType::BF16, DType::F16}),
                         [](const testing::TestParamInfo<Pair>& info) {
                           return std::string(dtype_name(info.param.from)) + "_to_" + dtype_name(info.param.to);
                         });

TEST(CudaUploader, HostMemoryIsTheRingWhateverTheModelSize) {
  SKIP_WITHOUT_GPU();
  Result<std::unique_ptr<CudaUploader>> uploader = CudaUploader::create(0, 1 << 20, 3);
  ASSERT_TRUE(uploader.is_ok()) << uploader.error().to_string();
  // 3 ring buffers + 2 for host-dequantised windows, each one window.
  EXPECT_EQ((*uploader)->stats().pinned_bytes, 5u << 20);
  EXPECT_EQ((*uploader)->acquire((1 << 20) + 1), nullptr);  // the executor then uses its own buffer
}

TEST(CudaUploader, RefusesABadDeviceWithATypedError) {
  SKIP_WITHOUT_GPU();
  Result<std::unique_ptr<CudaUploader>> uploader = CudaUploader::create(cuda_device_count(), 1 << 20);
  ASSERT_FALSE(uploader.is_ok());
  EXPECT_EQ(uploader.error().kind, ErrorKind::InvalidArgument);
  EXPECT_FALSE(CudaUploader::create(0, 1 << 20, 1).is_ok());
}

// A whole checkpoint through the executor: every tensor into device memory
// via the pinned ring, compared with the same checkpoint bound on the host.
struct LoadCase {
  const char* fixture;
  DType target;
};
void PrintTo(const LoadCase& c, std::ostream* os) { *os << c.fixture << "->" << dtype_name(c.target); }

class CudaLoad : public testing::TestWithParam<LoadCase> {};

TEST_P(CudaLoad, DeviceBytesEqualAHostLoad) {
  SKIP_WITHOUT_GPU();
  const LoadCase c = GetParam();
  const std::string name = c.fixture;
  const std::string path =
      name.rfind("gguf/", 0) == 0 ? std::string(WS_FIXTURES_DIR) + "/" + name : fixture_dir(name);
  Result<std::unique_ptr<ModelSource>> source = ModelSource::open(path);
  ASSERT_TRUE(source.is_ok()) << source.error().to_string();
  const Checkpoint& checkpoint = (*source)->checkpoint();

  std::vector<HostBuffer> host;
  std::vector<CudaMemory> device;
  std::vector<std::unique_ptr<CudaDestination>> destinations;
  std::vector<ManifestEntry> host_manifest, device_manifest;
  host.reserve(checkpoint.tensors.size());
  Result<std::unique_ptr<CudaUploader>> uploader = CudaUploader::create(0, 4096);
  ASSERT_TRUE(uploader.is_ok()) << uploader.error().to_string();
  for (const TensorInfo& t : checkpoint.tensors) {
    const DType dtype = can_convert(t.dtype, c.target) ? c.target : t.dtype;
    const uint64_t bytes = dtype_storage_bytes(dtype, t.numel());
    host.push_back(HostBuffer::allocate(bytes).value());
    host_manifest.push_back({t.name, dtype, t.shape, &host.back()});
    device.push_back(CudaMemory::allocate(0, bytes).value());
    destinations.push_back(std::make_unique<CudaDestination>(**uploader, device.back().data(), dtype));
    device_manifest.push_back({t.name, dtype, t.shape, destinations.back().get()});
  }
  PlanOptions small_windows;  // many windows per tensor: the ring wraps often
  small_windows.staging_bytes = 4096;
  for (auto* manifest : {&host_manifest, &device_manifest}) {
    Result<LoadPlan> plan = plan_load(checkpoint, *manifest, small_windows);
    ASSERT_TRUE(plan.is_ok()) << plan.error().to_string();
    auto executor = LoadExecutor::create(*plan, *manifest).value();
    if (manifest == &device_manifest) executor->set_staging(uploader->get());
    Status loaded = (*source)->load(*executor);
    ASSERT_TRUE(loaded.is_ok()) << loaded.error().to_string();
  }
  ASSERT_TRUE((*uploader)->finish().is_ok());
  for (size_t i = 0; i < host.size(); ++i) {
    Result<std::vector<uint8_t>> got = device[i].download();
    ASSERT_TRUE(got.is_ok());
    ASSERT_EQ(got->size(), host[i].bytes());
    EXPECT_EQ(std::memcmp(got->data(), host[i].data(), host[i].bytes()), 0) << checkpoint.tensors[i].name;
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, CudaLoad,
                         testing::Values(LoadCase{"llama_sharded", DType::F32}, LoadCase{"llama_sharded", DType::BF16},
                                         LoadCase{"llama_bf16", DType::F32}, LoadCase{"gpt2_f16", DType::F16},
                                         LoadCase{"gpt2", DType::F16},
                                         // ggml blocks: dequantised on the host in chunks, then copied
                                         LoadCase{"gguf/tiny-llama.gguf", DType::F32},
                                         LoadCase{"gguf/tiny-llama.gguf", DType::F16}),
                         [](const testing::TestParamInfo<LoadCase>& info) {
                           std::string name = std::string(info.param.fixture) + "_" + dtype_name(info.param.target);
                           for (char& ch : name) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace ws::test
