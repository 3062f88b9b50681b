// Rank-sliced loads (tensor parallelism): each rank's manifest names a row or
// column slice, the plan reads only those bytes, and the destination holds
// exactly that part of the stored tensor, converted where asked.
#include <gtest/gtest.h>

#include "load/in_memory.h"

namespace ws {
namespace {

using test::InMemoryCheckpoint;

constexpr uint64_t kRows = 6, kCols = 64;

// Element (r, c) of tensor t is t * 1000 + r * kCols + c (exact in f32).
float stored_value(size_t t, uint64_t r, uint64_t c) { return static_cast<float>(t * 1000 + r * kCols + c); }

// "a" [kRows, kCols] and "b" [kRows, kCols], f32, back to back.
std::string two_matrices() {
  std::string header = "{", data;
  const char* names[] = {"a", "b"};
  for (size_t t = 0; t < 2; ++t) {
    const uint64_t begin = data.size();
    for (uint64_t r = 0; r < kRows; ++r) {
      for (uint64_t c = 0; c < kCols; ++c) {
        const float v = stored_value(t, r, c);
        data.append(reinterpret_cast<const char*>(&v), 4);
      }
    }
    header += (t ? "," : "") + test::entry(names[t], "F32", "[" + std::to_string(kRows) + "," + std::to_string(kCols) +
                                                               "]", begin, data.size());
  }
  header += "}";
  return test::with_declared_length(header.size(), header) + data;
}

float as_f32(DType dtype, const uint8_t* bytes) {
  float f;
  convert_elements(dtype, bytes, DType::F32, reinterpret_cast<uint8_t*>(&f), 1);
  return f;
}

float rounded_to(DType dtype, float v) {
  uint8_t bytes[4];
  convert_elements(DType::F32, reinterpret_cast<const uint8_t*>(&v), dtype, bytes, 1);
  return as_f32(dtype, bytes);
}

struct SliceCase {
  size_t dim;
  uint64_t world;
  DType dtype;
};

class RankSlices : public testing::TestWithParam<SliceCase> {};

TEST_P(RankSlices, EachRankReadsAndHoldsOnlyItsPart) {
  const SliceCase c = GetParam();
  InMemoryCheckpoint ckpt;
  ckpt.add_shard(two_matrices(), "s1");
  uint64_t needed_over_ranks = 0;
  for (uint64_t rank = 0; rank < c.world; ++rank) {
    const TensorSlice slice = split_evenly(c.dim, c.dim == 0 ? kRows : kCols, rank, c.world);
    std::vector<uint64_t> shape = {kRows, kCols};
    shape[c.dim] = slice.end - slice.begin;
    const uint64_t kept = shape[0] * shape[1];
    HostBuffer a = HostBuffer::allocate(kept * dtype_size(c.dtype)).value();
    HostBuffer b = HostBuffer::allocate(kept * dtype_size(c.dtype)).value();
    std::vector<ManifestEntry> manifest = {{"a", c.dtype, shape, &a, slice}, {"b", c.dtype, shape, &b, slice}};
    PlanOptions options;
    options.staging_bytes = 64;  // many windows
    Result<LoadPlan> plan = plan_load(ckpt.checkpoint, manifest, options);
    ASSERT_TRUE(plan.is_ok()) << plan.error().to_string();
    EXPECT_EQ(plan->bytes_needed, 2 * kept * 4) << "rank " << rank << " reads only its slices";
    EXPECT_EQ(plan->bytes_to_bind, 2 * kept * dtype_size(c.dtype));
    needed_over_ranks += plan->bytes_needed;
    auto executor = LoadExecutor::create(*plan, manifest);
    ASSERT_TRUE(executor.is_ok());
    ASSERT_TRUE(run_load(**executor, 1, ckpt.reader(), 100).is_ok());
    for (size_t t = 0; t < 2; ++t) {
      const HostBuffer& held = t == 0 ? a : b;
      for (uint64_t r = 0; r < shape[0]; ++r) {
        for (uint64_t col = 0; col < shape[1]; ++col) {
          const uint64_t stored_r = c.dim == 0 ? slice.begin + r : r, stored_c = c.dim == 1 ? slice.begin + col : col;
          const float got = as_f32(c.dtype, held.data() + (r * shape[1] + col) * dtype_size(c.dtype));
          ASSERT_EQ(got, rounded_to(c.dtype, stored_value(t, stored_r, stored_c)))
              << "tensor " << t << " rank " << rank << " (" << r << ", " << col << ")";
        }
      }
    }
  }
  EXPECT_EQ(needed_over_ranks, 2 * kRows * kCols * 4) << "the ranks together read every byte once";
}

INSTANTIATE_TEST_SUITE_P(DimsWorldsDtypes, RankSlices,
                         testing::Values(SliceCase{0, 2, DType::F32}, SliceCase{0, 4, DType::BF16},
                                         SliceCase{1, 2, DType::F32}, SliceCase{1, 3, DType::F16},
                                         SliceCase{1, 4, DType::BF16}, SliceCase{0, 1, DType::F32}));

TEST(SplitEvenly, CoversEveryIndexOnce) {
  for (uint64_t world = 1; world <= 7; ++world) {
    uint64_t next = 0;
    for (uint64_t rank = 0; rank < world; ++rank) {
      const TensorSlice s = split_evenly(1, 20, rank, world);
      EXPECT_EQ(s.begin, next);
      EXPECT_GE(s.end - s.begin, 20 / world);
      EXPECT_LE(s.end - s.begin, 20 / world + 1);
      next = s.end;
    }
    EXPECT_EQ(next, 20u);
  }
  EXPECT_EQ(split_evenly(0, 20, 3, 3).end, 0u);  // a rank outside the world keeps nothing
}

TEST(SlicedPlan, BadSlicesAreTypedErrors) {
  InMemoryCheckpoint ckpt;
  ckpt.add_shard(two_matrices(), "s1");
  HostBuffer buffer = HostBuffer::allocate(kRows * kCols * 4).value();
  auto plan_with = [&](TensorSlice slice, std::vector<uint64_t> shape, DType dtype = DType::F32) {
    std::vector<ManifestEntry> manifest = {{"a", dtype, std::move(shape), &buffer, slice}};
    return plan_load(ckpt.checkpoint, manifest);
  };
  Result<LoadPlan> past_end = plan_with({0, 4, 8}, {4, kCols});
  ASSERT_FALSE(past_end.is_ok());
  EXPECT_EQ(past_end.error().kind, ErrorKind::Unsupported);
  EXPECT_NE(past_end.error().message.find("does not fit"), std::string::npos) << past_end.error().message;
  Result<LoadPlan> wrong_shape = plan_with({1, 0, 32}, {kRows, 16});
  ASSERT_FALSE(wrong_shape.is_ok());
  EXPECT_EQ(wrong_shape.error().kind, ErrorKind::Unsupported);
  // Quantising a column slice: 48 columns are not whole 32-element Q8_0 blocks.
  Result<LoadPlan> partial_blocks = plan_with({1, 0, 48}, {kRows, 48}, DType::Q8_0);
  ASSERT_FALSE(partial_blocks.is_ok());
  EXPECT_EQ(partial_blocks.error().kind, ErrorKind::Unsupported);
  Result<LoadPlan> whole_blocks = plan_with({1, 32, 64}, {kRows, 32}, DType::Q8_0);
  EXPECT_TRUE(whole_blocks.is_ok()) << whole_blocks.error().to_string();
  // The stored shape must agree outside the sliced dimension.
  Result<LoadPlan> other_rows = plan_with({1, 0, 32}, {kRows + 1, 32});
  ASSERT_FALSE(other_rows.is_ok());
  EXPECT_EQ(other_rows.error().kind, ErrorKind::ShapeMismatch);
}

}  // namespace
}  // namespace ws
