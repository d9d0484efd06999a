#include "googlenet/util/malloc.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <cstdlib>
#include <mutex>

namespace googlenet {

namespace {
std::mutex malloc_mutex;
std::string malloc_state = "glibc defaults";
}  // namespace

std::string tune_malloc() {
  std::lock_guard<std::mutex> lock(malloc_mutex);
#if defined(__GLIBC__)
  constexpr int kMmapThreshold = 32 << 20;  // glibc's maximum (HEAP_MAX_SIZE / 2)
  constexpr int kTrimThreshold = 1 << 30;
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  const char* choice = std::getenv("GOOGLENET_MALLOC");
  if (tunables != nullptr && std::string(tunables).find("glibc.malloc.") != std::string::npos) {
    malloc_state = std::string("GLIBC_TUNABLES=") + tunables;
  } else if (choice != nullptr && std::string(choice) == "system") {
    malloc_state = "glibc defaults (GOOGLENET_MALLOC=system)";
  } else if (mallopt(M_MMAP_THRESHOLD, kMmapThreshold) == 1 &&
             mallopt(M_TRIM_THRESHOLD, kTrimThreshold) == 1) {
    malloc_state = "glibc, freed memory kept: mmap threshold 32 MiB, trim threshold 1 GiB";
  } else {
    malloc_state = "glibc defaults (mallopt refused the thresholds)";
  }
#else
  malloc_state = "the C library's defaults (not glibc: not tuned)";
#endif
  return malloc_state;
}

std::string malloc_setting() {
  std::lock_guard<std::mutex> lock(malloc_mutex);
  return malloc_state;
}

}  // namespace googlenet
