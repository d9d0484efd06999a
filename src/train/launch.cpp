#include "googlenet/train/launch.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "googlenet/util/errors.h"

extern char** environ;

namespace googlenet {

namespace {

std::atomic<int> g_forward_signal{0};

void remember_signal(int signal) { g_forward_signal.store(signal); }

// The environment of this process with torchrun's variables set for `rank`.
std::vector<std::string> worker_environment(const LaunchOptions& options, int rank, int port) {
  const std::vector<std::pair<std::string, std::string>> ours = {
      {"RANK", std::to_string(rank)},
      {"LOCAL_RANK", std::to_string(rank)},
      {"WORLD_SIZE", std::to_string(options.nproc)},
      {"LOCAL_WORLD_SIZE", std::to_string(options.nproc)},
      {"MASTER_ADDR", options.master_addr},
      {"MASTER_PORT", std::to_string(port)}};
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    bool replaced = false;
    for (const auto& [name, value] : ours) replaced = replaced || entry.rfind(name + "=", 0) == 0;
    if (!replaced) env.push_back(entry);
  }
  for (const auto& [name, value] : ours) env.push_back(name + "=" + value);
  return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> result;
  for (auto& s : strings) result.push_back(s.data());
  result.push_back(nullptr);
  return result;
}

std::string describe(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return "was killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
           strsignal(WTERMSIG(status)) + ")";
  }
  return "stopped with wait status " + std::to_string(status);
}

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace

int free_port(const std::string& address) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  if (inet_pton(AF_INET, address == "localhost" ? "127.0.0.1" : address.c_str(), &addr.sin_addr) !=
      1) {
    close(fd);
    throw UsageError("--master-addr '" + address +
                     "' is not an IPv4 address; give --master-port too");
  }
  socklen_t length = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
    const std::string why = std::strerror(errno);
    close(fd);
    throw std::runtime_error("cannot find a free port on " + address + ": " + why);
  }
  close(fd);
  return ntohs(addr.sin_port);
}

int launch_local_workers(const LaunchOptions& options, std::ostream& log) {
  if (options.nproc < 1) throw UsageError("--nproc must be at least 1");
  if (options.worker_args.empty()) throw std::invalid_argument("no worker command line");
  const int port = options.master_port > 0 ? options.master_port : free_port(options.master_addr);

  struct sigaction action {};
  action.sa_handler = remember_signal;
  sigemptyset(&action.sa_mask);
  struct sigaction old_int {
  }, old_term{};
  sigaction(SIGINT, &action, &old_int);
  sigaction(SIGTERM, &action, &old_term);

  std::vector<pid_t> pids(options.nproc, -1);
  std::vector<bool> running(options.nproc, false);
  auto signal_all = [&](int signal) {
    for (int r = 0; r < options.nproc; ++r) {
      if (running[r]) kill(pids[r], signal);
    }
  };
  int result = 0;
  int first_failure = -1;
  for (int rank = 0; rank < options.nproc; ++rank) {
    auto args = options.worker_args;
    auto env = worker_environment(options, rank, port);
    auto argv = pointers(args);
    auto envp = pointers(env);
    pid_t pid = -1;
    const int error =
        posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, argv.data(), envp.data());
    if (error != 0) {
      log << "launcher: cannot start rank " << rank << ": " << std::strerror(error) << "\n";
      signal_all(SIGTERM);
      result = 1;
      first_failure = rank;
      break;
    }
    pids[rank] = pid;
    running[rank] = true;
  }
  if (first_failure < 0) {
    log << "launcher: " << options.nproc << " ranks on " << options.master_addr << ":" << port
        << " (pids";
    for (const pid_t pid : pids) log << " " << pid;
    log << ")\n";
  }

  using Clock = std::chrono::steady_clock;
  Clock::time_point failed_at{};
  int escalation = 0;  // 0 none, 1 SIGTERM sent, 2 SIGKILL sent
  bool interrupted = false;
  int live = 0;
  for (int r = 0; r < options.nproc; ++r) live += running[r] ? 1 : 0;
  while (live > 0) {
    if (const int signal = g_forward_signal.exchange(0); signal != 0) {
      signal_all(signal);
      interrupted = true;
    }
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      for (int r = 0; r < options.nproc; ++r) {
        if (pids[r] != pid || !running[r]) continue;
        running[r] = false;
        --live;
        if (exit_code(status) == 0) continue;
        if (interrupted && exit_code(status) == 130) {  // the rank said how to resume
          if (first_failure < 0) first_failure = r, result = 130, failed_at = Clock::now();
          continue;
        }
        log << "launcher: rank " << r << " " << describe(status);
        if (first_failure < 0) {
          first_failure = r;
          result = exit_code(status);
          failed_at = Clock::now();
          if (live > 0) log << "; stopping the others";
        }
        log << "\n";
      }
      continue;
    }
    if (first_failure >= 0 && live > 0) {
      const auto waited = Clock::now() - failed_at;
      if (escalation == 0 && waited > options.grace) {
        log << "launcher: sending SIGTERM to the ranks still running\n";
        signal_all(SIGTERM);
        signal_all(SIGCONT);  // a stopped rank must run to act on it
        escalation = 1;
      } else if (escalation == 1 && waited > 2 * options.grace) {
        log << "launcher: sending SIGKILL to the ranks still running\n";
        signal_all(SIGKILL);
        escalation = 2;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  return result;
}

}  // namespace googlenet
