// Batches of CIFAR-10 for training and evaluation: per-epoch shuffle, the
// reference's augmentation, worker threads filling a bounded prefetch window, and
// DistributedSampler sharding. A batch depends only on (seed, epoch, batch number),
// never on the thread count or on timing, so runs and resumed runs are repeatable.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "googlenet/data/cifar.h"

namespace googlenet {

inline constexpr int64_t kTrainBatchSize = 128;  // the reference's train DataLoader
inline constexpr int64_t kTestBatchSize = 100;   // the reference's test DataLoader

struct LoaderOptions {
  int64_t batch_size = kTrainBatchSize;  // the last, partial batch is kept
  bool shuffle = true;                   // new permutation every epoch, from (seed, epoch)
  bool augment = true;                   // RandomCrop(32, padding=4) + RandomHorizontalFlip
  uint64_t seed = 0;
  int64_t threads = 1;         // worker threads; 0 builds each batch inside next()
  int64_t prefetch = 4;        // batches built ahead of the one next() returns
  bool channels_last = false;  // images in NHWC memory (sizes stay N x 3 x 32 x 32)
  int64_t rank = 0;            // this process's shard, 0 <= rank < world_size
  int64_t world_size = 1;
  // true: every rank gets ceil(n / world_size) samples, wrapping around (training,
  // where ranks must take equal steps); false: ranks r, r + world_size, ... < n, so
  // each sample is seen exactly once over all ranks (sharded evaluation).
  bool pad_shards = true;
};

struct Batch {
  torch::Tensor images;   // float32 N x 3 x 32 x 32, normalised
  torch::Tensor labels;   // int64 N, 0-9
  torch::Tensor indices;  // int64 N, each sample's index in the dataset
  int64_t epoch = 0;
  int64_t index = 0;  // batch number within the epoch, from 0
};

// The dataset indices this rank visits in `epoch`, in order. PyTorch's
// DistributedSampler semantics: one permutation shared by all ranks (or 0..n-1
// unshuffled), padded by wrapping around to a multiple of world_size (unless
// !pad_shards), and rank r taking positions r, r + world_size, ...
std::vector<int64_t> shard_indices(int64_t dataset_size, int64_t epoch,
                                   const LoaderOptions& options);

class CifarLoader {
 public:
  // Throws std::invalid_argument on options out of range or an empty dataset.
  CifarLoader(std::shared_ptr<const Cifar10> data, LoaderOptions options);
  ~CifarLoader();
  CifarLoader(const CifarLoader&) = delete;
  CifarLoader& operator=(const CifarLoader&) = delete;

  // Begins `epoch` at batch `first_batch` (a run resumed mid-epoch gets exactly the
  // batches an uninterrupted run would have had). Discards batches built ahead.
  void start_epoch(int64_t epoch, int64_t first_batch = 0);
  // The next batch of the epoch, or nullopt after the last one.
  std::optional<Batch> next();

  int64_t batches_per_epoch() const;
  int64_t samples_per_epoch() const;  // this rank's share, wrap-around padding included
  const LoaderOptions& options() const;
  const Cifar10& data() const;

 private:
  struct State;  // threads and queue, out of this header
  std::unique_ptr<State> state_;
};

}  // namespace googlenet
