// Dequantisation through the loader against the independent `gguf` package:
// tests/tools/make_gguf_fixtures.py quantised one tensor per type with it and
// wrote gguf.quants.dequantize()'s f32 output beside it.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "format/gguf.h"
#include "load/load.h"
#include "load/quantize.h"
#include "native/test_support.h"

namespace ws {
namespace {

const std::string kDir = std::string(WS_FIXTURES_DIR) + "/gguf";

using test::read_file;

std::vector<float> read_floats(const std::string& path) {
  const std::string bytes = read_file(path);
  std::vector<float> v(bytes.size() / 4);
  std::memcpy(v.data(), bytes.data(), v.size() * 4);
  return v;
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  const std::string bytes = read_file(path);
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

struct Loaded {
  std::string file;
  Checkpoint checkpoint;
};

Loaded open_gguf(const std::string& name) {
  Loaded l;
  l.file = read_file(kDir + "/" + name);
  const auto* bytes = reinterpret_cast<const uint8_t*>(l.file.data());
  Result<GgufPrefix> parsed = parse_gguf_prefix(bytes, l.file.size(), l.file.size(), name);
  EXPECT_TRUE(parsed.is_ok() && parsed->header) << (parsed ? "" : parsed.error().to_string());
  if (parsed && parsed->header) {
    EXPECT_TRUE(gguf_checkpoint(*parsed->header, l.file.size(), name, l.checkpoint).is_ok());
  }
  return l;
}

Loaded open_quants() { return open_gguf("quants.gguf"); }

// Loads tensor `name` as `dtype` with a staging buffer of `staging` bytes.
std::vector<uint8_t> load_tensor(const Loaded& l, const std::string& name, DType dtype, uint64_t staging) {
  const TensorInfo* t = l.checkpoint.find(name);
  EXPECT_NE(t, nullptr) << name;
  if (!t) return {};
  HostBuffer buffer = std::move(HostBuffer::allocate(dtype_storage_bytes(dtype, t->numel())).value());
  std::vector<ManifestEntry> manifest = {{name, dtype, t->shape, &buffer}};
  PlanOptions options;
  options.staging_bytes = staging;
  Result<LoadPlan> plan = plan_load(l.checkpoint, manifest, options);
  EXPECT_TRUE(plan.is_ok()) << plan.error().to_string();
  if (!plan) return {};
  // A window is at least one source block, and one destination block when it quantises.
  const uint64_t smallest_window = dtype != t->dtype && dtype_is_quantized(dtype)
                                       ? dtype_block_elements(dtype) * dtype_size(t->dtype)
                                       : dtype_block_bytes(t->dtype);
  EXPECT_LE(plan->staging_bytes, std::max<uint64_t>(staging, smallest_window));
  auto executor = LoadExecutor::create(*plan, manifest);
  EXPECT_TRUE(executor.is_ok());
  Status done = run_load(**executor, 1, [&](size_t, uint64_t offset, uint8_t* dst, uint64_t len) -> Status {
    if (offset + len > l.file.size()) return make_error(ErrorKind::Truncated, "past end");
    std::memcpy(dst, l.file.data() + offset, len);
    return Status::ok();
  });
  EXPECT_TRUE(done.is_ok()) << done.error().to_string();
  return std::vector<uint8_t>(buffer.data(), buffer.data() + buffer.bytes());
}

const char* const kTypes[] = {"F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q4_K", "Q5_K", "Q6_K"};

TEST(Dequant, ToF32IsBitExactWithGgufPackage) {
  const Loaded l = open_quants();
  for (const char* type : kTypes) {
    const std::vector<float> ref = read_floats(kDir + "/ref/" + type + ".f32");
    ASSERT_EQ(ref.size(), 4u * 512) << type;
    // Large windows and 64-byte ones (cut on block boundaries) give the same bytes.
    for (uint64_t staging : {uint64_t{1} << 20, uint64_t{64}}) {
      const std::vector<uint8_t> got = load_tensor(l, type, DType::F32, staging);
      ASSERT_EQ(got.size(), ref.size() * 4) << type;
      size_t mismatches = 0;
      for (size_t i = 0; i < ref.size(); ++i) {
        float f;
        std::memcpy(&f, got.data() + i * 4, 4);
        if (std::memcmp(&f, &ref[i], 4) != 0 && ++mismatches <= 3) {
          ADD_FAILURE() << type << " element " << i << ": " << f << " vs gguf " << ref[i];
        }
      }
      EXPECT_EQ(mismatches, 0u) << type << " staging " << staging;
    }
  }
}

TEST(Dequant, ToF16AndBF16RoundsTheReference) {
  const Loaded l = open_quants();
  for (const char* type : kTypes) {
    const std::vector<float> ref = read_floats(kDir + "/ref/" + type + ".f32");
    for (DType to : {DType::F16, DType::BF16}) {
      const std::vector<uint8_t> got = load_tensor(l, type, to, 4096);
      ASSERT_EQ(got.size(), ref.size() * 2);
      const float relative = to == DType::F16 ? 1.0f / 2048 : 1.0f / 256;  // half an ulp
      for (size_t i = 0; i < ref.size(); ++i) {
        float back;
        convert_elements(to, got.data() + i * 2, DType::F32, reinterpret_cast<uint8_t*>(&back), 1);
        ASSERT_LE(std::fabs(back - ref[i]), std::fabs(ref[i]) * relative + 6e-8f)
            << type << " -> " << dtype_name(to) << " element " << i;
      }
    }
  }
}

// Quantize-on-load of a tensor stored with llama.cpp's interleaved rotary
// rows: each row is read on its own and its blocks land at its Hugging Face
// row, so the result equals quantising the Hugging Face tensor.
TEST(Dequant, QuantizingInterleavedRowsGivesTheHuggingFaceOrder) {
  const Loaded l = open_gguf("tiny-llama.gguf");
  const std::string name = "model.layers.0.self_attn.q_proj.weight";
  const TensorInfo* t = l.checkpoint.find(name);
  ASSERT_NE(t, nullptr);
  ASSERT_NE(t->interleaved_heads, 0u) << "the fixture should store q_proj permuted";
  const std::vector<float> hf = read_floats(kDir + "/tiny-llama/ref/" + name + ".f32");
  ASSERT_EQ(hf.size(), t->numel());
  for (DType dtype : {DType::Q8_0, DType::Q4_0}) {
    const uint64_t blocks = hf.size() / dtype_block_elements(dtype);
    std::vector<uint8_t> expected(blocks * dtype_block_bytes(dtype));
    detail::quantize_blocks(dtype, hf.data(), expected.data(), blocks);
    for (uint64_t staging : {uint64_t{64}, uint64_t{1} << 20}) {
      EXPECT_EQ(load_tensor(l, name, dtype, staging), expected) << dtype_name(dtype) << " staging " << staging;
    }
  }
}

// A GGUF's blocks asked as another block type: dequantised and quantised in
// the staging buffer, bit-identical to gguf-py's quantize(dequantize(blocks)).
TEST(Dequant, RequantizedBlocksMatchGgufPackage) {
  const Loaded l = open_quants();
  for (const char* type : {"Q4_0", "Q4_1", "Q5_0", "Q5_1", "F16", "BF16"}) {
    const std::vector<uint8_t> ref = read_bytes(kDir + "/ref/" + type + "_as_Q8_0.bin");
    ASSERT_EQ(ref.size(), 4u * 512 / 32 * 34) << type;
    for (uint64_t staging : {uint64_t{1} << 20, uint64_t{64}}) {
      const std::vector<uint8_t> got = load_tensor(l, type, DType::Q8_0, staging);
      ASSERT_EQ(got.size(), ref.size()) << type;
      EXPECT_EQ(std::memcmp(got.data(), ref.data(), ref.size()), 0) << type << " staging " << staging;
    }
  }
}

TEST(Dequant, IdentityKeepsTheBlocks) {
  const Loaded l = open_quants();
  const TensorInfo* t = l.checkpoint.find("Q4_1");
  ASSERT_NE(t, nullptr);
  const std::vector<uint8_t> got = load_tensor(l, "Q4_1", DType::Q4_1, 64);
  ASSERT_EQ(got.size() >= t->bytes(), true);
  EXPECT_EQ(std::memcmp(got.data(), l.file.data() + t->begin, t->bytes()), 0);
  EXPECT_EQ(t->bytes(), 4u * 512 / 32 * 20);
}

TEST(Dequant, BlockGeometry) {
  EXPECT_EQ(dtype_block_elements(DType::Q4_0), 32u);
  EXPECT_EQ(dtype_block_bytes(DType::Q4_0), 18u);
  EXPECT_EQ(dtype_block_bytes(DType::Q4_1), 20u);
  EXPECT_EQ(dtype_block_bytes(DType::Q5_0), 22u);
  EXPECT_EQ(dtype_block_bytes(DType::Q5_1), 24u);
  EXPECT_EQ(dtype_block_bytes(DType::Q8_0), 34u);
  EXPECT_EQ(dtype_block_elements(DType::Q4_K), 256u);
  EXPECT_EQ(dtype_block_bytes(DType::Q4_K), 144u);
  EXPECT_EQ(dtype_block_bytes(DType::Q5_K), 176u);
  EXPECT_EQ(dtype_block_bytes(DType::Q6_K), 210u);
  EXPECT_EQ(dtype_block_elements(DType::F32), 1u);
  EXPECT_EQ(dtype_storage_bytes(DType::Q8_0, 64), 68u);
  EXPECT_TRUE(can_convert(DType::Q4_1, DType::F16));
  EXPECT_TRUE(can_convert(DType::F32, DType::Q4_1));   // quantize-on-load (quantize_test.cpp)
  EXPECT_TRUE(can_convert(DType::Q4_1, DType::Q8_0));   // requantized (RequantizedBlocksMatchGgufPackage)
  EXPECT_FALSE(can_convert(DType::Q4_1, DType::I32));
}

}  // namespace
}  // namespace ws
