// `googlenet predict`: the likeliest classes of image files (or folders of them) under a
// trained model, as a table or JSON lines, streamed a batch at a time; and the image ->
// probabilities step under it, with test-time augmentation.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <string>
#include <vector>

#include "googlenet/data/image_folder.h"
#include "googlenet/engine/onednn_inference.h"
#include "googlenet/eval/evaluation.h"
#include "googlenet/model/device.h"
#include "googlenet/model/googlenet.h"

namespace googlenet {

// Test-time augmentation: the image alone, or the mean with its left-right mirror.
enum class TestTimeAugmentation { kNone, kFlip };
// "none", "flip".
std::string to_string(TestTimeAugmentation tta);
// The inverse; throws UsageError (util/errors.h) naming the value otherwise.
TestTimeAugmentation test_time_augmentation_from_string(const std::string& name);

struct PredictOptions {
  std::string weights;                        // a checkpoint or a bare state_dict
  std::vector<std::filesystem::path> inputs;  // image files and folders (collect_image_files)
  int64_t top_k = 3;                          // classes shown per image, at most the model's
  int64_t batch_size = 100;                   // images decoded and classified at a time
  DeviceChoice device = DeviceChoice::kCpu;
  TestTimeAugmentation tta = TestTimeAugmentation::kNone;
  bool json = false;    // JSON lines instead of a table
  bool strict = false;  // a file that cannot be read stops the run instead of being skipped
  // oneDNN engine on the CPU where built (batch-1 latency ~4x LibTorch's); CUDA: LibTorch.
  InferenceEngine engine = default_inference_engine(torch::kCPU);
};

// Logits, float32 N x classes on the CPU, of uint8 images N x 3 x 32 x 32 (the CIFAR layout,
// as decode_images makes them): normalize_images, then `model` on `device` without grad.
// The model must be in eval mode (load_model leaves it so).
torch::Tensor image_logits(GoogLeNet& model, const torch::Tensor& images,
                           const torch::Device& device);

// Class probabilities, float32 N x classes: the softmax of the logits of normalize_images(images);
// with `flip`, the mean of the softmax of each image and of its left-right mirror.
torch::Tensor image_probabilities(Classifier& classifier, const torch::Tensor& images, bool flip);

struct PredictSummary {
  int64_t predicted = 0;               // images classified and written out
  std::vector<ImageFailure> failures;  // files skipped, in order
};

// Runs `googlenet predict`: one table row or JSON line per image on `out`, written as each
// batch finishes; skipped files (each message names its file), a closing count of them and,
// for more than one batch, a progress bar on `log`. Table:
//   image      top-1             top-2
//   cat.png    cat       0.9121  dog       0.0512
// JSON: {"file": "cat.png", "predictions": [{"class": "cat", "index": 3,
// "probability": 0.9121}, ...]}, most probable first. Throws UsageError for bad
// options, std::runtime_error for a bad weights file or input path, and, with `strict`, for
// the first file that cannot be read (before that file's batch is written).
PredictSummary run_predict(const PredictOptions& options, std::ostream& out, std::ostream& log);

}  // namespace googlenet
