/* normalizer_bert.c: BertNormalizer (tokenizers/src/normalizers/bert.rs).
 *
 * Stages, in the reference's order, each switchable: clean_text (drop NUL,
 * U+FFFD and control characters, whitespace -> ' '), handle_chinese_chars
 * (' ' around CJK ideographs), strip_accents (NFD, drop Mn), lowercase.
 * All four are per character, so they run in one pass; the one non-local
 * step, NFD's canonical reordering of combining marks, runs afterwards over
 * the marks NFD produced.  The reference strips accents after NFD has
 * reordered the whole text, and its alignments stay in place while the
 * characters move, so a stripped mark can still shift the alignment of a
 * kept one: stripped marks that canonical ordering may move are therefore
 * kept, flagged HFO_MARK_STRIP, until the reordering has run. */
#include "tok_internal.h"
#include "unicode.h"

#include <stdatomic.h>
#include <stdlib.h>

typedef struct bert_norm {
    hfo_normalizer base;
    int clean_text, chinese, strip_accents, lowercase;
    uint8_t ascii[128];   /* what each ASCII character becomes, or HFO_BERT_DROP */
    int scan_ok;          /* hfo_bert_norm_scan_ok */
    /* What hfo_bert_norm_char made of each code point below 0x10000 so far
     * (memo_*), or NULL: the per-character Unicode lookups (decomposition,
     * case, combining class) cost more than the rest of the walk in text
     * of other scripts.  Threads fill it as they meet characters; a slot
     * is written whole, with the same value by whoever computes it. */
    _Atomic uint64_t *memo;
} bert_norm;

/* A memo slot: known; too long to keep (call again); else the output's
 * length (at most 2), *mark's bits, and each output code point in 22 bits
 * (21 of the code point, then HFO_MARK_STRIP). */
#define MEMO_KNOWN (1ULL << 63)
#define MEMO_CALL (1ULL << 62)
#define MEMO_N_SHIFT 60
#define MEMO_MARK_SHIFT 58
#define MEMO_CP_BITS 22

static hfo_status bert_run(const hfo_normalizer *self_, const hfo_text *t, size_t begin,
                           size_t end, hfo_norm *out, hfo_err *err);

#define MARK_INSERTED 0x40000000u   /* a decomposition's later character (this file only) */
#define MARK_CP 0x1FFFFFu

static inline int ccc_of(uint32_t c)
{
    return hfo_uc_ccc(c & MARK_CP);
}

/* Canonical ordering (stable sort by ccc within runs of non-starters) over
 * ns[from, len), then the stripped marks removed, with the alignments the
 * reference's transform gives: its NFD yields the reordered characters, each
 * still tagged with its change (0, or +1 for a decomposition's later
 * characters), and the transform hands the original characters' alignments
 * out in order: a character with change 0 takes the next one, an inserted
 * character repeats the last one taken.  Stripping then removes a character
 * with the alignment it got. */
void hfo_norm_reorder_marks(hfo_norm *ns, size_t from, int marks)
{
    size_t i = (marks & HFO_MARKS_REORDER) ? from : ns->len;
    while (i < ns->len) {
        if (ccc_of(ns->cp[i]) == 0) {
            i++;
            continue;
        }
        /* the run [i, j); each original character's alignment (one per
         * character not inserted) moved in order to the front, [i, i + m) */
        uint32_t before_s = ns->os[i > from ? i - 1 : i], before_e = ns->oe[i > from ? i - 1 : i];
        uint32_t prev_s = before_s, prev_e = before_e;
        int have_prev = i > from;
        size_t j = i, n_slots = 0;
        while (j < ns->len && ccc_of(ns->cp[j]) != 0) {
            uint32_t s = ns->os[j], e = ns->oe[j];
            if (have_prev && s == prev_s && e == prev_e) {
                ns->cp[j] |= MARK_INSERTED;
            } else {
                ns->os[i + n_slots] = s;
                ns->oe[i + n_slots] = e;
                n_slots++;
            }
            prev_s = s;
            prev_e = e;
            have_prev = 1;
            j++;
        }
        /* insertion sort of [i, j) by ccc, stable */
        for (size_t k = i + 1; k < j; k++) {
            uint32_t c = ns->cp[k];
            int cc = ccc_of(c);
            size_t m = k;
            while (m > i && ccc_of(ns->cp[m - 1]) > cc) {
                ns->cp[m] = ns->cp[m - 1];
                m--;
            }
            ns->cp[m] = c;
        }
        /* hand the alignments out, from the end: position k gets the last
         * slot taken by positions [i, k] (q of them), which lies at or
         * before k and so is not yet overwritten */
        size_t q = n_slots;
        for (size_t k = j; k-- > i;) {
            uint32_t c = ns->cp[k];
            if (q == 0) {   /* an inserted character before any slot is taken */
                ns->os[k] = before_s;
                ns->oe[k] = before_e;
            } else {
                ns->os[k] = ns->os[i + q - 1];
                ns->oe[k] = ns->oe[i + q - 1];
            }
            if (!(c & MARK_INSERTED))
                q--;
            ns->cp[k] = c & ~MARK_INSERTED;
        }
        i = j;
    }
    if (!(marks & HFO_MARKS_STRIPPED))
        return;
    size_t o = from;
    for (size_t k = from; k < ns->len; k++) {
        if (ns->cp[k] & HFO_MARK_STRIP)
            continue;
        ns->cp[o] = ns->cp[k];
        ns->os[o] = ns->os[k];
        ns->oe[o] = ns->oe[k];
        o++;
    }
    ns->len = o;
}

/* The normalized form of one non-ASCII, non-surrogate code point: 0 to
 * HFO_BERT_MAX_OUT code points in out; with strip_accents, marks that
 * canonical ordering may move and strip_accents removes come out flagged
 * HFO_MARK_STRIP (hfo_norm_reorder_marks removes them; hfo_uc_flags of a
 * flagged value is 0, a word character), and *mark gets HFO_MARKS_* bits. */
size_t hfo_bert_norm_char_direct(const hfo_normalizer *self_, uint32_t c, uint32_t *out, int *mark)
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
            int moves = hfo_uc_ccc(d) != 0;
            if (hfo_uc_flags(d) & HFO_UC_MN) {
                if (moves) {   /* removed once the marks are in canonical order */
                    out[n++] = d | HFO_MARK_STRIP;
                    *mark |= HFO_MARKS_STRIPPED;
                }
                continue;
            }
            if (moves)
                *mark |= HFO_MARKS_REORDER;
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

size_t hfo_bert_norm_char(const hfo_normalizer *self_, uint32_t c, uint32_t *out, int *mark)
{
    const bert_norm *self = (const bert_norm *)self_;
    if (c >= 0x10000 || self->memo == NULL)
        return hfo_bert_norm_char_direct(self_, c, out, mark);
    uint64_t m = atomic_load_explicit(&self->memo[c], memory_order_relaxed);
    if ((m & (MEMO_KNOWN | MEMO_CALL)) == MEMO_KNOWN) {
        size_t n = (size_t)(m >> MEMO_N_SHIFT & 3);
        *mark |= (int)(m >> MEMO_MARK_SHIFT & 3);
        for (size_t k = 0; k < n; k++) {
            uint32_t v = (uint32_t)(m >> (MEMO_CP_BITS * k));
            out[k] = (v & 0x1FFFFF) | (v & 0x200000 ? HFO_MARK_STRIP : 0);
        }
        return n;
    }
    int mk = 0;
    size_t n = hfo_bert_norm_char_direct(self_, c, out, &mk);
    *mark |= mk;
    if (!(m & MEMO_KNOWN)) {
        m = MEMO_KNOWN;
        if (n <= 2 && mk <= 3) {
            m |= (uint64_t)n << MEMO_N_SHIFT | (uint64_t)mk << MEMO_MARK_SHIFT;
            for (size_t k = 0; k < n; k++)
                m |= (uint64_t)((out[k] & 0x1FFFFF) | (out[k] & HFO_MARK_STRIP ? 0x200000 : 0))
                     << (MEMO_CP_BITS * k);
        } else {
            m |= MEMO_CALL;
        }
        atomic_store_explicit(&self->memo[c], m, memory_order_relaxed);
    }
    return n;
}

int hfo_bert_norm_scan_ok(const hfo_normalizer *self)
{
    return self->run == bert_run && ((const bert_norm *)self)->scan_ok;
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
        hfo_norm_reorder_marks(out, start_len, saw_mark);
    return HFO_OK;
}

static void bert_free(hfo_normalizer *self)
{
    free((void *)((bert_norm *)self)->memo);
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
    n->memo = calloc(0x10000, sizeof *n->memo);   /* NULL: no memo; pages made as they are met */
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
    /* letters and digits kept (or the letters lowered), the space kept, tab,
     * line feed and carriage return kept as or made whitespace */
    int ok = n->ascii[' '] == ' ';
    for (uint32_t c = '0'; c <= '9'; c++)
        ok &= n->ascii[c] == c;
    for (uint32_t c = 'a'; c <= 'z'; c++)
        ok &= n->ascii[c] == c && n->ascii[c - 32] == (lowercase ? c : c - 32);
    for (const char *w = "\t\n\r"; *w; w++)
        ok &= n->ascii[(uint8_t)*w] != HFO_BERT_DROP &&
              (hfo_uc_flags(n->ascii[(uint8_t)*w]) & HFO_UC_WHITESPACE) != 0;
    n->scan_ok = ok;
    return &n->base;
}
