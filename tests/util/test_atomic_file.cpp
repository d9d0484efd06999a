// The atomic file writer every output goes through: whole replacement, permissions kept,
// errors that name the file, and no temporary left behind either way.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "googlenet/util/atomic_file.h"
#include "test_util.h"

namespace googlenet {
namespace {

using testing::Contains;
using testing::error_of;
using testing::read_bytes;
using testing::TempDir;

std::ptrdiff_t entries(const std::filesystem::path& dir) {
  return std::distance(std::filesystem::directory_iterator(dir), {});
}

TEST(AtomicFile, ReplacesWholeFileAndReportsMissingFolder) {
  TempDir dir;
  googlenet::write_file_atomic(dir / "a.txt", "first version, longer");
  googlenet::write_file_atomic(dir / "a.txt", "second");
  EXPECT_EQ(read_bytes(dir / "a.txt"), "second");
  EXPECT_NE(error_of([&] {
              googlenet::write_file_atomic(dir / "no/such/a.txt", "x");
            }).find("cannot write (does the folder exist? disk full?)"),
            std::string::npos);
}

TEST(AtomicFile, UncommittedLeavesThePreviousFileAndNoTemporary) {
  TempDir dir;
  write_file_atomic(dir / "a.txt", "kept");
  {
    AtomicFile file(dir / "a.txt");
    file.write("never committed");
  }
  EXPECT_EQ(read_bytes(dir / "a.txt"), "kept");
  EXPECT_EQ(entries(dir.path()), 1);
}

TEST(AtomicFile, NewFilesFollowTheUmaskReplacedFilesKeepTheirPermissions) {
  TempDir dir;
  write_file_atomic(dir / "new.txt", "x");
  struct stat info {};
  ASSERT_EQ(::stat((dir / "new.txt").c_str(), &info), 0);
  { std::ofstream(dir / "plain.txt") << "x"; }  // what the umask gives a new file
  struct stat plain {};
  ASSERT_EQ(::stat((dir / "plain.txt").c_str(), &plain), 0);
  EXPECT_EQ(info.st_mode & 0777, plain.st_mode & 0777);
  ASSERT_EQ(::chmod((dir / "new.txt").c_str(), 0600), 0);
  write_file_atomic(dir / "new.txt", "y");
  ASSERT_EQ(::stat((dir / "new.txt").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
}

TEST(AtomicFile, FailedRenameNamesTheFileAndLeavesNoTemporary) {
  TempDir dir;
  std::filesystem::create_directories(dir / "folder" / "inside");  // a non-empty folder
  const std::string error = error_of([&] { write_file_atomic(dir / "folder", "x"); });
  EXPECT_TRUE(Contains(error, (dir / "folder").string() + ": cannot rename into place ("));
  EXPECT_TRUE(Contains(error, "any previous file is unchanged"));
  EXPECT_TRUE(std::filesystem::is_directory(dir / "folder" / "inside"));
  EXPECT_EQ(entries(dir.path()), 1);
}

}  // namespace
}  // namespace googlenet
