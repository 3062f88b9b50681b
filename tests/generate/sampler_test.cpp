// Sampler: determinism per seed, transformers' processor semantics, and
// properties (top-k / top-p never emit a token outside the allowed set).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "generate/generate.h"

namespace ws {
namespace {

std::vector<float> random_logits(std::mt19937& rng, size_t n, float scale) {
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

Sampler make(SamplingOptions o) {
  Result<Sampler> s = Sampler::create(o);
  EXPECT_TRUE(s.is_ok());
  return std::move(s).value();
}

TEST(Sampler, RejectsBadOptions) {
  EXPECT_EQ(Sampler::create({-1.0f, 0, 1.0f, 1.0f, 0}).error().kind, ErrorKind::InvalidArgument);
  EXPECT_EQ(Sampler::create({1.0f, 0, 0.0f, 1.0f, 0}).error().kind, ErrorKind::InvalidArgument);
  EXPECT_EQ(Sampler::create({1.0f, 0, 1.5f, 1.0f, 0}).error().kind, ErrorKind::InvalidArgument);
  EXPECT_EQ(Sampler::create({1.0f, 0, 1.0f, 0.0f, 0}).error().kind, ErrorKind::InvalidArgument);
  EXPECT_EQ(Sampler::create({NAN, 0, 1.0f, 1.0f, 0}).error().kind, ErrorKind::InvalidArgument);
}

// T = 1e-40 used to turn the largest logits into +inf and their
// probabilities into NaN, and then return an id past the vocabulary.
TEST(Sampler, TinyTemperatureIsGreedyNotNaN) {
  for (float temperature : {1e-40f, 1e-30f, 1e-10f}) {
    SamplingOptions options;
    options.temperature = temperature;
    options.top_k = 3;
    options.top_p = 0.9f;
    Result<Sampler> sampler = Sampler::create(options);
    ASSERT_TRUE(sampler.is_ok());
    for (int draw = 0; draw < 50; ++draw) {
      std::vector<float> logits = {-3e38f, 2.5f, 7.0f, -1.0f, 7.0f, 0.0f, -std::numeric_limits<float>::infinity()};
      const int32_t id = sampler->sample(logits.data(), logits.size(), {});
      EXPECT_TRUE(id == 2 || id == 4) << "temperature " << temperature << ": id " << id;
    }
  }
}

TEST(Sampler, SameSeedSameTokensDifferentSeedDifferentTokens) {
  std::mt19937 rng(1);
  std::vector<std::vector<float>> steps;
  for (int i = 0; i < 200; ++i) steps.push_back(random_logits(rng, 64, 2.0f));
  auto run = [&](uint64_t seed) {
    Sampler s = make({0.9f, 20, 0.95f, 1.1f, seed});
    std::vector<int32_t> out;
    for (auto logits : steps) out.push_back(s.sample(logits.data(), logits.size(), out));
    return out;
  };
  EXPECT_EQ(run(42), run(42));
  EXPECT_NE(run(42), run(43));
}

TEST(Sampler, GreedyIsArgmax) {
  Sampler s = make({0.0f, 0, 1.0f, 1.0f, 0});
  std::vector<float> logits = {0.1f, 3.0f, -2.0f, 2.9f};
  EXPECT_EQ(s.sample(logits.data(), logits.size(), {}), 1);
}

TEST(Sampler, RepetitionPenaltyAsTransformers) {
  // Positive logits are divided, negative ones multiplied, each id once.
  Sampler s = make({0.0f, 0, 1.0f, 2.0f, 0});
  std::vector<float> logits = {2.0f, -2.0f, 1.5f, 0.5f};
  EXPECT_EQ(s.sample(logits.data(), logits.size(), {0, 1, 0, 0}), 2);
  EXPECT_EQ(logits, (std::vector<float>{1.0f, -4.0f, 1.5f, 0.5f}));
}

TEST(Sampler, TopKNeverLeavesTheTopK) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 3000; ++trial) {
    const size_t vocab = 1 + rng() % 60;
    const size_t k = 1 + rng() % 8;
    std::vector<float> logits = random_logits(rng, vocab, 3.0f);
    std::vector<float> sorted = logits;
    std::sort(sorted.begin(), sorted.end(), std::greater<float>());
    const float kth = sorted[std::min(k, vocab) - 1];
    Sampler s = make({0.5f + (rng() % 100) / 50.0f, k, 1.0f, 1.0f, static_cast<uint64_t>(trial)});
    std::vector<float> work = logits;
    const int32_t id = s.sample(work.data(), vocab, {});
    ASSERT_GE(logits[id], kth) << "trial " << trial;
  }
}

TEST(Sampler, TopPNeverLeavesTheNucleus) {
  std::mt19937 rng(9);
  int checked = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    const size_t vocab = 2 + rng() % 60;
    const float top_p = 0.05f + (rng() % 90) / 100.0f;
    std::vector<float> logits = random_logits(rng, vocab, 2.5f);
    // The nucleus, computed independently in double: tokens by descending
    // probability until the mass before them reaches top_p.
    std::vector<size_t> order(vocab);
    for (size_t i = 0; i < vocab; ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return logits[a] > logits[b]; });
    double max = logits[order[0]], total = 0;
    for (float l : logits) total += std::exp(double(l) - max);
    std::vector<bool> allowed(vocab, false);
    double before = 0;
    bool ambiguous = false;
    for (size_t r = 0; r < vocab; ++r) {
      const double p = std::exp(double(logits[order[r]]) - max) / total;
      if (std::fabs(before + p - top_p) < 1e-5) ambiguous = true;  // float rounding could go either way
      allowed[order[r]] = true;
      before += p;
      if (before >= top_p) break;
    }
    if (ambiguous) continue;
    Sampler s = make({1.0f, 0, top_p, 1.0f, static_cast<uint64_t>(trial)});
    std::vector<float> work = logits;
    const int32_t id = s.sample(work.data(), vocab, {});
    ASSERT_TRUE(allowed[id]) << "trial " << trial << " top_p " << top_p;
    ++checked;
  }
  EXPECT_GT(checked, 2900);
}

TEST(Sampler, DrawsFollowTheDistribution) {
  // Two tokens with probabilities 0.25 / 0.75: the empirical frequency over
  // 20000 draws is within 5 standard deviations.
  Sampler s = make({1.0f, 0, 1.0f, 1.0f, 5});
  int ones = 0;
  for (int i = 0; i < 20000; ++i) {
    std::vector<float> logits = {0.0f, std::log(3.0f)};
    ones += s.sample(logits.data(), 2, {});
  }
  EXPECT_NEAR(ones / 20000.0, 0.75, 5 * std::sqrt(0.75 * 0.25 / 20000));
}

}  // namespace
}  // namespace ws
