#include "googlenet/eval/model_loading.h"

#include <stdexcept>

#include "googlenet/data/cifar.h"
#include "googlenet/io/state_dict.h"
#include "googlenet/io/weights_file.h"

namespace googlenet {

ModelOptions infer_model_options(const StateDict& state_dict) {
  ModelOptions options;
  for (const auto& [name, tensor] : state_dict) {
    if (name.rfind("aux1.", 0) == 0 || name.rfind("aux2.", 0) == 0) options.aux_heads = true;
    if (name.find("_bn.") != std::string::npos) options.batch_norm = true;
    if (name == "fc.weight" && tensor.dim() == 2) options.num_classes = tensor.size(0);
    if (name == "stage1.0.weight" && tensor.dim() == 4) options.in_channels = tensor.size(1);
  }
  return options;
}

LoadedModel load_model(const std::filesystem::path& weights, const torch::Device& device) {
  LoadedModel loaded;
  const StateDict state = load_weights(weights, &loaded.class_names);
  const ModelOptions model_options = infer_model_options(state);
  loaded.model = GoogLeNet(model_options);
  load_state_dict(*loaded.model, state, weights.string());
  loaded.model->to(device);
  loaded.model->eval();
  const int64_t outputs = model_options.num_classes;
  if (loaded.class_names.empty()) {  // a bare state_dict stores no names
    if (outputs == kCifarClasses) {
      loaded.class_names.assign(kCifar10ClassNames.begin(), kCifar10ClassNames.end());
    } else {
      for (int64_t i = 0; i < outputs; ++i)
        loaded.class_names.push_back("class " + std::to_string(i));
    }
  } else if (static_cast<int64_t>(loaded.class_names.size()) != outputs) {
    throw std::runtime_error(weights.string() + ": damaged googlenet checkpoint: " +
                             std::to_string(loaded.class_names.size()) +
                             " class names for a model with " + std::to_string(outputs) +
                             " outputs (train or export it again)");
  }
  return loaded;
}

}  // namespace googlenet
