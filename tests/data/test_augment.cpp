// The reference's augmentation: crops and flips equal torchvision's for the same
// parameters (fixture), equal an independent LibTorch formulation for every
// parameter, and the counter-based draws cover the offsets torchvision draws.
#include <gtest/gtest.h>

#include <set>

#include "cifar_fixtures.h"
#include "googlenet/data/augment.h"
#include "googlenet/data/cifar.h"

namespace googlenet {
namespace {

using testing::real_test;

torch::Tensor as_tensor(const uint8_t* chw) {
  return torch::from_blob(const_cast<uint8_t*>(chw), {3, 32, 32}, torch::kUInt8).clone();
}

torch::Tensor transformed(const uint8_t* chw, const CropFlip& crop, bool channels_last = false) {
  auto out = torch::empty({3, 32, 32});
  transform_image(chw, crop, channels_last, out.data_ptr<float>());
  return channels_last ? out.view({32, 32, 3}).permute({2, 0, 1}).contiguous() : out;
}

// RandomCrop(32, padding=4) + flip + ToTensor + Normalize written with LibTorch ops.
torch::Tensor reference(const torch::Tensor& image, const CropFlip& crop) {
  auto padded = torch::constant_pad_nd(image, {4, 4, 4, 4}, 0);
  auto window = padded.slice(1, crop.top, crop.top + 32).slice(2, crop.left, crop.left + 32);
  if (crop.flip) window = window.flip({2});
  auto x = window.to(torch::kFloat32).div(255);
  auto mean = torch::tensor({kCifarMean[0], kCifarMean[1], kCifarMean[2]}).view({3, 1, 1});
  auto std = torch::tensor({kCifarStd[0], kCifarStd[1], kCifarStd[2]}).view({3, 1, 1});
  return x.sub(mean).div(std);
}

TEST(Augment, TrainTransformMatchesTorchvision) {
  int checked = 0;
  for (const auto& c : testing::torchvision_fixture().cases) {
    if (!c.train) continue;
    const auto ours = transformed(real_test().image(c.index), {c.top, c.left, c.flip});
    const auto golden = torch::from_blob(const_cast<float*>(c.values.data()), {3, 32, 32});
    EXPECT_TRUE(torch::equal(ours, golden))
        << "image " << c.index << " top " << c.top << " left " << c.left << " flip " << c.flip
        << " max diff " << (ours - golden).abs().max().item<float>();
    ++checked;
  }
  EXPECT_EQ(checked, 6);
}

TEST(Augment, EveryCropAndFlipMatchesPadSliceFlip) {
  const uint8_t* image = real_test().image(7);
  const auto tensor = as_tensor(image);
  for (int top = 0; top < kCropOffsets; ++top) {
    for (int left = 0; left < kCropOffsets; ++left) {
      for (bool flip : {false, true}) {
        const CropFlip crop{top, left, flip};
        ASSERT_TRUE(torch::equal(transformed(image, crop), reference(tensor, crop)))
            << "top " << top << " left " << left << " flip " << flip;
        ASSERT_TRUE(torch::equal(transformed(image, crop, /*channels_last=*/true),
                                 transformed(image, crop)));
      }
    }
  }
}

TEST(Augment, FlipMirrorsAndPaddingIsBlack) {
  const uint8_t* image = real_test().image(3);
  const auto plain = transformed(image, {0, 8, false});
  EXPECT_TRUE(torch::equal(transformed(image, {0, 8, true}), plain.flip({2})));
  // Window at the top-right: 4 padding rows above, 4 padding columns on the right.
  const float black_red = (0.0f - kCifarMean[0]) / kCifarStd[0];
  EXPECT_EQ(plain[0][3][0].item<float>(), black_red);
  EXPECT_EQ(plain[0][10][31].item<float>(), black_red);
  EXPECT_EQ(plain[0][4][0].item<float>(), (image[4] / 255.0f - kCifarMean[0]) / kCifarStd[0]);
}

TEST(Augment, DrawsCoverAllOffsetsAndFlipHalfTheTime) {
  std::set<std::pair<int, int>> offsets;
  int flips = 0;
  constexpr int kDraws = 20000;
  for (int p = 0; p < kDraws; ++p) {
    const CropFlip crop = random_crop_flip(/*seed=*/1, /*epoch=*/2, p);
    ASSERT_GE(crop.top, 0);
    ASSERT_LT(crop.top, kCropOffsets);
    ASSERT_GE(crop.left, 0);
    ASSERT_LT(crop.left, kCropOffsets);
    offsets.emplace(crop.top, crop.left);
    flips += crop.flip;
  }
  EXPECT_EQ(offsets.size(), 81u);
  EXPECT_NEAR(flips, kDraws / 2, 400);  // ~5.7 standard deviations
}

TEST(Augment, DrawsArePinnedFunctionsOfSeedEpochPosition) {
  const CropFlip a = random_crop_flip(0, 0, 0);
  const CropFlip b = random_crop_flip(0, 0, 0);
  EXPECT_EQ(a.top, b.top);
  EXPECT_EQ(a.left, b.left);
  EXPECT_EQ(a.flip, b.flip);
  // Pinned: a resumed run built by a later version must see the same crops.
  // Values from an independent SplitMix64 in Python.
  EXPECT_EQ(counter_hash(1, 2, 3), 0xd0734750fde362b3u);
  const CropFlip pinned = random_crop_flip(7, 3, 12345);
  EXPECT_EQ(pinned.top, 2);
  EXPECT_EQ(pinned.left, 7);
  EXPECT_FALSE(pinned.flip);
  int differ_seed = 0, differ_epoch = 0;
  for (int p = 0; p < 100; ++p) {
    const CropFlip c = random_crop_flip(5, 0, p), s = random_crop_flip(6, 0, p),
                   e = random_crop_flip(5, 1, p);
    differ_seed += c.top != s.top || c.left != s.left || c.flip != s.flip;
    differ_epoch += c.top != e.top || c.left != e.left || c.flip != e.flip;
  }
  EXPECT_GT(differ_seed, 90);
  EXPECT_GT(differ_epoch, 90);
}

TEST(Augment, NormalizeImagesMatchesToTensorNormalize) {
  const auto images = torch::randint(0, 256, {2, 3, 5, 7}, torch::kUInt8);
  const auto mean = torch::tensor({kCifarMean[0], kCifarMean[1], kCifarMean[2]}).view({3, 1, 1});
  const auto std = torch::tensor({kCifarStd[0], kCifarStd[1], kCifarStd[2]}).view({3, 1, 1});
  const auto expected = images.to(torch::kFloat32).div(255).sub(mean).div(std);
  EXPECT_TRUE(torch::equal(normalize_images(images), expected));
  EXPECT_TRUE(torch::equal(normalize_images(images[1]), expected[1]));
  std::vector<float> flat(kCifarImageBytes);
  normalize_image(real_test().image(0), false, flat.data());
  EXPECT_TRUE(torch::equal(torch::from_blob(flat.data(), {3, 32, 32}),
                           normalize_images(as_tensor(real_test().image(0)))));
  try {
    normalize_images(torch::zeros({3, 4, 4}));
    FAIL() << "no error";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("normalize_images: expected uint8 images, got Float"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace googlenet
