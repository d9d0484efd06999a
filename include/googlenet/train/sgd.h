// SGD with momentum and weight decay, PyTorch's algorithm (torch.optim.SGD, no
// dampening, no Nesterov) with the learning rate and momentum given at every step,
// as the one-cycle schedule sets them before every batch.
//
// Written here rather than using torch::optim::SGD because the momentum buffers must
// be saved and restored by parameter name for exact resume, and LibTorch keys its
// optimizer state by tensor address in a way that differs between versions.
#pragma once

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

namespace googlenet {

class Sgd {
 public:
  // `parameters`: module.named_parameters().
  Sgd(const torch::OrderedDict<std::string, torch::Tensor>& parameters, double weight_decay);

  // One update from the current gradients: d = grad + wd * p; on the first step
  // buf = d, afterwards buf = momentum * buf + d; p -= lr * buf (momentum 0: p -= lr * d).
  // Contiguous float32 CPU parameters take one fused pass; others (CUDA, strided)
  // LibTorch's ops.
  void step(double lr, double momentum);
  // Sets the gradients to none (torch.optim's set_to_none): backward then hands its
  // gradients over instead of adding them into zeros, and there is no zeroing pass.
  void zero_grad();

  // Momentum buffers by parameter name; empty before the first step with momentum.
  std::vector<std::pair<std::string, torch::Tensor>> momentum_buffers() const;
  // Restores buffers saved by momentum_buffers(); throws naming any name or shape
  // that does not match this optimizer's parameters.
  void load_momentum_buffers(const std::vector<std::pair<std::string, torch::Tensor>>& buffers);

 private:
  struct Slot {
    std::string name;
    torch::Tensor parameter, buffer;
  };
  std::vector<Slot> slots_;
  double weight_decay_;
};

}  // namespace googlenet
