// Evaluating a model on CIFAR-10's test set: `googlenet test` and the per-epoch
// evaluation of training.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "googlenet/checkpoint.h"
#include "googlenet/confusion.h"
#include "googlenet/model.h"

namespace googlenet {

class CifarLoader;

struct Evaluation {
  double loss = 0;  // mean cross-entropy per image
  ConfusionMatrix confusion;
  double accuracy() const { return confusion.accuracy(); }
};

Evaluation evaluate(GoogLeNet& model, CifarLoader& loader, const torch::Device& device,
                    const std::vector<std::string>& class_names);

// The model a state_dict was saved from: aux heads and batch norm are recognised by
// their parameter names (`aux1.*`, `*_bn.*`), the class count by `fc.weight`.
ModelOptions infer_model_options(const StateDict& state_dict);

// "cpu", "cuda" or "auto" -> a device LibTorch can use here; throws for cuda
// without a CUDA build or GPU.
torch::Device resolve_device(const std::string& name);

struct TestOptions {
  std::string weights;  // a checkpoint or a bare state_dict
  std::string data = "data";
  int64_t batch_size = 100;
  int64_t subset = 0;  // first N test images; 0: all
  std::string device = "cpu";
  std::string json_report;    // optional
  std::string confusion_svg;  // optional
};

// Runs `googlenet test`: returns the printed report (accuracy, loss, per-class
// accuracy, confusion matrix) and writes the optional JSON/SVG files.
std::string run_test(const TestOptions& options);

}  // namespace googlenet
