// Tensor parallelism inside one process: each rank is a thread with its own
// portable backend and its own part of the model, joined by an in-memory
// Collective; every rank must match transformers (the fixture's reference)
// exactly as the whole model does. The c10d/Gloo group across processes is
// checked by tests/torch/check_tp_generate.py.
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "api/load_model.h"
#include "model/model_fixture.h"
#include "model/parity_check.h"
#include "model/tensor_parallel.h"

namespace ws {
namespace {

// Ranks as threads: every collective is "publish, wait for all, read, wait for all".
class ThreadGroup {
 public:
  explicit ThreadGroup(size_t world) : slots_(world), world_(world) {}
  size_t world() const { return world_; }

  void wait_all() {
    std::unique_lock<std::mutex> lock(mutex_);
    const size_t generation = generation_;
    if (++arrived_ == world_) {
      arrived_ = 0;
      ++generation_;
      changed_.notify_all();
    } else {
      changed_.wait(lock, [&] { return generation_ != generation; });
    }
  }
  std::vector<std::vector<float>> slots_;
  std::vector<uint64_t> gathered_;
  int32_t broadcast_ = 0;

 private:
  size_t world_;
  std::mutex mutex_;
  std::condition_variable changed_;
  size_t arrived_ = 0, generation_ = 0;
};

class ThreadRank final : public Collective {
 public:
  ThreadRank(ThreadGroup& group, size_t rank) : group_(group), rank_(rank) {}
  size_t rank() const override { return rank_; }
  size_t world_size() const override { return group_.world(); }
  Status all_reduce_sum(float* x, size_t n) override {
    group_.slots_[rank_].assign(x, x + n);
    group_.wait_all();
    for (size_t i = 0; i < n; ++i) {
      float sum = 0;  // rank order on every rank: identical sums
      for (size_t r = 0; r < group_.world(); ++r) sum += group_.slots_[r][i];
      x[i] = sum;
    }
    group_.wait_all();
    return Status::ok();
  }
  Status broadcast(int32_t* x, size_t n) override {
    if (rank_ == 0) group_.broadcast_ = *x;
    group_.wait_all();
    *x = group_.broadcast_;
    group_.wait_all();
    return Status::ok();
  }
  Result<std::vector<uint64_t>> all_gather(const std::vector<uint64_t>& values) override {
    if (rank_ == 0) group_.gathered_.assign(values.size() * group_.world(), 0);
    group_.wait_all();
    std::copy(values.begin(), values.end(), group_.gathered_.begin() + rank_ * values.size());
    group_.wait_all();
    std::vector<uint64_t> out = group_.gathered_;
    group_.wait_all();
    return out;
  }

 private:
  ThreadGroup& group_;
  size_t rank_;
};

Result<BoundModel> load_rank(const std::string& name, Backend& backend, Collective& rank,
                             std::unique_ptr<ModelSource>& source) {
  WS_ASSIGN_OR_RETURN(source, ModelSource::open(test::fixture_dir(name)));
  WS_ASSIGN_OR_RETURN(std::string config_text, source->read_text("config.json"));
  WS_ASSIGN_OR_RETURN(ModelConfig config, parse_model_config(config_text));
  LoadOptions options;
  options.group = &rank;
  return load_model(*source, config, backend, WeightDType::Keep, {}, options);
}

TEST(TensorParallelShard, SplitsWholeKvGroupsAsEvenlyAsTheyGo) {
  // SmolLM2-135M: 9 query heads in 3 KV groups of 64, 1536 MLP units.
  Result<ParallelShard> first = make_parallel_shard(9, 3, 64, 1536, 0, 2);
  Result<ParallelShard> second = make_parallel_shard(9, 3, 64, 1536, 1, 2);
  ASSERT_TRUE(first.is_ok() && second.is_ok());
  EXPECT_EQ(first->kv_heads(), 2u);
  EXPECT_EQ(first->heads(), 6u);
  EXPECT_EQ(second->kv_heads(), 1u);
  EXPECT_EQ(second->heads(), 3u);
  EXPECT_EQ(first->inner(), 768u);
  auto slice = [](const ParallelShard& s, const char* name, std::vector<uint64_t> shape) {
    std::optional<TensorSlice> t = s.slice(name, shape);
    return t ? std::vector<uint64_t>{t->dim, t->begin, t->end} : std::vector<uint64_t>{};
  };
  EXPECT_EQ(slice(*second, "model.layers.0.self_attn.q_proj.weight", {576, 576}), (std::vector<uint64_t>{0, 384, 576}));
  EXPECT_EQ(slice(*second, "model.layers.0.self_attn.k_proj.weight", {192, 576}), (std::vector<uint64_t>{0, 128, 192}));
  EXPECT_EQ(slice(*second, "model.layers.0.self_attn.o_proj.weight", {576, 576}), (std::vector<uint64_t>{1, 384, 576}));
  EXPECT_EQ(slice(*second, "model.layers.0.mlp.down_proj.weight", {576, 1536}), (std::vector<uint64_t>{1, 768, 1536}));
  EXPECT_EQ(slice(*first, "model.layers.0.mlp.up_proj.bias", {1536}), (std::vector<uint64_t>{0, 0, 768}));
  EXPECT_TRUE(slice(*first, "model.layers.0.self_attn.o_proj.bias", {576}).empty());  // added once, on rank 0
  EXPECT_TRUE(slice(*first, "model.embed_tokens.weight", {49152, 576}).empty());
}

TEST(TensorParallelShard, RefusesRanksWithoutAHead) {
  Result<ParallelShard> one_kv_head = make_parallel_shard(4, 1, 16, 96, 0, 2);
  ASSERT_FALSE(one_kv_head.is_ok());
  EXPECT_EQ(one_kv_head.error().kind, ErrorKind::InvalidArgument);
  EXPECT_NE(one_kv_head.error().message.find("1 key/value heads"), std::string::npos);
  EXPECT_FALSE(make_parallel_shard(4, 2, 16, 96, 2, 2).is_ok());  // rank outside the group
  EXPECT_FALSE(make_parallel_shard(5, 2, 16, 96, 0, 2).is_ok());  // heads not whole groups
}

// Two ranks on fixtures of each layout (one file, shards, bf16 with a tied
// head, sliding windows, f16 without GQA): every rank's logits and greedy ids
// are transformers'.
TEST(TensorParallelForward, EveryRankMatchesTransformers) {
  for (const char* name : {"llama_gqa", "llama_sharded", "llama_bf16", "mistral", "llama_f16"}) {
    SCOPED_TRACE(name);
    const test::Reference ref = test::read_reference(name);
    ASSERT_FALSE(ref.logits.empty());
    const size_t world = 2;
    ThreadGroup group(world);
    std::vector<std::thread> threads;
    std::vector<uint64_t> bound(world);
    for (size_t r = 0; r < world; ++r) {
      threads.emplace_back([&, r] {
        ThreadRank rank(group, r);
        BackendOptions options;
        options.threads = 1;
        Result<std::unique_ptr<Backend>> backend = make_portable_backend(options);
        ASSERT_TRUE(backend.is_ok());
        std::unique_ptr<ModelSource> source;
        Result<BoundModel> loaded = load_rank(name, **backend, rank, source);
        ASSERT_TRUE(loaded.is_ok()) << loaded.error().to_string();
        bound[r] = loaded->bound_bytes;
        test::expect_transformers_parity(*loaded->model, ref, std::string(name) == "llama_f16" ? 1e-3f : 1e-4f);
      });
    }
    for (std::thread& t : threads) t.join();
    // The fixtures' matrices split evenly: both ranks bind the same bytes,
    // less than the whole model.
    EXPECT_EQ(bound[0], bound[1]);
  }
}

}  // namespace
}  // namespace ws
