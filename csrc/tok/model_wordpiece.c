/* model_wordpiece.c: WordPiece (tokenizers/src/models/wordpiece/mod.rs).
 *
 * Greedy longest-match-first: from the start of the word take the longest
 * vocabulary piece, then continue with "##"-prefixed pieces; if some
 * position matches nothing, or the word has more than
 * max_input_chars_per_word code points, the whole word becomes [UNK]
 * (offsets: the whole word), exactly as the reference.
 *
 * Lookup: one open-addressing hash table keyed by (continuation?, code
 * points).  A vocabulary entry "##ing" is stored both literally and as the
 * continuation key "ing", so a lookup never builds the prefixed string.  The
 * hashes of every prefix of the remaining word are computed in one forward
 * pass, so each candidate length costs one probe, and candidates longer than
 * the longest piece are never tried. */
#include "tok_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct wp_entry {  /* 16 bytes: the table (1 MiB for BERT) mostly stays in cache */
    uint32_t tag;       /* high half of the key's hash, never 0; 0 = empty slot */
    int32_t id;
    uint32_t off;       /* key: pool[off, off + len) */
    uint16_t len;
    uint16_t cont;
} wp_entry;

typedef struct wordpiece {
    hfo_model base;
    int32_t unk_id;
    size_t max_chars;
    uint32_t *prefix;
    size_t prefix_len;
    uint32_t *pool;
    size_t pool_len, pool_cap;
    wp_entry *table;
    size_t mask, count;      /* table size - 1 */
    size_t max_piece[2];     /* longest literal / continuation key */
    /* Bloom filter over the key hashes (2 bits per key, 2^20 bits = 128 KiB,
     * stays in cache): most candidate lengths WordPiece tries are absent,
     * and this answers "absent" without touching the big table. */
    uint64_t *bloom;
} wordpiece;

#define WP_BLOOM_BITS (1u << 20)

static inline void bloom_add(uint64_t *b, uint64_t h)
{
    uint32_t x = (uint32_t)(h >> 32) & (WP_BLOOM_BITS - 1), y = (uint32_t)(h >> 12) & (WP_BLOOM_BITS - 1);
    b[x >> 6] |= 1ULL << (x & 63);
    b[y >> 6] |= 1ULL << (y & 63);
}

static inline int bloom_maybe(const uint64_t *b, uint64_t h)
{
    uint32_t x = (uint32_t)(h >> 32) & (WP_BLOOM_BITS - 1), y = (uint32_t)(h >> 12) & (WP_BLOOM_BITS - 1);
    return (b[x >> 6] >> (x & 63)) & (b[y >> 6] >> (y & 63)) & 1;
}

#define WP_SEED0 0xcbf29ce484222325ULL
#define WP_SEED1 0x84222325cbf29ce4ULL

static inline uint64_t wp_step(uint64_t h, uint32_t c)
{
    h ^= c;
    h *= 0x100000001b3ULL;
    h ^= h >> 29;
    return h;
}

static inline uint64_t wp_final(uint64_t h)
{
    h ^= h >> 31;
    h *= 0x9e3779b97f4a7c15ULL;
    h ^= h >> 32;
    return h | 1;  /* never 0 */
}

static inline uint32_t wp_tag(uint64_t h)
{
    return (uint32_t)(h >> 32) | 1u;
}

static uint64_t wp_key_hash(uint32_t cont, const uint32_t *cps, size_t len)
{
    uint64_t h = cont ? WP_SEED1 : WP_SEED0;
    for (size_t i = 0; i < len; i++)
        h = wp_step(h, cps[i]);
    return wp_final(h);
}

static hfo_status wp_rehash(wordpiece *wp, size_t new_size, hfo_err *err)
{
    wp_entry *t = calloc(new_size, sizeof *t);
    if (t == NULL)
        return hfo_err_set(err, HFO_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i <= wp->mask && wp->table; i++) {
        const wp_entry *e = &wp->table[i];
        if (e->tag == 0)
            continue;
        size_t j = (size_t)wp_key_hash(e->cont, wp->pool + e->off, e->len) & (new_size - 1);
        while (t[j].tag != 0)
            j = (j + 1) & (new_size - 1);
        t[j] = wp->table[i];
    }
    free(wp->table);
    wp->table = t;
    wp->mask = new_size - 1;
    return HFO_OK;
}

static hfo_status wp_insert(wordpiece *wp, uint32_t cont, uint32_t off, uint32_t len, int32_t id,
                            hfo_err *err)
{
    if ((wp->count + 1) * 5 > (wp->mask + 1) * 3) {  /* load factor <= 0.6 */
        if (wp_rehash(wp, (wp->mask + 1) * 2, err))
            return err->code;
    }
    if (len > UINT16_MAX)
        return HFO_OK;  /* longer than any word WordPiece looks up */
    uint64_t h = wp_key_hash(cont, wp->pool + off, len);
    uint32_t tag = wp_tag(h);
    size_t j = (size_t)h & wp->mask;
    while (wp->table[j].tag != 0) {
        wp_entry *e = &wp->table[j];
        if (e->tag == tag && e->cont == cont && e->len == len &&
            memcmp(wp->pool + e->off, wp->pool + off, len * 4) == 0)
            return HFO_OK;  /* duplicate token: first id wins, as a vocab dict would */
        j = (j + 1) & wp->mask;
    }
    wp->table[j] = (wp_entry){tag, id, off, (uint16_t)len, (uint16_t)cont};
    bloom_add(wp->bloom, h);
    wp->count++;
    if (len > wp->max_piece[cont])
        wp->max_piece[cont] = len;
    return HFO_OK;
}

hfo_status hfo_wordpiece_add(hfo_model *m, const uint32_t *cps, size_t n, int32_t id, hfo_err *err)
{
    wordpiece *wp = (wordpiece *)m;
    if (n > UINT32_MAX / 2 || wp->pool_len + n > UINT32_MAX / 2)
        return hfo_err_set(err, HFO_ERR_CONFIG, "vocabulary too large");
    if (wp->pool_len + n > wp->pool_cap) {
        size_t cap = wp->pool_cap ? wp->pool_cap : 4096;
        while (cap < wp->pool_len + n)
            cap *= 2;
        uint32_t *p = realloc(wp->pool, cap * 4);
        if (p == NULL)
            return hfo_err_set(err, HFO_ERR_NOMEM, "out of memory");
        wp->pool = p;
        wp->pool_cap = cap;
    }
    uint32_t off = (uint32_t)wp->pool_len;
    if (n)
        memcpy(wp->pool + off, cps, n * 4);
    wp->pool_len += n;
    if (wp_insert(wp, 0, off, (uint32_t)n, id, err))
        return err->code;
    if (wp->prefix_len && n >= wp->prefix_len && memcmp(cps, wp->prefix, wp->prefix_len * 4) == 0)
        return wp_insert(wp, 1, off + (uint32_t)wp->prefix_len, (uint32_t)(n - wp->prefix_len), id, err);
    return HFO_OK;
}

static inline int cps_equal(const uint32_t *a, const uint32_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

static inline const wp_entry *wp_find(const wordpiece *wp, uint64_t h, uint32_t cont,
                                      const uint32_t *cps, size_t len)
{
    if (!bloom_maybe(wp->bloom, h))
        return NULL;
    size_t j = (size_t)h & wp->mask;
    uint32_t tag = wp_tag(h);
    for (;;) {
        const wp_entry *e = &wp->table[j];
        if (e->tag == 0)
            return NULL;
        if (e->tag == tag && e->len == len && e->cont == cont && cps_equal(wp->pool + e->off, cps, len))
            return e;
        j = (j + 1) & wp->mask;
    }
}

static hfo_status wp_tokenize(const hfo_model *self, const uint32_t *cps, size_t n,
                              hfo_pieces *out, hfo_err *err)
{
    const wordpiece *wp = (const wordpiece *)self;
    if (n == 0)
        return HFO_OK;
    size_t mark = out->len;
    if (n > wp->max_chars)
        goto unk;
    uint64_t hb[128];
    size_t start = 0;
    while (start < n) {
        uint32_t cont = start > 0 && wp->prefix_len > 0;
        /* When there is no prefix, continuation pieces are looked up literally. */
        size_t maxlen = wp->max_piece[cont];
        size_t end = n - start < maxlen ? n : start + maxlen;
        if (end - start > 128)
            end = start + 128;
        uint64_t h = cont ? WP_SEED1 : WP_SEED0;
        for (size_t i = start; i < end; i++) {
            h = wp_step(h, cps[i]);
            hb[i - start] = h;
        }
        const wp_entry *found = NULL;
        for (; end > start; end--) {
            found = wp_find(wp, wp_final(hb[end - start - 1]), cont, cps + start, end - start);
            if (found)
                break;
        }
        if (found == NULL)
            goto unk;
        if (hfo_pieces_push(out, found->id, (uint32_t)start, (uint32_t)end, err))
            return err->code;
        start = end;
    }
    return HFO_OK;
unk:
    out->len = mark;
    if (wp->unk_id < 0)
        return hfo_err_set(err, HFO_ERR_CONFIG, "WordPiece: the unk token is not in the vocabulary");
    return hfo_pieces_push(out, wp->unk_id, 0, (uint32_t)n, err);
}

static void wp_free(hfo_model *self)
{
    wordpiece *wp = (wordpiece *)self;
    if (wp == NULL)
        return;
    free(wp->prefix);
    free(wp->pool);
    free(wp->table);
    free(wp->bloom);
    free(wp);
}

hfo_model *hfo_wordpiece_new(int32_t unk_id, size_t max_input_chars_per_word,
                             const uint32_t *prefix, size_t prefix_len)
{
    wordpiece *wp = calloc(1, sizeof *wp);
    if (wp == NULL)
        return NULL;
    wp->base.tokenize = wp_tokenize;
    wp->base.free = wp_free;
    wp->unk_id = unk_id;
    wp->max_chars = max_input_chars_per_word;
    if (prefix_len) {
        wp->prefix = malloc(prefix_len * 4);
        if (wp->prefix == NULL) {
            free(wp);
            return NULL;
        }
        memcpy(wp->prefix, prefix, prefix_len * 4);
        wp->prefix_len = prefix_len;
    }
    wp->table = calloc(1024, sizeof *wp->table);
    wp->bloom = calloc(WP_BLOOM_BITS / 64, sizeof *wp->bloom);
    if (wp->table == NULL || wp->bloom == NULL) {
        wp_free(&wp->base);
        return NULL;
    }
    wp->mask = 1023;
    return &wp->base;
}
