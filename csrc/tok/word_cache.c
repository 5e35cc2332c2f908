/* word_cache.c: each thread's cache of short words and the model's tokens
 * for them, for walks that can see a whole word before normalizing it
 * (walk_bert.c: a run of ASCII letters and digits between whitespace or
 * punctuation; walk_t5.c: a run of printable ASCII between spaces).  Most
 * words of a text repeat, and a hit replaces the per-character
 * normalization and the model's search by one probe.
 *
 * The table: HFO_WC_SLOTS 64-byte entries (512 KiB per thread, made on the
 * thread's first plain word), a word's slot given by its hash, a new word
 * replacing the one there.  (Two ways per set were 12% slower in English:
 * the probe waits on memory, and which way holds the word does not
 * predict.)  An entry holds the model's tag, the walk's flag and the word's
 * length in `tag` (hfo_wc_tag), the word's bytes zero padded, and what the model made of it (at most
 * HFO_WC_MAX_TOK tokens, each ending at end[k]).  A model takes a fresh tag
 * whenever its vocabulary changes, so entries of an older state or of a
 * freed model are never matched. */
#include "tok_internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

_Static_assert(sizeof(hfo_wc_entry) == 64, "a word-cache entry is one cache line");

static pthread_key_t wc_key;
static pthread_once_t wc_once = PTHREAD_ONCE_INIT;
static int wc_ok;
static _Atomic uint64_t wc_next_tag = 1;

static void wc_destroy(void *p)
{
    free(p);
}

/* The cache in this thread's block: at its first 64-byte boundary. */
static hfo_wc *wc_aligned(void *raw)
{
    return (hfo_wc *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
}

static void wc_init(void)
{
    wc_ok = pthread_key_create(&wc_key, wc_destroy) == 0;
}

uint64_t hfo_wc_new_tag(void)
{
    uint64_t t = atomic_fetch_add_explicit(&wc_next_tag, 1, memory_order_relaxed);
    return t < (1ULL << 57) ? t : 0;   /* 0: never cached; hfo_wc_tag keeps 57 bits */
}

hfo_wc *hfo_wc_table(void)
{
    pthread_once(&wc_once, wc_init);
    if (!wc_ok)
        return NULL;
    void *raw = pthread_getspecific(wc_key);
    if (raw != NULL)
        return wc_aligned(raw);
    raw = calloc(1, sizeof(hfo_wc) + 64);
    if (raw == NULL)
        return NULL;
    if (pthread_setspecific(wc_key, raw) != 0) {
        free(raw);
        return NULL;
    }
    return wc_aligned(raw);
}

void hfo_wc_put(hfo_wc_entry *e, uint64_t tag, const uint64_t key[2], size_t n, const hfo_pieces *p)
{
    /* only tokens tiling the word, as a hit gives them back */
    if (p->len == 0 || p->len > HFO_WC_MAX_TOK || p->end[p->len - 1] != n)
        return;
    for (size_t k = 0; k < p->len; k++)
        if (p->start[k] != (k ? p->end[k - 1] : 0) || p->end[k] <= p->start[k])
            return;
    e->tag = tag;
    e->key[0] = key[0];
    e->key[1] = key[1];
    e->n_tok = (uint8_t)p->len;
    for (size_t k = 0; k < p->len; k++) {
        e->id[k] = p->id[k];
        e->end[k] = (uint8_t)p->end[k];
    }
}
