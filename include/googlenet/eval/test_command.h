// `googlenet test`: a model's accuracy, loss, per-class accuracy and confusion matrix on
// CIFAR-10's test set or on a folder of labelled images, with optional JSON and SVG reports.
#pragma once

#include <cstdint>
#include <string>

#include "googlenet/engine/onednn_inference.h"
#include "googlenet/model/device.h"
#include "googlenet/model/precision.h"

namespace googlenet {

struct TestOptions {
  std::string weights;        // a checkpoint or a bare state_dict
  std::string data = "data";  // CIFAR-10 (any layout) or an image folder FOLDER/<class>/<image>
  int64_t batch_size = 100;
  int64_t subset = 0;  // first N test images; 0: all
  DeviceChoice device = DeviceChoice::kCpu;
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
