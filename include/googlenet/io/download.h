// Downloading CIFAR-10 over HTTPS with libcurl: progress, resume of a partial
// `<name>.part` with an HTTP Range request, and an MD5 check before the file gets
// its final name, so a corrupt or partial file never sits under that name.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace googlenet {

inline constexpr char kCifar10BinaryUrl[] =
    "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz";
inline constexpr char kCifar10BinaryMd5[] = "c32a1d4ab5d03f1284b67883e8d87530";

// Called as bytes arrive: bytes of the file so far (a resumed part included) and
// the file's total size, or -1 while the server has not said.
using DownloadProgress = std::function<void(int64_t received, int64_t total)>;

// Lower-case hex MD5 of a file's contents (nettle).
std::string md5_file(const std::filesystem::path& path);
std::string md5_hex(const std::string& bytes);

// Downloads `url` to `destination` via `destination.part`: resumes an existing part,
// verifies `expected_md5` (hex, any case) and only then renames. A destination that
// already has the expected MD5 is kept without any network access. Throws
// std::runtime_error on HTTP errors (404 ...), a cut connection (the part is kept
// for the next try) or a checksum mismatch (naming both sums; the part is deleted).
void download_file(const std::string& url, const std::filesystem::path& destination,
                   const std::string& expected_md5, const DownloadProgress& progress = {});

// download_file into `dir` (created if needed) under the URL's file name, e.g.
// dir/cifar-10-binary.tar.gz, which load_cifar10(dir, ...) reads as it is.
// Returns the downloaded file's path; throws UsageError (util/errors.h) for a URL that
// ends in no file name.
std::filesystem::path download_cifar10(const std::filesystem::path& dir,
                                       const std::string& url = kCifar10BinaryUrl,
                                       const std::string& expected_md5 = kCifar10BinaryMd5,
                                       const DownloadProgress& progress = {});

}  // namespace googlenet
