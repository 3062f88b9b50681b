// weightstream load <model> [--dtype keep|f32|f16|bf16|q8_0|q4_0|q4_1|q5_0|q5_1|q4_k|q5_k|q6_k] [--staging-mib N] [--bind copy|mmap] [--hash] [--json]
//     [--rank R --world-size W]   (default: the RANK and WORLD_SIZE environment variables, as torchrun sets them)
//     [--backend portable|torch] [--device cpu|cuda[:N]]   (the last two in WS_TORCH builds)
// Binds every tensor of the checkpoint into its own host buffer (--bind copy),
// or, for local files, maps tensors whose dtype is kept as zero-copy views of
// the page cache and copies only the ones that convert (--bind mmap).
// --backend torch builds every tensor on torch's meta device, materialises it
// with at::empty on --device and has the loader write into that storage (on
// CUDA through pinned staging buffers: host memory stays that, whatever the
// model size; --json's staging_bytes counts them).
// --rank/--world-size bind only this rank's part of each tensor in Megatron's
// tensor-parallel layout (model/tensor_parallel.h), reading only its bytes.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/http_flags.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "format/json_strict.h"
#include "model/tensor_parallel.h"
#include "source/memory_stats.h"
#include "source/model_source.h"
#include "util/sha256.h"
#if defined(WS_TORCH)
#include "torch/ws_torch.h"
#endif

namespace ws::cli {

namespace {

using json = nlohmann::json;

// `--dtype` applies to the float tensors a model computes with; integer,
// bool and fp8 tensors are bound as they are.
constexpr std::pair<const char*, DType> kTargetDTypes[] = {
    {"f32", DType::F32},   {"f16", DType::F16},   {"bf16", DType::BF16}, {"q8_0", DType::Q8_0},
    {"q4_0", DType::Q4_0}, {"q4_1", DType::Q4_1}, {"q5_0", DType::Q5_0}, {"q5_1", DType::Q5_1},
    {"q4_k", DType::Q4_K}, {"q5_k", DType::Q5_K}, {"q6_k", DType::Q6_K},
};

Result<std::optional<DType>> parse_target_dtype(const std::optional<std::string>& value) {
  if (!value || *value == "keep") return std::optional<DType>();
  for (const auto& [name, dtype] : kTargetDTypes) {
    if (*value == name) return std::optional<DType>(dtype);
  }
  std::string names = "keep";
  for (const auto& entry : kTargetDTypes) names += std::string(", ") + entry.first;
  return make_error(ErrorKind::InvalidArgument, "--dtype must be one of " + names + ", got \"" + *value + "\"");
}

// A ggml block type is, as llama.cpp's quantizer does it, only for matrices
// whose rows are whole blocks: vectors (norms, biases) keep their dtype.
DType bound_dtype(const TensorInfo& t, const std::vector<uint64_t>& shape, std::optional<DType> target) {
  if (!target || !can_convert(t.dtype, *target)) return t.dtype;
  if (dtype_is_quantized(*target) && *target != t.dtype &&
      (shape.size() < 2 || shape.back() % dtype_block_elements(*target) != 0)) {
    return t.dtype;
  }
  return *target;
}

// --rank / --world-size, else RANK / WORLD_SIZE from the environment, else 0 of 1.
Result<std::pair<uint64_t, uint64_t>> rank_and_world(const Args& args) {
  auto value = [&](const char* flag, const char* env, uint64_t fallback) -> Result<uint64_t> {
    std::optional<std::string> text = args.get(flag);
    if (!text && std::getenv(env)) text = std::getenv(env);
    if (!text) return fallback;
    char* end = nullptr;
    const unsigned long long v = std::strtoull(text->c_str(), &end, 10);
    if (text->empty() || *end != '\0' || (*text)[0] == '-' || v > (1u << 20)) {
      return make_error(ErrorKind::InvalidArgument, std::string("--") + flag + " (or " + env +
                                                        ") must be a small non-negative integer, got \"" + *text + "\"");
    }
    return static_cast<uint64_t>(v);
  };
  WS_ASSIGN_OR_RETURN(uint64_t rank, value("rank", "RANK", 0));
  WS_ASSIGN_OR_RETURN(uint64_t world, value("world-size", "WORLD_SIZE", 1));
  if (world == 0 || rank >= world) {
    return make_error(ErrorKind::InvalidArgument,
                      "rank " + std::to_string(rank) + " is outside a world of " + std::to_string(world));
  }
  return std::make_pair(rank, world);
}

// SHA-256 of a tensor's bytes: in place when they are host memory, else of
// the copy `fetch` makes (a device tensor).
template <class Fetch>
std::string tensor_sha256(const uint8_t* host, uint64_t bytes, Fetch fetch) {
  Sha256 hash;
  if (host) {
    hash.update(host, bytes);
  } else {
    const std::vector<uint8_t> copy = fetch();
    hash.update(copy.data(), copy.size());
  }
  return hash.finish_hex();
}

}  // namespace

int run_load(const Args& a) {
  const Args* args = &a;
  Result<HttpTransportOptions> http = http_options(*args);
  if (!http) return usage_error(kLoad, http.error());
  Result<std::optional<DType>> target = parse_target_dtype(args->get("dtype"));
  if (!target) return usage_error(kLoad, target.error());
  Result<double> staging_mib = args->get_number("staging-mib", 16);
  if (!staging_mib) return usage_error(kLoad, staging_mib.error());
  if (!(*staging_mib >= 0.001 && *staging_mib <= 65536)) {
    return usage_error(kLoad, make_error(ErrorKind::InvalidArgument, "--staging-mib must be between 0.001 and 65536"));
  }

  Result<std::pair<uint64_t, uint64_t>> rank_world = rank_and_world(*args);
  if (!rank_world) return usage_error(kLoad, rank_world.error());
  const auto [rank, world] = *rank_world;

  const std::string bind = args->get("bind").value_or("copy");
  if (bind != "copy" && bind != "mmap") {
    return usage_error(kLoad, make_error(ErrorKind::InvalidArgument, "--bind must be copy or mmap, got \"" + bind + "\""));
  }
  const std::string backend = args->get("backend").value_or("portable");
#if defined(WS_TORCH)
  if (backend != "portable" && backend != "torch") {
    return report_error(make_error(ErrorKind::InvalidArgument, "--backend must be portable or torch, got \"" + backend + "\""));
  }
  const bool on_torch = backend == "torch";
  TorchDevice device;
  if (args->get("device")) {
    if (!on_torch) return report_error(make_error(ErrorKind::InvalidArgument, "--device needs --backend torch"));
    Result<TorchDevice> parsed = parse_torch_device(*args->get("device"));
    if (!parsed) return report_error(parsed.error());
    device = *parsed;
  }
  if (on_torch && *target && dtype_is_quantized(**target)) {
    return report_error(make_error(ErrorKind::InvalidArgument, "--dtype " + *args->get("dtype") +
                                                               " binds ggml blocks, which --backend torch does not hold"));
  }
  if (on_torch && bind == "mmap") {
    return report_error(make_error(ErrorKind::InvalidArgument, "--bind mmap binds page-cache views, not torch tensors: "
                                                               "use --bind copy with --backend torch"));
  }
  std::unique_ptr<TorchSkeleton> skeleton;
  // The CUDA context (hundreds of MB of host memory for the driver and
  // LibTorch's kernels) is made first: rss_before is then its baseline and
  // the peak above it is what loading costs.
  if (on_torch && device.cuda) {
    if (Status s = torch_cuda_init(device); !s) return report_error(s.error());
  }
#else
  const bool on_torch = false;
#endif
  const uint64_t staging_bytes = static_cast<uint64_t>(*staging_mib * (1 << 20));

  const uint64_t rss_before = current_rss_bytes();
  reset_peak_rss();
  const auto start = std::chrono::steady_clock::now();

  Result<std::unique_ptr<ModelSource>> source = ModelSource::open(args->positional[0], *http);
  if (!source) return report_error(source.error());
  const Checkpoint& checkpoint = (*source)->checkpoint();

  // This rank's part of each tensor (none: the whole tensor) and the shape it binds.
  std::vector<std::optional<TensorSlice>> slices(checkpoint.tensors.size());
  std::vector<std::vector<uint64_t>> shapes(checkpoint.tensors.size());
  for (size_t i = 0; i < checkpoint.tensors.size(); ++i) {
    const TensorInfo& t = checkpoint.tensors[i];
    Result<std::optional<TensorSlice>> slice = megatron_slice(t.name, t.shape, rank, world);
    if (!slice) return report_error(slice.error());
    slices[i] = *slice;
    shapes[i] = t.shape;
    if (slices[i]) shapes[i][slices[i]->dim] = slices[i]->end - slices[i]->begin;
  }

  // Zero-copy: map each shard once; tensors that keep their dtype become views.
  std::vector<std::shared_ptr<const MappedFile>> mappings(checkpoint.shards.size());
  if (bind == "mmap") {
    std::vector<bool> shard_has_view(checkpoint.shards.size(), false);
    for (size_t i = 0; i < checkpoint.tensors.size(); ++i) {
      const TensorInfo& t = checkpoint.tensors[i];
      if (!slices[i] && bound_dtype(t, shapes[i], *target) == t.dtype) shard_has_view[t.shard] = true;
    }
    for (size_t s = 0; s < checkpoint.shards.size(); ++s) {
      if (!shard_has_view[s]) continue;  // every tensor converts: nothing to map
      Result<std::shared_ptr<const MappedFile>> mapped = (*source)->map_shard(s, /*populate=*/true);
      if (!mapped) return report_error(mapped.error());
      mappings[s] = *mapped;
    }
  }

  // The manifest: every tensor that is not a view, each into its own host buffer.
  struct Bound {
    const uint8_t* data;
    uint64_t bytes;
    DType dtype;
    bool mapped;
  };
  std::vector<Bound> bound(checkpoint.tensors.size());
  std::vector<ManifestEntry> manifest;
  std::vector<HostBuffer> buffers;
  std::vector<size_t> copied;  // tensor index of each manifest entry
  manifest.reserve(checkpoint.tensors.size());
  buffers.reserve(checkpoint.tensors.size());
  for (size_t i = 0; i < checkpoint.tensors.size(); ++i) {
    const TensorInfo& t = checkpoint.tensors[i];
    const DType dtype = bound_dtype(t, shapes[i], *target);
    // A GGUF q/k projection stores its rows in llama.cpp's rotary order: only
    // the planned copy puts them back, so it is never a view (nor is a slice).
    if (mappings[t.shard] && dtype == t.dtype && t.interleaved_heads == 0 && !slices[i]) {
      bound[i] = {mappings[t.shard]->data() + t.begin, t.bytes(), dtype, true};
      continue;
    }
    uint64_t kept = 1;
    for (uint64_t d : shapes[i]) kept *= d;  // at most the stored tensor's numel
    if (on_torch) {  // declared now, materialised below
      manifest.push_back({t.name, dtype, shapes[i], nullptr, slices[i]});
      bound[i] = {nullptr, dtype_storage_bytes(dtype, kept), dtype, false};
      copied.push_back(i);
      continue;
    }
    Result<HostBuffer> buffer = HostBuffer::allocate(dtype_storage_bytes(dtype, kept));
    if (!buffer) return report_error(buffer.error());
    buffers.push_back(std::move(*buffer));
    manifest.push_back({t.name, dtype, shapes[i], &buffers.back(), slices[i]});
    bound[i] = {buffers.back().data(), buffers.back().bytes(), dtype, false};
    copied.push_back(i);
  }
#if defined(WS_TORCH)
  if (on_torch) {
    // Meta tensors first (no memory), then storage on the device: the
    // loader's destinations are the tensors' own bytes.
    Result<std::unique_ptr<TorchSkeleton>> created = TorchSkeleton::create(manifest);
    if (!created) return report_error(created.error());
    skeleton = std::move(*created);
    if (Status s = skeleton->materialize(device, staging_bytes); !s) return report_error(s.error());
    manifest = skeleton->manifest();
    for (size_t m = 0; m < copied.size(); ++m) bound[copied[m]].data = skeleton->host_bytes(m);
  }
#endif
  PlanOptions options;
  options.staging_bytes = staging_bytes;
  Result<LoadPlan> plan = plan_load(checkpoint, manifest, options);
  if (!plan) return report_error(plan.error());
  Result<std::unique_ptr<LoadExecutor>> executor = LoadExecutor::create(*plan, manifest);
  if (!executor) return report_error(executor.error());

  // Quantising is compute-bound (Q4_K: ~65 ns of CPU per element): convert on every core.
  (*executor)->set_conversion_threads(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  ProgressBar progress(stderr_is_terminal());
  (*executor)->set_progress([&](const LoadProgress& p) { progress.update(p.bytes_done, p.bytes_total); });
  uint64_t pinned_bytes = 0;
#if defined(WS_TORCH)
  if (skeleton) {
    (*executor)->set_staging(skeleton->staging());
    pinned_bytes = skeleton->pinned_bytes();
  }
#endif
  Status loaded = (*source)->load(**executor);
#if defined(WS_TORCH)
  if (skeleton) {  // the last copies land (or fail) before the clock stops
    Status finished = skeleton->finish_load();
    if (loaded) loaded = finished;
  }
#endif
  progress.finish();
  if (!loaded) return report_error(loaded.error());
  // A mapped shard that shrank during the load has lost pages its views point
  // into (reading them is a SIGBUS): that load failed.
  for (const std::shared_ptr<const MappedFile>& mapping : mappings) {
    if (!mapping) continue;
    if (Status same = mapping->check_unchanged(); !same) return report_error(same.error());
  }

  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const uint64_t peak_rss = peak_rss_bytes();
  uint64_t bound_bytes = 0;
  for (const Bound& b : bound) bound_bytes += b.bytes;
  const uint64_t staging = (*executor)->staging_allocated() + pinned_bytes;

  json tensors = json::array();
  for (size_t i = 0; i < bound.size(); ++i) {
    const TensorInfo& info = checkpoint.tensors[i];
    json t = {{"name", info.name}, {"dtype", dtype_name(bound[i].dtype)}, {"shape", shapes[i]},
              {"bytes", bound[i].bytes}, {"bind", bound[i].mapped ? "mmap" : "copy"}};
    if (slices[i]) t["slice"] = {{"dim", slices[i]->dim}, {"begin", slices[i]->begin}, {"end", slices[i]->end}};
    if (args->has("hash") && bound[i].mapped) {
      // Read under the SIGBUS guard: the file may still shrink now.
      Sha256 hash;
      const Bound& view = bound[i];
      Status read = mappings[info.shard]->read_guarded([&] { hash.update(view.data, view.bytes); });
      if (!read) return report_error(read.error());
      t["sha256"] = hash.finish_hex();
    } else if (args->has("hash")) {
      t["sha256"] = tensor_sha256(bound[i].data, bound[i].bytes, [&] {
#if defined(WS_TORCH)
        // A device tensor is fetched to the host for hashing, one at a time.
        const auto m = std::find(copied.begin(), copied.end(), i);
        if (skeleton && m != copied.end()) return skeleton->copy_to_host(static_cast<size_t>(m - copied.begin()));
#endif
        return std::vector<uint8_t>();
      });
    }
    tensors.push_back(std::move(t));
  }

  if (args->has("json")) {
    json out = {{"tensors", tensors},         {"bound_bytes", bound_bytes}, {"peak_rss_bytes", peak_rss},
                {"rss_before_bytes", rss_before}, {"staging_bytes", staging}, {"read_bytes", plan->bytes_to_read},
                {"needed_bytes", plan->bytes_needed}, {"rank", rank}, {"world_size", world},
                {"seconds", seconds}};
    std::puts(detail::dump_json(out).c_str());
    return kExitOk;
  }
  if (args->has("hash")) {
    for (const json& t : tensors) {
      std::printf("%s  %s\n", t["sha256"].get<std::string>().c_str(), t["name"].get<std::string>().c_str());
    }
  }
  std::printf("bound %zu tensors (%zu copied, %zu mapped), %.1f MB in %.3f s (%.0f MB/s); peak RSS %.1f MB (%.1f MB before loading), staging %.1f MB\n",
              bound.size(), copied.size(), bound.size() - copied.size(), bound_bytes / 1e6, seconds, seconds > 0 ? bound_bytes / 1e6 / seconds : 0.0,
              peak_rss / 1e6, rss_before / 1e6, staging / 1e6);
  return kExitOk;
}

}  // namespace ws::cli
