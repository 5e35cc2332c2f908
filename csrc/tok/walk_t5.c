/* walk_t5.c: the Precompiled normalizer, WhitespaceSplit + Metaspace and the
 * model fused into one pass over the raw text (T5 and the other
 * SentencePiece Unigram tokenizers transformers builds).
 *
 * The normalizer goes step by step (normalizer_precompiled.c's steps and
 * streaming alignment, the code its own run uses), and WhitespaceSplit only
 * looks at each output character, so a word is collected in ws->ns (with
 * its alignment) and handed to the model the moment whitespace or the end
 * comes.  Slot 0 of ws->ns is kept for Metaspace's prefix, decided when the
 * word is complete (it takes the first character's final alignment, and
 * prepend_scheme "first" looks at it); the word is then cut at each
 * replacement character when `split` is on.  A character that is plain and
 * unchanged (hfo_pc_plain, hfo_pc_same) before another plain one is its own
 * cluster and is copied as it is: most text takes that path.  A plain word,
 * such a run of at most HFO_WC_MAX_CHARS ASCII characters from a space (or
 * the text's start) to a space before a plain character (or the end), is
 * looked up in this thread's word cache (word_cache.c) first.  The result is
 * the stage-by-stage walk's, which tokenizer.c keeps for other pipelines and
 * for normalized added tokens. */
#include "spm.h"
#include "tok_internal.h"

#if defined(__SSE2__)
#include <emmintrin.h>

/* The run of printable ASCII characters other than the space at p[0, 16)
 * (1-byte text): its length (16: it may go on) and its bytes in key, zero
 * past the run.  One compare per bound, no branch per character. */
static inline size_t printable_run16(const uint8_t *p, uint64_t key[2])
{
    __m128i v = _mm_loadu_si128((const __m128i *)p);
    /* bytes >= 0x80 are negative here: below the lower bound */
    __m128i in = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(0x20)),
                               _mm_cmplt_epi8(v, _mm_set1_epi8(0x7F)));
    unsigned m = (unsigned)_mm_movemask_epi8(in);
    size_t n = (size_t)__builtin_ctz(~m);   /* bit 16 of ~m is set: n <= 16 */
    _mm_storeu_si128((__m128i *)key, v);
    if (n < 16)
        hfo_wc_key_cut(key, n);
    return n;
}
#endif

typedef struct t5_walk {
    const hfo_tok *tok;
    hfo_ws *ws;
    const hfo_tok_sink *sink;
    uint32_t repl;
    int prepend, split;
} t5_walk;

int hfo_walk_t5_applies(const hfo_tok *tok)
{
    uint32_t repl;
    int prepend, split, ws_split;
    return !tok->has_norm_added && hfo_pc_same(tok->normalizer) &&
           hfo_pretok_metaspace_get(tok->pretok, &repl, &prepend, &split, &ws_split) && ws_split;
}

/* The model's pieces of w[a, b), to the sink. */
static hfo_status tokenize_part(const t5_walk *k, const hfo_norm *w, size_t a, size_t b, hfo_err *err)
{
    hfo_ws *ws = k->ws;
    ws->pieces.len = 0;
    if (k->tok->model->tokenize(k->tok->model, w->cp + a, b - a, &ws->pieces, err) ||
        k->sink->word(k->sink->ctx, w, (uint32_t)a, &ws->pieces, err))
        return err->code;
    return HFO_OK;
}

/* The collected word (ws->ns[1, len)): prefix, split, model; then empty. */
static hfo_status flush(const t5_walk *k, hfo_err *err)
{
    hfo_norm *w = &k->ws->ns;
    size_t n = w->len;
    w->len = 0;
    if (n <= 1)
        return HFO_OK;
    size_t a = 1;
    if (hfo_metaspace_prepends(k->prepend, k->repl, w->cp[1], w->os[1])) {
        w->cp[0] = k->repl;
        w->os[0] = w->os[1];
        w->oe[0] = w->oe[1];
        a = 0;
    }
    if (k->split) {
        for (size_t i = a + 1; i < n; i++) {
            if (w->cp[i] == k->repl) {
                if (tokenize_part(k, w, a, i, err))
                    return err->code;
                a = i;
            }
        }
    }
    return tokenize_part(k, w, a, n, err);
}

/* The plain word of n characters (bytes in key) whose first character is
 * at original offset s0: its tokens from the cache, else collected and
 * flushed as any word (and its tokens then kept).  ws->ns is empty; the
 * sink takes plain words.  Its characters are unchanged and each a cluster,
 * so character q sits at s0 + q, and Metaspace's prefix, when the word
 * takes one (as flush decides), at the first character's place. */
static hfo_status plain_word(const t5_walk *k, hfo_wc *cache, const uint64_t key[2], size_t n,
                             uint32_t s0, hfo_err *err)
{
    hfo_norm *w = &k->ws->ns;
    int pre = hfo_metaspace_prepends(k->prepend, k->repl, (uint32_t)(key[0] & 0xFF), s0);
    /* the flag says whether the prefix is in: the key alone cannot (a word
     * ending in NUL has the key of the word without it) */
    uint32_t tag = hfo_wc_tag(k->tok->model->word_tag, pre, n);
    hfo_wc_set *set = hfo_wc_set_of(cache, tag, key);
    const hfo_wc_entry *e = hfo_wc_find(set, tag, key);
    int hit = e != NULL;
    /* the model keeps its own cache of words, so a miss here costs more
     * than it would in BERT's walk: where most words miss (text of many
     * languages), the walk stops asking for a while */
    hfo_wc_count(cache, hit);
    if (hit && (!pre || e->end[0] >= 2)) {
        /* in characters: the prefix goes with the first token */
        uint8_t ends[HFO_WC_MAX_TOK];
        int32_t id[HFO_WC_MAX_TOK];
        for (size_t q = 0; q < e->n_tok; q++)
            ends[q] = (uint8_t)(e->end[q] - (pre ? 1 : 0));
        hfo_wc_ids(e, id);
        return k->sink->plain(k->sink->ctx, s0, id, ends, e->n_tok, err);
    }
    if (w->cap < n + 2 && hfo_norm_grow(w, n + 2, err))
        return err->code;
    for (size_t q = 0; q < n; q++) {   /* slot 0 is the prefix's */
        w->cp[q + 1] = (uint32_t)(key[q >> 3] >> (8 * (q & 7))) & 0xFF;
        w->os[q + 1] = s0 + (uint32_t)q;
        w->oe[q + 1] = s0 + (uint32_t)q + 1;
    }
    w->len = n + 1;
    if (flush(k, err))   /* one part: the replacement is not ASCII */
        return err->code;
    if (!hit)   /* (a hit it could not use is in the set already) */
        hfo_wc_put(set, tag, key, n + (pre ? 1 : 0), &k->ws->pieces);
    return HFO_OK;
}

/* One normalized character: whitespace ends the word, anything else joins it. */
static inline hfo_status put(const t5_walk *k, hfo_norm *w, uint32_t c, uint32_t s, uint32_t e,
                             int *in_word, hfo_err *err)
{
    if (hfo_is_white_space(c)) {
        *in_word = 0;
        return flush(k, err);
    }
    if (w->len + 2 > w->cap && hfo_norm_grow(w, 64, err))
        return err->code;
    if (w->len == 0)
        w->len = 1;   /* the prefix's slot */
    hfo_norm_push(w, c, s, e);
    *in_word = 1;
    return HFO_OK;
}

static inline __attribute__((always_inline)) hfo_status
walk(const t5_walk *k, const hfo_text *t, int kind, size_t begin, size_t end, hfo_err *err)
{
    const uint8_t *d1 = t->data;
    const uint16_t *d2 = t->data;
    const uint32_t *d4 = t->data;
#define AT(i) (kind == 1 ? d1[i] : kind == 2 ? d2[i] : d4[i])
    const hfo_normalizer *nz = k->tok->normalizer;
    const uint64_t *same = hfo_pc_same(nz), *word = hfo_pc_word(nz);
    hfo_norm *w = &k->ws->ns;
    hfo_pc_align al;
    hfo_pc_align_init(&al, begin, end);
    hfo_pc_step st;
    hfo_pc_step_init(&st);
    hfo_status r = HFO_OK;
    size_t per_char_end = 0;
    int in_word = 0;   /* the last output character is w's last */
    w->len = 0;
    /* plain words through the cache, when the space that ends them is
     * itself plain and unchanged (so it only ends the word) */
    hfo_wc *cache = NULL;
    if (k->tok->model->word_tag && k->sink->plain != NULL && hfo_bit(same, ' ') &&
        hfo_bit(hfo_pc_plain, ' ') && k->repl >= 0x80)
        cache = hfo_wc_table();   /* (an ASCII replacement could be in a plain word: split there) */
    /* every printable ASCII character but the space is a word character:
     * 1-byte text finds its plain words sixteen bytes at a time */
    const uint64_t print_lo = ~0ULL << 0x21, print_hi = ~0ULL >> 1;   /* 0x21-0x3F, 0x40-0x7E */
    int by16 = kind == 1 && (word[0] & print_lo) == print_lo && (word[1] & print_hi) == print_hi;
    (void)by16;
    size_t i = begin;
    while (i < end) {
        uint32_t c = AT(i);
        if (cache != NULL && c < 0x80 && w->len == 0 && hfo_bit(word, c) && hfo_wc_try(cache)) {
            uint64_t key[2] = {c, 0};
            size_t j = i + 1;
#if defined(__SSE2__)
            if (by16 && i + 16 <= t->len) {
                /* any other word character fails the edge below */
                size_t n = printable_run16((const uint8_t *)t->data + i, key);
                if (n > end - i) {   /* the rest is another segment's */
                    n = end - i;
                    hfo_wc_key_cut(key, n);
                }
                j = i + n;   /* n >= 1: c is printable */
            } else
#endif
            {
                while (j < end && j - i < HFO_WC_MAX_CHARS) {
                    uint32_t d = AT(j);
                    if (d >= 0x80 || !hfo_bit(word, d))
                        break;
                    size_t q = j - i;
                    key[q >> 3] |= (uint64_t)d << (8 * (q & 7));
                    j++;
                }
            }
            if (j > i && (j == end || (AT(j) == ' ' && (j + 1 == end || hfo_bit(hfo_pc_plain, AT(j + 1)))))) {
                if ((r = plain_word(k, cache, key, j - i, (uint32_t)(begin + al.j), err)))
                    goto model_failed;
                hfo_pc_align_run(&al, j - i);
                in_word = 0;
                i = j;
                continue;
            }
        }
        if (hfo_bit(word, c)) {
            /* a run of characters no rule changes, none whitespace: each a
             * cluster alone (they are plain) unless what follows the run
             * joins its last character */
            size_t j = i + 1;
            while (j < end && hfo_bit(word, AT(j)))
                j++;
            if (j < end && !hfo_bit(hfo_pc_plain, AT(j)))
                j--;
            if (j > i) {
                size_t m = j - i;
                if (w->len + m + 2 > w->cap && hfo_norm_grow(w, m + 64, err)) {
                    r = err->code;
                    goto done;
                }
                if (w->len == 0)
                    w->len = 1;   /* the prefix's slot */
                uint32_t s0 = (uint32_t)(begin + al.j);
                uint32_t *cp = w->cp + w->len, *os = w->os + w->len, *oe = w->oe + w->len;
                for (size_t q = 0; q < m; q++) {
                    cp[q] = AT(i + q);
                    os[q] = s0 + (uint32_t)q;
                    oe[q] = s0 + (uint32_t)q + 1;
                }
                w->len += m;
                hfo_pc_align_run(&al, m);
                in_word = 1;
                i = j;
                continue;
            }
        }
        int single = hfo_bit(hfo_pc_plain, c);
        if (single && i + 1 < end) {
            uint32_t d = AT(i + 1);
            single = hfo_bit(hfo_pc_plain, d) && !(c == '\r' && d == '\n');
        }
        if (single && hfo_bit(same, c)) {
            /* a cluster alone, unchanged (hfo_pc_align_next with change 0) */
            al.have_prev = 1;
            al.prev_ch = 0;
            al.prev_j = al.j;
            uint32_t s = (uint32_t)(begin + al.j++);
            if ((r = put(k, w, c, s, s + 1, &in_word, err)))
                goto model_failed;
            i++;
            continue;
        }
        if (single) {   /* plain characters are BMP and no surrogates */
            r = hfo_pc_step_char(nz, c, &st, err);
            st.old = 1;
            st.next = i + 1;
        } else {
            r = hfo_pc_step_at(nz, t, i, end, &per_char_end, &st, err);
        }
        if (r)
            goto done;
        for (size_t q = 0; q < st.n; q++) {
            uint32_t s, e;
            hfo_pc_align_next(&al, hfo_pc_change(q, st.n, st.old), &s, &e);
            if ((r = put(k, w, st.cp[q], s, e, &in_word, err)))
                goto model_failed;
        }
        uint32_t s, e;
        if (st.n == 0 && hfo_pc_align_removed(&al, st.old, &s, &e) && in_word) {
            w->os[w->len - 1] = s;
            w->oe[w->len - 1] = e;
        }
        i = st.next;
    }
    r = flush(k, err);
    goto done;
model_failed:
    /* the stages would have met a lone surrogate further on first */
    if (r == HFO_ERR_CONFIG) {
        for (size_t q = i; q < end; q++) {
            uint32_t d = AT(q);
            if (d >= 0xD800 && d <= 0xDFFF) {
                r = hfo_err_surrogate(err, d, q);
                break;
            }
        }
    }
#undef AT
done:
    hfo_pc_step_free(&st);
    return r;
}

hfo_status hfo_walk_t5(const hfo_tok *tok, hfo_ws *ws, const hfo_text *t, size_t begin,
                       size_t end, const hfo_tok_sink *sink, hfo_err *err)
{
    t5_walk k = {tok, ws, sink, 0, 0, 0};
    int ws_split;
    hfo_pretok_metaspace_get(tok->pretok, &k.repl, &k.prepend, &k.split, &ws_split);
    switch (t->kind) {
    case 1: return walk(&k, t, 1, begin, end, err);
    case 2: return walk(&k, t, 2, begin, end, err);
    default: return walk(&k, t, 4, begin, end, err);
    }
}
