// glibc's malloc told to keep freed memory (tune_malloc).
#include <gtest/gtest.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <cstdlib>
#include <cstring>
#include <string>

#include "googlenet/util/malloc.h"

namespace googlenet {
namespace {

#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
// The point of tune_malloc: a freed 8 MiB block (above glibc's default mmap threshold)
// stays in the process's free lists for the next step instead of going back to the
// kernel, and the next allocation of that size page-faults nothing.
TEST(Malloc, TunedMallocKeepsFreedActivations) {
  if (std::getenv("GLIBC_TUNABLES") != nullptr || std::getenv("GOOGLENET_MALLOC") != nullptr) {
    GTEST_SKIP() << "malloc settings come from the environment";
  }
  EXPECT_EQ(malloc_setting(), "glibc defaults");
  EXPECT_NE(tune_malloc().find("freed memory kept"), std::string::npos);
  EXPECT_EQ(malloc_setting(), tune_malloc());
  constexpr size_t kBlock = 8 << 20;
  const size_t held_before = mallinfo2().fordblks;
  const size_t mapped_before = mallinfo2().hblks;
  void* block = std::malloc(kBlock);
  ASSERT_NE(block, nullptr);
  std::memset(block, 1, kBlock);
  EXPECT_EQ(mallinfo2().hblks, mapped_before) << "the block was mmap'ed";
  std::free(block);
  EXPECT_GE(mallinfo2().fordblks, held_before + kBlock) << "the block went back to the kernel";
}
#endif

}  // namespace
}  // namespace googlenet
