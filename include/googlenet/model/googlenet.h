// GoogLeNet (Inception v1, Szegedy et al. 2014) as built by the reference PyTorch
// tutorial for CIFAR-10, with the paper's auxiliary classifiers and batch norm as
// options. Parameter names equal the reference module's state_dict.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

#include "googlenet/model/network.h"

namespace googlenet {

enum class InitScheme {
  kPyTorch,        // LibTorch/PyTorch module defaults (the reference; stalls, see docs/training.md)
  kXavierUniform,  // Caffe GoogLeNet's "xavier" filler: Xavier-uniform weights, zero biases
};

struct ModelOptions {
  int64_t in_channels = 3;
  int64_t num_classes = 10;
  bool aux_heads = false;   // paper's auxiliary classifiers after 4a and 4d
  bool batch_norm = false;  // BN after every conv (Inception-v2 style)
  // The layers, in order; the aux heads in it are built only with aux_heads.
  Network network = googlenet_network();
};

// Conv2d + optional BatchNorm2d + ReLU. The conv is registered under the
// reference's name by the owner; the BN under a separate name so the reference's
// names stay unchanged whether or not BN is on.
struct ConvUnit {
  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
  torch::Tensor operator()(const torch::Tensor& x);
};

class InceptionImpl : public torch::nn::Module {
 public:
  InceptionImpl(const InceptionConfig& config, bool batch_norm);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  ConvUnit p1_1_, p2_1_, p2_2_, p3_1_, p3_2_, p4_2_;
  torch::nn::MaxPool2d p4_1_{nullptr};
};
TORCH_MODULE(Inception);

// Paper's auxiliary classifier: avg-pool, 1x1 conv 128 + ReLU, FC 1024 + ReLU,
// dropout 0.7, FC num_classes. The paper pools 14x14 to 4x4; on CIFAR the maps at
// 4a/4d are 2x2, so adaptive pooling to 2x2 keeps the head's shape for any input.
class AuxHeadImpl : public torch::nn::Module {
 public:
  AuxHeadImpl(int64_t in_channels, int64_t num_classes);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Conv2d conv_{nullptr};
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
};
TORCH_MODULE(AuxHead);

// Called after each layer of the forward pass with the layer's state_dict prefix
// (e.g. "stage3.0"), its kind, the module (nullptr for parameter-free layers) and its
// output; used by `googlenet summary`.
using LayerObserver =
    std::function<void(const std::string& name, const std::string& kind,
                       const torch::nn::Module* module, const torch::Tensor& output)>;

struct GoogLeNetOutput {
  torch::Tensor logits;
  torch::Tensor aux1, aux2;  // defined only in training mode with aux heads on
};

inline constexpr double kAuxLossWeight = 0.3;  // the paper's weight of each aux loss

struct TrainingLoss {
  torch::Tensor main;   // cross-entropy of the main head: what is reported
  torch::Tensor total;  // what is minimised: main + 0.3 x (aux1 + aux2) when the heads ran
};
TrainingLoss training_loss(const GoogLeNetOutput& output, const torch::Tensor& labels);

class GoogLeNetImpl : public torch::nn::Module {
 public:
  explicit GoogLeNetImpl(const ModelOptions& options = {});

  torch::Tensor forward(const torch::Tensor& x) { return forward_all(x).logits; }
  GoogLeNetOutput forward_all(const torch::Tensor& x, const LayerObserver& observe = nullptr);

  void initialize(InitScheme scheme);
  const ModelOptions& options() const { return options_; }

 private:
  ModelOptions options_;
  // A row of options_.network with the modules that run it (pools have none; aux
  // heads only with aux_heads).
  struct Layer {
    LayerSpec spec;
    ConvUnit conv;                      // kConv
    Inception block{nullptr};           // kInception
    AuxHead aux{nullptr};               // kAuxHead
    torch::nn::Linear linear{nullptr};  // kLinear
  };
  std::vector<Layer> layers_;
};
TORCH_MODULE(GoogLeNet);

// Learnable parameters of the model (buffers excluded).
int64_t count_parameters(const torch::nn::Module& module);

// Python's module.to(memory_format=torch.channels_last): every 4-d parameter in NHWC
// order, so convolutions run on oneDNN's channels-last kernels without reorders (on
// CPU the training step is ~1.4x faster; docs/performance.md). Values are unchanged.
void to_channels_last(torch::nn::Module& module);

}  // namespace googlenet
