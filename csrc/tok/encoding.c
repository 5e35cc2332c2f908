/* encoding.c: the Encoding of one input and the operations the
 * post-processing stage needs, mirroring tokenizers/src/tokenizer/encoding.rs
 * (truncate, merge_with) and tokenizers/src/utils/truncation.rs. */
#include "tok_internal.h"

#include <stdlib.h>
#include <string.h>

void hfo_enc_init(hfo_encoding *e)
{
    memset(e, 0, sizeof *e);
}

void hfo_enc_release(hfo_encoding *e)
{
    for (size_t i = 0; i < e->n_overflow; i++)
        hfo_enc_release(&e->overflow[i]);
    free(e->overflow);
    if (!e->in_arena)
        free(e->ids);  /* the block holding all five arrays */
}

void hfo_enc_free(hfo_encoding *e)
{
    hfo_enc_release(e);
    hfo_enc_init(e);
}

void hfo_enc_drop_overflow(hfo_encoding *e)
{
    if (e->overflow != NULL) {
        for (size_t i = 0; i < e->n_overflow; i++)
            hfo_enc_free(&e->overflow[i]);
        free(e->overflow);
        e->overflow = NULL;
    }
    e->n_overflow = e->cap_overflow = 0;
}

void hfo_enc_reset(hfo_encoding *e)
{
    hfo_enc_drop_overflow(e);
    e->len = 0;
    e->seq_set = 0;
}

/* The five arrays live in one block of cap * 21 bytes, ids first (so
 * free(e->ids) frees it): one allocation per encoding instead of five.
 * Point e at a new block, copying its tokens over; the old block is freed
 * unless an arena owns it. */
static void set_block(hfo_encoding *e, char *block, size_t cap, int in_arena)
{
    int32_t *ids = (int32_t *)block;
    int32_t *ty = (int32_t *)(block + cap * 4);
    uint32_t *off = (uint32_t *)(block + cap * 8);
    int32_t *words = (int32_t *)(block + cap * 16);
    uint8_t *sp = (uint8_t *)(block + cap * 20);
    if (e->len) {
        memcpy(ids, e->ids, e->len * 4);
        memcpy(ty, e->type_ids, e->len * 4);
        memcpy(off, e->offsets, e->len * 8);
        memcpy(words, e->words, e->len * 4);
        memcpy(sp, e->special, e->len);
    }
    if (!e->in_arena)
        free(e->ids);
    e->ids = ids;
    e->type_ids = ty;
    e->offsets = off;
    e->words = words;
    e->special = sp;
    e->cap = cap;
    e->in_arena = (unsigned char)in_arena;
}

hfo_status hfo_enc_grow(hfo_encoding *e, size_t extra, hfo_err *err)
{
    if (e->len + extra <= e->cap)
        return HFO_OK;
    if (e->len + extra > SIZE_MAX / 42)
        return hfo_err_set(err, HFO_ERR_NOMEM, "out of memory");
    /* The first reservation is taken as given (the template reserves a
     * row's exact length, and a batch keeps every row); later ones double. */
    size_t cap = e->cap ? e->cap : e->len + extra;
    if (cap < 8)
        cap = 8;
    while (cap < e->len + extra)
        cap *= 2;
    char *block = malloc(cap * 21);
    if (block == NULL)
        return hfo_err_set(err, HFO_ERR_NOMEM, "out of memory");
    set_block(e, block, cap, 0);
    return HFO_OK;
}

hfo_status hfo_enc_reserve_in(hfo_encoding *e, size_t n, hfo_arena *arena, hfo_err *err)
{
    if (arena == NULL || e->cap != 0 || n == 0 || n > SIZE_MAX / 42)
        return hfo_enc_reserve(e, n, err);
    char *block = hfo_arena_alloc_raw(arena, n * 21);
    if (block == NULL)
        return hfo_enc_reserve(e, n, err);
    set_block(e, block, n, 1);
    return HFO_OK;
}

static hfo_status append_range(hfo_encoding *dst, const hfo_encoding *src, size_t a, size_t b,
                               hfo_err *err)
{
    size_t n = b - a;
    if (hfo_enc_reserve(dst, n, err))
        return err->code;
    if (n) {
        memcpy(dst->ids + dst->len, src->ids + a, n * 4);
        memcpy(dst->type_ids + dst->len, src->type_ids + a, n * 4);
        memcpy(dst->special + dst->len, src->special + a, n);
        memcpy(dst->offsets + 2 * dst->len, src->offsets + 2 * a, n * 8);
        memcpy(dst->words + dst->len, src->words + a, n * 4);
    }
    dst->len += n;
    return HFO_OK;
}

static hfo_status push_overflow(hfo_encoding *e, hfo_encoding *o, hfo_err *err)
{
    if (e->n_overflow == e->cap_overflow) {
        size_t cap = e->cap_overflow ? e->cap_overflow * 2 : 4;
        hfo_encoding *v = realloc(e->overflow, cap * sizeof *v);
        if (v == NULL) {
            hfo_enc_free(o);
            return hfo_err_set(err, HFO_ERR_NOMEM, "out of memory");
        }
        e->overflow = v;
        e->cap_overflow = cap;
    }
    e->overflow[e->n_overflow++] = *o;  /* moved */
    hfo_enc_init(o);
    return HFO_OK;
}

hfo_status hfo_enc_clone(const hfo_encoding *src, hfo_encoding *dst, hfo_err *err)
{
    hfo_enc_init(dst);
    if (append_range(dst, src, 0, src->len, err))
        goto fail;
    memcpy(dst->seq_start, src->seq_start, sizeof dst->seq_start);
    memcpy(dst->seq_end, src->seq_end, sizeof dst->seq_end);
    dst->seq_set = src->seq_set;
    for (size_t i = 0; i < src->n_overflow; i++) {
        hfo_encoding o;
        if (hfo_enc_clone(&src->overflow[i], &o, err)) {
            hfo_enc_free(&o);
            goto fail;
        }
        if (push_overflow(dst, &o, err))
            goto fail;
    }
    return HFO_OK;
fail:
    hfo_enc_free(dst);
    return err->code;
}

hfo_status hfo_enc_truncate_dir(hfo_encoding *e, size_t max_len, size_t stride, int left, hfo_err *err)
{
    size_t n = e->len;
    if (max_len >= n)
        return HFO_OK;
    if (max_len == 0) {
        hfo_encoding whole = *e;
        hfo_enc_init(e);
        return push_overflow(e, &whole, err);
    }
    if (stride >= max_len)
        return hfo_err_set(err, HFO_ERR_INPUT,
                           "stride (%zu) must be strictly less than the length a sequence is "
                           "truncated to (%zu, after removing the special tokens)", stride, max_len);
    size_t step = max_len - stride;
    hfo_encoding res;
    hfo_enc_init(&res);
    /* parts as the reference's parts_ranges: right = windows from the start,
     * left = windows ending at n, n - step, ... until one starts at 0 */
    for (size_t k = 0;; k++) {
        size_t start, stop;
        if (!left) {
            start = k * step;
            stop = start + max_len < n ? start + max_len : n;
        } else {
            stop = n - k * step;
            start = stop < max_len ? 0 : stop - max_len;
        }
        hfo_encoding part;
        hfo_encoding *dst = k == 0 ? &res : &part;
        if (k > 0)
            hfo_enc_init(&part);
        if (append_range(dst, e, start, stop, err)) {
            if (k > 0)
                hfo_enc_free(&part);
            goto fail;
        }
        if (k > 0 && push_overflow(&res, &part, err))
            goto fail;
        if (left ? start == 0 : stop == n)
            break;
    }
    /* the reference drops the encoding's own previous overflows here, and
     * its sequence ranges ("When truncating, we lose the sequence_ranges") */
    hfo_enc_free(e);
    *e = res;
    return HFO_OK;
fail:
    hfo_enc_free(&res);
    return err->code;
}

void hfo_enc_set_sequence(hfo_encoding *e, int s)
{
    e->seq_start[s] = 0;
    e->seq_end[s] = e->len;
    e->seq_set |= 1u << s;
    for (size_t k = 0; k < e->n_overflow; k++)
        hfo_enc_set_sequence(&e->overflow[k], s);
}

hfo_status hfo_enc_truncate(hfo_encoding *e, size_t max_len, size_t stride, hfo_err *err)
{
    return hfo_enc_truncate_dir(e, max_len, stride, 0, err);
}

/* self += pair (contents only) */
static hfo_status extend(hfo_encoding *self, const hfo_encoding *pair, hfo_err *err)
{
    return append_range(self, pair, 0, pair->len, err);
}

hfo_status hfo_enc_merge_with(hfo_encoding *self, hfo_encoding *pair, hfo_err *err)
{
    hfo_status st = HFO_OK;
    hfo_encoding *news = NULL;
    size_t n_news = 0;
    size_t total = self->n_overflow * (1 + pair->n_overflow) + pair->n_overflow;
    if (total) {
        news = calloc(total, sizeof *news);
        if (news == NULL) {
            st = hfo_err_set(err, HFO_ERR_NOMEM, "out of memory");
            goto done;
        }
    }
    /* 1. each of our overflowings with the pair and with each of its overflowings */
    for (size_t i = 0; i < self->n_overflow; i++) {
        hfo_encoding *so = &self->overflow[i];
        hfo_encoding pc;
        if ((st = hfo_enc_clone(so, &news[n_news], err)))
            goto done;
        n_news++;
        if ((st = hfo_enc_clone(pair, &pc, err)))
            goto done;
        st = hfo_enc_merge_with(&news[n_news - 1], &pc, err);
        hfo_enc_free(&pc);
        if (st)
            goto done;
        for (size_t j = 0; j < pair->n_overflow; j++) {
            if ((st = hfo_enc_clone(so, &news[n_news], err)))
                goto done;
            n_news++;
            if ((st = hfo_enc_clone(&pair->overflow[j], &pc, err)))
                goto done;
            st = hfo_enc_merge_with(&news[n_news - 1], &pc, err);
            hfo_enc_free(&pc);
            if (st)
                goto done;
        }
    }
    /* 2. ourself with each of the pair's overflowings */
    for (size_t j = 0; j < pair->n_overflow; j++) {
        hfo_encoding pc;
        /* a copy of self without its overflowings would differ from the
         * reference, which clones self whole */
        if ((st = hfo_enc_clone(self, &news[n_news], err)))
            goto done;
        n_news++;
        if ((st = hfo_enc_clone(&pair->overflow[j], &pc, err)))
            goto done;
        st = hfo_enc_merge_with(&news[n_news - 1], &pc, err);
        hfo_enc_free(&pc);
        if (st)
            goto done;
    }
    /* 3. finish by merging the pair itself; the combinations replace our
     * previous overflowings (`self.overflowing = overflowings`) */
    size_t self_len = self->len;
    if ((st = extend(self, pair, err)))
        goto done;
    for (int s = 0; s < 2; s++) {
        if (pair->seq_set & (1u << s)) {
            self->seq_start[s] = self_len + pair->seq_start[s];
            self->seq_end[s] = self_len + pair->seq_end[s];
            self->seq_set |= 1u << s;
        }
    }
    for (size_t k = 0; k < self->n_overflow; k++)
        hfo_enc_free(&self->overflow[k]);
    self->n_overflow = 0;
    for (size_t k = 0; k < n_news; k++) {
        if ((st = push_overflow(self, &news[k], err))) {
            n_news = k + 1;
            goto done;
        }
    }
    n_news = 0;
done:
    for (size_t k = 0; k < n_news; k++)
        hfo_enc_free(&news[k]);
    free(news);
    hfo_enc_free(pair);
    return st;
}

hfo_status hfo_enc_truncate_pair(hfo_encoding *a, hfo_encoding *b, hfo_trunc strategy,
                                 size_t max_length, size_t stride, hfo_err *err)
{
    return hfo_enc_truncate_pair_dir(a, b, strategy, max_length, stride, 0, err);
}

hfo_status hfo_enc_truncate_pair_dir(hfo_encoding *a, hfo_encoding *b, hfo_trunc strategy,
                                     size_t max_length, size_t stride, int left, hfo_err *err)
{
    if (max_length == 0) {
        if (hfo_enc_truncate_dir(a, 0, stride, left, err))
            return err->code;
        return b ? hfo_enc_truncate_dir(b, 0, stride, left, err) : HFO_OK;
    }
    size_t total = a->len + (b ? b->len : 0);
    if (total <= max_length)
        return HFO_OK;
    size_t to_remove = total - max_length;
    if (strategy == HFO_TRUNC_LONGEST_FIRST) {
        if (b == NULL)
            return hfo_enc_truncate_dir(a, total - to_remove, stride, left, err);
        size_t n1 = a->len, n2 = b->len;
        int swap = 0;
        if (n1 > n2) {
            swap = 1;
            size_t t = n1; n1 = n2; n2 = t;
        }
        if (n1 > max_length)
            n2 = n1;
        else
            n2 = n1 > max_length - n1 ? n1 : max_length - n1;
        if (n1 + n2 > max_length) {
            n1 = max_length / 2;
            n2 = n1 + max_length % 2;
        }
        if (swap) {
            size_t t = n1; n1 = n2; n2 = t;
        }
        if (hfo_enc_truncate_dir(a, n1, stride, left, err))
            return err->code;
        return hfo_enc_truncate_dir(b, n2, stride, left, err);
    }
    hfo_encoding *target = strategy == HFO_TRUNC_ONLY_FIRST ? a : b;
    if (target == NULL)
        return hfo_err_set(err, HFO_ERR_INPUT,
                           "truncation='only_second' needs a second sequence (text_pair)");
    if (target->len > to_remove)
        return hfo_enc_truncate_dir(target, target->len - to_remove, stride, left, err);
    return hfo_err_set(err, HFO_ERR_INPUT,
                       "Truncation error: Sequence to truncate too short to respect the "
                       "provided max_length");
}
