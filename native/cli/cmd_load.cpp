// weightstream load <model> (options: cli/options.cpp)
// Binds every tensor of the checkpoint through the one load sequence
// (api/bind_checkpoint.h), then reports what it bound: bytes, peak RSS,
// speed, each tensor's dtype, shape and SHA-256 (--hash), as a line or as
// JSON. Where the tensors live (host buffers, torch tensors on a device) is
// the backend's TensorStore.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>

#include "api/bind_checkpoint.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/http_flags.h"
#include "cli/model_flags.h"
#include "cli/progress.h"
#include "format/json_strict.h"
#include "source/memory_stats.h"
#include "source/model_source.h"
#include "util/sha256.h"

namespace ws::cli {

namespace {

using json = nlohmann::json;

// --rank / --world-size, else RANK / WORLD_SIZE from the environment (as
// torchrun sets them), else 0 of 1.
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
  return std::make_pair(rank, world);
}

// The command line, read into the bind's options (every error is a usage error).
struct LoadRequest {
  HttpTransportOptions http;
  BackendChoice backend;
  CheckpointBindOptions bind;
};

Result<LoadRequest> read_request(const Args& args) {
  LoadRequest request;
  WS_ASSIGN_OR_RETURN(request.http, http_options(args));
  WS_ASSIGN_OR_RETURN(request.bind.dtype, weight_dtype_flag(args));
  WS_ASSIGN_OR_RETURN(const double staging_mib, args.get_number("staging-mib", 16));
  if (!(staging_mib >= 0.001 && staging_mib <= 65536)) {
    return make_error(ErrorKind::InvalidArgument, "--staging-mib must be between 0.001 and 65536");
  }
  request.bind.staging_bytes = static_cast<uint64_t>(staging_mib * (1 << 20));
  WS_ASSIGN_OR_RETURN(const double readers, args.get_number("readers", kDefaultReaders));
  if (!(readers >= 1 && readers <= 64) || readers != static_cast<double>(static_cast<unsigned>(readers))) {
    return make_error(ErrorKind::InvalidArgument, "--readers must be a whole number from 1 to 64");
  }
  request.bind.readers = static_cast<unsigned>(readers);
  WS_ASSIGN_OR_RETURN(const auto rank_world, rank_and_world(args));
  request.bind.rank = rank_world.first;
  request.bind.world_size = rank_world.second;
  WS_ASSIGN_OR_RETURN(request.bind.map_weights, map_weights_flag(args));
  WS_ASSIGN_OR_RETURN(request.backend, backend_flags(args));
  // Quantising is compute-bound (Q4_K: ~65 ns of CPU per element): convert on every core.
  request.bind.conversion_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  WS_TRY(check_bind_options(request.bind, request.backend.kind));
  return request;
}

}  // namespace

int run_load(const Args& args) {
  Result<LoadRequest> request = read_request(args);
  if (!request) return usage_error(kLoad, request.error());

  // The store first: a CUDA device's context is then part of rss_before.
  Result<std::unique_ptr<TensorStore>> store = make_tensor_store(request->backend);
  if (!store) return report_error(store.error());
  const uint64_t rss_before = current_rss_bytes();
  reset_peak_rss();
  const auto start = std::chrono::steady_clock::now();

  Result<std::unique_ptr<ModelSource>> source = ModelSource::open(args.positional[0], request->http);
  if (!source) return report_error(source.error());
  const Checkpoint& checkpoint = (*source)->checkpoint();
  ProgressBar progress(stderr_is_terminal());
  request->bind.progress = [&](const LoadProgress& p) { progress.update(p.bytes_done, p.bytes_total); };
  Result<BoundCheckpoint> bound = bind_checkpoint(**source, std::move(*store), request->bind);
  progress.finish();
  if (!bound) return report_error(bound.error());

  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const uint64_t peak_rss = peak_rss_bytes();
  const uint64_t bound_bytes = bound->bound_bytes();

  json tensors = json::array();
  for (size_t i = 0; i < bound->tensors().size(); ++i) {
    const BoundTensor& b = bound->tensors()[i];
    json t = {{"name", checkpoint.tensors[i].name}, {"dtype", dtype_name(b.dtype)}, {"shape", b.shape},
              {"bytes", b.bytes}, {"bind", b.mapped ? "mmap" : "copy"}};
    if (b.slice) t["slice"] = {{"dim", b.slice->dim}, {"begin", b.slice->begin}, {"end", b.slice->end}};
    if (args.has("hash")) {
      Sha256 hash;
      Status read = bound->visit_bytes(i, [&](const uint8_t* bytes, uint64_t n) { hash.update(bytes, n); });
      if (!read) return report_error(read.error());
      t["sha256"] = hash.finish_hex();
    }
    tensors.push_back(std::move(t));
  }

  if (args.has("json")) {
    json out = {{"tensors", tensors},
                {"bound_bytes", bound_bytes},
                {"peak_rss_bytes", peak_rss},
                {"rss_before_bytes", rss_before},
                {"staging_bytes", bound->staging_bytes()},
                {"read_bytes", bound->read_bytes()},
                {"needed_bytes", bound->needed_bytes()},
                {"rank", request->bind.rank},
                {"world_size", request->bind.world_size},
                {"seconds", seconds}};
    std::puts(detail::dump_json(out).c_str());
    return kExitOk;
  }
  if (args.has("hash")) {
    for (const json& t : tensors) {
      std::printf("%s  %s\n", t["sha256"].get<std::string>().c_str(), t["name"].get<std::string>().c_str());
    }
  }
  const size_t count = bound->tensors().size(), copied = bound->copied_count();
  std::printf("bound %zu tensors (%zu copied, %zu mapped), %.1f MB in %.3f s (%.0f MB/s); peak RSS %.1f MB (%.1f MB "
              "before loading), staging %.1f MB\n",
              count, copied, count - copied, bound_bytes / 1e6, seconds, seconds > 0 ? bound_bytes / 1e6 / seconds : 0.0,
              peak_rss / 1e6, rss_before / 1e6, bound->staging_bytes() / 1e6);
  return kExitOk;
}

}  // namespace ws::cli
