// Reads chosen members of a tar archive (.tar, .tar.gz, ...) straight into memory
// with libarchive, without extracting anything to disk. Free of LibTorch.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace googlenet {

struct ArchiveContents {
  // Wanted members by their path inside the archive (e.g. "cifar-10-batches-bin/test_batch.bin").
  std::map<std::string, std::vector<uint8_t>> members;
  std::vector<std::string> all_paths;  // every regular file in the archive, in archive order
};

// One pass over `archive`: `want(member_path)` decides which regular files are read;
// a wanted member larger than `max_member_bytes` is refused before it is read.
// Throws std::runtime_error naming the archive on a missing, corrupt or truncated file.
ArchiveContents read_archive(const std::filesystem::path& archive,
                             const std::function<bool(const std::string&)>& want,
                             int64_t max_member_bytes);

}  // namespace googlenet
