// What the `predict` and `test` command suites share: real CIFAR-10 test images and a model
// whose top class varies with the image.
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "googlenet/data/augment.h"
#include "googlenet/data/cifar.h"
#include "googlenet/data/image.h"
#include "googlenet/io/state_dict.h"
#include "googlenet/model/googlenet.h"
#include "test_util.h"

namespace googlenet::testing {

// `count` images of the real test batch from image `first` on: uint8 N x 3 x 32 x 32 and labels.
struct Records {
  torch::Tensor images;
  std::vector<std::int64_t> labels;
  const std::uint8_t* image(int i) const { return images[i].data_ptr<std::uint8_t>(); }
};

inline Records cifar_records(int count, int first = 0) {
  const std::filesystem::path file = cifar_bin_dir() / "test_batch.bin";
  std::ifstream in(file, std::ios::binary);
  EXPECT_TRUE(in) << file << " missing: set GOOGLENET_DATA";
  in.seekg(static_cast<std::streamoff>(first) * (1 + kImageBytes));
  Records records{torch::empty({count, 3, kImageSide, kImageSide}, torch::kUInt8), {}};
  std::vector<char> record(1 + kImageBytes);
  for (int i = 0; i < count && in.read(record.data(), record.size()); ++i) {
    records.labels.push_back(static_cast<std::uint8_t>(record[0]));
    std::copy_n(record.data() + 1, kImageBytes, records.images[i].data_ptr<std::uint8_t>());
  }
  EXPECT_EQ(static_cast<int>(records.labels.size()), count);
  return records;
}

// The model of every test, built once per process from tests/fixtures/reference_weights.pt
// (seed 0, Xavier-uniform init). At init its logits share one dominant direction, so it gives
// nearly the same, nearly uniform output for every image, which would make agreement tests
// weak. Standardising each logit over 32 real images (fc rows rescaled and shifted) makes the
// top class vary with the image and the probabilities far from uniform. Saved as a bare
// state_dict for the file-based paths; `net` is loaded here, independently of load_model.
struct TestModel {
  TestModel() {
    const std::filesystem::path file = fixture("reference_weights.pt");
    load_state_dict(*net, read_state_dict(file.string()), file.string());
    net->eval();
    torch::NoGradGuard no_grad;
    const auto logits = net->forward(normalize_images(cifar_records(32, /*first=*/9000).images));
    const auto scale = kLogitSpread / logits.std({0});
    for (auto& [name, tensor] : state_dict(*net)) {
      if (name == "fc.weight") tensor.mul_(scale.unsqueeze(1));
      if (name == "fc.bias") tensor.sub_(logits.mean({0})).mul_(scale);
    }
    write_state_dict(weights.string(), state_dict(*net));
  }
  static constexpr double kLogitSpread = 3;  // standard deviation of each logit
  TempDir dir;
  std::filesystem::path weights = dir / "calibrated.pt";
  GoogLeNet net;
};

inline TestModel& test_model() {
  static TestModel model;
  return model;
}

inline std::string name_of(int i) {
  char name[16];
  std::snprintf(name, sizeof name, "%03d", i);
  return name;
}

}  // namespace googlenet::testing
