// The oneDNN inference engine against PyTorch's golden logits and against the LibTorch
// model it was built from: with and without batch norm, on a modified network table,
// NCHW and channels-last input, several batch sizes through one engine, bf16 close to
// fp32, and its errors.
#include <gtest/gtest.h>

#include "googlenet/data/augment.h"
#include "googlenet/data/cifar.h"
#include "googlenet/engine/onednn_inference.h"
#include "googlenet/io/saved_value.h"
#include "googlenet/io/serialization.h"
#include "googlenet/io/state_dict.h"
#include "googlenet/util/cpu.h"
#include "model/network_variants.h"
#include "test_util.h"

namespace googlenet {
namespace {

using testing::fixture;

// The first `count` images of the real test set, as ToTensor + Normalize give them.
torch::Tensor test_images(int64_t count) {
  static const Cifar10 test = load_cifar10(testing::data_dir(), Split::kTest);
  auto bytes = torch::from_blob(const_cast<uint8_t*>(test.images.data()),
                                {count, 3, kCifarSide, kCifarSide}, torch::kUInt8);
  return normalize_images(bytes.clone());
}

GoogLeNet reference_model() {
  GoogLeNet model;
  load_state_dict(*model, read_state_dict(fixture("reference_weights.pt")), "reference_weights.pt");
  model->eval();
  return model;
}

float max_difference(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<float>();
}

class OneDnnInferenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!onednn_inference_available()) GTEST_SKIP() << "built without oneDNN's headers";
  }
};

TEST_F(OneDnnInferenceTest, ReferenceWeightsGivePyTorchsLogits) {
  GoogLeNet model = reference_model();
  const SavedValue golden = torch_load(fixture("golden_logits.pt"));
  const torch::Tensor indices = golden.at("indices").as_tensor();
  const torch::Tensor expected = golden.at("logits").as_tensor();
  const torch::Tensor images =
      test_images(indices.max().item<int64_t>() + 1).index_select(0, indices);
  OneDnnInference engine(model, Precision::kFloat32);
  const torch::Tensor nchw = engine.forward(images);
  ASSERT_EQ(nchw.sizes(), expected.sizes());
  EXPECT_LT(max_difference(nchw, expected), 1e-4);
  const torch::Tensor nhwc = engine.forward(images.contiguous(torch::MemoryFormat::ChannelsLast));
  EXPECT_LT(max_difference(nhwc, expected), 1e-4);
}

// Xavier weights and non-trivial batch-norm running statistics and affine parameters,
// in eval mode.
GoogLeNet model_with_batch_norm(ModelOptions options) {
  torch::manual_seed(3);
  options.batch_norm = true;
  GoogLeNet model(options);
  model->initialize(InitScheme::kXavierUniform);
  {
    torch::NoGradGuard no_grad;
    for (auto& item : model->named_buffers()) {
      if (item.key().find("running_mean") != std::string::npos) item.value().normal_(0, 0.5);
      if (item.key().find("running_var") != std::string::npos) item.value().uniform_(0.5, 2);
    }
    for (auto& item : model->named_parameters()) {
      if (item.key().find("_bn.weight") != std::string::npos) item.value().uniform_(0.5, 1.5);
      if (item.key().find("_bn.bias") != std::string::npos) item.value().normal_(0, 0.2);
    }
  }
  model->eval();
  return model;
}

// Batch norm is folded into the convolutions: the engine must equal the model's
// The engine on `options`' model (batch norm with non-trivial running statistics and
// affine parameters, folded by the engine) gives the model's eval-mode logits.
void expect_engine_equals_model(const ModelOptions& options) {
  GoogLeNet model = model_with_batch_norm(options);
  torch::NoGradGuard no_grad;
  const torch::Tensor images = test_images(6);
  const torch::Tensor expected = model->forward(images);
  OneDnnInference engine(model, Precision::kFloat32);
  const float scale = expected.abs().max().item<float>();
  EXPECT_LT(max_difference(engine.forward(images), expected), 1e-5 * scale + 1e-5);
}

TEST_F(OneDnnInferenceTest, FoldedBatchNormEqualsTheModel) {
  ModelOptions options;
  options.aux_heads = true;  // training-only: ignored by both
  expect_engine_equals_model(options);
}

// The engine walks the model's table: a modified one (tests/model/network_variants.h:
// no pool after stage 3, so stages 4-5 run on 4x4 and 2x2 maps; other widths) runs as
// the model does, with batch norm folded and aux heads ignored.
TEST_F(OneDnnInferenceTest, ModifiedNetworkEqualsTheModel) {
  ModelOptions options;
  options.aux_heads = true;
  options.network = testing::modified_network();
  expect_engine_equals_model(options);
}

// Plans are cached per input shape; every shape gives what a fresh engine gives.
TEST_F(OneDnnInferenceTest, BatchSizesShareOneEngine) {
  GoogLeNet model = reference_model();
  torch::NoGradGuard no_grad;
  const torch::Tensor images = test_images(7);
  const torch::Tensor expected = model->forward(images);
  OneDnnInference engine(model, Precision::kFloat32);
  EXPECT_LT(max_difference(engine.forward(images.slice(0, 0, 3)), expected.slice(0, 0, 3)), 1e-4);
  EXPECT_LT(max_difference(engine.forward(images), expected), 1e-4);
  EXPECT_LT(max_difference(engine.forward(images.slice(0, 3, 4)), expected.slice(0, 3, 4)), 1e-4);
  EXPECT_LT(max_difference(engine.forward(images.slice(0, 0, 3)), expected.slice(0, 0, 3)), 1e-4);
}

// Other image sizes give other map sizes (here 1x2 and 2x3 in stage 5): kernels are
// cropped per dimension, and the result is still the model's.
TEST_F(OneDnnInferenceTest, NonSquareAndOddSizedImagesEqualTheModel) {
  GoogLeNet model = reference_model();
  torch::NoGradGuard no_grad;
  OneDnnInference engine(model, Precision::kFloat32);
  torch::manual_seed(5);
  for (const auto& [height, width] : std::vector<std::pair<int64_t, int64_t>>{{24, 40}, {50, 36}}) {
    const torch::Tensor images = torch::randn({3, 3, height, width});
    const torch::Tensor expected = model->forward(images);
    EXPECT_LT(max_difference(engine.forward(images), expected), 1e-4) << height << "x" << width;
  }
}

// bf16 keeps 8 bits of mantissa: logits within a few percent of fp32's, same classes.
TEST_F(OneDnnInferenceTest, Bf16IsCloseToFp32) {
  // oneDNN 2.6 runs bf16 convolutions on AVX-512 only (natively with AVX512-BF16/AMX).
  if (detect_cpu().isa != "avx512") GTEST_SKIP() << "no AVX-512: oneDNN has no bf16 kernels";
  GoogLeNet model = reference_model();
  const torch::Tensor images = test_images(32);
  const torch::Tensor fp32 = OneDnnInference(model, Precision::kFloat32).forward(images);
  OneDnnInference bf16_engine(model, Precision::kBFloat16);
  EXPECT_EQ(bf16_engine.precision(), Precision::kBFloat16);
  const torch::Tensor bf16 = bf16_engine.forward(images);
  const float scale = fp32.abs().max().item<float>();
  EXPECT_LT(max_difference(bf16, fp32), 0.05 * scale);
  const float agreement = bf16.argmax(1).eq(fp32.argmax(1)).to(torch::kFloat).mean().item<float>();
  EXPECT_GE(agreement, 0.9);
}

TEST_F(OneDnnInferenceTest, RejectsWhatItCannotRun) {
  GoogLeNet model = reference_model();
  OneDnnInference engine(model, Precision::kFloat32);
  EXPECT_THROW(engine.forward(torch::zeros({2, 3, 32, 32}, torch::kFloat64)),
               std::invalid_argument);
  EXPECT_THROW(engine.forward(torch::zeros({3, 32, 32})), std::invalid_argument);
}

TEST(OneDnnInferenceEngine, NamesAndDefault) {
  EXPECT_EQ(inference_engine_from_string("onednn"), InferenceEngine::kOneDnn);
  EXPECT_EQ(inference_engine_from_string("libtorch"), InferenceEngine::kLibTorch);
  EXPECT_EQ(to_string(InferenceEngine::kOneDnn), "onednn");
  const std::string message =
      testing::error_of<std::invalid_argument>([] { inference_engine_from_string("mkl"); });
  EXPECT_NE(message.find("'mkl'"), std::string::npos) << message;
  EXPECT_EQ(default_inference_engine(torch::kCPU),
            onednn_inference_available() ? InferenceEngine::kOneDnn : InferenceEngine::kLibTorch);
}

}  // namespace
}  // namespace googlenet
