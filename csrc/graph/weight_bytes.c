/* weight_bytes.c: see weight_bytes.h.
 *
 * Each tensor is cut into chunks of about 1 MiB of stored bytes (whole output
 * rows when transposing); the chunks of all jobs form one work list that the
 * threads take from with an atomic counter, so a single large tensor is
 * shared between cores too.  A chunk that needs no change is written straight
 * from the weight's memory. */
#include "weight_bytes.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK_BYTES ((size_t)1 << 20)
#define DIRECT_CHUNK_BYTES ((size_t)8 << 20)   /* unchanged bytes: fewer, larger writes */
#define TILE 32

static float f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (man << 13);            /* inf, nan */
    } else if (exp != 0) {
        bits = sign | ((exp + 112) << 23) | (man << 13);     /* normal */
    } else if (man == 0) {
        bits = sign;                                          /* zero */
    } else {                                                  /* subnormal: renormalize */
        exp = 113;
        while (!(man & 0x400)) {
            man <<= 1;
            exp--;
        }
        bits = sign | (exp << 23) | ((man & 0x3ff) << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static float bf16_to_f32(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* element `i` of `src` (stored as `dt`: float16, bfloat16 or float) as float */
static inline float load_as_f32(const void *src, hfo_dtype dt, size_t i)
{
    uint16_t h;
    switch (dt) {
    case HFO_FLOAT16:
        memcpy(&h, (const uint8_t *)src + 2 * i, 2);
        return f16_to_f32(h);
    case HFO_BFLOAT16:
        memcpy(&h, (const uint8_t *)src + 2 * i, 2);
        return bf16_to_f32(h);
    default: {
        float f;
        memcpy(&f, (const uint8_t *)src + 4 * i, 4);
        return f;
    }
    }
}

/* How a weight is cut: `unit` stored bytes per row of chunking (an element,
 * or an output row when transposing), `per` units per chunk. */
typedef struct cut {
    size_t unit, per, units;
} cut;

static cut cut_of(const value_rec *v)
{
    size_t es = hfo_dtype_size(v->pub.dtype);
    int convert = v->src_dtype != v->pub.dtype;
    cut c = {.unit = es, .units = hfo_value_nelems(v)};
    if (v->xform == HFO_XFORM_TRANSPOSE) {          /* stored [c, r]: whole rows of r */
        c.unit = (size_t)v->pub.dims[1].size * es;
        c.units = (size_t)v->pub.dims[0].size;
    }
    size_t budget = v->xform == HFO_XFORM_NONE && !convert ? DIRECT_CHUNK_BYTES : CHUNK_BYTES;
    c.per = c.unit ? budget / c.unit : 1;
    if (c.per == 0)
        c.per = 1;
    return c;
}

static size_t n_chunks(const value_rec *v)
{
    cut c = cut_of(v);
    return c.units == 0 || c.unit == 0 ? 0 : (c.units + c.per - 1) / c.per;
}

/* Stored bytes [at, at + *len) of chunk k: in buf, or straight from the weight. */
static const void *chunk(const value_rec *v, size_t k, uint8_t *buf, size_t *len, uint64_t *at)
{
    cut c = cut_of(v);
    size_t u0 = k * c.per, u1 = u0 + c.per < c.units ? u0 + c.per : c.units;
    *at = (uint64_t)u0 * c.unit;
    *len = (u1 - u0) * c.unit;
    size_t es = hfo_dtype_size(v->pub.dtype);
    int convert = v->src_dtype != v->pub.dtype;   /* to float; checked when the weight was added */
    if (v->xform == HFO_XFORM_NONE) {
        if (!convert)
            return (const uint8_t *)v->data + *at;
        float *out = (float *)buf;
        for (size_t i = u0; i < u1; i++)
            out[i - u0] = load_as_f32(v->data, v->src_dtype, i);
        return buf;
    }
    /* transpose: stored [cols, r] from memory [r, cols]; out[j][i] = src[i][j],
     * in TILE x TILE blocks so the strided side stays in cache */
    size_t cols = (size_t)v->pub.dims[0].size, r = (size_t)v->pub.dims[1].size, j0 = u0, j1 = u1;
#define FOR_TILES(body)                                                                  \
    for (size_t jb = j0; jb < j1; jb += TILE)                                            \
        for (size_t ib = 0; ib < r; ib += TILE) {                                        \
            size_t je = jb + TILE < j1 ? jb + TILE : j1, ie = ib + TILE < r ? ib + TILE : r; \
            for (size_t j = jb; j < je; j++)                                             \
                for (size_t i = ib; i < ie; i++)                                         \
                    body;                                                                \
        }
    if (convert) {
        float *out = (float *)buf;
        FOR_TILES(out[(j - j0) * r + i] = load_as_f32(v->data, v->src_dtype, i * cols + j))
    } else if (es == 4) {
        const uint32_t *src = v->data;
        uint32_t *out = (uint32_t *)buf;
        FOR_TILES(out[(j - j0) * r + i] = src[i * cols + j])
    } else {
        const uint8_t *src = v->data;
        FOR_TILES(memcpy(buf + ((j - j0) * r + i) * es, src + (i * cols + j) * es, es))
    }
#undef FOR_TILES
    return buf;
}

static int pwrite_all(int fd, const uint8_t *p, size_t len, uint64_t off)
{
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, (off_t)off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        if (n == 0)
            return EIO;
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

typedef struct work {
    const hfo_write_job *jobs;
    size_t n_jobs;
    size_t *first;          /* first[j]: index of job j's first chunk in the list */
    size_t total;           /* chunks in all */
    size_t buf_size;        /* largest chunk that needs a buffer */
    atomic_size_t next;
    atomic_int error;
} work;

static void *worker(void *arg)
{
    work *w = arg;
    uint8_t *buf = malloc(w->buf_size ? w->buf_size : 1);
    if (buf == NULL) {
        int none = 0;
        atomic_compare_exchange_strong(&w->error, &none, ENOMEM);
        return NULL;
    }
    size_t job = 0;
    for (;;) {
        size_t k = atomic_fetch_add(&w->next, 1);
        if (k >= w->total || atomic_load(&w->error) != 0)
            break;
        while (job + 1 < w->n_jobs && w->first[job + 1] <= k)   /* each thread's k only grows */
            job++;
        const hfo_write_job *j = &w->jobs[job];
        size_t len;
        uint64_t at;
        const void *bytes = chunk(j->v, k - w->first[job], buf, &len, &at);
        int err = pwrite_all(j->fd, bytes, len, j->offset + at);
        if (err != 0) {
            int none = 0;
            atomic_compare_exchange_strong(&w->error, &none, err);
            break;
        }
    }
    free(buf);
    return NULL;
}

int hfo_write_tensors(const hfo_write_job *jobs, size_t n, int threads)
{
    if (n == 0)
        return 0;
    work w = {.jobs = jobs, .n_jobs = n};
    atomic_init(&w.next, 0);
    atomic_init(&w.error, 0);
    w.first = malloc((n + 1) * sizeof *w.first);
    if (w.first == NULL)
        return ENOMEM;
    for (size_t i = 0; i < n; i++) {
        w.first[i] = w.total;
        w.total += n_chunks(jobs[i].v);
        cut c = cut_of(jobs[i].v);
        size_t need = c.per * c.unit;
        if ((jobs[i].v->xform != HFO_XFORM_NONE || jobs[i].v->src_dtype != jobs[i].v->pub.dtype)
            && need > w.buf_size)
            w.buf_size = need;
    }
    w.first[n] = w.total;
    if (threads <= 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cores > 0 ? (int)cores : 1;
    }
    if (threads > 8)
        threads = 8;
    if ((size_t)threads > w.total)
        threads = w.total ? (int)w.total : 1;
    pthread_t tids[8];
    int started = 0;
    for (int t = 1; t < threads; t++) {   /* this thread is the first worker */
        if (pthread_create(&tids[started], NULL, worker, &w) != 0)
            break;
        started++;
    }
    worker(&w);
    for (int t = 0; t < started; t++)
        pthread_join(tids[t], NULL);
    free(w.first);
    return atomic_load(&w.error);
}
