// Listing image files and image-folder data sets (FOLDER/<class>/<image>), and decoding them
// in batches with per-file failures kept apart from the images.
#include "googlenet/data/image_folder.h"

#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <utility>

#include "googlenet/data/image.h"

namespace googlenet {

namespace fs = std::filesystem;

namespace {

// The PyTorch CIFAR-10 tutorial's short class names, accepted as folder names.
const std::pair<const char*, const char*> kShortNames[] = {{"plane", "airplane"},
                                                           {"car", "automobile"}};

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// Lower case with short names expanded, so "Plane", "plane" and "airplane" compare equal.
std::string canonical(const std::string& name) {
  const std::string text = lower(name);
  for (const auto& [short_name, long_name] : kShortNames)
    if (text == short_name) return long_name;
  return text;
}

bool is_hidden(const fs::path& path) {
  const std::string name = path.filename().string();
  return !name.empty() && name[0] == '.';
}

bool has_image_extension(const fs::path& path) {
  const auto& extensions = image_extensions();
  return std::find(extensions.begin(), extensions.end(), lower(path.extension().string())) !=
         extensions.end();
}

std::string extension_list() {
  std::string list;
  for (const auto& extension : image_extensions()) list += (list.empty() ? "" : " ") + extension;
  return list;
}

// Image files anywhere below `folder`, hidden entries skipped, sorted by path.
std::vector<fs::path> images_below(const fs::path& folder) {
  std::vector<fs::path> found;
  std::error_code error, ignored;
  fs::recursive_directory_iterator it(folder, error);
  for (; !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (is_hidden(it->path())) {
      if (it->is_directory(ignored)) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(ignored) && has_image_extension(it->path()))
      found.push_back(it->path());
  }
  if (error)
    throw std::runtime_error(folder.string() + ": cannot list the folder or one below it: " +
                             error.message() + " (check the permissions)");
  std::sort(found.begin(), found.end());
  return found;
}

// "airplane (or plane), automobile (or car), bird, ..." for error messages.
std::string describe_classes(const std::vector<std::string>& classes) {
  std::string text;
  for (const auto& name : classes) {
    text += (text.empty() ? "" : ", ") + name;
    for (const auto& [short_name, long_name] : kShortNames)
      if (canonical(name) == long_name) text += std::string(" (or ") + short_name + ")";
  }
  return text;
}

}  // namespace

std::vector<fs::path> collect_image_files(const std::vector<fs::path>& paths) {
  std::vector<fs::path> files;
  for (const auto& path : paths) {
    std::error_code error;
    const fs::file_status status = fs::status(path, error);
    if (!fs::exists(status))
      throw std::runtime_error(path.string() +
                               ": no such file or folder (check the path and its spelling)");
    if (!fs::is_directory(status)) {
      files.push_back(path);
      continue;
    }
    const std::vector<fs::path> found = images_below(path);
    if (found.empty())
      throw std::runtime_error(path.string() + ": no image files in this folder or below it " +
                               "(looked for " + extension_list() + ", any case)");
    files.insert(files.end(), found.begin(), found.end());
  }
  return files;
}

std::int64_t class_index(const std::string& name, const std::vector<std::string>& classes) {
  const std::string wanted = canonical(name);
  for (std::size_t i = 0; i < classes.size(); ++i)
    if (canonical(classes[i]) == wanted) return static_cast<std::int64_t>(i);
  return -1;
}

std::vector<ImageFile> list_image_folder(const fs::path& folder,
                                         const std::vector<std::string>& classes) {
  const std::string layout =
      " (expected FOLDER/<class>/<image>, one folder per class: " + describe_classes(classes) + ")";
  std::error_code error;
  const fs::file_status status = fs::status(folder, error);
  if (!fs::exists(status)) throw std::runtime_error(folder.string() + ": no such folder" + layout);
  if (!fs::is_directory(status))
    throw std::runtime_error(folder.string() + ": not a folder" + layout);

  std::vector<fs::directory_entry> entries;
  for (fs::directory_iterator it(folder, error), end; !error && it != end; it.increment(error))
    if (!is_hidden(it->path())) entries.push_back(*it);
  if (error)
    throw std::runtime_error(folder.string() + ": cannot list: " + error.message() +
                             " (check the permissions)");
  std::sort(entries.begin(), entries.end());

  std::vector<ImageFile> files;
  for (const auto& entry : entries) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_directory(error)) {
      if (has_image_extension(entry.path()))
        throw std::runtime_error(entry.path().string() +
                                 ": an image directly in the data folder has no class; move it "
                                 "into the folder of its class" +
                                 layout);
      continue;  // README.txt and the like
    }
    const std::int64_t label = class_index(name, classes);
    if (label < 0)
      throw std::runtime_error(entry.path().string() + ": class folder \"" + name +
                               "\" is not one of the model's " + std::to_string(classes.size()) +
                               " classes: " + describe_classes(classes) +
                               " (rename the folder, or move it out of the data folder)");
    const std::vector<fs::path> images = images_below(entry.path());
    if (images.empty())
      throw std::runtime_error(entry.path().string() + ": class folder with no image files " +
                               "(looked for " + extension_list() +
                               ", any case); add its images or remove the folder");
    for (const auto& image : images) files.push_back({image, label});
  }
  if (files.empty())
    throw std::runtime_error(folder.string() + ": no class folders, so no images" + layout);
  return files;
}

ImageBatch decode_images(const std::vector<ImageFile>& files, std::size_t begin,
                         std::size_t count) {
  const std::size_t end = std::min(files.size(), begin + std::min(count, files.size()));
  ImageBatch batch;
  batch.pixels.reserve((end > begin ? end - begin : 0) * kImageBytes);
  for (std::size_t i = begin; i < end; ++i) {
    try {
      const ImagePixels image = load_image(files[i].path);
      batch.pixels.insert(batch.pixels.end(), image.begin(), image.end());
      batch.labels.push_back(files[i].label);
      batch.paths.push_back(files[i].path);
    } catch (const std::exception& e) {
      batch.failures.push_back({files[i].path, e.what()});
    }
  }
  return batch;
}

ImageBatch decode_images(const std::vector<fs::path>& files, std::size_t begin, std::size_t count) {
  std::vector<ImageFile> slice;
  for (std::size_t i = begin; i < files.size() && i - begin < count; ++i)
    slice.push_back({files[i], -1});
  return decode_images(slice, 0, slice.size());
}

torch::Tensor batch_images(const ImageBatch& batch) {
  const auto n = static_cast<int64_t>(batch.size());
  TORCH_CHECK(batch.pixels.size() == batch.size() * kImageBytes,
              "batch_images: ", batch.pixels.size(), " pixel bytes for ", n, " images");
  return torch::from_blob(const_cast<std::uint8_t*>(batch.pixels.data()),
                          {n, 3, kImageSide, kImageSide}, torch::kUInt8)
      .clone();
}

}  // namespace googlenet
