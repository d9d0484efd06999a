#include "googlenet/util/cpu.h"

#include <sched.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace googlenet {

namespace {

constexpr int kAmdZen4Family = 25;  // Zen 3 and Zen 4 share family 0x19; only Zen 4 has AVX-512

std::string trim(const std::string& s) {
  const auto begin = s.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(" \t") - begin + 1);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return "";
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

CpuInfo parse_cpuinfo(const std::string& cpuinfo, double max_mhz) {
  CpuInfo cpu;
  std::set<std::string> flags;
  std::set<std::pair<std::string, std::string>> cores;  // (physical id, core id)
  int processors = 0;
  double mhz = 0;
  std::string physical_id, core_id;
  std::istringstream lines(cpuinfo);
  std::string line;
  while (std::getline(lines, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = trim(line.substr(0, colon)), value = trim(line.substr(colon + 1));
    if (key == "processor") {
      ++processors;
    } else if (key == "physical id") {
      physical_id = value;
    } else if (key == "core id") {
      core_id = value;
      cores.emplace(physical_id, core_id);
    } else if (processors > 1) {
      continue;  // the rest is read from the first processor's block
    } else if (key == "model name") {
      cpu.model_name = value;
    } else if (key == "vendor_id") {
      cpu.vendor = value;
    } else if (key == "cpu family") {
      cpu.family = std::atoi(value.c_str());
    } else if (key == "cpu MHz") {
      mhz = std::atof(value.c_str());
    } else if (key == "flags") {
      std::istringstream words(value);
      for (std::string flag; words >> flag;) flags.insert(flag);
    }
  }
  cpu.cores = cores.empty() ? processors : static_cast<int>(cores.size());
  if (max_mhz > 0) {
    cpu.ghz = max_mhz / 1000;
    cpu.ghz_source = "cpufreq cpuinfo_max_freq (highest boost clock)";
  } else if (mhz > 0) {
    cpu.ghz = mhz / 1000;
    cpu.ghz_source = "/proc/cpuinfo cpu MHz (current clock; in a VM the host's nominal one)";
  } else {
    cpu.ghz_source = "unknown (pass --peak-gflops)";
  }

  const auto has = [&](const char* flag) { return flags.count(flag) > 0; };
  cpu.amx = has("amx_tile");
  cpu.avx512_bf16 = has("avx512_bf16");
  if (has("avx512f")) {
    cpu.isa = "avx512";
    if (cpu.vendor == "AuthenticAMD" && cpu.family == kAmdZen4Family) {
      cpu.flops_per_cycle = 32;
      cpu.flops_per_cycle_assumption =
          "AMD Zen 4: 512-bit FMAs run as two 256-bit halves, 2 units x 8 lanes x 2";
    } else {
      cpu.flops_per_cycle = 64;
      cpu.flops_per_cycle_assumption = "2 AVX-512 FMA units x 16 fp32 lanes x 2 (mul + add)";
    }
  } else if (has("avx2") && has("fma")) {
    cpu.isa = "avx2";
    cpu.flops_per_cycle = 32;
    cpu.flops_per_cycle_assumption = "2 AVX2 FMA units x 8 fp32 lanes x 2 (mul + add)";
  } else if (has("avx")) {
    cpu.isa = "avx";
    cpu.flops_per_cycle = 16;
    cpu.flops_per_cycle_assumption = "1 AVX add + 1 AVX mul unit x 8 fp32 lanes";
  } else if (has("sse2")) {
    cpu.isa = "sse";
    cpu.flops_per_cycle = 8;
    cpu.flops_per_cycle_assumption = "1 SSE add + 1 SSE mul unit x 4 fp32 lanes";
  } else {
    cpu.isa = "unknown";
    cpu.flops_per_cycle_assumption = "no x86 vector flags found (pass --peak-gflops)";
  }
  return cpu;
}

CpuInfo detect_cpu() {
  const std::string text = read_file("/proc/cpuinfo");
  if (text.empty()) {
    throw std::runtime_error(
        "/proc/cpuinfo: cannot read it, so the CPU's peak is unknown; pass --peak-gflops");
  }
  const double max_khz =
      std::atof(read_file("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq").c_str());
  CpuInfo cpu = parse_cpuinfo(text, max_khz / 1000);
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof allowed, &allowed) == 0) {
    cpu.cores = std::min(cpu.cores, CPU_COUNT(&allowed));
  }
  return cpu;
}

int compute_cores() {
  try {
    const int cores = detect_cpu().cores;
    if (cores > 0) return cores;
  } catch (const std::runtime_error&) {
  }
  return std::max(1L, sysconf(_SC_NPROCESSORS_ONLN));
}

void set_compute_threads(int threads) {
  if (threads > 0) {
    torch::set_num_threads(threads);
  } else if (std::getenv("OMP_NUM_THREADS") == nullptr) {
    torch::set_num_threads(compute_cores());
  }
}

}  // namespace googlenet
