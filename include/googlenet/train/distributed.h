// Data-parallel training on PyTorch's own distributed engine, c10d: a Gloo process
// group (CPU tensors) that rendezvouses through a TCPStore, as torchrun +
// DistributedDataParallel do in Python. The c10d and Gloo headers stay in the .cpp.
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace googlenet {

// A collective failed or timed out: another rank died, hung or could not be reached.
class DistributedError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct DistributedOptions {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";  // host of rank 0, which serves the TCPStore
  int master_port = 29500;
  // Longest wait for the rendezvous and for any collective; a rank that died or hung
  // makes the others fail with DistributedError after at most this long.
  std::chrono::seconds timeout{300};

  bool enabled() const { return world_size > 1; }
  // Throws UsageError (util/errors.h) naming the bad value (and the variable it came from).
  void validate() const;
};

// torchrun's contract: RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT. Unset
// variables keep `defaults`; malformed ones throw UsageError.
DistributedOptions distributed_from_environment(DistributedOptions defaults = {});

// One process's membership of the group. Every call is collective: all ranks make
// the same calls in the same order. Failures throw DistributedError.
class Communicator {
 public:
  // Rendezvous: rank 0 listens on master_port, every rank connects to it.
  explicit Communicator(const DistributedOptions& options);
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const;
  int world_size() const;

  // In place: every rank ends with the sum over ranks. CPU tensors.
  void all_reduce_sum(torch::Tensor& tensor);
  // In place: every rank ends with rank `root`'s values (flattened into one message).
  void broadcast(const std::vector<torch::Tensor>& tensors, int root = 0);
  // Every rank's copy of `tensor` (same shape and dtype on all ranks), by rank.
  std::vector<torch::Tensor> all_gather(const torch::Tensor& tensor);
  void barrier();

  // The asynchronous all-reduce behind GradientReducer: starts now, finished by
  // wait(). `tensor` must stay alive and untouched until then.
  class Pending {
   public:
    virtual ~Pending() = default;
    virtual void wait() = 0;
  };
  std::unique_ptr<Pending> start_all_reduce_sum(torch::Tensor& tensor);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// What DistributedDataParallel does to gradients: averages them over all ranks with
// bucketed all-reduce. Parameters are grouped in reverse registration order (about
// the order backward produces their gradients) into buckets of ~bucket_bytes; a hook
// on each parameter copies its gradient into the bucket, and the bucket's all-reduce
// starts as soon as its last gradient has arrived, while backward goes on with the
// earlier layers. Own code rather than c10d::Reducer: that class is internal to
// PyTorch and its constructor changes between releases.
class GradientReducer {
 public:
  GradientReducer(Communicator& communicator, std::vector<torch::Tensor> parameters,
                  int64_t bucket_bytes = int64_t{4} << 20);
  ~GradientReducer();
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  // After backward: starts the buckets some of whose parameters got no gradient
  // (zeros stand in), waits for every bucket and writes the averages into .grad().
  void finish();

  int64_t bucket_count() const;
  // Seconds finish() spent waiting for communication, summed since the last call.
  double take_wait_seconds();

 private:
  struct Bucket;
  void on_gradient(size_t parameter, const torch::Tensor& gradient);
  void launch(Bucket& bucket);

  Communicator& communicator_;
  std::vector<torch::Tensor> parameters_;
  std::vector<std::unique_ptr<Bucket>> buckets_;
  std::vector<std::pair<size_t, int64_t>> slot_of_;  // parameter -> (bucket, offset)
  std::vector<unsigned> hook_handles_;
  double wait_seconds_ = 0;
};

}  // namespace googlenet
