/* arena.c: bump allocation in blocks of at least 64 KiB. */
#include "arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_MIN (64 * 1024)
#define ALIGN 16

struct hfo_arena_block {
    hfo_arena_block *next;
    size_t used, cap;
    _Alignas(ALIGN) unsigned char data[];
};

void *hfo_arena_alloc(hfo_arena *a, size_t size)
{
    size = (size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (size == 0)
        size = ALIGN;
    hfo_arena_block *b = a->head;
    if (b == NULL || b->cap - b->used < size) {
        size_t cap = size > BLOCK_MIN ? size : BLOCK_MIN;
        if (cap > SIZE_MAX - sizeof *b)
            return NULL;
        b = malloc(sizeof *b + cap);
        if (b == NULL)
            return NULL;
        b->used = 0;
        b->cap = cap;
        b->next = a->head;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += size;
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

void hfo_arena_free(hfo_arena *a)
{
    hfo_arena_block *b = a->head;
    while (b != NULL) {
        hfo_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
}
