// The network table: its resolution into the pinned GoogLeNet shapes, the model's
// parameters as the table says, a modified table built and run by the model, the
// refusals of tables that are not networks, and the small-map kernel cropping.
#include <gtest/gtest.h>

#include "googlenet/model/googlenet.h"
#include "googlenet/model/network.h"
#include "googlenet/model/summary.h"
#include "model/network_variants.h"
#include "test_util.h"

namespace googlenet {
namespace {

using testing::error_of;

TEST(Network, DefaultResolvesToThePinnedShapes) {
  // As GoogLeNet.StageShapesPinned measures them on the model.
  const std::vector<std::pair<std::string, std::vector<int64_t>>> expected = {
      {"stage1.0", {64, 16, 16}}, {"stage1.2", {64, 8, 8}},
      {"stage2.0", {64, 8, 8}},   {"stage2.2", {192, 8, 8}},
      {"stage2.4", {192, 4, 4}},  {"stage3.0", {256, 4, 4}},
      {"stage3.1", {480, 4, 4}},  {"stage3.2", {480, 2, 2}},
      {"stage4.0", {512, 2, 2}},  {"aux1", {10}},
      {"stage4.1", {512, 2, 2}},  {"stage4.2", {512, 2, 2}},
      {"stage4.3", {528, 2, 2}},  {"aux2", {10}},
      {"stage4.4", {832, 2, 2}},  {"stage4.5", {832, 1, 1}},
      {"stage5.0", {832, 1, 1}},  {"stage5.1", {1024, 1, 1}},
      {"stage5.2", {1024}},       {"fc", {10}}};
  const auto layers = resolve(googlenet_network(), {3, 32, 32, 10});
  ASSERT_EQ(layers.size(), expected.size());
  for (size_t i = 0; i < layers.size(); ++i) {
    EXPECT_EQ(layers[i].spec.name, expected[i].first);
    EXPECT_EQ(layers[i].output_shape(), expected[i].second) << expected[i].first;
  }
  // The aux heads read 4a's and 4d's output, and the main path goes on from it.
  EXPECT_EQ(layers[9].in_channels, 512);
  EXPECT_EQ(layers[13].in_channels, 528);
  EXPECT_EQ(layers[10].in_channels, 512);
  EXPECT_EQ(layers[10].in_height, 2);
  // Channels only when the image size is unknown.
  const auto unsized = resolve(googlenet_network(), {3, 0, 0, 10});
  EXPECT_EQ(unsized[5].out_channels, 256);
  EXPECT_EQ(unsized[5].out_height, 0);
}

TEST(Network, ConvsAreTheModelsParametersInOrder) {
  ModelOptions options;
  options.aux_heads = true;
  GoogLeNet model(options);
  const auto parameters = model->named_parameters();
  std::vector<std::string> described, registered;
  for (const auto& layer : resolve(options.network, {3, 32, 32, 10})) {
    for (const auto& conv : layer.convs) {
      described.push_back(conv.name + ".weight");
      const auto* weight = parameters.find(conv.name + ".weight");
      ASSERT_NE(weight, nullptr) << conv.name;
      EXPECT_EQ(weight->sizes(), torch::IntArrayRef({conv.out, conv.in, conv.kernel, conv.kernel}))
          << conv.name;
    }
  }
  for (const auto& item : parameters) {
    if (item.value().dim() == 4 && item.key().rfind("aux", 0) != 0)
      registered.push_back(item.key());
  }
  EXPECT_EQ(described, registered);
  EXPECT_EQ(described.size(), 3u + 9 * 6);
}

TEST(Network, ModifiedTableBuildsAModelOfItsShapes) {
  ModelOptions options;
  options.aux_heads = true;
  options.network = testing::modified_network();
  const auto layers = resolve(options.network, {3, 32, 32, 10});
  GoogLeNet model(options);
  const auto summary = summarize(model);
  ASSERT_EQ(summary.layers.size(), layers.size());
  for (size_t i = 0; i < layers.size(); ++i) {
    EXPECT_EQ(summary.layers[i].name, layers[i].spec.name);
    EXPECT_EQ(summary.layers[i].output_shape, layers[i].output_shape()) << layers[i].spec.name;
  }
  const std::map<std::string, std::vector<int64_t>> pinned = {{"stage3.1", {480, 4, 4}},
                                                              {"stage4.0", {496, 4, 4}},
                                                              {"stage4.5", {832, 2, 2}},
                                                              {"stage5.1", {1056, 2, 2}},
                                                              {"stage5.2", {1056}}};
  for (const auto& layer : layers) {
    auto found = pinned.find(layer.spec.name);
    if (found != pinned.end()) EXPECT_EQ(layer.output_shape(), found->second) << found->first;
  }
  const auto parameters = model->named_parameters();
  EXPECT_EQ(parameters["fc.weight"].sizes(), torch::IntArrayRef({10, 1056}));
  EXPECT_EQ(parameters["aux1.conv.weight"].sizes(), torch::IntArrayRef({128, 496, 1, 1}));
  EXPECT_EQ(parameters["stage3.1.p2_2.weight"].sizes(), torch::IntArrayRef({192, 120, 3, 3}));
}

TEST(Network, RefusesTablesThatAreNotNetworks) {
  auto refusal = [](const Network& network) {
    return error_of<std::invalid_argument>([&] { resolve(network, {3, 32, 32, 10}); });
  };
  Network mismatched = googlenet_network();
  testing::layer_named(mismatched, "stage3.1").inception.in = 250;
  const std::string channels = refusal(mismatched);
  EXPECT_TRUE(testing::Contains(channels, "'stage3.1'"));
  EXPECT_TRUE(testing::Contains(channels, "in = 250"));
  EXPECT_TRUE(testing::Contains(channels, "giving 256 channels"));
  ModelOptions options;
  options.network = mismatched;
  EXPECT_EQ(error_of<std::invalid_argument>([&] { GoogLeNet model(options); }), channels);

  Network too_small = googlenet_network();
  too_small.insert(too_small.end() - 2, LayerSpec{LayerKind::kConv, "stage5.9", 1024, 3, 1, 0});
  EXPECT_TRUE(testing::Contains(refusal(too_small), "3x3 window is larger than the padded 1x1"));

  Network headless = googlenet_network();
  headless.pop_back();
  EXPECT_TRUE(testing::Contains(refusal(headless), "last two layers"));

  Network one_aux = googlenet_network();
  one_aux.erase(one_aux.begin() + 9);  // aux1
  EXPECT_TRUE(testing::Contains(refusal(one_aux), "1 aux heads"));

  Network repeated = googlenet_network();
  repeated[1].name = "stage1.0";
  EXPECT_TRUE(testing::Contains(refusal(repeated), "'stage1.0'"));

  Network pool_first = googlenet_network();
  pool_first.erase(pool_first.begin());
  EXPECT_TRUE(testing::Contains(refusal(pool_first), "first layer must be a convolution"));
}

TEST(Network, CentralTapsOfSameConvolutionsOnSmallMaps) {
  auto taps = [](int64_t kernel, int64_t padding, int64_t stride, int64_t map) {
    const CentralTaps t = central_taps(kernel, padding, stride, map);
    return std::vector<int64_t>{t.kept, t.first, t.padding};
  };
  // Kept, first, padding.
  EXPECT_EQ(taps(5, 2, 1, 2), (std::vector<int64_t>{3, 1, 1}));  // 5x5 on stage 4's 2x2
  EXPECT_EQ(taps(5, 2, 1, 1), (std::vector<int64_t>{1, 2, 0}));  // 5x5 on stage 5's 1x1
  EXPECT_EQ(taps(3, 1, 1, 1), (std::vector<int64_t>{1, 1, 0}));  // 3x3 on 1x1
  EXPECT_EQ(taps(3, 1, 1, 2), (std::vector<int64_t>{3, 0, 1}));  // every tap meets the map
  EXPECT_EQ(taps(5, 2, 1, 3), (std::vector<int64_t>{5, 0, 2}));
  EXPECT_EQ(taps(1, 0, 1, 1), (std::vector<int64_t>{1, 0, 0}));
  // Not "same" stride-1 convolutions: every tap kept.
  EXPECT_EQ(taps(7, 3, 2, 1), (std::vector<int64_t>{7, 0, 3}));
  EXPECT_EQ(taps(5, 1, 1, 1), (std::vector<int64_t>{5, 0, 1}));
  EXPECT_EQ(taps(4, 2, 1, 1), (std::vector<int64_t>{4, 0, 2}));
}

}  // namespace
}  // namespace googlenet
