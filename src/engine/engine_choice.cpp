#include "googlenet/engine/engine_choice.h"

#include "googlenet/util/errors.h"

namespace googlenet {

std::string to_string(EngineChoice engine) {
  switch (engine) {
    case EngineChoice::kAuto:
      return "auto";
    case EngineChoice::kLibTorch:
      return "libtorch";
    case EngineChoice::kOneDnn:
      return "onednn";
  }
  return "auto";
}

EngineChoice engine_choice_from_string(const std::string& name) {
  if (name == "auto") return EngineChoice::kAuto;
  if (name == "libtorch") return EngineChoice::kLibTorch;
  if (name == "onednn") return EngineChoice::kOneDnn;
  throw UsageError("engine must be auto, onednn or libtorch, got '" + name + "'");
}

InferenceEngine inference_engine_for(EngineChoice choice, const torch::Device& device) {
  if (choice == EngineChoice::kAuto || !device.is_cpu()) return default_inference_engine(device);
  return choice == EngineChoice::kOneDnn ? InferenceEngine::kOneDnn : InferenceEngine::kLibTorch;
}

TrainingEngine training_engine_for(EngineChoice choice, const ModelOptions& model,
                                   const torch::Device& device) {
  if (choice == EngineChoice::kAuto) return default_training_engine(model, device);
  if (choice == EngineChoice::kLibTorch) return TrainingEngine::kLibTorch;
  if (model.batch_norm || !device.is_cpu()) {
    throw UsageError(
        "--train-engine onednn trains models without --bn on the CPU; use --train-engine "
        "libtorch (or auto) with --bn or --device cuda");
  }
  return TrainingEngine::kOneDnn;
}

}  // namespace googlenet
