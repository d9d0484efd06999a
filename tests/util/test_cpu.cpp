// CPU detection on known /proc/cpuinfo texts, and the compute threads it sets.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <torch/torch.h>

#include <string>
#include <thread>

#include "googlenet/perf/machine.h"
#include "googlenet/util/cpu.h"

namespace googlenet {
namespace {

// Two processors of one socket in /proc/cpuinfo's format.
std::string cpuinfo(const std::string& vendor, int family, const std::string& flags,
                    int cores = 2) {
  std::string text;
  for (int i = 0; i < cores; ++i) {
    text += "processor\t: " + std::to_string(i) + "\nvendor_id\t: " + vendor +
            "\ncpu family\t: " + std::to_string(family) +
            "\nmodel name\t: Test CPU\ncpu MHz\t\t: 2100.000\nphysical id\t: 0\ncore id\t\t: " +
            std::to_string(i) + "\nflags\t\t: fpu sse sse2 " + flags + "\n\n";
  }
  return text;
}

TEST(Cpu, Avx512HasTwoFmaUnitsOf16Lanes) {
  const CpuInfo cpu = parse_cpuinfo(cpuinfo("GenuineIntel", 6, "avx avx2 fma avx512f amx_tile"));
  EXPECT_EQ(cpu.model_name, "Test CPU");
  EXPECT_EQ(cpu.cores, 2);
  EXPECT_EQ(cpu.isa, "avx512");
  EXPECT_TRUE(cpu.amx);
  EXPECT_EQ(cpu.flops_per_cycle, 64);
  EXPECT_DOUBLE_EQ(cpu.ghz, 2.1);
  EXPECT_NE(cpu.ghz_source.find("cpu MHz"), std::string::npos);
  EXPECT_DOUBLE_EQ(peak_gflops(cpu), 2 * 2.1 * 64);
}

TEST(Cpu, IsaTiersAndZen4) {
  EXPECT_EQ(parse_cpuinfo(cpuinfo("AuthenticAMD", 25, "avx avx2 fma avx512f")).flops_per_cycle,
            32);  // Zen 4: 512-bit ops in two halves
  EXPECT_EQ(parse_cpuinfo(cpuinfo("AuthenticAMD", 26, "avx avx2 fma avx512f")).flops_per_cycle,
            64);  // Zen 5
  const CpuInfo avx2 = parse_cpuinfo(cpuinfo("GenuineIntel", 6, "avx avx2 fma"));
  EXPECT_EQ(avx2.isa, "avx2");
  EXPECT_EQ(avx2.flops_per_cycle, 32);
  EXPECT_FALSE(avx2.amx);
  EXPECT_EQ(parse_cpuinfo(cpuinfo("GenuineIntel", 6, "avx")).flops_per_cycle, 16);
  EXPECT_EQ(parse_cpuinfo(cpuinfo("GenuineIntel", 6, "")).isa, "sse");
}

TEST(Cpu, MaxFrequencyWinsAndHyperthreadsAreOneCore) {
  std::string text = cpuinfo("GenuineIntel", 6, "avx avx2 fma", 1);
  text += text;  // a second logical CPU on the same core
  const CpuInfo cpu = parse_cpuinfo(text, /*max_mhz=*/3500);
  EXPECT_EQ(cpu.cores, 1);
  EXPECT_DOUBLE_EQ(cpu.ghz, 3.5);
  EXPECT_NE(cpu.ghz_source.find("cpuinfo_max_freq"), std::string::npos);
}

TEST(Cpu, ZeroThreadsMeansEveryCore) {
  unsetenv("OMP_NUM_THREADS");
  const int cores = compute_cores();
  EXPECT_GE(cores, 1);
  EXPECT_LE(cores, static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  set_compute_threads(0);
  EXPECT_EQ(torch::get_num_threads(), cores);
  set_compute_threads(1);
  EXPECT_EQ(torch::get_num_threads(), 1);
  setenv("OMP_NUM_THREADS", "1", 1);  // as torchrun sets it: 0 leaves the count alone
  set_compute_threads(0);
  EXPECT_EQ(torch::get_num_threads(), 1);
  unsetenv("OMP_NUM_THREADS");
}

}  // namespace
}  // namespace googlenet
