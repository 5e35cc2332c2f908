/* tokens.c: the token strings of one sequence, as tokenizers'
 * Encoding.tokens: the normalized (and pre-tokenized) text each model token
 * covers.  Needed where that differs from the vocabulary entry of the id: a
 * Unigram <unk> token is the unknown text itself ("⁄" of "½" -> "1⁄2").
 * The same walk as encoding (hfo_tok_walk), recording normalized text instead
 * of offsets; added tokens are reported with no text (their content). */
#include "spm.h"
#include "tok_internal.h"

#include <stdlib.h>
#include <string.h>


static hfo_status put(hfo_tok_strings *s, int32_t id, const uint32_t *cps, size_t n, int added,
                      hfo_err *err)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 32;
        int32_t *ids = realloc(s->ids, cap * sizeof *ids);
        if (ids)
            s->ids = ids;
        size_t *st = realloc(s->start, (cap + 1) * sizeof *st);
        if (st)
            s->start = st;
        uint8_t *ad = realloc(s->added, cap);
        if (ad)
            s->added = ad;
        if (!ids || !st || !ad)
            return hfo_err_set(err, HFO_ERR_NOMEM, "out of memory");
        s->cap = cap;
    }
    if (s->n_cps + n > s->cap_cps) {
        size_t cap = s->cap_cps ? s->cap_cps : 256;
        while (cap < s->n_cps + n)
            cap *= 2;
        uint32_t *c = realloc(s->cps, cap * 4);
        if (c == NULL)
            return hfo_err_set(err, HFO_ERR_NOMEM, "out of memory");
        s->cps = c;
        s->cap_cps = cap;
    }
    if (n)
        memcpy(s->cps + s->n_cps, cps, n * 4);
    s->ids[s->n] = id;
    s->added[s->n] = (uint8_t)added;
    s->start[s->n] = s->n_cps;
    s->n_cps += n;
    s->n++;
    s->start[s->n] = s->n_cps;
    return HFO_OK;
}

static hfo_status str_word(void *ctx, const hfo_norm *ns, uint32_t a, const hfo_pieces *p, hfo_err *err)
{
    for (size_t k = 0; k < p->len; k++)
        if (put(ctx, p->id[k], ns->cp + a + p->start[k], p->end[k] - p->start[k], 0, err))
            return err->code;
    return HFO_OK;
}

static hfo_status str_added(void *ctx, int32_t id, uint32_t os, uint32_t oe, hfo_err *err)
{
    (void)os;
    (void)oe;
    return put(ctx, id, NULL, 0, 1, err);
}

hfo_status hfo_tok_strings_of(const hfo_tok *tok, const hfo_text *t, hfo_tok_strings *s,
                              hfo_err *err)
{
    memset(s, 0, sizeof *s);
    if (tok->model == NULL)
        return hfo_err_set(err, HFO_ERR_CONFIG, "tokenizer has no model");
    hfo_ws *ws = hfo_ws_new();
    if (ws == NULL)
        return hfo_err_set(err, HFO_ERR_NOMEM, "out of memory");
    hfo_tok_sink sink = {str_word, str_added, s};
    hfo_status st = hfo_tok_walk(tok, ws, t, &sink, err);
    hfo_ws_free(ws);
    if (st)
        hfo_tok_strings_free(s);
    return st;
}

void hfo_tok_strings_free(hfo_tok_strings *s)
{
    free(s->ids);
    free(s->start);
    free(s->added);
    free(s->cps);
    memset(s, 0, sizeof *s);
}
