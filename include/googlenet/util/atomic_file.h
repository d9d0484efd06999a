// Writing a file so that a reader (or a crash) sees the previous content or the new, never
// half of it: every output of the program (checkpoints, weights, reports, config.json) goes
// through here.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace googlenet {

// A temporary file beside `target` that becomes `target` on commit(): written, flushed to
// disk (fsync), renamed over `target`, and the rename flushed (fsync of the folder). Until
// then `target` is untouched; a destroyed, uncommitted AtomicFile removes its temporary.
// Errors throw std::runtime_error naming `target`, what failed and why.
class AtomicFile {
 public:
  // Creates the temporary file; throws when the folder is missing or not writable.
  explicit AtomicFile(const std::filesystem::path& target);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // Appends `size` bytes. Never throws (a writer callback may not): the first error is
  // kept and reported by commit().
  void write(const void* data, std::size_t size);
  void write(std::string_view text) { write(text.data(), text.size()); }

  // Replaces `target` with what was written. The file keeps `target`'s permissions where
  // it existed; a new one gets what the umask leaves of 0666, as a plain open() would.
  void commit();

 private:
  [[noreturn]] void fail(const std::string& what, int error) const;

  std::string target_, temp_;
  int fd_ = -1;
  int error_ = 0;  // errno of the first failed write
  bool committed_ = false;
};

// `content` as the whole of `path`, atomically (AtomicFile).
void write_file_atomic(const std::filesystem::path& path, std::string_view content);

}  // namespace googlenet
