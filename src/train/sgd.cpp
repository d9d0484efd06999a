#include "googlenet/train/sgd.h"

#include <ATen/Parallel.h>

#include <stdexcept>
#include <unordered_map>

namespace googlenet {
namespace {

bool fusable(const torch::Tensor& parameter, const torch::Tensor& grad,
             const torch::Tensor& buffer) {
  auto plain = [&](const torch::Tensor& t) {
    return t.device().is_cpu() && t.scalar_type() == torch::kFloat32 && t.is_contiguous() &&
           !t.is_sparse() && t.sizes() == parameter.sizes();
  };
  return plain(parameter) && plain(grad) && (!buffer.defined() || plain(buffer));
}

// The update below as one pass over memory (LibTorch's ops take ~12: every op reads
// and writes whole tensors), in parallel chunks. Same arithmetic, same order:
// d = g + wd * p; buf = m * buf + d (the first step: buf = d); p = p - lr * buf.
void fused_update(const torch::Tensor& parameter, const torch::Tensor& grad,
                  const torch::Tensor& buffer, bool first, float lr, float momentum,
                  float weight_decay) {
  float* p = parameter.data_ptr<float>();
  const float* g = grad.data_ptr<float>();
  float* b = buffer.defined() ? buffer.data_ptr<float>() : nullptr;
  at::parallel_for(0, parameter.numel(), 16384, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) {
      float d = g[k] + weight_decay * p[k];
      if (b != nullptr) d = b[k] = first ? d : momentum * b[k] + d;
      p[k] -= lr * d;
    }
  });
}

}  // namespace

Sgd::Sgd(const torch::OrderedDict<std::string, torch::Tensor>& parameters, double weight_decay)
    : weight_decay_(weight_decay) {
  for (const auto& item : parameters) slots_.push_back({item.key(), item.value(), {}});
}

void Sgd::step(double lr, double momentum) {
  RECORD_FUNCTION("googlenet::sgd_step", std::vector<c10::IValue>());  // bench --profile
  torch::NoGradGuard no_grad;
  for (auto& slot : slots_) {
    const auto& grad = slot.parameter.grad();
    if (!grad.defined()) continue;
    if (fusable(slot.parameter, grad, slot.buffer)) {
      const bool first = momentum != 0 && !slot.buffer.defined();
      if (first) slot.buffer = torch::empty_like(slot.parameter);
      fused_update(slot.parameter, grad, momentum != 0 ? slot.buffer : torch::Tensor(), first,
                   static_cast<float>(lr), static_cast<float>(momentum),
                   static_cast<float>(weight_decay_));
      continue;
    }
    auto d = weight_decay_ != 0 ? grad.add(slot.parameter, weight_decay_) : grad.clone();
    if (momentum != 0) {
      if (!slot.buffer.defined()) {
        slot.buffer = d;
      } else {
        slot.buffer.mul_(momentum).add_(d);
      }
      d = slot.buffer;
    }
    slot.parameter.add_(d, -lr);
  }
}

void Sgd::zero_grad() {
  for (auto& slot : slots_) slot.parameter.mutable_grad().reset();
}

std::vector<std::pair<std::string, torch::Tensor>> Sgd::momentum_buffers() const {
  std::vector<std::pair<std::string, torch::Tensor>> buffers;
  for (const auto& slot : slots_) {
    if (slot.buffer.defined()) buffers.emplace_back(slot.name, slot.buffer);
  }
  return buffers;
}

void Sgd::load_momentum_buffers(const std::vector<std::pair<std::string, torch::Tensor>>& buffers) {
  std::unordered_map<std::string, Slot*> by_name;
  for (auto& slot : slots_) by_name[slot.name] = &slot;
  for (const auto& [name, buffer] : buffers) {
    auto it = by_name.find(name);
    if (it == by_name.end()) {
      throw std::runtime_error("optimizer state has a momentum buffer for '" + name +
                               "', which is not a parameter of this model");
    }
    const auto& parameter = it->second->parameter;
    if (buffer.sizes() != parameter.sizes()) {
      throw std::runtime_error("optimizer state for '" + name + "' has shape " +
                               c10::str(buffer.sizes()) + ", the parameter has " +
                               c10::str(parameter.sizes()));
    }
    // empty_like: the buffer takes the parameter's device, dtype and memory format.
    it->second->buffer = torch::empty_like(parameter).copy_(buffer);
  }
}

}  // namespace googlenet
