#include "googlenet/eval/test_command.h"

#include <filesystem>
#include <iomanip>
#include <sstream>

#include "googlenet/data/cifar.h"
#include "googlenet/data/image_folder.h"
#include "googlenet/data/loader.h"
#include "googlenet/eval/evaluation.h"
#include "googlenet/eval/model_loading.h"
#include "googlenet/report/confusion.h"

namespace googlenet {

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
