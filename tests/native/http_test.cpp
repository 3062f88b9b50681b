// The HTTP transport against a local Range server, with faults injected.
#include <gtest/gtest.h>

#include <chrono>

#include "native/test_support.h"
#include "source/transports.h"

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

// A server without Range support (python3 -m http.server) answers 200 with the
// whole file: each read takes its bytes from there, skipping those before.
TEST(Http, ServerWithoutRangeSupportLoadsByStreamingFromTheStart) {
  test::RangeServer server(test::fixtures("safetensors"), {"--ignore-range"});
  ASSERT_GT(server.port(), 0);
  expect_same_as_files(server.url("single"), test::fixtures("safetensors/single"));
  expect_same_as_files(server.url("sharded"), test::fixtures("safetensors/sharded"));
}

// A 206 whose Content-Range is not the range asked for (one byte late) used
// to load with exit 0 and wrong hashes.
TEST(Http, ContentRangeOtherThanAskedIsRefused) {
  test::RangeServer server(test::fixtures("safetensors"), {"--shift-range"});
  ASSERT_GT(server.port(), 0);
  auto loaded = test::load_and_hash(server.url("single"));
  ASSERT_FALSE(loaded.is_ok());
  EXPECT_EQ(loaded.error().kind, ErrorKind::Http);
  EXPECT_NE(loaded.error().message.find("Content-Range"), std::string::npos) << loaded.error().message;
}

// We ask for identity; a gzip body is refused, never written into tensors.
TEST(Http, EncodedBodyIsRefused) {
  test::RangeServer server(test::fixtures("safetensors"), {"--gzip"});
  ASSERT_GT(server.port(), 0);
  auto loaded = test::load_and_hash(server.url("single"));
  ASSERT_FALSE(loaded.is_ok());
  EXPECT_EQ(loaded.error().kind, ErrorKind::Http);
  EXPECT_NE(loaded.error().message.find("Content-Encoding: gzip"), std::string::npos) << loaded.error().message;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST(Http, ServerThatNeverAnswersIsAbandonedAfterTheResponseTimeout) {
  test::RangeServer server(test::fixtures("safetensors"), {"--no-response"});
  ASSERT_GT(server.port(), 0);
  HttpTransportOptions options;
  options.response_timeout_s = 1;
  options.max_retries = 1;
  std::unique_ptr<Transport> transport = make_http_transport(server.url("single/"), options);
  const auto start = std::chrono::steady_clock::now();
  Result<uint64_t> size = transport->file_size("model.safetensors");
  const double seconds = seconds_since(start);
  ASSERT_FALSE(size.is_ok());
  EXPECT_EQ(size.error().kind, ErrorKind::Http);
  EXPECT_NE(size.error().message.find("no response within 1 s"), std::string::npos) << size.error().message;
  EXPECT_LT(seconds, 10.0);  // two attempts of 1 s and a backoff; was minutes
}

// Each attempt gets a few bytes before the low-speed abort: progress, so the
// consecutive-failure count resets; the total budget still ends it.
TEST(Http, DrippingServerIsAbandonedByTheRetryBudget) {
  test::RangeServer server(test::fixtures("safetensors"), {"--drip", "0.3"});
  ASSERT_GT(server.port(), 0);
  HttpTransportOptions options;
  options.low_speed_timeout_s = 1;
  options.max_retries = 2;
  options.max_total_retries = 3;
  std::unique_ptr<Transport> transport = make_http_transport(server.url("single/"), options);
  std::vector<uint8_t> buffer(4096);
  const auto start = std::chrono::steady_clock::now();
  Status read = transport->read("model.safetensors", 0, buffer.data(), buffer.size());
  const double seconds = seconds_since(start);
  ASSERT_FALSE(read.is_ok());
  EXPECT_NE(read.error().message.find("retries in all"), std::string::npos) << read.error().message;
  EXPECT_LT(seconds, 20.0);
}

TEST(Http, DeadlineEndsASlowRead) {
  test::RangeServer server(test::fixtures("safetensors"), {"--drip", "0.3"});
  ASSERT_GT(server.port(), 0);
  HttpTransportOptions options;
  options.deadline_s = 2;
  std::unique_ptr<Transport> transport = make_http_transport(server.url("single/"), options);
  std::vector<uint8_t> buffer(4096);
  const auto start = std::chrono::steady_clock::now();
  Status read = transport->read("model.safetensors", 0, buffer.data(), buffer.size());
  const double seconds = seconds_since(start);
  ASSERT_FALSE(read.is_ok());
  EXPECT_EQ(read.error().kind, ErrorKind::Http);
  EXPECT_LT(seconds, 6.0) << read.error().message;
}

TEST(Http, CredentialsInTheUrlAreNeverEchoed) {
  test::RangeServer server(test::fixtures("safetensors"));
  ASSERT_GT(server.port(), 0);
  const std::string with_password = "http://user:s3cret-token@127.0.0.1:" + std::to_string(server.port()) + "/";
  for (const std::string& location : {with_password + "no-such-model/", with_password + "single/nope.safetensors",
                                      std::string("http://user:s3cret-token@127.0.0.1:1/model/")}) {
    auto opened = ModelSource::open(location);
    ASSERT_FALSE(opened.is_ok()) << location;
    EXPECT_EQ(opened.error().message.find("s3cret"), std::string::npos) << opened.error().message;
  }
}

TEST(Http, ConnectionRefusedIsAnHttpError) {
  auto opened = ModelSource::open("http://127.0.0.1:1/model/");
  ASSERT_FALSE(opened.is_ok());
  EXPECT_EQ(opened.error().kind, ErrorKind::Http);
  EXPECT_NE(opened.error().message.find("127.0.0.1:1"), std::string::npos) << opened.error().message;
}

}  // namespace
}  // namespace ws
