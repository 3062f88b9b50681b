// `weightstream convert <model> <out.gguf>`: the file reads back through
// gguf-py (tests/native/check_gguf_output.py: metadata, tokenizer arrays and
// tensor values against the source, read by independent packages), through
// our own loader (the same greedy ids as the source), and, where
// .ci/setup.d/60-node-llama-cpp.sh installed it, through llama.cpp itself.
#include <gtest/gtest.h>

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "load/load.h"
#include "native/test_support.h"
#include "require.h"

namespace ws {
namespace {

using json = nlohmann::json;
using test::read_file;

const std::string kModels = std::string(WS_FIXTURES_DIR) + "/models";
const std::string kOut = std::string(WS_FIXTURES_DIR) + "/convert-out";

struct Outcome {
  int status = -1;  // exit status
  std::string out;  // stdout
};

// Runs `command` (stderr discarded unless the command redirects it itself).
Outcome run_command(const std::string& command) {
  Outcome r;
  const bool keeps_stderr = command.find("2>&1") != std::string::npos;
  FILE* pipe = ::popen((keeps_stderr ? command : command + " 2>/dev/null").c_str(), "r");
  if (!pipe) return r;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) r.out.append(buffer, n);
  const int status = ::pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string quote(const std::string& s) { return "'" + s + "'"; }

// Runs `command` (exec'd by sh, so the measured process is the command) and
// returns its peak RSS in bytes, or -1 when it did not exit with status 0.
long long peak_rss_bytes(const std::string& command) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", ("exec " + command + " >/dev/null 2>&1").c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  struct rusage usage {};
  if (pid < 0 || ::wait4(pid, &status, 0, &usage) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return -1;
  return static_cast<long long>(usage.ru_maxrss) * 1024;  // Linux: KiB
}

int convert(const std::string& model, const std::string& out, const std::string& dtype) {
  return run_command(std::string(WS_CLI) + " convert " + quote(model) + " " + quote(out) + " --dtype " + dtype).status;
}

// gguf-py's verdict on `out` (see check_gguf_output.py); prints its failures.
void expect_gguf_py_accepts(const std::string& source, const std::string& out, const std::string& dtype) {
  const Outcome r = run_command(std::string(WS_PYTHON) + " " + WS_SOURCE_DIR + "/tests/native/check_gguf_output.py " +
                    quote(source) + " " + quote(out) + " " + dtype);
  EXPECT_EQ(r.status, 0) << source << " -> " << out << " (" << dtype << "):\n" << r.out;
}

// `weightstream generate ... --json`: the parsed report (null on failure).
json ws_generate(const std::string& model, const std::string& prompt_args, const std::string& extra = "") {
  const Outcome r = run_command(std::string(WS_CLI) + " generate " + quote(model) + " " + prompt_args +
                    " --max-new-tokens 12 --json " + extra);
  if (r.status != 0) return nullptr;
  return json::parse(r.out, nullptr, false);
}

std::string prompt_ids_arg(const std::vector<int>& ids) {
  std::string s;
  for (int id : ids) s += (s.empty() ? "" : ",") + std::to_string(id);
  return "--prompt-ids " + s;
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

class ConvertGguf : public ::testing::Test {
 protected:
  void SetUp() override { ::mkdir(kOut.c_str(), 0755); }
};

// Every architecture and dtype: gguf-py reads back what the source holds, and
// our loader generates from the file what it generates from the source held
// in the same dtype (f16/bf16 round the same way in both).
TEST_F(ConvertGguf, FixturesReadBackThroughGgufPyAndOurLoader) {
  struct Case {
    const char* model;
    const char* dtype;
  };
  const Case cases[] = {
      {"llama_gqa", "keep"}, {"llama_gqa", "f16"},  {"llama_bf16", "keep"}, {"llama_f16", "keep"},
      {"llama_f16", "f32"},  {"qwen2", "keep"},     {"qwen2", "bf16"},      {"llama_sharded", "keep"},
      {"mistral", "keep"},   {"gpt2", "keep"},      {"gpt2", "f16"},        {"gpt2_no_prefix", "keep"},
      {"gpt2_f16", "bf16"},  {"qwen3", "keep"},  // qwen3: transformers 5.23's fixture (q/k norms)
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.model) + " --dtype " + c.dtype);
    const std::string source = kModels + "/" + c.model, out = kOut + "/" + c.model + "-" + c.dtype + ".gguf";
    ASSERT_EQ(convert(source, out, c.dtype), 0);
    expect_gguf_py_accepts(source, out, c.dtype);
    // Our GGUF reader knows the llama family only (GPT-2's transposed
    // Conv1D weights would need a transposing load); gguf-py and llama.cpp check GPT-2.
    if (std::string(c.model).rfind("gpt2", 0) == 0) continue;
    const json reference = json::parse(read_file(source + "/reference.json"));
    const std::string prompt = prompt_ids_arg(reference["prompt"].get<std::vector<int>>());
    const json from_source = ws_generate(source, prompt, std::string("--dtype ") + c.dtype);
    const json from_gguf = ws_generate(out, prompt);
    ASSERT_FALSE(from_source.is_null() || from_gguf.is_null());
    EXPECT_EQ(from_gguf["ids"], from_source["ids"]);
  }
}

// A SentencePiece-style tokenizer ("llama": scores, byte tokens) survives the
// trip: our reader of the GGUF tokenizes a text as transformers' tokenizer
// does, and greedy generation matches transformers.
TEST_F(ConvertGguf, SentencePieceTokenizerSurvives) {
  const std::string source = std::string(WS_FIXTURES_DIR) + "/convert/llama_spm", out = kOut + "/llama_spm.gguf";
  ASSERT_EQ(convert(source, out, "keep"), 0);
  expect_gguf_py_accepts(source, out, "keep");
  const json reference = json::parse(read_file(source + "/reference.json"));
  const json report = ws_generate(out, "--prompt " + quote(reference["text"].get<std::string>()));
  ASSERT_FALSE(report.is_null());
  EXPECT_EQ(report["prompt_ids"], reference["text_ids"]);
  // Generation stops at </s> (id 2), which the reference ran past.
  std::vector<int> want = reference["text_greedy"].get<std::vector<int>>();
  const std::vector<int> got = report["ids"].get<std::vector<int>>();
  ASSERT_LE(got.size(), want.size());
  want.resize(got.size());
  EXPECT_EQ(got, want);
}

// A GGUF source: --dtype keep writes its blocks byte for byte (gguf-py
// compares the two files' tensors and metadata), re-encoding works too.
TEST_F(ConvertGguf, GgufSourceKeepsItsBlocks) {
  const std::string source = std::string(WS_FIXTURES_DIR) + "/gguf/tiny-llama.gguf";
  for (const char* dtype : {"keep", "f16"}) {
    SCOPED_TRACE(dtype);
    const std::string out = kOut + "/tiny-llama-" + dtype + ".gguf";
    ASSERT_EQ(convert(source, out, dtype), 0);
    expect_gguf_py_accepts(source, out, dtype);
  }
  const json a = ws_generate(source, "--prompt-ids 1,2,3,4"), b = ws_generate(kOut + "/tiny-llama-keep.gguf", "--prompt-ids 1,2,3,4");
  ASSERT_FALSE(a.is_null() || b.is_null());
  EXPECT_EQ(a["ids"], b["ids"]);
}

// The real model: its Q4_1 GGUF -> a bf16 Hugging Face directory -> an f16
// GGUF, and the Q4_1 blocks kept as they are: the same greedy ids throughout.
TEST_F(ConvertGguf, SmolLM2ThroughAHuggingFaceDirectory) {
  const std::string gguf = WS_SMOLLM2_GGUF;
  if (!exists(gguf)) {
    WS_SKIP_UNLESS_REQUIRED("WS_REQUIRE_ALL", "no " + gguf + " (.ci/setup.d/30-smollm2.sh)");
  }
  const std::string dir = kOut + "/smollm2-bf16", f16 = kOut + "/smollm2-f16.gguf", kept = kOut + "/smollm2-keep.gguf";
  std::system(("rm -rf " + quote(dir)).c_str());
  ASSERT_EQ(convert(gguf, dir, "bf16"), 0);
  // Bounded memory: one 4 MiB batch, or the one tensor that is larger (the
  // 49152 x 576 embedding, 56.6 MB in f16), never the 270 MB of weights.
  // Measured 96 MB (2026-11-29); 48 MiB of headroom for the process itself
  // and the tokenizer's metadata.
  const long long peak = peak_rss_bytes(std::string(WS_CLI) + " convert " + quote(dir) + " " + quote(f16) +
                                        " --dtype f16 --batch-mib 4");
  ASSERT_GT(peak, 0);
  const long long embedding = 49152LL * 576 * 2;
  EXPECT_LT(peak, embedding + (4LL << 20) + (48LL << 20)) << "peak RSS " << peak;
  ASSERT_EQ(convert(gguf, kept, "keep"), 0);
  expect_gguf_py_accepts(dir, f16, "f16");
  expect_gguf_py_accepts(gguf, kept, "keep");
  const std::string prompt = "--prompt-ids 1,504,3458,282,4649,314";
  const json want = ws_generate(gguf, prompt);
  ASSERT_FALSE(want.is_null());
  for (const std::string& model : {dir, f16, kept}) {
    const json got = ws_generate(model, prompt);
    ASSERT_FALSE(got.is_null()) << model;
    EXPECT_EQ(got["ids"], want["ids"]) << model;
  }
  // Quantized from the bf16 directory (q4_k: 30 Q4_K matrices, the rows of
  // 576 fall back to Q5_0, the tied head to Q8_0): gguf-py reads the blocks
  // back, and the file generates what quantize-on-load of the directory does.
  for (const char* dtype : {"q4_0", "q4_k"}) {
    SCOPED_TRACE(dtype);
    const std::string out = kOut + "/smollm2-" + dtype + ".gguf";
    ASSERT_EQ(convert(dir, out, dtype), 0);
    expect_gguf_py_accepts(dir, out, dtype);
    const json from_dir = ws_generate(dir, prompt, std::string("--dtype ") + dtype);
    const json from_gguf = ws_generate(out, prompt);
    ASSERT_FALSE(from_dir.is_null() || from_gguf.is_null());
    EXPECT_EQ(from_gguf["ids"], from_dir["ids"]);
    std::system(("rm -f " + quote(out)).c_str());
  }
  std::system(("rm -rf " + quote(dir) + " " + quote(f16) + " " + quote(kept)).c_str());
}

// From a URL (HTTP Range requests through the range server) the file is byte
// for byte the one written from the directory: sharded, with a tokenizer.
TEST_F(ConvertGguf, FromAUrlAsFromTheDirectory) {
  test::RangeServer server(kModels);
  ASSERT_NE(server.port(), 0);
  for (const char* model : {"llama_sharded", "gpt2"}) {
    SCOPED_TRACE(model);
    const std::string local = kOut + "/" + model + "-local.gguf", remote = kOut + "/" + model + "-http.gguf";
    ASSERT_EQ(convert(kModels + "/" + model, local, "f16"), 0);
    ASSERT_EQ(convert(server.url(model), remote, "f16"), 0);
    const std::string bytes = read_file(local);
    EXPECT_GT(bytes.size(), 100000u);
    EXPECT_TRUE(read_file(remote) == bytes);
  }
}

TEST_F(ConvertGguf, RefusesToWriteOverItsInput) {
  const std::string copy = kOut + "/self.gguf";
  test::write_file(copy, read_file(std::string(WS_FIXTURES_DIR) + "/gguf/tiny-llama.gguf"));
  const std::string before = read_file(copy);
  EXPECT_EQ(convert(copy, copy, "f32"), 1);  // found at run time (the command line was fine)
  EXPECT_EQ(read_file(copy), before);
}

// A block dtype: a .gguf output only; gguf-py reads the blocks back (the
// Q8_0 / Q4_0 / Q5_1 blocks are compared with gguf-py's own quantizer), and
// our loader generates from the file what it generates when it quantizes the
// source itself.
TEST_F(ConvertGguf, BlockDtypes) {
  const std::string source = kModels + "/llama_gqa";
  EXPECT_EQ(convert(source, kOut + "/not-a-gguf-dir", "q8_0"), 2);
  EXPECT_FALSE(exists(kOut + "/not-a-gguf-dir"));
  const json reference = json::parse(read_file(source + "/reference.json"));
  const std::string prompt = prompt_ids_arg(reference["prompt"].get<std::vector<int>>());
  // hidden 64: Q4_K rows fall back to Q5_0 (llama.cpp's rule).
  for (const char* dtype : {"q8_0", "q4_0", "q5_1", "q4_k"}) {
    SCOPED_TRACE(dtype);
    const std::string out = kOut + "/llama_gqa-" + dtype + ".gguf";
    ASSERT_EQ(convert(source, out, dtype), 0);
    expect_gguf_py_accepts(source, out, dtype);
    const json from_source = ws_generate(source, prompt, std::string("--dtype ") + dtype);
    const json from_gguf = ws_generate(out, prompt);
    ASSERT_FALSE(from_source.is_null() || from_gguf.is_null());
    EXPECT_EQ(from_gguf["ids"], from_source["ids"]);
  }
}

// What cannot be written faithfully (llama3 rope scaling, which llama.cpp
// takes as a tensor) is refused by name; the earlier file stays as it was and
// no temporary file is left behind.
TEST_F(ConvertGguf, RefusesWhatItCannotWriteFaithfully) {
  const std::string out = kOut + "/llama3.gguf";
  test::write_file(out, "earlier");
  const Outcome r = run_command(std::string(WS_CLI) + " convert " + quote(kModels + "/llama3_rope") + " " + quote(out) +
                                " 2>&1");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("rope_scaling"), std::string::npos) << r.out;
  EXPECT_EQ(read_file(out), "earlier");
  EXPECT_EQ(run_command("ls " + quote(kOut) + " | grep -c llama3.gguf.tmp-").out, "0\n");
}

// A Gemma GGUF stores its norms as 1 + w: written out as they are, a
// Hugging Face directory would make transformers add the 1 twice. Refused
// before anything is created.
TEST_F(ConvertGguf, RefusesAGemmaGgufAsAHuggingFaceDirectory) {
  const std::string out = kOut + "/gemma3_hf";
  const Outcome r = run_command(std::string(WS_CLI) + " convert " + quote(kModels + "/gemma3_gguf/model.gguf") + " " +
                                quote(out) + " 2>&1");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("Unsupported"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1 + w"), std::string::npos) << r.out;
  EXPECT_FALSE(exists(out)) << "convert created " << out;
}

// llama.cpp (npm node-llama-cpp's prebuilt CPU build) loads our files and
// generates what transformers (the fixtures) and our CLI (SmolLM2) generate.
TEST_F(ConvertGguf, LlamaCppAgrees) {
  const std::string package = WS_NODE_LLAMA_CPP;
  if (!exists(package + "/node_modules/node-llama-cpp/package.json")) {
    WS_SKIP_UNLESS_REQUIRED("WS_REQUIRE_ALL",
                            "node-llama-cpp is not installed in " + package + " (.ci/setup.d/60-node-llama-cpp.sh)");
  }
  auto llama_cpp = [&](const std::string& model, const std::string& args) {
    const Outcome r = run_command("node " + std::string(WS_SOURCE_DIR) + "/tests/native/llama_cpp_generate.mjs " + quote(package) +
                      " " + quote(model) + " " + args);
    EXPECT_EQ(r.status, 0) << model;
    return json::parse(r.out, nullptr, false);
  };
  // GPT-2 (transposed Conv1D weights, byte-level BPE): greedy ids as transformers.
  {
    const std::string out = kOut + "/gpt2-llama-cpp.gguf";
    ASSERT_EQ(convert(kModels + "/gpt2", out, "keep"), 0);
    const json reference = json::parse(read_file(kModels + "/gpt2/reference.json"));
    std::string ids;
    for (int id : reference["text_prompt_ids"]) ids += (ids.empty() ? "" : ",") + std::to_string(id);
    const json got = llama_cpp(out, "--ids " + ids + " --text " + quote(reference["text_prompt"]) + " --n 16");
    EXPECT_EQ(got["text_ids"], reference["text_prompt_ids"]);
    std::vector<int> want = reference["text_greedy"].get<std::vector<int>>();
    want.resize(16);
    EXPECT_EQ(got["ids"].get<std::vector<int>>(), want);
  }
  // SentencePiece-style llama: tokenization and greedy ids (until </s>) as transformers.
  {
    const std::string source = std::string(WS_FIXTURES_DIR) + "/convert/llama_spm", out = kOut + "/spm-llama-cpp.gguf";
    ASSERT_EQ(convert(source, out, "f16"), 0);
    const json reference = json::parse(read_file(source + "/reference.json"));
    const json got = llama_cpp(out, "--text " + quote(reference["text"]) + " --n 16");
    std::vector<int> text_ids = reference["text_ids"].get<std::vector<int>>();
    text_ids.erase(text_ids.begin());  // <s>, which llama.cpp adds when it evaluates
    EXPECT_EQ(got["text_ids"].get<std::vector<int>>(), text_ids);
    const json ours = ws_generate(out, "--prompt " + quote(reference["text"]), "--max-new-tokens 16");
    ASSERT_FALSE(ours.is_null());
    EXPECT_EQ(got["ids"], ours["ids"]);
  }
  // SmolLM2 converted to f16 through a Hugging Face directory: llama.cpp and our CLI agree.
  const std::string gguf = WS_SMOLLM2_GGUF;
  if (!exists(gguf)) {
    WS_SKIP_UNLESS_REQUIRED("WS_REQUIRE_ALL", "no " + gguf + " (.ci/setup.d/30-smollm2.sh) for the SmolLM2 part");
  }
  {
    const std::string dir = kOut + "/smollm2-llama-cpp", f16 = kOut + "/smollm2-llama-cpp.gguf";
    std::system(("rm -rf " + quote(dir)).c_str());
    ASSERT_EQ(convert(gguf, dir, "bf16"), 0);
    ASSERT_EQ(convert(dir, f16, "f16"), 0);
    const std::string ids = "1,504,3458,282,4649,314";
    const json got = llama_cpp(f16, "--ids " + ids + " --n 12");
    const json ours = ws_generate(f16, "--prompt-ids " + ids);
    ASSERT_FALSE(ours.is_null());
    EXPECT_EQ(got["ids"], ours["ids"]);
    // Q4_0 blocks written by us, run by llama.cpp's kernels and by ours.
    const std::string q4 = kOut + "/smollm2-llama-cpp-q4_0.gguf";
    ASSERT_EQ(convert(dir, q4, "q4_0"), 0);
    const json got_q4 = llama_cpp(q4, "--ids " + ids + " --n 12");
    const json ours_q4 = ws_generate(q4, "--prompt-ids " + ids);
    ASSERT_FALSE(ours_q4.is_null());
    EXPECT_EQ(got_q4["ids"], ours_q4["ids"]);
    std::system(("rm -rf " + quote(dir) + " " + quote(f16) + " " + quote(q4)).c_str());
  }
}

}  // namespace
}  // namespace ws
