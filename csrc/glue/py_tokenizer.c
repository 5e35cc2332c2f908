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
 *     out, encodings = core.encode_batch(texts, None, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, WANT_..., 0, 0)
 *     encodings.row(0)          # (word ids, sequence ranges, offsets) of output row 0
 *     encodings.tokens(0, False)  # its token strings (ints: look the id up)
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
    PyObject **pairs;  /* offset tuples made so far (offset_pair); NULL until a call asks
                        * for offsets as lists */
} CoreObject;

#define HFO_INT_CACHE_MIN 65536

/* Offset pairs (start, end) with start < PAIR_STARTS and end - start <
 * PAIR_LENS are made once per tokenizer and shared by every result, as the
 * ints are: a lists result with offsets was otherwise one fresh tuple per
 * token (and freeing them), about 40% of the call.  At most 32768 tuples
 * (2 MB); other pairs are made fresh. */
#define PAIR_STARTS 1024
#define PAIR_LENS 32

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
    hfo_wordpiece_finish(wp);
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
    for (size_t i = 0; c->pairs && i < PAIR_STARTS * PAIR_LENS; i++)
        Py_XDECREF(c->pairs[i]);
    PyMem_Free(c->pairs);
    hfo_tok_free(c->tok);
    tp->tp_free(self);
    Py_DECREF(tp);
}

enum {
    WANT_TYPE_IDS = 1, WANT_ATTENTION = 2, WANT_SPECIAL = 4, WANT_OFFSETS = 8, WANT_LENGTH = 16,
    WANT_OVERFLOW = 32,
};

/* The inputs of a call: borrowed views into str objects we hold references
 * to.  Texts: one hfo_text per item.  Pre-tokenized (is_split_into_words):
 * every word of every item in `texts`, item after item, and per item an
 * hfo_words pointing at its run. */
typedef struct {
    PyObject **refs;      /* every str viewed */
    Py_ssize_t n_refs;
    hfo_text *texts;
    hfo_words *words;     /* NULL for texts */
    Py_ssize_t n;         /* items */
} input_batch;

static void input_release(input_batch *b)
{
    for (Py_ssize_t i = 0; b->refs && i < b->n_refs; i++)
        Py_XDECREF(b->refs[i]);
    PyMem_Free(b->refs);
    PyMem_Free(b->texts);
    PyMem_Free(b->words);
    memset(b, 0, sizeof *b);
}

/* View str s as t and keep a reference (b->refs[b->n_refs++]); `name` and
 * the indices i (and j >= 0) name it in errors.  0 or -1 with an exception. */
static int view_str(input_batch *b, PyObject *s, const char *name, Py_ssize_t i, Py_ssize_t j,
                    hfo_text *t)
{
    const char *problem = NULL;
    if (!PyUnicode_Check(s))
        problem = "must be a str";
    else if (PyUnicode_READY(s) < 0)
        return -1;
    else if ((uint64_t)PyUnicode_GET_LENGTH(s) >= UINT32_MAX)
        problem = "is too long (at most 4294967294 characters)";  /* offsets are 32-bit */
    if (problem) {
        char where[64];
        if (i < 0)
            where[0] = 0;
        else if (j < 0)
            snprintf(where, sizeof where, "[%zd]", i);
        else
            snprintf(where, sizeof where, "[%zd][%zd]", i, j);
        PyErr_Format(PyUnicode_Check(s) ? PyExc_ValueError : PyExc_TypeError, "%s%s %s, got %.100s",
                     name, where, problem, PyUnicode_Check(s) ? "a longer str" : Py_TYPE(s)->tp_name);
        return -1;
    }
    b->refs[b->n_refs++] = Py_NewRef(s);
    t->data = PyUnicode_DATA(s);
    t->len = (size_t)PyUnicode_GET_LENGTH(s);
    t->kind = PyUnicode_KIND(s);
    return 0;
}

static int input_alloc(input_batch *b, Py_ssize_t n_texts, Py_ssize_t n_items, int words)
{
    b->refs = PyMem_Calloc(n_texts ? n_texts : 1, sizeof *b->refs);
    b->texts = PyMem_Calloc(n_texts ? n_texts : 1, sizeof *b->texts);
    if (words)
        b->words = PyMem_Calloc(n_items ? n_items : 1, sizeof *b->words);
    if (b->refs == NULL || b->texts == NULL || (words && b->words == NULL)) {
        PyErr_NoMemory();
        return -1;
    }
    b->n = n_items;
    return 0;
}

/* A list or tuple of texts. */
static int input_texts(PyObject *obj, const char *what, input_batch *b)
{
    memset(b, 0, sizeof *b);
    PyObject *seq = PySequence_Fast(obj, "texts must be a list or tuple of str");
    if (seq == NULL)
        return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    int rc = input_alloc(b, n, n, 0);
    for (Py_ssize_t i = 0; rc == 0 && i < n; i++)
        rc = view_str(b, PySequence_Fast_GET_ITEM(seq, i), what, i, -1, &b->texts[i]);
    Py_DECREF(seq);
    if (rc < 0)
        input_release(b);
    return rc;
}

/* A list or tuple of pre-tokenized items, each a list or tuple of str.
 * `single`: the caller wrapped one item, so errors name text[j], not
 * text[i][j]. */
static int input_words(PyObject *obj, const char *what, int single, input_batch *b)
{
    memset(b, 0, sizeof *b);
    PyObject *seq = PySequence_Fast(obj, "texts must be a list or tuple");
    if (seq == NULL)
        return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq), total = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(seq, i);
        if (!PyList_Check(item) && !PyTuple_Check(item)) {
            if (single)
                PyErr_Format(PyExc_TypeError, "%s must be a list or tuple of str with "
                             "is_split_into_words=True, got %.100s", what, Py_TYPE(item)->tp_name);
            else
                PyErr_Format(PyExc_TypeError, "%s[%zd] must be a list or tuple of str with "
                             "is_split_into_words=True, got %.100s", what, i, Py_TYPE(item)->tp_name);
            Py_DECREF(seq);
            return -1;
        }
        total += PySequence_Fast_GET_SIZE(item);
    }
    int rc = input_alloc(b, total, n, 1);
    for (Py_ssize_t i = 0; rc == 0 && i < n; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(seq, i);
        Py_ssize_t m = PySequence_Fast_GET_SIZE(item), first = b->n_refs;
        for (Py_ssize_t j = 0; rc == 0 && j < m; j++)
            rc = view_str(b, PySequence_Fast_GET_ITEM(item, j), what, single ? j : i, single ? -1 : j,
                          &b->texts[b->n_refs]);
        b->words[i].w = b->texts + first;
        b->words[i].n = (size_t)m;
    }
    Py_DECREF(seq);
    if (rc < 0)
        input_release(b);
    return rc;
}

typedef struct {
    const hfo_encoding *enc;
    Py_ssize_t sample;
} row_ref;

typedef struct {
    PyObject *const *ints;
    size_t n_ints;
    PyObject **pairs;   /* the core's offset tuples, or NULL */
} int_cache;

/* A fresh list outside the cyclic GC, for a row and for the list of a
 * key's rows.  A row holds only ints (or pairs of ints) and the list of
 * rows only rows, so neither is in a cycle, and the collector would
 * otherwise walk every row and token of a big batch again on each of its
 * next passes (a quarter of the time of a call returning lists, and a
 * pass over a batch's rows costs a cache miss per row).  The cost: a cycle
 * the caller later builds through such a list is never collected. */
static PyObject *untracked_list(size_t n)
{
    PyObject *l = PyList_New((Py_ssize_t)n);
    if (l != NULL)
        PyObject_GC_UnTrack(l);
    return l;
}

static PyObject *int_list(const int_cache *c, const int32_t *v, size_t n, size_t pad, int left,
                          long pad_value)
{
    PyObject *l = untracked_list(n + pad);
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
    PyObject *l = untracked_list(n + pad);
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

/* A new tuple (start, end). */
static PyObject *new_pair(const int_cache *c, uint32_t start, uint32_t end)
{
    PyObject *x = PyTuple_New(2);
    if (x == NULL)
        return NULL;
    uint32_t v[2] = {start, end};
    for (int j = 0; j < 2; j++) {
        PyObject *y = cached_int(c->ints, c->n_ints, (long)v[j]);
        if (y == NULL) {
            Py_DECREF(x);
            return NULL;
        }
        PyTuple_SET_ITEM(x, j, y);
    }
    /* a tuple of two ints can never be part of a cycle: take it out of
     * the GC now, as CPython's collector would on its first pass */
    PyObject_GC_UnTrack(x);
    return x;
}

/* (start, end), shared from the core's table when it fits there. */
static PyObject *offset_pair(const int_cache *c, uint32_t start, uint32_t end)
{
    if (c->pairs == NULL || start >= PAIR_STARTS || end < start || end - start >= PAIR_LENS)
        return new_pair(c, start, end);
    PyObject **slot = &c->pairs[(size_t)start * PAIR_LENS + (end - start)];
    if (*slot == NULL && (*slot = new_pair(c, start, end)) == NULL)
        return NULL;
    Py_INCREF(*slot);
    return *slot;
}

static PyObject *offsets_list(const int_cache *c, const uint32_t *v, size_t n, size_t pad, int left)
{
    PyObject *l = untracked_list(n + pad);
    if (l == NULL)
        return NULL;
    for (size_t i = 0; i < n + pad; i++) {
        int is_pad = left ? i < pad : i >= n;
        size_t k = left ? i - pad : i;
        PyObject *x = is_pad ? offset_pair(c, 0, 0) : offset_pair(c, v[2 * k], v[2 * k + 1]);
        if (x == NULL) {
            Py_DECREF(l);
            return NULL;
        }
        PyList_SET_ITEM(l, (Py_ssize_t)i, x);
    }
    return l;
}

/* Fill the (rows, L) int64 arrays (offsets: (rows, L, 2)): row r gets its
 * values and its padding.
 * The arrays come from malloc, not calloc, and each worker writes its rows'
 * padding: calloc of reused heap memory clears the whole array on the
 * calling thread first (the corpora's batches are 88% padding), a serial
 * step that cost 2 threads 7% on them. */
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

/* Row k of list j from encoding e. 0, or -1 with an exception. */
static int build_cell(const row_builder *rb, int j, size_t k, const hfo_encoding *e)
{
    size_t pad = rb->padding && rb->L > e->len ? rb->L - e->len : 0;
    int left = rb->pad_left;
    PyObject *v;
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
    return 0;
}

/* Rows [from, to) of every wanted list, rows[k] (or encs[k] when rows is
 * NULL) giving row k, with the GC paused (each row is a fresh container).
 * One list at a time: a list's rows then lie together in memory, which
 * makes freeing them later (CPython walks them one by one, and that walk
 * waits on memory) markedly cheaper than rows interleaved with the other
 * lists' rows. */
static int build_rows(const row_builder *rb, const hfo_encoding *encs, const row_ref *rows,
                      size_t from, size_t to)
{
    int gc_was_enabled = PyGC_Disable(), rc = 0;
    for (int j = 0; j < N_KEYS && rc == 0; j++) {
        if (rb->lists[j] == NULL)
            continue;
        for (size_t k = from; k < to && rc == 0; k++)
            rc = build_cell(rb, j, k, rows ? rows[k].enc : &encs[k]);
    }
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
        if (build_rows(ls->rb, ls->encs, NULL, ls->next, end) < 0)
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

/* ---- _Encodings: what tokenizers' Encoding objects hold beyond the output
 * keys, for BatchEncoding.word_ids(), .tokens(), .sequence_ids() and the
 * char/word/token maps.  It keeps the engine's encodings of a call (words
 * and sequence ranges included) and the inputs, and builds a row's lists
 * only when asked. ---- */
typedef struct {
    PyObject_HEAD
    PyObject *core;          /* the _TokenizerCore: walks an input again for tokens() */
    hfo_encoding *encs;      /* one per item */
    hfo_arena arena;         /* the encodings' blocks */
    size_t n;
    row_ref *rows;           /* the output's rows */
    size_t n_rows;
    size_t L;                /* padding target when padding */
    int padding, pad_left;
    int split_special;       /* the call's split_special_tokens, for walking an item again */
    input_batch ia, ib;      /* ib.n == 0: no pairs */
    hfo_call call;           /* the call; call.no_offsets: encs lack offsets and word indices */
} EncodingsObject;

static void encodings_dealloc(PyObject *self_)
{
    EncodingsObject *self = (EncodingsObject *)self_;
    PyTypeObject *tp = Py_TYPE(self_);
    for (size_t i = 0; self->encs && i < self->n; i++)
        hfo_enc_release(&self->encs[i]);
    PyMem_Free(self->encs);
    hfo_arena_free(&self->arena);
    PyMem_Free(self->rows);
    input_release(&self->ia);
    input_release(&self->ib);
    Py_XDECREF(self->core);
    tp->tp_free(self_);
    Py_DECREF(tp);
}

static Py_ssize_t encodings_len(PyObject *self_)
{
    return (Py_ssize_t)((EncodingsObject *)self_)->n_rows;
}

/* A call that left offsets and word indices out (hfo_call.no_offsets: numpy
 * output without offset_mapping, where they are rarely asked for) encodes
 * its items again, whole, the first time a row's words, offsets or tokens
 * are asked for; the rows then point at the new encodings.  The GIL is kept
 * throughout, so no thread holds a row of the old ones (every reader of a
 * row calls this first).  0, or -1 with an exception. */
static int encodings_complete(EncodingsObject *self)
{
    if (!self->call.no_offsets)
        return 0;
    hfo_tok *tok = hfo_py_core_tok(self->core);
    if (tok == NULL)
        return -1;
    size_t n = self->n, bad = 0;
    hfo_call call = self->call;
    call.no_offsets = 0;
    hfo_encoding *encs = PyMem_Malloc((n ? n : 1) * sizeof *encs);
    if (encs == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    hfo_arena arena = {0};
    hfo_err err = {HFO_OK, ""};
    hfo_status rc = self->ia.words
        ? hfo_tok_encode_words_batch(tok, self->ia.words, self->ib.n ? self->ib.words : NULL, n, &call,
                                     0, encs, &arena, NULL, NULL, NULL, &bad, &err)
        : hfo_tok_encode_batch_ex(tok, self->ia.texts, self->ib.n ? self->ib.texts : NULL, n, &call, 0,
                                  encs, &arena, NULL, NULL, NULL, &bad, &err);
    if (rc) {
        for (size_t i = 0; i < n; i++)
            hfo_enc_release(&encs[i]);
        PyMem_Free(encs);
        hfo_arena_free(&arena);
        raise_err(state_of(self->core), &err);
        return -1;
    }
    for (size_t r = 0; r < self->n_rows; r++) {
        size_t i = (size_t)self->rows[r].sample;
        const hfo_encoding *old = self->rows[r].enc;
        self->rows[r].enc = old == &self->encs[i] ? &encs[i]
                                                  : &encs[i].overflow[old - self->encs[i].overflow];
    }
    for (size_t i = 0; i < n; i++)
        hfo_enc_release(&self->encs[i]);
    PyMem_Free(self->encs);
    hfo_arena_free(&self->arena);
    self->encs = encs;
    self->arena = arena;
    self->call.no_offsets = 0;
    return 0;
}

/* Row r's encoding, its padding (in front when pad_left) and padded length. */
static const hfo_encoding *encodings_row(EncodingsObject *self, PyObject *arg, size_t *r_out,
                                         size_t *pad_front, size_t *total)
{
    Py_ssize_t r = PyLong_AsSsize_t(arg);
    if (r == -1 && PyErr_Occurred())
        return NULL;
    if (r < 0 || (size_t)r >= self->n_rows) {
        PyErr_Format(PyExc_IndexError, "batch index %zd out of range (%zu rows)", r, self->n_rows);
        return NULL;
    }
    const hfo_encoding *e = self->rows[r].enc;
    size_t pad = self->padding && self->L > e->len ? self->L - e->len : 0;
    *r_out = (size_t)r;
    *pad_front = self->pad_left ? pad : 0;
    *total = e->len + pad;
    return e;
}

/* row(r) -> (words, ranges, offsets): word index or None per token, the
 * sequence ranges as tokenizers keeps them ((start, end) or None for
 * sequence 0 and 1; shifted by left padding, as Encoding::pad does), and
 * offsets; padding included. */
static PyObject *encodings_row_info(PyObject *self_, PyObject *arg)
{
    EncodingsObject *self = (EncodingsObject *)self_;
    size_t r, front, total;
    if (encodings_complete(self) < 0)
        return NULL;
    const hfo_encoding *e = encodings_row(self, arg, &r, &front, &total);
    if (e == NULL)
        return NULL;
    PyObject *words = PyList_New((Py_ssize_t)total), *offsets = PyList_New((Py_ssize_t)total);
    PyObject *ranges = PyTuple_New(2), *res = NULL;
    if (words == NULL || offsets == NULL || ranges == NULL)
        goto done;
    for (size_t i = 0; i < total; i++) {
        int in = i >= front && i - front < e->len;
        size_t k = i - front;
        PyObject *w = in && e->words[k] >= 0 ? PyLong_FromLong(e->words[k]) : Py_NewRef(Py_None);
        PyObject *o = in ? Py_BuildValue("(kk)", (unsigned long)e->offsets[2 * k],
                                         (unsigned long)e->offsets[2 * k + 1])
                         : Py_BuildValue("(ii)", 0, 0);
        if (w == NULL || o == NULL) {
            Py_XDECREF(w);
            Py_XDECREF(o);
            goto done;
        }
        PyList_SET_ITEM(words, (Py_ssize_t)i, w);
        PyList_SET_ITEM(offsets, (Py_ssize_t)i, o);
    }
    for (int s = 0; s < 2; s++) {
        PyObject *v = (e->seq_set & (1u << s))
                          ? Py_BuildValue("(nn)", (Py_ssize_t)(e->seq_start[s] + front),
                                          (Py_ssize_t)(e->seq_end[s] + front))
                          : Py_NewRef(Py_None);
        if (v == NULL)
            goto done;
        PyTuple_SET_ITEM(ranges, s, v);
    }
    res = PyTuple_Pack(3, words, ranges, offsets);
done:
    Py_XDECREF(words);
    Py_XDECREF(offsets);
    Py_XDECREF(ranges);
    return res;
}

/* Walk one item's sequence s again (GIL released) into *out. */
static int walk_strings(EncodingsObject *self, const hfo_tok *tok, int s, Py_ssize_t item,
                        hfo_tok_strings *out)
{
    const input_batch *in = s == 0 ? &self->ia : &self->ib;
    hfo_err err = {HFO_OK, ""};
    hfo_status rc;
    Py_BEGIN_ALLOW_THREADS
    rc = in->words ? hfo_tok_strings_of_words(tok, &in->words[item], self->split_special, out, &err)
                   : hfo_tok_strings_of(tok, &in->texts[item], self->split_special, out, &err);
    Py_END_ALLOW_THREADS
    if (rc) {
        hfo_tok_strings_free(out);
        raise_err(state_of(self->core), &err);
        return -1;
    }
    return 0;
}

/* tokens(r, text_tokens) -> per token of row r: a str (an added token's
 * matched text, or with text_tokens the text a model token covers), an int
 * id (the caller's vocabulary gives its string), or None for padding. */
static PyObject *encodings_tokens(PyObject *self_, PyObject *args)
{
    EncodingsObject *self = (EncodingsObject *)self_;
    PyObject *arg;
    int text_tokens;
    if (!PyArg_ParseTuple(args, "Op", &arg, &text_tokens))
        return NULL;
    if (encodings_complete(self) < 0)
        return NULL;
    size_t r, front, total;
    const hfo_encoding *e = encodings_row(self, arg, &r, &front, &total);
    if (e == NULL)
        return NULL;
    hfo_tok *tok = hfo_py_core_tok(self->core);
    if (tok == NULL)
        return NULL;
    PyObject *out = PyList_New((Py_ssize_t)total);
    long *idx = PyMem_Calloc(e->len ? e->len : 1, sizeof *idx);
    if (out == NULL || idx == NULL) {
        Py_XDECREF(out);
        PyMem_Free(idx);
        return PyErr_NoMemory();
    }
    for (size_t i = 0; i < total; i++) {
        int in = i >= front && i - front < e->len;
        PyObject *v = in ? PyLong_FromLong(e->ids[i - front]) : Py_NewRef(Py_None);
        if (v == NULL)
            goto fail;
        PyList_SET_ITEM(out, (Py_ssize_t)i, v);
    }
    for (int s = 0; s < 2; s++) {
        if (!(e->seq_set & (1u << s)) || e->seq_end[s] <= e->seq_start[s])
            continue;
        if (s == 1 && self->ib.n == 0)
            continue;
        hfo_tok_strings strs;
        if (walk_strings(self, tok, s, self->rows[r].sample, &strs) < 0)
            goto fail;
        size_t a = e->seq_start[s], b = e->seq_end[s];
        hfo_tok_strings_align(&strs, e, a, b, idx);
        int ok = 1;
        for (size_t k = a; k < b && ok; k++) {
            long j = idx[k - a];
            if (j < 0 || (!strs.added[j] && !text_tokens))
                continue;
            PyObject *str = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, strs.cps + strs.start[j],
                                                      (Py_ssize_t)(strs.start[j + 1] - strs.start[j]));
            if (str == NULL)
                ok = 0;
            else
                Py_SETREF(PyList_GET_ITEM(out, (Py_ssize_t)(k + front)), str);
        }
        hfo_tok_strings_free(&strs);
        if (!ok)
            goto fail;
    }
    PyMem_Free(idx);
    return out;
fail:
    PyMem_Free(idx);
    Py_DECREF(out);
    return NULL;
}

static PyMethodDef encodings_methods[] = {
    {"row", encodings_row_info, METH_O,
     "row(r) -> (words, ranges, offsets) of output row r, padding included."},
    {"tokens", encodings_tokens, METH_VARARGS,
     "tokens(r, text_tokens) -> per token of row r: str, int id to look up, or None (padding)."},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot encodings_slots[] = {
    {Py_tp_doc, "The engine's encodings of one tokenizer call (internal; see BatchEncoding)."},
    {Py_tp_dealloc, encodings_dealloc},
    {Py_tp_methods, encodings_methods},
    {Py_sq_length, encodings_len},
    {0, NULL},
};

static PyType_Spec encodings_spec = {
    .name = "hfonnx._hfonnx._Encodings",
    .basicsize = sizeof(EncodingsObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = encodings_slots,
};

static PyObject *core_encode_batch(PyObject *self_, PyObject *args)
{
    CoreObject *self = (CoreObject *)self_;
    hfo_py_state *st = state_of(self_);
    PyObject *texts, *pairs;
    int add_special, trunc, padding, pad_left, as_numpy, nthreads, trunc_left = 0, pretok = 0;
    int split_special = 0;
    Py_ssize_t max_length, stride, pad_length, pad_multiple;
    long pad_id, pad_type_id;
    unsigned int want;
    if (!PyArg_ParseTuple(args, "OOpinninnpllIpi|pip", &texts, &pairs, &add_special, &trunc,
                          &max_length, &stride, &padding, &pad_length, &pad_multiple, &pad_left,
                          &pad_id, &pad_type_id, &want, &as_numpy, &nthreads, &trunc_left, &pretok,
                          &split_special))
        return NULL;
    if (self->tok == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_TokenizerCore not initialised");
        return NULL;
    }
    if (max_length < 0 || stride < 0 || pad_length < 0 || pad_multiple < 0 || trunc < 0 || trunc > 3) {
        PyErr_SetString(st->TokenizerError, "negative max_length, stride or padding length");
        return NULL;
    }
    if (pretok < 0 || pretok > 2) {
        PyErr_SetString(PyExc_ValueError, "pretok must be 0 (texts), 1 (batch of word lists) or 2 "
                        "(one word list)");
        return NULL;
    }
    if (st->encodings_type == NULL)
        return PyErr_Format(PyExc_RuntimeError, "_Encodings type missing");
    PyObject *result = NULL, *arr[5] = {NULL, NULL, NULL, NULL, NULL};
    row_ref *rows = NULL;
    hfo_err err = {HFO_OK, ""};
    size_t bad = 0, n, n_rows = 0, r = 0, L = 0;
    hfo_status rc;
    /* numpy output of texts without offset_mapping: offsets and word
     * indices are left out until a row's are asked for (encodings_complete;
     * pre-tokenized input keeps them: its word_ids() are what it is for) */
    hfo_call call = {add_special, (hfo_trunc)trunc, (size_t)max_length, (size_t)stride, trunc_left,
                     split_special, 0, as_numpy && !(want & WANT_OFFSETS) && !pretok};
    int has_pair = pairs != Py_None;
    if ((want & WANT_OFFSETS) && !as_numpy && self->pairs == NULL &&
        (self->pairs = PyMem_Calloc(PAIR_STARTS * PAIR_LENS, sizeof *self->pairs)) == NULL)
        return PyErr_NoMemory();
    row_builder rb = {{self->ints, self->n_ints, self->pairs}, {NULL}, padding, pad_left,
                      padding == 2 ? (size_t)pad_length : 0, pad_id, pad_type_id};
    list_stream ls = {&rb, NULL, NULL, 0, 0, NULL, 0};
    EncodingsObject *info = PyObject_New(EncodingsObject, (PyTypeObject *)st->encodings_type);
    if (info == NULL)
        return NULL;
    /* the fields after the header, zeroed before anything can fail */
    memset((char *)info + sizeof(PyObject), 0, sizeof *info - sizeof(PyObject));
    info->core = Py_NewRef(self_);
    info->split_special = split_special;
    info->call = call;
    input_batch *ta = &info->ia, *tb = &info->ib;
    int acquired = pretok ? input_words(texts, "text", pretok == 2, ta) : input_texts(texts, "text", ta);
    if (acquired < 0)
        goto error;
    if (has_pair) {
        acquired = pretok ? input_words(pairs, "text_pair", pretok == 2, tb)
                          : input_texts(pairs, "text_pair", tb);
        if (acquired < 0)
            goto error;
        if (tb->n != ta->n) {
            PyErr_Format(PyExc_ValueError, "batch length of `text`: %zd does not match batch "
                         "length of `text_pair`: %zd.", ta->n, tb->n);
            goto error;
        }
    }
    n = (size_t)ta->n;
    /* Not zeroed: the batch initialises each item on the worker that encodes
     * it (memory this thread cleared would have to travel to the other
     * workers' caches before they could write it); info->n counts them
     * once the batch has run. */
    info->encs = PyMem_Malloc((n ? n : 1) * sizeof *info->encs);
    if (info->encs == NULL) {
        PyErr_NoMemory();
        goto error;
    }
    hfo_encoding *encs = info->encs;
    /* Lists whose length is known before encoding (no padding to the
     * longest, no overflow rows) are built while the batch is encoded. */
    if (padding && pad_multiple > 0 && rb.L % (size_t)pad_multiple)
        rb.L += (size_t)pad_multiple - rb.L % (size_t)pad_multiple;
    int streaming = !as_numpy && padding != 1 && !(want & WANT_OVERFLOW);
    ls.encs = encs;
    ls.n = n;
    if (streaming) {
        result = PyDict_New();
        ls.done = PyMem_Calloc(n ? n : 1, 1);
        if (result == NULL || ls.done == NULL) {
            if (result != NULL)
                PyErr_NoMemory();
            goto error;
        }
        for (int k = 0; k < N_KEYS; k++) {
            if (k > 0 && !(want & list_flags[k]))
                continue;
            rb.lists[k] = untracked_list(n);
            if (rb.lists[k] == NULL || PyDict_SetItemString(result, list_names[k], rb.lists[k]) < 0)
                goto error;
        }
    }
    ls.ts = PyEval_SaveThread();
    hfo_batch_progress progress = streaming ? stream_progress : NULL;
    if (pretok)
        rc = hfo_tok_encode_words_batch(self->tok, ta->words, has_pair ? tb->words : NULL, n, &call,
                                        nthreads, encs, &info->arena, ls.done, progress, &ls,
                                        &bad, &err);
    else
        rc = hfo_tok_encode_batch_ex(self->tok, ta->texts, has_pair ? tb->texts : NULL, n, &call,
                                     nthreads, encs, &info->arena, ls.done, progress, &ls,
                                     &bad, &err);
    if (streaming)
        stream_turn(&ls, 1);   /* the rest */
    PyEval_RestoreThread(ls.ts);
    info->n = n;
    if (ls.failed && !rc)
        goto error;
    if (rc) {
        if (ls.failed)
            PyErr_Clear();
        if (rc == HFO_ERR_NOMEM)
            PyErr_NoMemory();
        else
            PyErr_Format(st->TokenizerError, "%s (batch index %zu)", err.msg, bad);
        goto error;
    }
    /* rows: each encoding, then its overflowing parts if asked */
    for (size_t i = 0; i < n; i++)
        n_rows += 1 + ((want & WANT_OVERFLOW) ? encs[i].n_overflow : 0);
    rows = info->rows = PyMem_Calloc(n_rows ? n_rows : 1, sizeof *rows);
    if (rows == NULL) {
        PyErr_NoMemory();
        goto error;
    }
    info->n_rows = n_rows;
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
    info->L = L;
    info->padding = padding;
    info->pad_left = pad_left;
    if (streaming)
        goto done;   /* the lists are complete */
    result = PyDict_New();
    if (result == NULL)
        goto error;
    /* rows of different lengths make no array: they come back as lists, which
     * the caller turns into what transformers gives (numpy object arrays of
     * rows; torch refuses) */
    for (size_t k = 0; as_numpy && k < n_rows; k++) {
        size_t len = rows[k].enc->len;
        if (padding ? len > L : len != rows[0].enc->len)
            as_numpy = 0;
    }
    if (as_numpy) {
        if (!padding)
            L = n_rows ? rows[0].enc->len : 0;
        npy_intp dims[3] = {(npy_intp)n_rows, (npy_intp)L, 2};
        const char *names[5] = {"input_ids", "token_type_ids", "attention_mask",
                                "special_tokens_mask", "offset_mapping"};
        unsigned flags[5] = {0, WANT_TYPE_IDS, WANT_ATTENTION, WANT_SPECIAL, WANT_OFFSETS};
        for (int k = 0; k < 5; k++) {
            if (k > 0 && !(want & flags[k]))
                continue;
            /* offsets of rows with no tokens: (rows, 0), as numpy makes
             * of transformers' empty rows */
            arr[k] = new_i64(k == 4 && L > 0 ? 3 : 2, dims);
            if (arr[k] == NULL || PyDict_SetItemString(result, names[k], arr[k]) < 0)
                goto error;
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
                goto error;
            for (size_t k = 0; k < n_rows; k++)
                ((int64_t *)PyArray_DATA((PyArrayObject *)a))[k] = (int64_t)L;
            int e = PyDict_SetItemString(result, "length", a);
            Py_DECREF(a);
            if (e < 0)
                goto error;
        }
    } else {
        for (int k = 0; k < N_KEYS; k++) {
            if (k > 0 && !(want & list_flags[k]))
                continue;
            rb.lists[k] = untracked_list(n_rows);
            if (rb.lists[k] == NULL || PyDict_SetItemString(result, list_names[k], rb.lists[k]) < 0)
                goto error;
        }
        rb.L = L;
        if (build_rows(&rb, NULL, rows, 0, n_rows) < 0)
            goto error;
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
            m = untracked_list(n_rows);
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
            goto error;
        }
        Py_DECREF(m);
    }
done:
    for (int k = 0; k < N_KEYS; k++)
        Py_XDECREF(rb.lists[k]);
    PyMem_Free(ls.done);
    for (int k = 0; k < 5; k++)
        Py_XDECREF(arr[k]);
    PyObject *pair = PyTuple_Pack(2, result, (PyObject *)info);
    Py_DECREF(result);
    Py_DECREF(info);
    return pair;
error:
    for (int k = 0; k < N_KEYS; k++)
        Py_XDECREF(rb.lists[k]);
    PyMem_Free(ls.done);
    for (int k = 0; k < 5; k++)
        Py_XDECREF(arr[k]);
    Py_XDECREF(result);
    Py_DECREF(info);
    return NULL;
}

/* ---- encode_ragged: the ids of a batch as one flat array ----
 * Nothing but the ids is kept, so the batch is encoded a chunk of rows at a
 * time: a chunk's encodings and their arena stay in cache and are reused,
 * where one call holding a whole dataset's encodings (offsets, word ids,
 * 21 bytes a token) ran at half the speed of batches of 256.  The ids go
 * to a buffer that grows, which the returned array then owns (no copy). */
#define RAGGED_CHUNK 2048

static void free_capsule_data(PyObject *cap)
{
    PyMem_RawFree(PyCapsule_GetPointer(cap, "hfonnx.ragged_ids"));
}

/* A 1-D int32 array over data (PyMem_RawMalloc'd), which it owns through a
 * capsule as its base; data is freed on failure too. */
static PyObject *own_int32(int32_t *data, npy_intp n)
{
    PyObject *cap = PyCapsule_New(data, "hfonnx.ragged_ids", free_capsule_data);
    if (cap == NULL) {
        PyMem_RawFree(data);
        return NULL;
    }
    PyObject *a = PyArray_SimpleNewFromData(1, &n, NPY_INT32, data);
    if (a == NULL) {
        Py_DECREF(cap);
        return NULL;
    }
    if (PyArray_SetBaseObject((PyArrayObject *)a, cap) < 0) {   /* steals cap */
        Py_DECREF(a);
        return NULL;
    }
    return a;
}

static PyObject *core_encode_ragged(PyObject *self_, PyObject *args)
{
    CoreObject *self = (CoreObject *)self_;
    hfo_py_state *st = state_of(self_);
    PyObject *texts, *pairs;
    int add_special, trunc, trunc_left, pretok, split_special, nthreads;
    Py_ssize_t max_length;
    if (!PyArg_ParseTuple(args, "OOpinpipi", &texts, &pairs, &add_special, &trunc, &max_length,
                          &trunc_left, &pretok, &split_special, &nthreads))
        return NULL;
    if (self->tok == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_TokenizerCore not initialised");
        return NULL;
    }
    if (max_length < 0 || trunc < 0 || trunc > 3 || pretok < 0 || pretok > 2) {
        PyErr_SetString(PyExc_ValueError, "encode_ragged: bad truncation, max_length or pretok");
        return NULL;
    }
    input_batch ta = {0}, tb = {0};
    int has_pair = pairs != Py_None;
    PyObject *offsets = NULL, *ids = NULL, *out = NULL;
    hfo_encoding *encs = NULL;
    int32_t *buf = NULL;
    if ((pretok ? input_words(texts, "text", pretok == 2, &ta) : input_texts(texts, "text", &ta)) < 0)
        return NULL;
    if (has_pair && (pretok ? input_words(pairs, "text_pair", pretok == 2, &tb)
                            : input_texts(pairs, "text_pair", &tb)) < 0)
        goto done;
    if (has_pair && tb.n != ta.n) {
        PyErr_Format(PyExc_ValueError, "batch length of `text`: %zd does not match batch "
                     "length of `text_pair`: %zd.", ta.n, tb.n);
        goto done;
    }
    size_t n = (size_t)ta.n, chunk = n < RAGGED_CHUNK ? n : RAGGED_CHUNK;
    npy_intp n_offsets = (npy_intp)n + 1;
    offsets = PyArray_SimpleNew(1, &n_offsets, NPY_INT64);
    encs = PyMem_Malloc((chunk ? chunk : 1) * sizeof *encs);
    /* room for about a token per four characters and the special tokens;
     * grown when a chunk needs more */
    size_t cap = 64, total = 0;
    for (Py_ssize_t i = 0; i < ta.n_refs && cap < ((size_t)1 << 24); i++)
        cap += ta.texts[i].len / 4 + 4;
    for (Py_ssize_t i = 0; i < tb.n_refs && cap < ((size_t)1 << 24); i++)
        cap += tb.texts[i].len / 4 + 2;
    buf = PyMem_RawMalloc(cap * sizeof *buf);
    if (offsets == NULL || encs == NULL || buf == NULL) {
        if (offsets != NULL)
            PyErr_NoMemory();
        goto done;
    }
    int64_t *o = PyArray_DATA((PyArrayObject *)offsets);
    hfo_call call = {add_special, (hfo_trunc)trunc, (size_t)max_length, 0, trunc_left, split_special, 1, 0};
    hfo_err err = {HFO_OK, ""};
    hfo_status rc = HFO_OK;
    size_t bad = 0;
    PyThreadState *ts = PyEval_SaveThread();
    for (size_t start = 0; start < n && rc == HFO_OK; start += chunk) {
        size_t m = n - start < chunk ? n - start : chunk, need = 0;
        hfo_arena arena = {0};
        if (pretok)
            rc = hfo_tok_encode_words_batch(self->tok, ta.words + start, has_pair ? tb.words + start : NULL,
                                            m, &call, nthreads, encs, &arena, NULL, NULL, NULL, &bad, &err);
        else
            rc = hfo_tok_encode_batch_ex(self->tok, ta.texts + start, has_pair ? tb.texts + start : NULL,
                                         m, &call, nthreads, encs, &arena, NULL, NULL, NULL, &bad, &err);
        bad += start;
        for (size_t k = 0; rc == HFO_OK && k < m; k++)
            need += encs[k].len;
        if (rc == HFO_OK && total + need > cap) {
            size_t grown = cap * 2 > total + need ? cap * 2 : total + need;
            int32_t *b = PyMem_RawRealloc(buf, grown * sizeof *buf);
            if (b == NULL)
                rc = hfo_err_set(&err, HFO_ERR_NOMEM, "out of memory");
            else
                buf = b, cap = grown;
        }
        for (size_t k = 0; rc == HFO_OK && k < m; k++) {
            o[start + k] = (int64_t)total;
            if (encs[k].len)
                memcpy(buf + total, encs[k].ids, encs[k].len * sizeof *buf);
            total += encs[k].len;
        }
        for (size_t k = 0; k < m; k++)
            hfo_enc_release(&encs[k]);
        hfo_arena_free(&arena);
    }
    PyEval_RestoreThread(ts);
    if (rc) {
        if (rc == HFO_ERR_NOMEM)
            PyErr_NoMemory();
        else
            PyErr_Format(st->TokenizerError, "%s (batch index %zu)", err.msg, bad);
        goto done;
    }
    o[n] = (int64_t)total;
    if (total < cap) {   /* give back the room not used */
        int32_t *b = PyMem_RawRealloc(buf, (total ? total : 1) * sizeof *buf);
        if (b != NULL)
            buf = b;
    }
    ids = own_int32(buf, (npy_intp)total);
    buf = NULL;   /* the array's now (or freed) */
    if (ids != NULL)
        out = PyTuple_Pack(2, ids, offsets);
done:
    PyMem_RawFree(buf);
    PyMem_Free(encs);
    Py_XDECREF(ids);
    Py_XDECREF(offsets);
    input_release(&ta);
    input_release(&tb);
    return out;
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

/* strings(text_or_words, pretok[, split_special]) -> [(id, str, added)]:
 * the tokens of one sequence without the post-processor (Encoding.tokens;
 * for tokenize()). */
static PyObject *core_strings(PyObject *self_, PyObject *args)
{
    CoreObject *self = (CoreObject *)self_;
    PyObject *obj;
    int pretok, split_special = 0;
    if (!PyArg_ParseTuple(args, "Op|p", &obj, &pretok, &split_special))
        return NULL;
    if (self->tok == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_TokenizerCore not initialised");
        return NULL;
    }
    PyObject *wrapped = PyTuple_Pack(1, obj);
    if (wrapped == NULL)
        return NULL;
    input_batch in;
    int rc = pretok ? input_words(wrapped, "text", 1, &in) : input_texts(wrapped, "text", &in);
    Py_DECREF(wrapped);
    if (rc < 0)
        return NULL;
    hfo_tok_strings strs;
    hfo_err err = {HFO_OK, ""};
    hfo_status st;
    Py_BEGIN_ALLOW_THREADS
    st = pretok ? hfo_tok_strings_of_words(self->tok, &in.words[0], split_special, &strs, &err)
                : hfo_tok_strings_of(self->tok, &in.texts[0], split_special, &strs, &err);
    Py_END_ALLOW_THREADS
    input_release(&in);
    if (st) {
        hfo_tok_strings_free(&strs);
        raise_err(state_of(self_), &err);
        return NULL;
    }
    PyObject *out = PyList_New((Py_ssize_t)strs.n);
    for (size_t k = 0; out && k < strs.n; k++) {
        PyObject *item = Py_BuildValue("(iNO)", strs.ids[k],
                                       PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, strs.cps + strs.start[k],
                                                                 (Py_ssize_t)(strs.start[k + 1] - strs.start[k])),
                                       strs.added[k] ? Py_True : Py_False);
        if (item == NULL) {
            Py_CLEAR(out);
            break;
        }
        PyList_SET_ITEM(out, (Py_ssize_t)k, item);
    }
    hfo_tok_strings_free(&strs);
    return out;
}

static PyMethodDef core_methods[] = {
    {"strings", core_strings, METH_VARARGS,
     "strings(text, pretok, split_special=False) -> [(id, str, added)]: the tokens of one "
     "sequence (text, or a list of words with pretok) and the text each covers."},
    {"normalize", core_normalize, METH_O, "normalize(text) -> the normalizer's output"},
    {"encode_batch", core_encode_batch, METH_VARARGS,
     "encode_batch(texts, pairs, add_special_tokens, truncation, max_length, stride, padding, "
     "pad_length, pad_to_multiple_of, pad_left, pad_id, pad_type_id, want, as_numpy, nthreads, "
     "truncate_left=False, pretok=0, split_special=False) -> (dict of outputs, _Encodings); "
     "pretok: 0 texts, 1 a batch of word lists, 2 one word list (wrapped in a list); "
     "split_special: special tokens in the text are plain text"},
    {"encode_ragged", core_encode_ragged, METH_VARARGS,
     "encode_ragged(texts, pairs, add_special_tokens, truncation, max_length, truncate_left, "
     "pretok, split_special, nthreads) -> (ids, offsets): every row's ids in one int32 array, "
     "row r being ids[offsets[r]:offsets[r + 1]]"},
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
     "_tok_pool_shutdown(): stop the tokenizer pool's idle threads (it restarts on next use; "
     "nothing is stopped while a batch runs); run before fork."},
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
    st->encodings_type = PyType_FromModuleAndSpec(module, &encodings_spec, NULL);
    if (st->encodings_type == NULL)
        return -1;
    if (PyModule_AddObjectRef(module, "_Encodings", st->encodings_type) < 0)
        return -1;
    if (PyModule_AddFunctions(module, tok_functions) < 0)
        return -1;
    return 0;
}
