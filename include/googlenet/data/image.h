// Image files in and out: decoding any picture stb_image reads into a 32 x 32 RGB image in
// the CIFAR-10 record layout (so `predict` feeds the model exactly what the test set does),
// and writing RGB planes back out as PNG.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace googlenet {

inline constexpr int kImageSide = 32;  // CIFAR-10 images are 32 x 32 pixels
inline constexpr std::size_t kImageBytes = 3 * kImageSide * kImageSide;  // 3072 = 3 planes
// Decoding holds width x height x channels bytes, so larger images are refused from their
// header, before decoding: a 100-byte PNG can claim to be 100000 x 100000 pixels.
inline constexpr std::int64_t kMaxImagePixels = 100'000'000;

// 3 x 32 x 32 uint8: the R, G and B planes, each row-major; the pixel part of a CIFAR-10
// record, ready for the same normalisation as the test set.
using ImagePixels = std::array<std::uint8_t, kImageBytes>;

// Extensions (lower case, with the dot) of the formats load_image decodes: PNG (1-16 bit, grey,
// grey+alpha, RGB, RGBA, palette), JPEG (baseline and progressive), BMP (not 1-bit or RLE), GIF
// (first frame), TGA, PSD (composited view), HDR (tone-mapped by stb_image with gamma 2.2),
// Softimage PIC, and binary PPM/PGM.
const std::vector<std::string>& image_extensions();

// Decodes `file` and maps it to 32 x 32 RGB, the rule shared by `predict` and `test --data`:
//  1. Grey is copied to R, G and B; 16-bit samples keep their high byte.
//  2. Alpha is composited over WHITE, c' = round((c * a + 255 * (255 - a)) / 255), so a
//     transparent background looks as it does in a viewer, not black.
//  3. Resize so the SHORT side is 32 (one scale for both axes), then centre-crop 32 x 32;
//     computed in one step from the centred min(w, h) square of the source. Shrinking
//     averages the exact source area under each output pixel (pixels cut by its edge count
//     by the fraction covered, like OpenCV's INTER_AREA; for whole-number factors, equal to
//     PIL's Image.reduce). Growing (short side < 32) is bilinear with half-pixel centres and
//     clamped borders (PIL's BILINEAR). Integer arithmetic throughout, rounded half up.
// A 32 x 32 RGB image comes back byte for byte. Throws std::runtime_error naming the file,
// what is wrong with it and what to do, for missing, unreadable, empty, truncated or corrupt
// files, folders, files that are not images, and images over kMaxImagePixels.
ImagePixels load_image(const std::filesystem::path& file);

// Steps 2 and 3 of load_image on already decoded pixels: `hwc` holds height rows of width
// pixels of `channels` interleaved bytes (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA).
ImagePixels resize_center_crop(const std::uint8_t* hwc, int width, int height, int channels);

// Writes `chw` (3 x height x width uint8: R, G, B planes, e.g. a CIFAR-10 record without its
// label byte, or an ImagePixels) to `file` as an 8-bit RGB PNG.
void write_png(const std::filesystem::path& file, const std::uint8_t* chw, int width, int height);

}  // namespace googlenet
