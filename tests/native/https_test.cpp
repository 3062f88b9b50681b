// The HTTP transport over TLS, against the range server with a certificate
// signed by a CA made for this run (tests/tools/make_test_ca.py, openssl).
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <chrono>
#include <cstdlib>

#include "native/test_support.h"
#include "source/transports.h"

namespace ws {
namespace {

// One CA and server certificate for the whole suite (openssl takes a moment).
const std::string& tls_dir() {
  static const std::string dir = [] {
    const std::string d = test::temp_dir("tls");
    auto [status, out] = test::run_command(std::string(WS_PYTHON) + " " + WS_SOURCE_DIR +
                                           "/tests/tools/make_test_ca.py " + d + " 2>&1");
    EXPECT_EQ(status, 0) << out;
    return d;
  }();
  return dir;
}

test::RangeServer tls_server() {
  return test::RangeServer(test::fixtures("safetensors"),
                           {"--tls", tls_dir() + "/server.pem", tls_dir() + "/server.key"});
}

// Unsets a variable for a test's span and restores it after.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) ::setenv(name, value, 1); else ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_) ::setenv(name_, old_->c_str(), 1); else ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

void expect_same_as_files(const std::string& url, const HttpTransportOptions& options) {
  auto from_https = test::load_and_hash(url, std::nullopt, 16 << 20, options);
  ASSERT_TRUE(from_https.is_ok()) << from_https.error().to_string();
  auto from_files = test::load_and_hash(test::fixtures("safetensors/sharded"));
  ASSERT_TRUE(from_files.is_ok()) << from_files.error().to_string();
  ASSERT_EQ(from_https->size(), from_files->size());
  for (const auto& [name, t] : *from_files) EXPECT_EQ(from_https->at(name).sha256, t.sha256) << name;
}

TEST(Https, LoadsWithTheCaBundleAndMatchesTheFileByteForByte) {
  ScopedEnv no_curl("CURL_CA_BUNDLE", nullptr), no_ssl("SSL_CERT_FILE", nullptr);
  test::RangeServer server = tls_server();
  ASSERT_GT(server.port(), 0);
  HttpTransportOptions options;
  options.ca_bundle = tls_dir() + "/ca.pem";
  for (const char* host : {"127.0.0.1", "localhost"}) {  // both names are in the certificate
    expect_same_as_files(server.url_as("https", host, "sharded/"), options);
  }
  // And every byte of a shard, header and padding included, as read over TLS.
  const std::string file = test::read_file(test::fixtures("safetensors/single/model.safetensors"));
  std::unique_ptr<Transport> transport = make_http_transport(server.url_as("https", "127.0.0.1", "single/"), options);
  Result<uint64_t> size = transport->file_size("model.safetensors");
  ASSERT_TRUE(size.is_ok()) << size.error().to_string();
  ASSERT_EQ(*size, file.size());
  std::string bytes(file.size(), '\0');
  Status read = transport->read("model.safetensors", 0, reinterpret_cast<uint8_t*>(bytes.data()), bytes.size());
  ASSERT_TRUE(read.is_ok()) << read.error().to_string();
  EXPECT_TRUE(bytes == file);
}

// libcurl reads neither variable itself: the transport does, like curl's tool.
TEST(Https, CaBundleFromTheEnvironment) {
  test::RangeServer server = tls_server();
  ASSERT_GT(server.port(), 0);
  const std::string ca = tls_dir() + "/ca.pem";
  {
    ScopedEnv curl("CURL_CA_BUNDLE", ca.c_str()), ssl("SSL_CERT_FILE", nullptr);
    expect_same_as_files(server.url_as("https", "127.0.0.1", "sharded/"), {});
  }
  {
    ScopedEnv curl("CURL_CA_BUNDLE", nullptr), ssl("SSL_CERT_FILE", ca.c_str());
    expect_same_as_files(server.url_as("https", "127.0.0.1", "sharded/"), {});
  }
}

// Trusting another CA (or only the system's): refused at once with a typed
// error that says why, not retried, and nothing written.
TEST(Https, UntrustedCertificateIsRefused) {
  ScopedEnv no_curl("CURL_CA_BUNDLE", nullptr), no_ssl("SSL_CERT_FILE", nullptr);
  test::RangeServer server = tls_server();
  ASSERT_GT(server.port(), 0);
  const std::string url = server.url_as("https", "127.0.0.1", "sharded/");
  for (const std::string& bundle : {tls_dir() + "/other-ca.pem", std::string()}) {
    HttpTransportOptions options;
    options.ca_bundle = bundle;
    const auto start = std::chrono::steady_clock::now();
    auto opened = ModelSource::open(url, options);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ASSERT_FALSE(opened.is_ok()) << bundle;
    EXPECT_EQ(opened.error().kind, ErrorKind::Http) << opened.error().message;
    EXPECT_NE(opened.error().message.find("certificate is not trusted"), std::string::npos) << opened.error().message;
    EXPECT_LT(seconds, 2.0) << "retried? " << opened.error().message;
  }
  const std::string out_dir = test::temp_dir("untrusted") + "/out";
  auto [status, out] = test::run_command(std::string(WS_CLI) + " convert " + url + " " + out_dir + " --ca-bundle " +
                                         tls_dir() + "/other-ca.pem 2>&1");
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("weightstream: Http: "), std::string::npos) << out;
  struct stat st;
  EXPECT_NE(::stat(out_dir.c_str(), &st), 0) << "convert created " << out_dir;
}

TEST(Https, CliCaBundleFlag) {
  ScopedEnv no_curl("CURL_CA_BUNDLE", nullptr), no_ssl("SSL_CERT_FILE", nullptr);
  test::RangeServer server = tls_server();
  ASSERT_GT(server.port(), 0);
  const std::string url = server.url_as("https", "127.0.0.1", "sharded/");
  auto [status, out] = test::run_command(std::string(WS_CLI) + " load " + url + " --hash --json --ca-bundle " +
                                         tls_dir() + "/ca.pem");
  ASSERT_EQ(status, 0) << out;
  auto [local_status, local] = test::run_command(std::string(WS_CLI) + " load " +
                                                 test::fixtures("safetensors/sharded") + " --hash --json");
  ASSERT_EQ(local_status, 0) << local;
  const auto hashes = [](const std::string& text) {
    std::map<std::string, std::string> by_name;
    const nlohmann::json parsed = nlohmann::json::parse(text);
    for (const auto& t : parsed["tensors"]) by_name[t["name"].get<std::string>()] = t["sha256"].get<std::string>();
    return by_name;
  };
  EXPECT_EQ(hashes(out), hashes(local));
  EXPECT_FALSE(hashes(out).empty());
  // A bundle that does not exist is found at run time: exit 1 (InvalidArgument).
  auto [missing, missing_out] = test::run_command(std::string(WS_CLI) + " load " + url +
                                                  " --ca-bundle /nonexistent/ca.pem 2>&1");
  EXPECT_EQ(missing, 1) << missing_out;
  EXPECT_NE(missing_out.find("InvalidArgument"), std::string::npos) << missing_out;
}

}  // namespace
}  // namespace ws
