// perf/machine: the measured fp32/bf16 peak of this machine's cores and the process's
// peak resident memory.
#include <gtest/gtest.h>

#include <stdexcept>

#include "googlenet/perf/machine.h"
#include "googlenet/util/cpu.h"

namespace googlenet {
namespace {

// The measured peak: each kernel runs on the threads asked for and reports a rate (what
// that rate is, against the nominal peak or between runs, is `googlenet bench`'s to
// measure, not a test's: tests share the cores).
TEST(Machine, MeasuredPeakRunsItsKernelsOnTheThreadsAsked) {
  const CpuInfo cpu = detect_cpu();
  if (cpu.isa != "avx512" && cpu.isa != "avx2") GTEST_SKIP() << "no FMA loop for " << cpu.isa;
  for (const int threads : {1, 2}) {
    const MeasuredPeak peak = measure_peak(cpu, threads, 0.05);
    EXPECT_EQ(peak.threads, threads);
    EXPECT_GT(peak.fp32_gflops, 0) << peak.fp32_kernel;
    EXPECT_FALSE(peak.fp32_kernel.empty());
    if (cpu.avx512_bf16) {
      EXPECT_GT(peak.bf16_gflops, 0) << peak.bf16_kernel;
    } else {
      EXPECT_EQ(peak.bf16_gflops, 0);
    }
  }
  EXPECT_THROW(measure_peak(cpu, 0), std::invalid_argument);
}

TEST(Machine, ThisMachineHasAPeakAndMemory) {
  const CpuInfo cpu = detect_cpu();
  EXPECT_GE(cpu.cores, 1);
  EXPECT_FALSE(cpu.isa.empty());
  EXPECT_GT(cpu.ghz, 0.1);
  EXPECT_LT(cpu.ghz, 10);
  EXPECT_GT(peak_gflops(cpu), 0);
  EXPECT_GT(peak_rss_bytes(), 1 << 20);
}

}  // namespace
}  // namespace googlenet
