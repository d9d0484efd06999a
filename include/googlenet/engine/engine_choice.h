// Which engine runs a pass, as the user chooses it (--eval-engine, --train-engine: auto,
// onednn or libtorch) and as it is settled for a model on a device.
#pragma once

#include <torch/torch.h>

#include <string>

#include "googlenet/engine/onednn_inference.h"
#include "googlenet/engine/onednn_training.h"
#include "googlenet/model/googlenet.h"

namespace googlenet {

enum class EngineChoice {
  kAuto,  // oneDNN where built and able to run the model on the device, else LibTorch
  kLibTorch,
  kOneDnn,
};

// "auto", "libtorch", "onednn".
std::string to_string(EngineChoice engine);
// The inverse; throws UsageError (util/errors.h) naming the value otherwise.
EngineChoice engine_choice_from_string(const std::string& name);

// The inference engine for `choice` on `device`: kAuto and any device but the CPU (oneDNN
// is CPU-only) get default_inference_engine(device).
InferenceEngine inference_engine_for(EngineChoice choice, const torch::Device& device);
// The training engine for `choice`: kAuto gets default_training_engine(model, device).
// Throws UsageError for kOneDnn where that engine cannot train: a model with batch norm,
// or a device other than the CPU.
TrainingEngine training_engine_for(EngineChoice choice, const ModelOptions& model,
                                   const torch::Device& device);

}  // namespace googlenet
