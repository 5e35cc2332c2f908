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
 * pipelines and for normalized added tokens. */
#include "tok_internal.h"
#include "unicode.h"

enum { CLS_WORD = 0, CLS_SPACE = 1, CLS_PUNCT = 2 };

static inline int cls_of(uint32_t c)
{
    unsigned f = hfo_uc_flags(c);
    return (f & HFO_UC_WHITESPACE) ? CLS_SPACE : (f & HFO_UC_PUNCT) ? CLS_PUNCT : CLS_WORD;
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

static inline __attribute__((always_inline)) hfo_status
walk(const hfo_tok *tok, hfo_ws *ws, const void *data, int kind, size_t begin, size_t end,
     const hfo_tok_sink *sink, hfo_err *err)
{
    const uint8_t *ascii = hfo_bert_norm_ascii(tok->normalizer);
    hfo_norm *w = &ws->ns;
    int mark = 0;
    w->len = 0;
    for (size_t i = begin; i < end; i++) {
        uint32_t c = kind == 1 ? ((const uint8_t *)data)[i]
                   : kind == 2 ? ((const uint16_t *)data)[i] : ((const uint32_t *)data)[i];
        if (w->len + HFO_BERT_MAX_OUT > w->cap && hfo_norm_grow(w, HFO_BERT_MAX_OUT, err))
            return err->code;
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
}

hfo_status hfo_walk_bert(const hfo_tok *tok, hfo_ws *ws, const hfo_text *t, size_t begin,
                         size_t end, const hfo_tok_sink *sink, hfo_err *err)
{
    switch (t->kind) {
    case 1: return walk(tok, ws, t->data, 1, begin, end, sink, err);
    case 2: return walk(tok, ws, t->data, 2, begin, end, sink, err);
    default: return walk(tok, ws, t->data, 4, begin, end, sink, err);
    }
}
