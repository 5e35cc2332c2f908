/* weight_bytes.h: a weight's stored bytes, produced a chunk at a time
 * (copied, widened from float16/bfloat16, transposed) and written to files
 * with pwrite by several threads at once.
 *
 *     hfo_write_job jobs[2] = {{w1, fd, 4096}, {w2, fd, 4096 + nbytes1}};
 *     int err = hfo_write_tensors(jobs, 2, 0);     // 0, or an errno value
 *
 * The weights' memory is only read; the caller keeps it valid and the file
 * descriptors open for the call.  Offsets are absolute file positions; the
 * caller lays the file out (headers, alignment holes). */
#ifndef HFO_WEIGHT_BYTES_H
#define HFO_WEIGHT_BYTES_H

#include <stddef.h>
#include <stdint.h>

#include "graph_impl.h"

typedef struct hfo_write_job {
    const value_rec *v;    /* a weight (HFO_VALUE_WEIGHT) */
    int fd;
    uint64_t offset;       /* where its first stored byte goes */
} hfo_write_job;

/* Write every job's bytes using `threads` threads (0: one per online core,
 * at most 8).  Returns 0 or the errno of the first failure (ENOSPC, EIO,
 * ENOMEM ...); on failure some bytes may have been written. */
int hfo_write_tensors(const hfo_write_job *jobs, size_t n, int threads);

#endif
