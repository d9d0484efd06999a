// Helpers shared by the data tests: torchvision's golden values (tests/fixtures/
// data_torchvision.*, made by scripts/fixtures_data.py), CIFAR files of either
// layout made from images in memory, and .tar.gz archives made with the system's
// tar + gzip. Free of LibTorch, so the reader tests also build under ASan alone.
#pragma once

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "googlenet/data/cifar.h"
#include "googlenet/io/pickle.h"
#include "test_util.h"

namespace googlenet::testing {

struct TorchvisionCase {
  int64_t index = 0;  // into the real test split
  int64_t label = 0;
  bool train = false;  // train transform (with the crop below) or test transform
  int top = 4, left = 4;
  bool flip = false;
  std::vector<float> values;  // 3 x 32 x 32, what torchvision returned
};

struct TorchvisionFixture {
  std::vector<std::string> class_names;
  std::vector<int> first_test_labels;
  std::vector<TorchvisionCase> cases;
};

// The real CIFAR-10 test split, read once per process.
inline const Cifar10& real_test() {
  static const Cifar10 data = load_cifar10(cifar_bin_dir(), Split::kTest);
  return data;
}

inline TorchvisionFixture torchvision_fixture() {
  const auto json = nlohmann::json::parse(read_bytes(fixture("data_torchvision.json")));
  const std::string floats = read_bytes(fixture("data_torchvision.f32"));
  TorchvisionFixture result;
  result.class_names = json.at("class_names").get<std::vector<std::string>>();
  result.first_test_labels = json.at("first_test_labels").get<std::vector<int>>();
  size_t offset = 0;
  for (const auto& c : json.at("cases")) {
    TorchvisionCase tc;
    tc.index = c.at("index");
    tc.label = c.at("label");
    tc.train = c.at("transform") == "train";
    if (tc.train) {
      tc.top = c.at("top");
      tc.left = c.at("left");
      tc.flip = c.at("flip");
    }
    tc.values.resize(kCifarImageBytes);
    const size_t n = tc.values.size() * sizeof(float);
    if (offset + n > floats.size()) throw std::runtime_error("data_torchvision.f32 too short");
    std::memcpy(tc.values.data(), floats.data() + offset, n);  // little-endian, as written
    offset += n;
    result.cases.push_back(std::move(tc));
  }
  return result;
}

// Records [first, first + count) in the binary layout.
inline std::string binary_batch(const Cifar10& data, int64_t first, int64_t count) {
  std::string bytes;
  for (int64_t i = first; i < first + count; ++i) {
    bytes += static_cast<char>(data.labels[i]);
    bytes.append(reinterpret_cast<const char*>(data.image(i)), kCifarImageBytes);
  }
  return bytes;
}

// The python layout's batch dict (as in cifar-10-python.tar.gz, but with the pickle
// writer's BINBYTES where Python 2 wrote BINSTRING; the reader takes both as bytes).
inline std::string python_batch(const Cifar10& data, int64_t first, int64_t count) {
  using pickle::Value;
  pickle::Object dtype{
      "numpy.dtype", false, {Value::bytes("u1"), Value::integer(0), Value::integer(1)}};
  dtype.state = Value::tuple({Value::integer(3), Value::bytes("|"), Value(), Value(), Value(),
                              Value::integer(-1), Value::integer(-1), Value::integer(0)});
  pickle::Object array{
      "numpy.core.multiarray._reconstruct",
      false,
      {Value::global("numpy.ndarray"), Value::tuple({Value::integer(0)}), Value::bytes("b")}};
  array.state = Value::tuple(
      {Value::integer(1), Value::tuple({Value::integer(count), Value::integer(kCifarImageBytes)}),
       Value::object(dtype), Value::boolean(false),
       Value::bytes(std::string(reinterpret_cast<const char*>(data.image(first)),
                                count * kCifarImageBytes))});
  Value::Items labels, names;
  for (int64_t i = first; i < first + count; ++i) {
    labels.push_back(Value::integer(data.labels[i]));
    names.push_back(Value::bytes("image_" + std::to_string(i) + ".png"));
  }
  return pickle::write(Value::dict({{Value::bytes("data"), Value::object(array)},
                                    {Value::bytes("labels"), Value::list(labels)},
                                    {Value::bytes("batch_label"), Value::bytes("a batch")},
                                    {Value::bytes("filenames"), Value::list(names)}}));
}

inline std::string python_meta(const std::vector<std::string>& class_names) {
  using pickle::Value;
  Value::Items names;
  for (const auto& name : class_names) names.push_back(Value::bytes(name));
  return pickle::write(Value::dict({{Value::bytes("num_cases_per_batch"), Value::integer(10000)},
                                    {Value::bytes("label_names"), Value::list(names)},
                                    {Value::bytes("num_vis"), Value::integer(3072)}}));
}

// `archive` (.tar.gz) holding `members` (paths relative to `dir`), via tar + gzip -1.
inline void make_tar_gz(const std::filesystem::path& archive, const std::filesystem::path& dir,
                        const std::vector<std::string>& members) {
  std::string command = "tar -C '" + dir.string() + "' -cf -";
  for (const auto& m : members) command += " '" + m + "'";
  command += " | gzip -1 > '" + archive.string() + "'";
  if (std::system(command.c_str()) != 0) throw std::runtime_error("failed: " + command);
}

}  // namespace googlenet::testing
