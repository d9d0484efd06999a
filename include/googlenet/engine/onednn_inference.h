// GoogLeNet's inference pass run directly on oneDNN primitives (the library LibTorch's
// CPU convolutions already use), without LibTorch's per-call overheads: batch norm
// folded into the convolutions, ReLU fused into them as a post-op, weights re-laid out
// once into the blocked format each convolution wants (LibTorch re-lays them out on
// every call), activations kept in oneDNN's blocked layout from the first convolution
// to the last pooling, optionally in bf16 (AVX512-BF16/AMX kernels). The seam of
// `--engine onednn`; `--engine libtorch` (GoogLeNetImpl::forward) stays the reference,
// and the two are held equal by tests (tests/engine/test_onednn_inference.cpp).
//
// Built only where oneDNN 2.x's headers are installed (Debian: libdnnl-dev, the same
// library Debian's LibTorch links); elsewhere onednn_inference_available() is false and
// constructing an OneDnnInference throws, naming the package.
#pragma once

#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>
#include <tuple>

#include "googlenet/model/googlenet.h"
#include "googlenet/model/precision.h"

namespace googlenet {

// True where this build has the oneDNN engine.
bool onednn_inference_available();

// Which implementation runs a model's inference pass.
enum class InferenceEngine { kLibTorch, kOneDnn };
std::string to_string(InferenceEngine engine);
// "libtorch" or "onednn"; throws std::invalid_argument naming the value otherwise.
InferenceEngine inference_engine_from_string(const std::string& name);
// The default: oneDNN where it is built and the model runs on the CPU.
InferenceEngine default_inference_engine(const torch::Device& device);

class OneDnnInference {
 public:
  // Snapshots `model`'s weights (eval-mode semantics: BN running statistics) in
  // `precision`; later changes to the model are not seen. The model must be the
  // main path of GoogLeNet (aux heads are training-only and ignored). Throws
  // std::runtime_error when the engine is not built.
  OneDnnInference(GoogLeNet& model, Precision precision);
  ~OneDnnInference();
  OneDnnInference(OneDnnInference&&) noexcept;
  OneDnnInference& operator=(OneDnnInference&&) noexcept;

  // Logits (N x classes, float32) of a float32 batch N x C x H x W in NCHW or
  // channels-last order. Primitives are built on the first batch of each shape and
  // reused. Not thread-safe: one instance per thread.
  torch::Tensor forward(const torch::Tensor& images);

  Precision precision() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace googlenet
