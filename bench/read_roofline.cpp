// Read-bandwidth roofline: how many GB/s this machine's cores can stream from
// DRAM, the ceiling a memory-bound decode (every weight byte read once per
// token) is measured against. A 1 GiB buffer (far above any L3), written once
// so its pages exist, then summed with vector loads by 1..N threads, each
// over its own contiguous slice; the median of 7 passes per thread count.
//
// usage: ws_read_roofline [max_threads=hardware] [mib=1024]
// prints one JSON line per thread count: {"threads", "gb_per_s_median", "gb_per_s_min", "gb_per_s_max"}
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace {

// Sums [begin, end) as floats, 4 independent accumulators (a dependency
// chain must not be the limit); the result is returned so nothing is elided.
__attribute__((target("avx2"))) float sum_avx2(const float* p, size_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    a0 = _mm256_add_ps(a0, _mm256_loadu_ps(p + i));
    a1 = _mm256_add_ps(a1, _mm256_loadu_ps(p + i + 8));
    a2 = _mm256_add_ps(a2, _mm256_loadu_ps(p + i + 16));
    a3 = _mm256_add_ps(a3, _mm256_loadu_ps(p + i + 24));
  }
  float out[8];
  _mm256_storeu_ps(out, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
  float s = 0;
  for (float v : out) s += v;
  for (; i < n; ++i) s += p[i];
  return s;
}

__attribute__((target("avx512f"))) float sum_avx512(const float* p, size_t n) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    a0 = _mm512_add_ps(a0, _mm512_loadu_ps(p + i));
    a1 = _mm512_add_ps(a1, _mm512_loadu_ps(p + i + 16));
    a2 = _mm512_add_ps(a2, _mm512_loadu_ps(p + i + 32));
    a3 = _mm512_add_ps(a3, _mm512_loadu_ps(p + i + 48));
  }
  float s = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
  for (; i < n; ++i) s += p[i];
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  const unsigned max_threads = argc > 1 ? static_cast<unsigned>(std::atoi(argv[1])) : hw;
  const size_t mib = argc > 2 ? static_cast<size_t>(std::atol(argv[2])) : 1024;
  const size_t n = mib * (1u << 20) / sizeof(float);
  std::vector<float> buffer(n);
  for (size_t i = 0; i < n; ++i) buffer[i] = static_cast<float>(i & 1023) * 1e-3f;
  const bool avx512 = __builtin_cpu_supports("avx512f");
  auto sum = avx512 ? sum_avx512 : sum_avx2;
  volatile float sink = 0;
  for (unsigned threads = 1; threads <= max_threads; ++threads) {
    std::vector<double> rates;
    for (int pass = 0; pass < 7; ++pass) {
      std::vector<float> partial(threads);
      const auto start = std::chrono::steady_clock::now();
      std::vector<std::thread> workers;
      for (unsigned t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
          const size_t begin = n * t / threads, end = n * (t + 1) / threads;
          partial[t] = sum(buffer.data() + begin, end - begin);
        });
      }
      for (std::thread& w : workers) w.join();
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      for (float p : partial) sink = sink + p;
      rates.push_back(static_cast<double>(n * sizeof(float)) / seconds / 1e9);
    }
    std::sort(rates.begin(), rates.end());
    std::printf("{\"threads\": %u, \"isa\": \"%s\", \"mib\": %zu, \"gb_per_s_median\": %.2f, \"gb_per_s_min\": %.2f, \"gb_per_s_max\": %.2f}\n",
                threads, avx512 ? "avx512" : "avx2", mib, rates[rates.size() / 2], rates.front(), rates.back());
  }
  return sink == 12345.0f ? 1 : 0;
}
