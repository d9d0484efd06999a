// Bad CIFAR-10 input: each case is refused with a message naming the file, what
// was expected, what was found and what to do; random corruption never crashes
// or reads out of bounds (build with -DGOOGLENET_READERS_ASAN=ON to check under
// AddressSanitizer). Free of LibTorch and of the real data set.
#include <gtest/gtest.h>

#include <functional>
#include <random>

#include "cifar_fixtures.h"
#include "googlenet/data/cifar.h"
#include "googlenet/io/archive.h"

namespace googlenet {
namespace {

namespace fs = std::filesystem;
using testing::error_of;
using testing::TempDir;
using testing::write_bytes;

const std::string kMeta =
    "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n";
constexpr int64_t kBatchBytes = 10000 * 3073;

#define EXPECT_CONTAINS(text, part) \
  EXPECT_NE(std::string(text).find(part), std::string::npos) << "message: " << (text)

// `count` records with varied pixels and labels 0-9.
Cifar10 synthetic(int64_t count) {
  Cifar10 data;
  std::mt19937 rng(7);
  for (int64_t i = 0; i < count; ++i) {
    data.labels.push_back(static_cast<uint8_t>(i % 10));
    for (int64_t j = 0; j < kCifarImageBytes; ++j) data.images.push_back(rng() & 255);
  }
  return data;
}

// A binary-layout folder with batches.meta.txt and the given test_batch.bin.
fs::path binary_folder(const TempDir& tmp, const std::string& test_batch) {
  const fs::path dir = tmp / "cifar-10-batches-bin";
  fs::create_directories(dir);
  write_bytes(dir / "batches.meta.txt", kMeta);
  write_bytes(dir / "test_batch.bin", test_batch);
  return dir;
}

TEST(CifarErrors, MissingPathOrFiles) {
  TempDir tmp;
  EXPECT_CONTAINS(
      error_of<std::runtime_error>([&] { load_cifar10(tmp / "nowhere", Split::kTest); }),
      "nowhere: no such file or folder; expected a cifar-10-batches-bin/ folder");
  const fs::path dir = binary_folder(tmp, std::string(kBatchBytes, '\0'));
  const std::string message =
      error_of<std::runtime_error>([&] { load_cifar10(tmp.path(), Split::kTrain); });
  EXPECT_CONTAINS(message, "data_batch_1.bin: missing (5 missing: data_batch_1.bin, ");
  EXPECT_CONTAINS(message,
                  "expected data_batch_1.bin .. data_batch_5.bin, test_batch.bin and "
                  "batches.meta.txt in " +
                      dir.string() + " (re-extract the archive or pass --data DIR)");
  EXPECT_CONTAINS(
      error_of<std::runtime_error>([&] { load_cifar10(dir / "test_batch.bin", Split::kTest); }),
      "test_batch.bin: one file of the binary layout, expected the folder holding "
      "all of them (pass --data " +
          dir.string() + ")");
}

TEST(CifarErrors, TruncatedOrOversizedBatch) {
  TempDir tmp;
  binary_folder(tmp, std::string(30720000, '\0'));
  EXPECT_CONTAINS(error_of<std::runtime_error>([&] { load_cifar10(tmp.path(), Split::kTest); }),
                  "test_batch.bin: 30720000 bytes, expected 30730000 = 10000 records x 3073 "
                  "(file truncated? re-extract the archive or pass --data DIR)");
  binary_folder(tmp, std::string(kBatchBytes + 3073, '\0'));
  EXPECT_CONTAINS(error_of<std::runtime_error>([&] { load_cifar10(tmp.path(), Split::kTest); }),
                  "test_batch.bin: 30733073 bytes, expected 30730000 = 10000 records x 3073 "
                  "(not a CIFAR-10 batch? re-extract the archive or pass --data DIR)");
}

TEST(CifarErrors, LabelOutsideZeroToNine) {
  TempDir tmp;
  std::string batch(kBatchBytes, '\0');
  batch[1234 * 3073] = 10;
  binary_folder(tmp, batch);
  EXPECT_CONTAINS(error_of<std::runtime_error>([&] { load_cifar10(tmp.path(), Split::kTest); }),
                  "test_batch.bin: record 1234 (byte offset 3792082) has label 10, expected 0-9 "
                  "(corrupt file? re-extract the archive or pass --data DIR)");
}

TEST(CifarErrors, BadClassNames) {
  EXPECT_CONTAINS(
      error_of<std::runtime_error>([] { parse_binary_meta("batches.meta.txt", "cat\ndog\n"); }),
      "batches.meta.txt: 2 class names, expected 10, one per line");
  EXPECT_CONTAINS(
      error_of<std::runtime_error>([] { parse_binary_meta("m", std::string("cat\nd\0g\n", 8)); }),
      "m: line 2 holds a non-text byte 0, expected one class name per line");
  EXPECT_EQ(parse_binary_meta("m", kMeta).back(), "truck");
}

TEST(CifarErrors, CorruptOrForeignArchive) {
  TempDir tmp;
  binary_folder(tmp, std::string(kBatchBytes, '\0'));
  const fs::path archive = tmp / "cifar-10-binary.tar.gz";
  testing::make_tar_gz(archive, tmp.path(), {"cifar-10-batches-bin"});
  EXPECT_EQ(load_cifar10(archive, Split::kTest).size(), 10000);  // all-zero images are valid

  const std::string whole = testing::read_bytes(archive);
  write_bytes(archive, whole.substr(0, whole.size() / 2));
  EXPECT_CONTAINS(error_of<std::runtime_error>([&] { load_cifar10(archive, Split::kTest); }),
                  archive.string() + ": corrupt or truncated archive (");
  write_bytes(archive, "<html>not found</html>");
  const std::string foreign =
      error_of<std::runtime_error>([&] { load_cifar10(archive, Split::kTest); });
  EXPECT_CONTAINS(foreign, "corrupt or truncated archive");
  EXPECT_CONTAINS(foreign, "expected a complete .tar/.tar.gz (download it again)");

  write_bytes(tmp / "notes.txt", "x");
  testing::make_tar_gz(archive, tmp.path(), {"notes.txt"});
  const std::string other =
      error_of<std::runtime_error>([&] { load_cifar10(archive, Split::kTest); });
  EXPECT_CONTAINS(other, ": no CIFAR-10 files in the archive; expected a cifar-10-batches-bin/");
  EXPECT_CONTAINS(other, "; found notes.txt (download cifar-10-binary.tar.gz again");

  testing::make_tar_gz(archive, tmp.path(), {"cifar-10-batches-bin/batches.meta.txt"});
  EXPECT_CONTAINS(error_of<std::runtime_error>([&] { load_cifar10(archive, Split::kTest); }),
                  ": test_batch.bin missing from the archive; expected data_batch_1.bin ..");
}

TEST(CifarErrors, PickleThatIsNotACifarBatch) {
  const Cifar10 data = synthetic(5);
  using pickle::Value;
  const auto parse = [](const std::string& bytes, int64_t records = 5) {
    return error_of<std::runtime_error>([&] {
      Cifar10 out;
      parse_python_batch("data_batch_1", bytes, records, out);
    });
  };
  const std::string hint =
      "(not a CIFAR-10 python file? re-extract cifar-10-python.tar.gz or pass --data DIR)";
  Cifar10 ok;
  parse_python_batch("b", testing::python_batch(data, 0, 5), 5, ok);
  EXPECT_TRUE(ok.images == data.images && ok.labels == data.labels);

  const std::string list = parse(pickle::write(Value::list({Value::integer(1)})));
  EXPECT_CONTAINS(list,
                  "data_batch_1: the pickle holds [1], expected a dict with 'data' and "
                  "'labels' " +
                      hint);
  const std::string no_array = parse(pickle::write(Value::dict(
      {{Value::bytes("data"), Value::bytes("hello")}, {Value::bytes("labels"), Value::list({})}})));
  EXPECT_CONTAINS(no_array, "data_batch_1: 'data' is ");
  EXPECT_CONTAINS(no_array, ", expected 'data': a uint8 numpy array 5 x 3072 " + hint);
  EXPECT_CONTAINS(parse(testing::python_batch(data, 0, 5), 10000),
                  "data_batch_1: 'data' has shape (5, 3072), expected 'data': a uint8 numpy "
                  "array 10000 x 3072");

  Cifar10 bad_label = data;
  bad_label.labels[1] = 12;
  EXPECT_CONTAINS(parse(testing::python_batch(bad_label, 0, 5)),
                  "data_batch_1: labels[1] is 12, expected 'labels': a list of 5 ints 0-9");

  // GLOBAL os.system + REDUCE: refused by the whitelist before anything runs.
  const std::string evil =
      std::string("\x80\x02") + "cos\nsystem\n" + "X\x02\x00\x00\x00id" + "\x85" + "R.";
  const std::string refused = parse(evil);
  EXPECT_CONTAINS(refused, "os.system");
  EXPECT_CONTAINS(refused, hint);

  EXPECT_CONTAINS(
      error_of<std::runtime_error>([] {
        parse_python_meta(
            "batches.meta",
            pickle::write(Value::dict({{Value::bytes("num_vis"), Value::integer(3072)}})));
      }),
      "batches.meta: the pickle holds {b'num_vis': 3072}, expected a dict with "
      "'label_names': a list of 10 strings");
}

// Random truncations and byte flips of valid files: every outcome is a parsed
// batch or a std::runtime_error (error_of lets nothing else through).
TEST(CifarErrors, FuzzedFilesNeverCrash) {
  const Cifar10 data = synthetic(4);
  const std::string binary = testing::binary_batch(data, 0, 4);
  const std::string python = testing::python_batch(data, 0, 4);
  const std::string numpy_made = testing::read_bytes(testing::fixture("cifar_py_test_batch_head"));
  std::mt19937 rng(2024);
  const auto mutate = [&](std::string bytes) {
    if (rng() % 3 == 0) bytes.resize(rng() % (bytes.size() + 1));
    const int flips = 1 + rng() % 4;
    for (int i = 0; i < flips && !bytes.empty(); ++i) bytes[rng() % bytes.size()] = rng() & 255;
    return bytes;
  };
  int refused = 0;
  for (int i = 0; i < 1500; ++i) {
    const std::string b = mutate(binary), p = mutate(python), n = mutate(numpy_made);
    Cifar10 out;
    refused += error_of<std::runtime_error>([&] { parse_binary_batch("b", b, 4, out); }) !=
               testing::kNoError;
    refused += error_of<std::runtime_error>([&] { parse_python_batch("p", p, 4, out); }) !=
               testing::kNoError;
    refused += error_of<std::runtime_error>([&] { parse_python_batch("n", n, 5, out); }) !=
               testing::kNoError;
    refused +=
        error_of<std::runtime_error>([&] { parse_python_meta("n", n); }) != testing::kNoError;
  }
  EXPECT_GT(refused, 1500);  // most mutations are caught; pixel flips legitimately pass

  TempDir tmp;
  write_bytes(tmp / "test_batch.bin", binary);
  testing::make_tar_gz(tmp / "a.tar.gz", tmp.path(), {"test_batch.bin"});
  const std::string archive = testing::read_bytes(tmp / "a.tar.gz");
  for (int i = 0; i < 200; ++i) {
    write_bytes(tmp / "b.tar.gz", mutate(archive));
    error_of<std::runtime_error>([&] {
      read_archive(
          tmp / "b.tar.gz", [](const std::string&) { return true; }, 1 << 20);
    });
  }
}

}  // namespace
}  // namespace googlenet
