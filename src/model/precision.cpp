#include "googlenet/model/precision.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <stdexcept>

#include "googlenet/util/errors.h"

namespace googlenet {

namespace {

// LibTorch 2.4 replaced the CPU-only autocast switches with per-device ones.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
bool cpu_autocast_enabled() { return at::autocast::is_autocast_enabled(at::kCPU); }
void set_cpu_autocast(bool enabled) {
  at::autocast::set_autocast_dtype(at::kCPU, at::kBFloat16);
  at::autocast::set_autocast_enabled(at::kCPU, enabled);
}
#else
bool cpu_autocast_enabled() { return at::autocast::is_cpu_enabled(); }
void set_cpu_autocast(bool enabled) {
  at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
  at::autocast::set_cpu_enabled(enabled);
}
#endif

}  // namespace

std::string to_string(Precision precision) {
  return precision == Precision::kBFloat16 ? "bf16" : "fp32";
}

Precision precision_from_string(const std::string& name) {
  if (name == "fp32") return Precision::kFloat32;
  if (name == "bf16") return Precision::kBFloat16;
  throw UsageError("unknown precision '" + name + "' (expected fp32 or bf16)");
}

AutocastScope::AutocastScope(Precision precision) : active_(precision == Precision::kBFloat16) {
  if (!active_) return;
  was_enabled_ = cpu_autocast_enabled();
  set_cpu_autocast(true);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  // As Python's autocast.__exit__: the outermost scope drops the cast-weight cache.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  set_cpu_autocast(was_enabled_);
}

}  // namespace googlenet
