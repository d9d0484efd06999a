// Classifying image files: decoded batches through the test-time normalisation and the model,
// top-k classes written as a table or JSON lines while the next batch is decoded.
#include "googlenet/eval/predict.h"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <tuple>

#include "googlenet/data/augment.h"
#include "googlenet/data/image.h"
#include "googlenet/eval/evaluation.h"
#include "googlenet/eval/model_loading.h"
#include "googlenet/report/progress.h"
#include "googlenet/util/errors.h"

namespace googlenet {

namespace {

constexpr std::size_t kMaxPathColumn = 60;  // longer file names push their row out of line

std::string pad(const std::string& text, std::size_t width) {
  return text.size() >= width ? text : text + std::string(width - text.size(), ' ');
}

std::string format_probability(float p) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%.4f", static_cast<double>(p));
  return buffer;
}

// Writes the predictions of one batch in the chosen format.
class PredictionWriter {
 public:
  PredictionWriter(const PredictOptions& options, const std::vector<std::string>& class_names,
                   const std::vector<std::filesystem::path>& files, int64_t k, std::ostream& out)
      : json_(options.json), class_names_(class_names), k_(k), out_(out) {
    for (const auto& name : class_names) class_width_ = std::max(class_width_, name.size());
    for (const auto& file : files) path_width_ = std::max(path_width_, file.string().size());
    path_width_ = std::min(path_width_, kMaxPathColumn);
  }

  // `top` holds the (probabilities, indices) of torch::topk, N x k each.
  void write(const ImageBatch& batch, const std::tuple<torch::Tensor, torch::Tensor>& top) {
    const auto probabilities = std::get<0>(top).contiguous();
    const auto indices = std::get<1>(top).contiguous();
    const float* p = probabilities.data_ptr<float>();
    const int64_t* index = indices.data_ptr<int64_t>();
    if (!json_ && !header_written_) write_header();
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const float* row_p = p + i * k_;
      const int64_t* row_index = index + i * k_;
      if (json_) {
        nlohmann::json predictions = nlohmann::json::array();
        for (int64_t j = 0; j < k_; ++j) {
          predictions.push_back({{"class", class_names_[row_index[j]]},
                                 {"index", row_index[j]},
                                 {"probability", row_p[j]}});
        }
        out_ << nlohmann::json{{"file", batch.paths[i].string()}, {"predictions", predictions}}
                    .dump()
             << '\n';
      } else {
        std::string line = pad(batch.paths[i].string(), path_width_);
        for (int64_t j = 0; j < k_; ++j)
          line += "  " + pad(class_names_[row_index[j]], class_width_) + " " +
                  format_probability(row_p[j]);
        out_ << line << '\n';
      }
    }
    out_.flush();
  }

 private:
  void write_header() {
    std::string line = pad("image", path_width_);
    const std::size_t cell = class_width_ + 1 + format_probability(0).size();
    for (int64_t j = 0; j < k_; ++j) line += "  " + pad("top-" + std::to_string(j + 1), cell);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out_ << line << '\n';
    header_written_ = true;
  }

  bool json_;
  const std::vector<std::string>& class_names_;
  int64_t k_;
  std::ostream& out_;
  std::size_t class_width_ = 0, path_width_ = std::string("image").size();
  bool header_written_ = false;
};

void check_options(const PredictOptions& options) {
  if (options.inputs.empty())
    throw UsageError("predict: no images given; name image files or folders");
  if (options.top_k < 1)
    throw UsageError("--top-k must be at least 1, got " + std::to_string(options.top_k));
  if (options.batch_size < 1)
    throw UsageError("--batch-size must be at least 1, got " + std::to_string(options.batch_size));
}

}  // namespace

std::string to_string(TestTimeAugmentation tta) {
  return tta == TestTimeAugmentation::kFlip ? "flip" : "none";
}

TestTimeAugmentation test_time_augmentation_from_string(const std::string& name) {
  if (name == "none") return TestTimeAugmentation::kNone;
  if (name == "flip") return TestTimeAugmentation::kFlip;
  throw UsageError("--tta must be none or flip, got '" + name + "'");
}

torch::Tensor image_logits(GoogLeNet& model, const torch::Tensor& images,
                           const torch::Device& device) {
  torch::NoGradGuard no_grad;
  return model->forward(normalize_images(images).to(device)).to(torch::kCPU);
}

torch::Tensor image_probabilities(Classifier& classifier, const torch::Tensor& images, bool flip) {
  auto probabilities = torch::softmax(classifier.logits(normalize_images(images)), /*dim=*/1);
  if (!flip) return probabilities;
  const auto mirrored = images.flip({3});  // N x 3 x H x W: mirror the W axis
  return (probabilities +
          torch::softmax(classifier.logits(normalize_images(mirrored)), /*dim=*/1)) /
         2;
}

PredictSummary run_predict(const PredictOptions& options, std::ostream& out, std::ostream& log) {
  check_options(options);
  const std::vector<std::filesystem::path> files = collect_image_files(options.inputs);
  const auto device = resolve_device(options.device);
  LoadedModel loaded = load_model(options.weights, device);
  to_channels_last(*loaded.model);  // as `test`: same values, faster kernels (docs/performance.md)
  Classifier classifier(loaded.model, device, Precision::kFloat32,
                        device.is_cpu() ? options.engine : InferenceEngine::kLibTorch);
  const int64_t k = std::min<int64_t>(options.top_k, loaded.class_names.size());
  PredictionWriter writer(options, loaded.class_names, files, k, out);

  const auto batch_size = static_cast<std::size_t>(options.batch_size);
  const int64_t batches = static_cast<int64_t>((files.size() + batch_size - 1) / batch_size);
  std::optional<ProgressBar> progress;
  if (batches > 1) {
    ProgressOptions bar;
    bar.label = "predict";
    bar.total = batches;
    bar.interactive = &log == &std::cerr && stderr_is_terminal();
    bar.show_loss = false;
    progress.emplace(bar, log);
  }

  PredictSummary summary;
  for (std::size_t begin = 0; begin < files.size(); begin += batch_size) {
    const ImageBatch batch = decode_images(files, begin, batch_size);
    if (!batch.failures.empty()) {
      if (options.strict)
        throw std::runtime_error(batch.failures.front().message +
                                 " (--strict stops at the first file that cannot be read)");
      if (progress) progress->clear();
      for (const auto& failure : batch.failures) log << "skipped " << failure.message << '\n';
      summary.failures.insert(summary.failures.end(), batch.failures.begin(), batch.failures.end());
    }
    if (batch.size() > 0) {
      const auto probabilities = image_probabilities(classifier, batch_images(batch),
                                                     options.tta == TestTimeAugmentation::kFlip);
      writer.write(batch, probabilities.topk(k, /*dim=*/1));
      summary.predicted += static_cast<int64_t>(batch.size());
    }
    if (progress) progress->update(static_cast<int64_t>(batch.size()));
  }
  if (progress) progress->close();
  if (!summary.failures.empty())
    log << summary.failures.size() << " of " << files.size()
        << " files could not be read and were skipped\n";
  return summary;
}

}  // namespace googlenet
