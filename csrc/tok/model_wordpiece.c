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
    /* A key of at most 8 ASCII characters is held here as its bytes, so
     * matching it reads nothing else; any other key holds its hash's tag
     * (high half) and its offset in the pool (low half). */
    uint64_t key;
    int32_t id;
    uint16_t len;       /* 0 = empty slot (an empty key is never looked up) */
    uint8_t cont;
    uint8_t packed;
} wp_entry;

/* The packed form of a key, or 0 when it has a non-ASCII character or more
 * than 8 (keys are never empty, so 0 is free). */
static inline uint64_t wp_pack(const uint32_t *cps, size_t len)
{
    if (len > 8)
        return 0;
    uint64_t k = 0;
    for (size_t i = 0; i < len; i++) {
        if (cps[i] >= 0x80)
            return 0;
        k |= (uint64_t)cps[i] << (8 * i);
    }
    return k;
}

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
    /* The longest key (of each kind) starting with each BMP code point, at
     * most 255 (255: look at max_piece): in most scripts a character starts
     * few long pieces, and a word is tried at the lengths that can match. */
    uint8_t first_max[2][1 << 16];
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

/* The code points of entry e's key (a view into the pool, or unpacked into buf). */
static const uint32_t *wp_key_cps(const wordpiece *wp, const wp_entry *e, uint32_t buf[8])
{
    if (!e->packed)
        return wp->pool + (uint32_t)e->key;
    for (size_t i = 0; i < e->len; i++)
        buf[i] = (uint32_t)(e->key >> (8 * i)) & 0xFF;
    return buf;
}

static hfo_status wp_rehash(wordpiece *wp, size_t new_size, hfo_err *err)
{
    wp_entry *t = calloc(new_size, sizeof *t);
    if (t == NULL)
        return hfo_err_set(err, HFO_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i <= wp->mask && wp->table; i++) {
        const wp_entry *e = &wp->table[i];
        if (e->len == 0)
            continue;
        uint32_t buf[8];
        size_t j = (size_t)wp_key_hash(e->cont, wp_key_cps(wp, e, buf), e->len) & (new_size - 1);
        while (t[j].len != 0)
            j = (j + 1) & (new_size - 1);
        t[j] = *e;
    }
    free(wp->table);
    wp->table = t;
    wp->mask = new_size - 1;
    return HFO_OK;
}

static inline int wp_match(const wordpiece *wp, const wp_entry *e, uint64_t h, uint64_t packed,
                           uint32_t cont, const uint32_t *cps, size_t len)
{
    if (e->len != len || e->cont != cont)
        return 0;
    if (e->packed)
        return e->key == packed;
    if (packed != 0 || (uint32_t)(e->key >> 32) != wp_tag(h))
        return 0;
    const uint32_t *k = wp->pool + (uint32_t)e->key;
    for (size_t i = 0; i < len; i++)
        if (k[i] != cps[i])
            return 0;
    return 1;
}

static hfo_status wp_insert(wordpiece *wp, uint32_t cont, uint32_t off, uint32_t len, int32_t id,
                            hfo_err *err)
{
    if ((wp->count + 1) * 5 > (wp->mask + 1) * 3) {  /* load factor <= 0.6 */
        if (wp_rehash(wp, (wp->mask + 1) * 2, err))
            return err->code;
    }
    if (len == 0 || len > UINT16_MAX)
        return HFO_OK;  /* never looked up: words are not empty, nor longer */
    const uint32_t *cps = wp->pool + off;
    uint64_t h = wp_key_hash(cont, cps, len), packed = wp_pack(cps, len);
    size_t j = (size_t)h & wp->mask;
    while (wp->table[j].len != 0) {
        if (wp_match(wp, &wp->table[j], h, packed, cont, cps, len))
            return HFO_OK;  /* duplicate token: first id wins, as a vocab dict would */
        j = (j + 1) & wp->mask;
    }
    wp->table[j] = (wp_entry){packed ? packed : ((uint64_t)wp_tag(h) << 32 | off), id,
                              (uint16_t)len, (uint8_t)cont, packed != 0};
    bloom_add(wp->bloom, h);
    wp->count++;
    if (len > wp->max_piece[cont])
        wp->max_piece[cont] = len;
    if (cps[0] < (1u << 16) && wp->first_max[cont][cps[0]] < (len < 255 ? len : 255))
        wp->first_max[cont][cps[0]] = (uint8_t)(len < 255 ? len : 255);
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
    /* words cached before this addition are stale: no caching until
     * hfo_wordpiece_finish (a tag per entry would use 2^26 tags up in a few
     * thousand vocabularies) */
    wp->base.word_tag = 0;
    if (wp_insert(wp, 0, off, (uint32_t)n, id, err))
        return err->code;
    if (wp->prefix_len && n >= wp->prefix_len && memcmp(cps, wp->prefix, wp->prefix_len * 4) == 0)
        return wp_insert(wp, 1, off + (uint32_t)wp->prefix_len, (uint32_t)(n - wp->prefix_len), id, err);
    return HFO_OK;
}

static inline const wp_entry *wp_find(const wordpiece *wp, uint64_t h, uint64_t packed,
                                      uint32_t cont, const uint32_t *cps, size_t len)
{
    size_t j = (size_t)h & wp->mask;
    for (;;) {
        const wp_entry *e = &wp->table[j];
        if (e->len == 0)
            return NULL;
        if (wp_match(wp, e, h, packed, cont, cps, len))
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
        if (cps[start] < (1u << 16)) {
            size_t fm = wp->first_max[cont][cps[start]];
            if (fm == 0)
                goto unk;   /* no piece starts with it */
            if (fm < 255 && fm < maxlen)
                maxlen = fm;
        }
        size_t end = n - start < maxlen ? n : start + maxlen;
        if (end - start > 128)
            end = start + 128;
        uint64_t h = cont ? WP_SEED1 : WP_SEED0;
        uint64_t pk = 0;
        size_t n_ascii = 0;   /* leading ASCII characters (packed into pk, up to 8) */
        for (size_t i = start; i < end; i++) {
            h = wp_step(h, cps[i]);
            hb[i - start] = h;
            if (n_ascii == i - start && cps[i] < 0x80 && n_ascii < 8)
                pk |= (uint64_t)cps[i] << (8 * n_ascii++);
        }
        /* Longest first; the Bloom filter screens out most absent ones
         * without touching the table. */
        const wp_entry *found = NULL;
        for (; end > start; end--) {
            size_t len = end - start;
            uint64_t hk = wp_final(hb[len - 1]);
            if (!bloom_maybe(wp->bloom, hk))
                continue;
            uint64_t p = len <= n_ascii ? pk & (len == 8 ? ~0ULL : (1ULL << (8 * len)) - 1) : 0;
            if ((found = wp_find(wp, hk, p, cont, cps + start, len)) != NULL)
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

void hfo_wordpiece_finish(hfo_model *m)
{
    if (m->word_tag == 0)
        m->word_tag = hfo_wc_new_tag();
}

hfo_model *hfo_wordpiece_new(int32_t unk_id, size_t max_input_chars_per_word,
                             const uint32_t *prefix, size_t prefix_len)
{
    wordpiece *wp = calloc(1, sizeof *wp);
    if (wp == NULL)
        return NULL;
    wp->base.tokenize = wp_tokenize;
    wp->base.free = wp_free;   /* word_tag 0: cached once finished */
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
