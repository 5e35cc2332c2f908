/* glue.h: shared declarations of the CPython/numpy glue layer.
 *
 * Only files under csrc/glue/ include Python.h or numpy; the engines under
 * csrc/graph/, csrc/models/ and csrc/tok/ are Python-free.
 *
 * Each subsystem's glue file exports one `hfo_py_<subsystem>_exec(module)`
 * that adds its types and functions to the module; module.c calls them in
 * its exec slot.  Exceptions come from hfonnx/errors.py (one hierarchy,
 * defined in Python so users can read and subclass it) and are kept in the
 * module state.
 *
 *     hfo_py_state *st = hfo_py_state_of_type(Py_TYPE(self));
 *     PyErr_SetString(st->GraphError, "unknown op 'Foo'");
 */
#ifndef HFO_GLUE_H
#define HFO_GLUE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* numpy's C API table is defined once (module.c) and shared by every glue file. */
#define PY_ARRAY_UNIQUE_SYMBOL hfo_numpy_api
#ifndef HFO_GLUE_DEFINES_NUMPY
#define NO_IMPORT_ARRAY
#endif
#include <numpy/arrayobject.h>

typedef struct hfo_py_state {
    PyObject *HfonnxError;      /* base of everything we raise */
    PyObject *TokenizerError;   /* bad tokenizer files or arguments */
    PyObject *GraphError;       /* builder misuse: op, attribute, dtype */
    PyObject *WeightError;      /* missing or misshaped weights (also KeyError) */
    PyObject *UnsupportedModelError; /* config we cannot export */
    PyObject *ExportError;      /* writing the ONNX file failed */
    PyObject *graph_type;       /* hfonnx.Graph */
    PyObject *value_type;       /* hfonnx.Value */
    PyObject *store_type;       /* hfonnx.ExternalData */
    PyObject *tokenizer_type;   /* the C tokenizer core type */
    PyObject *encodings_type;   /* _Encodings: the engine's encodings of one call */
} hfo_py_state;

extern PyModuleDef hfo_py_module_def;

/* State of our module, from the module object or one of its heap types. */
hfo_py_state *hfo_py_state_of_module(PyObject *module);
hfo_py_state *hfo_py_state_of_type(PyTypeObject *type);

/* Subsystem exec functions: 0 on success, -1 with an exception set. */
int hfo_py_graph_exec(PyObject *module);
int hfo_py_export_exec(PyObject *module);
int hfo_py_tokenizer_exec(PyObject *module);
int hfo_py_t5_exec(PyObject *module);      /* py_tok_t5.c: SentencePiece/Unigram stages */

/* The engine tokenizer inside a _TokenizerCore (borrowed; NULL with
 * TypeError set when obj is not an initialised core). */
struct hfo_tok;
struct hfo_tok *hfo_py_core_tok(PyObject *obj);

/* ---- the Graph object (py_graph.c), for other glue files --------------- */
struct hfo_graph;
struct hfo_value;
/* The builder inside an hfonnx.Graph; borrowed.  NULL + TypeError if
 * `graph_obj` is not a Graph. */
struct hfo_graph *hfo_py_graph_get(PyObject *graph_obj);
/* Keep `obj` (e.g. a numpy array whose memory a weight borrows) alive as long
 * as the graph.  0 or -1 with an exception set. */
int hfo_py_graph_keep(PyObject *graph_obj, PyObject *obj);
/* A new reference to an hfonnx.Value for `v` of the graph; NULL on error. */
PyObject *hfo_py_value_new(PyObject *graph_obj, struct hfo_value *v);
/* Raise the Python exception matching the graph's recorded error (kind ->
 * GraphError, WeightError, UnsupportedModelError, ExportError, MemoryError),
 * clear the graph's error so it can be used again, return -1. */
int hfo_py_graph_raise(PyObject *graph_obj);

/* The hfo_dtype (graph.h) of a numpy array's elements, HFO_UNDEFINED (0)
 * when ONNX has none; bfloat16 arrays as hfonnx.weights.BFloat16Array or
 * ml_dtypes' bfloat16.  Never fails. */
int hfo_py_array_dtype(PyArrayObject *arr);

/* Subsystem traverse/clear hooks are not needed: every object we hold is in
 * hfo_py_state and module.c visits all of them. */

#endif
