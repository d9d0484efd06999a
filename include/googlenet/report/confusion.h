// Confusion matrix of an evaluation and its reports: text tables, an SVG heatmap
// and a JSON file. No LibTorch here.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace googlenet {

// Counts of (true class, predicted class) over an evaluation.
class ConfusionMatrix {
 public:
  // Throws std::invalid_argument when there are no classes.
  explicit ConfusionMatrix(std::vector<std::string> class_names);

  // Throws std::out_of_range naming the label when either is not a class index.
  void add(int64_t truth, int64_t predicted);
  // A batch; throws std::invalid_argument when the sizes differ.
  void add(const std::vector<int64_t>& truth, const std::vector<int64_t>& predicted);

  int64_t count(int64_t truth, int64_t predicted) const;
  int64_t total() const { return total_; }
  int64_t correct() const;
  double accuracy() const;                          // 0 when empty
  int64_t class_total(int64_t truth) const;         // images of that class
  double class_accuracy(int64_t truth) const;       // recall; 0 when the class is absent
  double class_precision(int64_t predicted) const;  // 0 when never predicted
  const std::vector<std::string>& class_names() const { return names_; }

  // Rows = true class, columns = predicted, right-aligned counts.
  std::string to_text() const;
  // "class  correct/total  accuracy" per class and overall.
  std::string per_class_text() const;
  // {"classes", "matrix", "total", "correct", "accuracy", "per_class": [...]}.
  nlohmann::json to_json() const;

 private:
  std::vector<std::string> names_;
  std::vector<int64_t> counts_;  // row-major [truth][predicted]
  int64_t total_ = 0;
};

// Heatmap with the count in every cell, class names on both axes.
void write_confusion_svg(const std::filesystem::path& path, const ConfusionMatrix& matrix);

// Evaluation report: the matrix's JSON plus `extra` fields (loss, checkpoint, ...),
// written atomically with 2-space indentation.
void write_evaluation_json(const std::filesystem::path& path, const ConfusionMatrix& matrix,
                           const nlohmann::json& extra = nlohmann::json::object());

}  // namespace googlenet
