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
 * cluster and is copied as it is: most text takes that path.  The result is
 * the stage-by-stage walk's, which tokenizer.c keeps for other pipelines and
 * for normalized added tokens. */
#include "spm.h"
#include "tok_internal.h"

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
    size_t i = begin;
    while (i < end) {
        uint32_t c = AT(i);
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
                al.j += m;
                al.have_prev = 1;
                al.prev_ch = 0;
                al.prev_j = al.j - 1;
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
