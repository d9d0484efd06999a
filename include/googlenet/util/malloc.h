// The process's allocator settings: glibc's malloc told to keep freed memory, which a
// training step re-allocates at once.
#pragma once

#include <string>

namespace googlenet {

// Keeps freed memory in the process instead of handing it back to the kernel (glibc).
// A training step frees and re-allocates the same hundreds of MiB of activations; with
// glibc's defaults (blocks over 128 KiB are mmap'ed, the heap top trimmed above 128 KiB)
// every step page-faults them in afresh, and the kernel zeroes each page: 14% of a
// step in the page-fault handler, 1.8x training img/s at one thread once kept (see
// docs/performance.md). Sets the mmap threshold to 32 MiB (glibc's largest) and the trim
// threshold to 1 GiB. Leaves glibc alone when GLIBC_TUNABLES sets glibc.malloc.* or
// GOOGLENET_MALLOC=system. Returns what is in effect, for reports.
std::string tune_malloc();
// What the last tune_malloc() left in effect ("glibc defaults" before any call).
std::string malloc_setting();

}  // namespace googlenet
