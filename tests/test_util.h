// Helpers shared by the test suites: where the real data and the fixtures are,
// scratch folders, and running the `googlenet` binary as a user would.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>

namespace googlenet::testing {

// Folder holding the real CIFAR-10 (`cifar-10-batches-bin/`): $GOOGLENET_DATA,
// which ctest sets (default ../shared/data beside the repository).
std::filesystem::path data_dir();
std::filesystem::path cifar_bin_dir();  // data_dir() / "cifar-10-batches-bin"

// A file committed under tests/fixtures (made by scripts/make_fixtures.py).
std::filesystem::path fixture(const std::string& name);

// A whole file's bytes; both throw when the file cannot be read or written.
std::string read_bytes(const std::filesystem::path& path);
void write_bytes(const std::filesystem::path& path, const std::string& bytes);

// Passes when `text` contains `part`; prints both otherwise.
::testing::AssertionResult Contains(const std::string& text, const std::string& part);

// `path` in single quotes, for run_cli's command lines.
std::string quoted(const std::filesystem::path& path);

// A fresh empty folder, removed with everything in it when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// What error_of returns when `f` throws nothing.
inline constexpr char kNoError[] = "(nothing thrown)";

// The message of the E that `f` throws (other exceptions propagate), or kNoError.
template <typename E = std::exception>
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return kNoError;
}

// Runs the built `googlenet` binary with `args` (shell-quoted by the caller).
CommandResult run_cli(const std::string& args);

// The `googlenet` binary running in the background (args as for run_cli), its
// stdout and stderr captured, for tests that signal or kill it mid-run.
class BackgroundCli {
 public:
  explicit BackgroundCli(const std::string& args);
  ~BackgroundCli();  // SIGKILLs and reaps it if it still runs
  BackgroundCli(const BackgroundCli&) = delete;
  BackgroundCli& operator=(const BackgroundCli&) = delete;

  // Reads output until it contains `text` (true), or the output ends or `timeout`
  // passes (false).
  bool wait_for(const std::string& text, std::chrono::seconds timeout);
  // Reads to the end and reaps: the exit code (128 + signal when killed), or -1 when
  // it was still running after `timeout` (it is then killed).
  int wait(std::chrono::seconds timeout);
  pid_t pid() const { return pid_; }
  const std::string& output() const { return output_; }

 private:
  bool read_some(std::chrono::milliseconds timeout);  // false at end of output

  pid_t pid_ = -1;
  int fd_ = -1;
  bool reaped_ = false;
  std::string output_;
};

}  // namespace googlenet::testing
