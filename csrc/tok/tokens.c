/* tokens.c: the token strings of one sequence, as tokenizers'
 * Encoding.tokens: the normalized (and pre-tokenized) text each model token
 * covers.  Needed where that differs from the vocabulary entry of the id: a
 * Unigram <unk> token is the unknown text itself ("⁄" of "½" -> "1⁄2").
 * Same steps as tokenizer.c's encode_seq, recording normalized text instead
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

static hfo_status words(const hfo_tok *tok, hfo_ws *ws, hfo_norm *ns, hfo_tok_strings *s,
                        hfo_err *err)
{
    ws->words.len = 0;
    if (tok->pretok) {
        if (tok->pretok->split(tok->pretok, ns, &ws->words, err))
            return err->code;
    } else if (ns->len && hfo_spans_push(&ws->words, 0, (uint32_t)ns->len, err)) {
        return err->code;
    }
    for (size_t w = 0; w < ws->words.len; w++) {
        uint32_t a = ws->words.v[w].start, b = ws->words.v[w].end;
        ws->pieces.len = 0;
        if (tok->model->tokenize(tok->model, ns->cp + a, b - a, &ws->pieces, err))
            return err->code;
        for (size_t k = 0; k < ws->pieces.len; k++)
            if (put(s, ws->pieces.id[k], ns->cp + a + ws->pieces.start[k],
                    ws->pieces.end[k] - ws->pieces.start[k], 0, err))
                return err->code;
    }
    return HFO_OK;
}

static hfo_status text_part(const hfo_tok *tok, hfo_ws *ws, const hfo_text *t, size_t begin,
                            size_t end, hfo_tok_strings *s, hfo_err *err)
{
    hfo_norm *ns = &ws->ns;
    ns->len = 0;
    if (tok->normalizer) {
        if (tok->normalizer->run(tok->normalizer, t, begin, end, ns, err))
            return err->code;
    } else if (hfo_norm_from_text(ns, t, begin, end, err)) {
        return err->code;
    }
    if (!tok->has_norm_added)
        return words(tok, ws, ns, s, err);
    hfo_text nt = {ns->cp, ns->len, 4};
    if (hfo_added_split(&tok->added, 1, &nt, &ws->nsegs, err))
        return err->code;
    hfo_norm part = {0};
    hfo_status st = HFO_OK;
    for (size_t k = 0; k < ws->nsegs.len && st == HFO_OK; k++) {
        hfo_seg sg = ws->nsegs.v[k];
        if (sg.id >= 0) {
            st = put(s, sg.id, NULL, 0, 1, err);
            continue;
        }
        part.len = 0;
        if ((st = hfo_norm_grow(&part, sg.end - sg.start, err)))
            break;
        for (size_t i = sg.start; i < sg.end; i++)
            hfo_norm_push(&part, ns->cp[i], ns->os[i], ns->oe[i]);
        st = words(tok, ws, &part, s, err);
    }
    hfo_norm_free(&part);
    return st;
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
    hfo_status st = HFO_OK;
    if (!tok->has_raw_added) {
        st = text_part(tok, ws, t, 0, t->len, s, err);
    } else if ((st = hfo_added_split(&tok->added, 0, t, &ws->segs, err)) == HFO_OK) {
        for (size_t k = 0; k < ws->segs.len && st == HFO_OK; k++) {
            hfo_seg sg = ws->segs.v[k];
            st = sg.id >= 0 ? put(s, sg.id, NULL, 0, 1, err)
                            : text_part(tok, ws, t, sg.start, sg.end, s, err);
        }
    }
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
