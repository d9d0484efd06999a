// What the optimizer's memory passes cost a training step, measured in one process
// (this host's speed drifts too much for end-to-end A/B runs to see a few ms):
//   ops - LibTorch's usual path: zero_grad zeroing every gradient, autograd adding
//         the new gradient into it (AccumulateGrad's add_), then LibTorch's ops
//         (grad + wd * p, buf = m * buf + d, p -= lr * buf): ~16 passes over the
//         parameters;
//   sgd - googlenet::Sgd: zero_grad sets gradients to none, autograd hands the
//         new ones over, and Sgd::step updates each parameter in one fused pass.
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

#include "googlenet/model/googlenet.h"
#include "googlenet/train/sgd.h"

namespace {

constexpr float kLr = 0.01f, kMomentum = 0.9f, kWeightDecay = 5e-4f;

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
  if (threads < 1 || rounds < 1) {
    std::fprintf(stderr, "--threads and --rounds must be positive integers\n");
    return 2;
  }
  at::set_num_threads(threads);
  torch::NoGradGuard no_grad;
  googlenet::GoogLeNet model;
  const auto parameters = model->named_parameters();
  // gradients: what backward produces; accumulated: the ops path's .grad, kept apart so
  // that its zeroing never touches `gradients` (which the Sgd path hands over).
  std::vector<torch::Tensor> weights, gradients, accumulated, buffers;
  int64_t floats = 0;
  for (const auto& item : parameters) {
    weights.push_back(item.value());
    gradients.push_back(torch::randn_like(item.value()) * 1e-3);
    accumulated.push_back(torch::zeros_like(item.value()));
    buffers.push_back(torch::zeros_like(item.value()));
    floats += item.value().numel();
  }
  googlenet::Sgd sgd(parameters, kWeightDecay);
  auto ops = [&] {
    for (size_t i = 0; i < weights.size(); ++i) {
      auto& grad = weights[i].mutable_grad();
      grad = accumulated[i];
      grad.zero_();
      grad.add_(gradients[i]);
      const auto d = grad.add(weights[i], kWeightDecay);
      buffers[i].mul_(kMomentum).add_(d);
      weights[i].add_(buffers[i], -kLr);
    }
  };
  auto fused = [&] {
    sgd.zero_grad();
    for (size_t i = 0; i < weights.size(); ++i) weights[i].mutable_grad() = gradients[i];
    sgd.step(kLr, kMomentum);
  };
  auto time_ms = [](auto&& run) {
    const auto start = std::chrono::steady_clock::now();
    run();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
        .count();
  };
  for (int i = 0; i < 3; ++i) ops(), fused();
  std::vector<double> ops_ms, fused_ms;
  for (int round = 0; round < rounds; ++round) {  // A B B A
    ops_ms.push_back(time_ms(ops));
    fused_ms.push_back(time_ms(fused));
    fused_ms.push_back(time_ms(fused));
    ops_ms.push_back(time_ms(ops));
  }
  std::printf("%zu parameters, %.2f M floats, %d threads; medians of %d, ms per step:\n",
              weights.size(), floats / 1e6, threads, 2 * rounds);
  std::printf("  ops (zero + accumulate + LibTorch's ops)          %7.2f\n", median(ops_ms));
  std::printf("  sgd (Sgd: set to none, handed over, fused pass)  %7.2f\n", median(fused_ms));
  return 0;
}
