// Logits -> next token, following transformers' processors and warpers
// (RepetitionPenaltyLogitsProcessor, TemperatureLogitsWarper,
// TopKLogitsWarper, TopPLogitsWarper) so seeded runs are comparable in kind.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "generate/generate.h"

namespace ws {
namespace {

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

constexpr float kRemoved = -std::numeric_limits<float>::infinity();

}  // namespace

Result<Sampler> Sampler::create(const SamplingOptions& options) {
  if (!(options.temperature >= 0.0f) || !std::isfinite(options.temperature)) {
    return make_error(ErrorKind::InvalidArgument, "temperature must be >= 0, got " + std::to_string(options.temperature));
  }
  if (!(options.top_p > 0.0f && options.top_p <= 1.0f)) {
    return make_error(ErrorKind::InvalidArgument, "top_p must be in (0, 1], got " + std::to_string(options.top_p));
  }
  if (!(options.repetition_penalty > 0.0f) || !std::isfinite(options.repetition_penalty)) {
    return make_error(ErrorKind::InvalidArgument,
                      "repetition_penalty must be > 0, got " + std::to_string(options.repetition_penalty));
  }
  return Sampler(options);
}

Sampler::Sampler(const SamplingOptions& options) : options_(options) {
  uint64_t seed = options.seed;
  for (uint64_t& s : state_) s = splitmix64(seed);
}

// xoshiro256**, top 53 bits.
double Sampler::next_uniform() {
  const uint64_t result = rotl(state_[1] * 5, 7) * 9;
  const uint64_t t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = rotl(state_[3], 45);
  return static_cast<double>(result >> 11) * 0x1.0p-53;
}

int32_t Sampler::sample(float* logits, size_t vocab, const std::vector<int32_t>& history) {
  if (options_.repetition_penalty != 1.0f) {
    seen_.assign(vocab, 0);
    for (int32_t id : history) {
      if (id < 0 || static_cast<size_t>(id) >= vocab || seen_[id]) continue;
      seen_[id] = 1;
      float& l = logits[id];
      l = l < 0 ? l * options_.repetition_penalty : l / options_.repetition_penalty;
    }
  }
  if (options_.temperature == 0.0f) {
    return static_cast<int32_t>(std::max_element(logits, logits + vocab) - logits);
  }
  // (logit - max) / T, not logit / T: a tiny T (1e-40) would make the largest
  // logits +inf and exp(inf - inf) NaN. Shifted first, the best logits become
  // 0 and the rest at most -inf (probability 0): the limit, greedy.
  const float* best = std::max_element(logits, logits + vocab);
  const float raw_max = *best;
  if (!std::isfinite(raw_max)) return static_cast<int32_t>(best - logits);  // overflowed or all -inf: no distribution
  for (size_t i = 0; i < vocab; ++i) logits[i] = (logits[i] - raw_max) / options_.temperature;
  if (options_.top_k > 0 && options_.top_k < vocab) {
    // Keep every logit >= the k-th largest (ties at the boundary stay, as in
    // transformers' `scores < topk_values[..., -1]`).
    work_.assign(logits, logits + vocab);
    std::nth_element(work_.begin(), work_.begin() + (options_.top_k - 1), work_.end(), std::greater<float>());
    const float kth = work_[options_.top_k - 1];
    for (size_t i = 0; i < vocab; ++i) {
      if (logits[i] < kth) logits[i] = kRemoved;
    }
  }
  // Probabilities of the survivors (removed logits give exactly 0).
  const float max = *std::max_element(logits, logits + vocab);
  work_.resize(vocab);
  double total = 0;
  for (size_t i = 0; i < vocab; ++i) {
    work_[i] = logits[i] == kRemoved ? 0.0f : std::exp(logits[i] - max);
    total += work_[i];
  }
  if (options_.top_p < 1.0f) {
    // transformers: sort ascending, drop tokens whose cumulative probability
    // is <= 1 - top_p, always keep the most likely one.
    order_.clear();
    for (size_t i = 0; i < vocab; ++i) {
      if (work_[i] > 0.0f) order_.push_back(static_cast<int32_t>(i));
    }
    std::stable_sort(order_.begin(), order_.end(), [&](int32_t a, int32_t b) { return logits[a] < logits[b]; });
    double cumulative = 0;
    const double threshold = 1.0 - static_cast<double>(options_.top_p);
    double kept = 0;
    for (size_t r = 0; r < order_.size(); ++r) {
      cumulative += work_[order_[r]] / total;
      if (cumulative <= threshold && r + 1 < order_.size()) {
        work_[order_[r]] = 0.0f;
      } else {
        kept += work_[order_[r]];
      }
    }
    total = kept;
  }
  const double target = next_uniform() * total;
  double running = 0;
  int32_t last_positive = 0;
  for (size_t i = 0; i < vocab; ++i) {
    if (work_[i] <= 0.0f) continue;
    running += work_[i];
    last_positive = static_cast<int32_t>(i);
    if (target < running) return last_positive;
  }
  return last_positive;  // rounding left target == total
}

}  // namespace ws
