// CifarLoader: workers claim batch numbers in order, build them unlocked, and park
// them in a map the consumer drains in order; at most `prefetch` batches are
// claimed beyond the one being waited for. start_epoch bumps a generation number
// so batches of an abandoned epoch are dropped when their builders finish.
#include "googlenet/data/loader.h"

#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>

#include "googlenet/data/augment.h"

namespace googlenet {

namespace {

constexpr uint64_t kShuffleStream = 0x53485546;  // distinct from the augmentation's stream

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

void check_options(const LoaderOptions& o) {
  const auto fail = [](const std::string& what) {
    throw std::invalid_argument("LoaderOptions: " + what);
  };
  if (o.batch_size < 1) fail("batch_size " + std::to_string(o.batch_size) + ", expected >= 1");
  if (o.threads < 0) fail("threads " + std::to_string(o.threads) + ", expected >= 0");
  if (o.prefetch < 1) fail("prefetch " + std::to_string(o.prefetch) + ", expected >= 1");
  if (o.world_size < 1) fail("world_size " + std::to_string(o.world_size) + ", expected >= 1");
  if (o.rank < 0 || o.rank >= o.world_size) {
    fail("rank " + std::to_string(o.rank) + ", expected 0 <= rank < world_size " +
         std::to_string(o.world_size));
  }
}

int64_t shard_size(int64_t n, const LoaderOptions& options) {
  if (options.pad_shards) return ceil_div(n, options.world_size);
  return n > options.rank ? ceil_div(n - options.rank, options.world_size) : 0;
}

}  // namespace

std::vector<int64_t> shard_indices(int64_t n, int64_t epoch, const LoaderOptions& options) {
  check_options(options);
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), int64_t{0});
  if (options.shuffle) {
    // Fisher-Yates, step i drawing from its own counter: a pure function of (seed, epoch).
    for (int64_t i = n - 1; i > 0; --i) {
      const uint64_t bits = counter_hash(options.seed ^ kShuffleStream,
                                         static_cast<uint64_t>(epoch), static_cast<uint64_t>(i));
      const auto j = static_cast<int64_t>((static_cast<unsigned __int128>(bits) * (i + 1)) >> 64);
      std::swap(order[i], order[j]);
    }
  }
  const int64_t per_rank = shard_size(n, options);
  std::vector<int64_t> shard;
  shard.reserve(per_rank);
  for (int64_t k = 0; k < per_rank; ++k) {
    shard.push_back(order[(options.rank + k * options.world_size) % n]);  // wraps to pad
  }
  return shard;
}

struct CifarLoader::State {
  std::shared_ptr<const Cifar10> data;
  LoaderOptions options;
  int64_t samples = 0;
  int64_t batches = 0;

  std::mutex mutex;
  std::condition_variable work_ready;   // workers wait for a batch number to claim
  std::condition_variable batch_ready;  // next() waits for batch `cursor`
  bool started = false;
  bool stopping = false;
  int64_t generation = 0;
  int64_t epoch = 0;
  std::shared_ptr<const std::vector<int64_t>> shard;
  int64_t cursor = 0;      // batch next() returns next
  int64_t next_claim = 0;  // batch the next idle worker builds
  std::map<int64_t, Batch> ready;
  std::exception_ptr error;
  std::vector<std::thread> workers;

  Batch build(int64_t epoch_number, const std::vector<int64_t>& indices, int64_t b) const {
    const int64_t first = b * options.batch_size;
    const int64_t count = std::min(options.batch_size, samples - first);
    auto image_options = torch::TensorOptions().dtype(torch::kFloat32);
    if (options.channels_last)
      image_options = image_options.memory_format(torch::MemoryFormat::ChannelsLast);
    Batch batch;
    batch.images = torch::empty({count, kCifarChannels, kCifarSide, kCifarSide}, image_options);
    batch.labels = torch::empty({count}, torch::kInt64);
    batch.indices = torch::empty({count}, torch::kInt64);
    batch.epoch = epoch_number;
    batch.index = b;
    float* images = batch.images.data_ptr<float>();
    int64_t* labels = batch.labels.data_ptr<int64_t>();
    int64_t* sample_indices = batch.indices.data_ptr<int64_t>();
    for (int64_t i = 0; i < count; ++i) {
      const int64_t k = first + i;
      const int64_t index = indices[k];
      float* out = images + i * kCifarImageBytes;
      if (options.augment) {
        // Position in the shared (all-ranks) order, so shards draw disjoint parameters.
        const int64_t position = options.rank + k * options.world_size;
        transform_image(data->image(index), random_crop_flip(options.seed, epoch_number, position),
                        options.channels_last, out);
      } else {
        normalize_image(data->image(index), options.channels_last, out);
      }
      labels[i] = data->labels[index];
      sample_indices[i] = index;
    }
    return batch;
  }

  void work() {
    std::unique_lock<std::mutex> lock(mutex);
    while (true) {
      work_ready.wait(lock, [&] {
        return stopping ||
               (started && next_claim < batches && next_claim < cursor + options.prefetch);
      });
      if (stopping) return;
      const int64_t b = next_claim++;
      const int64_t claimed_generation = generation;
      const int64_t claimed_epoch = epoch;
      const auto indices = shard;
      lock.unlock();
      Batch batch;
      std::exception_ptr failure;
      try {
        batch = build(claimed_epoch, *indices, b);
      } catch (...) {
        failure = std::current_exception();
      }
      lock.lock();
      if (claimed_generation != generation) continue;  // start_epoch moved on
      if (failure) {
        error = failure;
      } else {
        ready.emplace(b, std::move(batch));
      }
      batch_ready.notify_all();
    }
  }
};

CifarLoader::CifarLoader(std::shared_ptr<const Cifar10> data, LoaderOptions options)
    : state_(std::make_unique<State>()) {
  check_options(options);
  if (!data || data->size() == 0) {
    throw std::invalid_argument("CifarLoader: empty dataset (load_cifar10 first)");
  }
  state_->data = std::move(data);
  state_->options = options;
  state_->samples = shard_size(state_->data->size(), options);
  state_->batches = ceil_div(state_->samples, options.batch_size);
  for (int64_t t = 0; t < options.threads; ++t) {
    state_->workers.emplace_back([state = state_.get()] { state->work(); });
  }
}

CifarLoader::~CifarLoader() {
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->stopping = true;
  }
  state_->work_ready.notify_all();
  for (auto& worker : state_->workers) worker.join();
}

void CifarLoader::start_epoch(int64_t epoch, int64_t first_batch) {
  if (first_batch < 0 || first_batch > state_->batches) {
    throw std::invalid_argument("CifarLoader::start_epoch: first_batch " +
                                std::to_string(first_batch) + ", expected 0.." +
                                std::to_string(state_->batches) + " (batches per epoch)");
  }
  auto indices = std::make_shared<const std::vector<int64_t>>(
      shard_indices(state_->data->size(), epoch, state_->options));
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    ++state_->generation;
    state_->ready.clear();
    state_->error = nullptr;
    state_->epoch = epoch;
    state_->shard = std::move(indices);
    state_->cursor = first_batch;
    state_->next_claim = first_batch;
    state_->started = true;
  }
  state_->work_ready.notify_all();
}

std::optional<Batch> CifarLoader::next() {
  std::unique_lock<std::mutex> lock(state_->mutex);
  if (!state_->started) {
    throw std::logic_error("CifarLoader::next: no epoch started (call start_epoch(epoch) first)");
  }
  if (state_->cursor >= state_->batches) return std::nullopt;
  if (state_->workers.empty()) {
    return state_->build(state_->epoch, *state_->shard, state_->cursor++);
  }
  state_->batch_ready.wait(
      lock, [&] { return state_->error != nullptr || state_->ready.count(state_->cursor) > 0; });
  if (state_->error) std::rethrow_exception(state_->error);
  auto it = state_->ready.find(state_->cursor);
  Batch batch = std::move(it->second);
  state_->ready.erase(it);
  ++state_->cursor;
  lock.unlock();
  state_->work_ready.notify_all();  // the prefetch window moved on
  return batch;
}

int64_t CifarLoader::batches_per_epoch() const { return state_->batches; }
int64_t CifarLoader::samples_per_epoch() const { return state_->samples; }
const LoaderOptions& CifarLoader::options() const { return state_->options; }
const Cifar10& CifarLoader::data() const { return *state_->data; }

}  // namespace googlenet
