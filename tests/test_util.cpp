#include "test_util.h"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <stdexcept>

namespace googlenet::testing {

namespace fs = std::filesystem;

fs::path data_dir() {
  const char* env = std::getenv("GOOGLENET_DATA");
  return fs::path(env != nullptr ? env : "../shared/data");
}

fs::path cifar_bin_dir() { return data_dir() / "cifar-10-batches-bin"; }

fs::path fixture(const std::string& name) { return fs::path(GOOGLENET_FIXTURES) / name; }

TempDir::TempDir() {
  std::random_device rd;
  path_ = fs::temp_directory_path() / ("googlenet-test-" + std::to_string(rd()));
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

CommandResult run_cli(const std::string& args) {
  const std::string command = std::string("'") + GOOGLENET_BINARY + "' " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("popen failed: " + command);
  CommandResult result;
  std::array<char, 4096> buffer{};
  size_t n = 0;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    result.output.append(buffer.data(), n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

}  // namespace googlenet::testing
