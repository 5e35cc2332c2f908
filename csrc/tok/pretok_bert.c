/* pretok_bert.c: BertPreTokenizer (tokenizers/src/pre_tokenizers/bert.rs):
 * split on whitespace (removed), then isolate every punctuation character
 * (ASCII punctuation or a P* category in tokenizers' tables). */
#include "tok_internal.h"
#include "unicode.h"

#include <stdlib.h>

static inline hfo_status push(hfo_spans *w, size_t a, size_t b, hfo_err *err)
{
    if (w->len < w->cap) {
        w->v[w->len].start = (uint32_t)a;
        w->v[w->len].end = (uint32_t)b;
        w->len++;
        return HFO_OK;
    }
    return hfo_spans_push(w, (uint32_t)a, (uint32_t)b, err);
}

static hfo_status bert_split(const hfo_pretok *self, hfo_norm *ns, hfo_spans *words, hfo_err *err)
{
    (void)self;
    size_t n = ns->len, start = 0;
    int in_word = 0;
    const uint32_t *cp = ns->cp;
    for (size_t i = 0; i < n; i++) {
        unsigned f = hfo_uc_flags(cp[i]);
        if (f & (HFO_UC_WHITESPACE | HFO_UC_PUNCT)) {
            if (in_word && push(words, start, i, err))
                return err->code;
            in_word = 0;
            if ((f & HFO_UC_PUNCT) && push(words, i, i + 1, err))
                return err->code;
        } else if (!in_word) {
            in_word = 1;
            start = i;
        }
    }
    if (in_word && push(words, start, n, err))
        return err->code;
    return HFO_OK;
}

int hfo_pretok_is_bert(const hfo_pretok *p)
{
    return p != NULL && p->split == bert_split;
}

static void bert_free(hfo_pretok *self)
{
    free(self);
}

hfo_pretok *hfo_pretok_bert_new(void)
{
    hfo_pretok *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    p->split = bert_split;
    p->free = bert_free;
    return p;
}
