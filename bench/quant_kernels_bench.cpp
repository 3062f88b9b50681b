// Decode GEMV throughput of the quantized kernels (src/backend/kernels/quant_*):
// y[1, n] = x[1, k] W[n, k]^T for every format and ISA table, 1 and 2
// threads, reported as GB/s of weight bytes read (the quantity decode is
// bound by). Each call includes the activation row's quantization, as a
// decode step pays it.
//   hot:    the same matrix every call (it stays in L3 where it fits)
//   stream: calls rotate over copies totalling >= 384 MiB, so the weights
//           come from DRAM, as in a model whose layers exceed the cache
//   slice:  stream, single thread, timed per 128-row slice (see
//           slice_best_seconds): the figure least disturbed by other load
// A plain read of the same bytes (AVX2 loads, summed) gives the roofline.
//
// The 16-row packed kernels (quant_pack.h) are the rows "avx512-packed"
// (Q4_0, Q8_0) and "avx2-packed" (Q4_0): the same matrices, packed once
// before timing.
//
// usage: ws_quant_kernels_bench [seconds_per_case=0.4] [types, e.g. Q4_0,Q8_0 (default all)]
// Also builds for node with Emscripten (one thread; see
// bench/RESULTS-quant-kernels.md for the em++ command).
#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "backend/kernels/quant_blocks.h"
#include "backend/kernels/quant_kernels.h"
#include "backend/kernels/quant_pack.h"
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

struct Timing {
  double best, median;  // seconds per call
};

// Runs `call` until `budget` seconds pass (at least 5 times). The best time
// is what the kernel can do; the median shows how much a shared machine
// (other processes on the same 2 cores) took away.
template <class F>
Timing time_calls(double budget, const F& call) {
  call();
  std::vector<double> times;
  const auto start = Clock::now();
  while (times.size() < 5 || seconds_since(start) < budget) {
    const auto t = Clock::now();
    call();
    times.push_back(seconds_since(t));
  }
  std::sort(times.begin(), times.end());
  return {times.front(), times[times.size() / 2]};
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

// The same over a packed matrix: whole 16-row groups per part.
void gemv_packed(const QuantGemm& g, PackedGemmFn packed, ws::detail::ThreadPool& pool, size_t n, size_t k,
                 const float* x, void* xq, const uint8_t* w, size_t w_row_bytes, float* y) {
  g.quantize_act(x, k, xq);
  const size_t parts = static_cast<size_t>(pool.threads()), groups = n / quant::kPackRows;
  pool.parallel_for(parts, [&](size_t p) {
    const size_t g0 = groups * p / parts, g1 = groups * (p + 1) / parts;
    const size_t j0 = g0 * quant::kPackRows;
    if (g1 > g0) packed(1, g1 - g0, k, xq, w + j0 * w_row_bytes, y + j0, 1);
  });
}

float read_all(const uint8_t* p, size_t bytes) {
#if defined(__AVX2__)
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 64 <= bytes; i += 64) {
    acc0 = _mm256_add_ps(acc0, _mm256_loadu_ps(reinterpret_cast<const float*>(p + i)));
    acc1 = _mm256_add_ps(acc1, _mm256_loadu_ps(reinterpret_cast<const float*>(p + i + 32)));
  }
  float out[8];
  _mm256_storeu_ps(out, _mm256_add_ps(acc0, acc1));
  return out[0];
#else
  // 16 independent sums, which the compiler turns into vector adds.
  float acc[16] = {};
  for (size_t i = 0; i + 64 <= bytes; i += 64) {
    float v[16];
    std::memcpy(v, p + i, 64);
    for (int l = 0; l < 16; ++l) acc[l] += v[l];
  }
  return acc[0];
#endif
}

// Single thread, streamed: the GEMV as calls of kSliceRows weight rows, each
// timed; per slice the best over `budget` seconds of passes (each pass over a
// different copy, so from DRAM); returns the sum. On a machine shared with
// other work a whole 4-10 ms GEMV is almost always preempted somewhere, a
// 0.1 ms slice mostly is not, so this is the uncontended figure.
constexpr size_t kSliceRows = 128;
template <class F>
double slice_best_seconds(double budget, size_t n, size_t copies, const F& slice_call) {
  const size_t slices = (n + kSliceRows - 1) / kSliceRows;
  std::vector<double> best(slices, 1e30);
  const auto start = Clock::now();
  for (size_t pass = 0; pass < 5 || seconds_since(start) < budget; ++pass) {
    for (size_t s = 0; s < slices; ++s) {
      const auto t = Clock::now();
      slice_call(pass % copies, s * kSliceRows, std::min(n, (s + 1) * kSliceRows));
      best[s] = std::min(best[s], seconds_since(t));
    }
  }
  double sum = 0;
  for (double b : best) sum += b;
  return sum;
}

void report(const char* isa, const char* type, size_t n, size_t k, int threads, size_t bytes, Timing hot, Timing stream,
            double slice_seconds) {
  char slice[32] = "-";
  if (slice_seconds > 0) std::snprintf(slice, sizeof slice, "%.2f", bytes / slice_seconds / 1e9);
  std::printf("%-12s %-5s %5zux%-6zu %7d %9.2f %9.2f %9.2f %9.2f %10.1f %10s\n", isa, type, n, k, threads,
              bytes / hot.best / 1e9, bytes / hot.median / 1e9, bytes / stream.best / 1e9, bytes / stream.median / 1e9,
              stream.best * 1e6, slice);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const double budget = argc > 1 ? std::atof(argv[1]) : 0.4;
  const std::string only = argc > 2 ? std::string(",") + argv[2] + "," : "";
  const size_t kStreamBytes = size_t{384} << 20;
  const struct { size_t n, k; } shapes[] = {{4096, 4096}, {11008, 4096}};
  std::vector<const QuantKernelTable*> tables = {quant_avx512_table(), quant_avx2_table(), quant_wasm_simd_table(),
                                                 &quant_scalar_table()};
  tables.erase(std::remove(tables.begin(), tables.end(), nullptr), tables.end());
  std::printf("best table: %s\n", quant_best_table().isa);
  std::printf("GB/s = weight bytes / seconds per GEMV; best and median of the calls; slice = streamed, best per 128-row slice\n");
  std::printf("%-12s %-5s %-12s %7s %9s %9s %9s %9s %10s %10s\n", "isa", "type", "shape", "threads", "hot_best", "hot_med",
              "strm_best", "strm_med", "strm_us", "slice");
  volatile float sink = 0;
  for (auto shape : shapes) {
#if defined(__EMSCRIPTEN__)
    const int max_threads = 1;  // no pthreads in this build
#else
    const int max_threads = 2;
#endif
    for (int threads = 1; threads <= max_threads; ++threads) {
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
        const Timing hot = time_calls(budget, [&] { read(buf.data()); });
        const Timing stream = time_calls(budget, [&] { read(buf.data() + (next++ % copies) * bytes); });
        const size_t row_bytes = bytes / shape.n;
        const double slice = threads > 1 ? 0.0 : slice_best_seconds(budget, shape.n, copies, [&](size_t c, size_t j0, size_t j1) {
          sink = sink + read_all(buf.data() + c * bytes + j0 * row_bytes, (j1 - j0) * row_bytes);
        });
        report("read", "-", shape.n, shape.k, threads, bytes, hot, stream, slice);
      }
      for (int type = 0; type < kQuantTypes; ++type) {
        if (!only.empty() && only.find(std::string(",") + kTypeNames[type] + ",") == std::string::npos) continue;
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
          const Timing hot =
              time_calls(budget, [&] { gemv(g, pool, shape.n, shape.k, x.data(), xq.data(), w.data(), w_row_bytes, y.data()); });
          const Timing stream = time_calls(budget, [&] {
            gemv(g, pool, shape.n, shape.k, x.data(), xq.data(), w.data() + (next++ % copies) * bytes, w_row_bytes, y.data());
          });
          const double slice = threads > 1 ? 0.0 : slice_best_seconds(budget, shape.n, copies, [&](size_t c, size_t j0, size_t j1) {
            g.gemm(1, j1 - j0, shape.k, xq.data(), w.data() + c * bytes + j0 * w_row_bytes, w_row_bytes, y.data() + j0, 1);
          });
          sink = sink + y[0];
          report(table->isa, kTypeNames[type], shape.n, shape.k, threads, bytes, hot, stream, slice);
        }
        bool is_packed = false;
        for (const QuantKernelTable* table : {quant_avx512_table(), quant_avx2_table()}) {
          if (!table || !table->packed[type] || shape.n % quant::kPackRows != 0) continue;
          const QuantGemm& g = table->types[type];
          const PackedGemmFn packed = table->packed[type];
          for (size_t c = 0; c < copies && !is_packed; ++c) {
            quant::pack_groups(static_cast<QuantType>(type), w.data() + c * bytes, shape.k, 0, shape.n / quant::kPackRows);
          }
          is_packed = true;
          std::vector<uint32_t> xq(g.act_row_bytes(shape.k) / 4 + 1);
          size_t next = 0;
          const Timing hot = time_calls(budget, [&] {
            gemv_packed(g, packed, pool, shape.n, shape.k, x.data(), xq.data(), w.data(), w_row_bytes, y.data());
          });
          const Timing stream = time_calls(budget, [&] {
            gemv_packed(g, packed, pool, shape.n, shape.k, x.data(), xq.data(), w.data() + (next++ % copies) * bytes,
                        w_row_bytes, y.data());
          });
          const double slice = threads > 1 ? 0.0 : slice_best_seconds(budget, shape.n, copies, [&](size_t c, size_t j0, size_t j1) {
            packed(1, (j1 - j0) / quant::kPackRows, shape.k, xq.data(), w.data() + c * bytes + j0 * w_row_bytes, y.data() + j0, 1);
          });
          sink = sink + y[0];
          report(table == quant_avx2_table() ? "avx2-packed" : "avx512-packed", kTypeNames[type], shape.n, shape.k,
                 threads, bytes, hot, stream, slice);
        }
      }
    }
  }
  return 0;
}
