// What the benchmark measures against: the arithmetic peak of the CPU (util/cpu.h), nominal
// and measured, and the process's peak resident memory (Linux /proc).
#pragma once

#include <cstdint>
#include <string>

#include "googlenet/util/cpu.h"

namespace googlenet {

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

}  // namespace googlenet
