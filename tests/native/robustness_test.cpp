// Hostile inputs to the CLI (issue 13): each must end in a typed error and
// exit status 1 or 2, never a signal, an escaped exception or wrong data.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include "native/test_support.h"

namespace ws {
namespace {

std::string cli() { return WS_CLI; }

std::string quoted(const std::string& s) { return "'" + s + "'"; }

bool exists(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0;
}

// A copy of the single-file fixture under a directory whose name is not UTF-8.
std::string model_under_invalid_utf8_path() {
  const std::string dir = test::temp_dir("utf8") + "/bad-\xff\xfe-name";
  ::mkdir(dir.c_str(), 0755);
  const std::string from = test::fixtures("safetensors/single");
  test::run_command("cp -r " + quoted(from) + "/. " + quoted(dir) + "/");
  return dir;
}

// nlohmann's strict encoder threw type_error 316 on these; the output replaces
// the bytes with U+FFFD and stays valid JSON.
TEST(Robustness, JsonOutputWithInvalidUtf8DoesNotThrow) {
  const std::string dir = model_under_invalid_utf8_path();
  for (const char* command : {" inspect ", " load "}) {
    auto [status, out] = test::run_command(cli() + command + quoted(dir) + " --json 2>&1");
    ASSERT_EQ(status, 0) << command << out;
    const nlohmann::json parsed = nlohmann::json::parse(out, nullptr, false);
    ASSERT_FALSE(parsed.is_discarded()) << out;
  }
  auto [status, out] = test::run_command(cli() + " inspect " + quoted(dir) + " --json");
  EXPECT_NE(out.find("bad-\xEF\xBF\xBD\xEF\xBF\xBD-name"), std::string::npos) << out;
}

// Under an address-space limit, allocations and thread starts fail at every
// stage of a generate: each must be a typed error (exit 1), not
// std::terminate (SIGABRT) from an exception leaving main. (Not 40 MB: there
// nlohmann's noexcept ~basic_json itself allocates and can still abort; see
// the issue 13 note.)
TEST(Robustness, NoExceptionLeavesMainUnderAMemoryLimit) {
  const std::string model = WS_SMOLLM2_GGUF;
  if (!exists(model)) GTEST_SKIP() << "no " << model << " (.ci/setup.d/30-smollm2.sh fetches it)";
  for (int kib : {30'000, 45'000, 60'000, 250'000}) {
    auto [status, out] = test::run_command("bash -c 'ulimit -v " + std::to_string(kib) + "; exec " + cli() +
                                           " generate " + model + " --prompt hi --max-new-tokens 2' 2>&1 >/dev/null");
    EXPECT_EQ(status, 1) << "ulimit -v " << kib << ": " << out;
    EXPECT_EQ(out.rfind("weightstream: ", 0), 0u) << out;
  }
}

}  // namespace
}  // namespace ws
