#include "googlenet/train/step.h"

#include "googlenet/data/cifar.h"
#include "googlenet/engine/engine_choice.h"

namespace googlenet {

bool operator==(const StepOptions& a, const StepOptions& b) {
  return a.engine == b.engine && a.precision == b.precision && a.channels_last == b.channels_last &&
         a.batch_size == b.batch_size && a.weight_decay == b.weight_decay;
}

bool operator!=(const StepOptions& a, const StepOptions& b) { return !(a == b); }

std::ostream& operator<<(std::ostream& out, const StepOptions& options) {
  return out << "{engine " << to_string(options.engine) << ", precision "
             << to_string(options.precision) << ", "
             << (options.channels_last ? "channels-last" : "NCHW") << ", batch "
             << options.batch_size << ", weight decay " << options.weight_decay << "}";
}

StepOptions step_options(const TrainConfig& config, const torch::Device& device) {
  StepOptions options;
  options.engine = training_engine_for(config.train_engine, config.model_options(), device);
  options.precision = config.precision;
  options.channels_last = config.channels_last;
  options.batch_size = config.batch_size;
  options.weight_decay = config.weight_decay;
  return options;
}

TrainStep::TrainStep(GoogLeNet model, const StepOptions& options, Communicator* communicator)
    : model_(std::move(model)), options_(options) {
  if (options_.channels_last) to_channels_last(*model_);
  if (communicator) {
    // DistributedDataParallel's start: every rank takes rank 0's weights and buffers.
    auto state = model_->parameters();
    for (auto& buffer : model_->buffers()) state.push_back(buffer);
    communicator->broadcast(state);
  }
  if (options_.engine == TrainingEngine::kOneDnn) {
    // Takes over the (now common) weights: the model's copies are stale until sync_model().
    engine_ = std::make_unique<OneDnnTraining>(
        model_,
        std::vector<int64_t>{options_.batch_size, model_->options().in_channels, kCifarSide,
                             kCifarSide},
        options_.precision);
  }
  sgd_ = std::make_unique<Sgd>(engine_ ? engine_->named_parameters() : model_->named_parameters(),
                               options_.weight_decay);
  if (communicator) {
    reducer_ = std::make_unique<GradientReducer>(
        *communicator, engine_ ? engine_->parameters() : model_->parameters());
  }
}

TrainStep::~TrainStep() = default;

StepForward TrainStep::forward(const torch::Tensor& images, const torch::Tensor& labels) {
  StepForward result;
  AutocastScope autocast(options_.precision);
  result.output = engine_ ? engine_->forward_all(images) : model_->forward_all(images);
  result.loss = training_loss(result.output, labels);
  return result;
}

void TrainStep::update(const TrainingLoss& loss, double lr, double momentum) {
  sgd_->zero_grad();
  loss.total.backward();
  if (reducer_) reducer_->finish();
  sgd_->step(lr, momentum);
}

void TrainStep::sync_model() {
  if (engine_) engine_->sync_model();
}

std::vector<std::pair<std::string, torch::Tensor>> TrainStep::momentum_buffers() const {
  auto buffers = sgd_->momentum_buffers();
  if (engine_) {
    for (auto& [name, buffer] : buffers) buffer = engine_->to_model_layout(name, buffer);
  }
  return buffers;
}

void TrainStep::load_momentum_buffers(std::vector<std::pair<std::string, torch::Tensor>> buffers) {
  if (engine_) {
    for (auto& [name, buffer] : buffers) buffer = engine_->to_engine_layout(name, buffer);
  }
  sgd_->load_momentum_buffers(buffers);
}

}  // namespace googlenet
