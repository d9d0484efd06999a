// What the benchmark runs on: the CPU's model, vector ISA, core count and clock, the
// fp32 peak they imply, and the process's peak resident memory (Linux /proc); and the
// process-wide settings that make this machine fast: compute threads and malloc.
#pragma once

#include <cstdint>
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

// cores x GHz x FLOPs/cycle: the nominal peak.
double peak_gflops(const CpuInfo& cpu);

// The peak the cores deliver, measured: register-only FMA loops on `threads` threads at
// once for `seconds` each (src/perf/peak.cpp). Zero where the ISA has no loop here (fp32: AVX2
// and AVX-512; bf16: AVX512-BF16). In a VM the nominal peak uses the host's nominal clock
// and can be far below this (e.g. 268 vs ~430 GFLOP/s on a 2-core EPYC that boosts).
struct MeasuredPeak {
  double fp32_gflops = 0;
  double bf16_gflops = 0;
  int threads = 0;
  std::string fp32_kernel, bf16_kernel;  // what was timed
};
MeasuredPeak measure_peak(const CpuInfo& cpu, int threads, double seconds = 0.25);

// Peak resident set size of this process in bytes (VmHWM of /proc/self/status, else
// getrusage's ru_maxrss).
int64_t peak_rss_bytes();
// Resets the peak to the current RSS (writes 5 to /proc/self/clear_refs), so a later
// peak_rss_bytes() covers only what ran since; false where the kernel refuses.
bool reset_peak_rss();

// Cores this process may compute on: physical cores (detect_cpu) capped by its CPU
// affinity; the number of logical CPUs where /proc/cpuinfo cannot be read.
int compute_cores();

// LibTorch's intra-op threads: `threads`, or compute_cores() for 0 unless
// OMP_NUM_THREADS is set (torchrun sets it for its workers; it is then left to LibTorch,
// which honours it). LibTorch's own default without it is often 1 in a VM.
void set_compute_threads(int threads);

// Keeps freed memory in the process instead of handing it back to the kernel (glibc).
// A training step frees and re-allocates the same hundreds of MiB of activations; with
// glibc's defaults (blocks over 128 KiB are mmap'ed, the heap top trimmed above 128 KiB)
// every step page-faults them in afresh, and the kernel zeroes each page: 14% of a
// step in the page-fault handler, 1.8x training img/s at one thread once kept (see
// docs/performance.md). Sets the mmap threshold to 32 MiB (glibc's largest) and the trim
// threshold to 1 GiB. Leaves glibc alone when GLIBC_TUNABLES sets glibc.malloc.* or
// GOOGLENET_MALLOC=system. Returns what is in effect, for reports.
std::string tune_malloc();
// What the last tune_malloc() left in effect ("glibc defaults" before any call).
std::string malloc_setting();

}  // namespace googlenet
