/* tokens.c: the token strings of one sequence, as tokenizers'
 * Encoding.tokens, and where the tokens of an encoding are among them.
 *
 * The same walk as encoding (hfo_tok_walk), recording text instead of only
 * offsets: a model token's string is the normalized (and pre-tokenized) text
 * it covers, which is what a Unigram token is ("⁄" of "½" -> "1⁄2" for an
 * <unk>); an added token matched in the text is the text it matched
 * (AddedVocabulary::split_with_indices: `normalized.get()`, so with the
 * spaces lstrip/rstrip took, and normalized for a normalized token).
 * Encodings do not carry strings: a caller wanting the strings of an
 * encoding's row walks its sequences again and aligns (hfo_tok_strings_align). */
#include "tok_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct str_ctx {
    hfo_tok_strings *s;
    const hfo_tok *tok;
    const hfo_text *t;   /* the text being walked (a whole text, or one word) */
    int32_t word;        /* next split's index, or the fixed one */
    int32_t step;        /* 1: count splits; 0: a pre-tokenized word */
} str_ctx;

static hfo_status grow_cps(hfo_tok_strings *s, size_t n, hfo_err *err)
{
    if (s->n_cps + n <= s->cap_cps)
        return HFO_OK;
    size_t cap = s->cap_cps ? s->cap_cps : 256;
    while (cap < s->n_cps + n) {
        if (cap > SIZE_MAX / 8)
            return hfo_err_set(err, HFO_ERR_NOMEM, "out of memory");
        cap *= 2;
    }
    uint32_t *c = realloc(s->cps, cap * 4);
    if (c == NULL)
        return hfo_err_set(err, HFO_ERR_NOMEM, "out of memory");
    s->cps = c;
    s->cap_cps = cap;
    return HFO_OK;
}

/* Append token (id, offsets, word); its string is the n_new code points
 * the caller appended to s->cps since the previous token. */
static hfo_status put(hfo_tok_strings *s, int32_t id, uint32_t os, uint32_t oe, int32_t word,
                      int added, hfo_err *err)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 32;
        /* each realloc'ed array is kept as soon as it succeeds: on failure
         * hfo_tok_strings_free frees whichever moved */
        int32_t *ids = realloc(s->ids, cap * sizeof *ids);
        if (ids)
            s->ids = ids;
        size_t *st = ids ? realloc(s->start, (cap + 1) * sizeof *st) : NULL;
        if (st)
            s->start = st;
        uint8_t *ad = st ? realloc(s->added, cap) : NULL;
        if (ad)
            s->added = ad;
        uint32_t *off = ad ? realloc(s->offsets, cap * 2 * sizeof *off) : NULL;
        if (off)
            s->offsets = off;
        int32_t *w = off ? realloc(s->words, cap * sizeof *w) : NULL;
        if (w == NULL)
            return hfo_err_set(err, HFO_ERR_NOMEM, "out of memory");
        s->words = w;
        s->cap = cap;
    }
    size_t k = s->n++;
    s->ids[k] = id;
    s->added[k] = (uint8_t)added;
    s->offsets[2 * k] = os;
    s->offsets[2 * k + 1] = oe;
    s->words[k] = word;
    s->start[k + 1] = s->n_cps;
    return HFO_OK;
}

static hfo_status str_word(void *ctx, const hfo_norm *ns, uint32_t a, const hfo_pieces *p, hfo_err *err)
{
    str_ctx *c = ctx;
    hfo_tok_strings *s = c->s;
    int32_t w = c->word;
    c->word += c->step;
    for (size_t k = 0; k < p->len; k++) {
        uint32_t b = a + p->start[k], e = a + p->end[k];
        if (grow_cps(s, e - b, err))
            return err->code;
        memcpy(s->cps + s->n_cps, ns->cp + b, (e - b) * 4);
        s->n_cps += e - b;
        if (put(s, p->id[k], ns->os[b], ns->oe[e - 1], w, 0, err))
            return err->code;
    }
    return HFO_OK;
}

static hfo_status str_added(void *ctx, int32_t id, uint32_t os, uint32_t oe, hfo_err *err)
{
    str_ctx *c = ctx;
    hfo_tok_strings *s = c->s;
    int32_t w = c->word;
    c->word += c->step;
    unsigned flags = 0;
    for (size_t i = 0; i < c->tok->added.len; i++) {
        if (c->tok->added.v[i].id == id) {
            flags = c->tok->added.v[i].flags;
            break;
        }
    }
    if ((flags & HFO_ADDED_NORMALIZED) && c->tok->normalizer) {
        /* the normalized text of the match: the normalizers we have work
         * per character (BERT) or per grapheme cluster (Precompiled), and a
         * match starts and ends at such boundaries */
        hfo_norm ns = {0};
        hfo_status st = c->tok->normalizer->run(c->tok->normalizer, c->t, os, oe, &ns, err);
        if (st == HFO_OK && (st = grow_cps(s, ns.len, err)) == HFO_OK && ns.len) {
            memcpy(s->cps + s->n_cps, ns.cp, ns.len * 4);
            s->n_cps += ns.len;
        }
        hfo_norm_free(&ns);
        if (st)
            return st;
    } else {
        if (grow_cps(s, oe - os, err))
            return err->code;
        for (uint32_t i = os; i < oe; i++)
            s->cps[s->n_cps++] = hfo_text_at(c->t, i);
    }
    return put(s, id, os, oe, w, 1, err);
}

static hfo_status strings_begin(const hfo_tok *tok, int split_special, hfo_tok_strings *s,
                                hfo_ws **ws, hfo_err *err)
{
    memset(s, 0, sizeof *s);
    if (tok->model == NULL)
        return hfo_err_set(err, HFO_ERR_CONFIG, "tokenizer has no model");
    if ((s->start = malloc(sizeof *s->start)) == NULL || (*ws = hfo_ws_new()) == NULL)
        return hfo_err_set(err, HFO_ERR_NOMEM, "out of memory");
    (*ws)->split_special = split_special;
    s->start[0] = 0;
    return HFO_OK;
}

hfo_status hfo_tok_strings_of(const hfo_tok *tok, const hfo_text *t, int split_special,
                              hfo_tok_strings *s, hfo_err *err)
{
    hfo_ws *ws = NULL;
    hfo_status st = strings_begin(tok, split_special, s, &ws, err);
    if (st == HFO_OK) {
        str_ctx c = {s, tok, t, 0, 1};
        hfo_tok_sink sink = {.word = str_word, .added = str_added, .ctx = &c};
        st = hfo_tok_walk(tok, ws, t, &sink, err);
    }
    hfo_ws_free(ws);
    return st;
}

hfo_status hfo_tok_strings_of_words(const hfo_tok *tok, const hfo_words *words, int split_special,
                                    hfo_tok_strings *s, hfo_err *err)
{
    hfo_ws *ws = NULL;
    hfo_status st = strings_begin(tok, split_special, s, &ws, err);
    if (st == HFO_OK && words->n > (size_t)INT32_MAX)
        st = hfo_err_set(err, HFO_ERR_INPUT, "too many words (%zu)", words->n);
    for (size_t i = 0; st == HFO_OK && i < words->n; i++) {
        str_ctx c = {s, tok, &words->w[i], (int32_t)i, 0};
        hfo_tok_sink sink = {.word = str_word, .added = str_added, .ctx = &c};
        st = hfo_tok_walk(tok, ws, &words->w[i], &sink, err);
    }
    hfo_ws_free(ws);
    return st;
}

void hfo_tok_strings_free(hfo_tok_strings *s)
{
    free(s->ids);
    free(s->start);
    free(s->added);
    free(s->offsets);
    free(s->words);
    free(s->cps);
    memset(s, 0, sizeof *s);
}

static int same_token(const hfo_tok_strings *s, size_t k, const hfo_encoding *e, size_t i)
{
    return s->ids[k] == e->ids[i] && s->words[k] == e->words[i] &&
           s->offsets[2 * k] == e->offsets[2 * i] && s->offsets[2 * k + 1] == e->offsets[2 * i + 1];
}

void hfo_tok_strings_align(const hfo_tok_strings *s, const hfo_encoding *e, size_t start,
                           size_t end, long *idx)
{
    size_t m = end > start ? end - start : 0;
    for (size_t j = 0; j < m; j++)
        idx[j] = -1;
    if (m == 0 || m > s->n)
        return;
    /* truncation keeps contiguous windows of a sequence's tokens: find the
     * first window equal on every (id, word, offsets); two different windows
     * that equal could only differ in the text of an unknown token */
    for (size_t k = 0; k + m <= s->n; k++) {
        size_t j = 0;
        while (j < m && same_token(s, k + j, e, start + j))
            j++;
        if (j == m) {
            for (j = 0; j < m; j++)
                idx[j] = (long)(k + j);
            return;
        }
    }
}
