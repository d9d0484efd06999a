// What a training run leaves behind besides checkpoints: metrics CSVs that survive
// a resume and an SVG plot of the curves (evaluation reports: confusion.h).
// No LibTorch here.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace googlenet {

// One row of metrics.csv per finished epoch (epochs count from 1).
struct EpochRow {
  int64_t epoch = 0;
  double train_loss = 0;
  double test_loss = 0;
  double test_accuracy = 0;  // fraction in [0, 1]
  double lr = 0;             // at the epoch's last batch
  double epoch_seconds = 0;
  double images_per_second = 0;  // training throughput
};

// One row of iterations.csv, written every N batches.
struct IterationRow {
  int64_t epoch = 0;
  int64_t iteration = 0;  // batches done in the epoch (counts from 1, as the log line)
  double loss = 0;
};

// Reads a file written by MetricsLog; throws std::runtime_error naming the file and
// line on a wrong header or a malformed row. A last line without '\n' is a write
// torn by a crash and is dropped.
std::vector<EpochRow> read_epoch_csv(const std::filesystem::path& path);
std::vector<IterationRow> read_iteration_csv(const std::filesystem::path& path);

// metrics.csv + iterations.csv in one run folder, appended and flushed row by row.
class MetricsLog {
 public:
  // Starts both files afresh (resume_epoch empty), or keeps the rows of epochs
  // <= *resume_epoch (the epoch the resumed checkpoint finished) and drops the
  // rest, so a resumed run does not repeat rows. Creates `dir` if needed.
  MetricsLog(const std::filesystem::path& dir, std::optional<int64_t> resume_epoch);

  void append(const EpochRow& row);
  void append(const IterationRow& row);

  const std::vector<EpochRow>& epochs() const { return epochs_; }  // kept + appended
  const std::filesystem::path& epoch_csv() const { return epoch_csv_; }
  const std::filesystem::path& iteration_csv() const { return iteration_csv_; }

 private:
  std::filesystem::path epoch_csv_, iteration_csv_;
  std::vector<EpochRow> epochs_;
};

// Train/test loss (top panel) and test accuracy (bottom) against epoch, as a
// self-contained SVG written atomically (util/atomic_file.h). Non-finite values leave gaps.
void write_training_plot(const std::filesystem::path& path, const std::vector<EpochRow>& rows);

}  // namespace googlenet
