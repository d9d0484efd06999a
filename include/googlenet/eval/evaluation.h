// Evaluating a model on CIFAR-10's test set or a folder of labelled images: `googlenet
// test` and the per-epoch evaluation of training; loading a model from its weights file.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "googlenet/engine/onednn_inference.h"
#include "googlenet/model/googlenet.h"
#include "googlenet/model/precision.h"
#include "googlenet/report/confusion.h"
#include "googlenet/train/checkpoint.h"

namespace googlenet {

class CifarLoader;
struct ImageFile;

// Logits of a model's inference pass by the chosen engine: the model's modules on `device`
// under autocast (`precision`), or the oneDNN engine built from the model's weights at
// construction (CPU only; a later change of the weights is not seen, so build one per use).
class Classifier {
 public:
  // Throws std::invalid_argument for kOneDnn on a non-CPU device.
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
// images than asked for would mislead.
Evaluation evaluate(GoogLeNet& model, const std::vector<ImageFile>& files, int64_t batch_size,
                    const torch::Device& device, const std::vector<std::string>& class_names,
                    Precision precision = Precision::kFloat32,
                    InferenceEngine engine = InferenceEngine::kLibTorch);

// The model a state_dict was saved from: aux heads and batch norm are recognised by
// their parameter names (`aux1.*`, `*_bn.*`), the class count by `fc.weight`.
ModelOptions infer_model_options(const StateDict& state_dict);

// "cpu", "cuda" or "auto" -> a device LibTorch can use here; throws for cuda
// without a CUDA build or GPU.
torch::Device resolve_device(const std::string& name);

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

struct TestOptions {
  std::string weights;        // a checkpoint or a bare state_dict
  std::string data = "data";  // CIFAR-10 (any layout) or an image folder FOLDER/<class>/<image>
  int64_t batch_size = 100;
  int64_t subset = 0;  // first N test images; 0: all
  std::string device = "cpu";
  Precision precision = Precision::kFloat32;
  bool channels_last = true;  // NHWC weights and batches: same values, ~1.7x faster on CPU
  // oneDNN engine (BN folded, ReLU fused, weights packed once; ~1.5x fp32, 3x bf16 on
  // CPU) where built; run_test falls back to LibTorch for CUDA.
  InferenceEngine engine = default_inference_engine(torch::kCPU);
  std::string json_report;    // optional
  std::string confusion_svg;  // optional
};

// Runs `googlenet test`: returns the printed report (accuracy, loss, per-class
// accuracy, confusion matrix) and writes the optional JSON/SVG files. `data` is read as
// CIFAR-10's test set when is_cifar10_path says so; otherwise, a folder holding sub-folders is
// an image folder whose class folders are named after the model's classes (class_index).
std::string run_test(const TestOptions& options);

}  // namespace googlenet
