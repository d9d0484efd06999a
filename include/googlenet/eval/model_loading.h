// A model ready for inference from its weights file: a googlenet checkpoint or a bare
// state_dict, its architecture read off the parameter names, as `test` and `predict` use it.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

#include "googlenet/io/saved_value.h"
#include "googlenet/model/googlenet.h"

namespace googlenet {

// The model a state_dict was saved from: aux heads and batch norm are recognised by
// their parameter names (`aux1.*`, `*_bn.*`), the class count by `fc.weight`.
ModelOptions infer_model_options(const StateDict& state_dict);

// A model ready for inference and the names of its outputs.
struct LoadedModel {
  GoogLeNet model{nullptr};
  std::vector<std::string> class_names;  // one per output, in label order
};

// The model a checkpoint or bare state_dict file was saved from (infer_model_options, then a
// strict load_state_dict), on `device`, in eval mode. Class names: the checkpoint's; for a
// bare state_dict, CIFAR-10's when it has 10 outputs, else "class 0", "class 1", ...
// Throws std::runtime_error naming the file when a checkpoint's names do not match its outputs.
LoadedModel load_model(const std::filesystem::path& weights, const torch::Device& device);

}  // namespace googlenet
