// Confusion matrix: counting, text tables, SVG heatmap, JSON report.
#include "googlenet/report/confusion.h"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

#include "googlenet/report/svg.h"
#include "googlenet/util/atomic_file.h"
#include "googlenet/util/json_file.h"

namespace googlenet {

namespace {

std::string pad_left(const std::string& s, size_t width) {
  return s.size() >= width ? s : std::string(width - s.size(), ' ') + s;
}

std::string pad_right(const std::string& s, size_t width) {
  return s.size() >= width ? s : s + std::string(width - s.size(), ' ');
}

std::string percent(double fraction) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f%%", 100 * fraction);
  return buffer;
}

double ratio(int64_t a, int64_t b) { return b == 0 ? 0.0 : static_cast<double>(a) / b; }

// White -> dark blue as `f` goes 0 -> 1.
std::string heat_color(double f) {
  auto mix = [f](int from, int to) { return static_cast<int>(from + f * (to - from) + 0.5); };
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "#%02x%02x%02x", mix(255, 8), mix(255, 48), mix(255, 107));
  return buffer;
}

}  // namespace

ConfusionMatrix::ConfusionMatrix(std::vector<std::string> class_names)
    : names_(std::move(class_names)), counts_(names_.size() * names_.size(), 0) {
  if (names_.empty()) throw std::invalid_argument("confusion matrix: no class names given");
}

void ConfusionMatrix::add(int64_t truth, int64_t predicted) {
  const auto n = static_cast<int64_t>(names_.size());
  for (const auto& [what, label] :
       {std::pair{"true label", truth}, {"predicted label", predicted}}) {
    if (label < 0 || label >= n) {
      throw std::out_of_range(std::string("confusion matrix: ") + what + " " +
                              std::to_string(label) + " is not a class index in [0, " +
                              std::to_string(n) + ")");
    }
  }
  ++counts_[truth * n + predicted];
  ++total_;
}

void ConfusionMatrix::add(const std::vector<int64_t>& truth,
                          const std::vector<int64_t>& predicted) {
  if (truth.size() != predicted.size()) {
    throw std::invalid_argument("confusion matrix: " + std::to_string(truth.size()) +
                                " true labels but " + std::to_string(predicted.size()) +
                                " predictions");
  }
  for (size_t i = 0; i < truth.size(); ++i) add(truth[i], predicted[i]);
}

int64_t ConfusionMatrix::count(int64_t truth, int64_t predicted) const {
  return counts_.at(truth * names_.size() + predicted);
}

int64_t ConfusionMatrix::correct() const {
  int64_t sum = 0;
  for (size_t i = 0; i < names_.size(); ++i) sum += count(i, i);
  return sum;
}

double ConfusionMatrix::accuracy() const { return ratio(correct(), total_); }

int64_t ConfusionMatrix::class_total(int64_t truth) const {
  int64_t sum = 0;
  for (size_t j = 0; j < names_.size(); ++j) sum += count(truth, j);
  return sum;
}

double ConfusionMatrix::class_accuracy(int64_t truth) const {
  return ratio(count(truth, truth), class_total(truth));
}

double ConfusionMatrix::class_precision(int64_t predicted) const {
  int64_t column = 0;
  for (size_t i = 0; i < names_.size(); ++i) column += count(i, predicted);
  return ratio(count(predicted, predicted), column);
}

std::string ConfusionMatrix::to_text() const {
  const std::string corner = "true \\ predicted";
  size_t label_width = corner.size(), cell_width = std::to_string(total_).size();
  for (const auto& name : names_) {
    label_width = std::max(label_width, name.size());
    cell_width = std::max(cell_width, name.size());
  }
  std::string out = pad_right(corner, label_width);
  for (const auto& name : names_) out += "  " + pad_left(name, cell_width);
  out += "\n";
  for (size_t i = 0; i < names_.size(); ++i) {
    out += pad_right(names_[i], label_width);
    for (size_t j = 0; j < names_.size(); ++j) {
      out += "  " + pad_left(std::to_string(count(i, j)), cell_width);
    }
    out += "\n";
  }
  return out;
}

std::string ConfusionMatrix::per_class_text() const {
  size_t width = std::string("overall").size();
  for (const auto& name : names_) width = std::max(width, name.size());
  const size_t fraction_width =
      std::max(std::string("correct").size(), 2 * std::to_string(total_).size() + 1);
  auto row = [&](const std::string& name, int64_t right, int64_t all) {
    return pad_right(name, width) + "  " +
           pad_left(std::to_string(right) + "/" + std::to_string(all), fraction_width) + "  " +
           pad_left(percent(ratio(right, all)), 8) + "\n";
  };
  std::string out = pad_right("class", width) + "  " + pad_left("correct", fraction_width) + "  " +
                    pad_left("accuracy", 8) + "\n";
  for (size_t i = 0; i < names_.size(); ++i) out += row(names_[i], count(i, i), class_total(i));
  return out + row("overall", correct(), total_);
}

nlohmann::json ConfusionMatrix::to_json() const {
  nlohmann::json matrix = nlohmann::json::array(), per_class = nlohmann::json::array();
  for (size_t i = 0; i < names_.size(); ++i) {
    nlohmann::json row = nlohmann::json::array();
    for (size_t j = 0; j < names_.size(); ++j) row.push_back(count(i, j));
    matrix.push_back(row);
    per_class.push_back({{"class", names_[i]},
                         {"correct", count(i, i)},
                         {"total", class_total(i)},
                         {"accuracy", class_accuracy(i)},
                         {"precision", class_precision(i)}});
  }
  return {{"classes", names_},    {"matrix", matrix},       {"total", total_},
          {"correct", correct()}, {"accuracy", accuracy()}, {"per_class", per_class}};
}

void write_confusion_svg(const std::filesystem::path& path, const ConfusionMatrix& m) {
  const auto& names = m.class_names();
  const double n = static_cast<double>(names.size());
  constexpr double kLeft = 130, kTop = 70, kCell = 54, kRight = 100, kBottom = 120;
  const double grid = n * kCell;
  svg::Document doc(kLeft + grid + kRight, kTop + grid + kBottom);
  doc.text(kLeft, 28,
           "Confusion matrix: " + std::to_string(m.correct()) + "/" + std::to_string(m.total()) +
               " correct (" + percent(m.accuracy()) + ")",
           "start", 15, "#222", 0, "bold");
  doc.text(kLeft, 50, "rows: true class, columns: predicted; shade = share of the row", "start", 11,
           "#555");
  doc.text(kLeft + grid + 12, kTop - 8, "accuracy", "start", 11, "#222", 0, "bold");
  for (size_t i = 0; i < names.size(); ++i) {
    const double y = kTop + i * kCell;
    const int64_t row_total = m.class_total(i);
    doc.text(kLeft - 8, y + kCell / 2 + 4, names[i], "end", 12);
    doc.text(kLeft + grid + 12, y + kCell / 2 + 4, percent(m.class_accuracy(i)), "start", 12);
    for (size_t j = 0; j < names.size(); ++j) {
      const double x = kLeft + j * kCell;
      const double share = ratio(m.count(i, j), row_total);
      doc.rect(x, y, kCell, kCell, heat_color(share), "#ccc");
      doc.text(x + kCell / 2, y + kCell / 2 + 4, std::to_string(m.count(i, j)), "middle", 12,
               share > 0.5 ? "white" : "#222", 0, i == j ? "bold" : "normal");
    }
  }
  for (size_t j = 0; j < names.size(); ++j) {
    const double x = kLeft + j * kCell + kCell / 2;
    doc.text(x + 4, kTop + grid + 14, names[j], "end", 12, "#222", -40);
  }
  doc.rect(kLeft, kTop, grid, grid, "none", "#444");
  doc.text(kLeft + grid / 2, kTop + grid + kBottom - 14, "predicted class", "middle", 13);
  doc.text(24, kTop + grid / 2, "true class", "middle", 13, "#222", -90);
  write_file_atomic(path, doc.str());
}

void write_evaluation_json(const std::filesystem::path& path, const ConfusionMatrix& matrix,
                           const nlohmann::json& extra) {
  nlohmann::json report = matrix.to_json();
  for (const auto& [key, value] : extra.items()) report[key] = value;
  write_json_file(path, report);
}

}  // namespace googlenet
