// The training loop of the reference recipe (SGD + one-cycle schedule per batch,
// cross-entropy, optional aux-head loss) with evaluation, metrics, plots,
// checkpoints, exact resume and clean interruption.
#pragma once

#include <atomic>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "googlenet/model/googlenet.h"
#include "googlenet/train/config.h"
#include "googlenet/train/distributed.h"

namespace googlenet {

// Ctrl-C / SIGTERM during training: a resumable checkpoint was written.
class TrainingInterrupted : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The loss became NaN or infinite: the run stopped before the bad update.
class NonFiniteLoss : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct TrainResult {
  std::filesystem::path run_dir;
  double final_accuracy = 0;
  double best_accuracy = 0;
};

// Trains a new run described by `config` (config.out: the run folder), or, with a
// non-empty `resume_dir`, continues the run saved there. Sets `stop` from a signal
// handler to interrupt: the current step finishes, a checkpoint is written and
// TrainingInterrupted is thrown.
//
// With distributed.world_size > 1 this process is one rank of a data-parallel run
// (DistributedDataParallel's semantics): config.batch_size is per rank, so the
// global batch is batch_size x world_size and the learning rate is left as given;
// rank 0 alone writes the run folder and prints. A resumed run needs the world size
// it was trained with.
// runs/<local time>: the run folder when --out is not given.
std::string default_run_dir();

TrainResult train(const TrainConfig& config, const std::atomic<bool>& stop,
                  const DistributedOptions& distributed = {});
TrainResult resume(const std::filesystem::path& run_dir, const std::atomic<bool>& stop, int threads,
                   int loader_threads, const DistributedOptions& distributed = {});

}  // namespace googlenet
