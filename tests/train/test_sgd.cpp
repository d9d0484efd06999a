// googlenet::Sgd against LibTorch's own torch::optim::SGD (the same algorithm as
// torch.optim.SGD): its fused pass for float32 CPU parameters and its LibTorch-ops path
// for the rest (here a non-contiguous parameter) end at the same weights and momentum;
// zero_grad sets gradients to none.
#include <gtest/gtest.h>

#include "googlenet/train/sgd.h"

namespace googlenet {
namespace {

constexpr double kLr = 0.05, kMomentum = 0.9, kWeightDecay = 5e-4;

double max_relative_difference(const torch::Tensor& actual, const torch::Tensor& expected) {
  return ((actual - expected).abs().max() / expected.abs().max()).item<double>();
}

// Three steps with the same random gradients through both optimizers.
void expect_same_as_libtorch(const torch::Tensor& start) {
  torch::manual_seed(5);
  std::vector<torch::Tensor> gradients;
  for (int step = 0; step < 3; ++step) gradients.push_back(torch::randn(start.sizes()));

  auto ours = start.clone().requires_grad_(true);  // clone keeps start's strides
  auto theirs = start.clone().requires_grad_(true);
  torch::OrderedDict<std::string, torch::Tensor> parameters;
  parameters.insert("w", ours);
  Sgd sgd(parameters, kWeightDecay);
  torch::optim::SGD reference(
      {theirs}, torch::optim::SGDOptions(kLr).momentum(kMomentum).weight_decay(kWeightDecay));
  for (const auto& gradient : gradients) {
    sgd.zero_grad();
    EXPECT_FALSE(ours.grad().defined());
    reference.zero_grad();
    ours.mutable_grad() = gradient.clone();
    theirs.mutable_grad() = gradient.clone();
    sgd.step(kLr, kMomentum);
    reference.step();
  }
  EXPECT_EQ(ours.strides(), start.strides());
  // Three steps apart from the start: a wrong momentum or decay shows in the update.
  EXPECT_LT(max_relative_difference(ours.detach() - start, theirs.detach() - start), 1e-5);
  EXPECT_EQ(sgd.momentum_buffers().size(), 1u);
}

TEST(Sgd, FusedStepsMatchLibTorchsSgd) {
  torch::manual_seed(1);
  expect_same_as_libtorch(torch::randn({300, 70}));
}

TEST(Sgd, NonContiguousParametersTakeLibTorchsOpsAndMatch) {
  torch::manual_seed(2);
  const auto transposed = torch::randn({70, 300}).t();
  ASSERT_FALSE(transposed.is_contiguous());
  expect_same_as_libtorch(transposed);
}

TEST(Sgd, ZeroGradSetsGradientsToNone) {
  torch::OrderedDict<std::string, torch::Tensor> parameters;
  parameters.insert("w", torch::ones({4}).requires_grad_(true));
  Sgd sgd(parameters, kWeightDecay);
  (parameters["w"] * 2).sum().backward();
  ASSERT_TRUE(parameters["w"].grad().defined());
  sgd.zero_grad();
  EXPECT_FALSE(parameters["w"].grad().defined());
  sgd.step(kLr, kMomentum);  // nothing to do without gradients
  EXPECT_TRUE(sgd.momentum_buffers().empty());
  EXPECT_TRUE(torch::equal(parameters["w"], torch::ones({4})));
}

}  // namespace
}  // namespace googlenet
