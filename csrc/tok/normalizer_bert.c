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
    uint8_t ascii[128];   /* what each ASCII character becomes, or HFO_BERT_DROP */
} bert_norm;

static hfo_status bert_run(const hfo_normalizer *self_, const hfo_text *t, size_t begin,
                           size_t end, hfo_norm *out, hfo_err *err);

/* Canonical ordering (stable sort by ccc within runs of non-starters) over
 * ns[from, len), moving alignments with their characters. */
void hfo_norm_reorder_marks(hfo_norm *ns, size_t from)
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

/* The normalized form of one non-ASCII, non-surrogate code point: 0 to
 * HFO_BERT_MAX_OUT code points in out; *mark is set when one of them is a
 * combining mark that canonical ordering may move (strip_accents only). */
size_t hfo_bert_norm_char(const hfo_normalizer *self_, uint32_t c, uint32_t *out, int *mark)
{
    const bert_norm *self = (const bert_norm *)self_;
    unsigned f = hfo_uc_flags(c);
    size_t n = 0;
    if (self->clean_text) {
        if (c == 0xFFFD || (f & HFO_UC_CONTROL))
            return 0;
        if (f & HFO_UC_WHITESPACE)
            c = ' ', f = hfo_uc_flags(' ');
    }
    int cjk = self->chinese && (f & HFO_UC_CJK);
    if (cjk)
        out[n++] = ' ';
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
            if (hfo_uc_ccc(d) != 0)
                *mark = 1;
        }
        if (self->lowercase)
            n += hfo_uc_lower(d, out + n);
        else
            out[n++] = d;
    }
    if (cjk)
        out[n++] = ' ';
    return n;
}

const uint8_t *hfo_bert_norm_ascii(const hfo_normalizer *self)
{
    return self->run == bert_run ? ((const bert_norm *)self)->ascii : NULL;
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
        if (out->len + HFO_BERT_MAX_OUT > out->cap && hfo_norm_grow(out, HFO_BERT_MAX_OUT, err))
            return err->code;
        if (c < 0x80) {
            if (self->ascii[c] != HFO_BERT_DROP)
                hfo_norm_push(out, self->ascii[c], s, e);
            continue;
        }
        if (c >= 0xD800 && c <= 0xDFFF)
            return hfo_err_surrogate(err, c, i);
        uint32_t buf[HFO_BERT_MAX_OUT];
        size_t n = hfo_bert_norm_char(self_, c, buf, &saw_mark);
        for (size_t k = 0; k < n; k++)
            hfo_norm_push(out, buf[k], s, e);
    }
    if (saw_mark)
        hfo_norm_reorder_marks(out, start_len);
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
    for (uint32_t c = 0; c < 128; c++) {
        /* ASCII: no NFD, no CJK, simple lowercase */
        unsigned f = hfo_uc_flags(c);
        uint32_t o = c;
        if (clean_text && (c == 0 || (f & HFO_UC_CONTROL)))
            o = HFO_BERT_DROP;
        else if (clean_text && (f & HFO_UC_WHITESPACE))
            o = ' ';
        else if (lowercase && c >= 'A' && c <= 'Z')
            o = c + 32;
        n->ascii[c] = (uint8_t)o;
    }
    return &n->base;
}
