// What the optimizer's memory passes cost a training step, measured in one process
// (this host's speed drifts too much for end-to-end A/B runs to see a few ms):
//   ops    - today's step: Sgd::zero_grad (a zero pass), autograd accumulating the new
//            gradient into it (AccumulateGrad's add_), then Sgd::step's LibTorch ops
//            (grad + wd * p, buf = m * buf + d, p -= lr * buf): ~16 passes over the
//            parameters;
//   fused  - the same update as one parallel pass (5 passes), with zero_grad kept;
//   steal  - one pass on gradients autograd hands over instead of adding into zeros
//            (zero_grad setting gradients to none, as torch.optim's set_to_none).
// Interleaved A B B A, medians over GoogLeNet's 116 parameters (6.0 M floats).
//
//   build/sgd_passes [--threads 2] [--rounds 30]
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "googlenet/model.h"
#include "googlenet/sgd.h"

namespace {

constexpr float kLr = 0.01f, kMomentum = 0.9f, kWeightDecay = 5e-4f;

// d = g + wd * w; b = m * b + d; w -= lr * b, over one parameter, in parallel chunks.
void fused_update(torch::Tensor& weight, const torch::Tensor& grad, torch::Tensor& buffer) {
  float* w = weight.data_ptr<float>();
  const float* g = grad.data_ptr<float>();
  float* b = buffer.data_ptr<float>();
  at::parallel_for(0, weight.numel(), 16384, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) {
      b[k] = kMomentum * b[k] + g[k] + kWeightDecay * w[k];
      w[k] -= kLr * b[k];
    }
  });
}

double median(std::vector<double> samples) {
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2, rounds = 30;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--threads" && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
    } else if (arg == "--rounds" && i + 1 < argc) {
      rounds = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: %s [--threads 2] [--rounds 30]\n", argv[0]);
      return 2;
    }
  }
  at::set_num_threads(threads);
  torch::NoGradGuard no_grad;
  googlenet::GoogLeNet model;
  const auto parameters = model->named_parameters();
  std::vector<torch::Tensor> weights, gradients, buffers;  // gradients: what backward produces
  int64_t floats = 0;
  for (const auto& item : parameters) {
    weights.push_back(item.value());
    gradients.push_back(torch::randn_like(item.value()) * 1e-3);
    buffers.push_back(torch::zeros_like(item.value()));
    item.value().mutable_grad() = torch::zeros_like(item.value());
    floats += item.value().numel();
  }
  googlenet::Sgd sgd(parameters, kWeightDecay);
  auto accumulate = [&] {  // AccumulateGrad after zero_grad: add into the zeroed gradient
    sgd.zero_grad();
    for (size_t i = 0; i < weights.size(); ++i) weights[i].mutable_grad().add_(gradients[i]);
  };
  auto ops = [&] {
    accumulate();
    sgd.step(kLr, kMomentum);
  };
  auto fused = [&] {
    accumulate();
    for (size_t i = 0; i < weights.size(); ++i)
      fused_update(weights[i], weights[i].grad(), buffers[i]);
  };
  auto steal = [&] {
    for (size_t i = 0; i < weights.size(); ++i) fused_update(weights[i], gradients[i], buffers[i]);
  };
  auto time_ms = [](auto&& run) {
    const auto start = std::chrono::steady_clock::now();
    run();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
        .count();
  };
  for (int i = 0; i < 3; ++i) ops(), fused(), steal();
  std::vector<double> ops_ms, fused_ms, steal_ms;
  for (int round = 0; round < rounds; ++round) {  // A B C C B A
    ops_ms.push_back(time_ms(ops));
    fused_ms.push_back(time_ms(fused));
    steal_ms.push_back(time_ms(steal));
    steal_ms.push_back(time_ms(steal));
    fused_ms.push_back(time_ms(fused));
    ops_ms.push_back(time_ms(ops));
  }
  std::printf("%zu parameters, %.2f M floats, %d threads; medians of %d, ms per step:\n",
              weights.size(), floats / 1e6, threads, 2 * rounds);
  std::printf("  ops   (zero_grad + accumulate + Sgd::step)  %7.2f\n", median(ops_ms));
  std::printf("  fused (zero_grad + accumulate + one pass)   %7.2f\n", median(fused_ms));
  std::printf("  steal (gradients handed over + one pass)    %7.2f\n", median(steal_ms));
  return 0;
}
