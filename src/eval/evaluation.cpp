#include "googlenet/eval/evaluation.h"

#include <stdexcept>

#include "googlenet/data/augment.h"
#include "googlenet/data/image_folder.h"
#include "googlenet/data/loader.h"
#include "googlenet/util/errors.h"

namespace googlenet {

namespace {

// Adds a batch's loss sum and predictions to `result`; returns the batch's summed loss.
double accumulate(const torch::Tensor& logits, const torch::Tensor& labels, Evaluation& result) {
  auto predicted = logits.argmax(1).contiguous();
  const auto truth = labels.contiguous();
  const auto* p = predicted.data_ptr<int64_t>();
  const auto* t = truth.data_ptr<int64_t>();
  for (int64_t i = 0; i < predicted.size(0); ++i) result.confusion.add(t[i], p[i]);
  return torch::cross_entropy_loss(logits, truth, {}, torch::Reduction::Sum).item<double>();
}

}  // namespace

Classifier::Classifier(GoogLeNet& model, const torch::Device& device, Precision precision,
                       InferenceEngine engine)
    : model_(model), device_(device), precision_(precision) {
  if (engine == InferenceEngine::kOneDnn) {
    if (!device.is_cpu())
      throw UsageError("--engine onednn runs on the CPU; use --engine libtorch");
    onednn_ = std::make_shared<OneDnnInference>(model, precision);
  }
}

torch::Tensor Classifier::logits(const torch::Tensor& images) {
  torch::NoGradGuard no_grad;
  if (onednn_) return onednn_->forward(images);
  AutocastScope autocast(precision_);
  return model_->forward(images.to(device_)).to(torch::kCPU, torch::kFloat32);
}

Evaluation evaluate(GoogLeNet& model, CifarLoader& loader, const torch::Device& device,
                    const std::vector<std::string>& class_names, Precision precision,
                    InferenceEngine engine) {
  torch::NoGradGuard no_grad;
  const bool was_training = model->is_training();
  model->eval();
  Classifier classifier(model, device, precision, engine);
  Evaluation result{0, ConfusionMatrix(class_names)};
  double loss_sum = 0;
  loader.start_epoch(0);
  while (auto batch = loader.next()) {
    loss_sum += accumulate(classifier.logits(batch->images), batch->labels, result);
  }
  model->train(was_training);
  result.loss = loss_sum / std::max<int64_t>(1, result.confusion.total());
  return result;
}

Evaluation evaluate(GoogLeNet& model, const std::vector<ImageFile>& files, int64_t batch_size,
                    const torch::Device& device, const std::vector<std::string>& class_names,
                    Precision precision, InferenceEngine engine) {
  if (batch_size < 1)
    throw UsageError("--batch-size must be at least 1, got " + std::to_string(batch_size));
  torch::NoGradGuard no_grad;
  const bool was_training = model->is_training();
  model->eval();
  Classifier classifier(model, device, precision, engine);
  Evaluation result{0, ConfusionMatrix(class_names)};
  double loss_sum = 0;
  const auto count = static_cast<std::size_t>(batch_size);
  for (std::size_t begin = 0; begin < files.size(); begin += count) {
    const ImageBatch batch = decode_images(files, begin, count);
    if (!batch.failures.empty())
      throw std::runtime_error(batch.failures.front().message +
                               " (every image of the folder is tested: fix or remove the file)");
    const auto labels = torch::tensor(batch.labels, torch::kInt64);
    const torch::Tensor images = normalize_images(batch_images(batch));
    loss_sum += accumulate(classifier.logits(images), labels, result);
  }
  model->train(was_training);
  result.loss = loss_sum / std::max<int64_t>(1, result.confusion.total());
  return result;
}

}  // namespace googlenet
