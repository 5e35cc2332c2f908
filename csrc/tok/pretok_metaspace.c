/* pretok_metaspace.c: WhitespaceSplit followed by Metaspace
 * (tokenizers/src/pre_tokenizers/whitespace.rs WhitespaceSplit and
 * metaspace.rs), the pre-tokenizer transformers' T5 tokenizer uses:
 *   1. (whitespace_split) split at Unicode White_Space, which is dropped;
 *   2. ' ' -> replacement (U+2581 '▁');
 *   3. prepend the replacement to each word not already starting with it:
 *      always; "first": only to a word whose original offset is 0 (so not
 *      after an added token, nor after leading spaces); never;
 *   4. (split) split at each replacement, which starts the next piece.
 * The prepended '▁' is aligned to the word's first character, as
 * NormalizedString::prepend does, so a lone "▁" token reports the offsets
 * of the character after it. */
#include "spm.h"
#include "tok_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct metaspace {
    hfo_pretok base;
    uint32_t repl;
    int prepend, split, ws_split;
} metaspace;

static hfo_status ms_split(const hfo_pretok *self_, hfo_norm *ns, hfo_spans *words, hfo_err *err);

int hfo_pretok_metaspace_get(const hfo_pretok *p, uint32_t *repl, int *prepend, int *split,
                             int *ws_split)
{
    if (p == NULL || p->split != ms_split)
        return 0;
    const metaspace *m = (const metaspace *)p;
    *repl = m->repl;
    *prepend = m->prepend;
    *split = m->split;
    *ws_split = m->ws_split;
    return 1;
}

/* Per-thread second buffer: WhitespaceSplit + prefixes are written into it
 * in one forward pass, then it and ns swap their arrays (both malloc'ed;
 * whoever holds them frees them). */
static pthread_key_t ms_key;
static pthread_once_t ms_once = PTHREAD_ONCE_INIT;
static int ms_key_ok;

static void ms_scratch_free(void *p)
{
    hfo_norm_free(p);
    free(p);
}

static void ms_key_init(void)
{
    ms_key_ok = pthread_key_create(&ms_key, ms_scratch_free) == 0;
}

static hfo_norm *ms_scratch(void)
{
    pthread_once(&ms_once, ms_key_init);
    if (!ms_key_ok)
        return NULL;
    hfo_norm *t = pthread_getspecific(ms_key);
    if (t == NULL) {
        t = calloc(1, sizeof *t);
        if (t && pthread_setspecific(ms_key, t) != 0) {
            free(t);
            t = NULL;
        }
    }
    return t;
}

/* WhitespaceSplit, then Metaspace: steps 1-4 in one pass over ns. */
static hfo_status ms_split_words(const metaspace *self, hfo_norm *ns, hfo_spans *words, hfo_err *err)
{
    hfo_norm *o = ms_scratch();
    if (o == NULL)
        return hfo_err_set(err, HFO_ERR_NOMEM, "out of memory");
    size_t n = ns->len;
    o->len = 0;
    /* at most one prefix per word, and words are separated */
    if (hfo_norm_grow(o, n + n / 2 + 1, err))
        return err->code;
    const uint32_t *cp = ns->cp, *os = ns->os, *oe = ns->oe;
    uint32_t *ocp = o->cp, *oos = o->os, *ooe = o->oe;
    uint32_t repl = self->repl;
    int prepend = self->prepend, split = self->split;
    /* printable ASCII is never white, and is the replacement only when
     * that is printable ASCII itself */
    uint32_t plain_lo = repl > 0x20 && repl < 0x7F ? 0x7F : 0x21;
    size_t i = 0, k = 0;
    for (;;) {
        while (i < n && hfo_is_white_space(cp[i]))
            i++;
        if (i == n)
            break;
        size_t s = i, piece = k;
        if (hfo_metaspace_prepends(prepend, repl, cp[s], os[s])) {
            ocp[k] = repl;
            oos[k] = os[s];
            ooe[k] = oe[s];
            k++;
        }
        for (; i < n; i++) {
            uint32_t c = cp[i];
            if (!(c >= plain_lo && c < 0x7F)) {
                if (hfo_is_white_space(c))
                    break;
                if (c == repl && split && k > piece) {
                    if (hfo_spans_push(words, (uint32_t)piece, (uint32_t)k, err))
                        return err->code;
                    piece = k;
                }
            }
            ocp[k] = c;
            oos[k] = os[i];
            ooe[k] = oe[i];
            k++;
        }
        if (hfo_spans_push(words, (uint32_t)piece, (uint32_t)k, err))
            return err->code;
    }
    o->len = k;
    hfo_norm t = *ns;
    ns->cp = o->cp;
    ns->os = o->os;
    ns->oe = o->oe;
    ns->len = o->len;
    ns->cap = o->cap;
    *o = t;
    return HFO_OK;
}

static hfo_status ms_split(const hfo_pretok *self_, hfo_norm *ns, hfo_spans *words, hfo_err *err)
{
    const metaspace *self = (const metaspace *)self_;
    if (self->ws_split)
        return ms_split_words(self, ns, words, err);
    /* Metaspace alone: the whole text is one word */
    uint32_t repl = self->repl;
    size_t n = ns->len;
    if (n == 0)
        return HFO_OK;
    for (size_t i = 0; i < n; i++)
        if (ns->cp[i] == ' ')
            ns->cp[i] = repl;
    if (hfo_metaspace_prepends(self->prepend, repl, ns->cp[0], ns->os[0])) {
        if (hfo_norm_grow(ns, 1, err))
            return err->code;
        memmove(ns->cp + 1, ns->cp, n * 4);
        memmove(ns->os + 1, ns->os, n * 4);
        memmove(ns->oe + 1, ns->oe, n * 4);
        ns->cp[0] = repl;   /* os/oe[0] already hold the first character's */
        ns->len = ++n;
    }
    /* 4: split at the replacement (MergedWithNext) */
    size_t s = 0;
    if (self->split) {
        for (size_t i = 1; i < n; i++) {
            if (ns->cp[i] == repl) {
                if (hfo_spans_push(words, (uint32_t)s, (uint32_t)i, err))
                    return err->code;
                s = i;
            }
        }
    }
    return hfo_spans_push(words, (uint32_t)s, (uint32_t)n, err);
}

static void ms_free(hfo_pretok *self)
{
    free(self);
}

hfo_pretok *hfo_pretok_metaspace_new(uint32_t replacement, int prepend_scheme, int split,
                                     int whitespace_split)
{
    metaspace *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->base.split = ms_split;
    m->base.free = ms_free;
    m->repl = replacement;
    m->prepend = prepend_scheme;
    m->split = split;
    m->ws_split = whitespace_split;
    return &m->base;
}

void hfo_pretok_free(hfo_pretok *n)
{
    if (n)
        n->free(n);
}
