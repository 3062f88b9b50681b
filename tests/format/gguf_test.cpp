// The GGUF parser: valid headers parse from any prefix; each malformed file
// gives its own typed error naming the file and byte offset.
#include <gtest/gtest.h>

#include "format/gguf.h"
#include "format/gguf_builder.h"

namespace ws {
namespace {

using test::GgufBuilder;
using test::put_u32;
using test::put_u64;

constexpr uint32_t kF32 = 0, kQ8_0 = 8, kIQ2_XXS = 16;

Status parse_whole(const std::string& file, Checkpoint& checkpoint) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(file.data());
  Result<GgufPrefix> parsed = parse_gguf_prefix(bytes, file.size(), file.size(), "test.gguf");
  if (!parsed) return parsed.error();
  if (!parsed->header) return make_error(ErrorKind::Truncated, "parser asked for more than the whole file");
  return gguf_checkpoint(*parsed->header, file.size(), "test.gguf", checkpoint);
}

void expect_error(const std::string& file, ErrorKind kind, const std::string& needle) {
  Checkpoint checkpoint;
  Status status = parse_whole(file, checkpoint);
  ASSERT_FALSE(status.is_ok()) << "parsed a malformed file";
  EXPECT_EQ(status.error().kind, kind) << status.error().to_string();
  EXPECT_NE(status.error().message.find(needle), std::string::npos)
      << "message \"" << status.error().message << "\" lacks \"" << needle << "\"";
  EXPECT_NE(status.error().message.find("test.gguf"), std::string::npos) << "message does not name the file";
}

// A valid two-tensor llama-ish file: F32 [4, 2] at 0, Q8_0 [2, 32] at 32.
GgufBuilder valid_builder() {
  GgufBuilder b;
  b.add_string("general.architecture", "llama").add_u32("llama.attention.head_count", 2);
  b.add_strings("tokenizer.ggml.tokens", {"a", "b", "c"});
  b.add_tensor("output_norm.weight", {2, 4}, kF32, 0);
  b.add_tensor("blk.0.attn_v.weight", {32, 2}, kQ8_0, 32);
  return b;
}
const std::string kValidData(32 + 2 * 34, '\x01');

TEST(Gguf, ParsesMetadataTensorsAndOffsets) {
  const std::string file = valid_builder().build(kValidData);
  Checkpoint checkpoint;
  ASSERT_TRUE(parse_whole(file, checkpoint).is_ok());
  ASSERT_EQ(checkpoint.shards.size(), 1u);
  ASSERT_EQ(checkpoint.tensors.size(), 2u);
  const uint64_t data_begin = file.size() - kValidData.size();
  EXPECT_EQ(checkpoint.shards[0].data_begin, data_begin);
  EXPECT_EQ(checkpoint.shards[0].metadata.at("general.architecture"), "llama");
  const TensorInfo& norm = checkpoint.tensors[0];
  EXPECT_EQ(norm.name, "model.norm.weight");
  EXPECT_EQ(norm.shape, (std::vector<uint64_t>{4, 2}));  // ne reversed
  EXPECT_EQ(norm.begin, data_begin);
  EXPECT_EQ(norm.bytes(), 32u);
  const TensorInfo& v = checkpoint.tensors[1];
  EXPECT_EQ(v.name, "model.layers.0.self_attn.v_proj.weight");
  EXPECT_EQ(v.dtype, DType::Q8_0);
  EXPECT_EQ(v.shape, (std::vector<uint64_t>{2, 32}));
  EXPECT_EQ(v.begin, data_begin + 32);
  EXPECT_EQ(v.bytes(), 68u);
  EXPECT_EQ(v.numel(), 64u);
  EXPECT_EQ(v.interleaved_heads, 0u);
}

TEST(Gguf, ReadsEveryValueType) {
  GgufBuilder b;
  std::string v;
  auto typed = [](uint32_t type, const void* value, size_t n) {
    std::string s;
    put_u32(s, type);
    s.append(static_cast<const char*>(value), n);
    return s;
  };
  const int8_t i8 = -5;
  const uint16_t u16 = 65000;
  const int16_t i16 = -300;
  const int32_t i32 = -70000;
  const uint64_t u64 = 1ull << 40;
  const int64_t i64 = -(1ll << 40);
  const double f64 = 0.25;
  const uint8_t u8 = 200, yes = 1;
  b.add_raw("u8", typed(0, &u8, 1)).add_raw("i8", typed(1, &i8, 1)).add_raw("u16", typed(2, &u16, 2));
  b.add_raw("i16", typed(3, &i16, 2)).add_raw("i32", typed(5, &i32, 4)).add_raw("u64", typed(10, &u64, 8));
  b.add_raw("i64", typed(11, &i64, 8)).add_raw("f64", typed(12, &f64, 8)).add_raw("bool", typed(7, &yes, 1));
  b.add_f32("f32", 1.5f).add_u32("u32", 7).add_string("s", "text").add_strings("list", {"x", "", "zz"});
  std::string nested;  // [[1, 2], []] of u32
  put_u32(nested, 9);
  put_u32(nested, 9);
  put_u64(nested, 2);
  put_u32(nested, 4);
  put_u64(nested, 2);
  put_u32(nested, 1);
  put_u32(nested, 2);
  put_u32(nested, 4);
  put_u64(nested, 0);
  b.add_raw("nested", nested);
  const std::string file = b.build();
  Result<GgufPrefix> parsed =
      parse_gguf_prefix(reinterpret_cast<const uint8_t*>(file.data()), file.size(), file.size(), "test.gguf");
  ASSERT_TRUE(parsed.is_ok()) << parsed.error().to_string();
  const GgufHeader& h = *parsed->header;
  EXPECT_EQ(h.get_uint("u8"), 200u);
  EXPECT_EQ(static_cast<int64_t>(h.find("i8")->integers[0]), -5);
  EXPECT_FALSE(h.get_uint("i8").has_value());  // negative
  EXPECT_EQ(h.get_uint("u16"), 65000u);
  EXPECT_EQ(static_cast<int64_t>(h.find("i16")->integers[0]), -300);
  EXPECT_EQ(static_cast<int64_t>(h.find("i32")->integers[0]), -70000);
  EXPECT_EQ(h.get_uint("u64"), 1ull << 40);
  EXPECT_EQ(static_cast<int64_t>(h.find("i64")->integers[0]), -(1ll << 40));
  EXPECT_EQ(h.get_float("f64"), 0.25);
  EXPECT_EQ(h.get_float("f32"), 1.5);
  EXPECT_EQ(h.get_bool("bool"), true);
  EXPECT_EQ(h.get_uint("u32"), 7u);
  EXPECT_EQ(h.get_string("s"), "text");
  ASSERT_NE(h.get_strings("list"), nullptr);
  EXPECT_EQ(*h.get_strings("list"), (std::vector<std::string>{"x", "", "zz"}));
  EXPECT_EQ(h.find("nested")->count, 2u);
  EXPECT_EQ(h.keys.front(), "u8");
  EXPECT_EQ(h.data_begin % 32, 0u);
}

// Parsing from every prefix length either asks for more bytes (strictly more
// than it has, never past the file) or gives the same header as the whole file.
TEST(Gguf, ParsesFromAnyPrefix) {
  const std::string file = valid_builder().build(kValidData);
  const auto* bytes = reinterpret_cast<const uint8_t*>(file.data());
  Result<GgufPrefix> whole = parse_gguf_prefix(bytes, file.size(), file.size(), "test.gguf");
  ASSERT_TRUE(whole.is_ok() && whole->header);
  size_t size = 0, reads = 0;
  for (;;) {
    Result<GgufPrefix> part = parse_gguf_prefix(bytes, size, file.size(), "test.gguf");
    ASSERT_TRUE(part.is_ok()) << part.error().to_string();
    if (part->header) {
      EXPECT_EQ(part->header->data_begin, whole->header->data_begin);
      EXPECT_EQ(part->header->tensors.size(), 2u);
      break;
    }
    ASSERT_GT(part->bytes_needed, size);
    ASSERT_LE(part->bytes_needed, file.size());
    size = part->bytes_needed;
    ASSERT_LT(++reads, 100u);
  }
  EXPECT_GT(reads, 5u);  // it really did go field by field
}

TEST(Gguf, ReordersInterleavedRotaryRowsOfLlamaQK) {
  GgufBuilder b;
  b.add_string("general.architecture", "llama").add_u32("llama.attention.head_count", 4);
  b.add_u32("llama.attention.head_count_kv", 2);
  b.add_tensor("blk.0.attn_q.weight", {2, 8}, kF32, 0).add_tensor("blk.0.attn_k.weight", {2, 4}, kF32, 64);
  b.add_tensor("blk.0.attn_q.bias", {8}, kF32, 96).add_tensor("blk.0.attn_v.weight", {2, 4}, kF32, 128);
  Checkpoint checkpoint;
  ASSERT_TRUE(parse_whole(b.build(std::string(160, '\0')), checkpoint).is_ok());
  EXPECT_EQ(checkpoint.find("model.layers.0.self_attn.q_proj.bias")->interleaved_heads, 4u);
  EXPECT_EQ(checkpoint.find("model.layers.0.self_attn.v_proj.weight")->interleaved_heads, 0u);
  EXPECT_EQ(checkpoint.find("model.layers.0.self_attn.q_proj.weight")->interleaved_heads, 4u);
  EXPECT_EQ(checkpoint.find("model.layers.0.self_attn.k_proj.weight")->interleaved_heads, 2u);
}

TEST(Gguf, MapsLlamaCppNamesToHuggingFace) {
  EXPECT_EQ(gguf_to_hf_name("token_embd.weight"), "model.embed_tokens.weight");
  EXPECT_EQ(gguf_to_hf_name("output_norm.weight"), "model.norm.weight");
  EXPECT_EQ(gguf_to_hf_name("output.weight"), "lm_head.weight");
  EXPECT_EQ(gguf_to_hf_name("blk.12.attn_output.weight"), "model.layers.12.self_attn.o_proj.weight");
  EXPECT_EQ(gguf_to_hf_name("blk.0.ffn_norm.weight"), "model.layers.0.post_attention_layernorm.weight");
  EXPECT_EQ(gguf_to_hf_name("blk.3.attn_q.bias"), "model.layers.3.self_attn.q_proj.bias");
  EXPECT_EQ(gguf_to_hf_name("blk.x.attn_q.weight"), "blk.x.attn_q.weight");
  EXPECT_EQ(gguf_to_hf_name("rope_freqs.weight"), "rope_freqs.weight");
}

// ---- the malformed corpus: one case per error -------------------------------------

TEST(GgufMalformed, BadMagic) {
  std::string file = valid_builder().build(kValidData);
  file[0] = 'X';
  expect_error(file, ErrorKind::InvalidHeader, "magic");
}

TEST(GgufMalformed, UnsupportedVersion) {
  GgufBuilder b = valid_builder();
  b.version = 1;
  expect_error(b.build(kValidData), ErrorKind::InvalidHeader, "version 1");
}

TEST(GgufMalformed, TruncatedInsideMetadata) {
  const std::string file = valid_builder().build(kValidData);
  expect_error(file.substr(0, 40), ErrorKind::Truncated, "at byte");
}

TEST(GgufMalformed, StringLongerThanFile) {
  GgufBuilder b;
  std::string value;
  put_u32(value, 8);
  put_u64(value, 1ull << 62);
  b.add_raw("general.name", value);
  expect_error(b.build(), ErrorKind::Truncated, "runs past the file end");
}

TEST(GgufMalformed, ArrayCountLargerThanFile) {
  GgufBuilder b;
  std::string value;
  put_u32(value, 9);
  put_u32(value, 8);
  put_u64(value, 1ull << 40);
  b.add_raw("tokenizer.ggml.tokens", value);
  expect_error(b.build(), ErrorKind::Truncated, "cannot fit");
}

TEST(GgufMalformed, TensorCountLargerThanFile) {
  std::string file = valid_builder().build(kValidData);
  const uint64_t huge = 1ull << 50;
  std::memcpy(&file[8], &huge, 8);
  expect_error(file, ErrorKind::Truncated, "tensor count");
}

TEST(GgufMalformed, UnknownValueType) {
  GgufBuilder b;
  std::string value;
  put_u32(value, 13);
  b.add_raw("general.name", value);
  expect_error(b.build(), ErrorKind::InvalidHeader, "unknown type 13");
}

TEST(GgufMalformed, UnknownArrayElementType) {
  GgufBuilder b;
  std::string value;
  put_u32(value, 9);
  put_u32(value, 99);
  put_u64(value, 0);
  b.add_raw("general.tags", value);
  expect_error(b.build(), ErrorKind::InvalidHeader, "element type 99");
}

TEST(GgufMalformed, BoolOutOfRange) {
  GgufBuilder b;
  std::string value;
  put_u32(value, 7);
  value += '\x02';
  b.add_raw("tokenizer.ggml.add_bos_token", value);
  expect_error(b.build(), ErrorKind::InvalidHeader, "bool value 2");
}

TEST(GgufMalformed, DuplicateKey) {
  GgufBuilder b = valid_builder();
  b.add_u32("llama.attention.head_count", 3);
  expect_error(b.build(kValidData), ErrorKind::InvalidHeader, "appears twice");
}

TEST(GgufMalformed, ArraysNestedTooDeeply) {
  GgufBuilder b;
  std::string value;
  put_u32(value, 9);
  for (int i = 0; i < 3; ++i) {
    put_u32(value, 9);
    put_u64(value, 1);
  }
  put_u32(value, 4);
  put_u64(value, 0);
  b.add_raw("deep", value);
  expect_error(b.build(), ErrorKind::InvalidHeader, "nested too deeply");
}

TEST(GgufMalformed, AlignmentNotAPowerOfTwo) {
  GgufBuilder b = valid_builder();
  b.add_u32("general.alignment", 24);
  expect_error(b.build(kValidData), ErrorKind::InvalidHeader, "power of two");
}

TEST(GgufMalformed, TooManyDimensions) {
  GgufBuilder b;
  b.add_tensor("x", {1, 1, 1, 1, 1}, kF32, 0);
  expect_error(b.build(std::string(4, '\0')), ErrorKind::InvalidHeader, "5 dimensions");
}

TEST(GgufMalformed, UnknownGgmlType) {
  GgufBuilder b;
  b.add_tensor("x", {4}, 4, 0);  // Q4_2, removed from ggml
  expect_error(b.build(std::string(32, '\0')), ErrorKind::InvalidHeader, "unknown ggml type 4");
}

TEST(GgufMalformed, UnsupportedGgmlTypeIsNamed) {
  GgufBuilder b;
  b.add_tensor("x", {256}, kIQ2_XXS, 0);
  expect_error(b.build(std::string(66, '\0')), ErrorKind::Unsupported, "IQ2_XXS");
}

TEST(GgufMalformed, RowNotWholeBlocks) {
  GgufBuilder b;
  b.add_tensor("x", {48, 2}, kQ8_0, 0);
  expect_error(b.build(std::string(136, '\0')), ErrorKind::InvalidHeader, "whole number of Q8_0 blocks");
}

TEST(GgufMalformed, MisalignedOffset) {
  GgufBuilder b;
  b.add_tensor("x", {4}, kF32, 4);
  expect_error(b.build(std::string(64, '\0')), ErrorKind::InvalidHeader, "not a multiple");
}

TEST(GgufMalformed, TensorPastEndOfFile) {
  const std::string file = valid_builder().build(kValidData);
  expect_error(file.substr(0, file.size() - 1), ErrorKind::Truncated, "blk.0.attn_v.weight");
}

TEST(GgufMalformed, ElementCountOverflows) {
  GgufBuilder b;
  b.add_tensor("x", {1ull << 32, 1ull << 32, 2}, kF32, 0);
  expect_error(b.build(), ErrorKind::InvalidHeader, "overflows");
}

TEST(GgufMalformed, OverlappingTensors) {
  GgufBuilder b;
  b.add_tensor("a", {16}, kF32, 0).add_tensor("b", {8}, kF32, 32);
  expect_error(b.build(std::string(64, '\0')), ErrorKind::InvalidHeader, "overlaps");
}

// A 64 MiB u8 array would take 512 MiB as 64-bit integers (a 250 MB one took
// 2.3 GB of RSS): refused once the decoded metadata outgrows 4x its bytes.
TEST(GgufMalformed, MetadataThatDecodesFarLargerThanItsBytesIsOutOfBudget) {
  const uint64_t count = 64ull << 20;
  std::string array;
  put_u32(array, 9);      // ARRAY
  put_u32(array, 0);      // of U8
  put_u64(array, count);
  array.append(count, '\x01');
  GgufBuilder b;
  b.add_raw("general.blob", array).add_tensor("a", {8}, kF32, 0);
  expect_error(b.build(std::string(32, '\0')), ErrorKind::OutOfBudget, "more than 4x its size in the file");
  // A token list, scores and types decode within the bound.
  GgufBuilder real;
  std::vector<std::string> tokens;
  for (int i = 0; i < 200000; ++i) tokens.push_back("tok" + std::to_string(i));
  real.add_strings("tokenizer.ggml.tokens", tokens).add_tensor("a", {8}, kF32, 0);
  const std::string file = real.build(std::string(32, '\0'));
  Result<GgufPrefix> parsed =
      parse_gguf_prefix(reinterpret_cast<const uint8_t*>(file.data()), file.size(), file.size(), "test.gguf");
  ASSERT_TRUE(parsed.is_ok()) << parsed.error().to_string();
}

TEST(GgufMalformed, DuplicateTensorName) {
  GgufBuilder b;
  b.add_tensor("a", {8}, kF32, 0).add_tensor("a", {8}, kF32, 32);
  expect_error(b.build(std::string(64, '\0')), ErrorKind::InvalidHeader, "appears twice");
}

TEST(GgufMalformed, LlamaQWithoutHeadCount) {
  GgufBuilder b;
  b.add_string("general.architecture", "llama").add_tensor("blk.0.attn_q.weight", {2, 2}, kF32, 0);
  expect_error(b.build(std::string(16, '\0')), ErrorKind::InvalidHeader, "head_count");
}

TEST(GgufMalformed, SafetensorsRejectsGgmlDtypeNames) {
  EXPECT_FALSE(parse_dtype("Q4_1").is_ok());
  EXPECT_FALSE(parse_dtype("Q8_0").is_ok());
  EXPECT_TRUE(parse_dtype("BF16").is_ok());
}

}  // namespace
}  // namespace ws
