// The training step, the one `train` (every rank of a data-parallel run too) and
// `bench` run: forward under the precision's autocast (on the oneDNN training engine
// or the model's LibTorch modules), the loss (main + 0.3 x aux), backward, the
// gradients' all-reduce across ranks, and the SGD update.
//
// Two calls, forward() then update(), so that what the trainer decides between them
// (the loss all-reduced across ranks, stopping on a non-finite loss before any
// weight changes) sits between the loss and the update.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "googlenet/engine/onednn_training.h"
#include "googlenet/model/googlenet.h"
#include "googlenet/model/precision.h"
#include "googlenet/train/config.h"
#include "googlenet/train/distributed.h"
#include "googlenet/train/sgd.h"

namespace googlenet {

// The settings that decide what a step builds and runs. `train` takes them from its
// config (step_options below), `bench` from its options with the same defaults
// (perf/bench.h), so both build the same step from the same settings.
struct StepOptions {
  TrainingEngine engine = TrainingEngine::kLibTorch;  // resolved: never "auto" here
  Precision precision = Precision::kFloat32;
  bool channels_last = true;  // NHWC weights; batches come in the loader's layout
  int64_t batch_size = 128;   // images per step and process: fixes the oneDNN weight layouts
  double weight_decay = 5e-4;
};

bool operator==(const StepOptions& a, const StepOptions& b);
bool operator!=(const StepOptions& a, const StepOptions& b);
std::ostream& operator<<(std::ostream& out, const StepOptions& options);

// `train`'s step for `config` on `device`: --train-engine auto is
// default_training_engine() of the config's model on that device.
StepOptions step_options(const TrainConfig& config, const torch::Device& device);

// One batch's forward pass: the heads' outputs and the loss built from them (with
// autograd's graph, which update() runs backward through).
struct StepForward {
  GoogLeNetOutput output;
  TrainingLoss loss;
};

class TrainStep {
 public:
  // Prepares `model` (its device and weights final; in training mode for forward()):
  // channels-last weights when asked; with a `communicator` (a data-parallel run),
  // every rank takes rank 0's weights and buffers, as DistributedDataParallel's
  // start does; the oneDNN engine over batches of options.batch_size; SGD over the
  // parameters the step updates (the engine's where it runs); with a communicator the
  // gradient all-reduce over those. `communicator` must outlive the step.
  TrainStep(GoogLeNet model, const StepOptions& options, Communicator* communicator = nullptr);
  ~TrainStep();
  TrainStep(const TrainStep&) = delete;
  TrainStep& operator=(const TrainStep&) = delete;

  // Forward and loss of one batch (`images` N x C x 32 x 32 float, `labels` N int64).
  // Autocast covers the forward only: backward follows the dtypes it recorded.
  StepForward forward(const torch::Tensor& images, const torch::Tensor& labels);
  // The update from forward()'s loss: gradients set to none, backward of loss.total,
  // the gradients averaged over ranks (data-parallel runs), then one SGD step with
  // this step's learning rate and momentum.
  void update(const TrainingLoss& loss, double lr, double momentum);

  const StepOptions& options() const { return options_; }
  GoogLeNet& model() { return model_; }
  OneDnnTraining* engine() { return engine_.get(); }  // null on LibTorch's modules
  Sgd& sgd() { return *sgd_; }
  GradientReducer* reducer() { return reducer_.get(); }  // null in one process

  // Writes the engine's weights into the model (before evaluating or saving it);
  // nothing on LibTorch's modules, which update the model's own.
  void sync_model();
  // SGD's momentum buffers in the model's layout (what checkpoints hold), and back.
  std::vector<std::pair<std::string, torch::Tensor>> momentum_buffers() const;
  void load_momentum_buffers(std::vector<std::pair<std::string, torch::Tensor>> buffers);

 private:
  GoogLeNet model_;
  StepOptions options_;
  std::unique_ptr<OneDnnTraining> engine_;
  std::unique_ptr<Sgd> sgd_;
  std::unique_ptr<GradientReducer> reducer_;
};

}  // namespace googlenet
