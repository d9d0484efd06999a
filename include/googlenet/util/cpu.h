// The CPU this process runs on (model, vector ISA, cores, clock; Linux /proc) and the
// compute threads it uses: what training, evaluation and the benchmark size themselves by.
#pragma once

#include <string>

namespace googlenet {

struct CpuInfo {
  std::string model_name;  // /proc/cpuinfo "model name", e.g. "AMD EPYC 9B45"
  std::string vendor;      // "GenuineIntel", "AuthenticAMD", ...
  int family = 0;          // "cpu family" (AMD 25: Zen 3/4, 26: Zen 5)
  int cores = 0;           // physical cores: distinct (physical id, core id) pairs
  std::string isa;         // widest fp32 FMA ISA: "avx512", "avx2", "avx", "sse", "unknown"
  bool amx = false;        // AMX tiles (bf16/int8 only: not part of the fp32 peak)
  bool avx512_bf16 = false;
  double ghz = 0;
  std::string ghz_source;   // where `ghz` came from
  int flops_per_cycle = 0;  // fp32 FLOPs per core per cycle for `isa`
  std::string flops_per_cycle_assumption;
};

// Parses /proc/cpuinfo text. `max_mhz` > 0 (cpufreq's cpuinfo_max_freq) is preferred
// to the "cpu MHz" lines, which show the current clock (in a VM, usually the host's
// nominal one). FLOPs per cycle assume 2 FMA units per core: AVX-512 2 x 16 lanes x 2
// = 64 (32 on AMD Zen 4, family 25, which splits 512-bit ops into two 256-bit halves),
// AVX2+FMA 2 x 8 x 2 = 32, AVX (no FMA) 8 x (1 add + 1 mul) = 16, SSE 8.
CpuInfo parse_cpuinfo(const std::string& cpuinfo, double max_mhz = 0);

// This machine: /proc/cpuinfo and /sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq,
// cores capped by the CPUs this process may run on (sched_getaffinity). Throws
// std::runtime_error when /proc/cpuinfo cannot be read.
CpuInfo detect_cpu();

// Cores this process may compute on: physical cores (detect_cpu) capped by its CPU
// affinity; the number of logical CPUs where /proc/cpuinfo cannot be read.
int compute_cores();

// LibTorch's intra-op threads: `threads`, or compute_cores() for 0 unless
// OMP_NUM_THREADS is set (torchrun sets it for its workers; it is then left to LibTorch,
// which honours it). LibTorch's own default without it is often 1 in a VM.
void set_compute_threads(int threads);

}  // namespace googlenet
