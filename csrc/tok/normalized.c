/* normalized.c: the normalized string with alignment, small growable
 * vectors, and error helpers. */
#include "tok_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

hfo_status hfo_err_set(hfo_err *err, hfo_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

hfo_status hfo_err_surrogate(hfo_err *err, uint32_t c, size_t i)
{
    return hfo_err_set(err, HFO_ERR_INPUT,
                       "text contains a lone surrogate U+%04X at character %zu; "
                       "surrogates cannot be encoded as UTF-8", (unsigned)c, i);
}

static int grow_cap(size_t *cap, size_t need)
{
    size_t c = *cap ? *cap : 64;
    while (c < need) {
        if (c > SIZE_MAX / 2)
            return -1;
        c *= 2;
    }
    *cap = c;
    return 0;
}

static int realloc_arr(void **p, size_t n, size_t size)
{
    if (n > SIZE_MAX / size)
        return -1;
    void *q = realloc(*p, n * size);
    if (q == NULL)
        return -1;
    *p = q;
    return 0;
}

#define OOM(err) hfo_err_set(err, HFO_ERR_NOMEM, "out of memory")

void hfo_norm_free(hfo_norm *ns)
{
    free(ns->cp);
    free(ns->os);
    free(ns->oe);
    ns->cp = ns->os = ns->oe = NULL;
    ns->len = ns->cap = 0;
}

hfo_status hfo_norm_grow(hfo_norm *ns, size_t extra, hfo_err *err)
{
    if (ns->len + extra <= ns->cap)
        return HFO_OK;
    size_t cap = ns->cap;
    if (extra > SIZE_MAX - ns->len || grow_cap(&cap, ns->len + extra) < 0)
        return OOM(err);
    if (realloc_arr((void **)&ns->cp, cap, 4) < 0 || realloc_arr((void **)&ns->os, cap, 4) < 0 ||
        realloc_arr((void **)&ns->oe, cap, 4) < 0)
        return OOM(err);
    ns->cap = cap;
    return HFO_OK;
}

hfo_status hfo_norm_from_text(hfo_norm *ns, const hfo_text *t, size_t begin, size_t end,
                              hfo_err *err)
{
    if (hfo_norm_grow(ns, end - begin, err))
        return err->code;
    for (size_t i = begin; i < end; i++) {
        uint32_t c = hfo_text_at(t, i);
        if (c >= 0xD800 && c <= 0xDFFF)
            return hfo_err_surrogate(err, c, i);
        hfo_norm_push(ns, c, (uint32_t)i, (uint32_t)i + 1);
    }
    return HFO_OK;
}

hfo_status hfo_spans_push(hfo_spans *s, uint32_t start, uint32_t end, hfo_err *err)
{
    if (s->len == s->cap) {
        size_t cap = s->cap;
        if (grow_cap(&cap, s->len + 1) < 0 || realloc_arr((void **)&s->v, cap, sizeof *s->v) < 0)
            return OOM(err);
        s->cap = cap;
    }
    s->v[s->len].start = start;
    s->v[s->len].end = end;
    s->len++;
    return HFO_OK;
}

hfo_status hfo_pieces_grow(hfo_pieces *p, hfo_err *err)
{
    return hfo_pieces_reserve(p, 1, err);
}

hfo_status hfo_pieces_reserve(hfo_pieces *p, size_t extra, hfo_err *err)
{
    if (extra <= p->cap - p->len)
        return HFO_OK;
    size_t cap = p->cap;
    if (extra > SIZE_MAX - p->len || grow_cap(&cap, p->len + extra) < 0 ||
        realloc_arr((void **)&p->id, cap, 4) < 0 || realloc_arr((void **)&p->start, cap, 4) < 0 ||
        realloc_arr((void **)&p->end, cap, 4) < 0)
        return OOM(err);
    p->cap = cap;
    return HFO_OK;
}

/* ---- workspace ---- */
hfo_ws *hfo_ws_new(void)
{
    return calloc(1, sizeof(hfo_ws));
}

void hfo_ws_free(hfo_ws *ws)
{
    if (ws == NULL)
        return;
    hfo_norm_free(&ws->ns);
    free(ws->words.v);
    free(ws->pieces.id);
    free(ws->pieces.start);
    free(ws->pieces.end);
    free(ws->segs.v);
    free(ws->nsegs.v);
    hfo_enc_free(&ws->ea);
    hfo_enc_free(&ws->eb);
    free(ws);
}
