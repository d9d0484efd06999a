#include "googlenet/model/device.h"

#include <stdexcept>

#include "googlenet/util/errors.h"

namespace googlenet {

std::string to_string(DeviceChoice device) {
  switch (device) {
    case DeviceChoice::kCpu:
      return "cpu";
    case DeviceChoice::kCuda:
      return "cuda";
    case DeviceChoice::kAuto:
      return "auto";
  }
  return "cpu";
}

DeviceChoice device_choice_from_string(const std::string& name) {
  if (name == "cpu") return DeviceChoice::kCpu;
  if (name == "cuda") return DeviceChoice::kCuda;
  if (name == "auto") return DeviceChoice::kAuto;
  throw UsageError("--device must be cpu, cuda or auto, got '" + name + "'");
}

torch::Device resolve_device(DeviceChoice device) {
  if (device == DeviceChoice::kCpu) return torch::kCPU;
  const bool cuda = torch::cuda::is_available();
  if (device == DeviceChoice::kAuto) return cuda ? torch::kCUDA : torch::kCPU;
  if (!cuda) {
    throw std::runtime_error(
        "--device cuda: this LibTorch build has no CUDA or no GPU is visible; use --device "
        "cpu (or auto)");
  }
  return torch::kCUDA;
}

}  // namespace googlenet
