// c10d's ProcessGroupGloo behind the model's Collective. LibTorch reports
// failures by throwing (c10::Error, gloo::IoException, ...): every call is
// caught here and becomes an Error, so nothing above this file sees one.
#include "torch/process_group.h"

#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#if defined(WS_C10D_GLOO)
#include <ATen/ATen.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

namespace ws {

namespace {

Result<uint64_t> env_number(const char* name, uint64_t max) {
  const char* text = std::getenv(name);
  char* end = nullptr;
  const unsigned long long value = std::strtoull(text, &end, 10);
  if (!*text || *end != '\0' || text[0] == '-' || value > max) {
    return make_error(ErrorKind::InvalidArgument, std::string(name) + "=\"" + text +
                                                      "\" is not a whole number from 0 to " + std::to_string(max));
  }
  return static_cast<uint64_t>(value);
}

#if defined(WS_C10D_GLOO)
// A collective's exception as an Error: a peer that went away (its socket
// closed or reset) is Io, a peer that did not answer in time is Timeout.
Error collective_error(const char* what, const std::exception& e, const ProcessGroupOptions& options) {
  const std::string message = e.what();
  const bool timed_out = message.find("imeout") != std::string::npos || message.find("imed out") != std::string::npos;
  std::string text = std::string(what) + " on rank " + std::to_string(options.rank) + " of " +
                     std::to_string(options.world_size) + " failed";
  text += timed_out ? " (no answer within " + std::to_string(options.timeout.count() / 1000) + " s)"
                    : " (a rank has exited or cannot be reached)";
  // c10d's messages carry a C++ backtrace after the first line: keep the first.
  text += ": " + message.substr(0, message.find('\n'));
  return Error{timed_out ? ErrorKind::Timeout : ErrorKind::Io, text};
}

class GlooGroup final : public Collective {
 public:
  GlooGroup(ProcessGroupOptions options, c10::intrusive_ptr<c10d::ProcessGroupGloo> group)
      : options_(std::move(options)), group_(std::move(group)) {}

  size_t rank() const override { return options_.rank; }
  size_t world_size() const override { return options_.world_size; }

  Status all_reduce_sum(float* x, size_t n) override {
    try {
      std::vector<at::Tensor> tensors{at::from_blob(x, {static_cast<int64_t>(n)}, at::kFloat)};
      group_->allreduce(tensors)->wait(options_.timeout);
    } catch (const std::exception& e) {
      return collective_error("all-reduce", e, options_);
    }
    return Status::ok();
  }

  Status broadcast(int32_t* x, size_t n) override {
    try {
      std::vector<at::Tensor> tensors{at::from_blob(x, {static_cast<int64_t>(n)}, at::kInt)};
      c10d::BroadcastOptions root;
      root.rootRank = 0;
      group_->broadcast(tensors, root)->wait(options_.timeout);
    } catch (const std::exception& e) {
      return collective_error("broadcast", e, options_);
    }
    return Status::ok();
  }

  Result<std::vector<uint64_t>> all_gather(const std::vector<uint64_t>& values) override {
    const int64_t n = static_cast<int64_t>(values.size());
    std::vector<uint64_t> gathered(values.size() * options_.world_size);
    try {
      std::vector<uint64_t> input = values;  // from_blob wants a mutable pointer
      std::vector<at::Tensor> inputs{at::from_blob(input.data(), {n}, at::kLong)};
      std::vector<std::vector<at::Tensor>> outputs(1);
      for (size_t r = 0; r < options_.world_size; ++r) {
        outputs[0].push_back(at::from_blob(gathered.data() + r * values.size(), {n}, at::kLong));
      }
      group_->allgather(outputs, inputs)->wait(options_.timeout);
    } catch (const std::exception& e) {
      return collective_error("all-gather", e, options_);
    }
    return gathered;
  }

 private:
  ProcessGroupOptions options_;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group_;
};
#endif  // WS_C10D_GLOO

}  // namespace

Result<std::optional<ProcessGroupOptions>> process_group_from_env() {
  if (!std::getenv("WORLD_SIZE")) return std::optional<ProcessGroupOptions>();
  ProcessGroupOptions options;
  WS_ASSIGN_OR_RETURN(options.world_size, env_number("WORLD_SIZE", 1u << 16));
  if (options.world_size == 0) return make_error(ErrorKind::InvalidArgument, "WORLD_SIZE=0");
  if (options.world_size > 1 && !std::getenv("RANK")) {
    return make_error(ErrorKind::InvalidArgument, "WORLD_SIZE is " + std::to_string(options.world_size) +
                                                      " but RANK is not set (start each rank with RANK, as torchrun does)");
  }
  if (std::getenv("RANK")) {
    WS_ASSIGN_OR_RETURN(options.rank, env_number("RANK", 1u << 16));
  }
  if (options.rank >= options.world_size) {
    return make_error(ErrorKind::InvalidArgument, "RANK=" + std::to_string(options.rank) + " is outside WORLD_SIZE=" +
                                                      std::to_string(options.world_size));
  }
  if (std::getenv("LOCAL_RANK")) {
    WS_ASSIGN_OR_RETURN(options.local_rank, env_number("LOCAL_RANK", 1u << 16));
  }
  if (const char* addr = std::getenv("MASTER_ADDR"); addr && *addr) options.master_addr = addr;
  if (std::getenv("MASTER_PORT")) {
    WS_ASSIGN_OR_RETURN(const uint64_t port, env_number("MASTER_PORT", 65535));
    if (port == 0) return make_error(ErrorKind::InvalidArgument, "MASTER_PORT=0");
    options.master_port = static_cast<uint16_t>(port);
  }
  if (std::getenv("WS_DIST_TIMEOUT_S")) {
    WS_ASSIGN_OR_RETURN(const uint64_t seconds, env_number("WS_DIST_TIMEOUT_S", 86400));
    if (seconds == 0) return make_error(ErrorKind::InvalidArgument, "WS_DIST_TIMEOUT_S=0");
    options.timeout = std::chrono::seconds(seconds);
  }
  if (const char* agent = std::getenv("TORCHELASTIC_USE_AGENT_STORE")) options.agent_store = std::string(agent) == "True";
  if (std::getenv("TORCHELASTIC_RESTART_COUNT")) {
    WS_ASSIGN_OR_RETURN(const uint64_t count, env_number("TORCHELASTIC_RESTART_COUNT", 1u << 20));
    options.restart_count = static_cast<int>(count);
  }
  return std::optional<ProcessGroupOptions>(options);
}

Result<std::unique_ptr<Collective>> make_gloo_group(const ProcessGroupOptions& options) {
#if !defined(WS_C10D_GLOO)
  return make_error(ErrorKind::Unsupported, "this build's LibTorch came without c10d's Gloo headers (Debian: "
                                            "libgloo-dev): no process group for rank " + std::to_string(options.rank));
#else
  const std::string where = options.master_addr + ":" + std::to_string(options.master_port);
  try {
    c10d::TCPStoreOptions store_options;
    store_options.port = options.master_port;
    store_options.isServer = !options.agent_store && options.rank == 0;
    store_options.numWorkers = options.world_size;
    store_options.waitWorkers = false;  // Gloo's own rendezvous waits for every rank
    store_options.timeout = options.timeout;
    c10::intrusive_ptr<c10d::Store> store = c10::make_intrusive<c10d::TCPStore>(options.master_addr, store_options);
    if (options.agent_store) {
      store = c10::make_intrusive<c10d::PrefixStore>("/worker/attempt_" + std::to_string(options.restart_count),
                                                     store);
    }
    auto gloo_options = c10d::ProcessGroupGloo::Options::create(options.timeout);
    // GLOO_SOCKET_IFNAME picks the interface across hosts, as in torch.distributed.
    if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname) {
      gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
    } else {
      gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    }
    gloo_options->threads = 2;
    auto group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, static_cast<int>(options.rank),
                                                              static_cast<int>(options.world_size), gloo_options);
    return std::unique_ptr<Collective>(new GlooGroup(options, std::move(group)));
  } catch (const std::exception& e) {
    const std::string message = e.what();
    const bool timed_out = message.find("imeout") != std::string::npos || message.find("imed out") != std::string::npos;
    return make_error(timed_out ? ErrorKind::Timeout : ErrorKind::Io,
                      "rank " + std::to_string(options.rank) + " could not join the group of " +
                          std::to_string(options.world_size) + " at " + where + " (every rank needs the same " +
                          "MASTER_ADDR, MASTER_PORT and WORLD_SIZE, and rank 0 must be running): " +
                          message.substr(0, message.find('\n')));
  }
#endif
}

}  // namespace ws
