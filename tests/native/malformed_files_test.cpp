// Malformed checkpoints on disk: each gives its typed error through the whole
// native path (ModelSource, plan, executor), and never a crash.
#include <gtest/gtest.h>

#include "format/header_builder.h"
#include "native/test_support.h"

namespace ws {
namespace {

std::string good_shard(const std::string& name) {
  return test::safetensors_file("{" + test::entry(name, "F32", "[4]", 0, 16) + "}", 16, 0x3f);
}

void expect_open_error(const std::string& location, ErrorKind kind, const std::string& needle) {
  auto opened = ModelSource::open(location);
  ASSERT_FALSE(opened.is_ok());
  EXPECT_EQ(opened.error().kind, kind) << opened.error().to_string();
  EXPECT_NE(opened.error().message.find(needle), std::string::npos) << opened.error().message;
}

TEST(MalformedFiles, IndexNamesAMissingShard) {
  const std::string dir = test::temp_dir("missing-shard");
  test::write_file(dir + "/a.safetensors", good_shard("x"));
  test::write_file(dir + "/model.safetensors.index.json",
                   R"({"weight_map":{"x":"a.safetensors","y":"b.safetensors"}})");
  expect_open_error(dir, ErrorKind::InvalidIndex, "b.safetensors");
}

TEST(MalformedFiles, IndexNamesATensorTheShardLacks) {
  const std::string dir = test::temp_dir("missing-tensor");
  test::write_file(dir + "/a.safetensors", good_shard("x"));
  test::write_file(dir + "/model.safetensors.index.json", R"({"weight_map":{"x":"a.safetensors","z":"a.safetensors"}})");
  expect_open_error(dir, ErrorKind::MissingTensor, "\"z\"");
}

TEST(MalformedFiles, TruncatedShardData) {
  const std::string dir = test::temp_dir("truncated");
  std::string file = good_shard("x");
  file.resize(file.size() - 5);
  test::write_file(dir + "/model.safetensors", file);
  expect_open_error(dir, ErrorKind::Truncated, "model.safetensors");
}

TEST(MalformedFiles, FileShrinksBetweenOpenAndLoad) {
  const std::string dir = test::temp_dir("shrinks");
  test::write_file(dir + "/model.safetensors", good_shard("x"));
  auto source = ModelSource::open(dir);
  ASSERT_TRUE(source.is_ok());
  std::string file = good_shard("x");
  file.resize(file.size() - 8);
  test::write_file(dir + "/model.safetensors", file);  // someone truncates it under us
  HostBuffer buffer = HostBuffer::allocate(16).value();
  std::vector<ManifestEntry> manifest = {{"x", DType::F32, {4}, &buffer}};
  LoadPlan plan = plan_load((*source)->checkpoint(), manifest).value();
  auto executor = LoadExecutor::create(plan, manifest).value();
  Status loaded = (*source)->load(*executor);
  ASSERT_FALSE(loaded.is_ok());
  EXPECT_EQ(loaded.error().kind, ErrorKind::Truncated);
  EXPECT_NE(loaded.error().message.find("bytes short"), std::string::npos) << loaded.error().message;
}

TEST(MalformedFiles, EmptyDirectory) {
  expect_open_error(test::temp_dir("empty"), ErrorKind::NotFound, "no model.safetensors");
}

TEST(MalformedFiles, ZeroByteFile) {
  const std::string dir = test::temp_dir("zero");
  test::write_file(dir + "/model.safetensors", "");
  expect_open_error(dir + "/model.safetensors", ErrorKind::Truncated, "too short");
}

TEST(MalformedFiles, RandomGarbageNeverCrashes) {
  const std::string dir = test::temp_dir("garbage");
  uint32_t state = 12345;
  for (int round = 0; round < 200; ++round) {
    std::string file = good_shard("x");
    const int flips = 1 + round % 8;
    for (int i = 0; i < flips; ++i) {
      state = state * 1664525u + 1013904223u;
      file[state % file.size()] = static_cast<char>(state >> 24);
    }
    test::write_file(dir + "/model.safetensors", file);
    auto source = ModelSource::open(dir);
    if (source) continue;  // flips inside tensor data leave a valid file
    EXPECT_FALSE(source.error().message.empty());
  }
}

}  // namespace
}  // namespace ws
