// ModelOpener (src/open/opener.cpp) answered from files held in memory: the
// requests a directory, an index with shards, a single file and a GGUF header
// produce, what a missing file means at each step, and hostile answers.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "format/gguf_builder.h"
#include "format/header_builder.h"
#include "open/open.h"

namespace ws {
namespace {

using Files = std::map<std::string, std::string>;

struct Answered {
  Status status = Status::ok();
  std::vector<ByteRequest> asked;  // every request, in the order answered
};

// Answers every request from `files` (absent when not there); `last_first`
// answers the newest request first, to show the order does not matter.
Answered answer_all(ModelOpener& opener, const Files& files, bool last_first = false) {
  Answered out;
  while (!opener.wanted().empty()) {
    const ByteRequest r = last_first ? opener.wanted().back() : opener.wanted().front();
    out.asked.push_back(r);
    auto it = files.find(r.file);
    if (it == files.end()) {
      out.status = opener.absent(r.file, "mem/" + r.file + ": no such file");
    } else {
      const std::string& bytes = it->second;
      const uint64_t size = bytes.size();
      uint64_t n = size > r.begin ? std::min<uint64_t>(r.end, size) - r.begin : 0;
      if (r.whole && size > r.end) n = 0;
      out.status = opener.answer(r.file, reinterpret_cast<const uint8_t*>(bytes.data()) + std::min<uint64_t>(r.begin, size),
                                 n, size, "mem/" + r.file);
    }
    if (!out.status) return out;
  }
  return out;
}

std::string shard(const std::string& tensor, uint64_t floats) {
  return test::safetensors_file("{" + test::entry(tensor, "F32", "[" + std::to_string(floats) + "]", 0, floats * 4) + "}",
                                floats * 4, 7);
}

bool asked_for(const Answered& a, const std::string& file) {
  for (const ByteRequest& r : a.asked) {
    if (r.file == file) return true;
  }
  return false;
}

TEST(ModelOpener, DirectoryWithOneFileAndSideFiles) {
  const Files files = {{"model.safetensors", shard("w", 4)}, {"config.json", "{\"a\":1}"}, {"tokenizer.json", "{}"}};
  for (bool last_first : {false, true}) {
    ModelOpener opener("mem", "");
    const Answered a = answer_all(opener, files, last_first);
    ASSERT_TRUE(a.status.is_ok()) << a.status.error().message;
    ASSERT_TRUE(opener.done());
    Result<OpenedModel> opened = opener.take();
    ASSERT_TRUE(opened.is_ok());
    ASSERT_EQ(opened->checkpoint.shards.size(), 1u);
    EXPECT_EQ(opened->checkpoint.shards[0].file_name, "model.safetensors");
    ASSERT_EQ(opened->checkpoint.tensors.size(), 1u);
    EXPECT_EQ(opened->checkpoint.tensors[0].name, "w");
    EXPECT_EQ(opened->files.at("config.json"), "{\"a\":1}");
    EXPECT_EQ(opened->files.at("tokenizer.json"), "{}");
    EXPECT_EQ(opened->files.count("generation_config.json"), 0u);
    EXPECT_FALSE(opened->gguf);
    // One request for the header (it fits the first prefix), none for an index.
    EXPECT_FALSE(asked_for(a, "model.safetensors.index.json"));
  }
}

TEST(ModelOpener, HeadersOnlyAskForNoSideFile) {
  OpenOptions options;
  options.side_files = false;
  ModelOpener opener("mem", "", options);
  const Answered a = answer_all(opener, {{"model.safetensors", shard("w", 4)}, {"config.json", "{}"}});
  ASSERT_TRUE(a.status.is_ok());
  EXPECT_EQ(a.asked.size(), 1u);
  EXPECT_TRUE(opener.take()->files.empty());
}

TEST(ModelOpener, HeaderLongerThanTheFirstPrefixIsReadInTwoSteps) {
  OpenOptions options;
  options.first_safetensors_prefix_bytes = 4;  // less than the length field
  ModelOpener opener("mem", "big.safetensors", options);
  const Answered a = answer_all(opener, {{"big.safetensors", shard("w", 4)}});
  ASSERT_TRUE(a.status.is_ok()) << a.status.error().message;
  // [0, 4), [4, 8), [8, 8 + header)
  ASSERT_EQ(a.asked.size(), 9u);  // 6 side files + 3 header reads
  EXPECT_EQ(opener.take()->checkpoint.tensors.size(), 1u);
}

TEST(ModelOpener, IndexAndShardsWhenThereIsNoSingleFile) {
  const std::string index = R"({"metadata": {"total_size": 24}, "weight_map": {"a": "s1.safetensors", "b": "s2.safetensors"}})";
  const Files files = {{"model.safetensors.index.json", index}, {"s1.safetensors", shard("a", 2)},
                       {"s2.safetensors", shard("b", 4)}};
  ModelOpener opener("mem", "");
  const Answered a = answer_all(opener, files);
  ASSERT_TRUE(a.status.is_ok()) << a.status.error().message;
  Result<OpenedModel> opened = opener.take();
  ASSERT_TRUE(opened.is_ok());
  ASSERT_EQ(opened->checkpoint.shards.size(), 2u);
  EXPECT_EQ(opened->checkpoint.shards[1].file_name, "s2.safetensors");
  EXPECT_EQ(opened->checkpoint.tensors[1].shard, 1u);
  EXPECT_EQ(opened->checkpoint.index_metadata.at("total_size"), "24");
  EXPECT_TRUE(asked_for(a, "model.safetensors"));  // looked for first, as transformers does
}

TEST(ModelOpener, ShardNamedByTheIndexMissingIsInvalidIndex) {
  const std::string index = R"({"weight_map": {"a": "s1.safetensors"}})";
  ModelOpener opener("mem", "");
  const Answered a = answer_all(opener, {{"model.safetensors.index.json", index}});
  ASSERT_FALSE(a.status.is_ok());
  EXPECT_EQ(a.status.error().kind, ErrorKind::InvalidIndex);
  EXPECT_NE(a.status.error().message.find("mem/s1.safetensors: no such file (shard named by"), std::string::npos);
  EXPECT_TRUE(opener.wanted().empty());
  EXPECT_FALSE(opener.take().is_ok());
}

TEST(ModelOpener, NoWeightsIsNotFoundNamingTheLocation) {
  ModelOpener opener("some/dir", "");
  const Answered a = answer_all(opener, {{"config.json", "{}"}});
  ASSERT_FALSE(a.status.is_ok());
  EXPECT_EQ(a.status.error().kind, ErrorKind::NotFound);
  EXPECT_EQ(a.status.error().message, "some/dir: no model.safetensors or model.safetensors.index.json found");
}

TEST(ModelOpener, NamedWeightsFileMissingIsNotFound) {
  ModelOpener opener("mem/x.safetensors", "x.safetensors");
  const Answered a = answer_all(opener, {});
  ASSERT_FALSE(a.status.is_ok());
  EXPECT_EQ(a.status.error().kind, ErrorKind::NotFound);
}

TEST(ModelOpener, FileShorterThanTheLengthFieldIsTruncated) {
  ModelOpener opener("mem", "t.safetensors");
  const Answered a = answer_all(opener, {{"t.safetensors", "abc"}});
  ASSERT_FALSE(a.status.is_ok());
  EXPECT_EQ(a.status.error().kind, ErrorKind::Truncated);
}

TEST(ModelOpener, SideFileOverTheCapIsOutOfBudget) {
  ModelOpener opener("mem", "");
  const Files files = {{"model.safetensors", shard("w", 1)}, {"tokenizer.json", std::string(kSideFileMaxBytes + 1, ' ')}};
  const Answered a = answer_all(opener, files);
  ASSERT_FALSE(a.status.is_ok());
  EXPECT_EQ(a.status.error().kind, ErrorKind::OutOfBudget);
  EXPECT_NE(a.status.error().message.find("mem/tokenizer.json"), std::string::npos);
}

TEST(ModelOpener, HostileAnswersAreRefused) {
  {
    ModelOpener opener("mem", "");
    const uint8_t byte = 0;
    Status s = opener.answer("other.bin", &byte, 1, 1, "mem/other.bin");
    EXPECT_EQ(s.error().kind, ErrorKind::InvalidArgument);
    EXPECT_FALSE(opener.wanted().empty()) << "an answer to nothing asked changes nothing";
    EXPECT_EQ(opener.take().error().kind, ErrorKind::InvalidArgument) << "not done yet";
    EXPECT_EQ(opener.absent("other.bin", "gone").error().kind, ErrorKind::InvalidArgument);
  }
  {
    ModelOpener opener("mem", "m.safetensors");
    const std::string bytes = shard("w", 4);
    // Fewer bytes than the file has in the range asked.
    Status s = opener.answer("m.safetensors", reinterpret_cast<const uint8_t*>(bytes.data()), 3, bytes.size(), "mem/m");
    EXPECT_EQ(s.error().kind, ErrorKind::InvalidArgument);
    EXPECT_TRUE(opener.wanted().empty()) << "a failed opener asks for nothing more";
  }
  {
    OpenOptions options;
    options.first_safetensors_prefix_bytes = 8;
    options.side_files = false;
    ModelOpener opener("mem", "m.safetensors", options);
    const std::string bytes = shard("w", 4);
    ASSERT_TRUE(opener.answer("m.safetensors", reinterpret_cast<const uint8_t*>(bytes.data()), 8, bytes.size(), "mem/m"));
    // The file "grew" between two reads of its header.
    const ByteRequest next = opener.wanted().front();
    Status s = opener.answer("m.safetensors", reinterpret_cast<const uint8_t*>(bytes.data()) + 8, next.end - 8,
                             bytes.size() + 10, "mem/m");
    EXPECT_EQ(s.error().kind, ErrorKind::Truncated);
  }
}

// A GGUF header grows from a small first prefix; files beside it are not asked for.
TEST(ModelOpener, GgufHeaderGrowsUntilItParses) {
  test::GgufBuilder b;
  b.add_string("general.architecture", "llama").add_u32("llama.attention.head_count", 2);
  b.add_strings("tokenizer.ggml.tokens", std::vector<std::string>(200, "token"));
  b.add_tensor("output_norm.weight", {2, 4}, 0, 0);
  const std::string file = b.build(std::string(32, '\x01'));
  OpenOptions options;
  options.first_gguf_prefix_bytes = 16;
  ModelOpener opener("mem/m.gguf", "m.gguf", options);
  const Answered a = answer_all(opener, {{"m.gguf", file}, {"config.json", "{}"}});
  ASSERT_TRUE(a.status.is_ok()) << a.status.error().message;
  EXPECT_GT(a.asked.size(), 2u);
  for (const ByteRequest& r : a.asked) EXPECT_EQ(r.file, "m.gguf");
  Result<OpenedModel> opened = opener.take();
  ASSERT_TRUE(opened.is_ok());
  EXPECT_TRUE(opened->gguf);
  ASSERT_EQ(opened->checkpoint.tensors.size(), 1u);
  EXPECT_EQ(opened->checkpoint.tensors[0].name, "model.norm.weight");
  EXPECT_EQ(opened->checkpoint.shards[0].file_name, "m.gguf");
  // The metadata is too thin for a config: the reason is kept, not an error of the open.
  EXPECT_EQ(opened->files.count("config.json") + opened->file_errors.count("config.json"), 1u);
}

TEST(ModelOpener, GgufFileShorterThanItsHeaderIsTruncated) {
  test::GgufBuilder b;
  b.add_string("general.architecture", "llama");
  b.add_tensor("output_norm.weight", {2, 4}, 0, 0);
  const std::string file = b.header().substr(0, 30);
  ModelOpener opener("mem/m.gguf", "m.gguf");
  const Answered a = answer_all(opener, {{"m.gguf", file}});
  ASSERT_FALSE(a.status.is_ok());
  EXPECT_EQ(a.status.error().kind, ErrorKind::Truncated);
}

}  // namespace
}  // namespace ws
