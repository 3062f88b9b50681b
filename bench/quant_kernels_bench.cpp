// Decode GEMV throughput of the quantized kernels (src/backend/kernels/quant_*):
// y[1, n] = x[1, k] W[n, k]^T for every format and ISA table, 1 and 2
// threads, reported as GB/s of weight bytes read (the quantity decode is
// bound by). Each call includes the activation row's quantization, as a
// decode step pays it.
//   hot:    the same matrix every call (it stays in L3 where it fits)
//   stream: calls rotate over copies totalling >= 384 MiB, so the weights
//           come from DRAM, as in a model whose layers exceed the cache
// A plain read of the same bytes (AVX2 loads, summed) gives the roofline.
//
// usage: ws_quant_kernels_bench [seconds_per_case=0.4]
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "backend/kernels/quant_blocks.h"
#include "backend/kernels/quant_kernels.h"
#include "util/thread_pool.h"

namespace {

using namespace ws::kernels;
using Clock = std::chrono::steady_clock;

const char* kTypeNames[kQuantTypes] = {"Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q4_K", "Q6_K", "Q5_K"};

// Random blocks with f16 scales 2^-8 (0x1c00): realistic magnitudes, finite.
std::vector<uint8_t> random_matrix(int type, size_t n, size_t k, uint32_t seed) {
  const size_t bb = quant::kBlockBytes[type], blocks = n * k / quant::kBlockElements[type];
  std::vector<uint8_t> w(blocks * bb);
  std::mt19937 rng(seed);
  for (size_t i = 0; i + 4 <= w.size(); i += 4) {
    const uint32_t r = rng();
    std::memcpy(&w[i], &r, 4);
  }
  const uint16_t h = 0x1c00;
  for (size_t b = 0; b < blocks; ++b) {
    uint8_t* p = w.data() + b * bb;
    if (type == kQ6_K) {
      std::memcpy(p + 208, &h, 2);
    } else {
      std::memcpy(p, &h, 2);
      if (type != kQ4_0 && type != kQ5_0 && type != kQ8_0) std::memcpy(p + 2, &h, 2);
    }
  }
  return w;
}

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Runs `call` until `budget` seconds pass (at least 5 times); returns the
// median seconds per call.
template <class F>
double median_seconds(double budget, const F& call) {
  call();
  std::vector<double> times;
  const auto start = Clock::now();
  while (times.size() < 5 || seconds_since(start) < budget) {
    const auto t = Clock::now();
    call();
    times.push_back(seconds_since(t));
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

// One GEMV, the n outputs split into `threads` contiguous parts as the
// backend does (even part sizes, so the 2-row tiles stay whole).
void gemv(const QuantGemm& g, ws::detail::ThreadPool& pool, size_t n, size_t k, const float* x, void* xq,
          const uint8_t* w, size_t w_row_bytes, float* y) {
  g.quantize_act(x, k, xq);
  const size_t parts = static_cast<size_t>(pool.threads());
  const size_t per = ((n + parts - 1) / parts + 1) & ~size_t{1};
  pool.parallel_for(parts, [&](size_t p) {
    const size_t j0 = std::min(n, p * per), j1 = std::min(n, j0 + per);
    if (j1 > j0) g.gemm(1, j1 - j0, k, xq, w + j0 * w_row_bytes, w_row_bytes, y + j0, 1);
  });
}

float read_all(const uint8_t* p, size_t bytes) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 64 <= bytes; i += 64) {
    acc0 = _mm256_add_ps(acc0, _mm256_loadu_ps(reinterpret_cast<const float*>(p + i)));
    acc1 = _mm256_add_ps(acc1, _mm256_loadu_ps(reinterpret_cast<const float*>(p + i + 32)));
  }
  float out[8];
  _mm256_storeu_ps(out, _mm256_add_ps(acc0, acc1));
  return out[0];
}

}  // namespace

int main(int argc, char** argv) {
  const double budget = argc > 1 ? std::atof(argv[1]) : 0.4;
  const size_t kStreamBytes = size_t{384} << 20;
  const struct { size_t n, k; } shapes[] = {{4096, 4096}, {11008, 4096}};
  std::vector<const QuantKernelTable*> tables = {quant_avx512_table(), quant_avx2_table(), quant_wasm_simd_table(),
                                                 &quant_scalar_table()};
  tables.erase(std::remove(tables.begin(), tables.end(), nullptr), tables.end());
  std::printf("best table: %s\n", quant_best_table().isa);
  std::printf("%-12s %-5s %-12s %7s %10s %10s %12s\n", "isa", "type", "shape", "threads", "hot_GB/s", "stream_GB/s",
              "stream_us");
  volatile float sink = 0;
  for (auto shape : shapes) {
    for (int threads = 1; threads <= 2; ++threads) {
      ws::detail::ThreadPool pool(threads);
      // Roofline: plain reads of a Q4_0-sized matrix, hot and streamed.
      {
        const size_t bytes = shape.n * shape.k / 32 * 18;
        const size_t copies = std::max<size_t>(1, (kStreamBytes + bytes - 1) / bytes);
        std::vector<uint8_t> buf(bytes * copies, 1);
        size_t next = 0;
        auto read = [&](const uint8_t* base) {
          pool.parallel_for(static_cast<size_t>(threads), [&](size_t p) {
            const size_t part = bytes / threads / 64 * 64;
            sink = sink + read_all(base + p * part, part);
          });
        };
        const double hot = median_seconds(budget, [&] { read(buf.data()); });
        const double stream = median_seconds(budget, [&] { read(buf.data() + (next++ % copies) * bytes); });
        std::printf("%-12s %-5s %5zux%-6zu %7d %10.2f %10.2f %12.1f\n", "read", "-", shape.n, shape.k, threads,
                    bytes / hot / 1e9, bytes / stream / 1e9, stream * 1e6);
      }
      for (int type = 0; type < kQuantTypes; ++type) {
        const size_t w_row_bytes = shape.k / quant::kBlockElements[type] * quant::kBlockBytes[type];
        const size_t bytes = w_row_bytes * shape.n;
        const size_t copies = std::max<size_t>(1, (kStreamBytes + bytes - 1) / bytes);
        std::vector<uint8_t> w;
        w.reserve(bytes * copies);
        for (size_t c = 0; c < copies; ++c) {
          const std::vector<uint8_t> one = random_matrix(type, shape.n, shape.k, static_cast<uint32_t>(c + 1));
          w.insert(w.end(), one.begin(), one.end());
        }
        std::vector<float> x(shape.k), y(shape.n);
        std::mt19937 rng(5);
        std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
        for (float& v : x) v = dist(rng);
        for (const QuantKernelTable* table : tables) {
          const QuantGemm& g = table->types[type];
          if (table == &quant_scalar_table() && threads == 2) continue;  // the reference is not a contender
          std::vector<uint32_t> xq(g.act_row_bytes(shape.k) / 4 + 1);
          size_t next = 0;
          const double hot =
              median_seconds(budget, [&] { gemv(g, pool, shape.n, shape.k, x.data(), xq.data(), w.data(), w_row_bytes, y.data()); });
          const double stream = median_seconds(budget, [&] {
            gemv(g, pool, shape.n, shape.k, x.data(), xq.data(), w.data() + (next++ % copies) * bytes, w_row_bytes, y.data());
          });
          sink = sink + y[0];
          std::printf("%-12s %-5s %5zux%-6zu %7d %10.2f %10.2f %12.1f\n", table->isa, kTypeNames[type], shape.n,
                      shape.k, threads, bytes / hot / 1e9, bytes / stream / 1e9, stream * 1e6);
          std::fflush(stdout);
        }
      }
    }
  }
  return 0;
}
