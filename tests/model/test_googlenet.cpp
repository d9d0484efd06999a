// The model against the reference: parameter count, FLOPs, stage shapes, gradients.
#include <gtest/gtest.h>

#include "googlenet/model/googlenet.h"
#include "googlenet/model/summary.h"

namespace googlenet {
namespace {

TEST(GoogLeNet, ParameterCountIsTheReferences) {
  GoogLeNet model;
  EXPECT_EQ(count_parameters(*model), 5983802);
}

TEST(GoogLeNet, FlopsPerImagePinned) {
  GoogLeNet model;
  // Measured with forward hooks on the PyTorch reference: 2 x multiply-adds of every
  // conv and linear, padding counted.
  EXPECT_EQ(summarize(model).total_flops, 64577536);
}

TEST(GoogLeNet, StageShapesPinned) {
  GoogLeNet model;
  const std::vector<std::pair<std::string, std::vector<int64_t>>> expected = {
      {"stage1.0", {64, 16, 16}}, {"stage1.2", {64, 8, 8}},  {"stage2.0", {64, 8, 8}},
      {"stage2.2", {192, 8, 8}},  {"stage2.4", {192, 4, 4}}, {"stage3.0", {256, 4, 4}},
      {"stage3.1", {480, 4, 4}},  {"stage3.2", {480, 2, 2}}, {"stage4.0", {512, 2, 2}},
      {"stage4.1", {512, 2, 2}},  {"stage4.2", {512, 2, 2}}, {"stage4.3", {528, 2, 2}},
      {"stage4.4", {832, 2, 2}},  {"stage4.5", {832, 1, 1}}, {"stage5.0", {832, 1, 1}},
      {"stage5.1", {1024, 1, 1}}, {"stage5.2", {1024}},      {"fc", {10}}};
  const auto layers = summarize(model).layers;
  ASSERT_EQ(layers.size(), expected.size());
  for (size_t i = 0; i < layers.size(); ++i) {
    EXPECT_EQ(layers[i].name, expected[i].first);
    EXPECT_EQ(layers[i].output_shape, expected[i].second) << layers[i].name;
  }
}

TEST(GoogLeNet, AuxHeadsAndBatchNormHaveTheirOwnNames) {
  ModelOptions options;
  options.aux_heads = true;
  options.batch_norm = true;
  GoogLeNet with_extras(options);
  GoogLeNet plain;
  std::set<std::string> extra_names, plain_names;
  for (const auto& item : plain->named_parameters()) plain_names.insert(item.key());
  for (const auto& item : with_extras->named_parameters()) {
    if (!plain_names.count(item.key())) extra_names.insert(item.key());
  }
  // Every main-path name of the reference is still there, with the same shape.
  for (const auto& item : plain->named_parameters()) {
    auto* p = with_extras->named_parameters().find(item.key());
    ASSERT_NE(p, nullptr) << item.key();
    EXPECT_EQ(p->sizes(), item.value().sizes()) << item.key();
  }
  for (const auto& name : extra_names) {
    const bool aux = name.rfind("aux1.", 0) == 0 || name.rfind("aux2.", 0) == 0;
    const bool bn = name.find("_bn.") != std::string::npos;
    EXPECT_TRUE(aux || bn) << name;
  }
  EXPECT_TRUE(extra_names.count("stage3.0.p3_2_bn.weight"));
  EXPECT_TRUE(extra_names.count("aux2.fc2.bias"));
}

TEST(GoogLeNet, AuxHeadsOnlyInTraining) {
  ModelOptions options;
  options.aux_heads = true;
  GoogLeNet model(options);
  auto x = torch::randn({2, 3, 32, 32});
  auto train = model->forward_all(x);
  ASSERT_TRUE(train.aux1.defined() && train.aux2.defined());
  EXPECT_EQ(train.aux1.sizes(), (std::vector<int64_t>{2, 10}));
  model->eval();
  auto eval = model->forward_all(x);
  EXPECT_FALSE(eval.aux1.defined() || eval.aux2.defined());
}

TEST(GoogLeNet, EveryParameterGetsAFiniteNonZeroGradient) {
  torch::manual_seed(0);
  ModelOptions options;
  options.aux_heads = true;
  GoogLeNet model(options);
  model->initialize(InitScheme::kXavierUniform);
  auto x = torch::randn({8, 3, 32, 32});
  auto labels = torch::arange(8) % 10;
  auto out = model->forward_all(x);
  auto loss = torch::cross_entropy_loss(out.logits, labels) +
              0.3 * (torch::cross_entropy_loss(out.aux1, labels) +
                     torch::cross_entropy_loss(out.aux2, labels));
  loss.backward();
  for (const auto& item : model->named_parameters()) {
    const auto& grad = item.value().grad();
    ASSERT_TRUE(grad.defined()) << item.key();
    EXPECT_TRUE(torch::isfinite(grad).all().item<bool>()) << item.key();
    EXPECT_GT(grad.abs().sum().item<double>(), 0.0) << item.key();
  }
}

TEST(GoogLeNet, XavierInitZeroesBiases) {
  GoogLeNet model;
  model->initialize(InitScheme::kXavierUniform);
  for (const auto& item : model->named_parameters()) {
    if (item.key().size() > 5 && item.key().substr(item.key().size() - 5) == ".bias") {
      EXPECT_EQ(item.value().abs().sum().item<double>(), 0.0) << item.key();
    }
  }
  // stage1.0: fan_in 3*49, fan_out 64*49: bound sqrt(6 / (147 + 3136)).
  const double bound = std::sqrt(6.0 / (147 + 3136));
  auto w = model->named_parameters()["stage1.0.weight"];
  EXPECT_LE(w.abs().max().item<double>(), bound);
  EXPECT_GT(w.abs().max().item<double>(), 0.9 * bound);
}

TEST(GoogLeNet, TinyBatchOverfits) {
  torch::manual_seed(0);
  GoogLeNet model;
  model->initialize(InitScheme::kXavierUniform);
  // Noise alone is hard to tell apart after global pooling; per-image offsets make
  // the four inputs separable.
  auto x = torch::randn({4, 3, 32, 32}) + torch::tensor({-1.5, -0.5, 0.5, 1.5}).view({4, 1, 1, 1});
  auto labels = torch::tensor({0, 3, 5, 9}, torch::kLong);
  // lr 0.01 for 100 steps reaches ~0 loss; at 0.03 the trajectory is chaotic enough
  // that the BLAS's rounding decides whether it converges in time.
  torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
  double first = 0, last = 0;
  for (int i = 0; i < 100; ++i) {
    optimizer.zero_grad();
    auto loss = torch::cross_entropy_loss(model->forward(x), labels);
    loss.backward();
    optimizer.step();
    (i == 0 ? first : last) = loss.item<double>();
  }
  EXPECT_LT(last, 0.1 * first);
  EXPECT_TRUE(model->forward(x).argmax(1).equal(labels));
}

}  // namespace
}  // namespace googlenet
