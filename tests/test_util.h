// Helpers shared by the test executables: where the real data and the fixtures are,
// scratch folders, and running the `googlenet` binary as a user would.
#pragma once

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

}  // namespace googlenet::testing
