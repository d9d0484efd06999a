#include "googlenet/perf/machine.h"

#include <sys/resource.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace googlenet {

double peak_gflops(const CpuInfo& cpu) { return cpu.cores * cpu.ghz * cpu.flops_per_cycle; }

int64_t peak_rss_bytes() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atoll(line.c_str() + 6) * 1024;  // "N kB"
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;  // Linux reports kilobytes
}

bool reset_peak_rss() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
  clear.flush();
  return static_cast<bool>(clear);
}

}  // namespace googlenet
