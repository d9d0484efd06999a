// The temporary file is hidden (".name.tmp-XXXXXX") in the target's own folder, so the
// rename stays within one file system and is atomic.
#include "googlenet/util/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace googlenet {

namespace fs = std::filesystem;

namespace {

// What open(path, O_CREAT, 0666) would give a new file: mkstemp makes the temporary 0600
// whatever the umask, so a new target takes 0666 minus the process's umask, read once
// (umask can only be read by setting it; this happens before any file is committed).
mode_t new_file_mode() {
  static const mode_t mode = [] {
    const mode_t mask = ::umask(0);
    ::umask(mask);
    return static_cast<mode_t>(0666 & ~mask);
  }();
  return mode;
}

}  // namespace

AtomicFile::AtomicFile(const fs::path& target) : target_(target.string()) {
  const fs::path dir = fs::absolute(target).parent_path();
  temp_ = (dir / ("." + target.filename().string() + ".tmp-XXXXXX")).string();
  fd_ = ::mkstemp(temp_.data());
  if (fd_ < 0) {
    const int error = errno;
    throw std::runtime_error(target_ + ": cannot create a temporary file in " + dir.string() +
                             " (" + std::strerror(error) +
                             "): cannot write (does the folder exist? disk full?)");
  }
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_.c_str());
}

void AtomicFile::write(const void* data, std::size_t size) {
  const char* p = static_cast<const char*>(data);
  for (std::size_t left = size; left > 0 && error_ == 0;) {
    const ssize_t done = ::write(fd_, p, left);
    if (done < 0 && errno == EINTR) continue;
    if (done <= 0) {
      error_ = done < 0 ? errno : ENOSPC;
      break;
    }
    p += done;
    left -= static_cast<std::size_t>(done);
  }
}

void AtomicFile::commit() {
  if (fd_ < 0 || committed_) throw std::logic_error(target_ + ": AtomicFile committed twice");
  if (error_ != 0) fail("write failed", error_);
  struct stat old {};
  const mode_t mode = ::stat(target_.c_str(), &old) == 0 ? old.st_mode & 07777 : new_file_mode();
  if (::fchmod(fd_, mode) != 0 || ::fsync(fd_) != 0) fail("cannot flush to disk", errno);
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail("cannot close", errno);
  if (std::rename(temp_.c_str(), target_.c_str()) != 0) fail("cannot rename into place", errno);
  committed_ = true;
  // Persist the rename itself; a failure here no longer risks the data.
  const int dir = ::open(fs::absolute(target_).parent_path().c_str(), O_RDONLY | O_DIRECTORY);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

void AtomicFile::fail(const std::string& what, int error) const {
  throw std::runtime_error(target_ + ": " + what + " (" + std::strerror(error) +
                           "); nothing was written there, any previous file is unchanged");
}

void write_file_atomic(const fs::path& path, std::string_view content) {
  AtomicFile file(path);
  file.write(content);
  file.commit();
}

}  // namespace googlenet
