/* tokenizer.c: the pipeline, stage by stage (tokenizers'
 * TokenizerImpl::encode_single_sequence and post_process):
 *   1. split the raw text at added tokens (non-normalized ones)
 *   2. normalize each remaining piece (alignment to the raw text kept)
 *   3. split it at normalized added tokens
 *   4. pre-tokenize into words
 *   5. model: words -> tokens, offsets mapped back through the alignment
 *   6. truncation, then the post-processor's template. */
#include "tok_internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

hfo_tok *hfo_tok_new(void)
{
    return calloc(1, sizeof(hfo_tok));
}

void hfo_tok_free(hfo_tok *tok)
{
    if (tok == NULL)
        return;
    if (tok->normalizer)
        tok->normalizer->free(tok->normalizer);
    if (tok->pretok)
        tok->pretok->free(tok->pretok);
    if (tok->model)
        tok->model->free(tok->model);
    hfo_added_free(&tok->added);
    hfo_template_free(&tok->single);
    hfo_template_free(&tok->pair);
    free(tok);
}

void hfo_tok_set_normalizer(hfo_tok *tok, hfo_normalizer *n)
{
    if (tok->normalizer)
        tok->normalizer->free(tok->normalizer);
    tok->normalizer = n;
}

void hfo_tok_set_pretok(hfo_tok *tok, hfo_pretok *p)
{
    if (tok->pretok)
        tok->pretok->free(tok->pretok);
    tok->pretok = p;
}

void hfo_tok_set_model(hfo_tok *tok, hfo_model *m)
{
    if (tok->model)
        tok->model->free(tok->model);
    tok->model = m;
}

hfo_status hfo_tok_add_token(hfo_tok *tok, const uint32_t *cps, size_t n, int32_t id,
                             unsigned flags, hfo_err *err)
{
    /* a special token with normalized=true is matched in the normalized text
     * too (tokenizers 0.23's AddedVocabulary looks at `normalized` alone) */
    if ((flags & HFO_ADDED_NORMALIZED) && tok->normalizer) {
        /* tokenizers matches normalized added tokens by their normalized
         * content (AddedVocabulary::refresh_added_tokens) */
        hfo_norm ns = {0};
        hfo_text t = {cps, n, 4};
        hfo_status st = tok->normalizer->run(tok->normalizer, &t, 0, n, &ns, err);
        if (st == HFO_OK)
            st = hfo_added_add(&tok->added, ns.cp, ns.len, id, flags, err);
        n = ns.len;
        hfo_norm_free(&ns);
        if (st)
            return st;
    } else if (hfo_added_add(&tok->added, cps, n, id, flags, err)) {
        return err->code;
    }
    if (n) {
        if (flags & HFO_ADDED_NORMALIZED)
            tok->has_norm_added = 1;
        else
            tok->has_raw_added = 1;
    }
    return HFO_OK;
}

hfo_status hfo_tok_set_template(hfo_tok *tok, int pair, const hfo_piece *pieces, size_t n,
                                hfo_err *err)
{
    return hfo_template_init(pair ? &tok->pair : &tok->single, pieces, n, err);
}

size_t hfo_tok_n_special(const hfo_tok *tok, int pair)
{
    return hfo_template_n_special(pair ? &tok->pair : &tok->single);
}

hfo_status hfo_tok_normalize(const hfo_tok *tok, const hfo_text *t, uint32_t **out, size_t *n_out,
                             hfo_err *err)
{
    hfo_norm ns = {0};
    hfo_status st = tok->normalizer ? tok->normalizer->run(tok->normalizer, t, 0, t->len, &ns, err)
                                    : hfo_norm_from_text(&ns, t, 0, t->len, err);
    free(ns.os);
    free(ns.oe);
    if (st) {
        free(ns.cp);
        return st;
    }
    *out = ns.cp;
    *n_out = ns.len;
    if (*out == NULL && (*out = malloc(4)) == NULL)
        return hfo_err_set(err, HFO_ERR_NOMEM, "out of memory");
    return HFO_OK;
}

/* Steps 4-5 on ns: words -> the model's pieces of each, handed to the sink. */
static hfo_status walk_norm(const hfo_tok *tok, hfo_ws *ws, hfo_norm *ns, const hfo_tok_sink *sink,
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
        if (tok->model->tokenize(tok->model, ns->cp + a, b - a, &ws->pieces, err)
            || sink->word(sink->ctx, ns, a, &ws->pieces, err))
            return err->code;
    }
    return HFO_OK;
}

/* Steps 2-5 on raw text[begin, end) */
static hfo_status walk_text(const hfo_tok *tok, hfo_ws *ws, const hfo_text *t, size_t begin,
                            size_t end, const hfo_tok_sink *sink, hfo_err *err)
{
    if (!tok->has_norm_added && tok->normalizer && hfo_bert_norm_ascii(tok->normalizer) &&
        hfo_pretok_is_bert(tok->pretok))
        return hfo_walk_bert(tok, ws, t, begin, end, sink, err);
    if (hfo_walk_t5_applies(tok))
        return hfo_walk_t5(tok, ws, t, begin, end, sink, err);
    hfo_norm *ns = &ws->ns;
    ns->len = 0;
    if (tok->normalizer) {
        if (tok->normalizer->run(tok->normalizer, t, begin, end, ns, err))
            return err->code;
    } else if (hfo_norm_from_text(ns, t, begin, end, err)) {
        return err->code;
    }
    if (!tok->has_norm_added)
        return walk_norm(tok, ws, ns, sink, err);
    /* step 3: normalized added tokens, matched in the normalized text */
    hfo_text nt = {ns->cp, ns->len, 4};
    if (hfo_added_split(&tok->added, 1, ws->split_special, &nt, &ws->nsegs, err))
        return err->code;
    hfo_norm part = {0};
    hfo_status st = HFO_OK;
    for (size_t k = 0; k < ws->nsegs.len && st == HFO_OK; k++) {
        hfo_seg sg = ws->nsegs.v[k];
        if (sg.id >= 0) {
            st = sink->added(sink->ctx, sg.id, ns->os[sg.start], ns->oe[sg.end - 1], err);
            continue;
        }
        part.len = 0;
        if ((st = hfo_norm_grow(&part, sg.end - sg.start, err)))
            break;
        for (size_t i = sg.start; i < sg.end; i++)
            hfo_norm_push(&part, ns->cp[i], ns->os[i], ns->oe[i]);
        /* walk_norm uses ws->words/pieces, not ws->ns */
        st = walk_norm(tok, ws, &part, sink, err);
    }
    hfo_norm_free(&part);
    return st;
}

hfo_status hfo_tok_walk(const hfo_tok *tok, hfo_ws *ws, const hfo_text *t, const hfo_tok_sink *sink,
                        hfo_err *err)
{
    if (!tok->has_raw_added)
        return walk_text(tok, ws, t, 0, t->len, sink, err);
    if (hfo_added_split(&tok->added, 0, ws->split_special, t, &ws->segs, err))
        return err->code;
    for (size_t k = 0; k < ws->segs.len; k++) {
        hfo_seg sg = ws->segs.v[k];
        hfo_status st = sg.id >= 0 ? sink->added(sink->ctx, sg.id, (uint32_t)sg.start, (uint32_t)sg.end, err)
                                   : walk_text(tok, ws, t, sg.start, sg.end, sink, err);
        if (st)
            return st;
    }
    return HFO_OK;
}

/* The encoding sink (hfo_enc_sink, tok_internal.h) */
static inline void enc_push(const hfo_enc_sink *c, hfo_encoding *e, int32_t id, uint32_t s, uint32_t end,
                            int32_t word)
{
    size_t i = e->len++;
    e->ids[i] = id;
    if (c->lean)
        return;
    e->offsets[2 * i] = s;
    e->offsets[2 * i + 1] = end;
    e->words[i] = word;
}

static hfo_status enc_word(void *ctx, const hfo_norm *ns, uint32_t a, const hfo_pieces *p, hfo_err *err)
{
    hfo_enc_sink *c = ctx;
    hfo_encoding *out = c->out;
    int32_t w = c->word;
    c->word += c->step;
    if (hfo_enc_reserve(out, p->len, err))
        return err->code;
    for (size_t k = 0; k < p->len; k++) {
        uint32_t s = a + p->start[k], e = a + p->end[k];
        enc_push(c, out, p->id[k], ns->os[s], ns->oe[e - 1], w);
    }
    return HFO_OK;
}

hfo_status hfo_enc_plain(void *ctx, uint32_t base, const int32_t *ids, const uint8_t *ends, size_t n,
                         hfo_err *err)
{
    hfo_enc_sink *c = ctx;
    hfo_encoding *out = c->out;
    int32_t w = c->word;
    c->word += c->step;
    if (hfo_enc_reserve(out, n, err))
        return err->code;
    uint32_t s = base;
    for (size_t k = 0; k < n; k++) {
        uint32_t e = base + ends[k];
        enc_push(c, out, ids[k], s, e, w);
        s = e;
    }
    return HFO_OK;
}

static hfo_status enc_added(void *ctx, int32_t id, uint32_t os, uint32_t oe, hfo_err *err)
{
    hfo_enc_sink *c = ctx;
    int32_t w = c->word;
    c->word += c->step;
    if (hfo_enc_reserve(c->out, 1, err))
        return err->code;
    enc_push(c, c->out, id, os, oe, w);
    return HFO_OK;
}

/* Every token of out is of sequence type type_id, none special: what
 * truncation's overflowing parts keep (the template's simple case sets
 * both itself), so only a call that truncates fills them. */
static void enc_fill_seq(hfo_encoding *out, int32_t type_id)
{
    for (size_t i = 0; i < out->len; i++)
        out->type_ids[i] = type_id;
    if (out->len)
        memset(out->special, 0, out->len);
}

/* One sequence of an item: a text, or a pre-tokenized list of words. */
typedef struct seq_in {
    const hfo_text *text;
    const hfo_words *words;
} seq_in;

/* Steps 1-5 for one sequence */
static hfo_status encode_seq(const hfo_tok *tok, hfo_ws *ws, const seq_in *in, int32_t type_id,
                             int fill, int lean, hfo_encoding *out, hfo_err *err)
{
    hfo_enc_reset(out);
    if (in->text) {
        if (hfo_enc_reserve(out, in->text->len / 2 + 8, err))
            return err->code;
        hfo_enc_sink c = {out, 0, 1, lean};
        hfo_tok_sink sink = {.word = enc_word, .added = enc_added, .ctx = &c, .plain = hfo_enc_plain};
        if (hfo_tok_walk(tok, ws, in->text, &sink, err))
            return err->code;
        if (fill)
            enc_fill_seq(out, type_id);
        return HFO_OK;
    }
    /* tokenizers' encode_single_sequence on a PreTokenized input: each word
     * encoded alone with word index = its position, the encodings merged
     * without shifting offsets (Encoding::merge(.., growing_offsets=false)) */
    const hfo_words *w = in->words;
    if (w->n > (size_t)INT32_MAX)
        return hfo_err_set(err, HFO_ERR_INPUT, "too many words (%zu)", w->n);
    size_t total = 0;
    for (size_t i = 0; i < w->n; i++)
        total += w->w[i].len;
    if (hfo_enc_reserve(out, total / 2 + 8, err))
        return err->code;
    for (size_t i = 0; i < w->n; i++) {
        hfo_enc_sink c = {out, (int32_t)i, 0, lean};
        hfo_tok_sink sink = {.word = enc_word, .added = enc_added, .ctx = &c, .plain = hfo_enc_plain};
        if (hfo_tok_walk(tok, ws, &w->w[i], &sink, err)) {
            char msg[sizeof err->msg];
            memcpy(msg, err->msg, sizeof msg);
            return hfo_err_set(err, err->code, "word %zu: %s", i, msg);
        }
    }
    if (fill)
        enc_fill_seq(out, type_id);
    return HFO_OK;
}

static hfo_status encode_item(const hfo_tok *tok, hfo_ws *ws, const seq_in *a, const seq_in *b,
                              const hfo_call *call, hfo_encoding *out, hfo_err *err)
{
    hfo_encoding *ea = &ws->ea, *eb = &ws->eb;
    hfo_enc_init(out);
    ws->split_special = call->split_special;
    if (tok->model == NULL)
        return hfo_err_set(err, HFO_ERR_CONFIG, "tokenizer has no model");
    /* each sequence with its type id as the reference encodes it (0, 1):
     * only overflowing parts keep it (the template sets its own), so only a
     * call that truncates fills it in */
    int fill = call->truncation != HFO_TRUNC_NONE;
    int lean = call->ids_only || call->no_offsets;
    if (encode_seq(tok, ws, a, 0, fill, lean, ea, err))
        goto fail;
    if (b && encode_seq(tok, ws, b, 1, fill, lean, eb, err))
        goto fail;
    const hfo_template *tpl = b ? &tok->pair : &tok->single;
    if (call->truncation != HFO_TRUNC_NONE) {
        size_t max_length = call->max_length;
        size_t n_added = call->add_special_tokens ? hfo_template_n_special(tpl) : 0;
        if (max_length < n_added) {
            hfo_err_set(err, HFO_ERR_INPUT,
                        "max_length=%zu is smaller than the %zu special tokens the tokenizer "
                        "adds to %s", max_length, n_added, b ? "a pair" : "a sequence");
            goto fail;
        }
        if (hfo_enc_truncate_pair_dir(ea, b ? eb : NULL, call->truncation, max_length - n_added,
                                      call->stride, call->truncate_left, err))
            goto fail;
    }
    if (call->ids_only) {   /* the rows only: what truncation cut off is not wanted */
        hfo_enc_drop_overflow(ea);
        hfo_enc_drop_overflow(eb);
        return hfo_template_apply_ids(tpl, ea, b ? eb : NULL, call->add_special_tokens, ws->arena, out,
                                      err);
    }
    if (hfo_template_apply(tpl, ea, b ? eb : NULL, call->add_special_tokens, lean, ws->arena, out, err))
        return err->code;  /* apply emptied ea, eb and cleans out on failure */
    return HFO_OK;
fail:
    hfo_enc_reset(ea);
    hfo_enc_reset(eb);
    return err->code;
}

hfo_status hfo_tok_encode(const hfo_tok *tok, hfo_ws *ws, const hfo_text *a, const hfo_text *b,
                          const hfo_call *call, hfo_encoding *out, hfo_err *err)
{
    seq_in sa = {a, NULL}, sb = {b, NULL};
    return encode_item(tok, ws, &sa, b ? &sb : NULL, call, out, err);
}

hfo_status hfo_tok_encode_words(const hfo_tok *tok, hfo_ws *ws, const hfo_words *a,
                                const hfo_words *b, const hfo_call *call, hfo_encoding *out,
                                hfo_err *err)
{
    seq_in sa = {NULL, a}, sb = {NULL, b};
    return encode_item(tok, ws, &sa, b ? &sb : NULL, call, out, err);
}

/* ---- batches on the pool ---- */
typedef struct batch_job {
    const hfo_tok *tok;
    const hfo_text *a, *b;      /* texts, or */
    const hfo_words *wa, *wb;   /* pre-tokenized sequences */
    const hfo_call *call;
    hfo_encoding *out;
    hfo_ws **ws;            /* one per worker */
    hfo_arena *arena;       /* the caller's, or NULL */
    hfo_arena *arenas;      /* one per worker, adopted by arena at the end */
    _Atomic unsigned char *done;
    hfo_batch_progress progress;
    void *progress_ctx;
    _Atomic size_t bad_index;   /* the first failing item; SIZE_MAX: none */
    hfo_err err;
    pthread_mutex_t lock;
} batch_job;

static void batch_item(void *ctx, size_t i, int worker)
{
    batch_job *job = ctx;
    /* after a failure, items past it are skipped (those before it still
     * run: the error reported is the first item's) */
    if (i > atomic_load_explicit(&job->bad_index, memory_order_relaxed)) {
        hfo_enc_init(&job->out[i]);   /* skipped: still the caller's to free */
    } else {
        hfo_err err;
        seq_in sa = {job->a ? &job->a[i] : NULL, job->wa ? &job->wa[i] : NULL};
        seq_in sb = {job->b ? &job->b[i] : NULL, job->wb ? &job->wb[i] : NULL};
        int pair = job->b != NULL || job->wb != NULL;
        if (encode_item(job->tok, job->ws[worker], &sa, pair ? &sb : NULL, job->call, &job->out[i],
                        &err)) {
            pthread_mutex_lock(&job->lock);
            if (i < atomic_load(&job->bad_index)) {
                atomic_store(&job->bad_index, i);
                job->err = err;
            }
            pthread_mutex_unlock(&job->lock);
        }
    }
    if (job->done)
        atomic_store_explicit(&job->done[i], 1, memory_order_release);
    if (worker == 0 && job->progress)
        job->progress(job->progress_ctx);
}

static hfo_status run_batch(batch_job *job, size_t n, int nthreads, size_t *bad_index, hfo_err *err)
{
    /* out[i] is initialised by the worker that takes item i (a big batch's
     * array is fresh memory: its pages are then touched in parallel) */
    if (nthreads <= 0)
        nthreads = hfo_pool_get_threads();
    if ((size_t)nthreads > n)
        nthreads = n ? (int)n : 1;
    pthread_mutex_init(&job->lock, NULL);
    atomic_init(&job->bad_index, SIZE_MAX);
    job->ws = calloc((size_t)nthreads, sizeof *job->ws);
    job->arenas = job->arena ? calloc((size_t)nthreads, sizeof *job->arenas) : NULL;
    hfo_status st = HFO_OK;
    int ran = 0;
    if (job->ws == NULL || (job->arena && job->arenas == NULL)) {
        st = hfo_err_set(err, HFO_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int w = 0; w < nthreads; w++) {
        if ((job->ws[w] = hfo_ws_new()) == NULL) {
            st = hfo_err_set(err, HFO_ERR_NOMEM, "out of memory");
            goto done;
        }
        job->ws[w]->arena = job->arenas ? &job->arenas[w] : NULL;
    }
    /* lists built while the batch runs take finished rows from the front */
    if (job->progress)
        hfo_pool_run_in_order(n, nthreads, batch_item, job);
    else
        hfo_pool_run(n, nthreads, batch_item, job);
    ran = 1;
    size_t first_bad = atomic_load(&job->bad_index);
    if (first_bad != SIZE_MAX) {
        *err = job->err;
        *bad_index = first_bad;
        st = err->code;
    }
done:
    if (!ran)   /* the workers initialise the items they take */
        for (size_t i = 0; i < n; i++)
            hfo_enc_init(&job->out[i]);
    for (int w = 0; job->ws && w < nthreads; w++)
        hfo_ws_free(job->ws[w]);
    free(job->ws);
    for (int w = 0; job->arenas && w < nthreads; w++)
        hfo_arena_adopt(job->arena, &job->arenas[w]);
    free(job->arenas);
    pthread_mutex_destroy(&job->lock);
    return st;
}

hfo_status hfo_tok_encode_batch(const hfo_tok *tok, const hfo_text *a, const hfo_text *b,
                                size_t n, const hfo_call *call, int nthreads,
                                hfo_encoding *out, size_t *bad_index, hfo_err *err)
{
    return hfo_tok_encode_batch_ex(tok, a, b, n, call, nthreads, out, NULL, NULL, NULL, NULL,
                                   bad_index, err);
}

hfo_status hfo_tok_encode_batch_ex(const hfo_tok *tok, const hfo_text *a, const hfo_text *b,
                                   size_t n, const hfo_call *call, int nthreads,
                                   hfo_encoding *out, hfo_arena *arena, _Atomic unsigned char *done,
                                   hfo_batch_progress progress, void *progress_ctx,
                                   size_t *bad_index, hfo_err *err)
{
    batch_job job = {.tok = tok, .a = a, .b = b, .call = call, .out = out, .arena = arena,
                     .done = done, .progress = progress, .progress_ctx = progress_ctx};
    return run_batch(&job, n, nthreads, bad_index, err);
}

hfo_status hfo_tok_encode_words_batch(const hfo_tok *tok, const hfo_words *a, const hfo_words *b,
                                      size_t n, const hfo_call *call, int nthreads,
                                      hfo_encoding *out, hfo_arena *arena,
                                      _Atomic unsigned char *done,
                                      hfo_batch_progress progress, void *progress_ctx,
                                      size_t *bad_index, hfo_err *err)
{
    batch_job job = {.tok = tok, .wa = a, .wb = b, .call = call, .out = out, .arena = arena,
                     .done = done, .progress = progress, .progress_ctx = progress_ctx};
    return run_batch(&job, n, nthreads, bad_index, err);
}
