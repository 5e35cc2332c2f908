/* walk_bert.c: BertNormalizer, BertPreTokenizer and the model fused into
 * one pass over the raw text.
 *
 * Every BertNormalizer step maps one input character to zero or more output
 * characters, and BertPreTokenizer only looks at each output character's
 * class (whitespace ends a word, punctuation is a word of its own), so the
 * stages can run character by character: a word is collected in ws->ns
 * (with its alignment) and handed to the model the moment it ends.  The one
 * non-local step, NFD's canonical ordering of combining marks, never crosses
 * a word boundary (whitespace and punctuation are starters), so it runs per
 * word.  ASCII goes through two 128-entry tables; everything else through
 * hfo_bert_norm_char, the normalizer's own per-character code.  The result
 * is the stage-by-stage walk's, which tokenizer.c keeps for other
 * pipelines and for normalized added tokens.
 *
 * A plain word, a run of at most HFO_WC_MAX_CHARS ASCII characters that
 * stay in the word (letters, digits) from whitespace, punctuation or the
 * text's edge to the next, or an ASCII punctuation character, is looked up
 * in this thread's word cache (word_cache.c) by its normalized bytes first:
 * its characters map one to one, so a hit gives its tokens and their
 * offsets without normalizing the word or asking the model.  Text of one
 * byte per character (Latin-1, which holds ASCII) is read sixty-four bytes
 * at a time as bit masks of character classes (scan_bytes); a hit for the
 * encoding sink writes its tokens into the encoding there and then. */
#include "tok_internal.h"
#include "unicode.h"

#include <pthread.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

_Static_assert(HFO_WC_MAX_CHARS <= HFO_BERT_MAX_OUT, "a plain word fits the room the walk keeps");

enum { CLS_WORD = 0, CLS_SPACE = 1, CLS_PUNCT = 2 };

static inline int cls_of(uint32_t c)
{
    unsigned f = hfo_uc_flags(c);
    return (f & HFO_UC_WHITESPACE) ? CLS_SPACE : (f & HFO_UC_PUNCT) ? CLS_PUNCT : CLS_WORD;
}

/* cls_of each ASCII character */
static uint8_t ascii_cls[128];
static pthread_once_t ascii_cls_once = PTHREAD_ONCE_INIT;

#if defined(__SSE2__)
static int cls_simd_ok;
#endif

static void ascii_cls_init(void)
{
    for (uint32_t c = 0; c < 128; c++)
        ascii_cls[c] = (uint8_t)cls_of(c);
#if defined(__SSE2__)
    cls_simd_ok = 1;
    for (uint32_t c = ' '; c < 0x7F; c++) {
        int alnum = (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
        int want = c == ' ' ? CLS_SPACE : alnum ? CLS_WORD : CLS_PUNCT;
        if (ascii_cls[c] != want)
            cls_simd_ok = 0;
    }
#endif
}

/* ASCII c stays in the word it is in (normalized: ascii[c]). */
static inline int stays_in_word(const uint8_t *ascii, uint32_t c)
{
    return ascii[c] != HFO_BERT_DROP && ascii_cls[ascii[c]] == CLS_WORD;
}

/* Hand the collected word (ws->ns) to the model and the sink; empty it. */
static hfo_status flush(const hfo_tok *tok, hfo_ws *ws, int *mark, const hfo_tok_sink *sink,
                        hfo_err *err)
{
    hfo_norm *w = &ws->ns;
    if (w->len == 0)
        return HFO_OK;
    if (*mark) {
        hfo_norm_reorder_marks(w, 0, *mark);
        *mark = 0;
        if (w->len == 0)   /* only stripped marks */
            return HFO_OK;
    }
    ws->pieces.len = 0;
    if (tok->model->tokenize(tok->model, w->cp, w->len, &ws->pieces, err) ||
        sink->word(sink->ctx, w, 0, &ws->pieces, err))
        return err->code;
    w->len = 0;
    return HFO_OK;
}

/* One normalized code point c from input character i: added to the word,
 * or ending it (whitespace), or ending it and being a word of its own
 * (punctuation).  m: c may need canonical reordering. */
static inline __attribute__((always_inline)) hfo_status
feed(const hfo_tok *tok, hfo_ws *ws, uint32_t c, size_t i, int m, int *mark,
     const hfo_tok_sink *sink, hfo_err *err)
{
    int k = cls_of(c);
    if (k == CLS_WORD) {
        hfo_norm_push(&ws->ns, c, (uint32_t)i, (uint32_t)i + 1);
        *mark |= m;
        return HFO_OK;
    }
    if (flush(tok, ws, mark, sink, err))
        return err->code;
    if (k == CLS_SPACE)
        return HFO_OK;
    hfo_norm_push(&ws->ns, c, (uint32_t)i, (uint32_t)i + 1);
    return flush(tok, ws, mark, sink, err);
}

/* A plain word the cache does not hold: collected and flushed as any word,
 * its tokens then kept in its set. */
static __attribute__((noinline)) hfo_status
missed_word(const hfo_tok *tok, hfo_ws *ws, hfo_wc_set *set, uint32_t tag, const uint64_t key[2],
            size_t n, size_t i, const hfo_tok_sink *sink, hfo_err *err)
{
    for (size_t q = 0; q < n; q++)
        hfo_norm_push(&ws->ns, (uint32_t)(key[q >> 3] >> (8 * (q & 7))) & 0xFF, (uint32_t)(i + q),
                      (uint32_t)(i + q + 1));
    int no_marks = 0;
    if (flush(tok, ws, &no_marks, sink, err))
        return err->code;
    hfo_wc_put(set, tag, key, n, &ws->pieces);
    return HFO_OK;
}

/* The plain word of n characters at input index i, its normalized bytes in
 * key: from the cache, else as missed_word.  ws->ns is empty and has room
 * for HFO_BERT_MAX_OUT characters; the sink takes plain words. */
static inline hfo_status plain_word(const hfo_tok *tok, hfo_ws *ws, hfo_wc *cache,
                                    const uint64_t key[2], size_t n, size_t i,
                                    const hfo_tok_sink *sink, hfo_err *err)
{
    uint32_t tag = hfo_wc_tag(tok->model->word_tag, 0, n);
    hfo_wc_set *set = hfo_wc_set_of(cache, tag, key);
    const hfo_wc_entry *e = hfo_wc_find(set, tag, key);
    if (__builtin_expect(e == NULL, 0))
        return missed_word(tok, ws, set, tag, key, n, i, sink, err);
    int32_t id[HFO_WC_MAX_TOK];
    hfo_wc_ids(e, id);
    return sink->plain(sink->ctx, (uint32_t)i, id, e->end, e->n_tok, err);
}

#if defined(__SSE2__)
/* Printable ASCII is all the BertNormalizer leaves alone (but for lowering
 * letters) and falls in three classes of BertPreTokenizer: letters and
 * digits (in a word), the space (between words) and the rest (punctuation,
 * a word of its own).  This holds for every configuration; cls_simd_ok
 * checks the class part against the Unicode tables once.  Tab, line feed
 * and carriage return are whitespace too, kept or made a space (clean_text):
 * the normalizer says whether it keeps all this (hfo_bert_norm_scan_ok). */

/* Sixteen bytes' classes as bit masks (bit k: byte k), and the bytes
 * normalized (upper case lowered when lower). */
typedef struct cls16 {
    unsigned word, space, punct;
    __m128i norm;
} cls16;

static inline void classify16(__m128i v, int lower, cls16 *k)
{
    /* bytes >= 0x80 are negative here: in no range */
    __m128i up = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('A' - 1)),
                               _mm_cmplt_epi8(v, _mm_set1_epi8('Z' + 1)));
    __m128i lo = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('a' - 1)),
                               _mm_cmplt_epi8(v, _mm_set1_epi8('z' + 1)));
    __m128i dg = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
                               _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)));
    __m128i pr = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(' ')),
                               _mm_cmplt_epi8(v, _mm_set1_epi8(0x7F)));
    k->word = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(up, lo), dg));
    __m128i sp = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\t')));
    sp = _mm_or_si128(sp, _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\n')),
                                       _mm_cmpeq_epi8(v, _mm_set1_epi8('\r'))));
    k->space = (unsigned)_mm_movemask_epi8(sp);
    k->punct = (unsigned)_mm_movemask_epi8(pr) & ~k->word;
    k->norm = lower ? _mm_add_epi8(v, _mm_and_si128(up, _mm_set1_epi8(0x20))) : v;
}

/* The sixteen bytes of p (len bytes) from i: those from len on are zero.
 * Near the end they are put together in registers from loads inside the
 * text: a copy to a padded buffer read straight back stalls, the load
 * waiting for the smaller stores before it. */
static inline __m128i load16_at(const uint8_t *p, size_t i, size_t len)
{
    if (i + 16 <= len)
        return _mm_loadu_si128((const __m128i *)(p + i));
    if (i >= len)
        return _mm_setzero_si128();
    /* the last min(len, 16) bytes, as two words, from byte base on */
    uint64_t lo = 0, hi = 0;
    size_t base = len >= 16 ? len - 16 : 0;
    if (len >= 16) {
        memcpy(&lo, p + base, 8);
        memcpy(&hi, p + base + 8, 8);
    } else if (len > 8) {
        memcpy(&lo, p, 8);
        memcpy(&hi, p + len - 8, 8);
        hi >>= 8 * (16 - len);
    } else if (len >= 4) {
        uint32_t a, b;
        memcpy(&a, p, 4);
        memcpy(&b, p + len - 4, 4);
        lo = a | (uint64_t)b << (8 * (len - 4));
    } else {
        for (size_t k = 0; k < len; k++)
            lo |= (uint64_t)p[k] << (8 * k);
    }
    /* shifted down to byte i */
    unsigned bits = 8 * (unsigned)(i - base);
    if (bits >= 64) {
        lo = hi >> (bits - 64);
        hi = 0;
    } else if (bits > 0) {
        lo = lo >> bits | hi << (64 - bits);
        hi >>= bits;
    }
    return _mm_set_epi64x((long long)hi, (long long)lo);
}

/* Where scan_bytes puts a cached word's tokens: straight into the encoding
 * sink's arrays (es != NULL, the encoding's length and the word count kept
 * here and written back before anything else sees them), or through the
 * sink's plain. */
typedef struct emitter {
    hfo_enc_sink *es;
    size_t len;
    int32_t word;
} emitter;

static inline void emit_sync(emitter *em)
{
    if (em->es) {
        em->es->out->len = em->len;
        em->es->word = em->word;
    }
}

static inline void emit_load(emitter *em)
{
    if (em->es) {
        em->len = em->es->out->len;
        em->word = em->es->word;
    }
}

/* 1-byte text from *at (no word open) while it is printable ASCII: spaces
 * skipped, plain words (at most HFO_WC_MAX_CHARS letters and digits) and
 * punctuation characters through the word cache.  Sixty-four bytes at a
 * time become bit masks of their classes, from which the words to look up
 * and where to stop are worked out with bit operations; the words are
 * then taken one set bit after another, so that a branch mispredicted per
 * word (is it punctuation, does it reach the end of the bytes read, does
 * another follow) becomes one per sixty-four bytes.  Stops at end, or at
 * *at = the first character it does not take: another character, or a
 * word that is longer or does not end in printable ASCII (the walk takes
 * it character by character).  direct: the sink is the encoding sink. */
#define WIN 64
static inline __attribute__((always_inline)) hfo_status
scan_bytes_as(const hfo_tok *tok, hfo_ws *ws, hfo_wc *cache, const uint8_t *p, size_t len,
              size_t *at, size_t end, int lower, const hfo_tok_sink *sink, int direct,
              hfo_err *err)
{
    emitter em = {direct ? sink->ctx : NULL, 0, 0};
    emit_load(&em);
    const uint32_t tag0 = hfo_wc_tag(tok->model->word_tag, 0, 0);
    size_t i = *at;
    hfo_status st = HFO_OK;
    while (i < end) {
        /* room for every word's tokens */
        if (direct && em.len + WIN * HFO_WC_MAX_TOK > em.es->out->cap) {
            emit_sync(&em);
            if ((st = hfo_enc_reserve(em.es->out, WIN * HFO_WC_MAX_TOK, err)))
                return st;
        }
        /* classes (bits from lim on cleared) and normalized bytes */
        unsigned lim = end - i < WIN ? (unsigned)(end - i) : WIN;
        uint64_t word = 0, space = 0, punct = 0, nb[WIN / 8 + 2];
        for (unsigned q = 0; q < WIN / 16; q++) {
            cls16 k;
            classify16(load16_at(p, i + 16 * q, len), lower, &k);
            word |= (uint64_t)k.word << (16 * q);
            space |= (uint64_t)k.space << (16 * q);
            punct |= (uint64_t)k.punct << (16 * q);
            _mm_storeu_si128((__m128i *)&nb[2 * q], k.norm);
        }
        nb[WIN / 8] = nb[WIN / 8 + 1] = 0;
        uint64_t valid = lim == WIN ? ~0ULL : (1ULL << lim) - 1;
        word &= valid;
        space &= valid;
        punct &= valid;
        uint64_t other = valid & ~(word | space | punct);
        uint64_t starts = word & ~(word << 1), ends = word & ~(word >> 1);
        /* a word must be followed by a space or punctuation, or end the
         * segment; the last one read may go on past lim == WIN */
        uint64_t edge = 1ULL << (lim - 1);
        uint64_t bad = ends & ~((space | punct) >> 1) & ~edge;
        /* words and punctuation before stop are taken; then the segment
         * (or these bytes) ends, or the last word read may go on past
         * them, or the walk takes over (another character, a word not
         * ending in a space or punctuation) */
        enum { AT_END, GO_ON, HALT } why = AT_END;
        unsigned stop = lim;
        if (lim == WIN && (word >> (WIN - 1) & 1)) {
            stop = 63 - (unsigned)__builtin_clzll(starts);
            why = GO_ON;
        }
        if (other && (unsigned)__builtin_ctzll(other) < stop) {
            stop = (unsigned)__builtin_ctzll(other);
            why = HALT;
        }
        if (bad) {
            unsigned e = (unsigned)__builtin_ctzll(bad);   /* < 63: bit 63 is in edge */
            unsigned s0 = 63 - (unsigned)__builtin_clzll(starts & ((2ULL << e) - 1));
            if (s0 < stop) {
                stop = s0;
                why = HALT;
            }
        }
        uint64_t todo = (starts | punct) & (stop == WIN ? ~0ULL : (1ULL << stop) - 1);
        /* first every word's key and set, the set fetched from memory
         * meanwhile; then the lookups, which then wait on memory together */
        struct { uint64_t key[2]; hfo_wc_set *set; } w[WIN];
        uint8_t wn[WIN];
        unsigned m = 0;
        for (uint64_t t = todo; t; t &= t - 1) {
            unsigned pos = (unsigned)__builtin_ctzll(t);
            unsigned n = (unsigned)__builtin_ctzll(~(word >> pos));
            if (__builtin_expect(n > HFO_WC_MAX_CHARS, 0)) {
                /* too long for the cache: the walk takes it */
                todo &= (1ULL << pos) - 1;
                stop = pos;
                why = HALT;
                break;
            }
            n += n == 0;   /* punctuation */
            /* the key: bytes [pos, pos + n) */
            unsigned q = pos >> 3, r = 8 * (pos & 7);
            uint64_t k0 = r ? nb[q] >> r | nb[q + 1] << (64 - r) : nb[q];
            uint64_t k1 = r ? nb[q + 1] >> r | nb[q + 2] << (64 - r) : nb[q + 1];
            w[m].key[0] = k0;
            w[m].key[1] = k1;
            hfo_wc_key_cut(w[m].key, n);
            w[m].set = hfo_wc_set_of(cache, tag0 | n, w[m].key);
            __builtin_prefetch(w[m].set);
            wn[m++] = (uint8_t)n;
        }
        for (unsigned v = 0; todo; todo &= todo - 1, v++) {
            unsigned pos = (unsigned)__builtin_ctzll(todo), n = wn[v];
            const uint64_t *key = w[v].key;
            hfo_wc_set *set = w[v].set;
            uint32_t tag = tag0 | n, start = (uint32_t)(i + pos);
            const hfo_wc_entry *e = hfo_wc_find(set, tag, key);
            if (__builtin_expect(e == NULL, 0)) {
                emit_sync(&em);
                if ((st = missed_word(tok, ws, set, tag, key, n, start, sink, err)))
                    return st;
                emit_load(&em);
                /* (each word, hit or missed, makes at most three tokens per
                 * character: the room above holds; kept plainly true) */
                if (direct && em.len + WIN * HFO_WC_MAX_TOK > em.es->out->cap &&
                    (st = hfo_enc_reserve(em.es->out, WIN * HFO_WC_MAX_TOK, err)))
                    return st;
            } else if (direct) {
                hfo_encoding *o = em.es->out;
                size_t t = em.len;
                uint64_t ids = e->ids;
                uint32_t s0 = start;
                for (unsigned k = 0; k < e->n_tok; k++, t++) {
                    uint32_t s1 = start + e->end[k];
                    o->ids[t] = (int32_t)(ids & ((1u << HFO_WC_ID_BITS) - 1));
                    if (!em.es->lean) {
                        o->offsets[2 * t] = s0;
                        o->offsets[2 * t + 1] = s1;
                        o->words[t] = em.word;
                    }
                    ids >>= HFO_WC_ID_BITS;
                    s0 = s1;
                }
                em.len = t;
                em.word += em.es->step;
            } else {
                int32_t id[HFO_WC_MAX_TOK];
                hfo_wc_ids(e, id);
                if ((st = sink->plain(sink->ctx, start, id, e->end, e->n_tok, err)))
                    return st;
            }
        }
        if (why == HALT || (why == GO_ON && stop == 0)) {
            /* (a word filling all the bytes read is too long) */
            *at = i + stop;
            emit_sync(&em);
            return HFO_OK;
        }
        i += stop;
    }
    *at = end;
    emit_sync(&em);
    return HFO_OK;
}
#undef WIN

static hfo_status scan_bytes(const hfo_tok *tok, hfo_ws *ws, hfo_wc *cache, const uint8_t *p,
                             size_t len, size_t *at, size_t end, int lower,
                             const hfo_tok_sink *sink, hfo_err *err)
{
    if (sink->plain == hfo_enc_plain)
        return scan_bytes_as(tok, ws, cache, p, len, at, end, lower, sink, 1, err);
    return scan_bytes_as(tok, ws, cache, p, len, at, end, lower, sink, 0, err);
}
#endif

static inline __attribute__((always_inline)) hfo_status
walk(const hfo_tok *tok, hfo_ws *ws, const void *data, int kind, size_t len, size_t begin,
     size_t end, const hfo_tok_sink *sink, hfo_err *err)
{
#define AT(j) (kind == 1 ? ((const uint8_t *)data)[j] \
               : kind == 2 ? ((const uint16_t *)data)[j] : ((const uint32_t *)data)[j])
    const uint8_t *ascii = hfo_bert_norm_ascii(tok->normalizer);
    hfo_wc *cache = NULL;
    if (tok->model->word_tag && sink->plain != NULL && (cache = hfo_wc_table()) != NULL)
        pthread_once(&ascii_cls_once, ascii_cls_init);
    /* the normalizer keeps letters and digits, or lowers the letters: then
     * 1-byte text is scanned sixty-four bytes at a time (scan_bytes) */
    int lower = ascii['A'] == 'a';
    int scan = 0;
#if defined(__SSE2__)
    scan = cache != NULL && kind == 1 && cls_simd_ok && hfo_bert_norm_scan_ok(tok->normalizer);
#endif
    (void)lower, (void)len;
    hfo_norm *w = &ws->ns;
    int mark = 0;
    w->len = 0;
    for (size_t i = begin; i < end; i++) {
#if defined(__SSE2__)
        if (scan && w->len == 0) {
            /* (a missed word is collected in w) */
            if (w->cap < HFO_BERT_MAX_OUT && hfo_norm_grow(w, HFO_BERT_MAX_OUT, err))
                return err->code;
            if (scan_bytes(tok, ws, cache, (const uint8_t *)data, len, &i, end, lower, sink, err))
                return err->code;
            if (i == end)
                break;
        }
#endif
        uint32_t c = AT(i);
        if (w->len + HFO_BERT_MAX_OUT > w->cap && hfo_norm_grow(w, HFO_BERT_MAX_OUT, err))
            return err->code;
        if (c < 0x80 && cache != NULL && w->len == 0 && !scan) {   /* no word open (so no marks pending) */
            if (!stays_in_word(ascii, c)) {
                /* whitespace and removed characters end nothing, punctuation
                 * is a word of its own */
                if (ascii[c] == HFO_BERT_DROP || ascii_cls[ascii[c]] == CLS_SPACE)
                    continue;
                const uint64_t key[2] = {ascii[c], 0};
                if (plain_word(tok, ws, cache, key, 1, i, sink, err))
                    return err->code;
                continue;
            }
            /* a plain word?  Its bytes, normalized, then what follows it */
            uint64_t key[2] = {ascii[c], 0};
            size_t j = i + 1;
            while (j < end && j - i < HFO_WC_MAX_CHARS) {
                uint32_t d = AT(j);
                if (d >= 0x80 || !stays_in_word(ascii, d))
                    break;
                size_t q = j - i;
                key[q >> 3] |= (uint64_t)ascii[d] << (8 * (q & 7));
                j++;
            }
            uint32_t d = j < end ? AT(j) : 0;
            if (j == end || (d < 0x80 && ascii[d] != HFO_BERT_DROP && !stays_in_word(ascii, d))) {
                if (plain_word(tok, ws, cache, key, j - i, i, sink, err))
                    return err->code;
                i = j - 1;
                continue;
            }
        }
        if (c < 0x80) {
            if (ascii[c] != HFO_BERT_DROP && feed(tok, ws, ascii[c], i, 0, &mark, sink, err))
                return err->code;
            continue;
        }
        if (c >= 0xD800 && c <= 0xDFFF)
            return hfo_err_surrogate(err, c, i);
        uint32_t buf[HFO_BERT_MAX_OUT];
        int m = 0;
        size_t n = hfo_bert_norm_char(tok->normalizer, c, buf, &m);
        for (size_t j = 0; j < n; j++)
            if (feed(tok, ws, buf[j], i, m, &mark, sink, err))
                return err->code;
    }
    return flush(tok, ws, &mark, sink, err);
#undef AT
}

hfo_status hfo_walk_bert(const hfo_tok *tok, hfo_ws *ws, const hfo_text *t, size_t begin,
                         size_t end, const hfo_tok_sink *sink, hfo_err *err)
{
    switch (t->kind) {
    case 1: return walk(tok, ws, t->data, 1, t->len, begin, end, sink, err);
    case 2: return walk(tok, ws, t->data, 2, t->len, begin, end, sink, err);
    default: return walk(tok, ws, t->data, 4, t->len, begin, end, sink, err);
    }
}
