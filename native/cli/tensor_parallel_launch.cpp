#include "cli/tensor_parallel_launch.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "api/load_model.h"
#include "cli/args.h"

namespace ws::cli {

namespace {

// A port nobody listens on now: bind port 0, read what the kernel chose,
// close. (Another process could take it before rank 0 binds it; torchrun's
// --standalone has the same window.)
Result<uint16_t> free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return make_error(ErrorKind::Io, std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &size) != 0) {
    const std::string why = std::strerror(errno);
    close(fd);
    return make_error(ErrorKind::Io, "choosing a free port for --tp: " + why);
  }
  close(fd);
  return ntohs(addr.sin_port);
}

std::string describe_exit(int status) {
  if (WIFSIGNALED(status)) return std::string("was killed by signal ") + std::to_string(WTERMSIG(status));
  return "exited with status " + std::to_string(WEXITSTATUS(status));
}

// Seconds the other ranks get to notice a lost peer before they are killed:
// the group's timeout (WS_DIST_TIMEOUT_S, default 300) plus a little.
int grace_seconds() {
  const char* text = std::getenv("WS_DIST_TIMEOUT_S");
  const int seconds = text ? std::atoi(text) : 0;
  return (seconds > 0 ? seconds : 300) + 5;
}

}  // namespace

std::optional<int> launch_tensor_parallel(int argc, char** argv) {
  std::vector<char*> rest;
  std::optional<std::string> value;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--tp" && i + 1 < argc) {
      value = argv[++i];
    } else if (arg.rfind("--tp=", 0) == 0) {
      value = arg.substr(5);
    } else if (arg == "--tp") {
      value = "";
    } else {
      rest.push_back(argv[i]);
    }
  }
  if (!value) return std::nullopt;
  const int ranks = std::atoi(value->c_str());
  if (value->empty() || value->find_first_not_of("0123456789") != std::string::npos || ranks < 1 || ranks > 256) {
    std::fprintf(stderr, "weightstream: --tp takes the number of local ranks (1 to 256), got \"%s\"\n", value->c_str());
    return kExitUsage;
  }
  if (!has_process_groups()) {
    return report_error(make_error(ErrorKind::Unsupported, "--tp needs torch.distributed (c10d); this build has no "
                                                           "LibTorch (configure with -DWS_TORCH=ON, preset native-torch)"));
  }
  if (std::getenv("WORLD_SIZE")) {
    std::fprintf(stderr, "weightstream: --tp starts its own ranks; it cannot run inside a launched group "
                         "(WORLD_SIZE is set): use one or the other\n");
    return kExitUsage;
  }
  Result<uint16_t> port = free_port();
  if (!port) return report_error(port.error());
  // The first argument is the command's name (argv of run_generate starts at
  // the command): the program itself is /proc/self/exe.
  std::vector<std::string> program_args;
  program_args.push_back("weightstream");
  for (char* a : rest) program_args.push_back(a);
  std::vector<pid_t> children;
  for (int rank = 0; rank < ranks; ++rank) {
    const pid_t pid = fork();
    if (pid < 0) {
      std::fprintf(stderr, "weightstream: fork: %s\n", std::strerror(errno));
      for (pid_t child : children) kill(child, SIGKILL);
      for (pid_t child : children) waitpid(child, nullptr, 0);
      return kExitRuntimeError;
    }
    if (pid == 0) {
      setenv("RANK", std::to_string(rank).c_str(), 1);
      setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
      setenv("WORLD_SIZE", std::to_string(ranks).c_str(), 1);
      setenv("LOCAL_WORLD_SIZE", std::to_string(ranks).c_str(), 1);
      setenv("MASTER_ADDR", "127.0.0.1", 1);
      setenv("MASTER_PORT", std::to_string(*port).c_str(), 1);
      std::vector<char*> child_argv;
      for (std::string& a : program_args) child_argv.push_back(a.data());
      child_argv.push_back(nullptr);
      execv("/proc/self/exe", child_argv.data());
      std::fprintf(stderr, "weightstream: exec of rank %d: %s\n", rank, std::strerror(errno));
      _exit(kExitRuntimeError);
    }
    children.push_back(pid);
  }
  // Reap in any order; after the first failure the rest get grace_seconds()
  // to end by themselves, then are killed.
  int exit_code = kExitOk;
  size_t running = children.size();
  std::optional<std::chrono::steady_clock::time_point> deadline;
  while (running > 0) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, deadline ? WNOHANG : 0);
    if (pid < 0 && errno == EINTR) continue;
    if (pid < 0) break;
    if (pid == 0) {  // only with WNOHANG: somebody is still running
      if (std::chrono::steady_clock::now() > *deadline) {
        for (size_t r = 0; r < children.size(); ++r) {
          if (children[r] > 0) {
            std::fprintf(stderr, "weightstream: rank %zu did not end after a peer failed; killing it\n", r);
            kill(children[r], SIGKILL);
          }
        }
        deadline = std::chrono::steady_clock::now() + std::chrono::hours(1);  // now only reaping
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    for (size_t r = 0; r < children.size(); ++r) {
      if (children[r] != pid) continue;
      children[r] = -1;
      --running;
      if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        std::fprintf(stderr, "weightstream: rank %zu of %d %s\n", r, ranks, describe_exit(status).c_str());
        exit_code = kExitRuntimeError;
        if (!deadline) deadline = std::chrono::steady_clock::now() + std::chrono::seconds(grace_seconds());
      }
    }
  }
  return exit_code;
}

Result<std::unique_ptr<Collective>> join_tensor_parallel() {
  WS_ASSIGN_OR_RETURN(std::optional<ProcessGroupOptions> options, process_group_options_from_env());
  if (!options || options->world_size == 1) return std::unique_ptr<Collective>();
  WS_ASSIGN_OR_RETURN(std::unique_ptr<Collective> group, join_process_group(*options));
  if (options->rank != 0) {
    // One answer, from rank 0: the other ranks compute the same tokens.
    std::fflush(stdout);
    const int null_fd = open("/dev/null", O_WRONLY);
    if (null_fd >= 0) {
      dup2(null_fd, STDOUT_FILENO);
      close(null_fd);
    }
  }
  return group;
}

int threads_per_local_rank() {
  const char* local = std::getenv("LOCAL_WORLD_SIZE");
  if (!local) local = std::getenv("WORLD_SIZE");
  const int ranks = local ? std::max(1, std::atoi(local)) : 1;
  const int hardware = std::max(1u, std::thread::hardware_concurrency());
  return std::max(1, hardware / ranks);
}

Result<nlohmann::json> gather_rank_reports(Collective& group, uint64_t bytes_read, uint64_t measured_read_bytes,
                                           uint64_t bound_bytes, uint64_t peak_rss_bytes) {
  WS_ASSIGN_OR_RETURN(std::vector<uint64_t> all,
                      group.all_gather({bytes_read, measured_read_bytes, bound_bytes, peak_rss_bytes}));
  nlohmann::json ranks = nlohmann::json::array();
  for (size_t r = 0; r < group.world_size(); ++r) {
    ranks.push_back({{"rank", r}, {"bytes_read", all[4 * r]}, {"measured_read_bytes", all[4 * r + 1]},
                     {"bound_bytes", all[4 * r + 2]}, {"peak_rss_bytes", all[4 * r + 3]}});
  }
  return ranks;
}

}  // namespace ws::cli
