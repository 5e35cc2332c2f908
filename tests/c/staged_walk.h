/* staged_walk.h: for the C test programs, a sink recording what a walk
 * hands over (each piece's id and offsets, -1 after each word), and the
 * stages run one after the other (normalizer, pre-tokenizer, model: what
 * tokenizer.c's walk_norm does), which the fused walks must equal. */
#ifndef HFO_TEST_STAGED_WALK_H
#define HFO_TEST_STAGED_WALK_H

#include "tok/tok_internal.h"

#include <stdlib.h>

/* A sink recording (id, start, end) of every piece, -1 between words. */
typedef struct rec {
    int32_t *v;
    size_t n, cap;
} rec;

static inline void rec_put(rec *r, int32_t x)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 1024;
        int32_t *v = realloc(r->v, r->cap * sizeof *v);
        if (v == NULL)
            abort();
        r->v = v;
    }
    r->v[r->n++] = x;
}

static inline hfo_status rec_word(void *ctx, const hfo_norm *ns, uint32_t a, const hfo_pieces *p, hfo_err *err)
{
    (void)err;
    for (size_t k = 0; k < p->len; k++) {
        rec_put(ctx, p->id[k]);
        rec_put(ctx, (int32_t)ns->os[a + p->start[k]]);
        rec_put(ctx, (int32_t)ns->oe[a + p->end[k] - 1]);
    }
    rec_put(ctx, -1);
    return HFO_OK;
}

static inline hfo_status rec_added(void *ctx, int32_t id, uint32_t os, uint32_t oe, hfo_err *err)
{
    (void)ctx, (void)id, (void)os, (void)oe, (void)err;
    return HFO_OK;
}

/* The same record from a walk's plain word (hfo_tok_sink.plain). */
static inline hfo_status rec_plain(void *ctx, uint32_t base, const int32_t *ids, const uint8_t *ends,
                                   size_t n, hfo_err *err)
{
    (void)err;
    for (size_t k = 0; k < n; k++) {
        rec_put(ctx, ids[k]);
        rec_put(ctx, (int32_t)(base + (k ? ends[k - 1] : 0)));
        rec_put(ctx, (int32_t)(base + ends[k]));
    }
    rec_put(ctx, -1);
    return HFO_OK;
}

/* The stages one after the other, as tokenizer.c's walk_norm. */
static inline hfo_status staged(const hfo_tok *tok, const hfo_text *t, size_t b0, size_t b1, rec *r,
                         hfo_err *err)
{
    hfo_norm ns = {0};
    hfo_spans sp = {0};
    hfo_pieces pc = {0};
    hfo_status st = tok->normalizer->run(tok->normalizer, t, b0, b1, &ns, err);
    if (st == HFO_OK)
        st = tok->pretok->split(tok->pretok, &ns, &sp, err);
    for (size_t w = 0; w < sp.len && st == HFO_OK; w++) {
        pc.len = 0;
        st = tok->model->tokenize(tok->model, ns.cp + sp.v[w].start, sp.v[w].end - sp.v[w].start,
                                  &pc, err);
        if (st == HFO_OK)
            st = rec_word(r, &ns, sp.v[w].start, &pc, err);
    }
    hfo_norm_free(&ns);
    free(sp.v);
    free(pc.id);
    free(pc.start);
    free(pc.end);
    return st;
}

#endif
