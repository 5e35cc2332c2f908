/* py_tokenizer.c: glue between the Python face (hfonnx/tokenization.py) and
 * the tokenizer engine (csrc/tok/).
 *
 * hfonnx._hfonnx._TokenizerCore is built from plain data the Python side
 * read from tokenizer.json / vocab.txt, and encodes batches: the GIL is
 * released while the engine runs on the thread pool, and the results are
 * written either into Python lists or straight into numpy arrays.
 *
 *     core = _TokenizerCore(vocab_items, unk_id, "##", 100, (1, 1, None, 1), "bert",
 *                           added, single_template, pair_template)
 *     out = core.encode_batch(texts, None, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, WANT_..., 0, 0)
 */
#include "glue.h"
#include "tok/tok.h"

#include <stdatomic.h>
#include <string.h>

typedef struct {
    PyObject_HEAD
    hfo_tok *tok;
    PyObject **ints;   /* cached int objects 0..n_ints-1: building lists is then INCREF + store */
    size_t n_ints;
} CoreObject;

#define HFO_INT_CACHE_MIN 65536

static inline PyObject *cached_int(PyObject *const *ints, size_t n_ints, long v)
{
    if (v >= 0 && (size_t)v < n_ints) {
        Py_INCREF(ints[v]);
        return ints[v];
    }
    return PyLong_FromLong(v);
}

static hfo_py_state *state_of(PyObject *self)
{
    return hfo_py_state_of_type(Py_TYPE(self));
}

static void raise_err(hfo_py_state *st, const hfo_err *err)
{
    if (err->code == HFO_ERR_NOMEM)
        PyErr_NoMemory();
    else
        PyErr_SetString(st ? st->TokenizerError : PyExc_ValueError, err->msg);
}

/* str -> UCS4 copy (caller PyMem_Free's). NULL with exception set. */
static Py_UCS4 *ucs4_of(PyObject *s, Py_ssize_t *n)
{
    if (!PyUnicode_Check(s)) {
        PyErr_Format(PyExc_TypeError, "expected str, got %.100s", Py_TYPE(s)->tp_name);
        return NULL;
    }
    *n = PyUnicode_GET_LENGTH(s);
    return PyUnicode_AsUCS4Copy(s);
}

/* Feed each (str, id) of `items` to the WordPiece vocabulary, or, with
 * `added`, each (str, id, flags) to the added tokens; track the largest id.
 * 0, or -1 with an exception set. */
static int add_entries(hfo_py_state *st, PyObject *items, int added, hfo_model *wp, hfo_tok *tok,
                       long *max_id)
{
    PyObject *it = PyObject_GetIter(items), *item;
    if (it == NULL)
        return -1;
    while ((item = PyIter_Next(it)) != NULL) {
        PyObject *text;
        long id;
        unsigned int flags = 0;
        int ok = added ? PyArg_ParseTuple(item, "UlI;added tokens must be (str, int, flags)", &text, &id, &flags)
                       : PyArg_ParseTuple(item, "Ul;vocab items must be (str, int)", &text, &id);
        Py_ssize_t n;
        Py_UCS4 *buf = ok ? ucs4_of(text, &n) : NULL;
        Py_DECREF(item);
        if (buf == NULL)
            break;
        if (id < 0 || id > INT32_MAX) {
            PyMem_Free(buf);
            PyErr_Format(st->TokenizerError, "%s id %ld out of range", added ? "added token" : "vocabulary", id);
            break;
        }
        if (id > *max_id)
            *max_id = id;
        hfo_err err = {HFO_OK, ""};
        hfo_status rc = added ? hfo_tok_add_token(tok, (uint32_t *)buf, (size_t)n, (int32_t)id, flags, &err)
                              : hfo_wordpiece_add(wp, (uint32_t *)buf, (size_t)n, (int32_t)id, &err);
        PyMem_Free(buf);
        if (rc) {
            raise_err(st, &err);
            break;
        }
    }
    Py_DECREF(it);
    return PyErr_Occurred() ? -1 : 0;
}

static int core_init(PyObject *self_, PyObject *args, PyObject *kwds)
{
    CoreObject *self = (CoreObject *)self_;
    static char *kwlist[] = {"vocab", "unk_id", "prefix", "max_input_chars_per_word",
                             "normalizer", "pre_tokenizer", "added_tokens", "single", "pair", NULL};
    PyObject *vocab, *prefix, *normalizer, *pretok, *added, *single, *pair;
    long unk_id;
    Py_ssize_t max_chars;
    hfo_py_state *st = state_of(self_);
    hfo_err err = {HFO_OK, ""};
    Py_UCS4 *buf = NULL;
    Py_ssize_t n;
    hfo_piece *pieces = NULL;
    int32_t *ids = NULL;
    long max_id = 0;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OlUnOOOOO", kwlist, &vocab, &unk_id, &prefix,
                                     &max_chars, &normalizer, &pretok, &added, &single, &pair))
        return -1;
    if (self->tok) {
        PyErr_SetString(PyExc_RuntimeError, "_TokenizerCore already initialised");
        return -1;
    }
    if (max_chars < 0) {
        PyErr_SetString(PyExc_ValueError, "max_input_chars_per_word must be >= 0");
        return -1;
    }
    hfo_tok *tok = hfo_tok_new();
    if (tok == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    /* normalizer: None or (clean_text, handle_chinese_chars, strip_accents, lowercase) */
    if (normalizer != Py_None) {
        int c, h, s, l;
        if (!PyArg_ParseTuple(normalizer, "pppp;normalizer must be a 4-tuple of flags", &c, &h, &s, &l))
            goto error;
        hfo_normalizer *nz = hfo_normalizer_bert_new(c, h, s, l);
        if (nz == NULL) {
            PyErr_NoMemory();
            goto error;
        }
        hfo_tok_set_normalizer(tok, nz);
    }
    if (pretok != Py_None) {
        if (!PyUnicode_Check(pretok) || PyUnicode_CompareWithASCIIString(pretok, "bert") != 0) {
            PyErr_SetString(st->TokenizerError, "unsupported pre_tokenizer (only 'bert')");
            goto error;
        }
        hfo_pretok *pt = hfo_pretok_bert_new();
        if (pt == NULL) {
            PyErr_NoMemory();
            goto error;
        }
        hfo_tok_set_pretok(tok, pt);
    }
    /* model */
    buf = ucs4_of(prefix, &n);
    if (buf == NULL)
        goto error;
    hfo_model *wp = hfo_wordpiece_new((int32_t)unk_id, (size_t)max_chars, (uint32_t *)buf, (size_t)n);
    PyMem_Free(buf);
    buf = NULL;
    if (wp == NULL) {
        PyErr_NoMemory();
        goto error;
    }
    hfo_tok_set_model(tok, wp);
    if (add_entries(st, vocab, 0, wp, tok, &max_id) < 0)
        goto error;
    if (add_entries(st, added, 1, wp, tok, &max_id) < 0)   /* added tokens: (content, id, flags) */
        goto error;
    /* templates: list of (seq, type_id, ids) */
    PyObject *tpls[2] = {single, pair};
    for (int t = 0; t < 2; t++) {
        PyObject *seq = PySequence_Fast(tpls[t], "template must be a sequence");
        if (seq == NULL)
            goto error;
        Py_ssize_t np = PySequence_Fast_GET_SIZE(seq);
        pieces = PyMem_Calloc(np ? np : 1, sizeof *pieces);
        size_t total_ids = 0;
        for (Py_ssize_t k = 0; k < np; k++) {
            PyObject *ids_list = PyTuple_Check(PySequence_Fast_GET_ITEM(seq, k)) &&
                                 PyTuple_GET_SIZE(PySequence_Fast_GET_ITEM(seq, k)) == 3
                                     ? PyTuple_GET_ITEM(PySequence_Fast_GET_ITEM(seq, k), 2) : NULL;
            if (ids_list && PyList_Check(ids_list))
                total_ids += PyList_GET_SIZE(ids_list);
        }
        ids = PyMem_Calloc(total_ids ? total_ids : 1, sizeof *ids);
        if (pieces == NULL || ids == NULL) {
            Py_DECREF(seq);
            PyErr_NoMemory();
            goto error;
        }
        size_t used = 0;
        for (Py_ssize_t k = 0; k < np; k++) {
            int sq, ty;
            PyObject *lst;
            if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, k), "iiO!;template pieces must be (seq, type_id, [ids])",
                                  &sq, &ty, &PyList_Type, &lst)) {
                Py_DECREF(seq);
                goto error;
            }
            pieces[k].seq = sq;
            pieces[k].type_id = ty;
            pieces[k].ids = ids + used;
            pieces[k].n_ids = (size_t)PyList_GET_SIZE(lst);
            for (Py_ssize_t j = 0; j < PyList_GET_SIZE(lst) && used < total_ids; j++) {
                long v = PyLong_AsLong(PyList_GET_ITEM(lst, j));
                if (v == -1 && PyErr_Occurred()) {
                    Py_DECREF(seq);
                    goto error;
                }
                ids[used++] = (int32_t)v;
            }
        }
        Py_DECREF(seq);
        hfo_status rc = hfo_tok_set_template(tok, t, pieces, (size_t)np, &err);
        PyMem_Free(pieces);
        PyMem_Free(ids);
        pieces = NULL;
        ids = NULL;
        if (rc) {
            raise_err(st, &err);
            goto error;
        }
    }
    self->n_ints = (size_t)max_id + 1 > HFO_INT_CACHE_MIN ? (size_t)max_id + 1 : HFO_INT_CACHE_MIN;
    self->ints = PyMem_Calloc(self->n_ints, sizeof *self->ints);
    if (self->ints == NULL) {
        self->n_ints = 0;
        PyErr_NoMemory();
        goto error;
    }
    for (size_t i = 0; i < self->n_ints; i++) {
        if ((self->ints[i] = PyLong_FromSize_t(i)) == NULL) {
            for (size_t j = 0; j < i; j++)
                Py_DECREF(self->ints[j]);
            PyMem_Free(self->ints);
            self->ints = NULL;
            self->n_ints = 0;
            goto error;
        }
    }
    self->tok = tok;
    return 0;
error:
    PyMem_Free(pieces);
    PyMem_Free(ids);
    hfo_tok_free(tok);
    return -1;
}

static void core_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    CoreObject *c = (CoreObject *)self;
    for (size_t i = 0; i < c->n_ints; i++)
        Py_DECREF(c->ints[i]);
    PyMem_Free(c->ints);
    hfo_tok_free(c->tok);
    tp->tp_free(self);
    Py_DECREF(tp);
}

enum {
    WANT_TYPE_IDS = 1, WANT_ATTENTION = 2, WANT_SPECIAL = 4, WANT_OFFSETS = 8, WANT_LENGTH = 16,
    WANT_OVERFLOW = 32,
};

/* Texts of a batch: borrowed views into str objects we hold references to. */
typedef struct {
    PyObject **refs;
    hfo_text *texts;
    Py_ssize_t n;
} text_batch;

static void batch_release(text_batch *b)
{
    for (Py_ssize_t i = 0; b->refs && i < b->n; i++)
        Py_XDECREF(b->refs[i]);
    PyMem_Free(b->refs);
    PyMem_Free(b->texts);
    memset(b, 0, sizeof *b);
}

static int batch_acquire(PyObject *obj, const char *what, text_batch *b)
{
    memset(b, 0, sizeof *b);
    PyObject *seq = PySequence_Fast(obj, "texts must be a list or tuple of str");
    if (seq == NULL)
        return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    b->refs = PyMem_Calloc(n ? n : 1, sizeof *b->refs);
    b->texts = PyMem_Calloc(n ? n : 1, sizeof *b->texts);
    if (b->refs == NULL || b->texts == NULL) {
        Py_DECREF(seq);
        batch_release(b);
        PyErr_NoMemory();
        return -1;
    }
    b->n = n;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *s = PySequence_Fast_GET_ITEM(seq, i);
        if (!PyUnicode_Check(s)) {
            PyErr_Format(PyExc_TypeError, "%s[%zd] must be a str, got %.100s", what, i,
                         Py_TYPE(s)->tp_name);
            Py_DECREF(seq);
            batch_release(b);
            return -1;
        }
        if (PyUnicode_READY(s) < 0) {
            Py_DECREF(seq);
            batch_release(b);
            return -1;
        }
        if ((uint64_t)PyUnicode_GET_LENGTH(s) >= UINT32_MAX) {
            /* offsets are 32-bit */
            PyErr_Format(PyExc_ValueError, "%s[%zd] is too long (%zd characters; at most 4294967294)",
                         what, i, PyUnicode_GET_LENGTH(s));
            Py_DECREF(seq);
            batch_release(b);
            return -1;
        }
        Py_INCREF(s);
        b->refs[i] = s;
        b->texts[i].data = PyUnicode_DATA(s);
        b->texts[i].len = (size_t)PyUnicode_GET_LENGTH(s);
        b->texts[i].kind = PyUnicode_KIND(s);
    }
    Py_DECREF(seq);
    return 0;
}

typedef struct {
    const hfo_encoding *enc;
    Py_ssize_t sample;
} row_ref;

typedef struct {
    PyObject *const *ints;
    size_t n_ints;
} int_cache;

/* A fresh list for one row.  It is taken out of the cyclic GC: it holds
 * only ints (or pairs of ints), so it is in no cycle, and the collector
 * would otherwise walk every token of a big batch again on each of its
 * next passes (a quarter of the time of a call returning lists).  The
 * cost: a cycle the caller later builds through such a list is never
 * collected. */
static PyObject *row_list(size_t n)
{
    PyObject *l = PyList_New((Py_ssize_t)n);
    if (l != NULL)
        PyObject_GC_UnTrack(l);
    return l;
}

static PyObject *int_list(const int_cache *c, const int32_t *v, size_t n, size_t pad, int left,
                          long pad_value)
{
    PyObject *l = row_list(n + pad);
    if (l == NULL)
        return NULL;
    size_t o = left ? pad : 0, p = left ? 0 : n;
    for (size_t i = 0; i < n; i++) {
        PyObject *x = cached_int(c->ints, c->n_ints, v[i]);
        if (x == NULL) {
            Py_DECREF(l);
            return NULL;
        }
        PyList_SET_ITEM(l, (Py_ssize_t)(o + i), x);
    }
    for (size_t i = 0; i < pad; i++) {
        PyObject *x = cached_int(c->ints, c->n_ints, pad_value);
        if (x == NULL) {
            Py_DECREF(l);
            return NULL;
        }
        PyList_SET_ITEM(l, (Py_ssize_t)(p + i), x);
    }
    return l;
}

static PyObject *mask_list(const int_cache *c, const uint8_t *v, size_t n, size_t pad, int left,
                           long real_value, long pad_value)
{
    PyObject *l = row_list(n + pad);
    if (l == NULL)
        return NULL;
    size_t o = left ? pad : 0, p = left ? 0 : n;
    for (size_t i = 0; i < n; i++) {
        PyObject *x = cached_int(c->ints, c->n_ints, v ? v[i] : real_value);
        if (x == NULL) {
            Py_DECREF(l);
            return NULL;
        }
        PyList_SET_ITEM(l, (Py_ssize_t)(o + i), x);
    }
    for (size_t i = 0; i < pad; i++) {
        PyObject *x = cached_int(c->ints, c->n_ints, pad_value);
        if (x == NULL) {
            Py_DECREF(l);
            return NULL;
        }
        PyList_SET_ITEM(l, (Py_ssize_t)(p + i), x);
    }
    return l;
}

static PyObject *offsets_list(const int_cache *c, const uint32_t *v, size_t n, size_t pad, int left)
{
    PyObject *l = row_list(n + pad);
    if (l == NULL)
        return NULL;
    for (size_t i = 0; i < n + pad; i++) {
        int is_pad = left ? i < pad : i >= n;
        size_t k = left ? i - pad : i;
        PyObject *x = PyTuple_New(2);
        if (x == NULL) {
            Py_DECREF(l);
            return NULL;
        }
        PyList_SET_ITEM(l, (Py_ssize_t)i, x);
        for (int j = 0; j < 2; j++) {
            PyObject *y = cached_int(c->ints, c->n_ints, is_pad ? 0 : (long)v[2 * k + j]);
            if (y == NULL) {
                Py_DECREF(l);
                return NULL;
            }
            PyTuple_SET_ITEM(x, j, y);
        }
        /* a tuple of two ints can never be part of a cycle: take it out of
         * the GC now, as CPython's collector would on its first pass */
        PyObject_GC_UnTrack(x);
    }
    return l;
}

/* Fill a (rows, L) int64 array: row r gets vals (or a constant) and padding. */
typedef struct {
    const row_ref *rows;
    size_t n_rows, L;
    int left;
    long pad_id, pad_type_id;
    int64_t *ids, *type_ids, *attn, *special, *offsets;
} fill_job;

static void fill_row(void *ctx, size_t r, int worker)
{
    (void)worker;
    fill_job *j = ctx;
    const hfo_encoding *e = j->rows[r].enc;
    size_t n = e->len, L = j->L, pad = L - n;
    size_t o = j->left ? pad : 0, p = j->left ? 0 : n;
    int64_t *ids = j->ids + r * L;
    for (size_t i = 0; i < n; i++)
        ids[o + i] = e->ids[i];
    for (size_t i = 0; i < pad; i++)
        ids[p + i] = j->pad_id;
    if (j->type_ids) {
        int64_t *t = j->type_ids + r * L;
        for (size_t i = 0; i < n; i++)
            t[o + i] = e->type_ids[i];
        for (size_t i = 0; i < pad; i++)
            t[p + i] = j->pad_type_id;
    }
    if (j->attn) {
        int64_t *t = j->attn + r * L;
        for (size_t i = 0; i < n; i++)
            t[o + i] = 1;
        for (size_t i = 0; i < pad; i++)
            t[p + i] = 0;
    }
    if (j->special) {
        int64_t *t = j->special + r * L;
        for (size_t i = 0; i < n; i++)
            t[o + i] = e->special[i];
        for (size_t i = 0; i < pad; i++)
            t[p + i] = 1;
    }
    if (j->offsets) {
        int64_t *t = j->offsets + r * L * 2;
        for (size_t i = 0; i < n; i++) {
            t[2 * (o + i)] = e->offsets[2 * i];
            t[2 * (o + i) + 1] = e->offsets[2 * i + 1];
        }
        for (size_t i = 0; i < pad; i++)
            t[2 * (p + i)] = t[2 * (p + i) + 1] = 0;
    }
}

/* The list keys, in the order of their WANT_ flags. */
enum { N_KEYS = 6 };
static const char *const list_names[N_KEYS] = {"input_ids", "token_type_ids", "attention_mask",
                                               "special_tokens_mask", "offset_mapping", "length"};
static const unsigned list_flags[N_KEYS] = {0, WANT_TYPE_IDS, WANT_ATTENTION, WANT_SPECIAL,
                                            WANT_OFFSETS, WANT_LENGTH};

typedef struct {
    int_cache ic;
    PyObject *lists[N_KEYS];   /* NULL where not wanted */
    int padding, pad_left;
    size_t L;
    long pad_id, pad_type_id;
} row_builder;

/* Row k of every wanted list from encoding e. 0, or -1 with an exception. */
static int build_row(const row_builder *rb, size_t k, const hfo_encoding *e)
{
    size_t pad = rb->padding && rb->L > e->len ? rb->L - e->len : 0;
    int left = rb->pad_left;
    for (int j = 0; j < N_KEYS; j++) {
        PyObject *v;
        if (rb->lists[j] == NULL)
            continue;
        switch (j) {
        case 0: v = int_list(&rb->ic, e->ids, e->len, pad, left, rb->pad_id); break;
        case 1: v = int_list(&rb->ic, e->type_ids, e->len, pad, left, rb->pad_type_id); break;
        case 2: v = mask_list(&rb->ic, NULL, e->len, pad, left, 1, 0); break;
        case 3: v = mask_list(&rb->ic, e->special, e->len, pad, left, 0, 1); break;
        case 4: v = offsets_list(&rb->ic, e->offsets, e->len, pad, left); break;
        default: v = cached_int(rb->ic.ints, rb->ic.n_ints, (long)(e->len + pad)); break;
        }
        if (v == NULL)
            return -1;
        PyList_SET_ITEM(rb->lists[j], (Py_ssize_t)k, v);
    }
    return 0;
}

/* Rows [from, to): with the GC paused (each row is a fresh container). */
static int build_rows(const row_builder *rb, const hfo_encoding *encs, size_t from, size_t to)
{
    int gc_was_enabled = PyGC_Disable(), rc = 0;
    for (size_t k = from; k < to && rc == 0; k++)
        rc = build_row(rb, k, &encs[k]);
    if (gc_was_enabled)
        PyGC_Enable();
    return rc;
}

/* Lists built while the batch is still being encoded: the calling thread
 * (the pool's worker 0) takes the GIL back every ROWS_PER_TURN finished
 * items, turns them into lists and lets go again, so building Python
 * objects, which only one thread can do, overlaps the other workers'
 * tokenizing instead of following it. */
#define ROWS_PER_TURN 64
typedef struct {
    row_builder *rb;
    const hfo_encoding *encs;
    _Atomic unsigned char *done;
    size_t n, next;          /* rows [0, next) are built */
    PyThreadState *ts;       /* while the GIL is released */
    int failed;              /* a Python exception is pending */
} list_stream;

static void stream_turn(list_stream *ls, size_t min_rows)
{
    size_t end = ls->next;
    while (end < ls->n && atomic_load_explicit(&ls->done[end], memory_order_acquire))
        end++;
    if (end - ls->next < min_rows || end == ls->next)
        return;
    if (!ls->failed) {
        PyEval_RestoreThread(ls->ts);
        if (build_rows(ls->rb, ls->encs, ls->next, end) < 0)
            ls->failed = 1;
        ls->ts = PyEval_SaveThread();
    }
    ls->next = end;
}

static void stream_progress(void *ctx)
{
    stream_turn(ctx, ROWS_PER_TURN);
}

static PyObject *new_i64(int nd, npy_intp *dims)
{
    return PyArray_SimpleNew(nd, dims, NPY_INT64);
}

static PyObject *core_encode_batch(PyObject *self_, PyObject *args)
{
    CoreObject *self = (CoreObject *)self_;
    hfo_py_state *st = state_of(self_);
    PyObject *texts, *pairs;
    int add_special, trunc, padding, pad_left, as_numpy, nthreads, trunc_left = 0;
    Py_ssize_t max_length, stride, pad_length, pad_multiple;
    long pad_id, pad_type_id;
    unsigned int want;
    if (!PyArg_ParseTuple(args, "OOpinninnpllIpi|p", &texts, &pairs, &add_special, &trunc,
                          &max_length, &stride, &padding, &pad_length, &pad_multiple, &pad_left,
                          &pad_id, &pad_type_id, &want, &as_numpy, &nthreads, &trunc_left))
        return NULL;
    if (self->tok == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_TokenizerCore not initialised");
        return NULL;
    }
    if (max_length < 0 || stride < 0 || pad_length < 0 || pad_multiple < 0 || trunc < 0 || trunc > 3) {
        PyErr_SetString(st->TokenizerError, "negative max_length, stride or padding length");
        return NULL;
    }
    text_batch ta, tb;
    memset(&tb, 0, sizeof tb);
    if (batch_acquire(texts, "text", &ta) < 0)
        return NULL;
    if (pairs != Py_None) {
        if (batch_acquire(pairs, "text_pair", &tb) < 0) {
            batch_release(&ta);
            return NULL;
        }
        if (tb.n != ta.n) {
            PyErr_Format(PyExc_ValueError, "batch length of `text`: %zd does not match batch "
                         "length of `text_pair`: %zd.", ta.n, tb.n);
            batch_release(&ta);
            batch_release(&tb);
            return NULL;
        }
    }
    size_t n = (size_t)ta.n;
    hfo_call call = {add_special, (hfo_trunc)trunc, (size_t)max_length, (size_t)stride, trunc_left};
    hfo_encoding *encs = PyMem_Calloc(n ? n : 1, sizeof *encs);
    row_ref *rows = NULL;
    PyObject *result = NULL, *arr[5] = {NULL, NULL, NULL, NULL, NULL};
    if (encs == NULL) {
        batch_release(&ta);
        batch_release(&tb);
        return PyErr_NoMemory();
    }
    hfo_err err = {HFO_OK, ""};
    size_t bad = 0;
    hfo_status rc;
    /* Lists whose length is known before encoding (no padding to the
     * longest, no overflow rows) are built while the batch is encoded. */
    row_builder rb = {{self->ints, self->n_ints}, {NULL}, padding, pad_left,
                      padding == 2 ? (size_t)pad_length : 0, pad_id, pad_type_id};
    if (padding && pad_multiple > 0 && rb.L % (size_t)pad_multiple)
        rb.L += (size_t)pad_multiple - rb.L % (size_t)pad_multiple;
    int streaming = !as_numpy && padding != 1 && !(want & WANT_OVERFLOW);
    list_stream ls = {&rb, encs, NULL, n, 0, NULL, 0};
    if (streaming) {
        result = PyDict_New();
        ls.done = PyMem_Calloc(n ? n : 1, 1);
        if (result == NULL || ls.done == NULL) {
            if (result != NULL)
                PyErr_NoMemory();
            goto fail;
        }
        for (int k = 0; k < N_KEYS; k++) {
            if (k > 0 && !(want & list_flags[k]))
                continue;
            rb.lists[k] = PyList_New((Py_ssize_t)n);
            if (rb.lists[k] == NULL || PyDict_SetItemString(result, list_names[k], rb.lists[k]) < 0)
                goto fail;
        }
        ls.ts = PyEval_SaveThread();
        rc = hfo_tok_encode_batch_ex(self->tok, ta.texts, pairs != Py_None ? tb.texts : NULL, n,
                                     &call, nthreads, encs, ls.done, stream_progress, &ls, &bad, &err);
        stream_turn(&ls, 1);   /* the rest */
        PyEval_RestoreThread(ls.ts);
        if (ls.failed && !rc)
            goto fail;
    } else {
        Py_BEGIN_ALLOW_THREADS
        rc = hfo_tok_encode_batch(self->tok, ta.texts, pairs != Py_None ? tb.texts : NULL, n,
                                  &call, nthreads, encs, &bad, &err);
        Py_END_ALLOW_THREADS
    }
    if (rc) {
        if (ls.failed)
            PyErr_Clear();
        if (rc == HFO_ERR_NOMEM)
            PyErr_NoMemory();
        else
            PyErr_Format(st->TokenizerError, "%s (batch index %zu)", err.msg, bad);
        goto fail;
    }
    if (streaming)
        goto done;   /* the lists are complete */
    /* rows: each encoding, then its overflowing parts if asked */
    size_t n_rows = 0;
    for (size_t i = 0; i < n; i++)
        n_rows += 1 + ((want & WANT_OVERFLOW) ? encs[i].n_overflow : 0);
    rows = PyMem_Calloc(n_rows ? n_rows : 1, sizeof *rows);
    if (rows == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    size_t r = 0, L = 0;
    for (size_t i = 0; i < n; i++) {
        rows[r++] = (row_ref){&encs[i], (Py_ssize_t)i};
        if (encs[i].len > L)
            L = encs[i].len;
        if (want & WANT_OVERFLOW)
            for (size_t k = 0; k < encs[i].n_overflow; k++)
                rows[r++] = (row_ref){&encs[i].overflow[k], (Py_ssize_t)i};
    }
    /* padding target, as tokenizers' pad_encodings */
    if (padding == 2)
        L = (size_t)pad_length;
    if (padding && pad_multiple > 0 && L % (size_t)pad_multiple)
        L += (size_t)pad_multiple - L % (size_t)pad_multiple;
    result = PyDict_New();
    if (result == NULL)
        goto done;
    if (as_numpy) {
        for (size_t k = 0; k < n_rows; k++) {
            size_t len = rows[k].enc->len;
            if ((padding ? len > L : len != rows[0].enc->len)) {
                PyErr_SetString(PyExc_ValueError,
                                "Unable to create tensor, you should probably activate truncation "
                                "and/or padding with 'padding=True' 'truncation=True' to have "
                                "batched tensors with the same length.");
                goto fail;
            }
        }
        if (!padding)
            L = n_rows ? rows[0].enc->len : 0;
        npy_intp dims[3] = {(npy_intp)n_rows, (npy_intp)L, 2};
        const char *names[5] = {"input_ids", "token_type_ids", "attention_mask",
                                "special_tokens_mask", "offset_mapping"};
        unsigned flags[5] = {0, WANT_TYPE_IDS, WANT_ATTENTION, WANT_SPECIAL, WANT_OFFSETS};
        for (int k = 0; k < 5; k++) {
            if (k > 0 && !(want & flags[k]))
                continue;
            arr[k] = new_i64(k == 4 ? 3 : 2, dims);
            if (arr[k] == NULL || PyDict_SetItemString(result, names[k], arr[k]) < 0)
                goto fail;
        }
        fill_job fj = {rows, n_rows, L, pad_left, pad_id, pad_type_id,
                       PyArray_DATA((PyArrayObject *)arr[0]),
                       arr[1] ? PyArray_DATA((PyArrayObject *)arr[1]) : NULL,
                       arr[2] ? PyArray_DATA((PyArrayObject *)arr[2]) : NULL,
                       arr[3] ? PyArray_DATA((PyArrayObject *)arr[3]) : NULL,
                       arr[4] ? PyArray_DATA((PyArrayObject *)arr[4]) : NULL};
        Py_BEGIN_ALLOW_THREADS
        int fill_threads = nthreads > 0 ? nthreads : hfo_pool_get_threads();
        hfo_pool_run(n_rows, n_rows >= 256 ? fill_threads : 1, fill_row, &fj);
        Py_END_ALLOW_THREADS
        if (want & WANT_LENGTH) {
            npy_intp d1 = (npy_intp)n_rows;
            PyObject *a = new_i64(1, &d1);
            if (a == NULL)
                goto fail;
            for (size_t k = 0; k < n_rows; k++)
                ((int64_t *)PyArray_DATA((PyArrayObject *)a))[k] = (int64_t)L;
            int e = PyDict_SetItemString(result, "length", a);
            Py_DECREF(a);
            if (e < 0)
                goto fail;
        }
    } else {
        for (int k = 0; k < N_KEYS; k++) {
            if (k > 0 && !(want & list_flags[k]))
                continue;
            rb.lists[k] = PyList_New((Py_ssize_t)n_rows);
            if (rb.lists[k] == NULL || PyDict_SetItemString(result, list_names[k], rb.lists[k]) < 0)
                goto fail;
        }
        rb.L = L;
        int gc_was_enabled = PyGC_Disable(), ok = 1;
        for (size_t k = 0; k < n_rows && ok; k++)
            ok = build_row(&rb, k, rows[k].enc) == 0;
        if (gc_was_enabled)
            PyGC_Enable();
        if (!ok)
            goto fail;
    }
    if (want & WANT_OVERFLOW) {
        PyObject *m;
        if (as_numpy) {
            npy_intp d1 = (npy_intp)n_rows;
            m = new_i64(1, &d1);
            if (m)
                for (size_t k = 0; k < n_rows; k++)
                    ((int64_t *)PyArray_DATA((PyArrayObject *)m))[k] = rows[k].sample;
        } else {
            m = PyList_New((Py_ssize_t)n_rows);
            for (size_t k = 0; m && k < n_rows; k++) {
                PyObject *x = PyLong_FromSsize_t(rows[k].sample);
                if (x == NULL) {
                    Py_CLEAR(m);
                    break;
                }
                PyList_SET_ITEM(m, (Py_ssize_t)k, x);
            }
        }
        if (m == NULL || PyDict_SetItemString(result, "overflow_to_sample_mapping", m) < 0) {
            Py_XDECREF(m);
            goto fail;
        }
        Py_DECREF(m);
    }
    goto done;
fail:
    Py_CLEAR(result);
done:
    for (int k = 0; k < N_KEYS; k++)
        Py_XDECREF(rb.lists[k]);
    PyMem_Free(ls.done);
    for (int k = 0; k < 5; k++)
        Py_XDECREF(arr[k]);
    PyMem_Free(rows);
    for (size_t i = 0; i < n; i++)
        hfo_enc_free(&encs[i]);
    PyMem_Free(encs);
    batch_release(&ta);
    batch_release(&tb);
    return result;
}

static PyObject *core_n_special(PyObject *self_, PyObject *arg)
{
    CoreObject *self = (CoreObject *)self_;
    int pair = PyObject_IsTrue(arg);
    if (pair < 0)
        return NULL;
    return PyLong_FromSize_t(hfo_tok_n_special(self->tok, pair));
}

static PyObject *core_normalize(PyObject *self_, PyObject *arg)
{
    CoreObject *self = (CoreObject *)self_;
    if (!PyUnicode_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "normalize() needs a str");
        return NULL;
    }
    hfo_text t = {PyUnicode_DATA(arg), (size_t)PyUnicode_GET_LENGTH(arg), PyUnicode_KIND(arg)};
    uint32_t *cps = NULL;
    size_t n = 0;
    hfo_err err = {HFO_OK, ""};
    if (hfo_tok_normalize(self->tok, &t, &cps, &n, &err)) {
        raise_err(state_of(self_), &err);
        return NULL;
    }
    PyObject *res = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, cps, (Py_ssize_t)n);
    free(cps);
    return res;
}

static PyMethodDef core_methods[] = {
    {"normalize", core_normalize, METH_O, "normalize(text) -> the normalizer's output"},
    {"encode_batch", core_encode_batch, METH_VARARGS,
     "encode_batch(texts, pairs, add_special_tokens, truncation, max_length, stride, padding, "
     "pad_length, pad_to_multiple_of, pad_left, pad_id, pad_type_id, want, as_numpy, nthreads)"},
    {"n_special", core_n_special, METH_O, "n_special(pair) -> tokens the template adds"},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot core_slots[] = {
    {Py_tp_doc, "The C tokenizer pipeline (internal; use hfonnx.BertTokenizer)."},
    {Py_tp_init, core_init},
    {Py_tp_new, PyType_GenericNew},
    {Py_tp_dealloc, core_dealloc},
    {Py_tp_methods, core_methods},
    {0, NULL},
};

static PyType_Spec core_spec = {
    .name = "hfonnx._hfonnx._TokenizerCore",
    .basicsize = sizeof(CoreObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = core_slots,
};

struct hfo_tok *hfo_py_core_tok(PyObject *obj)
{
    hfo_py_state *st = hfo_py_state_of_type(Py_TYPE(obj));
    if (st == NULL || !PyObject_TypeCheck(obj, (PyTypeObject *)st->tokenizer_type) ||
        ((CoreObject *)obj)->tok == NULL) {
        PyErr_Clear();
        PyErr_SetString(PyExc_TypeError, "expected an initialised _TokenizerCore");
        return NULL;
    }
    return ((CoreObject *)obj)->tok;
}

static PyObject *py_set_num_threads(PyObject *mod, PyObject *arg)
{
    (void)mod;
    long n = PyLong_AsLong(arg);
    if (n == -1 && PyErr_Occurred())
        return NULL;
    if (n > 1024) {
        PyErr_SetString(PyExc_ValueError, "at most 1024 threads");
        return NULL;
    }
    hfo_pool_set_threads((int)n);
    Py_RETURN_NONE;
}

static PyObject *py_get_num_threads(PyObject *mod, PyObject *unused)
{
    (void)mod;
    (void)unused;
    return PyLong_FromLong(hfo_pool_get_threads());
}

static PyObject *py_pool_shutdown(PyObject *mod, PyObject *unused)
{
    (void)mod;
    (void)unused;
    Py_BEGIN_ALLOW_THREADS
    hfo_pool_shutdown();
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyMethodDef tok_functions[] = {
    {"_tok_pool_shutdown", py_pool_shutdown, METH_NOARGS,
     "_tok_pool_shutdown(): stop the tokenizer thread pool (restarts on next use); run before fork."},
    {"set_num_threads", py_set_num_threads, METH_O,
     "set_num_threads(n): threads the tokenizers use for batches (n <= 0: all cores)."},
    {"get_num_threads", py_get_num_threads, METH_NOARGS,
     "get_num_threads() -> threads the tokenizers use for batches."},
    {NULL, NULL, 0, NULL},
};

int hfo_py_tokenizer_exec(PyObject *module)
{
    hfo_py_state *st = hfo_py_state_of_module(module);
    st->tokenizer_type = PyType_FromModuleAndSpec(module, &core_spec, NULL);
    if (st->tokenizer_type == NULL)
        return -1;
    if (PyModule_AddObjectRef(module, "_TokenizerCore", st->tokenizer_type) < 0)
        return -1;
    if (PyModule_AddFunctions(module, tok_functions) < 0)
        return -1;
    return 0;
}
