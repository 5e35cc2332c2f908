/* added_tokens.c: added/special tokens matched in the text before the model
 * (tokenizers/src/tokenizer/added_vocabulary.rs, find_matches).
 *
 * Leftmost-longest matching like the reference's aho-corasick
 * (MatchKind::LeftmostLongest); a bitmap of first code points makes the
 * common "no added token starts here" test one load.  Then, per match, as the
 * reference: split_special_tokens discards a special token's match,
 * single_word discards matches glued to a word character, lstrip/rstrip
 * extend the match over neighbouring whitespace. */
#include "tok_internal.h"
#include "unicode.h"

#include <stdlib.h>
#include <string.h>

hfo_status hfo_added_add(hfo_added_set *set, const uint32_t *cps, size_t n, int32_t id,
                         unsigned flags, hfo_err *err)
{
    if (n == 0)
        return HFO_OK;  /* the reference ignores empty added tokens */
    if (set->len == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 8;
        hfo_added *v = realloc(set->v, cap * sizeof *v);
        if (v == NULL)
            return hfo_err_set(err, HFO_ERR_NOMEM, "out of memory");
        set->v = v;
        set->cap = cap;
    }
    uint32_t *copy = malloc(n * 4);
    if (copy == NULL)
        return hfo_err_set(err, HFO_ERR_NOMEM, "out of memory");
    memcpy(copy, cps, n * 4);
    set->v[set->len++] = (hfo_added){copy, n, id, flags};
    uint32_t f = cps[0] & 0xFFFF;
    set->first_bits[f >> 6] |= 1ULL << (f & 63);
    if (set->len == 1)
        set->one_first = cps[0];
    else if (set->one_first != cps[0])
        set->one_first = UINT32_MAX;
    return HFO_OK;
}

void hfo_added_free(hfo_added_set *set)
{
    for (size_t i = 0; i < set->len; i++)
        free(set->v[i].cps);
    free(set->v);
    memset(set, 0, sizeof *set);
}

static hfo_status segs_push(hfo_segs *s, size_t start, size_t end, int32_t id, hfo_err *err)
{
    if (s->len == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        hfo_seg *v = realloc(s->v, cap * sizeof *v);
        if (v == NULL)
            return hfo_err_set(err, HFO_ERR_NOMEM, "out of memory");
        s->v = v;
        s->cap = cap;
    }
    s->v[s->len++] = (hfo_seg){start, end, id};
    return HFO_OK;
}

/* The first index >= i where an added token may start: with one first
 * character for all ("[" for BERT, "<" for T5), a memchr-style scan. */
static inline size_t next_start(const hfo_added_set *set, const hfo_text *t, size_t i)
{
    size_t n = t->len;
    uint32_t c0 = set->one_first;
    if (set->len == 0)
        return n;
    if (c0 != UINT32_MAX) {
        if (t->kind == 1) {
            if (c0 > 0xFF)
                return n;
            const uint8_t *p = t->data, *q = memchr(p + i, (int)c0, n - i);
            return q ? (size_t)(q - p) : n;
        }
        while (i < n && hfo_text_at(t, i) != c0)
            i++;
        return i;
    }
    for (; i < n; i++) {
        uint32_t f = hfo_text_at(t, i) & 0xFFFF;
        if (set->first_bits[f >> 6] & (1ULL << (f & 63)))
            break;
    }
    return i;
}

static inline int is_ws(uint32_t c)
{
    return (hfo_uc_flags(c) & HFO_UC_WHITESPACE) != 0;
}

hfo_status hfo_added_split(const hfo_added_set *set, int normalized, int skip_special,
                           const hfo_text *t, hfo_segs *out, hfo_err *err)
{
    size_t n = t->len, start_offset = 0;
    out->len = 0;
    unsigned want = normalized ? HFO_ADDED_NORMALIZED : 0;
    for (size_t i = 0; i < n;) {
        if ((i = next_start(set, t, i)) >= n)
            break;
        uint32_t c = hfo_text_at(t, i);
        const hfo_added *best = NULL;
        for (size_t k = 0; k < set->len; k++) {
            const hfo_added *a = &set->v[k];
            if ((a->flags & HFO_ADDED_NORMALIZED) != want || a->cps[0] != c || a->n > n - i)
                continue;
            if (best && a->n <= best->n)
                continue;
            size_t m = 1;
            while (m < a->n && hfo_text_at(t, i + m) == a->cps[m])
                m++;
            if (m == a->n)
                best = a;
        }
        if (best == NULL) {
            i++;
            continue;
        }
        size_t start = i, stop = i + best->n;
        if (skip_special && (best->flags & HFO_ADDED_SPECIAL)) {
            /* the reference (encode_special_tokens) drops the match; the
             * automaton resumes after it, the text stays plain */
            i = stop;
            continue;
        }
        if (best->flags & HFO_ADDED_SINGLE_WORD) {
            /* the reference's ends_with_word / starts_with_word: regex \w */
            int start_space = start == 0 || !hfo_uc_is_word(hfo_text_at(t, start - 1));
            int stop_space = stop == n || !hfo_uc_is_word(hfo_text_at(t, stop));
            if (!start_space || !stop_space) {
                /* the automaton resumes after the discarded match */
                i = stop;
                continue;
            }
        }
        if (best->flags & HFO_ADDED_LSTRIP) {
            size_t ns = start;
            while (ns > 0 && is_ws(hfo_text_at(t, ns - 1)))
                ns--;
            start = ns > start_offset ? ns : start_offset;
        }
        if (best->flags & HFO_ADDED_RSTRIP) {
            while (stop < n && is_ws(hfo_text_at(t, stop)))
                stop++;
        }
        if (start_offset < start && segs_push(out, start_offset, start, -1, err))
            return err->code;
        if (segs_push(out, start, stop, best->id, err))
            return err->code;
        start_offset = stop;
        i = stop > i + best->n ? stop : i + best->n;
    }
    if (start_offset < n && segs_push(out, start_offset, n, -1, err))
        return err->code;
    return HFO_OK;
}
