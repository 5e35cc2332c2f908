/* arena.h: a bump allocator; everything allocated from it is freed at once.
 *
 *     hfo_arena a = {0};
 *     char *name = hfo_arena_strdup(&a, "input_ids");
 *     hfo_arena_free(&a);          // name is gone too
 *
 * Allocations are 16-byte aligned and zeroed (hfo_arena_alloc_raw: not
 * zeroed).  NULL only when out of memory.  The graph builder keeps a model's
 * names and small arrays in one; the tokenizer keeps the encodings of a batch
 * in one per worker thread and gathers them with hfo_arena_adopt.  An arena
 * is not locked: one thread at a time.
 */
#ifndef HFO_ARENA_H
#define HFO_ARENA_H

#include <stddef.h>

typedef struct hfo_arena_block hfo_arena_block;
typedef struct hfo_arena {
    hfo_arena_block *head;
} hfo_arena;

/* Zeroed memory of `size` bytes, valid until hfo_arena_free. */
void *hfo_arena_alloc(hfo_arena *a, size_t size);
/* The same, not zeroed. */
void *hfo_arena_alloc_raw(hfo_arena *a, size_t size);
/* A copy of `n` bytes of `src` (NULL src with n == 0 gives a valid pointer). */
void *hfo_arena_memdup(hfo_arena *a, const void *src, size_t n);
/* A copy of the NUL-terminated string `s`. */
char *hfo_arena_strdup(hfo_arena *a, const char *s);
/* printf into the arena. */
char *hfo_arena_printf(hfo_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Move src's memory into dst (src is left empty, dst frees it all). */
void hfo_arena_adopt(hfo_arena *dst, hfo_arena *src);
void hfo_arena_free(hfo_arena *a);

#endif
