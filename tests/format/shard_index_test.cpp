// model.safetensors.index.json: parsing, and the cross-check against shard headers.
#include <gtest/gtest.h>

#include "format/header_builder.h"

namespace ws {
namespace {

void expect_index_error(const std::string& json, ErrorKind kind, const std::string& needle) {
  Result<ShardIndex> index = parse_shard_index(json, "model.safetensors.index.json");
  ASSERT_FALSE(index.is_ok());
  EXPECT_EQ(index.error().kind, kind) << index.error().to_string();
  EXPECT_NE(index.error().message.find(needle), std::string::npos) << index.error().message;
}

// Two shards: a.safetensors holds x (F32 [2]); b.safetensors holds y (F16 [4]).
Checkpoint two_shards() {
  Checkpoint checkpoint;
  EXPECT_TRUE(test::parse_file(test::safetensors_file("{" + test::entry("x", "F32", "[2]", 0, 8) + "}", 8),
                               checkpoint, "a.safetensors").is_ok());
  EXPECT_TRUE(test::parse_file(test::safetensors_file("{" + test::entry("y", "F16", "[4]", 0, 8) + "}", 8),
                               checkpoint, "b.safetensors").is_ok());
  return checkpoint;
}

TEST(ShardIndex, ParsesWeightMapAndTotalSize) {
  Result<ShardIndex> index = parse_shard_index(
      R"({"metadata":{"total_size":16,"format":"pt"},"weight_map":{"y":"b.safetensors","x":"a.safetensors"}})", "i");
  ASSERT_TRUE(index.is_ok()) << index.error().to_string();
  EXPECT_EQ(index->total_size.value(), 16u);
  EXPECT_EQ(index->shard_files.size(), 2u);
  EXPECT_EQ(index->weight_map.at("x"), "a.safetensors");
  EXPECT_TRUE(check_shard_index(*index, two_shards(), "i").is_ok());
}

TEST(ShardIndexMalformed, InvalidJson) { expect_index_error("{\"weight_map\":", ErrorKind::InvalidIndex, "not valid JSON"); }
TEST(ShardIndexMalformed, MissingWeightMap) { expect_index_error("{\"metadata\":{}}", ErrorKind::InvalidIndex, "missing \"weight_map\""); }
TEST(ShardIndexMalformed, EmptyWeightMap) { expect_index_error("{\"weight_map\":{}}", ErrorKind::InvalidIndex, "empty"); }
TEST(ShardIndexMalformed, ShardNameNotAString) {
  expect_index_error("{\"weight_map\":{\"x\":3}}", ErrorKind::InvalidIndex, "not a file name string");
}
TEST(ShardIndexMalformed, ShardPathEscapesTheModel) {
  expect_index_error("{\"weight_map\":{\"x\":\"../../etc/passwd\"}}", ErrorKind::InvalidIndex, "not a plain file name");
  expect_index_error("{\"weight_map\":{\"x\":\"/abs.safetensors\"}}", ErrorKind::InvalidIndex, "not a plain file name");
  expect_index_error("{\"weight_map\":{\"x\":\"..\"}}", ErrorKind::InvalidIndex, "not a plain file name");
  // Percent-encoded: a server that decodes the path would read outside the model.
  for (const char* name : {"..%2Fsecret%2Fx.safetensors", "%2E%2E%2Fx.safetensors", "a%2fb.safetensors",
                           "..%5Cx.safetensors", "%2e%2e", "..%252Fx.safetensors", "x.safetensors?y", "x#y",
                           "%00x.safetensors"}) {
    expect_index_error(std::string("{\"weight_map\":{\"x\":\"") + name + "\"}}", ErrorKind::InvalidIndex,
                       "not a plain file name");
  }
}
TEST(ShardIndexMalformed, TotalSizeNotAnInteger) {
  expect_index_error("{\"metadata\":{\"total_size\":-5},\"weight_map\":{\"x\":\"a\"}}", ErrorKind::InvalidIndex,
                     "total_size");
}
TEST(ShardIndexMalformed, DuplicateTensorInWeightMap) {
  expect_index_error("{\"weight_map\":{\"x\":\"a\",\"x\":\"b\"}}", ErrorKind::InvalidIndex, "twice");
}

TEST(ShardIndexCrossCheck, IndexNamesATensorNoShardHas) {
  Result<ShardIndex> index = parse_shard_index(
      R"({"weight_map":{"x":"a.safetensors","y":"b.safetensors","z":"b.safetensors"}})", "i");
  ASSERT_TRUE(index.is_ok());
  Status status = check_shard_index(*index, two_shards(), "i");
  ASSERT_FALSE(status.is_ok());
  EXPECT_EQ(status.error().kind, ErrorKind::MissingTensor);
  EXPECT_NE(status.error().message.find("\"z\""), std::string::npos);
}

TEST(ShardIndexCrossCheck, ShardHasATensorTheIndexDoesNotName) {
  Result<ShardIndex> index = parse_shard_index(R"({"weight_map":{"x":"a.safetensors"}})", "i");
  ASSERT_TRUE(index.is_ok());
  Status status = check_shard_index(*index, two_shards(), "i");
  ASSERT_FALSE(status.is_ok());
  EXPECT_EQ(status.error().kind, ErrorKind::InvalidIndex);
  EXPECT_NE(status.error().message.find("\"y\" is in b.safetensors but not in weight_map"), std::string::npos);
}

TEST(ShardIndexCrossCheck, TensorInTheWrongShard) {
  Result<ShardIndex> index = parse_shard_index(R"({"weight_map":{"x":"b.safetensors","y":"b.safetensors"}})", "i");
  ASSERT_TRUE(index.is_ok());
  Status status = check_shard_index(*index, two_shards(), "i");
  ASSERT_FALSE(status.is_ok());
  EXPECT_NE(status.error().message.find("puts \"x\" in b.safetensors but it is in a.safetensors"), std::string::npos);
}

TEST(ShardIndexCrossCheck, TotalSizeDisagrees) {
  Result<ShardIndex> index = parse_shard_index(
      R"({"metadata":{"total_size":17},"weight_map":{"x":"a.safetensors","y":"b.safetensors"}})", "i");
  ASSERT_TRUE(index.is_ok());
  Status status = check_shard_index(*index, two_shards(), "i");
  ASSERT_FALSE(status.is_ok());
  EXPECT_NE(status.error().message.find("total_size is 17 but the shards hold 16"), std::string::npos);
}

TEST(ShardIndexCrossCheck, SameTensorInTwoShards) {
  Checkpoint checkpoint = two_shards();
  ASSERT_TRUE(test::parse_file(test::safetensors_file("{" + test::entry("x", "F32", "[2]", 0, 8) + "}", 8), checkpoint,
                               "c.safetensors").is_ok());
  Result<ShardIndex> index = parse_shard_index(R"({"weight_map":{"x":"a.safetensors","y":"b.safetensors"}})", "i");
  ASSERT_TRUE(index.is_ok());
  Status status = check_shard_index(*index, checkpoint, "i");
  ASSERT_FALSE(status.is_ok());
  EXPECT_EQ(status.error().kind, ErrorKind::InvalidIndex);
}

}  // namespace
}  // namespace ws
