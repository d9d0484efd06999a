// CIFAR-10 entry point: finds the layout behind a path (folder, layout folder or
// archive), reads the split's files and parses the binary layout. The python
// layout's pickles are parsed in cifar_python.cpp.
#include "googlenet/data/cifar.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <stdexcept>

#include "googlenet/io/archive.h"

namespace googlenet {

namespace fs = std::filesystem;

namespace {

enum class Layout { kBinary, kPython };

// A python batch is ~31 MB; anything far larger is not a CIFAR-10 file.
constexpr int64_t kMaxFileBytes = 64 << 20;
constexpr int64_t kMaxMetaBytes = 1 << 16;
constexpr int kTrainBatches = 5;

const char* folder_name(Layout layout) {
  return layout == Layout::kBinary ? "cifar-10-batches-bin" : "cifar-10-batches-py";
}
const char* archive_name(Layout layout) {
  return layout == Layout::kBinary ? "cifar-10-binary.tar.gz" : "cifar-10-python.tar.gz";
}
const char* meta_name(Layout layout) {
  return layout == Layout::kBinary ? "batches.meta.txt" : "batches.meta";
}
const char* layout_word(Layout layout) { return layout == Layout::kBinary ? "binary" : "python"; }

std::vector<std::string> batch_names(Layout layout, Split split) {
  const std::string ext = layout == Layout::kBinary ? ".bin" : "";
  if (split == Split::kTest) return {"test_batch" + ext};
  std::vector<std::string> names;
  for (int i = 1; i <= kTrainBatches; ++i) names.push_back("data_batch_" + std::to_string(i) + ext);
  return names;
}

// What a layout folder must hold, for messages.
std::string expected_files(Layout layout) {
  return layout == Layout::kBinary
             ? "data_batch_1.bin .. data_batch_5.bin, test_batch.bin and batches.meta.txt"
             : "data_batch_1 .. data_batch_5, test_batch and batches.meta";
}

const std::string kAcceptedLayouts =
    "expected a cifar-10-batches-bin/ folder (data_batch_1.bin .. data_batch_5.bin, "
    "test_batch.bin, batches.meta.txt), a cifar-10-batches-py/ folder (data_batch_1 .. "
    "data_batch_5, test_batch, batches.meta), or cifar-10-binary.tar.gz / "
    "cifar-10-python.tar.gz";

std::string base_name(const std::string& member) {
  const size_t slash = member.find_last_of('/');
  return slash == std::string::npos ? member : member.substr(slash + 1);
}

std::string list_some(std::vector<std::string> names) {
  if (names.empty()) return "nothing";
  std::sort(names.begin(), names.end());
  constexpr size_t kShown = 8;
  std::string text;
  for (size_t i = 0; i < names.size() && i < kShown; ++i) text += (i ? ", " : "") + names[i];
  if (names.size() > kShown) text += " and " + std::to_string(names.size() - kShown) + " more";
  return text;
}

std::string read_file(const fs::path& path, int64_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw std::runtime_error(path.string() + ": cannot open for reading (check permissions)");
  in.seekg(0, std::ios::end);
  const int64_t size = in.tellg();
  if (size > max_bytes) {
    throw std::runtime_error(path.string() + ": " + std::to_string(size) +
                             " bytes, expected at most " + std::to_string(max_bytes) +
                             " (not a CIFAR-10 file? re-extract the archive or pass --data DIR)");
  }
  std::string bytes(static_cast<size_t>(size), '\0');
  in.seekg(0);
  if (!in.read(bytes.data(), size)) throw std::runtime_error(path.string() + ": read failed");
  return bytes;
}

void parse_batch(Layout layout, const std::string& name, std::string_view bytes, Cifar10& out) {
  if (layout == Layout::kBinary) {
    parse_binary_batch(name, bytes, kCifarBatchRecords, out);
  } else {
    parse_python_batch(name, bytes, kCifarBatchRecords, out);
  }
}

std::vector<std::string> parse_meta(Layout layout, const std::string& name,
                                    std::string_view bytes) {
  return layout == Layout::kBinary ? parse_binary_meta(name, bytes)
                                   : parse_python_meta(name, bytes);
}

bool is_layout_folder(const fs::path& dir, Layout layout) {
  if (dir.filename() == folder_name(layout)) return true;
  if (fs::exists(dir / meta_name(layout))) return true;
  for (Split split : {Split::kTrain, Split::kTest}) {
    for (const auto& name : batch_names(layout, split)) {
      if (fs::exists(dir / name)) return true;
    }
  }
  return false;
}

Cifar10 load_folder(const fs::path& dir, Layout layout, Split split) {
  const auto names = batch_names(layout, split);
  std::vector<std::string> missing;
  for (const auto& name : names) {
    if (!fs::is_regular_file(dir / name)) missing.push_back(name);
  }
  if (!fs::is_regular_file(dir / meta_name(layout))) missing.push_back(meta_name(layout));
  if (!missing.empty()) {
    throw std::runtime_error((dir / missing.front()).string() + ": missing (" +
                             std::to_string(missing.size()) + " missing: " + list_some(missing) +
                             "); expected " + expected_files(layout) + " in " + dir.string() +
                             " (re-extract the archive or pass --data DIR)");
  }
  Cifar10 data;
  data.source = dir.string() + " (" + layout_word(layout) + ")";
  const auto meta_path = dir / meta_name(layout);
  data.class_names = parse_meta(layout, meta_path.string(), read_file(meta_path, kMaxMetaBytes));
  data.images.reserve(names.size() * kCifarBatchRecords * kCifarImageBytes);
  data.labels.reserve(names.size() * kCifarBatchRecords);
  for (const auto& name : names) {
    const auto path = dir / name;
    parse_batch(layout, path.string(), read_file(path, kMaxFileBytes), data);
  }
  return data;
}

Cifar10 load_archive(const fs::path& archive, Split split) {
  // Basename -> layout for every file either layout needs for this split.
  std::map<std::string, Layout> wanted;
  for (Layout layout : {Layout::kBinary, Layout::kPython}) {
    for (const auto& name : batch_names(layout, split)) wanted[name] = layout;
    wanted[meta_name(layout)] = layout;
  }
  auto contents = read_archive(
      archive, [&](const std::string& member) { return wanted.count(base_name(member)) > 0; },
      kMaxFileBytes);
  std::map<std::string, const std::vector<uint8_t>*> by_name;  // first member of each name
  std::optional<Layout> layout;
  for (const auto& [member, bytes] : contents.members) {
    const std::string name = base_name(member);
    by_name.emplace(name, &bytes);
    // The binary layout wins when an archive holds both: it is the cheaper to parse.
    if (!layout || wanted[name] == Layout::kBinary) layout = wanted[name];
  }
  if (!layout) {
    throw std::runtime_error(archive.string() + ": no CIFAR-10 files in the archive; " +
                             kAcceptedLayouts + "; found " + list_some(contents.all_paths) +
                             " (download cifar-10-binary.tar.gz again or pass --data DIR)");
  }
  auto names = batch_names(*layout, split);
  names.push_back(meta_name(*layout));
  for (const auto& name : names) {
    if (by_name.count(name) == 0) {
      throw std::runtime_error(archive.string() + ": " + name + " missing from the archive; " +
                               "expected " + expected_files(*layout) +
                               " (download the archive again or pass --data DIR)");
    }
  }
  const auto view = [](const std::vector<uint8_t>* bytes) {
    return std::string_view(reinterpret_cast<const char*>(bytes->data()), bytes->size());
  };
  Cifar10 data;
  data.source = archive.string() + " (" + layout_word(*layout) + ")";
  const std::string prefix = archive.string() + ": ";
  names.pop_back();
  data.class_names =
      parse_meta(*layout, prefix + meta_name(*layout), view(by_name.at(meta_name(*layout))));
  data.images.reserve(names.size() * kCifarBatchRecords * kCifarImageBytes);
  data.labels.reserve(names.size() * kCifarBatchRecords);
  for (const auto& name : names) parse_batch(*layout, prefix + name, view(by_name.at(name)), data);
  return data;
}

}  // namespace

Cifar10 load_cifar10(const fs::path& path, Split split) {
  if (!fs::exists(path)) {
    throw std::runtime_error(path.string() + ": no such file or folder; " + kAcceptedLayouts +
                             " (pass --data DIR)");
  }
  if (!fs::is_directory(path)) {
    const std::string name = path.filename().string();
    for (Layout layout : {Layout::kBinary, Layout::kPython}) {
      auto names = batch_names(layout, Split::kTrain);
      names.push_back(batch_names(layout, Split::kTest).front());
      names.push_back(meta_name(layout));
      if (std::find(names.begin(), names.end(), name) != names.end()) {
        throw std::runtime_error(path.string() + ": one file of the " + layout_word(layout) +
                                 " layout, expected the folder holding all of them (pass --data " +
                                 path.parent_path().string() + ")");
      }
    }
    return load_archive(path, split);
  }
  for (Layout layout : {Layout::kBinary, Layout::kPython}) {
    if (is_layout_folder(path, layout)) return load_folder(path, layout, split);
  }
  for (Layout layout : {Layout::kBinary, Layout::kPython}) {
    if (fs::is_directory(path / folder_name(layout))) {
      return load_folder(path / folder_name(layout), layout, split);
    }
  }
  for (Layout layout : {Layout::kBinary, Layout::kPython}) {
    if (fs::is_regular_file(path / archive_name(layout))) {
      return load_archive(path / archive_name(layout), split);
    }
  }
  std::vector<std::string> found;
  for (const auto& entry : fs::directory_iterator(path)) {
    found.push_back(entry.path().filename().string() + (entry.is_directory() ? "/" : ""));
  }
  throw std::runtime_error(path.string() + ": no CIFAR-10 data found; " + kAcceptedLayouts +
                           "; found " + list_some(found) +
                           " (pass --data DIR pointing at one of these; googlenet test also "
                           "reads an image folder, FOLDER/<class name>/<image>)");
}

bool is_cifar10_path(const fs::path& path) {
  if (!fs::is_directory(path)) return true;
  for (Layout layout : {Layout::kBinary, Layout::kPython}) {
    if (is_layout_folder(path, layout) || fs::is_directory(path / folder_name(layout)) ||
        fs::is_regular_file(path / archive_name(layout)))
      return true;
  }
  return false;
}

void parse_binary_batch(const std::string& name, std::string_view bytes, int64_t expected_records,
                        Cifar10& out) {
  const int64_t expected = expected_records * kCifarRecordBytes;
  const int64_t size = static_cast<int64_t>(bytes.size());
  if (size != expected) {
    throw std::runtime_error(name + ": " + std::to_string(size) + " bytes, expected " +
                             std::to_string(expected) + " = " + std::to_string(expected_records) +
                             " records x " + std::to_string(kCifarRecordBytes) +
                             (size < expected ? " (file truncated?" : " (not a CIFAR-10 batch?") +
                             " re-extract the archive or pass --data DIR)");
  }
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  for (int64_t r = 0; r < expected_records; ++r) {
    const uint8_t* record = data + r * kCifarRecordBytes;
    if (record[0] >= kCifarClasses) {
      throw std::runtime_error(name + ": record " + std::to_string(r) + " (byte offset " +
                               std::to_string(r * kCifarRecordBytes) + ") has label " +
                               std::to_string(record[0]) +
                               ", expected 0-9 (corrupt file? re-extract the archive or pass "
                               "--data DIR)");
    }
  }
  const size_t first = out.images.size();
  out.images.resize(first + expected_records * kCifarImageBytes);
  for (int64_t r = 0; r < expected_records; ++r) {
    const uint8_t* record = data + r * kCifarRecordBytes;
    out.labels.push_back(record[0]);
    std::copy(record + 1, record + kCifarRecordBytes,
              out.images.begin() + first + r * kCifarImageBytes);
  }
}

std::vector<std::string> parse_binary_meta(const std::string& name, std::string_view bytes) {
  std::vector<std::string> names;
  size_t start = 0;
  int line = 0;
  while (start < bytes.size()) {
    size_t end = bytes.find('\n', start);
    if (end == std::string_view::npos) end = bytes.size();
    std::string_view text = bytes.substr(start, end - start);
    start = end + 1;
    ++line;
    while (!text.empty() && (text.back() == '\r' || text.back() == ' ')) text.remove_suffix(1);
    if (text.empty()) continue;
    for (unsigned char c : text) {
      if (c < 0x20 || c > 0x7e) {
        throw std::runtime_error(name + ": line " + std::to_string(line) +
                                 " holds a non-text byte " + std::to_string(c) +
                                 ", expected one class name per line (re-extract the archive "
                                 "or pass --data DIR)");
      }
    }
    names.emplace_back(text);
  }
  if (static_cast<int64_t>(names.size()) != kCifarClasses) {
    throw std::runtime_error(name + ": " + std::to_string(names.size()) +
                             " class names, expected 10, one per line (re-extract the archive "
                             "or pass --data DIR)");
  }
  return names;
}

}  // namespace googlenet
