// `googlenet test`: an image folder FOLDER/<class>/<image> gives the report the binary data
// gives for the same images; folders that are neither layout are refused with the reason.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "eval/predict_fixtures.h"
#include "googlenet/data/cifar.h"
#include "googlenet/data/image.h"
#include "googlenet/eval/test_command.h"
#include "test_util.h"

namespace googlenet {
namespace {

namespace fs = std::filesystem;
using testing::cifar_records;
using testing::error_of;
using testing::name_of;
using testing::Records;
using testing::run_cli;
using testing::TempDir;
using testing::test_model;

// 200 real test images as PNG in FOLDER/<class>/ (short names for two classes) must give the
// report the binary data gives for the same 200 images: PNG is lossless.
TEST(TestCommand, ImageFolderSameReportAsTheBinaryDataForTheSameImages) {
  TempDir dir;
  const Records records = cifar_records(200);
  const std::vector<std::string> folders = {"plane", "car",  "bird",  "cat",  "deer",
                                            "dog",   "frog", "Horse", "ship", "truck"};
  for (int i = 0; i < 200; ++i) {
    const fs::path file = dir / "set" / folders[records.labels[i]] / (name_of(i) + ".png");
    fs::create_directories(file.parent_path());
    write_png(file, records.image(i), kImageSide, kImageSide);
  }
  std::ofstream(dir / "set" / "README.txt") << "ignored";
  TestOptions options;
  options.weights = test_model().weights.string();
  options.batch_size = 64;
  options.data = (dir / "set").string();
  options.json_report = (dir / "folder.json").string();
  const std::string folder_report = run_test(options);
  options.data = testing::cifar_bin_dir().string();
  options.subset = 200;
  options.json_report = (dir / "binary.json").string();
  const std::string binary_report = run_test(options);

  EXPECT_NE(folder_report.find("(image folder, 200 images)"), std::string::npos) << folder_report;
  // All but the source (line 1) and the loss (compared below: summed in another order).
  const auto body = [](std::string report) {
    report.erase(0, report.find('\n') + 1);
    const std::size_t loss = report.find(", test loss");
    return report.erase(loss, report.find('\n') - loss);
  };
  EXPECT_EQ(body(folder_report), body(binary_report));
  EXPECT_NE(body(folder_report).find("test accuracy "), std::string::npos) << folder_report;
  const auto folder_json = nlohmann::json::parse(std::ifstream(dir / "folder.json"));
  const auto binary_json = nlohmann::json::parse(std::ifstream(dir / "binary.json"));
  EXPECT_EQ(folder_json.at("total"), 200);
  EXPECT_EQ(folder_json.at("matrix"), binary_json.at("matrix"));
  EXPECT_EQ(folder_json.at("correct"), binary_json.at("correct"));
  EXPECT_NEAR(folder_json.at("loss").get<double>(), binary_json.at("loss").get<double>(), 1e-5);
}

TEST(TestCommand, ImageFolderBadFoldersAreRefusedWithTheReason) {
  TempDir dir;
  const Records records = cifar_records(1);
  fs::create_directories(dir / "set" / "unicorn");
  write_png(dir / "set" / "unicorn" / "a.png", records.image(0), kImageSide, kImageSide);
  const std::string weights = testing::fixture("reference_weights.pt").string();
  const auto result =
      run_cli("test --checkpoint '" + weights + "' --data '" + (dir / "set").string() + "'");
  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_NE(result.output.find("error: " + (dir / "set" / "unicorn").string() +
                               ": class folder \"unicorn\" is not one of the model's 10 classes"),
            std::string::npos)
      << result.output;

  const auto test_error = [&](const fs::path& data) {
    TestOptions options;
    options.weights = weights;
    options.data = data.string();
    return error_of<std::runtime_error>([&] { run_test(options); });
  };
  fs::rename(dir / "set" / "unicorn", dir / "set" / "cat");
  std::ofstream(dir / "set" / "cat" / "b.png") << "not a png";
  std::string error = test_error(dir / "set");
  EXPECT_EQ(error.rfind((dir / "set" / "cat" / "b.png").string() + ": not an image", 0), 0u)
      << error;
  EXPECT_NE(error.find("(every image of the folder is tested: fix or remove the file)"),
            std::string::npos)
      << error;

  fs::create_directories(dir / "flat");  // no class folders: neither layout
  write_png(dir / "flat" / "a.png", records.image(0), kImageSide, kImageSide);
  error = test_error(dir / "flat");
  EXPECT_EQ(error.rfind((dir / "flat").string() + ": no CIFAR-10 data found", 0), 0u) << error;
  EXPECT_NE(error.find("found a.png (pass --data DIR pointing at one of these; googlenet test "
                       "also reads an image folder, FOLDER/<class name>/<image>)"),
            std::string::npos)
      << error;
}

}  // namespace
}  // namespace googlenet
