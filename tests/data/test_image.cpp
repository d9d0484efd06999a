// load_image / resize_center_crop / write_png: real CIFAR-10 images through PNG and JPEG,
// every pixel mode and several formats, the resize rule against PIL and numpy references
// (scripts/fixtures_images.py), and the messages for bad files.
#include <gtest/gtest.h>
#include <stb/stb_image.h>
#include <stb/stb_image_write.h>

#include <cmath>
#include <fstream>
#include <iterator>
#include <random>

#include "googlenet/data/image.h"
#include "test_util.h"

namespace googlenet {
namespace {

namespace fs = std::filesystem;
using testing::read_bytes;
using testing::TempDir;
using testing::write_bytes;

constexpr int kRecordBytes = 1 + static_cast<int>(kImageBytes);  // label byte + pixels

ImagePixels expected_pixels(const std::string& fixture_name) {
  const std::string bytes = read_bytes(testing::fixture("images/" + fixture_name + ".rgb"));
  EXPECT_EQ(bytes.size(), kImageBytes) << fixture_name;
  ImagePixels pixels{};
  std::copy_n(bytes.begin(), std::min(bytes.size(), kImageBytes), pixels.begin());
  return pixels;
}

// The first `count` records of the real test batch: label byte, then R, G, B planes.
std::string cifar_record_bytes(int count) {
  const fs::path file = testing::cifar_bin_dir() / "test_batch.bin";
  std::ifstream in(file, std::ios::binary);
  EXPECT_TRUE(in) << file << " missing: set GOOGLENET_DATA";
  std::string bytes(static_cast<std::size_t>(count) * kRecordBytes, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  EXPECT_EQ(in.gcount(), static_cast<std::streamsize>(bytes.size()));
  return bytes;
}

// CHW planes -> HWC interleaved, the layout stb_image_write takes.
std::vector<std::uint8_t> interleave(const std::uint8_t* chw, int width, int height) {
  const int plane = width * height;
  std::vector<std::uint8_t> hwc(3 * plane);
  for (int p = 0; p < plane; ++p)
    for (int c = 0; c < 3; ++c) hwc[3 * p + c] = chw[c * plane + p];
  return hwc;
}

double mean_abs_diff(const ImagePixels& a, const ImagePixels& b) {
  double sum = 0;
  for (std::size_t i = 0; i < kImageBytes; ++i) sum += std::abs(a[i] - b[i]);
  return sum / kImageBytes;
}

int max_abs_diff(const ImagePixels& a, const ImagePixels& b) {
  int most = 0;
  for (std::size_t i = 0; i < kImageBytes; ++i) most = std::max(most, std::abs(a[i] - b[i]));
  return most;
}

std::uint8_t at(const ImagePixels& image, int channel, int row, int column) {
  return image[(channel * kImageSide + row) * kImageSide + column];
}

std::string image_error(const fs::path& file) {
  try {
    load_image(file);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "no exception";
}

TEST(Image, CifarTestImagesRoundTripThroughPngByteForByte) {
  TempDir dir;
  const std::string records = cifar_record_bytes(200);
  for (int i = 0; i < 200; ++i) {
    const auto* pixels = reinterpret_cast<const std::uint8_t*>(&records[i * kRecordBytes + 1]);
    const fs::path png = dir / (std::to_string(i) + ".png");
    write_png(png, pixels, kImageSide, kImageSide);
    const ImagePixels decoded = load_image(png);
    ASSERT_TRUE(std::equal(decoded.begin(), decoded.end(), pixels)) << "record " << i;
  }
  // write_png's layout seen by a plain decoder: pixel (row 5, column 7) of record 0.
  int width = 0, height = 0, channels = 0;
  stbi_uc* hwc = stbi_load((dir / "0.png").c_str(), &width, &height, &channels, 0);
  ASSERT_NE(hwc, nullptr);
  EXPECT_EQ(width, 32);
  EXPECT_EQ(height, 32);
  EXPECT_EQ(channels, 3);
  for (int c = 0; c < 3; ++c)
    EXPECT_EQ(hwc[(5 * 32 + 7) * 3 + c], static_cast<std::uint8_t>(records[1 + c * 1024 + 167]));
  stbi_image_free(hwc);
}

TEST(Image, CifarTestImagesThroughJpegQuality95DecodeClose) {
  TempDir dir;
  const std::string records = cifar_record_bytes(100);
  double total = 0;
  for (int i = 0; i < 100; ++i) {
    ImagePixels original{};
    std::copy_n(&records[i * kRecordBytes + 1], kImageBytes, original.begin());
    const fs::path jpeg = dir / (std::to_string(i) + ".jpg");
    const auto hwc = interleave(original.data(), kImageSide, kImageSide);
    ASSERT_NE(stbi_write_jpg(jpeg.c_str(), 32, 32, 3, hwc.data(), /*quality=*/95), 0);
    const double diff = mean_abs_diff(load_image(jpeg), original);
    EXPECT_LT(diff, 4.0) << "record " << i;
    total += diff;
  }
  EXPECT_LT(total / 100, 2.5);  // 1.94 with stb_image_write's encoder
}

TEST(Image, GreyIsReplicatedAndAlphaIsCompositedOverWhite) {
  TempDir dir;
  // Column x of row y: grey = 8x, alpha = 255 on even rows, 0 on odd rows (but row 1: 128).
  std::vector<std::uint8_t> grey(32 * 32), grey_alpha(32 * 32 * 2), rgba(32 * 32 * 4);
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 32; ++x) {
      const int p = y * 32 + x, alpha = y == 1 ? 128 : (y % 2 == 0 ? 255 : 0);
      grey[p] = static_cast<std::uint8_t>(8 * x);
      grey_alpha[2 * p] = grey[p];
      grey_alpha[2 * p + 1] = static_cast<std::uint8_t>(alpha);
      const std::uint8_t colour[4] = {grey[p], 0, 255, static_cast<std::uint8_t>(alpha)};
      std::copy_n(colour, 4, &rgba[4 * p]);
    }
  ASSERT_NE(stbi_write_png((dir / "g.png").c_str(), 32, 32, 1, grey.data(), 32), 0);
  ASSERT_NE(stbi_write_png((dir / "ga.png").c_str(), 32, 32, 2, grey_alpha.data(), 64), 0);
  ASSERT_NE(stbi_write_png((dir / "rgba.png").c_str(), 32, 32, 4, rgba.data(), 128), 0);
  const ImagePixels g = load_image(dir / "g.png"), ga = load_image(dir / "ga.png"),
                    rgb = load_image(dir / "rgba.png");
  for (int c = 0; c < 3; ++c)
    for (int x = 0; x < 32; ++x) {
      EXPECT_EQ(at(g, c, 3, x), 8 * x);
      EXPECT_EQ(at(ga, c, 0, x), 8 * x);  // opaque
      EXPECT_EQ(at(ga, c, 3, x), 255);    // transparent -> white
    }
  // Half transparent: round((v * 128 + 255 * 127) / 255).
  EXPECT_EQ(at(ga, 0, 1, 0), 127);
  EXPECT_EQ(at(ga, 0, 1, 31), 251);  // (248 * 128 + 255 * 127) / 255 = 251.49
  EXPECT_EQ(at(rgb, 0, 2, 10), 80);
  EXPECT_EQ(at(rgb, 1, 2, 10), 0);
  EXPECT_EQ(at(rgb, 2, 2, 10), 255);
  EXPECT_EQ(at(rgb, 1, 5, 10), 255);  // transparent black -> white
  EXPECT_EQ(at(rgb, 1, 1, 10), 127);
}

TEST(Image, PaletteSixteenBitGifAndProgressiveJpegFixtures) {
  for (const char* name : {"palette4.png", "grey16.png", "crop40x32.gif"}) {
    const std::string stem = fs::path(name).stem().string();
    EXPECT_EQ(load_image(testing::fixture(std::string("images/") + name)), expected_pixels(stem))
        << name;
  }
  EXPECT_LT(mean_abs_diff(load_image(testing::fixture("images/progressive.jpg")),
                          expected_pixels("progressive")),
            2.0);
}

TEST(Image, BmpTgaHdrAndNetpbmDecode) {
  TempDir dir;
  const std::string records = cifar_record_bytes(1);
  const auto* chw = reinterpret_cast<const std::uint8_t*>(&records[1]);
  const auto hwc = interleave(chw, 32, 32);
  ASSERT_NE(stbi_write_bmp((dir / "a.bmp").c_str(), 32, 32, 3, hwc.data()), 0);
  ASSERT_NE(stbi_write_tga((dir / "a.TGA").c_str(), 32, 32, 3, hwc.data()), 0);
  write_bytes(dir / "a.ppm", "P6\n32 32\n255\n" + std::string(hwc.begin(), hwc.end()));
  for (const char* name : {"a.bmp", "a.TGA", "a.ppm"}) {
    const ImagePixels decoded = load_image(dir / name);
    EXPECT_TRUE(std::equal(decoded.begin(), decoded.end(), chw)) << name;
  }
  // PGM: grey; HDR: linear 0.5 tone-mapped by stb_image to round(255 * 0.5^(1/2.2)) = 186.
  write_bytes(dir / "a.pgm", "P5 32 32 255\n" + std::string(32 * 32, '\x40'));
  ImagePixels grey{};
  grey.fill(0x40);
  EXPECT_EQ(load_image(dir / "a.pgm"), grey);
  const std::vector<float> half(32 * 32 * 3, 0.5f);
  ASSERT_NE(stbi_write_hdr((dir / "a.hdr").c_str(), 32, 32, 3, half.data()), 0);
  const ImagePixels hdr = load_image(dir / "a.hdr");
  EXPECT_EQ(hdr.front(), 186);
  EXPECT_EQ(hdr.back(), 186);
}

// A width x height RGB image whose pixel (x, y) is colour(x, y), written as PNG.
template <typename Colour>
fs::path synthetic_png(const TempDir& dir, int width, int height, Colour colour) {
  std::vector<std::uint8_t> hwc(3 * static_cast<std::size_t>(width) * height);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      const std::array<std::uint8_t, 3> rgb = colour(x, y);
      std::copy(rgb.begin(), rgb.end(), &hwc[3 * (static_cast<std::size_t>(y) * width + x)]);
    }
  const fs::path file =
      dir / ("synthetic" + std::to_string(width) + "x" + std::to_string(height) + ".png");
  EXPECT_NE(stbi_write_png(file.c_str(), width, height, 3, hwc.data(), 3 * width), 0);
  return file;
}

TEST(Image, UniformColourStaysThatColourAtAnySize) {
  TempDir dir;
  const auto teal = [](int, int) { return std::array<std::uint8_t, 3>{17, 200, 99}; };
  for (const auto& [width, height] : std::vector<std::pair<int, int>>{
           {1, 1}, {31, 200}, {200, 31}, {33, 33}, {640, 480}, {1000, 7}, {5, 3}}) {
    const ImagePixels image = load_image(synthetic_png(dir, width, height, teal));
    for (int c = 0; c < 3; ++c)
      for (int p = 0; p < 32 * 32; ++p)
        ASSERT_EQ(image[c * 1024 + p], teal(0, 0)[c]) << width << "x" << height << " c" << c;
  }
}

TEST(Image, HalfBlackHalfWhiteKeepsItsEdge) {
  TempDir dir;
  // 64 x 64 halves to 16 + 16 columns; 640 x 480 crops columns 80..559 of which the
  // left 240 are black: again 16 + 16, the edge falling between two output columns.
  for (const auto& [width, height] : std::vector<std::pair<int, int>>{{64, 64}, {640, 480}}) {
    const int half = width / 2;
    const ImagePixels image = load_image(synthetic_png(dir, width, height, [half](int x, int) {
      const std::uint8_t v = x < half ? 0 : 255;
      return std::array<std::uint8_t, 3>{v, v, v};
    }));
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 32; ++y)
        for (int x = 0; x < 32; ++x) ASSERT_EQ(at(image, c, y, x), x < 16 ? 0 : 255) << width;
  }
}

TEST(Image, HalvingAveragesEachTwoByTwoBlockRoundingHalfUp) {
  std::mt19937 random(7);
  std::vector<std::uint8_t> hwc(64 * 64 * 3);
  for (auto& v : hwc) v = static_cast<std::uint8_t>(random() & 255);
  const ImagePixels image = resize_center_crop(hwc.data(), 64, 64, 3);
  int ties = 0;
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 32; ++x)
      for (int c = 0; c < 3; ++c) {
        int sum = 0;
        for (int dy = 0; dy < 2; ++dy)
          for (int dx = 0; dx < 2; ++dx) sum += hwc[((2 * y + dy) * 64 + 2 * x + dx) * 3 + c];
        ties += sum % 4 == 2;
        ASSERT_EQ(at(image, c, y, x), (sum + 2) / 4) << y << "," << x << "," << c;
      }
  EXPECT_GT(ties, 100);  // the rounding of x.5 was exercised
}

TEST(Image, ResizeMatchesPilAndExactAreaReferences) {
  // Exact: numpy's exact area means (whole and fractional factors, half-pixel crops).
  for (const char* name :
       {"reduce64x96", "reduce96x96", "reduce128x140", "area48x48", "area97x48", "area33x50"})
    EXPECT_EQ(load_image(testing::fixture(std::string("images/") + name + ".png")),
              expected_pixels(name))
        << name;
  // PIL's resize(BOX) (whole factors) and BILINEAR (growing) round between their two passes:
  // at most 1 level apart (halving makes many x.5 ties, which PIL rounds twice).
  for (const char* name : {"reduce64x96", "reduce96x96", "reduce128x140"}) {
    const ImagePixels ours = load_image(testing::fixture(std::string("images/") + name + ".png"));
    const ImagePixels pil = expected_pixels(std::string(name) + "_pilbox");
    EXPECT_LE(max_abs_diff(ours, pil), 1) << name;
    EXPECT_LT(mean_abs_diff(ours, pil), 0.5) << name;
  }
  for (const char* name : {"bilinear16x16", "bilinear20x13", "bilinear200x31"}) {
    const ImagePixels ours = load_image(testing::fixture(std::string("images/") + name + ".png"));
    EXPECT_LE(max_abs_diff(ours, expected_pixels(name)), 1) << name;
    EXPECT_LT(mean_abs_diff(ours, expected_pixels(name)), 0.3) << name;
  }
}

TEST(Image, BadFilesSayWhatIsWrongAndWhatToDo) {
  TempDir dir;
  EXPECT_EQ(image_error(dir / "nope.png"),
            (dir / "nope.png").string() + ": no such file (check the path and its spelling)");
  EXPECT_EQ(image_error(dir.path()),
            dir.path().string() +
                ": is a folder, expected an image file (name the images "
                "inside it, or pass the folder where a folder is accepted)");
  write_bytes(dir / "empty.png", "");
  EXPECT_NE(image_error(dir / "empty.png").find("empty.png: empty file (0 bytes), expected a PNG"),
            std::string::npos);
  write_bytes(dir / "notes.png", "These are my notes, not a picture.\n");
  EXPECT_EQ(image_error(dir / "notes.png"),
            (dir / "notes.png").string() +
                ": not an image stb_image can read (unknown image type); expected PNG, JPEG, BMP, "
                "GIF, TGA, PSD, HDR, PIC or PPM/PGM (is it another kind of file, or damaged?)");

  const std::string records = cifar_record_bytes(1);
  write_png(dir / "whole.png", reinterpret_cast<const std::uint8_t*>(&records[1]), 32, 32);
  const std::string png = read_bytes(dir / "whole.png");
  write_bytes(dir / "cut.png", png.substr(0, png.size() / 2));
  const std::string cut = image_error(dir / "cut.png");
  EXPECT_NE(cut.find("cut.png: cannot decode its 32 x 32 pixels ("), std::string::npos) << cut;
  EXPECT_NE(cut.find("); the file is truncated or corrupt: download or export it again"),
            std::string::npos)
      << cut;

  // A valid PNG whose header claims 12000 x 10000 (stb_image does not check the CRC; it
  // refuses over 2^30 bytes itself, "unknown image type", so this stays below that).
  std::string bomb = png;
  const char size[8] = {0, 0, 0x2e, static_cast<char>(0xe0), 0, 0, 0x27, 0x10};  // big endian
  bomb.replace(16, 8, size, 8);
  write_bytes(dir / "bomb.png", bomb);
  EXPECT_EQ(image_error(dir / "bomb.png"),
            (dir / "bomb.png").string() +
                ": 12000 x 10000 = 120000000 pixels, more than the limit of 100000000 (a corrupt "
                "or malicious header, or a huge picture: shrink it first)");
}

TEST(Image, WritePngAndResizeRejectBadArguments) {
  TempDir dir;
  const ImagePixels black{};
  try {
    write_png(dir / "missing" / "x.png", black.data(), 32, 32);
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), (dir / "missing" / "x.png").string() +
                                         ": cannot write PNG: No such file or directory (does "
                                         "the folder exist, is it writable, is the disk full?)");
  }
  EXPECT_THROW(write_png(dir / "x.png", black.data(), 0, 32), std::invalid_argument);
  try {
    resize_center_crop(black.data(), 32, 32, 5);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("1-4 channels, got 32 x 32 x 5"), std::string::npos);
  }
}

}  // namespace
}  // namespace googlenet
