// How the process allocates host memory.
//
// LibTorch's CPU tensors come from malloc. glibc serves blocks above its
// mmap threshold (128 KiB, rising to at most 32 MiB as blocks are freed) with
// fresh mmap()s and returns freed memory at the top of the heap to the
// kernel past 128 KiB, so a training or generation step that allocates the
// same activations as the step before faults in every page again. On the
// 2-core VM this doubled the time of a preference-training step (perf/RESULTS.md).
#pragma once

namespace rso {

// Keeps freed host memory for reuse: blocks up to 32 MiB from the heap, and
// up to 1 GiB of freed heap kept. Leaves glibc alone when the user set
// MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_ or GLIBC_TUNABLES, and off
// glibc. Returns whether it changed anything.
bool keep_freed_host_memory();

}  // namespace rso
