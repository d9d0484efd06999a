// libarchive wrapper: one sequential pass, wanted members copied into memory.
#include "googlenet/io/archive.h"

#include <archive.h>
#include <archive_entry.h>

#include <memory>
#include <stdexcept>

namespace googlenet {

namespace {

using ArchivePtr = std::unique_ptr<struct archive, decltype(&archive_read_free)>;

std::string archive_message(struct archive* a) {
  const char* message = archive_error_string(a);
  return message != nullptr ? message : "unknown libarchive error";
}

[[noreturn]] void throw_corrupt(const std::filesystem::path& path, const std::string& what) {
  throw std::runtime_error(path.string() + ": corrupt or truncated archive (" + what +
                           "); expected a complete .tar/.tar.gz (download it again)");
}

}  // namespace

ArchiveContents read_archive(const std::filesystem::path& path,
                             const std::function<bool(const std::string&)>& want,
                             int64_t max_member_bytes) {
  if (!std::filesystem::is_regular_file(path)) {
    throw std::runtime_error(path.string() + ": no such archive (pass the path of an existing " +
                             ".tar.gz)");
  }
  ArchivePtr a(archive_read_new(), &archive_read_free);
  if (!a) throw std::runtime_error("libarchive: out of memory");
  archive_read_support_filter_all(a.get());
  archive_read_support_format_all(a.get());
  constexpr size_t kBlockBytes = 1 << 20;
  if (archive_read_open_filename(a.get(), path.c_str(), kBlockBytes) != ARCHIVE_OK) {
    throw_corrupt(path, archive_message(a.get()));
  }
  ArchiveContents contents;
  struct archive_entry* entry = nullptr;
  while (true) {
    const int status = archive_read_next_header(a.get(), &entry);
    if (status == ARCHIVE_EOF) break;
    // ARCHIVE_WARN is tolerated (e.g. unknown pax keywords); anything worse is fatal.
    if (status < ARCHIVE_WARN) throw_corrupt(path, archive_message(a.get()));
    if (archive_entry_filetype(entry) != AE_IFREG) continue;
    const char* name = archive_entry_pathname(entry);
    const std::string member = name != nullptr ? name : "";
    contents.all_paths.push_back(member);
    if (!want(member)) continue;
    if (archive_entry_size_is_set(entry) && archive_entry_size(entry) > max_member_bytes) {
      throw std::runtime_error(path.string() + ": member " + member + " is " +
                               std::to_string(archive_entry_size(entry)) +
                               " bytes, expected at most " + std::to_string(max_member_bytes) +
                               " (not a CIFAR-10 archive? download it again)");
    }
    std::vector<uint8_t> data;
    if (archive_entry_size_is_set(entry)) data.reserve(archive_entry_size(entry));
    uint8_t buffer[1 << 16];
    while (true) {
      const la_ssize_t n = archive_read_data(a.get(), buffer, sizeof(buffer));
      if (n < 0) throw_corrupt(path, member + ": " + archive_message(a.get()));
      if (n == 0) break;
      if (static_cast<int64_t>(data.size()) + n > max_member_bytes) {
        throw std::runtime_error(path.string() + ": member " + member + " is larger than " +
                                 std::to_string(max_member_bytes) +
                                 " bytes (not a CIFAR-10 archive? download it again)");
      }
      data.insert(data.end(), buffer, buffer + n);
    }
    contents.members.emplace(member, std::move(data));
  }
  return contents;
}

}  // namespace googlenet
