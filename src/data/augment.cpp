// Crop, flip and normalisation through one 256-entry table per channel: the table
// holds torchvision's float32 ((v / 255) - mean) / std, so results match exactly.
#include "googlenet/data/augment.h"

#include <algorithm>

namespace googlenet {

namespace {

constexpr int kSide = 32;
constexpr int kPlane = kSide * kSide;

struct NormalizeTable {
  float value[3][256];
  NormalizeTable() {
    for (int c = 0; c < 3; ++c) {
      for (int v = 0; v < 256; ++v) {
        // Same float32 operations, in the same order, as ToTensor then Normalize.
        value[c][v] = (static_cast<float>(v) / 255.0f - kCifarMean[c]) / kCifarStd[c];
      }
    }
  }
};

const NormalizeTable& table() {
  static const NormalizeTable instance;
  return instance;
}

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Uniform in [0, n) from the high 32 bits (bias below 2^-32 for tiny n).
int bounded(uint64_t bits, int n) {
  return static_cast<int>(((bits >> 32) * static_cast<uint64_t>(n)) >> 32);
}

// Writes channel plane `c` of the cropped, flipped image. Padding pixels are 0 in
// pixel space (RandomCrop pads the PIL image), hence normalised to lut[0]. Output
// column x reads source column x + left - 4, or 27 + left - x when flipped; [lo, hi)
// is where that column lies inside the 32-wide source.
template <bool kChannelsLast>
void write_channel(const uint8_t* plane, const float* lut, const CropFlip& crop, int c,
                   float* out) {
  const int shift = crop.left - kCropPadding;
  const int lo = crop.flip ? std::max(0, shift) : std::max(0, -shift);
  const int hi = crop.flip ? std::min(kSide, kSide + shift) : std::min(kSide, kSide - shift);
  const auto put = [&](int y, int x, float v) {
    if constexpr (kChannelsLast) {
      out[(y * kSide + x) * 3 + c] = v;
    } else {
      out[c * kPlane + y * kSide + x] = v;
    }
  };
  for (int y = 0; y < kSide; ++y) {
    const int row = y + crop.top - kCropPadding;
    if (row < 0 || row >= kSide) {
      for (int x = 0; x < kSide; ++x) put(y, x, lut[0]);
      continue;
    }
    const uint8_t* src = plane + row * kSide;
    for (int x = 0; x < lo; ++x) put(y, x, lut[0]);
    if (crop.flip) {
      for (int x = lo; x < hi; ++x) put(y, x, lut[src[kSide - 1 + shift - x]]);
    } else {
      for (int x = lo; x < hi; ++x) put(y, x, lut[src[x + shift]]);
    }
    for (int x = hi; x < kSide; ++x) put(y, x, lut[0]);
  }
}

// Fast path without crop/flip: a straight table lookup per byte.
template <bool kChannelsLast>
void write_identity(const uint8_t* chw, float* out) {
  const auto& t = table();
  for (int c = 0; c < 3; ++c) {
    for (int i = 0; i < kPlane; ++i) {
      const float v = t.value[c][chw[c * kPlane + i]];
      if constexpr (kChannelsLast) {
        out[i * 3 + c] = v;
      } else {
        out[c * kPlane + i] = v;
      }
    }
  }
}

}  // namespace

uint64_t counter_hash(uint64_t seed, uint64_t stream, uint64_t counter) {
  return splitmix64(splitmix64(splitmix64(seed) ^ stream) ^ counter);
}

CropFlip random_crop_flip(uint64_t seed, int64_t epoch, int64_t position) {
  constexpr uint64_t kAugmentStream = 0x41554721;  // distinct from the shuffle's stream
  const uint64_t bits = counter_hash(seed ^ kAugmentStream, static_cast<uint64_t>(epoch),
                                     static_cast<uint64_t>(position));
  CropFlip crop;
  crop.top = bounded(bits, kCropOffsets);
  crop.left = bounded(bits << 32, kCropOffsets);  // the low 32 bits
  crop.flip = (splitmix64(bits) >> 63) != 0;
  return crop;
}

void transform_image(const uint8_t* chw, const CropFlip& crop, bool channels_last, float* out) {
  if (crop.top == kCropPadding && crop.left == kCropPadding && !crop.flip) {
    normalize_image(chw, channels_last, out);
    return;
  }
  const auto& t = table();
  for (int c = 0; c < 3; ++c) {
    if (channels_last) {
      write_channel<true>(chw + c * kPlane, t.value[c], crop, c, out);
    } else {
      write_channel<false>(chw + c * kPlane, t.value[c], crop, c, out);
    }
  }
}

void normalize_image(const uint8_t* chw, bool channels_last, float* out) {
  if (channels_last) {
    write_identity<true>(chw, out);
  } else {
    write_identity<false>(chw, out);
  }
}

torch::Tensor normalize_images(const torch::Tensor& images) {
  TORCH_CHECK(images.scalar_type() == torch::kUInt8,
              "normalize_images: expected uint8 images, got ", images.scalar_type());
  TORCH_CHECK((images.dim() == 3 || images.dim() == 4) && images.size(-3) == 3,
              "normalize_images: expected [N x] 3 x H x W, got ", images.sizes());
  const auto input = images.contiguous();
  auto output = torch::empty(input.sizes(), torch::kFloat32);
  const int64_t plane = input.size(-1) * input.size(-2);
  const int64_t planes = input.numel() / plane;  // N * 3
  const uint8_t* src = input.data_ptr<uint8_t>();
  float* dst = output.data_ptr<float>();
  const auto& t = table();
  for (int64_t p = 0; p < planes; ++p) {
    const float* lut = t.value[p % 3];
    std::transform(src + p * plane, src + (p + 1) * plane, dst + p * plane,
                   [lut](uint8_t v) { return lut[v]; });
  }
  return output;
}

}  // namespace googlenet
