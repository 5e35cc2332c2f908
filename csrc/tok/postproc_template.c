/* postproc_template.c: TemplateProcessing
 * (tokenizers/src/processors/template.rs): "[CLS]:0 $A:0 [SEP]:0" and
 * "[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1" for BERT.  Each piece becomes an
 * encoding (a sequence with its type id set, or a special token with offsets
 * (0, 0), special mask 1 and no word), and the pieces are merged left to
 * right with Encoding::merge_with, which is what combines the overflowing
 * parts.  A sequence piece also records where its tokens land
 * (set_sequence_id, for Encoding.sequence_ids). */
#include "tok_internal.h"

#include <stdlib.h>
#include <string.h>

void hfo_template_free(hfo_template *t)
{
    for (size_t i = 0; i < t->n; i++)
        free((void *)t->pieces[i].ids);
    free(t->pieces);
    memset(t, 0, sizeof *t);
}

hfo_status hfo_template_init(hfo_template *t, const hfo_piece *pieces, size_t n, hfo_err *err)
{
    hfo_template_free(t);
    for (size_t i = 0; i < n; i++)
        if (pieces[i].seq < -1 || pieces[i].seq > 1)
            return hfo_err_set(err, HFO_ERR_CONFIG, "template piece %zu: sequence %d (must be 0, 1 "
                               "or -1 for special tokens)", i, pieces[i].seq);
    t->pieces = calloc(n ? n : 1, sizeof *t->pieces);
    if (t->pieces == NULL)
        return hfo_err_set(err, HFO_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        t->pieces[i] = pieces[i];
        t->pieces[i].ids = NULL;
        if (pieces[i].seq < 0) {
            int32_t *ids = malloc((pieces[i].n_ids ? pieces[i].n_ids : 1) * 4);
            if (ids == NULL) {
                t->n = i;
                hfo_template_free(t);
                return hfo_err_set(err, HFO_ERR_NOMEM, "out of memory");
            }
            if (pieces[i].n_ids)
                memcpy(ids, pieces[i].ids, pieces[i].n_ids * 4);
            t->pieces[i].ids = ids;
            t->n_special += pieces[i].n_ids;
        } else {
            t->copies[pieces[i].seq]++;
        }
        t->n = i + 1;
    }
    t->n = n;
    t->set = 1;
    return HFO_OK;
}

size_t hfo_template_n_special(const hfo_template *t)
{
    return t->n_special;
}

/* The sequence's own tokens only, as the reference's set_type_ids: its
 * overflowing parts keep the type id the sequence was encoded with (0 for
 * the first, 1 for the second), so a template whose $B type id is not 1
 * (T5's "$A:0 </s>:0 $B:0 </s>:0") gives overflow rows where $B's part has
 * type 1, as tokenizers does. */
static void set_type_ids(hfo_encoding *e, int32_t type_id)
{
    for (size_t i = 0; i < e->len; i++)
        e->type_ids[i] = type_id;
}

hfo_status hfo_template_apply(const hfo_template *t, hfo_encoding *a, hfo_encoding *b,
                              int add_special_tokens, int lean, hfo_arena *arena, hfo_encoding *out,
                              hfo_err *err)
{
    hfo_status st = HFO_OK;
    /* out is empty (the caller's hfo_enc_init) */
    /* fast path: nothing overflowed, just concatenate */
    int simple = a->n_overflow == 0 && (b == NULL || b->n_overflow == 0);
    size_t total = t->copies[0] * a->len + (b ? t->copies[1] * b->len : 0) +
                   (add_special_tokens ? t->n_special : 0);
    if (simple && hfo_enc_reserve_in(out, total, arena, err))
        goto done;
    for (size_t i = 0; i < t->n; i++) {
        const hfo_piece *p = &t->pieces[i];
        if (p->seq < 0) {
            if (!add_special_tokens)
                continue;
            if (simple) {
                for (size_t k = 0; k < p->n_ids; k++)
                    hfo_enc_push(out, p->ids[k], p->type_id, 1, 0, 0, -1);
                continue;
            }
            hfo_encoding sp;
            hfo_enc_init(&sp);
            if ((st = hfo_enc_reserve(&sp, p->n_ids, err))) {
                hfo_enc_free(&sp);
                goto done;
            }
            for (size_t k = 0; k < p->n_ids; k++)
                hfo_enc_push(&sp, p->ids[k], p->type_id, 1, 0, 0, -1);
            if ((st = hfo_enc_merge_with(out, &sp, err)))
                goto done;
            continue;
        }
        hfo_encoding *src = p->seq == 0 ? a : b;
        if (src == NULL)
            continue;
        hfo_encoding copy;
        if (simple) {
            /* what merging the piece would give: its tokens, and its range */
            size_t start = out->len, m = src->len;
            /* (a sequence's own tokens are not special; their type ids
             * are the piece's: the sequence's own arrays of these are not
             * filled unless the call truncates) */
            if (m) {
                memcpy(out->ids + start, src->ids, m * 4);
                memset(out->special + start, 0, m);
                if (!lean) {
                    memcpy(out->offsets + 2 * start, src->offsets, m * 8);
                    memcpy(out->words + start, src->words, m * 4);
                }
                for (size_t k = 0; k < m; k++)
                    out->type_ids[start + k] = p->type_id;
            }
            out->len += m;
            out->seq_start[p->seq] = start;
            out->seq_end[p->seq] = out->len;
            out->seq_set |= 1u << p->seq;
            continue;
        }
        set_type_ids(src, p->type_id);
        hfo_enc_set_sequence(src, p->seq);
        if ((st = hfo_enc_clone(src, &copy, err)))
            goto done;
        if ((st = hfo_enc_merge_with(out, &copy, err)))
            goto done;
    }
done:
    hfo_enc_reset(a);
    if (b)
        hfo_enc_reset(b);
    if (st)
        hfo_enc_free(out);
    return st;
}

hfo_status hfo_template_apply_ids(const hfo_template *t, hfo_encoding *a, hfo_encoding *b,
                                  int add_special_tokens, hfo_arena *arena, hfo_encoding *out,
                                  hfo_err *err)
{
    size_t total = t->copies[0] * a->len + (b ? t->copies[1] * b->len : 0) +
                   (add_special_tokens ? t->n_special : 0);
    int32_t *ids = arena ? hfo_arena_alloc_raw(arena, (total ? total : 1) * 4) : NULL;
    int in_arena = ids != NULL;
    if (ids == NULL && (ids = malloc((total ? total : 1) * 4)) == NULL) {
        hfo_enc_reset(a);
        if (b)
            hfo_enc_reset(b);
        return hfo_err_set(err, HFO_ERR_NOMEM, "out of memory");
    }
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++) {
        const hfo_piece *p = &t->pieces[i];
        if (p->seq < 0) {
            if (add_special_tokens && p->n_ids) {
                memcpy(ids + n, p->ids, p->n_ids * 4);
                n += p->n_ids;
            }
            continue;
        }
        hfo_encoding *src = p->seq == 0 ? a : b;
        if (src == NULL)
            continue;
        if (src->len)
            memcpy(ids + n, src->ids, src->len * 4);
        out->seq_start[p->seq] = n;
        n += src->len;
        out->seq_end[p->seq] = n;
        out->seq_set |= 1u << p->seq;
    }
    out->ids = ids;
    out->len = n;
    out->cap = total;
    out->in_arena = (unsigned char)in_arena;
    hfo_enc_reset(a);
    if (b)
        hfo_enc_reset(b);
    return HFO_OK;
}
