// Metrics CSVs and the training-curve plot. The confusion matrix lives in confusion.cpp.
#include "googlenet/report/metrics.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "googlenet/report/svg.h"
#include "googlenet/util/atomic_file.h"

namespace googlenet {

namespace fs = std::filesystem;

namespace {

constexpr const char* kEpochHeader =
    "epoch,train_loss,test_loss,test_accuracy,lr,epoch_seconds,images_per_second";
constexpr const char* kIterationHeader = "epoch,iteration,loss";

std::string fmt(const char* format, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, value);
  return buffer;
}

std::string to_csv(const EpochRow& r) {
  return std::to_string(r.epoch) + "," + fmt("%.9g", r.train_loss) + "," +
         fmt("%.9g", r.test_loss) + "," + fmt("%.9g", r.test_accuracy) + "," + fmt("%.9g", r.lr) +
         "," + fmt("%.6g", r.epoch_seconds) + "," + fmt("%.6g", r.images_per_second) + "\n";
}

std::string to_csv(const IterationRow& r) {
  return std::to_string(r.epoch) + "," + std::to_string(r.iteration) + "," + fmt("%.9g", r.loss) +
         "\n";
}

// Splits one CSV line into exactly `n` numeric fields, the first `n_int` of them
// whole numbers; `where` names file:line.
std::vector<double> parse_fields(const std::string& line, size_t n, size_t n_int,
                                 const std::string& where) {
  std::vector<double> fields;
  std::stringstream in(line);
  std::string field;
  while (std::getline(in, field, ',')) {
    char* end = nullptr;
    const double value = std::strtod(field.c_str(), &end);
    const bool whole = fields.size() >= n_int || value == std::floor(value);
    if (field.empty() || *end != '\0' || !whole) {
      throw std::runtime_error(where + ": '" + field + "' is not " +
                               (fields.size() < n_int ? "a whole number" : "a number") +
                               " (file edited by hand? fix or delete the line)");
    }
    fields.push_back(value);
  }
  if (fields.size() != n) {
    throw std::runtime_error(where + ": " + std::to_string(fields.size()) + " fields, expected " +
                             std::to_string(n));
  }
  return fields;
}

// Rows of `path` after checking its header; a missing file has none.
template <typename Row, typename Parse>
std::vector<Row> read_csv(const fs::path& path, const std::string& header, size_t n_fields,
                          size_t n_int, Parse parse) {
  std::vector<Row> rows;
  std::ifstream in(path, std::ios::binary);
  if (!in) return rows;
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  size_t begin = 0, line_number = 0;
  for (size_t end; (end = text.find('\n', begin)) != std::string::npos; begin = end + 1) {
    const std::string line = text.substr(begin, end - begin);
    const std::string where = path.string() + ":" + std::to_string(++line_number);
    if (line_number == 1) {
      if (line != header) {
        throw std::runtime_error(where + ": header '" + line + "', expected '" + header +
                                 "' (not a file written by this program?)");
      }
      continue;
    }
    rows.push_back(parse(parse_fields(line, n_fields, n_int, where)));
  }
  return rows;  // text after the last '\n' is a torn write and is dropped
}

template <typename Row>
void rewrite_csv(const fs::path& path, const std::string& header, const std::vector<Row>& rows) {
  std::string text = header + "\n";
  for (const auto& row : rows) text += to_csv(row);
  write_file_atomic(path, text);
}

template <typename Row>
void append_line(const fs::path& path, const Row& row) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out << to_csv(row);
  out.flush();
  if (!out) throw std::runtime_error(path.string() + ": cannot append a row (disk full?)");
}

}  // namespace

std::vector<EpochRow> read_epoch_csv(const fs::path& path) {
  return read_csv<EpochRow>(path, kEpochHeader, 7, 1, [](const std::vector<double>& f) {
    return EpochRow{static_cast<int64_t>(f[0]), f[1], f[2], f[3], f[4], f[5], f[6]};
  });
}

std::vector<IterationRow> read_iteration_csv(const fs::path& path) {
  return read_csv<IterationRow>(path, kIterationHeader, 3, 2, [](const std::vector<double>& f) {
    return IterationRow{static_cast<int64_t>(f[0]), static_cast<int64_t>(f[1]), f[2]};
  });
}

MetricsLog::MetricsLog(const fs::path& dir, std::optional<int64_t> resume_epoch)
    : epoch_csv_(dir / "metrics.csv"), iteration_csv_(dir / "iterations.csv") {
  fs::create_directories(dir);
  std::vector<IterationRow> iterations;
  if (resume_epoch) {
    for (const auto& row : read_epoch_csv(epoch_csv_))
      if (row.epoch <= *resume_epoch) epochs_.push_back(row);
    for (const auto& row : read_iteration_csv(iteration_csv_))
      if (row.epoch <= *resume_epoch) iterations.push_back(row);
  }
  rewrite_csv(epoch_csv_, kEpochHeader, epochs_);
  rewrite_csv(iteration_csv_, kIterationHeader, iterations);
}

void MetricsLog::append(const EpochRow& row) {
  append_line(epoch_csv_, row);
  epochs_.push_back(row);
}

void MetricsLog::append(const IterationRow& row) { append_line(iteration_csv_, row); }

void write_training_plot(const fs::path& path, const std::vector<EpochRow>& rows) {
  svg::Series train{"train loss", "#1f77b4", {}, {}, ""};
  svg::Series test{"test loss", "#d62728", {}, {}, "6,4"};
  svg::Series accuracy{"test accuracy", "#2ca02c", {}, {}, ""};
  for (const auto& r : rows) {
    const double epoch = static_cast<double>(r.epoch);
    train.x.push_back(epoch), train.y.push_back(r.train_loss);
    test.x.push_back(epoch), test.y.push_back(r.test_loss);
    accuracy.x.push_back(epoch), accuracy.y.push_back(100 * r.test_accuracy);
  }
  std::string best;
  double best_accuracy = -1;
  for (const auto& r : rows) {
    if (r.test_accuracy > best_accuracy) {
      best_accuracy = r.test_accuracy;
      best = " (best " + fmt("%.2f", 100 * r.test_accuracy) + "% at epoch " +
             std::to_string(r.epoch) + ")";
    }
  }
  svg::Document doc(900, 700);
  svg::Chart loss{90,  50, 780,  230,          "Loss", "epoch", "cross-entropy loss",
                  0.0, {}, true, {train, test}};
  svg::Chart acc{90,  380,   780,  230,       "Test accuracy" + best, "epoch", "accuracy (%)",
                 0.0, 100.0, true, {accuracy}};
  svg::draw_line_chart(doc, loss);
  svg::draw_line_chart(doc, acc);
  write_file_atomic(path, doc.str());
}

}  // namespace googlenet
