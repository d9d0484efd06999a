// Image decoding (stb_image, linked from Debian's libstb), the composite/resize/crop rule that
// maps any picture to 32 x 32 RGB, and PNG writing (stb_image_write).
#include "googlenet/data/image.h"

#include <stb/stb_image.h>
#include <stb/stb_image_write.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace googlenet {

namespace fs = std::filesystem;

namespace {

const char* const kFormats = "PNG, JPEG, BMP, GIF, TGA, PSD, HDR, PIC or PPM/PGM";

// stb_image's reason for its last failure on this thread.
std::string stb_reason() {
  const char* reason = stbi_failure_reason();
  return reason != nullptr ? reason : "no reason given";
}

// The source pixels one output pixel reads along one axis, with integer weights.
struct Taps {
  int first = 0;                      // first source index
  std::vector<std::int64_t> weights;  // for sources first, first + 1, ...
};

// Weights for the 32 outputs along an axis of `length` source pixels, of which the centred
// `side` (the image's short side) is mapped onto the 32. Positions are counted in 1/64 of a
// source pixel: the centring offset (length - side) / 2 is a multiple of 1/2 and an output
// pixel spans side / 32, so every boundary and sample point is a whole number of 1/64ths and
// the weights below are exact. Returns the weights' common sum.
std::int64_t axis_taps(int length, int side, std::array<Taps, kImageSide>& taps) {
  constexpr std::int64_t kUnit = 64;  // 1/64 source pixel
  const std::int64_t offset = 32 * static_cast<std::int64_t>(length - side);
  if (side >= kImageSide) {
    // Area average: output i covers [lo, hi), 2 * side units wide; each source pixel k
    // weighs as much as it overlaps.
    const std::int64_t span = 2 * static_cast<std::int64_t>(side);
    for (int i = 0; i < kImageSide; ++i) {
      const std::int64_t lo = offset + i * span, hi = lo + span;
      taps[i].first = static_cast<int>(lo / kUnit);
      taps[i].weights.clear();
      for (std::int64_t k = lo / kUnit; k * kUnit < hi; ++k)
        taps[i].weights.push_back(std::min(hi, (k + 1) * kUnit) - std::max(lo, k * kUnit));
    }
    return span;
  }
  // Bilinear: output i samples the source at offset + (i + 1/2) * side / 32 - 1/2, in a
  // coordinate where source pixel k's centre is at k; clamped to the outermost centres.
  for (int i = 0; i < kImageSide; ++i) {
    const std::int64_t x =
        std::clamp<std::int64_t>(offset + (2 * i + 1) * side - kUnit / 2, 0, (length - 1) * kUnit);
    const std::int64_t frac = x % kUnit;
    taps[i].first = static_cast<int>(x / kUnit);
    taps[i].weights = {kUnit - frac};
    if (frac != 0) taps[i].weights.push_back(frac);
  }
  return kUnit;
}

// Alpha over white, rounded to nearest.
std::uint8_t over_white(int value, int alpha) {
  return static_cast<std::uint8_t>((value * alpha + 255 * (255 - alpha) + 127) / 255);
}

}  // namespace

const std::vector<std::string>& image_extensions() {
  static const std::vector<std::string> kExtensions = {".png", ".jpg", ".jpeg", ".jpe", ".bmp",
                                                       ".gif", ".tga", ".psd",  ".hdr", ".pic",
                                                       ".ppm", ".pgm", ".pnm"};
  return kExtensions;
}

ImagePixels resize_center_crop(const std::uint8_t* hwc, int width, int height, int channels) {
  if (hwc == nullptr || width <= 0 || height <= 0 || channels < 1 || channels > 4)
    throw std::invalid_argument(
        "resize_center_crop: expected a width, height >= 1 image with 1-4 channels, got " +
        std::to_string(width) + " x " + std::to_string(height) + " x " + std::to_string(channels));
  const int side = std::min(width, height);
  std::array<Taps, kImageSide> xs, ys;
  const std::int64_t denominator = axis_taps(width, side, xs) * axis_taps(height, side, ys);

  // Only the source columns [x0, x1) and rows [y0, y1) under the crop are read.
  const int x0 = xs.front().first;
  const int x1 = xs.back().first + static_cast<int>(xs.back().weights.size());
  const int y0 = ys.front().first;
  const int y1 = ys.back().first + static_cast<int>(ys.back().weights.size());

  // Horizontal pass per source row: rows[(y - y0) * 96 + 3 * j + c] = sum_k wx * rgb(y, k, c).
  std::vector<std::int64_t> rows(static_cast<std::size_t>(y1 - y0) * kImageSide * 3);
  std::vector<std::uint8_t> rgb(static_cast<std::size_t>(x1 - x0) * 3);
  const bool grey = channels <= 2, alpha = channels % 2 == 0;
  for (int y = y0; y < y1; ++y) {
    const std::uint8_t* src = hwc + (static_cast<std::size_t>(y) * width + x0) * channels;
    for (int x = 0; x < x1 - x0; ++x, src += channels) {
      for (int c = 0; c < 3; ++c) {
        const int value = src[grey ? 0 : c];
        rgb[3 * x + c] = alpha ? over_white(value, src[channels - 1]) : value;
      }
    }
    std::int64_t* row = &rows[static_cast<std::size_t>(y - y0) * kImageSide * 3];
    for (int j = 0; j < kImageSide; ++j)
      for (std::size_t t = 0; t < xs[j].weights.size(); ++t)
        for (int c = 0; c < 3; ++c)
          row[3 * j + c] += xs[j].weights[t] * rgb[3 * (xs[j].first - x0 + t) + c];
  }

  // Vertical pass, then one rounding: sum_y wy * rows / (wx total * wy total), half up.
  ImagePixels out{};
  for (int i = 0; i < kImageSide; ++i)
    for (int j = 0; j < kImageSide; ++j)
      for (int c = 0; c < 3; ++c) {
        std::int64_t sum = 0;
        for (std::size_t t = 0; t < ys[i].weights.size(); ++t)
          sum += ys[i].weights[t] *
                 rows[(static_cast<std::size_t>(ys[i].first - y0 + t) * kImageSide + j) * 3 + c];
        out[(c * kImageSide + i) * kImageSide + j] =
            static_cast<std::uint8_t>((sum + denominator / 2) / denominator);
      }
  return out;
}

ImagePixels load_image(const fs::path& file) {
  const std::string name = file.string();
  std::error_code error;
  const fs::file_status status = fs::status(file, error);
  if (!fs::exists(status))
    throw std::runtime_error(name + ": no such file (check the path and its spelling)");
  if (fs::is_directory(status))
    throw std::runtime_error(name + ": is a folder, expected an image file (name the images " +
                             "inside it, or pass the folder where a folder is accepted)");
  if (!fs::is_regular_file(status))
    throw std::runtime_error(name + ": not a regular file, expected an image file");
  if (fs::file_size(file, error) == 0 && !error)
    throw std::runtime_error(name + ": empty file (0 bytes), expected a " + kFormats +
                             " image (an interrupted copy or download? copy it again)");

  std::unique_ptr<FILE, int (*)(FILE*)> stream(std::fopen(file.c_str(), "rb"), &std::fclose);
  if (stream == nullptr)
    throw std::runtime_error(name + ": cannot open: " + std::strerror(errno) +
                             " (check that you may read it)");
  int width = 0, height = 0, channels = 0;
  if (stbi_info_from_file(stream.get(), &width, &height, &channels) == 0)
    throw std::runtime_error(name + ": not an image stb_image can read (" + stb_reason() +
                             "); expected " + kFormats +
                             " (is it another kind of file, or damaged?)");
  const std::int64_t pixels = static_cast<std::int64_t>(width) * height;
  if (pixels > kMaxImagePixels)
    throw std::runtime_error(
        name + ": " + std::to_string(width) + " x " + std::to_string(height) + " = " +
        std::to_string(pixels) + " pixels, more than the limit of " +
        std::to_string(kMaxImagePixels) +
        " (a corrupt or malicious header, or a huge picture: shrink it first)");

  std::unique_ptr<stbi_uc, void (*)(void*)> decoded(
      stbi_load_from_file(stream.get(), &width, &height, &channels, /*desired_channels=*/0),
      &stbi_image_free);
  if (decoded == nullptr)
    throw std::runtime_error(name + ": cannot decode its " + std::to_string(width) + " x " +
                             std::to_string(height) + " pixels (" + stb_reason() +
                             "); the file is truncated or corrupt: download or export it again");
  return resize_center_crop(decoded.get(), width, height, channels);
}

void write_png(const fs::path& file, const std::uint8_t* chw, int width, int height) {
  if (chw == nullptr || width <= 0 || height <= 0)
    throw std::invalid_argument("write_png " + file.string() + ": expected 3 x height x width " +
                                "pixels with width, height >= 1, got " + std::to_string(width) +
                                " x " + std::to_string(height));
  const std::size_t plane = static_cast<std::size_t>(width) * height;
  std::vector<std::uint8_t> hwc(3 * plane);
  for (std::size_t p = 0; p < plane; ++p)
    for (std::size_t c = 0; c < 3; ++c) hwc[3 * p + c] = chw[c * plane + p];
  errno = 0;
  if (stbi_write_png(file.c_str(), width, height, /*comp=*/3, hwc.data(), 3 * width) == 0)
    throw std::runtime_error(file.string() + ": cannot write PNG" +
                             (errno != 0 ? std::string(": ") + std::strerror(errno) : "") +
                             " (does the folder exist, is it writable, is the disk full?)");
}

}  // namespace googlenet
