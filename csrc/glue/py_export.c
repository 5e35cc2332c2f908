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
#include "models/pooling.h"
#include "models/t5.h"

/* ---- the weight source over a dict of numpy arrays --------------------- */

typedef struct dict_source {
    PyObject *graph_obj;   /* borrowed */
    PyObject *weights;     /* borrowed dict */
} dict_source;

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
        hfo_graph_fail(g, HFO_GRAPH_ERR_WEIGHT, "weight '%s' is a %s, expected a numpy array",
                       name, Py_TYPE(obj)->tp_name);
        return -1;
    }
    PyArrayObject *arr = (PyArrayObject *)obj;
    if (!PyArray_IS_C_CONTIGUOUS(arr) || !PyArray_ISALIGNED(arr) || !PyArray_ISNOTSWAPPED(arr)) {
        hfo_graph_fail(g, HFO_GRAPH_ERR_WEIGHT,
                       "weight '%s' is not a C-contiguous, aligned, native-endian array "
                       "(pass numpy.ascontiguousarray of it)", name);
        return -1;
    }
    if (PyArray_NDIM(arr) > HFO_MAX_RANK) {
        hfo_graph_fail(g, HFO_GRAPH_ERR_WEIGHT, "weight '%s' has rank %d (at most %d)",
                       name, PyArray_NDIM(arr), HFO_MAX_RANK);
        return -1;
    }
    if (hfo_py_graph_keep(src->graph_obj, obj) < 0)
        goto py_error;
    out->data = PyArray_DATA(arr);
    out->dtype = (hfo_dtype)hfo_py_array_dtype(arr);
    out->rank = PyArray_NDIM(arr);
    for (int i = 0; i < out->rank; i++)
        out->shape[i] = (int64_t)PyArray_DIM(arr, i);
    return 1;

py_error:
    /* The Python exception stays set; build_bert reports it instead. */
    hfo_graph_fail(g, HFO_GRAPH_ERR_WEIGHT, "Python error looking up weight '%s'", name);
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
        return hfo_py_graph_raise(graph_obj);
    s = "absolute";
    if (cfg_str(st, cfg, "position_embedding_type", &s) < 0)
        return -1;
    if (hfo_bert_check_position_embedding_type(g, s) < 0)
        return hfo_py_graph_raise(graph_obj);
    if (hfo_bert_config_check(g, c) < 0)
        return hfo_py_graph_raise(graph_obj);
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
    hfo_value *emb = hfo_bert_embeddings(&m);     /* in this order: node order is the file's */
    hfo_value *mask_bias = hfo_bert_mask_bias(&m);
    hfo_value *h = hfo_bert_encoder(&m, emb, mask_bias);
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

/* ---- build_t5 ------------------------------------------------------------ */

static int cfg_bool(PyObject *cfg, const char *key, int *dst)
{
    PyObject *v;
    int r = cfg_item(cfg, key, &v);
    if (r <= 0)
        return r;
    int b = PyObject_IsTrue(v);
    Py_DECREF(v);
    if (b < 0)
        return -1;
    *dst = b;
    return 1;
}

static int fill_t5_config(hfo_py_state *st, PyObject *graph_obj, hfo_graph *g, PyObject *cfg,
                          hfo_t5_config *c)
{
    hfo_t5_config_default(c);
    const char *s = NULL;
    if (cfg_str(st, cfg, "model_type", &s) < 0)
        return -1;
    if (s != NULL && strcmp(s, "t5") != 0 && strcmp(s, "mt5") != 0) {
        PyErr_Format(st->UnsupportedModelError,
                     "unsupported model_type '%s' for the T5 recipe (supported: t5, mt5)", s);
        return -1;
    }
    int has_decoder_layers = 0;
    const struct { const char *key; int64_t *dst; int *seen; } ints[] = {
        {"vocab_size", &c->vocab_size, NULL}, {"d_model", &c->d_model, NULL}, {"d_kv", &c->d_kv, NULL},
        {"d_ff", &c->d_ff, NULL}, {"num_heads", &c->num_heads, NULL}, {"num_layers", &c->num_layers, NULL},
        {"num_decoder_layers", &c->num_decoder_layers, &has_decoder_layers},
        {"relative_attention_num_buckets", &c->num_buckets, NULL},
        {"relative_attention_max_distance", &c->max_distance, NULL},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        int r = cfg_int(st, cfg, ints[i].key, ints[i].dst);
        if (r < 0)
            return -1;
        if (ints[i].seen)
            *ints[i].seen = r;
    }
    if (!has_decoder_layers)   /* T5Config: num_decoder_layers defaults to num_layers */
        c->num_decoder_layers = c->num_layers;
    PyObject *v;
    if (cfg_item(cfg, "layer_norm_epsilon", &v) == 1) {
        c->layer_norm_epsilon = PyFloat_AsDouble(v);
        Py_DECREF(v);
        if (c->layer_norm_epsilon == -1.0 && PyErr_Occurred()) {
            PyErr_Clear();
            PyErr_SetString(st->UnsupportedModelError, "config layer_norm_epsilon must be a number");
            return -1;
        }
    }
    /* T5Config derives dense_act_fn and is_gated_act from feed_forward_proj
     * ("relu", "gated-gelu", "gated-silu", ...); config.json may hold either. */
    const char *proj = "relu", *act = NULL;
    if (cfg_str(st, cfg, "feed_forward_proj", &proj) < 0 || cfg_str(st, cfg, "dense_act_fn", &act) < 0)
        return -1;
    const char *dash = strrchr(proj, '-');
    c->is_gated_act = dash != NULL && strncmp(proj, "gated-", 6) == 0;
    if (act == NULL)
        act = strcmp(proj, "gated-gelu") == 0 ? "gelu_new" : (dash ? dash + 1 : proj);
    if (cfg_bool(cfg, "is_gated_act", &c->is_gated_act) < 0)
        return -1;
    if (hfo_act_from_name(g, act, &c->act) < 0)
        return hfo_py_graph_raise(graph_obj);
    if (cfg_bool(cfg, "tie_word_embeddings", &c->tie_word_embeddings) < 0)
        return -1;
    c->scale_decoder_outputs = c->tie_word_embeddings;
    if (cfg_bool(cfg, "scale_decoder_outputs", &c->scale_decoder_outputs) < 0)
        return -1;
    if (hfo_t5_config_check(g, c) < 0)
        return hfo_py_graph_raise(graph_obj);
    return 0;
}

/* Declare `v` as output `name` with `rank` dims; collect it in `result`. */
static int t5_output(PyObject *graph_obj, hfo_graph *g, PyObject *result, hfo_value *v,
                     const char *name, int rank, const hfo_dim *dims)
{
    hfo_value *out = hfo_graph_output(g, v, name, rank, dims);
    if (out == NULL)
        return -1;
    PyObject *val = hfo_py_value_new(graph_obj, out);
    if (val == NULL)
        return -1;
    int rc = PyDict_SetItemString(result, name, val);
    Py_DECREF(val);
    return rc;
}

PyDoc_STRVAR(build_t5_doc,
"build_t5(graph, config, weights, part, pooling=None, *, declare_outputs=True)\n"
"    -> dict[str, Value]\n"
"\n"
"Add one of T5's graphs to `graph` (an empty hfonnx.Graph) and declare its\n"
"outputs with optimum's names: part 'encoder' (encoder_model.onnx),\n"
"'decoder' (decoder_model.onnx), 'decoder_with_past'\n"
"(decoder_with_past_model.onnx) or 'decoder_merged' (decoder_model_merged.onnx:\n"
"both decoders behind an If on the input use_cache_branch).  Encoder only:\n"
"pooling 'cls', 'mean' or 'max' adds `sentence_embedding`; declare_outputs=False\n"
"declares nothing and returns last_hidden_state and the inputs for a custom head.  config: the config.json dict; weights:\n"
"{checkpoint name: numpy array}.  Returns the outputs by name.");

static PyObject *build_t5(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"graph", "config", "weights", "part", "pooling", "declare_outputs", NULL};
    hfo_py_state *st = hfo_py_state_of_module(module);
    PyObject *graph_obj, *cfg, *weights;
    const char *part, *pooling_name = NULL;
    int declare = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO!O!s|z$p:build_t5", kwlist,
                                     &graph_obj, &PyDict_Type, &cfg, &PyDict_Type, &weights, &part,
                                     &pooling_name, &declare))
        return NULL;
    hfo_graph *g = hfo_py_graph_get(graph_obj);
    if (g == NULL)
        return NULL;
    if (hfo_graph_failed(g))
        return hfo_py_graph_raise(graph_obj), NULL;
    int encoder = strcmp(part, "encoder") == 0, with_past = strcmp(part, "decoder_with_past") == 0;
    int merged = strcmp(part, "decoder_merged") == 0;
    if (!encoder && !with_past && !merged && strcmp(part, "decoder") != 0) {
        PyErr_Format(st->UnsupportedModelError, "unknown T5 part '%s' (supported: encoder, decoder, "
                     "decoder_with_past, decoder_merged)", part);
        return NULL;
    }
    hfo_t5_config c;
    if (fill_t5_config(st, graph_obj, g, cfg, &c) < 0)
        return NULL;

    static const char *const prefixes[] = {"", NULL};
    dict_source src = {.graph_obj = graph_obj, .weights = weights};
    hfo_weights *w = hfo_weights_new(g, dict_lookup, &src, prefixes);
    hfo_value **caches = NULL;
    PyObject *result = PyDict_New();
    if (w == NULL || result == NULL)
        goto error;
    hfo_t5 m;
    if (hfo_t5_init(&m, g, w, &c) < 0)
        goto error;
    if ((pooling_name != NULL || !declare) && !encoder) {
        PyErr_Format(st->UnsupportedModelError, "pooling and custom heads apply to T5's encoder only, not '%s'", part);
        goto error;
    }
    hfo_pool_kind pool_kind = HFO_POOL_MEAN;
    if (pooling_name != NULL && hfo_pool_from_name(g, pooling_name, &pool_kind) < 0)
        goto error;
    if (encoder) {
        hfo_dim dims[3] = {HFO_DIM_SYM("batch_size"), HFO_DIM_SYM("encoder_sequence_length"), HFO_DIM(c.d_model)};
        hfo_dim pooled[2] = {HFO_DIM_SYM("batch_size"), HFO_DIM(c.d_model)};
        hfo_value *h = hfo_t5_encoder(&m);
        hfo_value *mask = hfo_graph_find(g, "attention_mask");
        if (h == NULL)
            goto error;
        if (!declare) {   /* for a custom head: the states and the inputs, nothing declared */
            const char *names[3] = {"last_hidden_state", "input_ids", "attention_mask"};
            hfo_value *vals[3] = {h, hfo_graph_find(g, "input_ids"), mask};
            for (int i = 0; i < 3; i++) {
                PyObject *val = hfo_py_value_new(graph_obj, vals[i]);
                if (val == NULL || PyDict_SetItemString(result, names[i], val) < 0) {
                    Py_XDECREF(val);
                    goto error;
                }
                Py_DECREF(val);
            }
            goto done;
        }
        if (t5_output(graph_obj, g, result, h, "last_hidden_state", 3, dims) < 0)
            goto error;
        if (pooling_name != NULL
            && t5_output(graph_obj, g, result, hfo_pool_tokens(g, pool_kind, h, mask), "sentence_embedding",
                         2, pooled) < 0)
            goto error;
        goto done;
    }
    /* per layer value arrays: inputs, outputs, a second output set for the merged
     * decoder's other branch, and the merged If's outputs */
    size_t n = (size_t)c.num_decoder_layers;
    caches = PyMem_Calloc(12 * n + 1 + 4 * n, sizeof *caches);
    if (caches == NULL) {
        PyErr_NoMemory();
        goto error;
    }
    hfo_t5_decoder_in in = {.self_key = caches, .self_value = caches + n,
                            .cross_key = caches + 2 * n, .cross_value = caches + 3 * n};
    hfo_t5_decoder_out out = {.self_key = caches + 4 * n, .self_value = caches + 5 * n,
                              .cross_key = caches + 6 * n, .cross_value = caches + 7 * n};
    if (merged) {
        hfo_t5_decoder_out other = {.self_key = caches + 8 * n, .self_value = caches + 9 * n,
                                    .cross_key = caches + 10 * n, .cross_value = caches + 11 * n};
        hfo_value **ifs = caches + 12 * n;   /* logits, then 4 per layer */
        if (hfo_t5_decoder_merged(&m, &in, &out, &other, ifs) < 0)
            goto error;
        out.logits = ifs[0];
        for (size_t i = 0; i < n; i++) {
            out.self_key[i] = ifs[1 + 4 * i];
            out.self_value[i] = ifs[2 + 4 * i];
            out.cross_key[i] = ifs[3 + 4 * i];
            out.cross_value[i] = ifs[4 + 4 * i];
        }
    } else if (hfo_t5_decoder(&m, with_past, &in, &out) < 0) {
        goto error;
    }
    hfo_dim logits_dims[3] = {HFO_DIM_SYM("batch_size"), HFO_DIM_SYM("decoder_sequence_length"),
                              HFO_DIM(c.vocab_size)};
    hfo_dim self_dims[4] = {HFO_DIM_SYM("batch_size"), HFO_DIM(c.num_heads),
                            HFO_DIM_SYM(with_past || merged ? "total_decoder_sequence_length"
                                                            : "decoder_sequence_length"),
                            HFO_DIM(c.d_kv)};
    hfo_dim cross_dims[4] = {HFO_DIM_SYM("batch_size"), HFO_DIM(c.num_heads),
                             HFO_DIM_SYM("encoder_sequence_length"), HFO_DIM(c.d_kv)};
    if (t5_output(graph_obj, g, result, out.logits, "logits", 3, logits_dims) < 0)
        goto error;
    char name[96];
    for (size_t i = 0; i < n; i++) {
        snprintf(name, sizeof name, "present.%zu.decoder.key", i);
        if (t5_output(graph_obj, g, result, out.self_key[i], name, 4, self_dims) < 0)
            goto error;
        snprintf(name, sizeof name, "present.%zu.decoder.value", i);
        if (t5_output(graph_obj, g, result, out.self_value[i], name, 4, self_dims) < 0)
            goto error;
        if (with_past)
            continue;
        snprintf(name, sizeof name, "present.%zu.encoder.key", i);
        if (t5_output(graph_obj, g, result, out.cross_key[i], name, 4, cross_dims) < 0)
            goto error;
        snprintf(name, sizeof name, "present.%zu.encoder.value", i);
        if (t5_output(graph_obj, g, result, out.cross_value[i], name, 4, cross_dims) < 0)
            goto error;
    }
    goto done;

error:
    Py_CLEAR(result);
    if (PyErr_Occurred())
        hfo_graph_clear_error(g);
    else
        hfo_py_graph_raise(graph_obj);
done:
    PyMem_Free(caches);
    hfo_weights_free(w);
    return result;
}

static PyMethodDef export_methods[] = {
    {"build_bert", (PyCFunction)(void (*)(void))build_bert, METH_VARARGS | METH_KEYWORDS,
     build_bert_doc},
    {"build_t5", (PyCFunction)(void (*)(void))build_t5, METH_VARARGS | METH_KEYWORDS,
     build_t5_doc},
    {NULL, NULL, 0, NULL},
};

int hfo_py_export_exec(PyObject *module)
{
    return PyModule_AddFunctions(module, export_methods);
}
