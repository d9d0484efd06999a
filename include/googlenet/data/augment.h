// The reference's torchvision transforms on uint8 CIFAR images held in memory:
// train = RandomCrop(32, padding=4) + RandomHorizontalFlip + ToTensor + Normalize,
// test = ToTensor + Normalize. Random parameters come from a counter-based hash of
// (seed, epoch, position), so any thread computes the same ones.
#pragma once

#include <torch/torch.h>

#include <array>
#include <cstdint>

namespace googlenet {

// Normalize(mean, std) of the reference, per R, G, B channel.
inline constexpr std::array<float, 3> kCifarMean = {0.4914f, 0.4822f, 0.4465f};
inline constexpr std::array<float, 3> kCifarStd = {0.2023f, 0.1994f, 0.2010f};
inline constexpr int kCropPadding = 4;                     // zero pixels added on each side
inline constexpr int kCropOffsets = 2 * kCropPadding + 1;  // window offsets 0..8 per axis

struct CropFlip {
  int top = kCropPadding;   // first row of the 32x32 window in the padded 40x40 image, 0..8
  int left = kCropPadding;  // first column of the window, 0..8
  bool flip = false;        // mirror left-right after cropping
};

// SplitMix64 finaliser over (seed, stream, counter): independent, well-mixed draws
// without shared state. Fixed arithmetic, so equal on every platform.
uint64_t counter_hash(uint64_t seed, uint64_t stream, uint64_t counter);

// Crop window and flip of the sample at `position` (its place in the epoch's order)
// in epoch `epoch`: top and left uniform in 0..8, flip with probability 1/2, as
// RandomCrop.get_params and RandomHorizontalFlip draw them.
CropFlip random_crop_flip(uint64_t seed, int64_t epoch, int64_t position);

// One 3 x 32 x 32 uint8 CHW image -> 3072 normalised floats at `out`, in CHW order or,
// with channels_last, HWC. Equals torchvision's float32 results bit for bit.
void transform_image(const uint8_t* chw, const CropFlip& crop, bool channels_last, float* out);
void normalize_image(const uint8_t* chw, bool channels_last, float* out);  // no crop, no flip

// ToTensor + Normalize of uint8 images [N x] 3 x H x W (any H, W) -> float32, same
// shape, contiguous. For image files given to `predict`, and for tests.
torch::Tensor normalize_images(const torch::Tensor& images);

}  // namespace googlenet
