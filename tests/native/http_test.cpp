// The HTTP transport against a local Range server, with faults injected.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>

#include <set>
#include <sstream>

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
  EXPECT_EQ(size.error().kind, ErrorKind::Timeout);
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
  EXPECT_EQ(read.error().kind, ErrorKind::Timeout);
  EXPECT_LT(seconds, 6.0) << read.error().message;
}

// A server that trickles 2 KB/s, just above the 1 KB/s stall limit: never
// stalled, so neither the low-speed abort nor the retry budget ends it (the
// 1.2 MB fixture would take ten minutes); the load's deadline does.
TEST(Http, TricklingServerIsNotAStall) {
  // 3 KB/s here, three times the stall limit, so a loaded CI machine's
  // scheduling cannot push it below: no retry is allowed.
  test::RangeServer server(test::fixtures("safetensors"), {"--trickle", "3072"});
  ASSERT_GT(server.port(), 0);
  HttpTransportOptions options;
  options.low_speed_timeout_s = 1;
  options.max_retries = 0;
  std::unique_ptr<Transport> transport = make_http_transport(server.url("single/"), options);
  std::vector<uint8_t> buffer(3000);
  Status read = transport->read("model.safetensors", 0, buffer.data(), buffer.size());
  EXPECT_TRUE(read.is_ok()) << read.error().to_string();
  EXPECT_EQ(std::string(buffer.begin(), buffer.end()),
            test::read_file(test::fixtures("safetensors/single/model.safetensors")).substr(0, buffer.size()));
}

TEST(Http, LoadDeadlineEndsATricklingServer) {
  test::RangeServer server(test::fixtures("safetensors"), {"--trickle", "2048"});
  ASSERT_GT(server.port(), 0);
  HttpTransportOptions options;
  options.load_deadline_s = 2;
  const auto start = std::chrono::steady_clock::now();
  auto loaded = test::load_and_hash(server.url("single/"), std::nullopt, 16 << 20, options);
  const double seconds = seconds_since(start);
  ASSERT_FALSE(loaded.is_ok());
  EXPECT_EQ(loaded.error().kind, ErrorKind::Timeout) << loaded.error().to_string();
  EXPECT_NE(loaded.error().message.find("deadline of 2 s"), std::string::npos) << loaded.error().message;
  EXPECT_GE(seconds, 1.9);
  EXPECT_LT(seconds, 5.0) << loaded.error().message;
}

// The same through the CLI: --http-deadline-s, exit status 1, "Timeout:".
TEST(Http, CliHttpDeadlineFlag) {
  test::RangeServer server(test::fixtures("safetensors"), {"--trickle", "2048"});
  ASSERT_GT(server.port(), 0);
  auto [status, out] = test::run_command(std::string(WS_CLI) + " load " + server.url("single/") +
                                         " --http-deadline-s 2 2>&1");
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("Timeout: "), std::string::npos) << out;
  auto [usage, usage_out] = test::run_command(std::string(WS_CLI) + " load " + server.url("single/") +
                                              " --http-deadline-s -1 2>&1");
  EXPECT_EQ(usage, 2) << usage_out;
}

// What reached the range server (its --log): one {host, path, authorization} per request.
std::vector<nlohmann::json> request_log(const std::string& path) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(test::read_file(path));
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

// Loads `path` (a redirect) with `options` and returns the Authorization each
// host name received, as "host: value" ("host: -" for none), once per kind.
std::set<std::string> authorization_by_host(const std::string& path, const HttpTransportOptions& options) {
  const std::string log = test::temp_dir("auth") + "/requests.jsonl";
  test::RangeServer server(test::fixtures("safetensors"), {"--log", log});
  EXPECT_GT(server.port(), 0);
  auto loaded = test::load_and_hash(server.url(path), std::nullopt, 16 << 20, options);
  EXPECT_TRUE(loaded.is_ok()) << loaded.error().to_string();
  std::set<std::string> seen;
  const std::string port = ":" + std::to_string(server.port());
  for (const nlohmann::json& request : request_log(log)) {
    std::string host = request["host"].get<std::string>();
    host = host.substr(0, host.size() - port.size());
    seen.insert(host + ": " + (request["authorization"].is_null() ? "-" : request["authorization"].get<std::string>()));
  }
  return seen;
}

// A Hub resolve/ URL redirects to a CDN host: the token goes to the first
// host only. The range server redirects 127.0.0.1 -> localhost (the same
// server under another host name) and logs what each received.
TEST(Http, BearerTokenIsNeverForwardedToAnotherHost) {
  HttpTransportOptions options;
  options.bearer_token = "hf_s3cret";
  EXPECT_EQ(authorization_by_host("redirect-other/sharded/", options),
            (std::set<std::string>{"127.0.0.1: Bearer hf_s3cret", "localhost: -"}));
}

TEST(Http, AuthorizationHeaderIsNeverForwardedToAnotherHost) {
  for (const std::string& header : {std::string("Authorization: Bearer hf_s3cret"),
                                    std::string("authorization: Basic dXNlcjpzM2NyZXQ=")}) {
    HttpTransportOptions options;
    options.headers = {header, "X-Trace: 7"};
    const std::string value = header.substr(header.find(':') + 2);
    EXPECT_EQ(authorization_by_host("redirect-other/single/", options),
              (std::set<std::string>{"127.0.0.1: " + value, "localhost: -"}))
        << header;
  }
}

TEST(Http, SameHostRedirectKeepsAuthorization) {
  HttpTransportOptions options;
  options.bearer_token = "hf_s3cret";
  EXPECT_EQ(authorization_by_host("redirect-same/single/", options),
            (std::set<std::string>{"127.0.0.1: Bearer hf_s3cret"}));
}

// HF_TOKEN from the CLI: sent to a Hugging Face host ($HF_ENDPOINT here), not
// after the redirect, and not at all to a host that is not the Hub's.
TEST(Http, CliSendsHfTokenToTheHubHostOnly) {
  const std::string log = test::temp_dir("hftoken") + "/requests.jsonl";
  test::RangeServer server(test::fixtures("safetensors"), {"--log", log});
  ASSERT_GT(server.port(), 0);
  const std::string env = "HF_TOKEN=hf_s3cret HF_ENDPOINT=http://127.0.0.1:" + std::to_string(server.port());
  auto [status, out] = test::run_command(env + " " + WS_CLI + " load " + server.url("redirect-other/single/") + " 2>&1");
  ASSERT_EQ(status, 0) << out;
  auto [status2, out2] = test::run_command(env + " " + WS_CLI + " load " +
                                           server.url_as("http", "localhost", "single/") + " 2>&1");
  ASSERT_EQ(status2, 0) << out2;
  std::set<std::string> seen;
  for (const nlohmann::json& request : request_log(log)) {
    const std::string host = request["host"].get<std::string>();
    seen.insert(host.substr(0, host.find(':')) + ": " +
                (request["authorization"].is_null() ? "-" : request["authorization"].get<std::string>()));
  }
  EXPECT_EQ(seen, (std::set<std::string>{"127.0.0.1: Bearer hf_s3cret", "localhost: -"}));
}

TEST(Http, HeaderThatIsNotOneNameValueLineIsRefused) {
  for (const std::string& header : {std::string("Authorization: Bearer x\r\nX-Evil: 1"), std::string("no colon"),
                                    std::string(": empty name"), std::string("Bad Name: x")}) {
    HttpTransportOptions options;
    options.headers = {header};
    auto opened = ModelSource::open("http://127.0.0.1:1/model/", options);
    ASSERT_FALSE(opened.is_ok()) << header;
    EXPECT_EQ(opened.error().kind, ErrorKind::InvalidArgument) << opened.error().message;
  }
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
