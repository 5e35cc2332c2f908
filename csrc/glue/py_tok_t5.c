/* py_tok_t5.c: glue for the SentencePiece side of the tokenizer engine
 * (csrc/tok/spm.h), used by hfonnx/tokenization_t5.py.
 *
 *     info = _spm_load(open("spiece.model", "rb").read())   # dict of the model's fields
 *     core = _TokenizerCore([], -1, "", 0, None, None, added, single, pair)
 *     _core_set_unigram(core, [(piece, score), ...], unk_id, byte_fallback,
 *                       charsmap_bytes_or_None, ("\u2581", prepend_scheme, split, ws_split))
 *
 * The core is built with the shared constructor (added tokens, templates)
 * and then gets the Precompiled normalizer, the Metaspace pre-tokenizer and
 * the Unigram model in place of its placeholder stages, before any use. */
#include "glue.h"
#include "tok/spm.h"

static PyObject *tok_error(PyObject *module)
{
    hfo_py_state *st = hfo_py_state_of_module(module);
    return st && st->TokenizerError ? st->TokenizerError : PyExc_ValueError;
}

static void raise_err(PyObject *module, const hfo_err *err)
{
    if (err->code == HFO_ERR_NOMEM)
        PyErr_NoMemory();
    else
        PyErr_SetString(tok_error(module), err->msg);
}

static int dict_set(PyObject *d, const char *k, PyObject *v)
{
    if (v == NULL)
        return -1;
    int r = PyDict_SetItemString(d, k, v);
    Py_DECREF(v);
    return r;
}

static PyObject *py_spm_load(PyObject *module, PyObject *arg)
{
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    hfo_err err = {HFO_OK, ""};
    hfo_spm_model *m;
    Py_BEGIN_ALLOW_THREADS
    m = hfo_spm_load(view.buf, (size_t)view.len, &err);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    if (m == NULL) {
        raise_err(module, &err);
        return NULL;
    }
    PyObject *d = PyDict_New(), *pieces = NULL;
    if (d == NULL)
        goto fail;
    pieces = PyList_New((Py_ssize_t)m->n_pieces);
    if (pieces == NULL)
        goto fail;
    for (size_t i = 0; i < m->n_pieces; i++) {
        PyObject *t = Py_BuildValue("(s#di)", m->piece[i], (Py_ssize_t)m->piece_len[i],
                                    (double)m->score[i], m->type[i]);
        if (t == NULL)
            goto fail;
        PyList_SET_ITEM(pieces, (Py_ssize_t)i, t);
    }
    if (PyDict_SetItemString(d, "pieces", pieces) < 0 ||
        dict_set(d, "model_type", PyLong_FromLong(m->model_type)) < 0 ||
        dict_set(d, "byte_fallback", PyBool_FromLong(m->byte_fallback)) < 0 ||
        dict_set(d, "unk_id", PyLong_FromLong(m->unk_id)) < 0 ||
        dict_set(d, "bos_id", PyLong_FromLong(m->bos_id)) < 0 ||
        dict_set(d, "eos_id", PyLong_FromLong(m->eos_id)) < 0 ||
        dict_set(d, "pad_id", PyLong_FromLong(m->pad_id)) < 0 ||
        dict_set(d, "unk_piece", PyUnicode_FromString(m->unk_piece)) < 0 ||
        dict_set(d, "bos_piece", PyUnicode_FromString(m->bos_piece)) < 0 ||
        dict_set(d, "eos_piece", PyUnicode_FromString(m->eos_piece)) < 0 ||
        dict_set(d, "pad_piece", PyUnicode_FromString(m->pad_piece)) < 0 ||
        dict_set(d, "normalizer_name", PyUnicode_DecodeUTF8(m->normalizer_name,
                 (Py_ssize_t)strlen(m->normalizer_name), "replace")) < 0 ||
        dict_set(d, "precompiled_charsmap", PyBytes_FromStringAndSize((const char *)m->charsmap,
                 (Py_ssize_t)m->charsmap_len)) < 0 ||
        dict_set(d, "add_dummy_prefix", PyBool_FromLong(m->add_dummy_prefix)) < 0 ||
        dict_set(d, "remove_extra_whitespaces", PyBool_FromLong(m->remove_extra_whitespaces)) < 0 ||
        dict_set(d, "escape_whitespaces", PyBool_FromLong(m->escape_whitespaces)) < 0)
        goto fail;
    Py_DECREF(pieces);
    hfo_spm_free(m);
    return d;
fail:
    Py_XDECREF(pieces);
    Py_XDECREF(d);
    hfo_spm_free(m);
    return NULL;
}

static PyObject *py_core_set_unigram(PyObject *module, PyObject *args)
{
    PyObject *core, *vocab, *charsmap, *meta;
    int unk_id, byte_fallback;
    if (!PyArg_ParseTuple(args, "OOipOO", &core, &vocab, &unk_id, &byte_fallback, &charsmap, &meta))
        return NULL;
    hfo_tok *tok = hfo_py_core_tok(core);
    if (tok == NULL)
        return NULL;
    hfo_err err = {HFO_OK, ""};
    hfo_normalizer *nz = NULL;
    hfo_pretok *pt = NULL;
    hfo_model *ug = NULL;
    Py_UCS4 *buf = NULL;
    PyObject *seq = NULL;
    if (charsmap != Py_None) {
        Py_buffer view;
        if (PyObject_GetBuffer(charsmap, &view, PyBUF_SIMPLE) < 0)
            goto error;
        nz = hfo_normalizer_precompiled_new(view.buf, (size_t)view.len, &err);
        PyBuffer_Release(&view);
        if (nz == NULL) {
            raise_err(module, &err);
            goto error;
        }
    }
    if (meta != Py_None) {
        PyObject *repl;
        int scheme, split, ws_split;
        if (!PyArg_ParseTuple(meta, "Uipp;metaspace must be (replacement, prepend_scheme, split, "
                              "whitespace_split)", &repl, &scheme, &split, &ws_split))
            goto error;
        if (PyUnicode_GET_LENGTH(repl) != 1 || scheme < 0 || scheme > 2) {
            PyErr_SetString(tok_error(module),
                            "Metaspace: the replacement must be one character and "
                            "prepend_scheme one of always/first/never");
            goto error;
        }
        pt = hfo_pretok_metaspace_new(PyUnicode_READ_CHAR(repl, 0), scheme, split, ws_split);
        if (pt == NULL) {
            PyErr_NoMemory();
            goto error;
        }
    }
    ug = hfo_unigram_new(unk_id, byte_fallback);
    if (ug == NULL) {
        PyErr_NoMemory();
        goto error;
    }
    seq = PySequence_Fast(vocab, "vocab must be a list of (piece, score)");
    if (seq == NULL)
        goto error;
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq); i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(seq, i), *piece;
        double score;
        if (!PyTuple_Check(item) && !PyList_Check(item)) {
            PyErr_Format(tok_error(module), "Unigram vocab entry %zd must be [piece, score]", i);
            goto error;
        }
        PyObject *t = PySequence_Tuple(item);
        if (t == NULL)
            goto error;
        int ok = PyArg_ParseTuple(t, "Ud;Unigram vocab entries must be [str, float]", &piece, &score);
        if (ok) {
            Py_ssize_t n;
            buf = PyUnicode_AsUCS4Copy(piece);
            n = PyUnicode_GET_LENGTH(piece);
            if (buf == NULL ||
                hfo_unigram_add(ug, (const uint32_t *)buf, (size_t)n, score, &err) != HFO_OK) {
                if (buf)
                    raise_err(module, &err);
                ok = 0;
            }
            PyMem_Free(buf);
            buf = NULL;
        }
        Py_DECREF(t);
        if (!ok)
            goto error;
    }
    Py_CLEAR(seq);
    if (hfo_unigram_finish(ug, &err) != HFO_OK) {
        raise_err(module, &err);
        goto error;
    }
    hfo_tok_set_normalizer(tok, nz);
    hfo_tok_set_pretok(tok, pt);
    hfo_tok_set_model(tok, ug);
    Py_RETURN_NONE;
error:
    Py_XDECREF(seq);
    hfo_normalizer_free(nz);
    hfo_pretok_free(pt);
    hfo_model_free(ug);
    return NULL;
}

static PyMethodDef t5_functions[] = {
    {"_spm_load", py_spm_load, METH_O,
     "_spm_load(data: bytes) -> dict: the fields of a SentencePiece model (spiece.model)."},
    {"_core_set_unigram", py_core_set_unigram, METH_VARARGS,
     "_core_set_unigram(core, vocab, unk_id, byte_fallback, charsmap, metaspace): give a "
     "_TokenizerCore the Precompiled normalizer, Metaspace pre-tokenizer and Unigram model."},
    {NULL, NULL, 0, NULL},
};

int hfo_py_t5_exec(PyObject *module)
{
    return PyModule_AddFunctions(module, t5_functions);
}
