// Several readers per shard (ModelSource::load with ParallelFill), local
// files and HTTP: the bytes are the single reader's for every path, and the
// HTTP transport keeps its resume, retries and typed errors per connection.
#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "native/test_support.h"

namespace ws {
namespace {

ParallelFill one_reader() {
  ParallelFill fill;
  fill.readers = 1;
  return fill;
}

// Many small pieces on the small fixtures, so that every reader gets work and
// pieces end inside windows; room for four converting windows.
ParallelFill four_readers(uint64_t staging_bytes) {
  ParallelFill fill;
  fill.readers = 4;
  fill.piece_bytes = 100;
  fill.staging_bytes = 4 * staging_bytes;
  return fill;
}

using Hashes = std::map<std::string, test::LoadedTensor>;

void expect_same(const Result<Hashes>& got, const Result<Hashes>& expected, const std::string& what) {
  ASSERT_TRUE(expected.is_ok()) << what << ": " << expected.error().to_string();
  ASSERT_TRUE(got.is_ok()) << what << ": " << got.error().to_string();
  ASSERT_EQ(got->size(), expected->size()) << what;
  for (const auto& [name, t] : *expected) {
    EXPECT_EQ(got->at(name).sha256, t.sha256) << what << ": " << name;
    EXPECT_EQ(got->at(name).dtype, t.dtype) << what << ": " << name;
  }
}

TEST(ParallelReaders, LocalFilesGiveTheSingleReadersBytes) {
  for (const char* dir : {"safetensors/sharded", "safetensors/single"}) {
    for (std::optional<DType> target : {std::optional<DType>(), std::optional<DType>(DType::BF16),
                                        std::optional<DType>(DType::F32)}) {
      const uint64_t staging = 256;  // small windows: conversions through several slots
      const std::string where = std::string(dir) + (target ? std::string(" as ") + dtype_name(*target) : " kept");
      expect_same(test::load_and_hash(test::fixtures(dir), target, staging, {}, four_readers(staging)),
                  test::load_and_hash(test::fixtures(dir), target, staging, {}, one_reader()), where);
    }
  }
}

TEST(ParallelReaders, HttpGivesTheSingleReadersBytes) {
  test::RangeServer server(test::fixtures("safetensors"));
  ASSERT_GT(server.port(), 0);
  for (std::optional<DType> target : {std::optional<DType>(), std::optional<DType>(DType::F16)}) {
    expect_same(test::load_and_hash(server.url("sharded"), target, 256, {}, four_readers(256)),
                test::load_and_hash(test::fixtures("safetensors/sharded"), target, 256, {}, one_reader()),
                "http sharded");
  }
}

// Every ranged body of a file stops after 1000 bytes the first time: each
// connection resumes its own piece from its first byte not yet received.
TEST(ParallelReaders, HttpResumesEachConnectionAfterACut) {
  for (const char* drop_on : {"0", "3"}) {
    test::RangeServer server(test::fixtures("safetensors"), {"--drop-after", "1000", "--drop-on", drop_on});
    ASSERT_GT(server.port(), 0);
    expect_same(test::load_and_hash(server.url("sharded"), DType::BF16, 256, {}, four_readers(256)),
                test::load_and_hash(test::fixtures("safetensors/sharded"), DType::BF16, 256, {}, one_reader()),
                std::string("cut on request ") + drop_on);
  }
}

TEST(ParallelReaders, HttpRetriesServerErrors) {
  test::RangeServer server(test::fixtures("safetensors"), {"--fail-first", "2"});
  ASSERT_GT(server.port(), 0);
  expect_same(test::load_and_hash(server.url("single"), std::nullopt, 256, {}, four_readers(256)),
              test::load_and_hash(test::fixtures("safetensors/single"), std::nullopt, 256, {}, one_reader()),
              "retried");
}

// A server that ignores Range would send every piece from byte 0: the load
// falls back to one stream, and its bytes are still right.
TEST(ParallelReaders, HttpServerWithoutRangesFallsBackToOneStream) {
  test::RangeServer server(test::fixtures("safetensors"), {"--ignore-range"});
  ASSERT_GT(server.port(), 0);
  expect_same(test::load_and_hash(server.url("sharded"), std::nullopt, 256, {}, four_readers(256)),
              test::load_and_hash(test::fixtures("safetensors/sharded"), std::nullopt, 256, {}, one_reader()),
              "no ranges");
}

TEST(ParallelReaders, HttpWrongContentRangeIsATypedError) {
  test::RangeServer server(test::fixtures("safetensors"), {"--shift-range"});
  ASSERT_GT(server.port(), 0);
  auto loaded = test::load_and_hash(server.url("sharded"), std::nullopt, 256, {}, four_readers(256));
  ASSERT_FALSE(loaded.is_ok());
  EXPECT_EQ(loaded.error().kind, ErrorKind::Http) << loaded.error().to_string();
  EXPECT_NE(loaded.error().message.find("Content-Range"), std::string::npos) << loaded.error().message;
}

// Files that disappear mid-load (404 after the header reads): the first
// connection to see it ends the load with NotFound, the others stop.
TEST(ParallelReaders, HttpFileGoneMidLoadIsATypedError) {
  test::RangeServer server(test::fixtures("safetensors"), {"--gone-after", "3"});
  ASSERT_GT(server.port(), 0);
  auto loaded = test::load_and_hash(server.url("sharded"), std::nullopt, 256, {}, four_readers(256));
  ASSERT_FALSE(loaded.is_ok());
  EXPECT_EQ(loaded.error().kind, ErrorKind::NotFound) << loaded.error().to_string();
}

// A shard cut short after it was opened: Truncated from whichever reader
// reaches the missing bytes.
TEST(ParallelReaders, LocalTruncatedShardIsATypedError) {
  const std::string dir = test::temp_dir("readers-trunc");
  const std::string bytes = test::read_file(test::fixtures("safetensors/single/model.safetensors"));
  {
    std::ofstream out(dir + "/model.safetensors", std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  auto opened = ModelSource::open(dir);
  ASSERT_TRUE(opened.is_ok());
  ::truncate((dir + "/model.safetensors").c_str(), static_cast<off_t>(bytes.size() - 10));
  const Checkpoint& checkpoint = (*opened)->checkpoint();
  std::vector<HostBuffer> buffers;
  std::vector<ManifestEntry> manifest;
  buffers.reserve(checkpoint.tensors.size());
  for (const TensorInfo& t : checkpoint.tensors) {
    buffers.push_back(std::move(HostBuffer::allocate(t.bytes()).value()));
    manifest.push_back({t.name, t.dtype, t.shape, &buffers.back()});
  }
  const LoadPlan plan = plan_load(checkpoint, manifest).value();
  auto executor = LoadExecutor::create(plan, manifest).value();
  Status loaded = (*opened)->load(*executor, four_readers(256));
  ASSERT_FALSE(loaded.is_ok());
  EXPECT_EQ(loaded.error().kind, ErrorKind::Truncated) << loaded.error().to_string();
}

// The CLI's --readers: the same hashes as one reader, and staging within
// --staging-mib whatever the reader count.
TEST(ParallelReaders, CliReadersFlag) {
  const std::string cli = WS_CLI;
  const std::string model = test::fixtures("safetensors/sharded");
  auto [status1, out1] = test::run_command(cli + " load " + model + " --dtype bf16 --readers 1 --hash --json");
  auto [status4, out4] = test::run_command(cli + " load " + model + " --dtype bf16 --readers 4 --staging-mib 0.01 --hash --json");
  ASSERT_EQ(status1, 0) << out1;
  ASSERT_EQ(status4, 0) << out4;
  const nlohmann::json one = nlohmann::json::parse(out1), four = nlohmann::json::parse(out4);
  ASSERT_EQ(one["tensors"].size(), four["tensors"].size());
  for (size_t i = 0; i < one["tensors"].size(); ++i) {
    EXPECT_EQ(one["tensors"][i]["sha256"], four["tensors"][i]["sha256"]) << one["tensors"][i]["name"];
  }
  EXPECT_LE(four["staging_bytes"].get<uint64_t>(), static_cast<uint64_t>(0.01 * (1 << 20)));
  for (const char* bad : {"0", "65", "1.5", "x"}) {
    auto [status, out] = test::run_command(cli + " load " + model + " --readers " + bad + " 2>&1");
    EXPECT_EQ(status, 2) << bad << ": " << out;
  }
}

}  // namespace
}  // namespace ws
