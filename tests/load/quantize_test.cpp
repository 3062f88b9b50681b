// Quantize-on-load against the independent `gguf` package:
// tests/tools/make_quantize_fixtures.py wrote F32/F16/BF16 tensors with the
// safetensors package and gguf-py's blocks of the same values. Every tensor is
// loaded as every block type through plan_load + LoadExecutor + run_load at
// staging sizes from 64 B to 1 MiB.
//   Q8_0 Q4_0 Q4_1 Q5_0 Q5_1: bit-identical to gguf.quants.quantize.
//   Q4_K Q5_K Q6_K (gguf-py cannot quantise them): the windowed load equals the
//     scalar quantizer called once on the whole tensor, bit for bit, and
//     gguf.quants.dequantize decodes the blocks to within a documented bound
//     of the input.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

#include <unistd.h>

#include "format/header_builder.h"
#include "load/load.h"
#include "load/quantize.h"

namespace ws {
namespace {

const std::string kDir = std::string(WS_FIXTURES_DIR) + "/quantize";
const char* const kSources[] = {"F32", "F16", "BF16"};
const DType kGgufPyFormats[] = {DType::Q8_0, DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1};
const DType kKQuants[] = {DType::Q4_K, DType::Q5_K, DType::Q6_K};
const uint64_t kStagingSizes[] = {64, 100, 1000, 4096, 1u << 20};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Sources {
  std::string file;
  Checkpoint checkpoint;
};

const Sources& sources() {
  static const Sources s = [] {
    Sources out;
    out.file = read_file(kDir + "/sources.safetensors");
    Status parsed = test::parse_file(out.file, out.checkpoint, "sources.safetensors");
    EXPECT_TRUE(parsed.is_ok()) << (parsed ? "" : parsed.error().to_string());
    return out;
  }();
  return s;
}

// Loads tensor `name` as `dtype` through the whole pipeline; reads are cut to
// `read_bytes` so windows arrive in several pieces.
std::vector<uint8_t> load_as(const std::string& name, DType dtype, uint64_t staging, uint64_t read_bytes = 1000,
                             int threads = 1) {
  const Sources& s = sources();
  const TensorInfo* t = s.checkpoint.find(name);
  EXPECT_NE(t, nullptr) << name;
  if (!t) return {};
  HostBuffer buffer = std::move(HostBuffer::allocate(dtype_storage_bytes(dtype, t->numel())).value());
  std::vector<ManifestEntry> manifest = {{name, dtype, t->shape, &buffer}};
  PlanOptions options;
  options.staging_bytes = staging;
  Result<LoadPlan> plan = plan_load(s.checkpoint, manifest, options);
  EXPECT_TRUE(plan.is_ok()) << (plan ? "" : plan.error().to_string());
  if (!plan) return {};
  // The staging bound: what PlanOptions says, or one destination block's
  // source bytes when that is more (the smallest window that can quantise).
  const uint64_t one_block = dtype_block_elements(dtype) * dtype_size(t->dtype);
  EXPECT_LE(plan->staging_bytes, std::max(staging, one_block)) << name << " as " << dtype_name(dtype);
  auto executor = LoadExecutor::create(*plan, manifest);
  EXPECT_TRUE(executor.is_ok());
  (*executor)->set_conversion_threads(threads);
  Status done = run_load(
      **executor, 1,
      [&](size_t, uint64_t offset, uint8_t* dst, uint64_t len) -> Status {
        if (offset + len > s.file.size()) return make_error(ErrorKind::Truncated, "past end");
        std::memcpy(dst, s.file.data() + offset, len);
        return Status::ok();
      },
      read_bytes);
  EXPECT_TRUE(done.is_ok()) << (done ? "" : done.error().to_string());
  EXPECT_EQ((*executor)->staging_allocated(), plan->staging_bytes);
  return std::vector<uint8_t>(buffer.data(), buffer.data() + buffer.bytes());
}

std::vector<float> widened(const std::string& source) {
  const std::string bytes = read_file(kDir + "/ref/" + source + ".f32");
  std::vector<float> v(bytes.size() / 4);
  std::memcpy(v.data(), bytes.data(), v.size() * 4);
  return v;
}

std::vector<float> dequantized(DType dtype, const std::vector<uint8_t>& blocks) {
  const uint64_t n = blocks.size() / dtype_block_bytes(dtype) * dtype_block_elements(dtype);
  std::vector<float> out(n);
  convert_elements(dtype, blocks.data(), DType::F32, reinterpret_cast<uint8_t*>(out.data()), n);
  return out;
}

// Number of blocks that differ; the first few are reported.
size_t mismatched_blocks(DType dtype, const std::vector<uint8_t>& got, const std::string& expected,
                         const std::string& what) {
  const uint64_t block_bytes = dtype_block_bytes(dtype);
  EXPECT_EQ(got.size(), expected.size()) << what;
  if (got.size() != expected.size()) return got.size() / block_bytes + 1;
  size_t bad = 0;
  for (uint64_t b = 0; b * block_bytes < got.size(); ++b) {
    if (std::memcmp(got.data() + b * block_bytes, expected.data() + b * block_bytes, block_bytes) != 0 &&
        ++bad <= 3) {
      ADD_FAILURE() << what << ": block " << b << " differs";
    }
  }
  return bad;
}

TEST(QuantizeOnLoad, GgufPyFormatsAreBitIdenticalToGgufPackage) {
  for (const char* source : kSources) {
    for (DType dtype : kGgufPyFormats) {
      const std::string expected = read_file(kDir + "/ref/" + source + "." + dtype_name(dtype));
      ASSERT_FALSE(expected.empty()) << source << "." << dtype_name(dtype);
      for (uint64_t staging : kStagingSizes) {
        const std::string what = std::string(source) + " -> " + dtype_name(dtype) + " staging " +
                                 std::to_string(staging);
        EXPECT_EQ(mismatched_blocks(dtype, load_as(source, dtype, staging), expected, what), 0u) << what;
        EXPECT_EQ(mismatched_blocks(dtype, load_as(source, dtype, staging, 4096, 3), expected, what + " 3 threads"), 0u)
            << what;
      }
    }
  }
}

TEST(QuantizeOnLoad, KQuantWindowedLoadEqualsOneShotQuantize) {
  for (const char* source : kSources) {
    const std::vector<float> x = widened(source);
    for (DType dtype : kKQuants) {
      const uint64_t blocks = x.size() / dtype_block_elements(dtype);
      std::string one_shot(blocks * dtype_block_bytes(dtype), '\0');
      detail::quantize_blocks(dtype, x.data(), reinterpret_cast<uint8_t*>(one_shot.data()), blocks);
      for (uint64_t staging : kStagingSizes) {
        const std::string what = std::string(source) + " -> " + dtype_name(dtype) + " staging " +
                                 std::to_string(staging);
        EXPECT_EQ(mismatched_blocks(dtype, load_as(source, dtype, staging, 77), one_shot, what), 0u) << what;
        EXPECT_EQ(mismatched_blocks(dtype, load_as(source, dtype, staging, 1 << 20, 3), one_shot, what + " 3 threads"),
                  0u)
            << what;
      }
    }
  }
}

// The K-quants' error, measured per 256-element super-block against that
// super-block's largest magnitude. Q4_K/Q5_K's grid (0..nmax, with a min)
// has steps of at most (max - min) / nmax <= 2 * amax / nmax, so a value
// rounded to the nearest level is off by at most amax / nmax (15 or 31);
// Q6_K's symmetric grid (-32..31) has steps of about amax / 32, half a step
// amax / 64. The 6-bit (Q4_K/Q5_K) or 8-bit (Q6_K) rounding of the sub-block
// scales and the clamping at the grid's ends add to that. The bounds below
// are that half step times 1.5, checked on normal, outlier, constant, tiny
// and zero rows. Row 1 of F32/BF16 (values near 1e30, whose scales overflow
// f16 as they do in ggml) is left out: only windowed == one-shot is asked of it.
struct KBound {
  DType dtype;
  float max_over_amax;   // per super-block: max |error| / max |x|
  float rms_over_rms;    // rows 6 and 7 (plain normal): rms error / rms x
};
const KBound kBounds[] = {
    {DType::Q4_K, 1.5f / 15, 0.12f},
    {DType::Q5_K, 1.5f / 31, 0.06f},
    {DType::Q6_K, 1.5f / 64, 0.03f},
};

constexpr float kScaleFloor = 1e-2f;

// Our K-quant blocks of every source, decoded by gguf.quants.dequantize
// (tests/tools/dequantize_with_gguf.py), keyed "<source>.<QTYPE>".
std::map<std::string, std::vector<float>> decoded_by_gguf_package() {
  char pattern[] = "/tmp/ws-quantize-XXXXXX";
  const std::string dir = ::mkdtemp(pattern);
  std::vector<std::string> keys;
  for (const char* source : kSources) {
    for (DType dtype : kKQuants) {
      const std::string key = std::string(source) + "." + dtype_name(dtype);
      const std::vector<uint8_t> blocks = load_as(source, dtype, 4096);
      std::ofstream(dir + "/" + key, std::ios::binary)
          .write(reinterpret_cast<const char*>(blocks.data()), static_cast<std::streamsize>(blocks.size()));
      keys.push_back(key);
    }
  }
  const std::string command = std::string(WS_PYTHON) + " " + WS_SOURCE_DIR + "/tests/tools/dequantize_with_gguf.py " + dir;
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  std::map<std::string, std::vector<float>> out;
  for (const std::string& key : keys) {
    const std::string bytes = read_file(dir + "/" + key + ".f32");
    std::vector<float> v(bytes.size() / 4);
    std::memcpy(v.data(), bytes.data(), v.size() * 4);
    out[key] = std::move(v);
    std::remove((dir + "/" + key).c_str());
    std::remove((dir + "/" + key + ".f32").c_str());
  }
  ::rmdir(dir.c_str());
  return out;
}

TEST(QuantizeOnLoad, KQuantsDecodeWithinTheirErrorBound) {
  constexpr uint64_t kCols = 1024;
  const std::map<std::string, std::vector<float>> by_gguf = decoded_by_gguf_package();
  for (const char* source : kSources) {
    const std::vector<float> x = widened(source);
    ASSERT_EQ(x.size(), 8 * kCols);
    for (const KBound& bound : kBounds) {
      const std::vector<float>& y = by_gguf.at(std::string(source) + "." + dtype_name(bound.dtype));
      ASSERT_EQ(y.size(), x.size());
      // Our decoder agrees with gguf-py's on our blocks, bit for bit (NaN
      // compared as NaN: row 1's overflowing scales decode to inf - inf).
      const std::vector<float> ours = dequantized(bound.dtype, load_as(source, bound.dtype, 4096));
      for (size_t i = 0; i < y.size(); ++i) {
        const bool same = std::memcmp(&ours[i], &y[i], 4) == 0 || (std::isnan(ours[i]) && std::isnan(y[i]));
        ASSERT_TRUE(same) << source << " " << dtype_name(bound.dtype) << " element " << i;
      }
      float worst = 0;
      double err2 = 0, x2 = 0;
      for (uint64_t sb = 0; sb < x.size() / 256; ++sb) {
        const uint64_t row = sb * 256 / kCols;
        if (row == 1 && std::string(source) != "F16") continue;
        float amax = 0, emax = 0;
        for (uint64_t i = sb * 256; i < (sb + 1) * 256; ++i) {
          amax = std::max(amax, std::fabs(x[i]));
          emax = std::max(emax, std::fabs(y[i] - x[i]));
          if (row >= 6) {
            err2 += double(y[i] - x[i]) * (y[i] - x[i]);
            x2 += double(x[i]) * x[i];
          }
        }
        ASSERT_TRUE(std::isfinite(emax)) << source << " " << dtype_name(bound.dtype) << " super-block " << sb;
        // Below kScaleFloor the f16 super-block scales underflow (to subnormals
        // or zero): the format cannot do better than decoding such values to
        // about zero, so only "no worse than zero" is asked of them.
        if (amax < kScaleFloor) {
          EXPECT_LE(emax, amax) << source << " " << dtype_name(bound.dtype) << " super-block " << sb;
          continue;
        }
        worst = std::max(worst, emax / amax);
      }
      const double rms = std::sqrt(err2 / x2);
      std::printf("%s -> %s: worst max|err|/amax %.4f (bound %.4f), rms err/rms x %.4f (bound %.3f)\n", source,
                  dtype_name(bound.dtype), worst, bound.max_over_amax, rms, bound.rms_over_rms);
      EXPECT_LE(worst, bound.max_over_amax) << source << " -> " << dtype_name(bound.dtype);
      EXPECT_LE(rms, bound.rms_over_rms) << source << " -> " << dtype_name(bound.dtype);
    }
  }
}

// quantize(dequantize(q)) == q: the gguf-py formats map a block's decoded
// values back onto the same grid (the extreme element fixes the same scale).
// The K-quants' scale search is not guaranteed to find the same fit again, so
// for them the requantised blocks must decode to the same values within one
// grid step of the first decode; the test reports how many blocks are stable.
TEST(QuantizeOnLoad, RoundTripStability) {
  const std::vector<float> x = widened("F32");
  for (DType dtype : {DType::Q8_0, DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q4_K, DType::Q5_K,
                      DType::Q6_K}) {
    const uint64_t block_elements = dtype_block_elements(dtype), block_bytes = dtype_block_bytes(dtype);
    // Rows 0 and 2..7: row 1's scales overflow f16 and decode to inf/NaN.
    std::vector<float> input;
    for (uint64_t row = 0; row < 8; ++row) {
      if (row != 1) input.insert(input.end(), x.begin() + row * 1024, x.begin() + (row + 1) * 1024);
    }
    const uint64_t blocks = input.size() / block_elements;
    std::vector<uint8_t> q(blocks * block_bytes), again(blocks * block_bytes);
    detail::quantize_blocks(dtype, input.data(), q.data(), blocks);
    const std::vector<float> decoded = dequantized(dtype, q);
    detail::quantize_blocks(dtype, decoded.data(), again.data(), blocks);
    size_t stable = 0, informative = 0;
    for (uint64_t b = 0; b < blocks; ++b) {
      // A block that decodes to zeros (zero input, or a scale that underflowed
      // f16) carries nothing to go back to; zero blocks may even flip the sign
      // of their zero scale.
      bool all_zero = true;
      for (uint64_t i = b * block_elements; i < (b + 1) * block_elements; ++i) all_zero &= decoded[i] == 0;
      if (all_zero) continue;
      ++informative;
      stable += std::memcmp(q.data() + b * block_bytes, again.data() + b * block_bytes, block_bytes) == 0;
    }
    std::printf("%s: %zu of %zu non-zero blocks stable under quantize(dequantize(q))\n", dtype_name(dtype), stable,
                informative);
    if (block_elements == 32) {  // the gguf-py formats
      EXPECT_EQ(stable, informative) << dtype_name(dtype);
    } else {
      const std::vector<float> decoded_again = dequantized(dtype, again);
      for (uint64_t b = 0; b < blocks; ++b) {
        float amax = 0, emax = 0;
        for (uint64_t i = b * block_elements; i < (b + 1) * block_elements; ++i) {
          amax = std::max(amax, std::fabs(decoded[i]));
          emax = std::max(emax, std::fabs(decoded_again[i] - decoded[i]));
        }
        const float nmax = dtype == DType::Q4_K ? 15 : dtype == DType::Q5_K ? 31 : 32;
        ASSERT_LE(emax, 2 * amax / nmax) << dtype_name(dtype) << " block " << b;
      }
    }
  }
}

TEST(QuantizeOnLoad, RowsThatAreNotWholeBlocksAreUnsupported) {
  const Sources& s = sources();
  const TensorInfo* t = s.checkpoint.find("odd");
  ASSERT_NE(t, nullptr);
  for (DType dtype : {DType::Q8_0, DType::Q4_K, DType::Q6_K}) {
    HostBuffer buffer = std::move(HostBuffer::allocate(1024).value());
    std::vector<ManifestEntry> manifest = {{"odd", dtype, t->shape, &buffer}};
    Result<LoadPlan> plan = plan_load(s.checkpoint, manifest);
    ASSERT_FALSE(plan.is_ok()) << dtype_name(dtype);
    EXPECT_EQ(plan.error().kind, ErrorKind::Unsupported);
    EXPECT_NE(plan.error().message.find("odd [3, 48]"), std::string::npos) << plan.error().message;
  }
}

// Non-finite inputs give some block, never undefined behaviour (checked under
// the native-asan preset; the float -> int casts are guarded by hand, since
// -fsanitize=undefined does not include float-cast-overflow).
TEST(QuantizeOnLoad, NonFiniteInputsAreDefined) {
  float x[256];
  for (int i = 0; i < 256; ++i) x[i] = static_cast<float>(i % 7) - 3.0f;
  x[5] = std::numeric_limits<float>::infinity();
  x[40] = -std::numeric_limits<float>::infinity();
  x[77] = std::numeric_limits<float>::quiet_NaN();
  x[200] = 3e38f;
  uint8_t out[8 * 34];
  for (DType dtype : {DType::Q8_0, DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q4_K, DType::Q5_K,
                      DType::Q6_K}) {
    detail::quantize_blocks(dtype, x, out, 256 / dtype_block_elements(dtype));
  }
}

TEST(QuantizeOnLoad, ConversionTable) {
  for (DType q : {DType::Q8_0, DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q4_K, DType::Q5_K,
                  DType::Q6_K}) {
    for (DType f : {DType::F32, DType::F16, DType::BF16}) EXPECT_TRUE(can_convert(f, q)) << dtype_name(q);
    EXPECT_FALSE(can_convert(DType::F64, q));
    EXPECT_FALSE(can_convert(DType::I32, q));
    EXPECT_TRUE(can_convert(q == DType::Q8_0 ? DType::Q4_0 : DType::Q8_0, q)) << "block to block (requantized)";
  }
}

}  // namespace
}  // namespace ws
