// The safetensors parser: valid files parse to the right tensors; each kind of
// malformed file gives its own typed error naming file, tensor and offset.
#include <gtest/gtest.h>

#include "format/header_builder.h"

namespace ws {
namespace {

using test::entry;
using test::parse_file;
using test::safetensors_file;
using test::with_declared_length;

// Expects parsing to fail with `kind` and a message containing `needle`.
void expect_error(const std::string& file, ErrorKind kind, const std::string& needle) {
  Checkpoint checkpoint;
  Status status = parse_file(file, checkpoint);
  ASSERT_FALSE(status.is_ok()) << "parsed a malformed file";
  EXPECT_EQ(status.error().kind, kind) << status.error().to_string();
  EXPECT_NE(status.error().message.find(needle), std::string::npos)
      << "message \"" << status.error().message << "\" lacks \"" << needle << "\"";
  EXPECT_NE(status.error().message.find("test.safetensors"), std::string::npos) << "message does not name the file";
}

std::string header(const std::string& body) { return "{" + body + "}"; }

TEST(Safetensors, ParsesTensorsInFileOrderWithAbsoluteOffsets) {
  // Keys out of file order on purpose; offsets decide the order.
  const std::string h = header(entry("b", "F32", "[2]", 16, 24) + "," + entry("a", "F32", "[4]", 0, 16) + "," +
                               entry("c", "BF16", "[2,2]", 24, 32) +
                               ",\"__metadata__\":{\"format\":\"pt\"}");
  Checkpoint checkpoint;
  ASSERT_TRUE(parse_file(safetensors_file(h, 32), checkpoint).is_ok());
  ASSERT_EQ(checkpoint.tensors.size(), 3u);
  EXPECT_EQ(checkpoint.tensors[0].name, "a");
  EXPECT_EQ(checkpoint.tensors[1].name, "b");
  EXPECT_EQ(checkpoint.tensors[0].begin, 8 + h.size());
  EXPECT_EQ(checkpoint.tensors[2].dtype, DType::BF16);
  EXPECT_EQ(checkpoint.shards[0].metadata.at("format"), "pt");
  EXPECT_EQ(checkpoint.data_bytes(), 32u);
}

TEST(Safetensors, AcceptsScalarsEmptyTensorsAndPadding) {
  const std::string h = header(entry("scalar", "F64", "[]", 0, 8) + "," + entry("empty", "F16", "[0,3]", 8, 8) +
                               "," + entry("flag", "BOOL", "[1]", 8, 9)) + "        ";
  Checkpoint checkpoint;
  Status status = parse_file(safetensors_file(h, 9), checkpoint);
  ASSERT_TRUE(status.is_ok()) << status.error().to_string();
  EXPECT_EQ(checkpoint.tensors.size(), 3u);
  EXPECT_EQ(checkpoint.find("scalar")->numel(), 1u);
  EXPECT_EQ(checkpoint.find("empty")->bytes(), 0u);
}

TEST(Safetensors, AcceptsAnEmptyHeaderObject) {
  Checkpoint checkpoint;
  EXPECT_TRUE(parse_file(safetensors_file("{}", 0), checkpoint).is_ok());
}

// Extra fields are not in the spec's writers but the reference reader ignores
// them: such a header leaves the plain one-pass reader and must come out of
// the general parser with the same tensors.
TEST(Safetensors, ExtraFieldsParseLikeThePlainHeader) {
  const std::string plain = header(entry("b", "F32", "[2]", 8, 16) + "," + entry("a", "F16", "[4]", 0, 8) +
                                   ",\"__metadata__\":null");
  const std::string extra = header("\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16],\"note\":{\"x\":[1]}}," +
                                   entry("a", "F16", "[4]", 0, 8) + ",\"__metadata__\":null");
  Checkpoint a, b;
  ASSERT_TRUE(parse_file(safetensors_file(plain, 16), a).is_ok());
  Status status = parse_file(safetensors_file(extra, 16), b);
  ASSERT_TRUE(status.is_ok()) << status.error().to_string();
  ASSERT_EQ(a.tensors.size(), 2u);
  ASSERT_EQ(b.tensors.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(a.tensors[i].name, b.tensors[i].name);
    EXPECT_EQ(a.tensors[i].dtype, b.tensors[i].dtype);
    EXPECT_EQ(a.tensors[i].shape, b.tensors[i].shape);
    EXPECT_EQ(a.tensors[i].end - a.tensors[i].begin, b.tensors[i].end - b.tensors[i].begin);
  }
  EXPECT_TRUE(a.shards[0].metadata.empty());
}

TEST(SafetensorsMalformed, DuplicateNameAmongManyIsFound) {
  // Thousands of distinct names, then one repeated: the duplicate check of the
  // one-pass reader probes its table; the error still names the tensor.
  std::string body;
  for (int i = 0; i < 5000; ++i) body += entry("t." + std::to_string(i), "F32", "[1]", 4 * i, 4 * i + 4) + ",";
  body += entry("t.1234", "F32", "[1]", 20000, 20004);
  expect_error(safetensors_file(header(body), 20004), ErrorKind::InvalidHeader, "\"t.1234\" twice");
}

TEST(SafetensorsMalformed, MetadataTwice) {
  expect_error(safetensors_file(header("\"__metadata__\":{\"a\":\"1\"},\"__metadata__\":null"), 0),
               ErrorKind::InvalidHeader, "\"__metadata__\" twice");
}

TEST(Safetensors, EveryDtypeOfTheSpecParses) {
  for (const char* name : {"F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL", "F8_E4M3",
                           "F8_E5M2", "U16", "U32", "U64"}) {
    Result<DType> dtype = parse_dtype(name);
    ASSERT_TRUE(dtype.is_ok()) << name;
    EXPECT_STREQ(dtype_name(*dtype), name);
  }
}

// ---- the malformed corpus ---------------------------------------------------
TEST(SafetensorsMalformed, FileShorterThanLengthPrefix) { expect_error("\x05\x00\x00", ErrorKind::Truncated, "too short"); }

TEST(SafetensorsMalformed, HeaderLengthPastEndOfFile) {
  expect_error(with_declared_length(1000, "{}"), ErrorKind::Truncated, "runs past the end");
}

TEST(SafetensorsMalformed, HeaderLengthOverCap) {
  expect_error(with_declared_length(200'000'000, "{}"), ErrorKind::OutOfBudget, "cap");
}

TEST(SafetensorsMalformed, HeaderLengthNearUint64Max) {
  expect_error(with_declared_length(~0ull, "{}"), ErrorKind::OutOfBudget, "cap");
}

TEST(SafetensorsMalformed, EmptyHeader) { expect_error(safetensors_file("", 0), ErrorKind::InvalidHeader, "'{'"); }

TEST(SafetensorsMalformed, HeaderNotAnObject) {
  expect_error(safetensors_file("[1,2,3]", 0), ErrorKind::InvalidHeader, "does not start with '{'");
}

TEST(SafetensorsMalformed, InvalidJson) {
  expect_error(safetensors_file("{\"a\": {\"dtype\": ", 0), ErrorKind::InvalidHeader, "not valid JSON");
}

TEST(SafetensorsMalformed, InvalidUtf8InName) {
  expect_error(safetensors_file(header("\"\xff\xfe\":{}"), 0), ErrorKind::InvalidHeader, "not valid JSON");
}

TEST(SafetensorsMalformed, DuplicateTensorNames) {
  expect_error(safetensors_file(header(entry("w", "F32", "[1]", 0, 4) + "," + entry("w", "F32", "[1]", 4, 8)), 8),
               ErrorKind::InvalidHeader, "\"w\" twice");
}

TEST(SafetensorsMalformed, DuplicateFieldInsideTensor) {
  expect_error(safetensors_file(header("\"w\":{\"dtype\":\"F32\",\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,4]}"), 4),
               ErrorKind::InvalidHeader, "twice");
}

TEST(SafetensorsMalformed, TensorEntryNotAnObject) {
  expect_error(safetensors_file(header("\"w\":[1,2]"), 0), ErrorKind::InvalidHeader, "\"w\": entry is not an object");
}

TEST(SafetensorsMalformed, MissingDataOffsets) {
  expect_error(safetensors_file(header("\"w\":{\"dtype\":\"F32\",\"shape\":[1]}"), 4), ErrorKind::InvalidHeader,
               "needs \"dtype\", \"shape\" and \"data_offsets\"");
}

TEST(SafetensorsMalformed, UnknownDtype) {
  expect_error(safetensors_file(header(entry("w", "F128", "[1]", 0, 16)), 16), ErrorKind::InvalidHeader,
               "unknown dtype \"F128\"");
}

TEST(SafetensorsMalformed, DtypeNotAString) {
  expect_error(safetensors_file(header("\"w\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}"), 4),
               ErrorKind::InvalidHeader, "\"dtype\" is not a string");
}

TEST(SafetensorsMalformed, ShapeNotAnArray) {
  expect_error(safetensors_file(header(entry("w", "F32", "7", 0, 28)), 28), ErrorKind::InvalidHeader, "\"shape\"");
}

TEST(SafetensorsMalformed, NegativeShapeDimension) {
  expect_error(safetensors_file(header(entry("w", "F32", "[-1,4]", 0, 16)), 16), ErrorKind::InvalidHeader,
               "non-negative integers");
}

TEST(SafetensorsMalformed, FractionalShapeDimension) {
  expect_error(safetensors_file(header(entry("w", "F32", "[1.5]", 0, 4)), 4), ErrorKind::InvalidHeader,
               "non-negative integers");
}

TEST(SafetensorsMalformed, ShapeElementCountOverflows) {
  expect_error(safetensors_file(header(entry("w", "U8", "[4294967296,4294967296]", 0, 0)), 0),
               ErrorKind::InvalidHeader, "element count overflows");
}

TEST(SafetensorsMalformed, ByteSizeOverflows) {
  expect_error(safetensors_file(header(entry("w", "F64", "[4611686018427387904]", 0, 0)), 0),
               ErrorKind::InvalidHeader, "byte size overflows");
}

TEST(SafetensorsMalformed, DataOffsetsWrongArity) {
  expect_error(safetensors_file(header("\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}"), 4),
               ErrorKind::InvalidHeader, "[begin, end]");
}

TEST(SafetensorsMalformed, DataOffsetsEndBeforeBegin) {
  expect_error(safetensors_file(header(entry("w", "F32", "[0]", 8, 4)), 8), ErrorKind::InvalidHeader,
               "end before they begin");
}

TEST(SafetensorsMalformed, OverlappingTensors) {
  expect_error(safetensors_file(header(entry("a", "F32", "[2]", 0, 8) + "," + entry("b", "F32", "[2]", 4, 12)), 12),
               ErrorKind::InvalidHeader, "(overlap)");
}

TEST(SafetensorsMalformed, HoleBetweenTensors) {
  expect_error(safetensors_file(header(entry("a", "F32", "[1]", 0, 4) + "," + entry("b", "F32", "[1]", 8, 12)), 12),
               ErrorKind::InvalidHeader, "(hole)");
}

TEST(SafetensorsMalformed, FirstTensorNotAtZero) {
  expect_error(safetensors_file(header(entry("a", "F32", "[1]", 4, 8)), 8), ErrorKind::InvalidHeader,
               "tensor \"a\": data_offsets begin at 4");
}

TEST(SafetensorsMalformed, ShapeDisagreesWithByteLength) {
  expect_error(safetensors_file(header(entry("w", "F32", "[3]", 0, 8)), 8), ErrorKind::InvalidHeader,
               "shape x F32 is 12 bytes but data_offsets span 8");
}

TEST(SafetensorsMalformed, TruncatedData) {
  expect_error(safetensors_file(header(entry("w", "F32", "[4]", 0, 16)), 10), ErrorKind::Truncated,
               "tensors end at data byte 16");
}

TEST(SafetensorsMalformed, TrailingBytesAfterLastTensor) {
  expect_error(safetensors_file(header(entry("w", "F32", "[1]", 0, 4)), 9), ErrorKind::InvalidHeader,
               "5 trailing bytes");
}

TEST(SafetensorsMalformed, OffsetsOverflowWhenMadeAbsolute) {
  expect_error(safetensors_file(header(entry("w", "U8", "[0]", 18446744073709551615ull, 18446744073709551615ull)), 0),
               ErrorKind::InvalidHeader, "begin at 18446744073709551615");
}

TEST(SafetensorsMalformed, MetadataNotAnObject) {
  expect_error(safetensors_file(header("\"__metadata__\":[1]"), 0), ErrorKind::InvalidHeader, "__metadata__");
}

TEST(SafetensorsMalformed, MetadataValueNotAString) {
  expect_error(safetensors_file(header("\"__metadata__\":{\"step\":3}"), 0), ErrorKind::InvalidHeader,
               "value for \"step\" is not a string");
}

// nlohmann stops at a NUL as if the input ended there; the reference rejects
// the header (serde_json: trailing characters).
TEST(SafetensorsMalformed, BytesAfterANulAreRejected) {
  expect_error(safetensors_file(std::string("{}") + '\0' + "garbage", 0), ErrorKind::InvalidHeader, "NUL byte at byte 2");
  expect_error(safetensors_file(std::string("{}") + '\0' + "      ", 0), ErrorKind::InvalidHeader, "NUL byte");
}

TEST(SafetensorsMalformed, DeeplyNestedJsonDoesNotCrash) {
  std::string deep = "{\"w\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
  expect_error(safetensors_file(deep, 0), ErrorKind::InvalidHeader, "nests deeper than");
}

}  // namespace
}  // namespace ws
