// GoogLeNet's training step with its convolutions on oneDNN primitives (the library
// LibTorch's CPU convolutions already use), called directly: the seam of
// `train --train-engine onednn`. LibTorch re-lays out every convolution's weights
// into oneDNN's blocked format on each forward, backward-data and backward-weights
// call (~140 reorders per step) and converts activations between its channels-last
// layout and the blocked one around them. Here the main path's convolution weights
// live in the blocked layout their forward kernel reads (SGD is elementwise, so it
// updates them there, with gradients and momentum in the same layout), activations
// stay in oneDNN's channel-blocked layout from the first convolution to the classifier,
// and ReLU is fused into each convolution. The three 1x1 convolutions that read an
// Inception block's input run as one (output channels side by side; their weights
// are contiguous chunks of one buffer). On stage 4-5's 2x2 and 1x1 maps the weight
// gradients of 1x1 kernels (one GEMM each) and of 3x3 kernels (one GEMM over every pair of
// pixels) are GEMMs: oneDNN's convolution kernel reduces over the batch poorly there.
// Pooling, concatenation, the classifier, the
// auxiliary heads and the loss stay LibTorch operations on views of that layout, so
// autograd runs the whole graph. With `--precision bf16` the convolutions' three passes
// read bf16 copies of their inputs and write float32 (mixed precision: activations,
// gradients and master weights stay float32).
//
// `--train-engine libtorch` (GoogLeNetImpl::forward_all) stays the reference; the two
// are held equal by gradient tests (tests/engine/test_onednn_training.cpp).
//
// Built only where oneDNN 2.x's headers are installed (see onednn_inference.h).
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "googlenet/model/googlenet.h"
#include "googlenet/model/precision.h"

namespace googlenet {

// True where this build has the oneDNN training engine.
bool onednn_training_available();

// Which implementation runs a training step.
enum class TrainingEngine { kLibTorch, kOneDnn };
std::string to_string(TrainingEngine engine);
// "libtorch" or "onednn"; throws std::invalid_argument naming the value otherwise.
TrainingEngine training_engine_from_string(const std::string& name);
// The default: oneDNN where it is built and can train the model (on the CPU, without
// batch norm), else LibTorch.
TrainingEngine default_training_engine(const ModelOptions& model, const torch::Device& device);

class OneDnnTraining {
 public:
  // Takes over `model`'s main-path convolution weights: copies them into blocked
  // buffers of its own, which named_parameters() returns in their place; the model's
  // copies are stale until sync_model(). `input_shape` (N x C x H x W) is the training
  // batch's: it fixes each weight's layout (other shapes, e.g. the epoch's last
  // partial batch, reuse it). A float32 model on the CPU, without batch norm; throws
  // std::invalid_argument naming what else was asked (and std::runtime_error where
  // the engine is not built). `precision` bf16 is mixed precision: the main path's
  // convolutions compute in bf16 where the CPU has bf16 kernels (AVX512-BF16), with
  // float32 activations, gradients and master weights; the rest of the model
  // (classifier, aux heads) runs as the caller's autocast scope says.
  OneDnnTraining(GoogLeNet model, const std::vector<int64_t>& input_shape,
                 Precision precision = Precision::kFloat32);
  ~OneDnnTraining();
  OneDnnTraining(OneDnnTraining&&) noexcept;
  OneDnnTraining& operator=(OneDnnTraining&&) noexcept;

  // GoogLeNetImpl::forward_all on the engine's weights, with autograd: logits (and
  // the aux heads' logits in training mode with aux heads). `images`: float32 CPU
  // N x C x H x W, NCHW or channels-last.
  GoogLeNetOutput forward_all(const torch::Tensor& images);

  // The trainable parameters under the model's names, in the model's order: the
  // main-path convolution weights are the engine's blocked buffers (1-d), everything
  // else the model's own tensors.
  torch::OrderedDict<std::string, torch::Tensor> named_parameters() const;
  std::vector<torch::Tensor> parameters() const;

  // Writes the engine's weights into the model (before evaluating or saving it).
  void sync_model();
  // Reloads the engine's weights from the model (after the model's were replaced).
  void load_from_model();

  // A tensor shaped like parameter `name` (e.g. its momentum buffer) between the
  // model's layout and the engine's; other names pass through unchanged.
  torch::Tensor to_model_layout(const std::string& name, const torch::Tensor& tensor) const;
  torch::Tensor to_engine_layout(const std::string& name, const torch::Tensor& tensor) const;

  GoogLeNet& model();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace googlenet
