// collect_image_files / class_index / list_image_folder / decode_images: ordering, class
// folder mapping, the messages for bad layouts, and batches that keep failures apart.
#include <gtest/gtest.h>

#include <fstream>

#include "googlenet/data/image.h"
#include "googlenet/data/image_folder.h"
#include "test_util.h"

namespace googlenet {
namespace {

namespace fs = std::filesystem;
using testing::error_of;
using testing::TempDir;

const std::vector<std::string> kClasses = {"airplane", "automobile", "bird",  "cat",  "deer",
                                           "dog",      "frog",       "horse", "ship", "truck"};

// A 32 x 32 PNG of one grey level, in a folder created as needed.
fs::path grey_png(const fs::path& file, std::uint8_t level) {
  fs::create_directories(file.parent_path());
  ImagePixels pixels{};
  pixels.fill(level);
  write_png(file, pixels.data(), kImageSide, kImageSide);
  return file;
}

void text_file(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream(file) << text;
}

TEST(ImageFolder, CollectExpandsFoldersSortedAndKeepsArgumentOrder) {
  TempDir dir;
  const fs::path root = dir / "photos";
  grey_png(root / "b" / "2.png", 0);
  grey_png(root / "b" / "10.PNG", 0);  // upper-case extension counts
  grey_png(root / "a.png", 0);
  text_file(root / "b" / "x.jpeg", "not decoded here");  // listed by extension only
  grey_png(root / "nested" / "deep" / "c.Jpg", 0);
  text_file(root / "notes.txt", "skipped");
  grey_png(root / ".thumbnails" / "t.png", 0);  // hidden: skipped
  grey_png(root / ".hidden.png", 0);
  text_file(dir / "explicit.dat", "named explicitly, so kept");
  const std::vector<fs::path> files = collect_image_files({dir / "explicit.dat", root});
  const std::vector<fs::path> expected = {
      dir / "explicit.dat", root / "a.png",        root / "b" / "10.PNG",
      root / "b" / "2.png", root / "b" / "x.jpeg", root / "nested" / "deep" / "c.Jpg"};
  EXPECT_EQ(files, expected);
}

TEST(ImageFolder, CollectRejectsMissingPathsAndFoldersWithoutImages) {
  TempDir dir;
  EXPECT_EQ(error_of([&] { collect_image_files({dir / "gone"}); }),
            (dir / "gone").string() + ": no such file or folder (check the path and its spelling)");
  text_file(dir / "empty" / "readme.txt", "no pictures");
  EXPECT_EQ(error_of([&] { collect_image_files({dir / "empty"}); }),
            (dir / "empty").string() +
                ": no image files in this folder or below it (looked for .png .jpg .jpeg .jpe "
                ".bmp .gif .tga .psd .hdr .pic .ppm .pgm .pnm, any case)");
}

TEST(ImageFolder, ClassIndexAcceptsLongAndShortNamesInAnyCase) {
  EXPECT_EQ(class_index("airplane", kClasses), 0);
  EXPECT_EQ(class_index("Plane", kClasses), 0);
  EXPECT_EQ(class_index("CAR", kClasses), 1);
  EXPECT_EQ(class_index("automobile", kClasses), 1);
  EXPECT_EQ(class_index("Truck", kClasses), 9);
  EXPECT_EQ(class_index("cats", kClasses), -1);
  EXPECT_EQ(class_index("plane", {"cat", "plane"}), 1);  // a list with the short name
  EXPECT_EQ(class_index("Airplane", {"cat", "plane"}), 1);
}

TEST(ImageFolder, ListsClassFoldersWithTheirLabels) {
  TempDir dir;
  grey_png(dir / "truck" / "t1.png", 0);
  grey_png(dir / "truck" / "more" / "t2.png", 0);
  grey_png(dir / "Cat" / "c.png", 0);
  grey_png(dir / "plane" / "p.jpg", 0);  // a PNG named .jpg: listing goes by extension
  grey_png(dir / ".cache" / "x.png", 0);
  text_file(dir / "README.txt", "ignored");
  const std::vector<ImageFile> files = list_image_folder(dir.path(), kClasses);
  ASSERT_EQ(files.size(), 4u);
  EXPECT_EQ(files[0].path, dir / "Cat" / "c.png");
  EXPECT_EQ(files[0].label, 3);
  EXPECT_EQ(files[1].path, dir / "plane" / "p.jpg");
  EXPECT_EQ(files[1].label, 0);
  EXPECT_EQ(files[2].path, dir / "truck" / "more" / "t2.png");
  EXPECT_EQ(files[3].path, dir / "truck" / "t1.png");
  EXPECT_EQ(files[3].label, 9);
}

TEST(ImageFolder, BadLayoutsSayWhatIsExpected) {
  const std::string layout =
      " (expected FOLDER/<class>/<image>, one folder per class: airplane (or plane), "
      "automobile (or car), bird, cat, deer, dog, frog, horse, ship, truck)";
  TempDir dir;
  EXPECT_EQ(error_of([&] { list_image_folder(dir / "none", kClasses); }),
            (dir / "none").string() + ": no such folder" + layout);
  EXPECT_EQ(error_of([&] { list_image_folder(dir.path(), kClasses); }),
            dir.path().string() + ": no class folders, so no images" + layout);
  grey_png(dir / "x.png", 0);
  EXPECT_EQ(error_of([&] { list_image_folder(dir / "x.png", kClasses); }),
            (dir / "x.png").string() + ": not a folder" + layout);

  TempDir unknown;
  grey_png(unknown / "cat" / "c.png", 0);
  grey_png(unknown / "unicorn" / "u.png", 0);
  EXPECT_EQ(error_of([&] { list_image_folder(unknown.path(), kClasses); }),
            (unknown / "unicorn").string() +
                ": class folder \"unicorn\" is not one of the model's 10 classes: airplane (or "
                "plane), automobile (or car), bird, cat, deer, dog, frog, horse, ship, truck "
                "(rename the folder, or move it out of the data folder)");

  TempDir empty_class;
  grey_png(empty_class / "cat" / "c.png", 0);
  text_file(empty_class / "dog" / "notes.txt", "no pictures yet");
  EXPECT_EQ(error_of([&] { list_image_folder(empty_class.path(), kClasses); }),
            (empty_class / "dog").string() +
                ": class folder with no image files (looked for .png .jpg .jpeg .jpe .bmp .gif "
                ".tga .psd .hdr .pic .ppm .pgm .pnm, any case); add its images or remove the "
                "folder");

  TempDir loose;
  grey_png(loose / "cat" / "c.png", 0);
  grey_png(loose / "stray.png", 0);
  EXPECT_EQ(error_of([&] { list_image_folder(loose.path(), kClasses); }),
            (loose / "stray.png").string() +
                ": an image directly in the data folder has no class; move it into the folder "
                "of its class" +
                layout);
}

TEST(ImageFolder, DecodesInBatchesWithFailuresKeptApart) {
  TempDir dir;
  std::vector<ImageFile> files;
  for (int i = 0; i < 5; ++i)
    files.push_back({grey_png(dir / (std::to_string(i) + ".png"), 10 * i), 100 + i});
  text_file(dir / "2.png", "overwritten: no longer an image");

  const ImageBatch first = decode_images(files, /*begin=*/0, /*count=*/3);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first.pixels.size(), 2 * kImageBytes);
  EXPECT_EQ(first.labels, (std::vector<std::int64_t>{100, 101}));
  EXPECT_EQ(first.paths, (std::vector<fs::path>{dir / "0.png", dir / "1.png"}));
  EXPECT_EQ(first.pixels[kImageBytes - 1], 0);
  EXPECT_EQ(first.pixels[kImageBytes], 10);  // first byte of the second image
  ASSERT_EQ(first.failures.size(), 1u);
  EXPECT_EQ(first.failures[0].path, dir / "2.png");
  EXPECT_NE(first.failures[0].message.find("2.png: not an image stb_image can read"),
            std::string::npos)
      << first.failures[0].message;

  const ImageBatch rest = decode_images(files, 3, 3);  // only 2 left
  EXPECT_EQ(rest.labels, (std::vector<std::int64_t>{103, 104}));
  EXPECT_EQ(rest.pixels[2 * kImageBytes - 1], 40);
  EXPECT_TRUE(rest.failures.empty());
  const ImageBatch past_end = decode_images(files, 5, 3);
  EXPECT_EQ(past_end.size(), 0u);
  EXPECT_TRUE(past_end.pixels.empty() && past_end.failures.empty());

  const ImageBatch unlabelled =
      decode_images(std::vector<fs::path>{dir / "3.png", dir / "missing.png"}, 0, 8);
  EXPECT_EQ(unlabelled.labels, (std::vector<std::int64_t>{-1}));
  EXPECT_EQ(unlabelled.pixels[0], 30);
  ASSERT_EQ(unlabelled.failures.size(), 1u);
  EXPECT_EQ(unlabelled.failures[0].message,
            (dir / "missing.png").string() + ": no such file (check the path and its spelling)");
}

}  // namespace
}  // namespace googlenet
