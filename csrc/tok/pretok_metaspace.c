/* pretok_metaspace.c: WhitespaceSplit followed by Metaspace
 * (tokenizers/src/pre_tokenizers/whitespace.rs WhitespaceSplit and
 * metaspace.rs), the pre-tokenizer transformers' T5 tokenizer uses:
 *   1. (whitespace_split) split at Unicode White_Space, which is dropped;
 *   2. ' ' -> replacement (U+2581 '▁');
 *   3. prepend the replacement to each word not already starting with it:
 *      always; "first": only to a word whose original offset is 0 (so not
 *      after an added token, nor after leading spaces); never;
 *   4. (split) split at each replacement, which starts the next piece.
 * The prepended '▁' is aligned to the word's first character, as
 * NormalizedString::prepend does, so a lone "▁" token reports the offsets
 * of the character after it. */
#include "spm.h"
#include "tok_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct metaspace {
    hfo_pretok base;
    uint32_t repl;
    int prepend, split, ws_split;
} metaspace;

/* Rust's char::is_whitespace (White_Space) */
static inline int is_white(uint32_t c)
{
    if (c > 0x20 && c < 0x80)
        return 0;
    if (c < 0x80)
        return c == ' ' || (c >= 0x09 && c <= 0x0D);
    return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
           c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

static hfo_status ms_split(const hfo_pretok *self_, hfo_norm *ns, hfo_spans *words, hfo_err *err)
{
    const metaspace *self = (const metaspace *)self_;
    uint32_t repl = self->repl;
    size_t n = ns->len, first = words->len;
    size_t n_prefix = 0, extra = 0;
    int prepend = self->prepend;
    /* 1-3 in one pass: words as spans of ns, which of them get a prefix
     * (marked in the span end's top bit, free as lengths are < 2^31), and
     * how many more pieces splitting at the replacement makes */
    if (self->ws_split) {
        const uint32_t *cp = ns->cp;
        size_t i = 0;
        for (;;) {
            while (i < n && is_white(cp[i]))
                i++;
            if (i == n)
                break;
            size_t s = i++;
            for (; i < n; i++) {
                uint32_t c = cp[i];
                if (c > 0x20 && c < 0x7F)
                    continue;  /* printable ASCII: neither white nor the replacement */
                if (is_white(c))
                    break;
                extra += c == repl;
            }
            int pre = prepend != HFO_PREPEND_NEVER && cp[s] != repl &&
                      (prepend == HFO_PREPEND_ALWAYS || ns->os[s] == 0);
            n_prefix += (size_t)pre;
            if (hfo_spans_push(words, (uint32_t)s, (uint32_t)i | (pre ? 0x80000000u : 0), err))
                return err->code;
        }
    } else if (n) {
        for (size_t i = 0; i < n; i++) {
            if (ns->cp[i] == ' ')
                ns->cp[i] = repl;
            extra += i > 0 && ns->cp[i] == repl;
        }
        int pre = prepend != HFO_PREPEND_NEVER && ns->cp[0] != repl &&
                  (prepend == HFO_PREPEND_ALWAYS || ns->os[0] == 0);
        n_prefix = (size_t)pre;
        if (hfo_spans_push(words, 0, (uint32_t)n | (pre ? 0x80000000u : 0), err))
            return err->code;
    }
    if (!self->split)
        extra = 0;
    size_t nw = words->len - first;
    if (n_prefix) {
        if (hfo_norm_grow(ns, n_prefix, err))
            return err->code;
        /* move words right, last first, inserting the prefixes */
        size_t shift = n_prefix;
        for (size_t w = words->len; w-- > first;) {
            hfo_span sp = words->v[w];
            int pre = (sp.end & 0x80000000u) != 0;
            sp.end &= 0x7FFFFFFFu;
            size_t len = sp.end - sp.start;
            if (shift) {
                memmove(ns->cp + sp.start + shift, ns->cp + sp.start, len * 4);
                memmove(ns->os + sp.start + shift, ns->os + sp.start, len * 4);
                memmove(ns->oe + sp.start + shift, ns->oe + sp.start, len * 4);
            }
            size_t ns_start = sp.start + shift;
            if (pre) {
                shift--;
                ns->cp[ns_start - 1] = repl;
                ns->os[ns_start - 1] = ns->os[ns_start];
                ns->oe[ns_start - 1] = ns->oe[ns_start];
                words->v[w].start = (uint32_t)(ns_start - 1);
            } else {
                words->v[w].start = (uint32_t)ns_start;
            }
            words->v[w].end = (uint32_t)(ns_start + len);
        }
        ns->len = n + n_prefix;
    }
    /* 4: split at the replacement (MergedWithNext) */
    if (extra == 0)
        return HFO_OK;
    hfo_span *copy = malloc(nw * sizeof *copy);
    if (copy == NULL)
        return hfo_err_set(err, HFO_ERR_NOMEM, "out of memory");
    memcpy(copy, words->v + first, nw * sizeof *copy);
    words->len = first;
    hfo_status st = HFO_OK;
    for (size_t w = 0; w < nw && st == HFO_OK; w++) {
        size_t s = copy[w].start, e = copy[w].end;
        for (size_t i = s + 1; i < e && st == HFO_OK; i++) {
            if (ns->cp[i] == repl) {
                st = hfo_spans_push(words, (uint32_t)s, (uint32_t)i, err);
                s = i;
            }
        }
        if (st == HFO_OK)
            st = hfo_spans_push(words, (uint32_t)s, (uint32_t)e, err);
    }
    free(copy);
    return st;
}

static void ms_free(hfo_pretok *self)
{
    free(self);
}

hfo_pretok *hfo_pretok_metaspace_new(uint32_t replacement, int prepend_scheme, int split,
                                     int whitespace_split)
{
    metaspace *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->base.split = ms_split;
    m->base.free = ms_free;
    m->repl = replacement;
    m->prepend = prepend_scheme;
    m->split = split;
    m->ws_split = whitespace_split;
    return &m->base;
}

void hfo_pretok_free(hfo_pretok *n)
{
    if (n)
        n->free(n);
}
