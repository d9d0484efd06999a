// Everything that defines a training run: the recipe, the data, the schedule, where
// results go. Saved as config.json in the run folder and inside every checkpoint.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "googlenet/engine/engine_choice.h"
#include "googlenet/model/device.h"
#include "googlenet/model/googlenet.h"
#include "googlenet/model/precision.h"

namespace googlenet {

enum class Recipe {
  kDefault,    // reference recipe + Xavier init (docs/training.md: the reference stalls)
  kReference,  // the tutorial exactly: PyTorch default init, no aux heads, no BN
};

struct TrainConfig {
  std::string data = "data";  // folder or archive holding CIFAR-10 (any layout)
  std::string out;            // run folder; empty: runs/<timestamp>
  std::string init_weights;   // --init: a state_dict saved by torch.save in Python
  Recipe recipe = Recipe::kDefault;
  int64_t epochs = 60;          // the reference trains 60 epochs
  int64_t schedule_epochs = 0;  // one-cycle span; 0: `epochs` (reference: 150)
  int64_t batch_size = 128;
  int64_t test_batch_size = 100;
  double max_lr = 0.1;
  double weight_decay = 5e-4;
  uint64_t seed = 0;
  int threads = 0;         // intra-op threads; 0: all cores (set_compute_threads)
  int loader_threads = 1;  // threads preparing batches ahead of the step
  DeviceChoice device = DeviceChoice::kCpu;
  bool aux_heads = false;  // --aux: +0.5 points at 15 epochs, -0.4 at 60 (docs/training.md)
  bool batch_norm = false;
  bool channels_last = true;  // NHWC weights and batches: same values, faster convolutions
  // bf16: mixed precision, fp32 weights and optimizer (oneDNN engine: every
  // convolution pass on bf16 copies, fp32 results; LibTorch engine: autocast)
  Precision precision = Precision::kFloat32;
  // Per-epoch evaluation: auto (oneDNN on the CPU where built, else LibTorch) | onednn |
  // libtorch. Scores agree to float rounding; oneDNN is ~1.7x faster.
  EngineChoice eval_engine = EngineChoice::kAuto;
  // Training step: auto (oneDNN where built, for models without BN on the CPU, else
  // LibTorch) | onednn | libtorch. Same gradients to float rounding; oneDNN ~1.2x faster.
  EngineChoice train_engine = EngineChoice::kAuto;
  int64_t train_subset = 0;  // use the first N training images (0: all 50,000)
  int64_t test_subset = 0;   // evaluate on the first N test images (0: all 10,000)
  int64_t log_every = 100;   // iterations between "[Epoch e, Iteration i] loss" lines
  int world_size = 1;        // processes training together (batch_size is per process)

  int64_t cycle_epochs() const { return schedule_epochs > 0 ? schedule_epochs : epochs; }
  InitScheme init_scheme() const {
    return recipe == Recipe::kReference ? InitScheme::kPyTorch : InitScheme::kXavierUniform;
  }
  ModelOptions model_options() const;
  // Throws UsageError (util/errors.h) naming the first bad flag.
  void validate() const;
};

std::string to_string(Recipe recipe);
// The inverse; throws UsageError naming the value otherwise.
Recipe recipe_from_string(const std::string& name);

// config.json (and a checkpoint's config): choices as the flags spell them ("bf16",
// "auto", ...); missing fields take their defaults. config_from_json throws for a value
// that is not one of a choice's names.
nlohmann::json to_json(const TrainConfig& config);
TrainConfig config_from_json(const nlohmann::json& json);

}  // namespace googlenet
