#include "googlenet/eval/evaluation.h"

#include <iomanip>
#include <sstream>

#include "googlenet/data/augment.h"
#include "googlenet/data/cifar.h"
#include "googlenet/data/image_folder.h"
#include "googlenet/data/loader.h"
#include "googlenet/eval/predict.h"
#include "googlenet/io/state_dict.h"

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
      throw std::invalid_argument("--engine onednn runs on the CPU; use --engine libtorch");
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
    throw std::invalid_argument("--batch-size must be at least 1, got " +
                                std::to_string(batch_size));
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

LoadedModel load_model(const std::filesystem::path& weights, const torch::Device& device) {
  LoadedModel loaded;
  const StateDict state = load_weights(weights, &loaded.class_names);
  const ModelOptions model_options = infer_model_options(state);
  loaded.model = GoogLeNet(model_options);
  load_state_dict(*loaded.model, state, weights.string());
  loaded.model->to(device);
  loaded.model->eval();
  const int64_t outputs = model_options.num_classes;
  if (loaded.class_names.empty()) {  // a bare state_dict stores no names
    if (outputs == kCifarClasses) {
      loaded.class_names.assign(kCifar10ClassNames.begin(), kCifar10ClassNames.end());
    } else {
      for (int64_t i = 0; i < outputs; ++i)
        loaded.class_names.push_back("class " + std::to_string(i));
    }
  } else if (static_cast<int64_t>(loaded.class_names.size()) != outputs) {
    throw std::runtime_error(weights.string() + ": damaged googlenet checkpoint: " +
                             std::to_string(loaded.class_names.size()) +
                             " class names for a model with " + std::to_string(outputs) +
                             " outputs (train or export it again)");
  }
  return loaded;
}

namespace {

// A folder with a (non-hidden) folder in it: the class folders of an image folder.
bool has_subfolders(const std::filesystem::path& folder) {
  std::error_code error;
  for (std::filesystem::directory_iterator it(folder, error), end; !error && it != end;
       it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (!name.empty() && name[0] != '.' && it->is_directory(error)) return true;
  }
  return false;
}

Evaluation test_cifar(LoadedModel& loaded, const TestOptions& options, const torch::Device& device,
                      std::string& source) {
  auto data = std::make_shared<Cifar10>(load_cifar10(options.data, Split::kTest));
  if (options.subset > 0 && options.subset < data->size()) {
    data->images.resize(options.subset * kCifarImageBytes);
    data->labels.resize(options.subset);
  }
  LoaderOptions loader_options;
  loader_options.batch_size = options.batch_size;
  loader_options.shuffle = false;
  loader_options.augment = false;
  loader_options.channels_last = options.channels_last;
  CifarLoader loader(data, loader_options);
  source = data->source;
  return evaluate(loaded.model, loader, device, data->class_names, options.precision,
                  options.engine);
}

Evaluation test_image_folder(LoadedModel& loaded, const TestOptions& options,
                             const torch::Device& device, std::string& source) {
  std::vector<ImageFile> files = list_image_folder(options.data, loaded.class_names);
  if (options.subset > 0 && options.subset < static_cast<int64_t>(files.size()))
    files.resize(options.subset);
  source = options.data + " (image folder, " + std::to_string(files.size()) + " images)";
  return evaluate(loaded.model, files, options.batch_size, device, loaded.class_names,
                  options.precision, options.engine);
}

}  // namespace

std::string run_test(const TestOptions& requested) {
  TestOptions options = requested;
  const auto device = resolve_device(options.device);
  if (!device.is_cpu()) options.engine = InferenceEngine::kLibTorch;  // oneDNN is CPU-only
  LoadedModel loaded = load_model(options.weights, device);
  if (options.channels_last) to_channels_last(*loaded.model);
  const bool image_folder = !is_cifar10_path(options.data) && has_subfolders(options.data);
  std::string source;
  const Evaluation eval = image_folder ? test_image_folder(loaded, options, device, source)
                                       : test_cifar(loaded, options, device, source);

  std::ostringstream out;
  const std::string arithmetic = to_string(options.precision) +
                                 (options.channels_last ? ", channels-last" : ", NCHW") + ", " +
                                 to_string(options.engine);
  out << std::fixed << std::setprecision(2) << options.weights << " on " << source << " ("
      << arithmetic << ")\n"
      << "test accuracy " << 100 * eval.accuracy() << "% (" << eval.confusion.correct() << "/"
      << eval.confusion.total() << "), test loss " << std::setprecision(4) << eval.loss << "\n\n"
      << eval.confusion.per_class_text() << "\n"
      << "confusion matrix (rows: true class, columns: predicted)\n"
      << eval.confusion.to_text();
  if (!options.confusion_svg.empty()) write_confusion_svg(options.confusion_svg, eval.confusion);
  if (!options.json_report.empty()) {
    write_evaluation_json(options.json_report, eval.confusion,
                          {{"checkpoint", options.weights},
                           {"data", source},
                           {"loss", eval.loss},
                           {"precision", to_string(options.precision)},
                           {"channels_last", options.channels_last},
                           {"engine", to_string(options.engine)}});
  }
  return out.str();
}

}  // namespace googlenet
