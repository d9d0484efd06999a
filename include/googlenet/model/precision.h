// Reduced precision on the CPU: LibTorch's autocast to bfloat16 (what Python's
// `torch.autocast("cpu", dtype=torch.bfloat16)` does). Weights, gradients and the
// optimizer stay float32 ("master weights"); convolutions and linear layers run in
// bf16 on oneDNN's AVX512-BF16/AMX kernels where the CPU has them.
#pragma once

#include <string>

namespace googlenet {

enum class Precision { kFloat32, kBFloat16 };

std::string to_string(Precision precision);
// "fp32" or "bf16"; throws UsageError (util/errors.h) naming the value otherwise.
Precision precision_from_string(const std::string& name);

// Autocast for the scope when `precision` is bf16 (nothing for fp32). Its cast
// weights are cached for the scope and dropped at its end, so open one per step
// (after an update the cached copies would be stale).
class AutocastScope {
 public:
  explicit AutocastScope(Precision precision);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false;
  bool was_enabled_ = false;
};

}  // namespace googlenet
