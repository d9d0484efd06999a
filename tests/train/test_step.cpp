// Two training steps of the reference recipe (GoogLeNet, CrossEntropyLoss, SGD with
// weight decay, one-cycle lr/momentum) against PyTorch: tests/fixtures/train_step.pt
// from scripts/fixtures_train.py. The second step exercises the momentum buffer. The
// steps are TrainStep's, the step `train` and `bench` run.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <iterator>
#include <map>

#include "googlenet/model/googlenet.h"
#include "googlenet/train/config.h"
#include "googlenet/train/schedule.h"
#include "googlenet/train/step.h"
#include "test_util.h"

namespace {

using googlenet::GoogLeNet;

c10::Dict<c10::IValue, c10::IValue> load_fixture() {
  const auto path = googlenet::testing::fixture("train_step.pt");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path.string() + ": missing; run scripts/fixtures_train.py");
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
  return torch::pickle_load(bytes).toGenericDict();
}

std::map<std::string, double> to_doubles(const c10::IValue& value) {
  std::map<std::string, double> out;
  for (const auto& item : value.toGenericDict())
    out[item.key().toStringRef()] = item.value().toDouble();
  return out;
}

// Same seed and init order as the fixture script: the weights are not stored.
GoogLeNet seeded_model(int64_t seed) {
  torch::manual_seed(seed);
  GoogLeNet model;
  model->initialize(googlenet::InitScheme::kXavierUniform);
  model->train();
  return model;
}

// Per-tensor sums of `model`'s state against Python's, to `rtol` of the sum of
// absolute values (a plain relative check is meaningless for sums near zero).
void expect_sums(const torch::nn::Module& model, const c10::IValue& sums,
                 const c10::IValue& abs_sums, double rtol, const std::string& what) {
  const auto expected = to_doubles(sums), scale = to_doubles(abs_sums);
  const auto params = model.named_parameters();
  ASSERT_EQ(params.size(), expected.size()) << what;
  for (const auto& item : params) {
    ASSERT_TRUE(expected.count(item.key())) << what << ": " << item.key() << " not in fixture";
    const double sum = item.value().to(torch::kFloat64).sum().item<double>();
    EXPECT_NEAR(sum, expected.at(item.key()), rtol * scale.at(item.key()) + 1e-12)
        << what << ": " << item.key();
  }
}

double max_abs(const torch::Tensor& t) { return t.abs().max().item<double>(); }

TEST(TrainStep, SeedReproducesPythonXavierInitExactly) {
  const auto fixture = load_fixture();
  auto model = seeded_model(fixture.at("seed").toInt());
  // Exact: LibTorch draws from the same CPU generator in the same order.
  expect_sums(*model, fixture.at("start_sums"), fixture.at("start_abs_sums"), 0, "start");
  const auto params = model->named_parameters();
  for (const auto& item : fixture.at("start").toGenericDict()) {
    EXPECT_TRUE(torch::equal(params[item.key().toStringRef()], item.value().toTensor()))
        << item.key().toStringRef();
  }
}

// Two steps of `step_options` on the fixture's batch of 8 (NCHW, as Python's), weights
// and loss against PyTorch's.
void expect_two_steps_match_pytorch(googlenet::StepOptions step_options) {
  const auto fixture = load_fixture();
  const auto images = fixture.at("images").toTensor();
  const auto labels = fixture.at("labels").toTensor();
  ASSERT_EQ(images.sizes(), torch::IntArrayRef({8, 3, 32, 32}));

  auto model = seeded_model(fixture.at("seed").toInt());
  std::map<std::string, torch::Tensor> start;
  for (const auto& item : model->named_parameters()) start[item.key()] = item.value().clone();

  // The training loop's step; the reference builds SGD without momentum and
  // OneCycleLR supplies it before every step.
  step_options.batch_size = images.size(0);
  step_options.weight_decay = 5e-4;
  googlenet::TrainStep train_step(model, step_options);
  googlenet::OneCycleOptions options;
  options.max_lr = 0.1;
  options.total_steps = fixture.at("total_steps").toInt();
  const googlenet::OneCycleSchedule schedule(options);

  const auto losses = fixture.at("losses").toTensor();
  const auto lrs = fixture.at("lrs").toTensor();
  const auto momenta = fixture.at("momenta").toTensor();
  for (int64_t step = 0; step < 2; ++step) {
    const double lr = schedule.lr(step), momentum = schedule.momentum(step);
    EXPECT_NEAR(lr, lrs[step].item<double>(), 1e-15);
    EXPECT_NEAR(momentum, momenta[step].item<double>(), 1e-15);

    const auto forward = train_step.forward(images, labels);
    const auto& logits = forward.output.logits;
    if (step == 0) {
      const auto expected = fixture.at("logits0").toTensor();
      EXPECT_TRUE(
          torch::allclose(logits, expected, /*rtol=*/1e-4, /*atol=*/1e-5 * max_abs(expected)))
          << "max diff " << max_abs(logits - expected);
    }
    const auto& loss = forward.loss.total;  // no aux heads: the main head's cross-entropy
    train_step.update(forward.loss, lr, momentum);
    const double expected_loss = losses[step].item<double>();
    EXPECT_NEAR(loss.item<double>(), expected_loss, 1e-5 * expected_loss) << "step " << step;
  }

  train_step.sync_model();
  const auto params = model->named_parameters();
  for (const auto& item : fixture.at("tensors").toGenericDict()) {
    const std::string name = item.key().toStringRef();
    const auto expected = item.value().toTensor();
    const auto actual = params[name];
    EXPECT_TRUE(torch::allclose(actual, expected, /*rtol=*/1e-5, /*atol=*/1e-5 * max_abs(expected)))
        << name << ": max diff " << max_abs(actual - expected);
    // The updates themselves, which the weights alone would hide (a wrong lr or a
    // missing momentum buffer moves weights by ~1e-3 of their size).
    const auto delta = actual - start.at(name);
    const auto expected_delta = expected - start.at(name);
    EXPECT_LT(max_abs(delta - expected_delta), 1e-3 * max_abs(expected_delta)) << name;
  }
  expect_sums(*model, fixture.at("sums"), fixture.at("abs_sums"), 1e-5, "after two steps");
}

TEST(TrainStep, TwoStepsMatchPyTorch) {
  googlenet::StepOptions options;  // the model's LibTorch modules in fp32, NCHW
  options.engine = googlenet::TrainingEngine::kLibTorch;
  options.precision = googlenet::Precision::kFloat32;
  options.channels_last = false;
  expect_two_steps_match_pytorch(options);
}

// `train`'s default step (channels-last; the oneDNN engine where built) lands on the
// same weights.
TEST(TrainStep, TrainsDefaultStepMatchesPyTorch) {
  expect_two_steps_match_pytorch(googlenet::step_options(googlenet::TrainConfig{}, torch::kCPU));
}

}  // namespace
