// The arithmetic peak measured rather than computed: every compute thread runs a loop
// of independent fused multiply-adds on registers only (no memory traffic), so the
// rate is what the cores' vector units really deliver at the clock they really run.
// In a VM /proc/cpuinfo shows the host's nominal clock while the cores boost well
// above it; a peak from it overstates the "% of peak" of everything measured against it.
#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "googlenet/perf/machine.h"

namespace googlenet {

namespace {

// 12 independent accumulators hide the FMA latency (4 cycles) on two units; the chain
// values stay finite (x * ~1 + tiny) so no denormal or infinity slows the loop down.
constexpr int kChains = 12;
constexpr int64_t kInnerIterations = 1 << 16;

__attribute__((target("avx512f"))) float fma_loop_avx512(int64_t rounds) {
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(i));
  const __m512 scale = _mm512_set1_ps(0.9999999f), shift = _mm512_set1_ps(1e-7f);
  for (int64_t r = 0; r < rounds; ++r) {
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], scale, shift);
  }
  float sum = 0;
  for (int i = 0; i < kChains; ++i) sum += _mm512_reduce_add_ps(acc[i]);
  return sum;
}

__attribute__((target("avx2,fma"))) float fma_loop_avx2(int64_t rounds) {
  __m256 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm256_set1_ps(static_cast<float>(i));
  const __m256 scale = _mm256_set1_ps(0.9999999f), shift = _mm256_set1_ps(1e-7f);
  for (int64_t r = 0; r < rounds; ++r) {
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i) acc[i] = _mm256_fmadd_ps(acc[i], scale, shift);
  }
  alignas(32) float lanes[8];
  float sum = 0;
  for (int i = 0; i < kChains; ++i) {
    _mm256_store_ps(lanes, acc[i]);
    for (float lane : lanes) sum += lane;
  }
  return sum;
}

// vdpbf16ps: 16 lanes x 2 bf16 products accumulated in fp32 = 64 FLOPs per instruction.
__attribute__((target("avx512f,avx512bf16"))) float dot_loop_bf16(int64_t rounds) {
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_setzero_ps();
  const __m512bh a = (__m512bh)_mm512_set1_epi16(0x3f80);  // bf16 1.0
  const __m512bh b = (__m512bh)_mm512_set1_epi16(0x3380);  // bf16 ~6e-8
  for (int64_t r = 0; r < rounds; ++r) {
#pragma GCC unroll 12
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_dpbf16_ps(acc[i], a, b);
  }
  float sum = 0;
  for (int i = 0; i < kChains; ++i) sum += _mm512_reduce_add_ps(acc[i]);
  return sum;
}

// Runs `loop` on `threads` threads at once for about `seconds` and returns the summed
// GFLOP/s; `flops_per_round` counts one round of the loop.
template <typename Loop>
double run_concurrently(Loop loop, double flops_per_round, int threads, double seconds) {
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<double> rates(static_cast<std::size_t>(threads), 0);
  std::vector<std::thread> workers;
  std::atomic<float> sink{0};  // keeps the loops' results alive
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      ready.fetch_add(1);
      while (!go.load()) std::this_thread::yield();
      using Clock = std::chrono::steady_clock;
      const auto start = Clock::now();
      int64_t rounds = 0;
      float result = 0;
      double elapsed = 0;
      do {  // whole chunks until the time is up: every thread's own rate
        result += loop(kInnerIterations);
        rounds += kInnerIterations;
        elapsed = std::chrono::duration<double>(Clock::now() - start).count();
      } while (elapsed < seconds);
      rates[static_cast<std::size_t>(t)] = static_cast<double>(rounds) * flops_per_round / elapsed;
      sink.store(sink.load() + result);
    });
  }
  while (ready.load() < threads) std::this_thread::yield();
  go.store(true);
  for (auto& worker : workers) worker.join();
  double total = 0;
  for (double rate : rates) total += rate;
  return total / 1e9;
}

}  // namespace

MeasuredPeak measure_peak(const CpuInfo& cpu, int threads, double seconds) {
  if (threads < 1) throw std::invalid_argument("measure_peak: threads must be at least 1");
  MeasuredPeak peak;
  peak.threads = threads;
  // A short untimed run first wakes the cores from their idle clock.
  if (cpu.isa == "avx512") {
    run_concurrently(fma_loop_avx512, 0, threads, seconds / 4);
    peak.fp32_gflops = run_concurrently(fma_loop_avx512, kChains * 16.0 * 2, threads, seconds);
    peak.fp32_kernel = "AVX-512 FMA (vfmadd, 16 fp32 lanes x 2 FLOPs)";
  } else if (cpu.isa == "avx2") {
    run_concurrently(fma_loop_avx2, 0, threads, seconds / 4);
    peak.fp32_gflops = run_concurrently(fma_loop_avx2, kChains * 8.0 * 2, threads, seconds);
    peak.fp32_kernel = "AVX2 FMA (vfmadd, 8 fp32 lanes x 2 FLOPs)";
  }
  if (cpu.avx512_bf16) {
    peak.bf16_gflops = run_concurrently(dot_loop_bf16, kChains * 16.0 * 4, threads, seconds);
    peak.bf16_kernel = "AVX512-BF16 dot product (vdpbf16ps, 16 lanes x 2 products x 2 FLOPs)";
  }
  return peak;
}

}  // namespace googlenet
