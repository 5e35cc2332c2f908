/* py_export.c: glue for the model recipes: _hfonnx.build_bert(...).
 *
 *     outputs = _hfonnx.build_bert(graph, config, weights,
 *                                  task="feature-extraction", pooling="mean")
 *     outputs["last_hidden_state"], outputs["sentence_embedding"]   # hfonnx.Value
 *
 * The config dict is read once into hfo_bert_config (BertConfig's defaults
 * for absent keys).  The weights dict ({checkpoint name: numpy array}) is the
 * weight source: each array a weight borrows is handed to the Graph object,
 * which keeps it alive as long as the graph.  Arrays must be C-contiguous,
 * aligned and native-endian float32 / float16 / bfloat16 (a uint16 array
 * whose type has hfonnx_dtype == "bfloat16", see hfonnx/weights.py, or a
 * numpy dtype named "bfloat16").
 */
#include "glue.h"

#include <string.h>

#include "graph/graph.h"
#include "models/bert.h"

/* ---- the weight source over a dict of numpy arrays --------------------- */

typedef struct dict_source {
    PyObject *graph_obj;   /* borrowed */
    PyObject *weights;     /* borrowed dict */
} dict_source;

static int is_bfloat16(PyArrayObject *arr)
{
    PyArray_Descr *d = PyArray_DESCR(arr);
    if (PyArray_ITEMSIZE(arr) != 2)
        return 0;
    PyObject *tag = PyObject_GetAttrString((PyObject *)Py_TYPE(arr), "hfonnx_dtype");
    if (tag == NULL) {
        PyErr_Clear();
        /* ml_dtypes.bfloat16 and friends: a dtype whose str() is "bfloat16" */
        tag = PyObject_Str((PyObject *)d);
        if (tag == NULL) {
            PyErr_Clear();
            return 0;
        }
    }
    int yes = PyUnicode_Check(tag) && PyUnicode_CompareWithASCIIString(tag, "bfloat16") == 0;
    Py_DECREF(tag);
    return yes;
}

static hfo_dtype numpy_dtype(PyArrayObject *arr)
{
    if (is_bfloat16(arr))
        return HFO_BFLOAT16;
    switch (PyArray_TYPE(arr)) {
    case NPY_FLOAT32: return HFO_FLOAT;
    case NPY_FLOAT16: return HFO_FLOAT16;
    case NPY_FLOAT64: return HFO_DOUBLE;
    case NPY_INT64: return HFO_INT64;
    case NPY_INT32: return HFO_INT32;
    case NPY_INT16: return HFO_INT16;
    case NPY_INT8: return HFO_INT8;
    case NPY_UINT8: return HFO_UINT8;
    case NPY_UINT16: return HFO_UINT16;
    case NPY_UINT32: return HFO_UINT32;
    case NPY_UINT64: return HFO_UINT64;
    case NPY_BOOL: return HFO_BOOL;
    default: return HFO_UNDEFINED;
    }
}

static int dict_lookup(void *ctx, hfo_graph *g, const char *name, hfo_tensor_view *out)
{
    dict_source *src = ctx;
    PyObject *key = PyUnicode_FromString(name);
    if (key == NULL)
        goto py_error;
    PyObject *obj = PyDict_GetItemWithError(src->weights, key);  /* borrowed */
    Py_DECREF(key);
    if (obj == NULL) {
        if (PyErr_Occurred())
            goto py_error;
        return 0;
    }
    if (!PyArray_Check(obj)) {
        hfo_graph_fail(g, HFO_ERR_WEIGHT, "weight '%s' is a %s, expected a numpy array",
                       name, Py_TYPE(obj)->tp_name);
        return -1;
    }
    PyArrayObject *arr = (PyArrayObject *)obj;
    if (!PyArray_IS_C_CONTIGUOUS(arr) || !PyArray_ISALIGNED(arr) || !PyArray_ISNOTSWAPPED(arr)) {
        hfo_graph_fail(g, HFO_ERR_WEIGHT,
                       "weight '%s' is not a C-contiguous, aligned, native-endian array "
                       "(pass numpy.ascontiguousarray of it)", name);
        return -1;
    }
    if (PyArray_NDIM(arr) > HFO_MAX_RANK) {
        hfo_graph_fail(g, HFO_ERR_WEIGHT, "weight '%s' has rank %d (at most %d)",
                       name, PyArray_NDIM(arr), HFO_MAX_RANK);
        return -1;
    }
    if (hfo_py_graph_keep(src->graph_obj, obj) < 0)
        goto py_error;
    out->data = PyArray_DATA(arr);
    out->dtype = numpy_dtype(arr);
    out->rank = PyArray_NDIM(arr);
    for (int i = 0; i < out->rank; i++)
        out->shape[i] = (int64_t)PyArray_DIM(arr, i);
    return 1;

py_error:
    /* The Python exception stays set; build_bert reports it instead. */
    hfo_graph_fail(g, HFO_ERR_WEIGHT, "Python error looking up weight '%s'", name);
    return -1;
}

/* ---- the config dict -> hfo_bert_config -------------------------------- */

/* Fetch config[key]: 1 found (new ref in *out), 0 absent or None, -1 error. */
static int cfg_item(PyObject *cfg, const char *key, PyObject **out)
{
    PyObject *v = PyDict_GetItemString(cfg, key);  /* borrowed, no error */
    if (v == NULL || v == Py_None)
        return 0;
    Py_INCREF(v);
    *out = v;
    return 1;
}

static int cfg_int(hfo_py_state *st, PyObject *cfg, const char *key, int64_t *dst)
{
    PyObject *v;
    int r = cfg_item(cfg, key, &v);
    if (r <= 0)
        return r;
    if (!PyLong_Check(v) || PyBool_Check(v)) {
        PyErr_Format(st->UnsupportedModelError, "config %s must be an integer, got %R", key, v);
        Py_DECREF(v);
        return -1;
    }
    long long x = PyLong_AsLongLong(v);
    Py_DECREF(v);
    if (x == -1 && PyErr_Occurred())
        return -1;
    *dst = (int64_t)x;
    return 1;
}

/* A string item; *out is a pointer into the dict's str (valid while cfg lives). */
static int cfg_str(hfo_py_state *st, PyObject *cfg, const char *key, const char **dst)
{
    PyObject *v;
    int r = cfg_item(cfg, key, &v);
    if (r <= 0)
        return r;
    if (!PyUnicode_Check(v)) {
        PyErr_Format(st->UnsupportedModelError, "config %s must be a string, got %R", key, v);
        Py_DECREF(v);
        return -1;
    }
    *dst = PyUnicode_AsUTF8(v);
    Py_DECREF(v);  /* the dict still holds it */
    return *dst ? 1 : -1;
}

/* Raise the graph's error as a Python exception (GraphError, WeightError, ...). */
static int raise_graph(PyObject *graph_obj)
{
    return hfo_py_graph_raise(graph_obj);
}

static int fill_bert_config(hfo_py_state *st, PyObject *graph_obj, hfo_graph *g, PyObject *cfg,
                            hfo_bert_config *c)
{
    hfo_bert_config_default(c);
    const char *s = NULL;
    if (cfg_str(st, cfg, "model_type", &s) < 0)
        return -1;
    if (s != NULL && strcmp(s, "bert") != 0) {
        PyErr_Format(st->UnsupportedModelError,
                     "unsupported model_type '%s' for the BERT recipe (supported: bert)", s);
        return -1;
    }
    const struct { const char *key; int64_t *dst; } ints[] = {
        {"vocab_size", &c->vocab_size},
        {"hidden_size", &c->hidden_size},
        {"num_hidden_layers", &c->num_hidden_layers},
        {"num_attention_heads", &c->num_attention_heads},
        {"intermediate_size", &c->intermediate_size},
        {"max_position_embeddings", &c->max_position_embeddings},
        {"type_vocab_size", &c->type_vocab_size},
        {"num_labels", &c->num_labels},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        if (cfg_int(st, cfg, ints[i].key, ints[i].dst) < 0)
            return -1;
    /* config.to_dict() carries id2label rather than num_labels */
    PyObject *labels;
    if (cfg_item(cfg, "id2label", &labels) == 1) {
        Py_ssize_t n = PyObject_Length(labels);
        Py_DECREF(labels);
        if (n < 0)
            return -1;
        if (n > 0)
            c->num_labels = n;
    }
    PyObject *v;
    if (cfg_item(cfg, "layer_norm_eps", &v) == 1) {
        c->layer_norm_eps = PyFloat_AsDouble(v);
        Py_DECREF(v);
        if (c->layer_norm_eps == -1.0 && PyErr_Occurred()) {
            PyErr_Clear();
            PyErr_SetString(st->UnsupportedModelError, "config layer_norm_eps must be a number");
            return -1;
        }
    }
    if (cfg_item(cfg, "tie_word_embeddings", &v) == 1) {
        c->tie_word_embeddings = PyObject_IsTrue(v);
        Py_DECREF(v);
        if (c->tie_word_embeddings < 0)
            return -1;
    }
    s = "gelu";
    if (cfg_str(st, cfg, "hidden_act", &s) < 0)
        return -1;
    if (hfo_act_from_name(g, s, &c->hidden_act) < 0)
        return raise_graph(graph_obj);
    s = "absolute";
    if (cfg_str(st, cfg, "position_embedding_type", &s) < 0)
        return -1;
    if (hfo_bert_check_position_embedding_type(g, s) < 0)
        return raise_graph(graph_obj);
    if (hfo_bert_config_check(g, c) < 0)
        return raise_graph(graph_obj);
    return 0;
}

/* ---- build_bert --------------------------------------------------------- */

PyDoc_STRVAR(build_bert_doc,
"build_bert(graph, config, weights, task='feature-extraction', pooling=None,\n"
"           declare_outputs=True) -> dict[str, Value]\n"
"\n"
"Add BertModel and the head for `task` to `graph` (an empty hfonnx.Graph).\n"
"config: the config.json dict; weights: {checkpoint name: numpy array}\n"
"(C-contiguous float32/float16/bfloat16; the graph keeps the arrays it uses\n"
"alive).  task: feature-extraction, text-classification,\n"
"token-classification, question-answering or fill-mask.  pooling (feature\n"
"extraction only): cls, mean, max or pooler, adding `sentence_embedding`.\n"
"Returns the named results; when declare_outputs is true they are already\n"
"declared as graph outputs with symbolic dims, otherwise the dict also holds\n"
"the inputs (input_ids, attention_mask, token_type_ids) for a custom head.");

static PyObject *build_bert(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"graph", "config", "weights", "task", "pooling",
                             "declare_outputs", NULL};
    hfo_py_state *st = hfo_py_state_of_module(module);
    PyObject *graph_obj, *cfg, *weights;
    const char *task_name = "feature-extraction", *pooling_name = NULL;
    int declare = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO!O!|sz$p:build_bert", kwlist,
                                     &graph_obj, &PyDict_Type, &cfg, &PyDict_Type, &weights,
                                     &task_name, &pooling_name, &declare))
        return NULL;
    hfo_graph *g = hfo_py_graph_get(graph_obj);
    if (g == NULL)
        return NULL;
    if (hfo_graph_failed(g)) {
        hfo_py_graph_raise(graph_obj);
        return NULL;
    }

    hfo_bert_config c;
    if (fill_bert_config(st, graph_obj, g, cfg, &c) < 0)
        return NULL;
    hfo_bert_task task;
    hfo_bert_pooling pooling = HFO_BERT_POOL_NONE;
    if (hfo_bert_task_from_name(g, task_name, &task) < 0 ||
        (pooling_name != NULL && hfo_bert_pooling_from_name(g, pooling_name, &pooling) < 0)) {
        hfo_py_graph_raise(graph_obj);
        return NULL;
    }

    static const char *const prefixes[] = {"", "bert.", NULL};
    dict_source src = {.graph_obj = graph_obj, .weights = weights};
    hfo_weights *w = hfo_weights_new(g, dict_lookup, &src, prefixes);
    PyObject *result = NULL;
    if (w == NULL)
        goto error;

    hfo_bert m;
    hfo_bert_outputs out;
    if (hfo_bert_init(&m, g, w, &c) < 0)
        goto error;
    hfo_value *h = hfo_bert_encoder(&m, hfo_bert_embeddings(&m), hfo_bert_mask_bias(&m));
    if (hfo_bert_head(&m, task, pooling, h, &out) < 0)
        goto error;
    if (declare && hfo_bert_declare_outputs(&m, &out) < 0)
        goto error;

    result = PyDict_New();
    if (result == NULL)
        goto done;
    for (size_t i = 0; i < out.n; i++) {
        PyObject *val = hfo_py_value_new(graph_obj, out.values[i]);
        if (val == NULL || PyDict_SetItemString(result, out.names[i], val) < 0) {
            Py_XDECREF(val);
            Py_CLEAR(result);
            goto done;
        }
        Py_DECREF(val);
    }
    if (!declare) {
        hfo_value *inputs[3] = {m.input_ids, m.attention_mask, m.token_type_ids};
        const char *names[3] = {"input_ids", "attention_mask", "token_type_ids"};
        for (int i = 0; i < 3; i++) {
            PyObject *val = hfo_py_value_new(graph_obj, inputs[i]);
            if (val == NULL || PyDict_SetItemString(result, names[i], val) < 0) {
                Py_XDECREF(val);
                Py_CLEAR(result);
                goto done;
            }
            Py_DECREF(val);
        }
    }
    goto done;

error:
    if (PyErr_Occurred())
        hfo_graph_clear_error(g);   /* a Python error from the weights dict wins */
    else
        hfo_py_graph_raise(graph_obj);
done:
    hfo_weights_free(w);
    return result;
}

static PyMethodDef export_methods[] = {
    {"build_bert", (PyCFunction)(void (*)(void))build_bert, METH_VARARGS | METH_KEYWORDS,
     build_bert_doc},
    {NULL, NULL, 0, NULL},
};

int hfo_py_export_exec(PyObject *module)
{
    return PyModule_AddFunctions(module, export_methods);
}
