#include "googlenet/train/distributed.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>

#include "googlenet/util/errors.h"

#if GOOGLENET_HAVE_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

namespace googlenet {

namespace {

int int_from_environment(const char* name, int fallback) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return fallback;
  char* end = nullptr;
  errno = 0;
  const long value = std::strtol(text, &end, 10);
  if (errno != 0 || *end != '\0' || value < 0 || value > 1'000'000) {
    throw UsageError(std::string("environment variable ") + name + "='" + text +
                     "' is not a non-negative integer");
  }
  return static_cast<int>(value);
}

// c10::Error's what() carries a C++ backtrace; users need the first line.
std::string brief(const std::exception& e) {
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&e)) {
    return c10_error->what_without_backtrace();
  }
  return e.what();
}

}  // namespace

void DistributedOptions::validate() const {
  auto require = [](bool ok, const std::string& message) {
    if (!ok) throw UsageError(message);
  };
  require(world_size >= 1,
          "world size (WORLD_SIZE) must be at least 1, got " + std::to_string(world_size));
  require(rank >= 0 && rank < world_size, "rank (RANK) must be in [0, " +
                                              std::to_string(world_size) + "), got " +
                                              std::to_string(rank));
  require(local_rank >= 0, "local rank (LOCAL_RANK) must not be negative");
  require(master_port >= 1 && master_port <= 65535,
          "master port (MASTER_PORT) must be in [1, 65535], got " + std::to_string(master_port));
  require(!master_addr.empty(), "master address (MASTER_ADDR) is empty");
  require(timeout.count() >= 1, "the distributed timeout must be at least 1 second");
}

DistributedOptions distributed_from_environment(DistributedOptions defaults) {
  DistributedOptions o = defaults;
  o.rank = int_from_environment("RANK", o.rank);
  o.world_size = int_from_environment("WORLD_SIZE", o.world_size);
  o.local_rank = int_from_environment("LOCAL_RANK", o.local_rank);
  o.master_port = int_from_environment("MASTER_PORT", o.master_port);
  if (const char* addr = std::getenv("MASTER_ADDR"); addr != nullptr && *addr != '\0') {
    o.master_addr = addr;
  }
  o.validate();
  return o;
}

#if GOOGLENET_HAVE_GLOO

namespace {

std::shared_ptr<::gloo::transport::Device> gloo_device(const DistributedOptions& options) {
  // GLOO_SOCKET_IFNAME picks the network interface, as in PyTorch. A loopback
  // master means one machine: stay on loopback, whatever the hostname resolves to.
  if (const char* interface = std::getenv("GLOO_SOCKET_IFNAME");
      interface != nullptr && *interface != '\0') {
    return c10d::ProcessGroupGloo::createDeviceForInterface(interface);
  }
  const auto& addr = options.master_addr;
  if (addr == "localhost" || addr.rfind("127.", 0) == 0) {
    return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  }
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

}  // namespace

struct Communicator::Impl {
  DistributedOptions options;
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;

  std::string who() const {
    return "rank " + std::to_string(options.rank) + " of " + std::to_string(options.world_size);
  }
  [[noreturn]] void fail(const std::string& operation, const std::exception& e) const {
    throw DistributedError(who() + ": " + operation + " failed: " + brief(e) +
                           " (another rank probably died, hung or was stopped; its own error "
                           "says why)");
  }
};

using Work = decltype(std::declval<c10d::ProcessGroupGloo&>().allreduce(
    std::declval<std::vector<at::Tensor>&>()));

Communicator::Communicator(const DistributedOptions& options) : impl_(std::make_unique<Impl>()) {
  options.validate();
  impl_->options = options;
  const std::string endpoint = options.master_addr + ":" + std::to_string(options.master_port);
  try {
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<std::uint16_t>(options.master_port);
    store_options.isServer = options.rank == 0;
    store_options.numWorkers = options.world_size;
    store_options.waitWorkers = true;
    store_options.timeout = options.timeout;
    impl_->store = c10::make_intrusive<c10d::TCPStore>(options.master_addr, store_options);
    auto gloo_options = c10d::ProcessGroupGloo::Options::create(options.timeout);
    gloo_options->devices.push_back(gloo_device(options));
    impl_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, options.rank,
                                                               options.world_size, gloo_options);
  } catch (const std::exception& e) {
    throw DistributedError(
        impl_->who() + ": rendezvous at " + endpoint + " failed within " +
        std::to_string(options.timeout.count()) + " s: " + brief(e) +
        (options.rank == 0 ? " (is the port free? choose another MASTER_PORT)"
                           : " (is rank 0 running, and MASTER_ADDR/MASTER_PORT its address?)"));
  }
}

Communicator::~Communicator() = default;

int Communicator::rank() const { return impl_->options.rank; }
int Communicator::world_size() const { return impl_->options.world_size; }

void Communicator::all_reduce_sum(torch::Tensor& tensor) { start_all_reduce_sum(tensor)->wait(); }

namespace {

class GlooPending : public Communicator::Pending {
 public:
  GlooPending(Work work, std::function<void(const std::exception&)> fail)
      : work_(std::move(work)), fail_(std::move(fail)) {}
  void wait() override {
    try {
      work_->wait();
    } catch (const std::exception& e) {
      fail_(e);
    }
  }

 private:
  Work work_;
  std::function<void(const std::exception&)> fail_;
};

}  // namespace

std::unique_ptr<Communicator::Pending> Communicator::start_all_reduce_sum(torch::Tensor& tensor) {
  TORCH_CHECK(tensor.is_contiguous(), "all-reduce needs a contiguous tensor");
  auto fail = [impl = impl_.get()](const std::exception& e) { impl->fail("all-reduce", e); };
  try {
    std::vector<at::Tensor> tensors{tensor};
    return std::make_unique<GlooPending>(impl_->group->allreduce(tensors), fail);
  } catch (const std::exception& e) {
    impl_->fail("all-reduce", e);
  }
}

void Communicator::broadcast(const std::vector<torch::Tensor>& tensors, int root) {
  torch::NoGradGuard no_grad;
  // One message per dtype (float weights, int64 BN counters), in a fixed order.
  std::map<c10::ScalarType, std::vector<torch::Tensor>> by_dtype;
  for (const auto& t : tensors) by_dtype[t.scalar_type()].push_back(t);
  for (auto& [dtype, group] : by_dtype) {
    std::vector<torch::Tensor> pieces;
    for (const auto& t : group) pieces.push_back(t.detach().contiguous().view(-1));
    auto flat = torch::cat(pieces);
    try {
      std::vector<at::Tensor> message{flat};
      c10d::BroadcastOptions options;
      options.rootRank = root;
      impl_->group->broadcast(message, options)->wait();
    } catch (const std::exception& e) {
      impl_->fail("broadcast", e);
    }
    int64_t offset = 0;
    for (auto& t : group) {
      t.detach().copy_(flat.narrow(0, offset, t.numel()).view(t.sizes()));
      offset += t.numel();
    }
  }
}

std::vector<torch::Tensor> Communicator::all_gather(const torch::Tensor& tensor) {
  std::vector<at::Tensor> input{tensor.contiguous()};
  std::vector<std::vector<at::Tensor>> output(1);
  for (int r = 0; r < world_size(); ++r) output[0].push_back(torch::empty_like(input[0]));
  try {
    impl_->group->allgather(output, input)->wait();
  } catch (const std::exception& e) {
    impl_->fail("all-gather", e);
  }
  return output[0];
}

void Communicator::barrier() {
  try {
    impl_->group->barrier()->wait();
  } catch (const std::exception& e) {
    impl_->fail("barrier", e);
  }
}

#else  // LibTorch without Gloo headers (see CMakeLists.txt): single-process only.

struct Communicator::Impl {};

Communicator::Communicator(const DistributedOptions& options) {
  options.validate();
  throw DistributedError(
      "this googlenet was built without c10d's Gloo headers (Debian: libgloo-dev), so it "
      "cannot train in several processes; rebuild with them, or train with one process");
}
Communicator::~Communicator() = default;
int Communicator::rank() const { return 0; }
int Communicator::world_size() const { return 1; }
void Communicator::all_reduce_sum(torch::Tensor&) {}
std::unique_ptr<Communicator::Pending> Communicator::start_all_reduce_sum(torch::Tensor&) {
  return nullptr;
}
void Communicator::broadcast(const std::vector<torch::Tensor>&, int) {}
std::vector<torch::Tensor> Communicator::all_gather(const torch::Tensor& t) { return {t}; }
void Communicator::barrier() {}

#endif

// ---- GradientReducer ----

struct GradientReducer::Bucket {
  std::vector<size_t> parameters;  // indices into parameters_
  torch::Tensor flat;              // the gradients side by side, NCHW order
  std::vector<bool> arrived;       // per entry of `parameters`
  size_t arrived_count = 0;
  std::unique_ptr<Communicator::Pending> pending;
};

GradientReducer::GradientReducer(Communicator& communicator, std::vector<torch::Tensor> parameters,
                                 int64_t bucket_bytes)
    : communicator_(communicator), parameters_(std::move(parameters)) {
  TORCH_CHECK(!parameters_.empty(), "GradientReducer needs parameters");
  slot_of_.resize(parameters_.size());
  const auto options = parameters_.front().options();
  int64_t bytes = bucket_bytes;  // start a bucket at the first parameter
  std::vector<int64_t> sizes;
  for (size_t i = parameters_.size(); i-- > 0;) {
    const auto& p = parameters_[i];
    TORCH_CHECK(p.scalar_type() == options.dtype().toScalarType() && p.device() == options.device(),
                "GradientReducer: all parameters must share one dtype and device");
    if (bytes >= bucket_bytes) {
      buckets_.push_back(std::make_unique<Bucket>());
      sizes.push_back(0);
      bytes = 0;
    }
    auto& bucket = *buckets_.back();
    slot_of_[i] = {buckets_.size() - 1, sizes.back()};
    bucket.parameters.push_back(i);
    sizes.back() += p.numel();
    bytes += p.numel() * static_cast<int64_t>(p.element_size());
  }
  for (size_t b = 0; b < buckets_.size(); ++b) {
    buckets_[b]->flat = torch::zeros({sizes[b]}, options.requires_grad(false));
    buckets_[b]->arrived.assign(buckets_[b]->parameters.size(), false);
  }
  for (size_t i = 0; i < parameters_.size(); ++i) {
    hook_handles_.push_back(
        parameters_[i].register_hook([this, i](const torch::Tensor& g) { on_gradient(i, g); }));
  }
}

GradientReducer::~GradientReducer() {
  for (size_t i = 0; i < parameters_.size(); ++i) parameters_[i].remove_hook(hook_handles_[i]);
}

int64_t GradientReducer::bucket_count() const { return static_cast<int64_t>(buckets_.size()); }

void GradientReducer::on_gradient(size_t parameter, const torch::Tensor& gradient) {
  torch::NoGradGuard no_grad;
  const auto [b, offset] = slot_of_[parameter];
  Bucket& bucket = *buckets_[b];
  TORCH_CHECK(!bucket.pending,
              "a gradient arrived for a bucket already sent: backward ran twice "
              "without GradientReducer::finish()");
  const auto& p = parameters_[parameter];
  bucket.flat.narrow(0, offset, p.numel()).view(p.sizes()).copy_(gradient);
  const size_t entry =
      static_cast<size_t>(std::find(bucket.parameters.begin(), bucket.parameters.end(), parameter) -
                          bucket.parameters.begin());
  if (!bucket.arrived[entry]) {
    bucket.arrived[entry] = true;
    ++bucket.arrived_count;
  }
  // Buckets start strictly in index order, so every rank issues the same sequence
  // of collectives even if its hooks fired in another order.
  for (auto& next : buckets_) {
    if (next->pending) continue;
    if (next->arrived_count < next->parameters.size()) break;
    launch(*next);
  }
}

void GradientReducer::launch(Bucket& bucket) {
  bucket.pending = communicator_.start_all_reduce_sum(bucket.flat);
}

void GradientReducer::finish() {
  torch::NoGradGuard no_grad;
  const auto start = std::chrono::steady_clock::now();
  for (auto& bucket : buckets_) {
    if (bucket->pending) continue;
    for (size_t e = 0; e < bucket->parameters.size(); ++e) {
      if (bucket->arrived[e]) continue;
      const auto& p = parameters_[bucket->parameters[e]];
      bucket->flat.narrow(0, slot_of_[bucket->parameters[e]].second, p.numel()).zero_();
    }
    launch(*bucket);
  }
  const double world = communicator_.world_size();
  for (auto& bucket : buckets_) {
    bucket->pending->wait();
    bucket->pending.reset();
    bucket->flat.div_(world);
    for (size_t e = 0; e < bucket->parameters.size(); ++e) {
      auto& p = parameters_[bucket->parameters[e]];
      auto averaged = bucket->flat.narrow(0, slot_of_[bucket->parameters[e]].second, p.numel());
      auto& grad = p.mutable_grad();
      if (!grad.defined()) grad = torch::empty_like(p);
      grad.copy_(averaged.view(p.sizes()));
      bucket->arrived[e] = false;
    }
    bucket->arrived_count = 0;
  }
  wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double GradientReducer::take_wait_seconds() {
  const double seconds = wait_seconds_;
  wait_seconds_ = 0;
  return seconds;
}

}  // namespace googlenet
