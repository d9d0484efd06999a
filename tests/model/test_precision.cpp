// bf16 autocast: what runs in bfloat16 inside the scope, that nothing leaks out of
// it, and a short real training run under --precision bf16.
#include <gtest/gtest.h>

#include "googlenet/model/googlenet.h"
#include "googlenet/model/precision.h"
#include "googlenet/train/checkpoint.h"
#include "test_util.h"

namespace googlenet {
namespace {

using testing::error_of;
using testing::run_cli;
using testing::TempDir;

TEST(Precision, NamesRoundTripAndBadNamesAreNamed) {
  EXPECT_EQ(precision_from_string(to_string(Precision::kBFloat16)), Precision::kBFloat16);
  EXPECT_EQ(precision_from_string(to_string(Precision::kFloat32)), Precision::kFloat32);
  EXPECT_NE(error_of<std::invalid_argument>([] {
              precision_from_string("fp16");
            }).find("unknown precision 'fp16' (expected fp32 or bf16)"),
            std::string::npos);
}

TEST(Precision, Bf16ScopeRunsConvolutionsInBf16AndEndsCleanly) {
  torch::manual_seed(0);
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(3, 8, 3));
  const auto x = torch::randn({2, 3, 8, 8});
  const auto reference = conv(x);
  {
    AutocastScope autocast(Precision::kBFloat16);
    const auto y = conv(x);
    EXPECT_EQ(y.scalar_type(), torch::kBFloat16);
    // bf16 keeps 8 bits of mantissa: close to fp32, not equal.
    EXPECT_TRUE(torch::allclose(y.to(torch::kFloat32), reference, 0.05, 0.05));
    EXPECT_FALSE(y.to(torch::kFloat32).equal(reference));
    EXPECT_EQ(conv->weight.scalar_type(), torch::kFloat32);  // master weights stay fp32
  }
  EXPECT_EQ(conv(x).scalar_type(), torch::kFloat32);
  {
    AutocastScope fp32(Precision::kFloat32);
    EXPECT_TRUE(conv(x).equal(reference));
  }
}

TEST(Precision, GradientsOfBf16ForwardAreFp32) {
  torch::manual_seed(0);
  GoogLeNet model;
  model->initialize(InitScheme::kXavierUniform);
  const auto x = torch::randn({2, 3, 32, 32});
  TrainingLoss loss;
  {
    AutocastScope autocast(Precision::kBFloat16);
    loss = training_loss(model->forward_all(x), torch::tensor({1, 7}));
  }
  EXPECT_EQ(loss.total.scalar_type(), torch::kFloat32);
  loss.total.backward();
  for (const auto& p : model->parameters()) {
    ASSERT_TRUE(p.grad().defined());
    EXPECT_EQ(p.grad().scalar_type(), torch::kFloat32);
    EXPECT_TRUE(torch::isfinite(p.grad()).all().item<bool>());
  }
}

TEST(Precision, TrainsOnRealDataUnderBf16) {
  TempDir dir;
  const auto result = run_cli(
      "train --data '" + testing::data_dir().string() + "' --out '" + (dir / "run").string() +
      "' --epochs 1 --train-subset 512 --test-subset 200 --threads 1 --precision bf16");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto checkpoint = load_checkpoint(dir / "run" / "last.pt");
  EXPECT_EQ(to_string(checkpoint.config.precision), "bf16");
  for (const auto& [name, tensor] : checkpoint.model) {
    EXPECT_EQ(tensor.scalar_type(), torch::kFloat32) << name;
  }
  const auto bad = run_cli("train --precision fp8");
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("--precision"), std::string::npos) << bad.output;
}

}  // namespace
}  // namespace googlenet
