// CIFAR-10 readers on the real data: every layout decodes to the same images,
// labels and pixels match what torchvision returns for the same indices.
#include <gtest/gtest.h>

#include <algorithm>

#include "cifar_fixtures.h"
#include "googlenet/data/augment.h"
#include "googlenet/data/cifar.h"

namespace googlenet {
namespace {

namespace fs = std::filesystem;
using testing::cifar_bin_dir;
using testing::real_test;
using testing::TempDir;

const Cifar10& real_train() {
  static const Cifar10 data = load_cifar10(cifar_bin_dir(), Split::kTrain);
  return data;
}

void expect_same(const Cifar10& a, const Cifar10& b) {
  EXPECT_EQ(a.size(), b.size());
  EXPECT_TRUE(a.images == b.images);  // not EXPECT_EQ: 150 MB would be printed
  EXPECT_TRUE(a.labels == b.labels);
  EXPECT_EQ(a.class_names, b.class_names);
}

TEST(Cifar, TestSplitLabelsAndPixelsMatchTorchvision) {
  const auto golden = testing::torchvision_fixture();
  const Cifar10& data = real_test();
  ASSERT_EQ(data.size(), 10000);
  ASSERT_EQ(static_cast<int64_t>(data.images.size()), 10000 * 3 * 32 * 32);
  EXPECT_EQ(data.class_names, golden.class_names);
  EXPECT_EQ(data.labels[0], 3);  // the first test image is a cat
  EXPECT_EQ(data.class_names[3], "cat");
  for (size_t i = 0; i < golden.first_test_labels.size(); ++i) {
    EXPECT_EQ(data.labels[i], golden.first_test_labels[i]) << "test image " << i;
  }
  int checked = 0;
  for (const auto& c : golden.cases) {
    if (c.train) continue;
    EXPECT_EQ(data.labels[c.index], c.label);
    std::vector<float> ours(kCifarImageBytes);
    normalize_image(data.image(c.index), /*channels_last=*/false, ours.data());
    // Same float32 operations as ToTensor + Normalize: equal bit for bit.
    EXPECT_EQ(ours, c.values) << "test image " << c.index;
    ++checked;
  }
  EXPECT_EQ(checked, 5);
  EXPECT_NE(data.source.find("(binary)"), std::string::npos) << data.source;
}

TEST(Cifar, TrainSplitHas5000ImagesPerClass) {
  const Cifar10& data = real_train();
  ASSERT_EQ(data.size(), 50000);
  std::vector<int> counts(10);
  for (uint8_t label : data.labels) ++counts[label];
  EXPECT_EQ(counts, std::vector<int>(10, 5000));
}

TEST(Cifar, FindsTheLayoutFolderInsideAFolder) {
  expect_same(load_cifar10(testing::data_dir(), Split::kTest), real_test());
}

TEST(Cifar, ArchivesDecodeLikeTheFolder) {
  TempDir tmp;
  // gzip only the test split (compressing 180 MB would dominate the suite's time).
  testing::make_tar_gz(
      tmp / "cifar-10-binary.tar.gz", testing::data_dir(),
      {"cifar-10-batches-bin/test_batch.bin", "cifar-10-batches-bin/batches.meta.txt"});
  const Cifar10 test = load_cifar10(tmp.path(), Split::kTest);  // the archive is found
  expect_same(test, real_test());
  EXPECT_NE(test.source.find("cifar-10-binary.tar.gz (binary)"), std::string::npos);
  const std::string command = "tar -C '" + testing::data_dir().string() + "' -cf '" +
                              (tmp / "cifar-10-binary.tar").string() + "' cifar-10-batches-bin";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  expect_same(load_cifar10(tmp / "cifar-10-binary.tar", Split::kTrain), real_train());
}

TEST(Cifar, PythonLayoutDecodesLikeTheBinary) {
  TempDir tmp;
  const fs::path py = tmp / "cifar-10-batches-py";
  fs::create_directories(py);
  testing::write_bytes(py / "test_batch", testing::python_batch(real_test(), 0, 10000));
  testing::write_bytes(py / "batches.meta", testing::python_meta(real_test().class_names));
  const Cifar10 test = load_cifar10(tmp.path(), Split::kTest);  // the layout folder is found
  expect_same(test, real_test());
  EXPECT_NE(test.source.find("(python)"), std::string::npos) << test.source;

  testing::make_tar_gz(tmp / "cifar-10-python.tar.gz", tmp.path(),
                       {"cifar-10-batches-py/test_batch", "cifar-10-batches-py/batches.meta"});
  expect_same(load_cifar10(tmp / "cifar-10-python.tar.gz", Split::kTest), real_test());

  // Train: the first real batch under all five names (links: writing five 30 MB
  // pickles would dominate the suite), read in order.
  testing::write_bytes(py / "data_batch_1", testing::python_batch(real_train(), 0, 10000));
  for (int b = 2; b <= 5; ++b)
    fs::create_hard_link(py / "data_batch_1", py / ("data_batch_" + std::to_string(b)));
  const Cifar10 train = load_cifar10(py, Split::kTrain);
  ASSERT_EQ(train.size(), 50000);
  const auto first_images = real_train().images.begin();
  const auto first_labels = real_train().labels.begin();
  for (int b = 0; b < 5; ++b) {
    EXPECT_TRUE(std::equal(first_images, first_images + 10000 * kCifarImageBytes,
                           train.images.begin() + b * 10000 * kCifarImageBytes));
    EXPECT_TRUE(std::equal(first_labels, first_labels + 10000, train.labels.begin() + b * 10000));
  }
}

TEST(Cifar, PythonFilesPickledByNumpyDecode) {
  // Made by scripts/fixtures_data.py with numpy + pickle, strings as Python 2 BINSTRING.
  Cifar10 head;
  parse_python_batch("cifar_py_test_batch_head",
                     testing::read_bytes(testing::fixture("cifar_py_test_batch_head")),
                     /*expected_records=*/5, head);
  ASSERT_EQ(head.size(), 5);
  EXPECT_TRUE(std::equal(head.labels.begin(), head.labels.end(), real_test().labels.begin()));
  EXPECT_TRUE(std::equal(head.images.begin(), head.images.end(), real_test().images.begin()));
  EXPECT_EQ(parse_python_meta("cifar_py_batches_meta",
                              testing::read_bytes(testing::fixture("cifar_py_batches_meta"))),
            real_test().class_names);
}

TEST(Cifar, UnrecognisedFolderNamesTheAcceptedLayoutsAndWhatWasFound) {
  TempDir tmp;
  testing::write_bytes(tmp / "notes.txt", "hello");
  fs::create_directories(tmp / "images");
  try {
    load_cifar10(tmp.path(), Split::kTrain);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(tmp.path().string() + ": no CIFAR-10 data found"), std::string::npos)
        << message;
    EXPECT_NE(message.find("cifar-10-batches-bin/ folder"), std::string::npos) << message;
    EXPECT_NE(message.find("cifar-10-batches-py/ folder"), std::string::npos) << message;
    EXPECT_NE(message.find("cifar-10-binary.tar.gz"), std::string::npos) << message;
    EXPECT_NE(message.find("found images/, notes.txt"), std::string::npos) << message;
    EXPECT_NE(message.find("pass --data DIR"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace googlenet
