/* normalizer_bert.c: BertNormalizer (tokenizers/src/normalizers/bert.rs).
 *
 * Stages, in the reference's order, each switchable: clean_text (drop NUL,
 * U+FFFD and control characters, whitespace -> ' '), handle_chinese_chars
 * (' ' around CJK ideographs), strip_accents (NFD, drop Mn), lowercase.
 * All four are per character, so they run in one pass; the one non-local
 * step, NFD's canonical reordering of combining marks, runs afterwards over
 * the marks NFD produced. */
#include "tok_internal.h"
#include "unicode.h"

#include <stdlib.h>

typedef struct bert_norm {
    hfo_normalizer base;
    int clean_text, chinese, strip_accents, lowercase;
} bert_norm;

/* Canonical ordering (stable sort by ccc within runs of non-starters) over
 * ns[from, len), moving alignments with their characters. */
static void reorder_marks(hfo_norm *ns, size_t from)
{
    size_t i = from;
    while (i < ns->len) {
        if (hfo_uc_ccc(ns->cp[i]) == 0) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < ns->len && hfo_uc_ccc(ns->cp[j]) != 0)
            j++;
        /* insertion sort of [i, j) by ccc, stable */
        for (size_t k = i + 1; k < j; k++) {
            uint32_t c = ns->cp[k], s = ns->os[k], e = ns->oe[k];
            int cc = hfo_uc_ccc(c);
            size_t m = k;
            while (m > i && hfo_uc_ccc(ns->cp[m - 1]) > cc) {
                ns->cp[m] = ns->cp[m - 1];
                ns->os[m] = ns->os[m - 1];
                ns->oe[m] = ns->oe[m - 1];
                m--;
            }
            ns->cp[m] = c;
            ns->os[m] = s;
            ns->oe[m] = e;
        }
        i = j;
    }
}

static hfo_status bert_run(const hfo_normalizer *self_, const hfo_text *t, size_t begin,
                           size_t end, hfo_norm *out, hfo_err *err)
{
    const bert_norm *self = (const bert_norm *)self_;
    size_t start_len = out->len;
    int saw_mark = 0;
    for (size_t i = begin; i < end; i++) {
        uint32_t c = hfo_text_at(t, i);
        uint32_t s = (uint32_t)i, e = (uint32_t)i + 1;
        /* worst case per input char: 3 (CJK) or NFD (<= 8) x lower (<= 3) */
        if (out->len + 32 > out->cap && hfo_norm_grow(out, 32, err))
            return err->code;
        if (c < 0x80) {
            /* ASCII: no NFD, no CJK, simple lowercase */
            unsigned f = hfo_uc_flags(c);
            if (self->clean_text) {
                if (c == 0 || (f & HFO_UC_CONTROL))
                    continue;
                if (f & HFO_UC_WHITESPACE)
                    c = ' ';
            }
            if (self->lowercase && c >= 'A' && c <= 'Z')
                c += 32;
            hfo_norm_push(out, c, s, e);
            continue;
        }
        if (c >= 0xD800 && c <= 0xDFFF)
            return hfo_err_surrogate(err, c, i);
        unsigned f = hfo_uc_flags(c);
        if (self->clean_text) {
            if (c == 0xFFFD || (f & HFO_UC_CONTROL))
                continue;
            if (f & HFO_UC_WHITESPACE)
                c = ' ', f = hfo_uc_flags(' ');
        }
        int cjk = self->chinese && (f & HFO_UC_CJK);
        if (cjk)
            hfo_norm_push(out, ' ', s, e);
        uint32_t dec[HFO_UC_MAX_EXPANSION];
        size_t nd = 1;
        dec[0] = c;
        if (self->strip_accents)
            nd = hfo_uc_nfd(c, dec);
        for (size_t k = 0; k < nd; k++) {
            uint32_t d = dec[k];
            if (self->strip_accents) {
                if (hfo_uc_flags(d) & HFO_UC_MN)
                    continue;
                if (!saw_mark && hfo_uc_ccc(d) != 0)
                    saw_mark = 1;
            }
            if (self->lowercase) {
                uint32_t low[3];
                size_t nl = hfo_uc_lower(d, low);
                for (size_t m = 0; m < nl; m++)
                    hfo_norm_push(out, low[m], s, e);
            } else {
                hfo_norm_push(out, d, s, e);
            }
        }
        if (cjk)
            hfo_norm_push(out, ' ', s, e);
    }
    if (saw_mark)
        reorder_marks(out, start_len);
    return HFO_OK;
}

static void bert_free(hfo_normalizer *self)
{
    free(self);
}

hfo_normalizer *hfo_normalizer_bert_new(int clean_text, int handle_chinese_chars,
                                        int strip_accents, int lowercase)
{
    bert_norm *n = calloc(1, sizeof *n);
    if (n == NULL)
        return NULL;
    n->base.run = bert_run;
    n->base.free = bert_free;
    n->clean_text = clean_text;
    n->chinese = handle_chinese_chars;
    n->strip_accents = strip_accents;
    n->lowercase = lowercase;
    return &n->base;
}
