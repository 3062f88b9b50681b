// The HTTP transport against a local Range server, with faults injected.
#include <gtest/gtest.h>

#include "native/test_support.h"

namespace ws {
namespace {

void expect_same_as_files(const std::string& url, const std::string& dir) {
  auto from_http = test::load_and_hash(url);
  ASSERT_TRUE(from_http.is_ok()) << from_http.error().to_string();
  auto from_files = test::load_and_hash(dir);
  ASSERT_TRUE(from_files.is_ok()) << from_files.error().to_string();
  ASSERT_EQ(from_http->size(), from_files->size());
  for (const auto& [name, t] : *from_files) EXPECT_EQ(from_http->at(name).sha256, t.sha256) << name;
}

TEST(Http, LoadsShardedCheckpointWithAndWithoutTrailingSlash) {
  test::RangeServer server(test::fixtures("safetensors"));
  ASSERT_GT(server.port(), 0);
  expect_same_as_files(server.url("sharded/"), test::fixtures("safetensors/sharded"));
  expect_same_as_files(server.url("sharded"), test::fixtures("safetensors/sharded"));
  expect_same_as_files(server.url("single/model.safetensors"), test::fixtures("safetensors/single"));
}

TEST(Http, ResumesAfterTheConnectionDropsMidFile) {
  // Every file's first ranged body stops after 1000 bytes: headers and tensor
  // data alike must be resumed from where they stopped.
  test::RangeServer server(test::fixtures("safetensors"), {"--drop-after", "1000"});
  ASSERT_GT(server.port(), 0);
  expect_same_as_files(server.url("single"), test::fixtures("safetensors/single"));
  expect_same_as_files(server.url("sharded"), test::fixtures("safetensors/sharded"));
}

TEST(Http, RetriesServerErrors) {
  test::RangeServer server(test::fixtures("safetensors"), {"--fail-first", "2"});
  ASSERT_GT(server.port(), 0);
  expect_same_as_files(server.url("single"), test::fixtures("safetensors/single"));
}

TEST(Http, MissingModelIsAClearError) {
  test::RangeServer server(test::fixtures("safetensors"));
  auto opened = ModelSource::open(server.url("no-such-model/"));
  ASSERT_FALSE(opened.is_ok());
  EXPECT_EQ(opened.error().kind, ErrorKind::NotFound);
  EXPECT_NE(opened.error().message.find("no model.safetensors or model.safetensors.index.json"), std::string::npos)
      << opened.error().message;
}

TEST(Http, MissingFileNamedDirectlyIsAnHttp404) {
  test::RangeServer server(test::fixtures("safetensors"));
  auto opened = ModelSource::open(server.url("single/nope.safetensors"));
  ASSERT_FALSE(opened.is_ok());
  EXPECT_EQ(opened.error().kind, ErrorKind::NotFound);
  EXPECT_NE(opened.error().message.find("404"), std::string::npos) << opened.error().message;
}

TEST(Http, ServerIgnoringRangeIsReportedNotMisread) {
  test::RangeServer server(test::fixtures("safetensors"), {"--ignore-range"});
  auto loaded = test::load_and_hash(server.url("single"));
  ASSERT_FALSE(loaded.is_ok());
  EXPECT_EQ(loaded.error().kind, ErrorKind::Http);
  EXPECT_NE(loaded.error().message.find("ignores Range"), std::string::npos) << loaded.error().message;
}

TEST(Http, ConnectionRefusedIsAnHttpError) {
  auto opened = ModelSource::open("http://127.0.0.1:1/model/");
  ASSERT_FALSE(opened.is_ok());
  EXPECT_EQ(opened.error().kind, ErrorKind::Http);
  EXPECT_NE(opened.error().message.find("127.0.0.1:1"), std::string::npos) << opened.error().message;
}

}  // namespace
}  // namespace ws
