// Which image files `predict` and `test --data FOLDER` read, with what labels, and decoding
// them a batch at a time so a folder of thousands of photos is never all in memory at once.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace googlenet {

// An image file and its class index (-1 when unlabelled, as in `predict`).
struct ImageFile {
  std::filesystem::path path;
  std::int64_t label = -1;
};

// The files named by `paths`, in argument order. A folder contributes every file below it
// (recursively) whose extension is in image_extensions(), compared case-insensitively, sorted
// by path; hidden files and folders (".name") are skipped. A file named explicitly is kept
// whatever its extension: decoding will say if it is not an image. Throws
// std::runtime_error for a path that does not exist and for a folder with no image files.
std::vector<std::filesystem::path> collect_image_files(
    const std::vector<std::filesystem::path>& paths);

// Index in `classes` of the class a folder called `name` holds: the class's own name or the
// PyTorch tutorial's short one (plane for airplane, car for automobile), case-insensitively;
// -1 when there is none.
std::int64_t class_index(const std::string& name, const std::vector<std::string>& classes);

// The labelled images of an image-folder data set, FOLDER/<class name>/**/<image>, sorted by
// path; class folders are matched with class_index. Only lists, never decodes. Throws
// std::runtime_error when FOLDER is missing or not a folder, a class folder matches no class
// (the message lists the known ones), a class folder has no images, images lie directly in
// FOLDER, or there are no images at all. Other files (README.txt) are ignored.
std::vector<ImageFile> list_image_folder(const std::filesystem::path& folder,
                                         const std::vector<std::string>& classes);

// A file that failed to decode, with load_image's message (which names the file).
struct ImageFailure {
  std::filesystem::path path;
  std::string message;
};

// Decoded images, in the order of the files they came from.
struct ImageBatch {
  std::vector<std::uint8_t> pixels;          // size() x 3 x 32 x 32 uint8 (CIFAR layout)
  std::vector<std::int64_t> labels;          // size() labels, -1 when unlabelled
  std::vector<std::filesystem::path> paths;  // the file each image came from
  std::vector<ImageFailure> failures;        // files skipped, in order; not in the above
  std::size_t size() const { return labels.size(); }
};

// Decodes files[begin, begin + count) (fewer at the end of the list) with load_image. A file
// that fails does not stop the batch: it is reported in `failures`, so the caller can skip it
// or stop (--strict). Loop `for (begin = 0; begin < files.size(); begin += count)` to stream.
ImageBatch decode_images(const std::vector<ImageFile>& files, std::size_t begin, std::size_t count);
// The same for unlabelled files (collect_image_files), labels -1.
ImageBatch decode_images(const std::vector<std::filesystem::path>& files, std::size_t begin,
                         std::size_t count);

// The decoded images of `batch` as a uint8 N x 3 x 32 x 32 tensor (a copy), ready for
// normalize_images (data/augment.h).
torch::Tensor batch_images(const ImageBatch& batch);

}  // namespace googlenet
