#include "googlenet/evaluation.h"

#include <iomanip>
#include <sstream>

#include "googlenet/cifar.h"
#include "googlenet/loader.h"
#include "googlenet/state_dict.h"

namespace googlenet {

Evaluation evaluate(GoogLeNet& model, CifarLoader& loader, const torch::Device& device,
                    const std::vector<std::string>& class_names) {
  torch::NoGradGuard no_grad;
  const bool was_training = model->is_training();
  model->eval();
  Evaluation result{0, ConfusionMatrix(class_names)};
  double loss_sum = 0;
  loader.start_epoch(0);
  while (auto batch = loader.next()) {
    auto logits = model->forward(batch->images.to(device)).to(torch::kCPU);
    loss_sum +=
        torch::cross_entropy_loss(logits, batch->labels, {}, torch::Reduction::Sum).item<double>();
    auto predicted = logits.argmax(1).contiguous();
    const auto* p = predicted.data_ptr<int64_t>();
    const auto* t = batch->labels.data_ptr<int64_t>();
    for (int64_t i = 0; i < predicted.size(0); ++i) result.confusion.add(t[i], p[i]);
  }
  model->train(was_training);
  result.loss = loss_sum / std::max<int64_t>(1, result.confusion.total());
  return result;
}

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

torch::Device resolve_device(const std::string& name) {
  if (name == "cpu") return torch::kCPU;
  const bool cuda = torch::cuda::is_available();
  if (name == "auto") return cuda ? torch::kCUDA : torch::kCPU;
  if (name == "cuda") {
    if (!cuda) {
      throw std::runtime_error(
          "--device cuda: this LibTorch build has no CUDA or no GPU is visible; use --device "
          "cpu (or auto)");
    }
    return torch::kCUDA;
  }
  throw std::invalid_argument("--device must be cpu, cuda or auto, got '" + name + "'");
}

std::string run_test(const TestOptions& options) {
  const auto device = resolve_device(options.device);
  const StateDict weights = load_weights(options.weights);
  GoogLeNet model(infer_model_options(weights));
  load_state_dict(*model, weights, options.weights);
  model->to(device);

  auto data = std::make_shared<Cifar10>(load_cifar10(options.data, Split::kTest));
  if (options.subset > 0 && options.subset < data->size()) {
    data->images.resize(options.subset * kCifarImageBytes);
    data->labels.resize(options.subset);
  }
  LoaderOptions loader_options;
  loader_options.batch_size = options.batch_size;
  loader_options.shuffle = false;
  loader_options.augment = false;
  CifarLoader loader(data, loader_options);
  const Evaluation eval = evaluate(model, loader, device, data->class_names);

  std::ostringstream out;
  out << std::fixed << std::setprecision(2) << options.weights << " on " << data->source << "\n"
      << "test accuracy " << 100 * eval.accuracy() << "% (" << eval.confusion.correct() << "/"
      << eval.confusion.total() << "), test loss " << std::setprecision(4) << eval.loss << "\n\n"
      << eval.confusion.per_class_text() << "\n"
      << "confusion matrix (rows: true class, columns: predicted)\n"
      << eval.confusion.to_text();
  if (!options.confusion_svg.empty()) write_confusion_svg(options.confusion_svg, eval.confusion);
  if (!options.json_report.empty()) {
    write_evaluation_json(
        options.json_report, eval.confusion,
        {{"checkpoint", options.weights}, {"data", data->source}, {"loss", eval.loss}});
  }
  return out.str();
}

}  // namespace googlenet
