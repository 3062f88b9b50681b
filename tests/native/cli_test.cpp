// The CLI as a user runs it: JSON output, hashes, exit statuses, one-line errors.
#include <gtest/gtest.h>

#include <cctype>

#include "native/test_support.h"
#include "util/sha256.h"

namespace ws {
namespace {

std::string cli() { return WS_CLI; }

TEST(Cli, LoadJsonHashesMatchTheReference) {
  auto [status, out] = test::run_command(cli() + " load " + test::fixtures("safetensors/sharded") + " --dtype bf16 --hash --json");
  ASSERT_EQ(status, 0) << out;
  const nlohmann::json result = nlohmann::json::parse(out);
  const nlohmann::json expected = test::expected_hashes()["sharded"];
  ASSERT_EQ(result["tensors"].size(), expected.size());
  uint64_t bytes = 0;
  for (const nlohmann::json& t : result["tensors"]) {
    const nlohmann::json& want = expected[t["name"].get<std::string>()];
    EXPECT_EQ(t["dtype"], "BF16");
    EXPECT_EQ(t["shape"], want["shape"]);
    EXPECT_EQ(t["sha256"], want["converted"]["BF16"]) << t["name"];
    bytes += t["bytes"].get<uint64_t>();
  }
  EXPECT_EQ(result["bound_bytes"].get<uint64_t>(), bytes);
  EXPECT_GT(result["peak_rss_bytes"].get<uint64_t>(), 0u);
  EXPECT_GE(result["seconds"].get<double>(), 0.0);
}

// --dtype with a ggml block type quantises float matrices on load: the blocks
// are gguf-py's (tests/tools/make_quantize_fixtures.py); tensors whose rows
// are not whole blocks keep their dtype.
TEST(Cli, LoadQuantizesToTheGgufPackagesBlocks) {
  for (const char* dtype : {"q8_0", "q4_0", "q5_1"}) {
    auto [status, out] = test::run_command(cli() + " load " + test::fixtures("quantize/sources.safetensors") +
                                           " --dtype " + dtype + " --staging-mib 0.001 --hash --json");
    ASSERT_EQ(status, 0) << out;
    const nlohmann::json result = nlohmann::json::parse(out);
    std::string upper = dtype;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    ASSERT_EQ(result["tensors"].size(), 4u);
    for (const nlohmann::json& t : result["tensors"]) {
      const std::string name = t["name"];
      if (name == "odd") {
        EXPECT_EQ(t["dtype"], "F32");
        continue;
      }
      std::ifstream in(test::fixtures("quantize/ref/" + name + "." + upper), std::ios::binary);
      const std::string blocks((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      ASSERT_FALSE(blocks.empty()) << name;
      Sha256 hash;
      hash.update(reinterpret_cast<const uint8_t*>(blocks.data()), blocks.size());
      EXPECT_EQ(t["dtype"], upper) << name;
      EXPECT_EQ(t["bytes"], blocks.size()) << name;
      EXPECT_EQ(t["sha256"], hash.finish_hex()) << name << " as " << dtype;
    }
  }
}

TEST(Cli, InspectJsonListsEveryTensorWithItsShard) {
  auto [status, out] = test::run_command(cli() + " inspect " + test::fixtures("safetensors/sharded") + " --json");
  ASSERT_EQ(status, 0) << out;
  const nlohmann::json result = nlohmann::json::parse(out);
  EXPECT_EQ(result["shards"].size(), 3u);
  EXPECT_EQ(result["tensors"].size(), 12u);
  EXPECT_EQ(result["config"]["hidden_size"], 48);
  EXPECT_EQ(result["tensors"][0]["shard"], "model-00001-of-00003.safetensors");
}

TEST(Cli, InspectHumanOutput) {
  auto [status, out] = test::run_command(cli() + " inspect " + test::fixtures("safetensors/single"));
  ASSERT_EQ(status, 0);
  EXPECT_NE(out.find("weights.bf16"), std::string::npos);
  EXPECT_NE(out.find("BF16"), std::string::npos);
}

TEST(Cli, UsageErrorsExitWithTwo) {
  EXPECT_EQ(test::run_command(cli() + " 2>/dev/null").first, 2);
  EXPECT_EQ(test::run_command(cli() + " frobnicate 2>/dev/null").first, 2);
  EXPECT_EQ(test::run_command(cli() + " load 2>/dev/null").first, 2);
  EXPECT_EQ(test::run_command(cli() + " load x --dtype f8 2>/dev/null").first, 2);
  EXPECT_EQ(test::run_command(cli() + " load x --bogus 2>/dev/null").first, 2);
}

TEST(Cli, RuntimeErrorsExitWithOneAndOneLine) {
  auto [status, out] = test::run_command(cli() + " load /no/such/model 2>&1");
  EXPECT_EQ(status, 1);
  EXPECT_EQ(out.rfind("weightstream: NotFound: ", 0), 0u) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
}

}  // namespace
}  // namespace ws

namespace ws {
namespace {

TEST(Cli, MmapBindingGivesTheSameBytesAndMapsOnlyKeptDtypes) {
  auto [status, out] = test::run_command(std::string(WS_CLI) + " load " + test::fixtures("safetensors/single") +
                                         " --bind mmap --dtype f16 --hash --json");
  ASSERT_EQ(status, 0) << out;
  const nlohmann::json result = nlohmann::json::parse(out);
  const nlohmann::json expected = test::expected_hashes()["single"];
  int mapped = 0, copied = 0;
  for (const nlohmann::json& t : result["tensors"]) {
    const nlohmann::json& want = expected[t["name"].get<std::string>()];
    const bool converts = !want["converted"].empty() && want["dtype"] != "F16";
    EXPECT_EQ(t["bind"], converts ? "copy" : "mmap") << t["name"];
    EXPECT_EQ(t["sha256"], converts ? want["converted"]["F16"] : want["sha256"]) << t["name"];
    (t["bind"] == "mmap" ? mapped : copied)++;
  }
  EXPECT_GT(mapped, 0);
  EXPECT_GT(copied, 0);
  EXPECT_EQ(test::run_command(std::string(WS_CLI) + " load x --bind zerocopy 2>/dev/null").first, 2);
}

}  // namespace
}  // namespace ws
