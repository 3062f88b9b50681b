// Hostile inputs to the CLI (issue 13): each must end in a typed error and
// exit status 1 or 2, never a signal, an escaped exception or wrong data.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <fcntl.h>

#include "format/gguf_builder.h"
#include "native/test_support.h"
#include "source/mapped_file.h"
#include "util/sha256.h"

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
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer reserves terabytes of shadow address space: ulimit -v stops it before main";
#endif
  const std::string model = WS_SMOLLM2_GGUF;
  if (!exists(model)) GTEST_SKIP() << "no " << model << " (.ci/setup.d/30-smollm2.sh fetches it)";
  for (int kib : {30'000, 45'000, 60'000, 250'000}) {
    auto [status, out] = test::run_command("bash -c 'ulimit -v " + std::to_string(kib) + "; exec " + cli() +
                                           " generate " + model + " --prompt hi --max-new-tokens 2' 2>&1 >/dev/null");
    EXPECT_EQ(status, 1) << "ulimit -v " << kib << ": " << out;
    EXPECT_EQ(out.rfind("weightstream: ", 0), 0u) << out;
  }
}

// A file truncated while mapped (what --bind mmap does to a shard): reading a
// lost page is SIGBUS; the guard turns it into Truncated, and the size check
// after a load notices the file shrank.
TEST(Robustness, MappedFileTruncatedWhileMappedIsTruncatedNotSigbus) {
  const std::string path = test::temp_dir("mmap") + "/shard.bin";
  const size_t bytes = 64 << 20;
  test::write_file(path, std::string(bytes, 'x'));
  Result<std::shared_ptr<const MappedFile>> mapped = MappedFile::map(path, /*populate=*/true);
  ASSERT_TRUE(mapped.is_ok()) << mapped.error().to_string();
  const MappedFile& file = **mapped;
  Sha256 hash;
  ASSERT_TRUE(file.read_guarded([&] { hash.update(file.data(), file.size()); }).is_ok());
  ASSERT_TRUE(file.check_unchanged().is_ok());

  ASSERT_EQ(::truncate(path.c_str(), 4096), 0);  // another process shrinks the shard mid-load
  Status changed = file.check_unchanged();
  ASSERT_FALSE(changed.is_ok());
  EXPECT_EQ(changed.error().kind, ErrorKind::Truncated);
  EXPECT_NE(changed.error().message.find("shrank from 67108864 to 4096"), std::string::npos) << changed.error().message;

  for (int round = 0; round < 2; ++round) {  // the handler stays usable
    Sha256 again;
    Status read = file.read_guarded([&] { again.update(file.data(), file.size()); });
    ASSERT_FALSE(read.is_ok());
    EXPECT_EQ(read.error().kind, ErrorKind::Truncated) << read.error().to_string();
    EXPECT_NE(read.error().message.find(path), std::string::npos);
  }
  ::unlink(path.c_str());
}

// The CLI: a shard that shrinks while `load --bind mmap --hash` runs ends in
// exit 1 and Truncated (or, when the load finished first, exit 0), never
// SIGBUS (status 135 from the shell).
TEST(Robustness, LoadBindMmapOfAShrinkingFileNeverSigbus) {
  const std::string dir = test::temp_dir("mmapcli");
  test::run_command("cp -r " + quoted(test::fixtures("safetensors/single")) + "/. " + quoted(dir) + "/");
  const std::string shard = dir + "/model.safetensors";
  ASSERT_TRUE(exists(shard));
  const std::string original = test::read_file(shard);
  for (int round = 0; round < 20; ++round) {
    test::write_file(shard, original);
    // The truncation races the load: some rounds land before, some during, some after.
    auto [status, out] = test::run_command(
        "(sleep 0.00" + std::to_string(round % 10) + "; truncate -s " + std::to_string(original.size() / 2) + " " +
        quoted(shard) + ") & " + cli() + " load " + quoted(dir) + " --bind mmap --hash >/dev/null 2>" + quoted(dir + "/err") +
        "; s=$?; wait; cat " + quoted(dir + "/err") + "; exit $s");
    EXPECT_TRUE(status == 0 || status == 1) << "round " << round << ": status " << status << " " << out;
    if (status == 1) {
      EXPECT_NE(out.find("weightstream: "), std::string::npos) << out;
    }
  }
}

// A GGUF of an architecture we do not run, with a foreign config.json and
// tokenizer.json beside it: those belong to another model and must not be
// read. The error is Unsupported and names the architecture.
TEST(Robustness, GgufOfAnUnsupportedArchitectureNeverReadsSideFiles) {
  const std::string dir = test::temp_dir("ggufarch");
  test::GgufBuilder b;
  b.add_string("general.architecture", "mamba").add_tensor("token_embd.weight", {4, 2}, 0, 0);
  test::write_file(dir + "/model.gguf", b.build(std::string(32, '\0')));
  test::write_file(dir + "/config.json", R"({"model_type": "llama", "vocab_size": 2, "hidden_size": 4,
    "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 1})");
  test::write_file(dir + "/tokenizer.json", "{}");
  auto [status, out] = test::run_command(cli() + " generate " + dir + "/model.gguf --prompt-ids 1 2>&1");
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("weightstream: Unsupported: "), std::string::npos) << out;
  EXPECT_NE(out.find("\"mamba\""), std::string::npos) << out;

  // inspect still works: a GGUF we cannot run is still a checkpoint.
  auto inspected = test::run_command(cli() + " inspect " + dir + "/model.gguf --json");
  EXPECT_EQ(inspected.first, 0) << inspected.second;
  // and convert writes no foreign side files next to its weights.
  auto converted = test::run_command(cli() + " convert " + dir + "/model.gguf " + dir + "/out 2>&1");
  EXPECT_EQ(converted.first, 0) << converted.second;
  EXPECT_FALSE(exists(dir + "/out/config.json"));
  EXPECT_FALSE(exists(dir + "/out/tokenizer.json"));
}

// GGUF names may be any bytes; safetensors headers are UTF-8 JSON. Two names
// that differ only in invalid bytes used to collide after U+FFFD repair into a
// file our own loader rejects.
TEST(Robustness, ConvertRefusesTensorNamesThatAreNotUtf8) {
  const std::string dir = test::temp_dir("convutf8");
  test::GgufBuilder b;
  b.add_string("general.architecture", "mamba")
      .add_tensor("w.\xff", {4}, 0, 0)
      .add_tensor("w.\xfe", {4}, 0, 32);
  test::write_file(dir + "/model.gguf", b.build(std::string(64, '\0')));
  auto [status, out] = test::run_command(cli() + " convert " + dir + "/model.gguf " + dir + "/out 2>&1");
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("weightstream: Unsupported: "), std::string::npos) << out;
  EXPECT_NE(out.find("not valid UTF-8"), std::string::npos) << out;
  EXPECT_FALSE(exists(dir + "/out/model.safetensors"));
  // Printing them is fine (U+FFFD): inspect --json and load --json exit 0 with valid JSON.
  for (const char* command : {" inspect ", " load "}) {
    auto printed = test::run_command(cli() + command + dir + "/model.gguf --json");
    EXPECT_EQ(printed.first, 0) << command;
    EXPECT_FALSE(nlohmann::json::parse(printed.second, nullptr, false).is_discarded()) << printed.second;
  }
}

// convert DIR DIR used to truncate the source's model.safetensors before
// reading it.
TEST(Robustness, ConvertRefusesToWriteOverItsInput) {
  const std::string dir = test::temp_dir("convself");
  test::run_command("cp -r " + quoted(test::fixtures("safetensors/single")) + "/. " + quoted(dir) + "/");
  const std::string before = test::read_file(dir + "/model.safetensors");
  for (const std::string& out_dir : {dir, dir + "/", dir + "/../" + dir.substr(dir.rfind('/') + 1)}) {
    auto [status, out] = test::run_command(cli() + " convert " + quoted(dir) + " " + quoted(out_dir) + " --dtype bf16 2>&1");
    EXPECT_EQ(status, 2) << out_dir << ": " << out;  // InvalidArgument: a usage error
    EXPECT_NE(out.find("weightstream: InvalidArgument: "), std::string::npos) << out;
    EXPECT_EQ(test::read_file(dir + "/model.safetensors"), before) << "the input changed";
  }
  // A symlinked output directory is the same directory.
  const std::string link = test::temp_dir("convlink") + "/link";
  ASSERT_EQ(::symlink(dir.c_str(), link.c_str()), 0);
  auto [status, out] = test::run_command(cli() + " convert " + quoted(dir + "/model.safetensors") + " " + quoted(link) + " 2>&1");
  EXPECT_EQ(status, 2) << out;
  EXPECT_EQ(test::read_file(dir + "/model.safetensors"), before);
}

// Written to a temporary file and renamed: a convert that fails midway (here
// the source's shard disappears once its header is read) leaves an existing
// model.safetensors whole and no temporary file behind.
TEST(Robustness, ConvertWritesAtomically) {
  const std::string out_dir = test::temp_dir("convatomic");
  test::write_file(out_dir + "/model.safetensors", "previous");
  test::RangeServer server(test::fixtures("safetensors"), {"--gone-after", "3"});
  ASSERT_GT(server.port(), 0);
  auto [status, out] = test::run_command(cli() + " convert " + server.url("single/") + " " + quoted(out_dir) + " 2>&1");
  EXPECT_EQ(status, 1) << out;
  EXPECT_EQ(test::read_file(out_dir + "/model.safetensors"), "previous");
  auto listing = test::run_command("ls -A " + quoted(out_dir));
  EXPECT_EQ(listing.second, "model.safetensors\n");

  test::RangeServer good(test::fixtures("safetensors"));
  auto ok = test::run_command(cli() + " convert " + good.url("single/") + " " + quoted(out_dir) + " 2>&1");
  ASSERT_EQ(ok.first, 0) << ok.second;
  EXPECT_NE(test::read_file(out_dir + "/model.safetensors"), "previous");
  EXPECT_EQ(test::run_command(cli() + " inspect " + quoted(out_dir) + " >/dev/null").first, 0);
  EXPECT_EQ(test::run_command("ls -A " + quoted(out_dir) + " | grep -c tmp").second, "0\n");
}

TEST(Robustness, NonFiniteNumbersAreUsageErrors) {
  for (const char* value : {"nan", "NaN", "inf", "-inf", "1e999"}) {
    auto [status, out] = test::run_command(cli() + " load " + test::fixtures("safetensors/single") +
                                           " --staging-mib " + value + " 2>&1");
    EXPECT_EQ(status, 2) << value << ": " << out;
    EXPECT_NE(out.find("InvalidArgument"), std::string::npos) << out;
  }
  auto [status, out] = test::run_command(cli() + " generate x --temperature nan 2>&1");
  EXPECT_EQ(status, 2) << out;
}

// Both model.safetensors and an index in one directory: transformers loads
// model.safetensors (modeling_utils checks it first), so do we.
TEST(Robustness, SingleFileWinsOverAnIndexBesideIt) {
  const std::string dir = test::temp_dir("both");
  test::run_command("cp -r " + quoted(test::fixtures("safetensors/sharded")) + "/. " + quoted(dir) + "/");
  test::run_command("cp " + quoted(test::fixtures("safetensors/single/model.safetensors")) + " " + quoted(dir) + "/");
  Result<std::unique_ptr<ModelSource>> source = ModelSource::open(dir);
  ASSERT_TRUE(source.is_ok()) << source.error().to_string();
  ASSERT_EQ((*source)->checkpoint().shards.size(), 1u);
  EXPECT_EQ((*source)->checkpoint().shards[0].file_name, "model.safetensors");
}

}  // namespace
}  // namespace ws
