// The load pipeline into a host "device" (issue 14: "memcpy into a separate
// buffer") against the memcpy roofline, on the checkpoint's real files.
// Every tensor's destination is not host-addressable to the executor: each
// window is pread into a staging slot, then handed to write_source, which
// memcpys it into the device's own buffer. Two copies per byte (page cache ->
// slot -> device), so the ceiling is about half of one memcpy's bandwidth;
// the roofline row is one memcpy of the same bytes between two resident
// buffers, measured in the same process.
//
// usage: ws_host_device_bench DIR [--readers 1,2,4] [--staging-mib 16] [--repeat 5]
// Prints one JSON object: bytes, roofline GB/s, and per reader count the
// seconds (median of --repeat) and GB/s of the load. Warm page cache (it reads
// the files once first).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "load/load.h"
#include "source/model_source.h"

namespace {

class MemcpyDevice final : public ws::Destination {
 public:
  explicit MemcpyDevice(uint64_t bytes) : memory_(new uint8_t[bytes]), bytes_(bytes) {
    std::memset(memory_.get(), 0, bytes);  // resident, like device memory
  }
  uint8_t* host_data() override { return nullptr; }
  bool writes_from_any_thread() const override { return true; }
  ws::Status write_source(uint64_t first_element, ws::DType dtype, const uint8_t* bytes, uint64_t count) override {
    std::memcpy(memory_.get() + ws::dtype_storage_bytes(dtype, first_element), bytes, ws::dtype_storage_bytes(dtype, count));
    return ws::Status::ok();
  }

 private:
  std::unique_ptr<uint8_t[]> memory_;
  uint64_t bytes_;
};

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: ws_host_device_bench DIR [--readers 1,2,4] [--staging-mib 16] [--repeat 5]\n");
    return 2;
  }
  std::vector<unsigned> reader_counts = {1, 2, 4};
  double staging_mib = 16;
  int repeat = 5;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--readers") {
      reader_counts.clear();
      std::stringstream list(argv[i + 1]);
      for (std::string item; std::getline(list, item, ',');) reader_counts.push_back(static_cast<unsigned>(std::stoul(item)));
    } else if (flag == "--staging-mib") {
      staging_mib = std::atof(argv[i + 1]);
    } else if (flag == "--repeat") {
      repeat = std::atoi(argv[i + 1]);
    }
  }
  const uint64_t staging_bytes = static_cast<uint64_t>(staging_mib * (1 << 20));

  auto source = ws::ModelSource::open(argv[1]);
  if (!source) {
    std::fprintf(stderr, "%s\n", source.error().to_string().c_str());
    return 1;
  }
  const ws::Checkpoint& checkpoint = (*source)->checkpoint();
  std::vector<std::unique_ptr<MemcpyDevice>> devices;
  std::vector<ws::ManifestEntry> manifest;
  uint64_t bytes = 0;
  for (const ws::TensorInfo& t : checkpoint.tensors) {
    devices.push_back(std::make_unique<MemcpyDevice>(t.bytes()));
    manifest.push_back({t.name, t.dtype, t.shape, devices.back().get()});
    bytes += t.bytes();
  }

  // The roofline: one memcpy of the same bytes between two resident buffers.
  std::vector<double> roof;
  {
    std::unique_ptr<uint8_t[]> a(new uint8_t[bytes]), b(new uint8_t[bytes]);
    std::memset(a.get(), 1, bytes);
    std::memset(b.get(), 2, bytes);
    for (int r = 0; r < repeat; ++r) {
      const auto t = std::chrono::steady_clock::now();
      std::memcpy(b.get(), a.get(), bytes);
      roof.push_back(seconds_since(t));
    }
  }

  std::printf("{\"bytes\": %llu, \"staging_bytes\": %llu, \"roofline_memcpy_gbps\": %.3f, \"loads\": [",
              static_cast<unsigned long long>(bytes), static_cast<unsigned long long>(staging_bytes),
              bytes / median(roof) / 1e9);
  bool first = true;
  for (int warm = 0; warm < 2; ++warm) {  // the first pass only warms the page cache
    for (unsigned readers : reader_counts) {
      std::vector<double> runs;
      uint64_t staged = 0;
      for (int r = 0; r < (warm ? repeat : 1); ++r) {
        ws::PlanOptions plan_options;
        plan_options.staging_bytes = std::max<uint64_t>(1, staging_bytes / readers);  // one slot per reader
        auto plan = ws::plan_load(checkpoint, manifest, plan_options);
        if (!plan) return 1;
        auto executor = ws::LoadExecutor::create(*plan, manifest);
        if (!executor) return 1;
        ws::ParallelFill fill;
        fill.readers = readers;
        fill.staging_bytes = staging_bytes;
        const auto t = std::chrono::steady_clock::now();
        ws::Status loaded = (*source)->load(**executor, fill);
        runs.push_back(seconds_since(t));
        if (!loaded) {
          std::fprintf(stderr, "%s\n", loaded.error().to_string().c_str());
          return 1;
        }
        staged = (*executor)->staging_allocated();
      }
      if (!warm) continue;
      std::printf("%s{\"readers\": %u, \"seconds_median\": %.4f, \"gbps\": %.3f, \"staging_allocated\": %llu}",
                  first ? "" : ", ", readers, median(runs), bytes / median(runs) / 1e9,
                  static_cast<unsigned long long>(staged));
      first = false;
    }
  }
  std::printf("]}\n");
  return 0;
}
