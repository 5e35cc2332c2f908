/* normalizer_precompiled.c: the Precompiled normalizer
 * (tokenizers/src/normalizers/precompiled.rs over the spm_precompiled crate),
 * i.e. SentencePiece's nmt_nfkc rules compiled into the model.
 *
 * The charsmap is [u32 trie size][double-array trie (darts units)][NUL
 * separated replacement strings].  Parity with Hugging Face, not with
 * SentencePiece's own normalizer, which matters in three places:
 *   - the text is cut into extended grapheme clusters; a cluster shorter than
 *     6 UTF-8 bytes is looked up whole, else character by character;
 *   - a lookup takes the FIRST (shortest) key that is a prefix of the chunk,
 *     and that key's replacement replaces the whole chunk (SentencePiece
 *     takes the longest match and continues after it);
 *   - alignments follow NormalizedString::transform with the change list
 *     that spm_precompiled's `replace` builds: when a replacement is shorter,
 *     the previous entry absorbs the difference (even across clusters, and
 *     a removal at the very start is lost), inserted characters take the
 *     alignment of the character before them (or (0, 0) at the start).
 * Grapheme clusters come from utf8proc (Unicode 15); only clusters under 6
 * bytes matter, where the Unicode versions agree.  The normalizer runs as
 * steps with a streaming alignment (tok_internal.h), which the fused T5
 * walk (walk_t5.c) drives too; a character that is plain (hfo_pc_plain)
 * before another plain one is a cluster alone, and when no rule changes it
 * (a bitmap per charsmap) it is copied with no lookup. */
#include "spm.h"
#include "tok_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

typedef struct precompiled {
    hfo_normalizer base;
    uint32_t *units;
    size_t n_units;
    uint8_t *blob;          /* replacement strings */
    size_t blob_len;
    int32_t ascii_val[128]; /* first_prefix of each ASCII char alone (-1: none) */
    uint64_t same[1024];    /* BMP characters no rule changes when alone (bitmap) */
    uint64_t word[1024];    /* ... of them, the plain ones that are not whitespace */
} precompiled;

/* BMP characters whose grapheme break class is Other, CR, LF or Control:
 * between two of them there is always a break (GB4, GB5, GB999) except
 * CR x LF, so most text needs no utf8proc call.  Not the surrogates (an
 * error, raised by pc_cluster). */
static hfo_status pc_run(const hfo_normalizer *self, const hfo_text *t, size_t begin, size_t end,
                         hfo_norm *out, hfo_err *err);

/* Grapheme break classes that changed after utf8proc 2.8's Unicode 15.0,
 * as the reference's segmentation (unicode-segmentation, built into
 * tokenizers 0.23: Unicode 16/17) has them: marks assigned since (Extend or
 * SpacingMark there, unassigned Other for utf8proc) and two Prepend
 * changes.  Each is handed to utf8proc as a stand-in character of the
 * class the reference gives it.  Found by probing every code point between
 * and before clusters the charsmap rewrites (a decomposed e + U+0301). */
typedef struct { uint32_t lo, hi, as; } gb_override;
static const gb_override gb_overrides[] = {
    {0x0897, 0x0897, 0x0301}, {0x1ACF, 0x1ADD, 0x0301}, {0x1AE0, 0x1AEB, 0x0301},
    {0x10D69, 0x10D6D, 0x0301}, {0x10EFA, 0x10EFC, 0x0301}, {0x113B8, 0x113C0, 0x0301},
    {0x113C2, 0x113C2, 0x0301}, {0x113C5, 0x113C5, 0x0301}, {0x113C7, 0x113CA, 0x0301},
    {0x113CC, 0x113D0, 0x0301}, {0x113D1, 0x113D1, 0x0600}, {0x113D2, 0x113D2, 0x0301},
    {0x113E1, 0x113E2, 0x0301},
    {0x11A3A, 0x11A3A, 'a'}, {0x11B60, 0x11B67, 0x0301}, {0x11F5A, 0x11F5A, 0x0301},
    {0x1611E, 0x1612F, 0x0301}, {0x1E5EE, 0x1E5EF, 0x0301}, {0x1E6E3, 0x1E6E3, 0x0301},
    {0x1E6E6, 0x1E6E6, 0x0301}, {0x1E6EE, 0x1E6EF, 0x0301}, {0x1E6F5, 0x1E6F5, 0x0301},
};

/* c, or the stand-in utf8proc should segment it as (the ranges ascend). */
static uint32_t gb_as(uint32_t c)
{
    for (size_t k = 0; k < sizeof gb_overrides / sizeof *gb_overrides && c >= gb_overrides[k].lo; k++)
        if (c <= gb_overrides[k].hi)
            return gb_overrides[k].as;
    return c;
}

uint64_t hfo_pc_plain[1024];
static pthread_once_t plain_once = PTHREAD_ONCE_INIT;

static void plain_init(void)
{
    for (uint32_t c = 0; c < 0x10000; c++) {
        int b = utf8proc_get_property((utf8proc_int32_t)gb_as(c))->boundclass;
        if (c >= 0xD800 && c <= 0xDFFF)
            continue;
        if (b == UTF8PROC_BOUNDCLASS_OTHER || b == UTF8PROC_BOUNDCLASS_CR ||
            b == UTF8PROC_BOUNDCLASS_LF || b == UTF8PROC_BOUNDCLASS_CONTROL)
            hfo_pc_plain[c >> 6] |= 1ULL << (c & 63);
    }
}


static inline uint32_t unit_offset(uint32_t u) { return (u >> 10) << ((u & (1u << 9)) >> 6); }
static inline uint32_t unit_label(uint32_t u) { return u & ((1u << 31) | 0xFF); }
static inline int unit_has_leaf(uint32_t u) { return (u >> 8) & 1; }
static inline uint32_t unit_value(uint32_t u) { return u & ((1u << 31) - 1); }

/* Value of the shortest key that is a prefix of key[0, n), or -1.  Stops at
 * a NUL byte, as darts does.  Out-of-range trie data counts as no match. */
static int64_t first_prefix(const precompiled *p, const uint8_t *key, size_t n)
{
    if (p->n_units == 0)
        return -1;
    size_t node = unit_offset(p->units[0]);
    for (size_t i = 0; i < n; i++) {
        uint8_t c = key[i];
        if (c == 0)
            return -1;
        node ^= c;
        if (node >= p->n_units)
            return -1;
        uint32_t u = p->units[node];
        if (unit_label(u) != c)
            return -1;
        node ^= unit_offset(u);
        if (unit_has_leaf(u)) {
            if (node >= p->n_units || unit_value(p->units[node]) > p->blob_len)
                return -1;
            return unit_value(p->units[node]);
        }
    }
    return -1;
}

static size_t utf8_put(uint32_t c, uint8_t *o)
{
    if (c < 0x80) {
        o[0] = (uint8_t)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (uint8_t)(0xC0 | (c >> 6));
        o[1] = (uint8_t)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (uint8_t)(0xE0 | (c >> 12));
        o[1] = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
        o[2] = (uint8_t)(0x80 | (c & 0x3F));
        return 3;
    }
    o[0] = (uint8_t)(0xF0 | (c >> 18));
    o[1] = (uint8_t)(0x80 | ((c >> 12) & 0x3F));
    o[2] = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
    o[3] = (uint8_t)(0x80 | (c & 0x3F));
    return 4;
}

static int valid_utf8(const uint8_t *s, size_t n)
{
    while (n) {
        utf8proc_int32_t c;
        utf8proc_ssize_t k = utf8proc_iterate(s, (utf8proc_ssize_t)n, &c);
        if (k <= 0)
            return 0;
        s += k;
        n -= (size_t)k;
    }
    return 1;
}

static inline size_t utf8_len(uint32_t c)
{
    return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
}

void hfo_pc_step_init(hfo_pc_step *st)
{
    st->n = 0;
    st->cap = sizeof st->local / sizeof st->local[0];
    st->cp = st->local;
}

void hfo_pc_step_free(hfo_pc_step *st)
{
    if (st->cp != st->local)
        free(st->cp);
    hfo_pc_step_init(st);
}

static hfo_status step_push(hfo_pc_step *st, uint32_t c, hfo_err *err)
{
    if (st->n == st->cap) {
        size_t cap = st->cap * 2;
        uint32_t *v = st->cp == st->local ? malloc(cap * sizeof *v) : realloc(st->cp, cap * sizeof *v);
        if (v == NULL)
            return hfo_err_set(err, HFO_ERR_NOMEM, "out of memory");
        if (st->cp == st->local)
            memcpy(v, st->local, st->n * sizeof *v);
        st->cp = v;
        st->cap = cap;
    }
    st->cp[st->n++] = c;
    return HFO_OK;
}

/* The replacement at blob offset val (from first_prefix), up to its NUL. */
static hfo_status step_replacement(const precompiled *p, int64_t val, hfo_pc_step *st, hfo_err *err)
{
    const uint8_t *s = p->blob + val, *end = p->blob + p->blob_len;
    st->n = 0;
    while (s < end && *s) {
        uint32_t c;
        utf8proc_ssize_t k = utf8proc_iterate(s, end - s, (utf8proc_int32_t *)&c);
        if (k <= 0)  /* the blob was checked to be UTF-8; a value inside a
                      * character cannot come from a real model */
            break;
        s += k;
        if (step_push(st, c, err))
            return err->code;
    }
    return HFO_OK;
}

/* Character c alone: its rule's replacement, or itself. */
static hfo_status step_one(const precompiled *p, uint32_t c, hfo_pc_step *st, hfo_err *err)
{
    uint8_t buf[4];
    int64_t v = c < 0x80 ? p->ascii_val[c] : first_prefix(p, buf, utf8_put(c, buf));
    if (v >= 0)
        return step_replacement(p, v, st, err);
    st->n = 1;
    st->cp[0] = c;
    return HFO_OK;
}

hfo_status hfo_pc_step_char(const hfo_normalizer *n, uint32_t c, hfo_pc_step *st, hfo_err *err)
{
    return step_one((const precompiled *)n, c, st, err);
}

hfo_status hfo_pc_step_at(const hfo_normalizer *n, const hfo_text *t, size_t i, size_t end,
                          size_t *per_char_end, hfo_pc_step *st, hfo_err *err)
{
    const precompiled *p = (const precompiled *)n;
    uint32_t c = hfo_text_at(t, i);
    st->old = 1;
    st->next = i + 1;
    if (i >= *per_char_end) {
        /* the cluster [i, g) (utf8proc), looked up whole when shorter than
         * 6 bytes, else character by character */
        if (c >= 0xD800 && c <= 0xDFFF)
            return hfo_err_surrogate(err, c, i);
        utf8proc_int32_t state = 0;
        size_t g = i + 1, nbytes = utf8_len(c);
        uint32_t prev = c;
        while (g < end) {
            uint32_t d = hfo_text_at(t, g);
            if (d >= 0xD800 && d <= 0xDFFF)
                return hfo_err_surrogate(err, d, g);
            if (utf8proc_grapheme_break_stateful((utf8proc_int32_t)gb_as(prev),
                                                 (utf8proc_int32_t)gb_as(d), &state))
                break;
            nbytes += utf8_len(d);
            prev = d;
            g++;
        }
        if (nbytes < 6) {
            uint8_t buf[8] = {0};
            size_t nb = 0;
            for (size_t q = i; q < g; q++)
                nb += utf8_put(hfo_text_at(t, q), buf + nb);
            int64_t v = first_prefix(p, buf, nb);
            if (v >= 0) {
                st->old = g - i;
                st->next = g;
                return step_replacement(p, v, st, err);
            }
        }
        *per_char_end = g;
    }
    return step_one(p, c, st, err);
}

const uint64_t *hfo_pc_same(const hfo_normalizer *n)
{
    return n && n->run == pc_run ? ((const precompiled *)n)->same : NULL;
}

const uint64_t *hfo_pc_word(const hfo_normalizer *n)
{
    return n && n->run == pc_run ? ((const precompiled *)n)->word : NULL;
}

/* The scan, for one code unit width (kind is a constant where it is
 * inlined).  A character both plain and followed by a plain one (or the
 * end) is a cluster by itself; unchanged, it is copied with no lookup. */
static inline __attribute__((always_inline)) hfo_status
pc_scan(const precompiled *p, const hfo_text *t, int kind, size_t begin, size_t end, hfo_norm *out,
        hfo_pc_step *st, hfo_err *err)
{
    const uint8_t *d1 = t->data;
    const uint16_t *d2 = t->data;
    const uint32_t *d4 = t->data;
#define PC_AT(i) (kind == 1 ? d1[i] : kind == 2 ? d2[i] : d4[i])
    hfo_pc_align al;
    hfo_pc_align_init(&al, begin, end);
    size_t i = begin, per_char_end = 0;
    while (i < end) {
        uint32_t c = PC_AT(i);
        int single = hfo_bit(hfo_pc_plain, c);
        if (single && i + 1 < end) {
            uint32_t d = PC_AT(i + 1);
            single = hfo_bit(hfo_pc_plain, d) && !(c == '\r' && d == '\n');
        }
        if (single && hfo_bit(p->same, c)) {
            if (out->len == out->cap && hfo_norm_grow(out, 64, err))
                return err->code;
            uint32_t s, e;
            hfo_pc_align_next(&al, 0, &s, &e);
            hfo_norm_push(out, c, s, e);
            i++;
            continue;
        }
        if (single) {
            /* plain characters are BMP and no surrogates */
            if (step_one(p, c, st, err))
                return err->code;
            st->old = 1;
            st->next = i + 1;
        } else if (hfo_pc_step_at(&p->base, t, i, end, &per_char_end, st, err)) {
            return err->code;
        }
        if (hfo_norm_grow(out, st->n, err))
            return err->code;
        for (size_t k = 0; k < st->n; k++) {
            uint32_t s, e;
            hfo_pc_align_next(&al, hfo_pc_change(k, st->n, st->old), &s, &e);
            hfo_norm_push(out, st->cp[k], s, e);
        }
        uint32_t s, e;
        if (st->n == 0 && hfo_pc_align_removed(&al, st->old, &s, &e)) {
            out->os[out->len - 1] = s;
            out->oe[out->len - 1] = e;
        }
        i = st->next;
    }
#undef PC_AT
    return HFO_OK;
}

static hfo_status pc_run(const hfo_normalizer *self, const hfo_text *t, size_t begin, size_t end,
                         hfo_norm *out, hfo_err *err)
{
    const precompiled *p = (const precompiled *)self;
    if (hfo_norm_grow(out, end - begin + 8, err))
        return err->code;
    hfo_pc_step st;
    hfo_pc_step_init(&st);
    hfo_status r = t->kind == 1 ? pc_scan(p, t, 1, begin, end, out, &st, err)
                 : t->kind == 2 ? pc_scan(p, t, 2, begin, end, out, &st, err)
                                : pc_scan(p, t, 4, begin, end, out, &st, err);
    hfo_pc_step_free(&st);
    return r;
}

static void pc_free(hfo_normalizer *self)
{
    precompiled *p = (precompiled *)self;
    if (p == NULL)
        return;
    free(p->units);
    free(p->blob);
    free(p);
}

hfo_normalizer *hfo_normalizer_precompiled_new(const uint8_t *charsmap, size_t len, hfo_err *err)
{
    if (len < 4) {
        hfo_err_set(err, HFO_ERR_CONFIG, "precompiled_charsmap is too short (%zu bytes)", len);
        return NULL;
    }
    uint32_t trie_size = (uint32_t)charsmap[0] | (uint32_t)charsmap[1] << 8 |
                         (uint32_t)charsmap[2] << 16 | (uint32_t)charsmap[3] << 24;
    size_t n_units = trie_size / 4;
    if (n_units > (len - 4) / 4) {
        hfo_err_set(err, HFO_ERR_CONFIG,
                    "precompiled_charsmap is truncated: its trie needs %u bytes, %zu present",
                    trie_size, len - 4);
        return NULL;
    }
    const uint8_t *blob = charsmap + 4 + 4 * n_units;
    size_t blob_len = len - 4 - 4 * n_units;
    if (!valid_utf8(blob, blob_len)) {
        hfo_err_set(err, HFO_ERR_CONFIG, "precompiled_charsmap: replacement strings are not UTF-8");
        return NULL;
    }
    precompiled *p = calloc(1, sizeof *p);
    if (p == NULL)
        goto oom;
    p->base.run = pc_run;
    p->base.free = pc_free;
    p->n_units = n_units;
    p->units = malloc((n_units ? n_units : 1) * 4);
    p->blob = malloc(blob_len ? blob_len : 1);
    if (p->units == NULL || p->blob == NULL)
        goto oom;
    for (size_t i = 0; i < n_units; i++) {
        const uint8_t *q = charsmap + 4 + 4 * i;
        p->units[i] = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 |
                      (uint32_t)q[3] << 24;
    }
    if (blob_len)
        memcpy(p->blob, blob, blob_len);
    p->blob_len = blob_len;
    for (uint32_t c = 0; c < 128; c++) {
        uint8_t b = (uint8_t)c;
        int64_t v = first_prefix(p, &b, 1);
        p->ascii_val[c] = v >= 0 && (uint64_t)v <= blob_len ? (int32_t)v : -1;
    }
    for (uint32_t c = 0; c < 0x10000; c++) {
        uint8_t buf[4];
        if ((c < 0xD800 || c > 0xDFFF) && first_prefix(p, buf, utf8_put(c, buf)) < 0)
            p->same[c >> 6] |= 1ULL << (c & 63);
    }
    pthread_once(&plain_once, plain_init);
    for (uint32_t c = 0; c < 0x10000; c++)
        if (hfo_bit(p->same, c) && hfo_bit(hfo_pc_plain, c) && !hfo_is_white_space(c))
            p->word[c >> 6] |= 1ULL << (c & 63);
    return &p->base;
oom:
    pc_free(p ? &p->base : NULL);
    hfo_err_set(err, HFO_ERR_NOMEM, "out of memory");
    return NULL;
}

void hfo_normalizer_free(hfo_normalizer *n)
{
    if (n)
        n->free(n);
}
