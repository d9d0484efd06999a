// Training checkpoints: everything needed to continue a run exactly where it
// stopped. Stored in PyTorch's torch.save format, so Python can torch.load them too:
// {"model": state_dict, "momentum": {name: buffer}, "rng": uint8 generator state,
//  "rank_rng": {rank: generator state} (multi-process runs only),
//  "meta": JSON text (format, config, position, best accuracy, class names)}; the entry
// names live in io/weights_file.h, which reads the weights back for `test` and `predict`.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "googlenet/io/saved_value.h"
#include "googlenet/train/config.h"

namespace googlenet {

struct Checkpoint {
  TrainConfig config;
  StateDict model;            // state_dict, reference names
  StateDict momentum;         // SGD momentum buffers by parameter name
  torch::Tensor rng_state;    // CPU generator (dropout of the aux heads)
  StateDict rank_rng_states;  // data-parallel runs: ranks 1.. ("1", "2", ...) generators
  std::vector<std::string> class_names;
  int64_t epoch = 0;          // epochs completed
  int64_t batch = 0;          // batches completed in epoch `epoch` (non-zero after Ctrl-C)
  double epoch_loss_sum = 0;  // train-loss sum and count of that partial epoch
  int64_t epoch_loss_count = 0;
  double best_accuracy = 0;  // best test accuracy so far (0-1)
};

// Writes to a temporary file beside `path`, then renames: a crash or a full disk
// leaves the previous checkpoint intact.
void save_checkpoint(const std::filesystem::path& path, const Checkpoint& checkpoint);

// Throws naming the file when it is missing, not a checkpoint of this program
// (e.g. a bare state_dict: use --init), or of an unknown format version.
Checkpoint load_checkpoint(const std::filesystem::path& path);

}  // namespace googlenet
