// The C library's allocator settings the CPU backend's buffer pool relies on
// (glibc's mallopt is not visible from Swift).
#include "cpu_kernels.h"

#include <malloc.h>

void sdgen_fix_mmap_threshold(size_t bytes) {
#ifdef M_MMAP_THRESHOLD
    mallopt(M_MMAP_THRESHOLD, (int)bytes);
#else
    (void)bytes;
#endif
}
