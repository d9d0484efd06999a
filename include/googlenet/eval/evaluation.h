// Evaluating a model on CIFAR-10's test set or a folder of labelled images: the arithmetic
// under `googlenet test` (eval/test_command.h) and the per-epoch evaluation of training.
#pragma once

#include <string>
#include <vector>

#include "googlenet/engine/onednn_inference.h"
#include "googlenet/model/googlenet.h"
#include "googlenet/model/precision.h"
#include "googlenet/report/confusion.h"

namespace googlenet {

class CifarLoader;
struct ImageFile;

// Logits of a model's inference pass by the chosen engine: the model's modules on `device`
// under autocast (`precision`), or the oneDNN engine built from the model's weights at
// construction (CPU only; a later change of the weights is not seen, so build one per use).
class Classifier {
 public:
  // Throws UsageError (util/errors.h) for kOneDnn on a non-CPU device.
  Classifier(GoogLeNet& model, const torch::Device& device,
             Precision precision = Precision::kFloat32,
             InferenceEngine engine = InferenceEngine::kLibTorch);
  // Normalised float32 images N x 3 x H x W (NCHW or channels-last) -> float32 CPU logits
  // N x classes. The model must be in eval mode.
  torch::Tensor logits(const torch::Tensor& images);

 private:
  GoogLeNet model_;
  torch::Device device_;
  Precision precision_;
  std::shared_ptr<OneDnnInference> onednn_;
};

struct Evaluation {
  double loss = 0;  // mean cross-entropy per image
  ConfusionMatrix confusion;
  double accuracy() const { return confusion.accuracy(); }
};

// `engine` kOneDnn (CPU only) packs the model's current weights once per call.
Evaluation evaluate(GoogLeNet& model, CifarLoader& loader, const torch::Device& device,
                    const std::vector<std::string>& class_names,
                    Precision precision = Precision::kFloat32,
                    InferenceEngine engine = InferenceEngine::kLibTorch);
// The same over labelled image files (list_image_folder), decoded `batch_size` at a time.
// Throws std::runtime_error on the first file that does not decode: a score over fewer
// images than asked for would mislead; UsageError for a batch_size below 1.
Evaluation evaluate(GoogLeNet& model, const std::vector<ImageFile>& files, int64_t batch_size,
                    const torch::Device& device, const std::vector<std::string>& class_names,
                    Precision precision = Precision::kFloat32,
                    InferenceEngine engine = InferenceEngine::kLibTorch);

}  // namespace googlenet
