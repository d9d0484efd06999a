// Where a model runs, as the user chooses it (--device cpu, cuda or auto) and as LibTorch
// gets it once this machine has been asked.
#pragma once

#include <torch/torch.h>

#include <string>

namespace googlenet {

enum class DeviceChoice {
  kCpu,
  kCuda,
  kAuto,  // CUDA where this LibTorch build has it and a GPU is visible, else the CPU
};

// "cpu", "cuda", "auto".
std::string to_string(DeviceChoice device);
// The inverse; throws UsageError (util/errors.h) naming the value otherwise.
DeviceChoice device_choice_from_string(const std::string& name);

// A device LibTorch can use here; throws std::runtime_error for kCuda without a CUDA build
// or GPU.
torch::Device resolve_device(DeviceChoice device);

}  // namespace googlenet
