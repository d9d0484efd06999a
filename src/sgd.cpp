#include "googlenet/sgd.h"

#include <stdexcept>
#include <unordered_map>

namespace googlenet {

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
  for (auto& slot : slots_) {
    auto& grad = slot.parameter.mutable_grad();
    if (grad.defined()) grad.zero_();
  }
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
