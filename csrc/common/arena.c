/* arena.c: bump allocation in blocks that double from 256 bytes to 64 KiB (an
 * arena holding a few bytes, like a one-row tokenizer call's, stays small;
 * a big one needs few blocks).  A request bigger than the next block gets
 * a block of its own.  Under AddressSanitizer the unused part of each block
 * is poisoned, so an overrun of one allocation into the next is caught as
 * it would be between malloc'ed ones. */
#include "arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define BLOCK_FIRST 256
#define BLOCK_MAX (64 * 1024)
#define ALIGN 16

struct hfo_arena_block {
    hfo_arena_block *next;
    size_t used, cap;
    _Alignas(ALIGN) unsigned char data[];
};

void *hfo_arena_alloc_raw(hfo_arena *a, size_t size)
{
    if (size > SIZE_MAX / 2)
        return NULL;
    size_t want = size ? size : 1;
    size = (want + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    hfo_arena_block *b = a->head;
    if (b == NULL || b->cap - b->used < size) {
        size_t next = b == NULL ? BLOCK_FIRST : b->cap < BLOCK_MAX ? 2 * b->cap : BLOCK_MAX;
        size_t cap = size > next ? size : next;
        if (cap > SIZE_MAX - sizeof *b)
            return NULL;
        hfo_arena_block *fresh = malloc(sizeof *fresh + cap);
        if (fresh == NULL)
            return NULL;
        fresh->used = 0;
        fresh->cap = cap;
        POISON(fresh->data, cap);
        /* A block made for one big allocation goes behind the head, which
         * keeps its free tail for the small ones that follow. */
        if (b != NULL && cap == size) {
            fresh->next = b->next;
            b->next = fresh;
        } else {
            fresh->next = b;
            a->head = fresh;
        }
        b = fresh;
    }
    void *p = b->data + b->used;
    b->used += size;
    UNPOISON(p, want);
    return p;
}

void *hfo_arena_alloc(hfo_arena *a, size_t size)
{
    void *p = hfo_arena_alloc_raw(a, size);
    if (p != NULL)
        memset(p, 0, size);
    return p;
}

void *hfo_arena_memdup(hfo_arena *a, const void *src, size_t n)
{
    void *p = hfo_arena_alloc(a, n);
    if (p != NULL && n > 0)
        memcpy(p, src, n);
    return p;
}

char *hfo_arena_strdup(hfo_arena *a, const char *s)
{
    return hfo_arena_memdup(a, s, strlen(s) + 1);
}

char *hfo_arena_printf(hfo_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *p = hfo_arena_alloc(a, (size_t)n + 1);
    if (p == NULL)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void hfo_arena_adopt(hfo_arena *dst, hfo_arena *src)
{
    hfo_arena_block *last = src->head;
    if (last == NULL)
        return;
    while (last->next != NULL)
        last = last->next;
    last->next = dst->head;
    dst->head = src->head;
    src->head = NULL;
}

void hfo_arena_free(hfo_arena *a)
{
    hfo_arena_block *b = a->head;
    while (b != NULL) {
        hfo_arena_block *next = b->next;
        UNPOISON(b->data, b->cap);
        free(b);
        b = next;
    }
    a->head = NULL;
}
