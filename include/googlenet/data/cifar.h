// CIFAR-10 (Krizhevsky, 2009) readers: the binary layout (cifar-10-batches-bin/) and
// the python layout torchvision downloads (cifar-10-batches-py/), as folders or as
// the official .tar.gz archives read in place. Free of LibTorch so it builds fast.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace googlenet {

inline constexpr int64_t kCifarChannels = 3;
inline constexpr int64_t kCifarSide = 32;  // images are 32 x 32
inline constexpr int64_t kCifarImageBytes = kCifarChannels * kCifarSide * kCifarSide;  // 3072
inline constexpr int64_t kCifarRecordBytes = 1 + kCifarImageBytes;  // label byte + image
inline constexpr int64_t kCifarBatchRecords = 10000;                // images per batch file
inline constexpr int64_t kCifarClasses = 10;
// Class names in label order, as batches.meta.txt lists them; the names of a model saved as a
// bare state_dict, which stores none.
inline constexpr std::array<std::string_view, kCifarClasses> kCifar10ClassNames = {
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};

enum class Split { kTrain, kTest };  // data_batch_1..5 (50,000) or test_batch (10,000)

struct Cifar10 {
  std::vector<uint8_t> images;           // N x 3 x 32 x 32: the file's R, G, B planes, row-major
  std::vector<uint8_t> labels;           // N, each 0-9
  std::vector<std::string> class_names;  // 10, in label order ("airplane" .. "truck")
  std::string source;  // what was read, e.g. ".../cifar-10-binary.tar.gz (binary)"

  int64_t size() const { return static_cast<int64_t>(labels.size()); }
  const uint8_t* image(int64_t i) const { return images.data() + i * kCifarImageBytes; }
};

// `path` is a folder holding either layout (or one of the archives), a layout folder
// itself, or a cifar-10-binary.tar.gz / cifar-10-python.tar.gz archive. Throws
// std::runtime_error naming the file, what was expected and what was found.
Cifar10 load_cifar10(const std::filesystem::path& path, Split split);

// True when load_cifar10 would read `path` as CIFAR-10 (a file, a layout folder, or a folder
// holding a layout folder or an archive), whether or not its files turn out complete. What
// tells CIFAR-10 from an image folder (FOLDER/<class>/<image>) in `googlenet test --data`.
bool is_cifar10_path(const std::filesystem::path& path);

// Parsers of single files already in memory, appending to `out`; `name` is used in
// messages. Exposed for tests and fuzzing; load_cifar10 is the entry point.
void parse_binary_batch(const std::string& name, std::string_view bytes, int64_t expected_records,
                        Cifar10& out);
std::vector<std::string> parse_binary_meta(const std::string& name, std::string_view bytes);
void parse_python_batch(const std::string& name, std::string_view bytes, int64_t expected_records,
                        Cifar10& out);
std::vector<std::string> parse_python_meta(const std::string& name, std::string_view bytes);

}  // namespace googlenet
