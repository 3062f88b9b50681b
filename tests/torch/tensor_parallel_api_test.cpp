// The library's tensor parallelism (ModelOptions::tensor_parallel): two
// processes, this test and a forked child, each load their rank of a fixture
// through ws::LanguageModel and generate; both give the ids one process gives.
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "model/model_fixture.h"
#include "weightstream/weightstream.h"

namespace ws {
namespace {

// The greedy ids, and in `bound` the weight bytes this process holds.
Result<std::vector<int32_t>> greedy_ids(const ModelOptions& options, uint64_t* bound = nullptr) {
  Result<LanguageModel> model = LanguageModel::load(test::fixture_dir("llama_gqa"), options);
  if (!model) return model.error();
  if (bound) *bound = model->load_stats().bound_bytes;
  GenerationOptions generation;
  generation.max_new_tokens = 12;
  generation.temperature = 0;
  Result<Generation> out = model->generate_from_ids({1, 2, 3, 4, 5}, generation);
  if (!out) return out.error();
  return out->ids;
}

TEST(TorchTensorParallelApi, TwoRanksGiveTheSingleProcessIds) {
  ModelOptions options;
  options.tensor_parallel.world_size = 2;
  options.tensor_parallel.master_port = static_cast<uint16_t>(29600 + getpid() % 300);
  options.tensor_parallel.timeout_s = 20;
  options.threads = 1;
  // Forked first, before this process has any thread: each process then runs
  // its single-process reference and its rank.
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    options.tensor_parallel.rank = 1;
    uint64_t whole = 0, part = 0;
    Result<std::vector<int32_t>> single = greedy_ids({}, &whole);
    Result<std::vector<int32_t>> ids = greedy_ids(options, &part);
    _exit(single.is_ok() && ids.is_ok() && *ids == *single && part < whole ? 0 : 1);
  }
  uint64_t whole = 0, part = 0;
  Result<std::vector<int32_t>> single = greedy_ids({}, &whole);
  Result<std::vector<int32_t>> ids = greedy_ids(options, &part);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(single.is_ok()) << single.error().to_string();
  ASSERT_TRUE(ids.is_ok()) << ids.error().to_string();
  EXPECT_EQ(*ids, *single);
  EXPECT_EQ(single->size(), 12u);
  EXPECT_LT(part, whole);  // this rank holds its slices only
  EXPECT_GT(part, whole / 2);  // plus the replicated embeddings and norms
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "rank 1: status " << status;

  ModelOptions bad;
  bad.tensor_parallel.world_size = 2;
  bad.tensor_parallel.rank = 2;
  Result<LanguageModel> refused = LanguageModel::load(test::fixture_dir("llama_gqa"), bad);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::InvalidArgument);
}

}  // namespace
}  // namespace ws
