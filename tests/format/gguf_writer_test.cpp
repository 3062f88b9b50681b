// The GGUF header writer: what it lays out parses back through our reader
// with every value, type, shape and offset, and each way to misuse it is an
// InvalidArgument. (That llama.cpp's own readers accept the files is checked
// end to end by tests/native/convert_gguf_test.cpp with gguf-py and llama.cpp.)
#include <gtest/gtest.h>

#include "format/gguf_writer.h"

namespace ws {
namespace {

using Metadata = std::vector<std::pair<std::string, GgufValue>>;

GgufHeader parse_back(const GgufFileLayout& layout) {
  Result<GgufPrefix> parsed = parse_gguf_prefix(reinterpret_cast<const uint8_t*>(layout.header.data()),
                                                layout.header.size(), layout.file_bytes, "written.gguf");
  EXPECT_TRUE(parsed.is_ok()) << parsed.error().to_string();
  EXPECT_TRUE(parsed->header.has_value());
  return parsed->header.value_or(GgufHeader{});
}

TEST(GgufWriter, HeaderParsesBackWithEveryValueAndOffset) {
  Metadata metadata = {
      {"general.architecture", gguf_string("llama")},
      {"general.alignment", gguf_u32(32)},
      {"llama.block_count", gguf_u32(2)},
      {"llama.attention.head_count", gguf_u32(1)},
      {"llama.rope.freq_base", gguf_f32(500000.0f)},
      {"tokenizer.ggml.add_bos_token", gguf_bool(true)},
      {"tokenizer.ggml.tokens", gguf_string_array({"<s>", "a", "b c", ""})},
      {"tokenizer.ggml.token_type", gguf_i32_array({3, 1, -1, 5})},
      {"tokenizer.ggml.scores", gguf_f32_array({0.0f, -1.5f, -2.0f, -3.0f})},
      {"signed", gguf_i32(-7)},
  };
  std::vector<GgufTensorToWrite> tensors = {
      {"token_embd.weight", DType::F16, {4, 3}},        // 24 bytes
      {"output_norm.weight", DType::F32, {3}},          // 12 bytes
      {"blk.0.attn_q.weight", DType::Q8_0, {2, 64}},    // 2 x 2 blocks x 34 bytes
      {"blk.0.ffn_up.weight", DType::Q4_K, {1, 256}},   // one 144-byte block
      {"scalar", DType::BF16, {}},
  };
  Result<GgufFileLayout> layout = gguf_file_layout(metadata, tensors, 32);
  ASSERT_TRUE(layout.is_ok()) << layout.error().to_string();
  ASSERT_EQ(layout->header.size() % 32, 0u);
  ASSERT_EQ(layout->offsets.size(), tensors.size());
  EXPECT_EQ(layout->bytes, (std::vector<uint64_t>{24, 12, 136, 144, 2}));

  const GgufHeader h = parse_back(*layout);
  EXPECT_EQ(h.version, 3u);
  EXPECT_EQ(h.keys.size(), metadata.size());
  for (size_t i = 0; i < metadata.size(); ++i) EXPECT_EQ(h.keys[i], metadata[i].first);
  EXPECT_EQ(h.get_string("general.architecture"), "llama");
  EXPECT_EQ(h.get_uint("llama.block_count"), 2u);
  EXPECT_EQ(h.find("llama.block_count")->type, GgufType::U32);
  EXPECT_EQ(h.get_float("llama.rope.freq_base"), 500000.0);
  EXPECT_EQ(h.find("llama.rope.freq_base")->type, GgufType::F32);
  EXPECT_EQ(h.get_bool("tokenizer.ggml.add_bos_token"), true);
  ASSERT_NE(h.get_strings("tokenizer.ggml.tokens"), nullptr);
  EXPECT_EQ(*h.get_strings("tokenizer.ggml.tokens"), (std::vector<std::string>{"<s>", "a", "b c", ""}));
  const GgufValue* types = h.find("tokenizer.ggml.token_type");
  ASSERT_NE(types, nullptr);
  EXPECT_EQ(types->element_type, GgufType::I32);
  EXPECT_EQ(static_cast<int64_t>(types->integers[2]), -1);
  EXPECT_EQ(h.find("tokenizer.ggml.scores")->floats, (std::vector<double>{0.0, -1.5, -2.0, -3.0}));
  EXPECT_EQ(static_cast<int64_t>(h.find("signed")->integers[0]), -7);
  EXPECT_EQ(h.data_begin, layout->header.size());

  ASSERT_EQ(h.tensors.size(), tensors.size());
  const uint32_t ggml_types[] = {1, 0, 8, 12, 30};
  for (size_t i = 0; i < tensors.size(); ++i) {
    EXPECT_EQ(h.tensors[i].name, tensors[i].name);
    EXPECT_EQ(h.tensors[i].shape, tensors[i].shape);
    EXPECT_EQ(h.tensors[i].ggml_type, ggml_types[i]);
    EXPECT_EQ(h.data_begin + h.tensors[i].offset, layout->offsets[i]);
    EXPECT_EQ(layout->offsets[i] % 32, 0u) << tensors[i].name;
    if (i > 0) {
      EXPECT_GE(layout->offsets[i], layout->offsets[i - 1] + layout->bytes[i - 1]);
    }
  }
  // The last tensor is padded to the alignment too, as gguf-py writes it.
  EXPECT_EQ(layout->file_bytes, layout->offsets.back() + 32);

  // The Checkpoint view accepts the layout: offsets aligned, data inside the file.
  Checkpoint checkpoint;
  Status status = gguf_checkpoint(h, layout->file_bytes, "written.gguf", checkpoint);
  ASSERT_TRUE(status) << status.error().to_string();
  EXPECT_EQ(checkpoint.tensors.size(), tensors.size());
}

TEST(GgufWriter, GgmlTypeIdsMatchTheReader) {
  for (DType d : {DType::F32, DType::F16, DType::BF16, DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1,
                  DType::Q8_0, DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::I8, DType::I32}) {
    std::optional<uint32_t> id = ggml_type_from_dtype(d);
    ASSERT_TRUE(id.has_value()) << dtype_name(d);
    EXPECT_EQ(dtype_from_ggml_type(*id), d) << dtype_name(d);
  }
  EXPECT_FALSE(ggml_type_from_dtype(DType::BOOL).has_value());
  EXPECT_FALSE(ggml_type_from_dtype(DType::F8_E4M3).has_value());
}

void expect_invalid(const Metadata& metadata, const std::vector<GgufTensorToWrite>& tensors, uint64_t alignment,
                    const std::string& fragment) {
  Result<GgufFileLayout> layout = gguf_file_layout(metadata, tensors, alignment);
  ASSERT_FALSE(layout.is_ok()) << fragment;
  EXPECT_EQ(layout.error().kind, ErrorKind::InvalidArgument);
  EXPECT_NE(layout.error().message.find(fragment), std::string::npos) << layout.error().message;
}

TEST(GgufWriter, RejectsDuplicateKeys) {
  expect_invalid({{"a", gguf_u32(1)}, {"a", gguf_u32(2)}}, {}, 32, "\"a\" given twice");
}

TEST(GgufWriter, RejectsDuplicateTensorNames) {
  expect_invalid({}, {{"t", DType::F32, {2}}, {"t", DType::F32, {2}}}, 32, "\"t\" given twice");
}

TEST(GgufWriter, RejectsDtypesGgufCannotHold) {
  expect_invalid({}, {{"mask", DType::BOOL, {4}}}, 32, "BOOL");
}

TEST(GgufWriter, RejectsRowsThatAreNotWholeBlocks) {
  expect_invalid({}, {{"w", DType::Q8_0, {2, 48}}}, 32, "not whole Q8_0 blocks");
}

TEST(GgufWriter, RejectsTooManyDimensions) {
  expect_invalid({}, {{"w", DType::F32, {1, 1, 1, 1, 1}}}, 32, "more than 4 dimensions");
}

TEST(GgufWriter, RejectsAnAlignmentThatIsNotAPowerOfTwo) {
  expect_invalid({}, {}, 48, "not a power of two");
  expect_invalid({}, {}, 0, "not a power of two");
}

TEST(GgufWriter, RejectsAGeneralAlignmentThatDisagrees) {
  expect_invalid({{"general.alignment", gguf_u32(64)}}, {}, 32, "general.alignment");
  expect_invalid({{"general.alignment", gguf_string("32")}}, {}, 32, "general.alignment");
}

TEST(GgufWriter, RejectsInconsistentValues) {
  GgufValue broken = gguf_string_array({"a", "b"});
  broken.count = 3;
  expect_invalid({{"k", broken}}, {}, 32, "not a consistent");
  GgufValue nested;
  nested.type = GgufType::ARRAY;
  nested.element_type = GgufType::ARRAY;
  nested.count = 0;
  expect_invalid({{"k", nested}}, {}, 32, "not a consistent");
}

TEST(GgufWriter, RejectsSizesThatOverflow) {
  expect_invalid({}, {{"w", DType::F32, {1ull << 40, 1ull << 40}}}, 32, "overflows");
  expect_invalid({}, {{"w", DType::F32, {1ull << 62}}}, 32, "overflows");
}

}  // namespace
}  // namespace ws
