/* py_graph.c: hfonnx's graph builder as Python types.
 *
 *   _hfonnx.Graph  wraps an hfo_graph; keeps alive every numpy array whose
 *                  memory a weight borrows.
 *   _hfonnx.Value  one value of a graph (holds the graph); arithmetic
 *                  operators add nodes (a + b -> Add, a @ b -> MatMul).
 *
 * Errors recorded by the core are raised as the matching hfonnx.errors class
 * and then cleared, so a Graph stays usable after a caught mistake.
 */
#include "glue.h"
#include "graph/graph.h"

#include <string.h>

typedef struct {
    PyObject_HEAD
    hfo_graph *g;
    PyObject *keep;        /* list of objects whose memory the graph borrows (shared with subgraphs) */
    PyObject *root;        /* a subgraph: the main graph's object, which owns g; NULL for a main graph */
    int busy;              /* main graph: a save is running with the GIL released */
} GraphObject;

/* A save runs without the GIL; the graph must not change under it. */
static int graph_check_idle(PyObject *graph_obj)
{
    GraphObject *g = (GraphObject *)graph_obj;
    GraphObject *root = (GraphObject *)(g->root ? g->root : graph_obj);
    if (!root->busy)
        return 0;
    PyErr_SetString(PyExc_RuntimeError, "the graph is being saved by another thread; wait for save() to return");
    return -1;
}

typedef struct {
    PyObject_HEAD
    PyObject *graph;       /* GraphObject */
    hfo_value *v;
} ValueObject;

/* ---- helpers ------------------------------------------------------------ */

static int is_graph(PyObject *o)
{
    PyObject *module = PyType_GetModuleByDef(Py_TYPE(o), &hfo_py_module_def);
    if (module == NULL) {
        PyErr_Clear();
        return 0;
    }
    hfo_py_state *st = hfo_py_state_of_module(module);
    return PyObject_TypeCheck(o, (PyTypeObject *)st->graph_type);
}

hfo_graph *hfo_py_graph_get(PyObject *graph_obj)
{
    if (graph_obj == NULL || !is_graph(graph_obj)) {
        PyErr_Format(PyExc_TypeError, "expected an hfonnx.Graph, got %s",
                     graph_obj ? Py_TYPE(graph_obj)->tp_name : "NULL");
        return NULL;
    }
    if (graph_check_idle(graph_obj) < 0)
        return NULL;
    return ((GraphObject *)graph_obj)->g;
}

int hfo_py_graph_keep(PyObject *graph_obj, PyObject *obj)
{
    if (hfo_py_graph_get(graph_obj) == NULL)
        return -1;
    return PyList_Append(((GraphObject *)graph_obj)->keep, obj);
}

int hfo_py_graph_raise(PyObject *graph_obj)
{
    GraphObject *self = (GraphObject *)graph_obj;
    hfo_py_state *st = hfo_py_state_of_type(Py_TYPE(graph_obj));
    if (st == NULL)
        return -1;
    PyObject *cls;
    switch (hfo_graph_error_kind(self->g)) {
    case HFO_GRAPH_ERR_NOMEM: cls = PyExc_MemoryError; break;
    case HFO_GRAPH_ERR_WEIGHT: cls = st->WeightError; break;
    case HFO_GRAPH_ERR_UNSUPPORTED: cls = st->UnsupportedModelError; break;
    case HFO_GRAPH_ERR_IO: cls = st->ExportError; break;
    default: cls = st->GraphError; break;
    }
    PyErr_SetString(cls, hfo_graph_error(self->g)[0] ? hfo_graph_error(self->g) : "graph error");
    hfo_graph_clear_error(self->g);
    return -1;
}

PyObject *hfo_py_value_new(PyObject *graph_obj, hfo_value *v)
{
    hfo_py_state *st = hfo_py_state_of_type(Py_TYPE(graph_obj));
    if (st == NULL)
        return NULL;
    if (v == NULL) {
        hfo_py_graph_raise(graph_obj);
        return NULL;
    }
    PyTypeObject *tp = (PyTypeObject *)st->value_type;
    ValueObject *self = (ValueObject *)tp->tp_alloc(tp, 0);
    if (self == NULL)
        return NULL;
    self->graph = Py_NewRef(graph_obj);
    self->v = v;
    return (PyObject *)self;
}

static int is_value(PyObject *o)
{
    PyObject *module = PyType_GetModuleByDef(Py_TYPE(o), &hfo_py_module_def);
    if (module == NULL) {
        PyErr_Clear();
        return 0;
    }
    return PyObject_TypeCheck(o, (PyTypeObject *)hfo_py_state_of_module(module)->value_type);
}

/* dtype from a str ("float32"), a numpy dtype or a numpy scalar type. */
static int to_dtype(PyObject *o, hfo_dtype *out)
{
    if (PyUnicode_Check(o)) {
        const char *s = PyUnicode_AsUTF8(o);
        if (s == NULL)
            return -1;
        *out = hfo_dtype_from_name(s);
        if (*out == HFO_UNDEFINED) {
            PyErr_Format(PyExc_ValueError, "unknown dtype '%s' (use e.g. 'float32', 'int64', 'bool')", s);
            return -1;
        }
        return 0;
    }
    PyArray_Descr *d = NULL;
    if (!PyArray_DescrConverter(o, &d))
        return -1;
    PyObject *name = PyObject_GetAttrString((PyObject *)d, "name");
    Py_DECREF(d);
    if (name == NULL)
        return -1;
    const char *s = PyUnicode_AsUTF8(name);
    *out = s ? hfo_dtype_from_name(s) : HFO_UNDEFINED;
    if (s != NULL && *out == HFO_UNDEFINED)
        PyErr_Format(PyExc_ValueError, "dtype %s has no ONNX equivalent", s);
    Py_DECREF(name);
    return *out == HFO_UNDEFINED ? -1 : 0;
}

static int array_dtype(PyArrayObject *a, hfo_dtype *out)
{
    return to_dtype((PyObject *)PyArray_DESCR(a), out);   /* borrowed: to_dtype takes its own reference */
}

/* Shape from None (unknown rank) or a sequence of int | str | None. */
static int to_dims(PyObject *shape, int *rank, hfo_dim *dims, PyObject **keep_strs)
{
    *keep_strs = NULL;
    if (shape == NULL || shape == Py_None) {
        *rank = -1;
        return 0;
    }
    PyObject *seq = PySequence_Fast(shape, "shape must be a sequence of int, str or None");
    if (seq == NULL)
        return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    if (n > HFO_MAX_RANK) {
        PyErr_Format(PyExc_ValueError, "shape has %zd dimensions; at most %d are supported", n, HFO_MAX_RANK);
        Py_DECREF(seq);
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *d = PySequence_Fast_GET_ITEM(seq, i);
        if (d == Py_None) {
            dims[i] = HFO_DIM_ANY;
        } else if (PyUnicode_Check(d)) {
            const char *s = PyUnicode_AsUTF8(d);
            if (s == NULL) {
                Py_DECREF(seq);
                return -1;
            }
            dims[i] = HFO_DIM_SYM(s);   /* copied by the core; seq keeps s alive meanwhile */
        } else {
            long long v = PyLong_AsLongLong(d);
            if (v == -1 && PyErr_Occurred()) {
                PyErr_Format(PyExc_TypeError, "shape[%zd] must be an int, a str or None", i);
                Py_DECREF(seq);
                return -1;
            }
            if (v < 0) {
                PyErr_Format(PyExc_ValueError, "shape[%zd] is negative (%lld)", i, v);
                Py_DECREF(seq);
                return -1;
            }
            dims[i] = HFO_DIM(v);
        }
    }
    *rank = (int)n;
    *keep_strs = seq;
    return 0;
}

static PyObject *dims_to_tuple(const hfo_value *v)
{
    if (v->rank < 0)
        Py_RETURN_NONE;
    PyObject *t = PyTuple_New(v->rank);
    if (t == NULL)
        return NULL;
    for (int i = 0; i < v->rank; i++) {
        PyObject *d;
        if (v->dims[i].param)
            d = PyUnicode_FromString(v->dims[i].param);
        else if (v->dims[i].size >= 0)
            d = PyLong_FromLongLong(v->dims[i].size);
        else
            d = Py_NewRef(Py_None);
        if (d == NULL) {
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SET_ITEM(t, i, d);
    }
    return t;
}

/* ---- Graph ---------------------------------------------------------------- */

static PyObject *graph_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"name", "opset", NULL};
    const char *name = "graph";
    int opset = HFO_DEFAULT_OPSET;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|si:Graph", kwlist, &name, &opset))
        return NULL;
    if (opset < 13 || opset > 23) {
        PyErr_Format(PyExc_ValueError, "opset %d is not supported; use 13 to 23 (default %d)",
                     opset, HFO_DEFAULT_OPSET);
        return NULL;
    }
    GraphObject *self = (GraphObject *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->keep = PyList_New(0);
    self->g = hfo_graph_new(name, opset);
    if (self->keep == NULL || self->g == NULL) {
        Py_DECREF(self);
        return PyErr_Occurred() ? NULL : PyErr_NoMemory();
    }
    return (PyObject *)self;
}

static int graph_traverse(GraphObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->keep);
    Py_VISIT(self->root);
    return 0;
}

static int graph_clear(GraphObject *self)
{
    Py_CLEAR(self->keep);
    return 0;
}

static void graph_dealloc(GraphObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    if (self->root == NULL)
        hfo_graph_free(self->g);   /* subgraphs are the main graph's */
    self->g = NULL;
    graph_clear(self);
    Py_CLEAR(self->root);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

/* The main graph object of a graph object (itself when it is one). */
static PyObject *root_of(PyObject *graph_obj)
{
    GraphObject *g = (GraphObject *)graph_obj;
    return g->root ? g->root : graph_obj;
}

static hfo_value *value_of(GraphObject *self, PyObject *o, const char *what)
{
    if (!is_value(o)) {
        PyErr_Format(PyExc_TypeError, "%s must be an hfonnx.Value, got %s", what, Py_TYPE(o)->tp_name);
        return NULL;
    }
    ValueObject *v = (ValueObject *)o;
    if (root_of(v->graph) != root_of((PyObject *)self)) {   /* scopes are checked by the core */
        PyErr_Format(PyExc_ValueError, "%s ('%s') belongs to another graph", what, v->v->name);
        return NULL;
    }
    return v->v;
}

static PyObject *graph_input(GraphObject *self, PyObject *args, PyObject *kwds)
{
    if (graph_check_idle((PyObject *)self) < 0)
        return NULL;
    static char *kwlist[] = {"name", "dtype", "shape", NULL};
    const char *name;
    PyObject *dtype_obj, *shape = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "sO|O:input", kwlist, &name, &dtype_obj, &shape))
        return NULL;
    hfo_dtype dt;
    int rank;
    hfo_dim dims[HFO_MAX_RANK];
    PyObject *keep;
    if (to_dtype(dtype_obj, &dt) < 0 || to_dims(shape, &rank, dims, &keep) < 0)
        return NULL;
    hfo_value *v = hfo_graph_input(self->g, name, dt, rank, dims);
    Py_XDECREF(keep);
    return hfo_py_value_new((PyObject *)self, v);
}

/* Borrow a C-contiguous array (a contiguous copy is made and kept if needed). */
static PyArrayObject *contiguous_array(PyObject *o)
{
    /* native byte order too: ONNX's raw_data is little-endian and so is this host */
    PyObject *a = PyArray_FROM_OF(o, NPY_ARRAY_C_CONTIGUOUS | NPY_ARRAY_ALIGNED | NPY_ARRAY_NOTSWAPPED);
    return (PyArrayObject *)a;
}

static PyObject *graph_initializer(GraphObject *self, PyObject *args, PyObject *kwds)
{
    if (graph_check_idle((PyObject *)self) < 0)
        return NULL;
    static char *kwlist[] = {"name", "array", "transpose", "dtype", "source_dtype", NULL};
    const char *name;
    PyObject *array_obj, *dtype_obj = Py_None, *src_obj = Py_None;
    int transpose = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "sO|pOO:initializer", kwlist, &name, &array_obj,
                                     &transpose, &dtype_obj, &src_obj))
        return NULL;
    PyArrayObject *a = contiguous_array(array_obj);
    if (a == NULL)
        return NULL;
    hfo_dtype src, dt;
    if (src_obj != Py_None) {   /* e.g. "bfloat16" for a uint16 array of bf16 bits */
        if (to_dtype(src_obj, &src) < 0)
            goto error;
        hfo_dtype held;
        if (array_dtype(a, &held) < 0)
            goto error;
        if (hfo_dtype_size(held) != hfo_dtype_size(src)) {
            PyErr_Format(PyExc_ValueError, "initializer '%s': source_dtype %s does not match the array's %s",
                         name, hfo_dtype_name(src), hfo_dtype_name(held));
            goto error;
        }
    } else if ((src = (hfo_dtype)hfo_py_array_dtype(a)) == HFO_UNDEFINED) {
        PyErr_Format(PyExc_ValueError, "initializer '%s': numpy dtype %R has no ONNX equivalent",
                     name, (PyObject *)PyArray_DESCR(a));
        goto error;
    }
    dt = src;
    if (dtype_obj != Py_None && to_dtype(dtype_obj, &dt) < 0)
        goto error;
    int rank = PyArray_NDIM(a);
    if (rank > HFO_MAX_RANK) {
        PyErr_Format(PyExc_ValueError, "initializer '%s' has %d dimensions; at most %d", name, rank, HFO_MAX_RANK);
        goto error;
    }
    int64_t shape[HFO_MAX_RANK];
    for (int i = 0; i < rank; i++)
        shape[i] = PyArray_DIM(a, i);
    /* kept alive before the graph points into it */
    if (PyList_Append(self->keep, (PyObject *)a) < 0)
        goto error;
    hfo_value *v = hfo_graph_weight(self->g, name, dt, rank, shape, PyArray_DATA(a), src,
                                    transpose ? HFO_XFORM_TRANSPOSE : HFO_XFORM_NONE);
    if (v == NULL) {
        hfo_py_graph_raise((PyObject *)self);
        goto error;   /* `a` stays in keep: harmless, and freed with the graph */
    }
    Py_DECREF(a);
    return hfo_py_value_new((PyObject *)self, v);
error:
    Py_DECREF(a);
    return NULL;
}

/* A shared constant from a numpy array, a Python scalar or a list.
 * `like` (may be HFO_UNDEFINED) is the dtype Python scalars take. */
static hfo_value *make_constant(GraphObject *self, PyObject *obj, PyObject *dtype_obj, hfo_dtype like)
{
    PyArray_Descr *descr = NULL;
    hfo_dtype dt = HFO_UNDEFINED;
    if (dtype_obj != NULL && dtype_obj != Py_None) {
        if (to_dtype(dtype_obj, &dt) < 0)
            return NULL;
    } else if (!PyArray_Check(obj) && like != HFO_UNDEFINED
               && (PyFloat_Check(obj) || PyLong_Check(obj) || PyBool_Check(obj))) {
        dt = like;
    } else if (!PyArray_Check(obj)) {
        PyObject *probe = PyArray_FROM_O(obj);
        if (probe == NULL)
            return NULL;
        int t = PyArray_TYPE((PyArrayObject *)probe);
        dt = PyArray_ISFLOAT((PyArrayObject *)probe) ? HFO_FLOAT
            : (t == NPY_BOOL ? HFO_BOOL : (PyArray_ISINTEGER((PyArrayObject *)probe) ? HFO_INT64 : HFO_UNDEFINED));
        Py_DECREF(probe);
        if (dt == HFO_UNDEFINED) {
            PyErr_Format(PyExc_TypeError, "cannot make a constant from %s", Py_TYPE(obj)->tp_name);
            return NULL;
        }
    }
    if (dt != HFO_UNDEFINED) {
        static const struct { hfo_dtype dt; int npy; } map[] = {
            {HFO_FLOAT, NPY_FLOAT32}, {HFO_DOUBLE, NPY_FLOAT64}, {HFO_FLOAT16, NPY_FLOAT16},
            {HFO_INT64, NPY_INT64}, {HFO_INT32, NPY_INT32}, {HFO_INT16, NPY_INT16}, {HFO_INT8, NPY_INT8},
            {HFO_UINT8, NPY_UINT8}, {HFO_UINT16, NPY_UINT16}, {HFO_UINT32, NPY_UINT32},
            {HFO_UINT64, NPY_UINT64}, {HFO_BOOL, NPY_BOOL},
        };
        for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
            if (map[i].dt == dt)
                descr = PyArray_DescrFromType(map[i].npy);
        if (descr == NULL) {
            PyErr_Format(PyExc_ValueError, "constants of dtype %s are not supported", hfo_dtype_name(dt));
            return NULL;
        }
    }
    /* PyArray_CheckFromAny steals descr; NOTSWAPPED gives native order even without one */
    PyArrayObject *a = (PyArrayObject *)PyArray_CheckFromAny(obj, descr, 0, 0,
                                                        NPY_ARRAY_C_CONTIGUOUS | NPY_ARRAY_ALIGNED | NPY_ARRAY_FORCECAST
                                                        | NPY_ARRAY_NOTSWAPPED, NULL);
    if (a == NULL)
        return NULL;
    if (dt == HFO_UNDEFINED && (dt = (hfo_dtype)hfo_py_array_dtype(a)) == HFO_UNDEFINED) {
        PyErr_Format(PyExc_ValueError, "numpy dtype %R has no ONNX equivalent", (PyObject *)PyArray_DESCR(a));
        Py_DECREF(a);
        return NULL;
    }
    int rank = PyArray_NDIM(a);
    int64_t shape[HFO_MAX_RANK];
    if (rank > HFO_MAX_RANK) {
        PyErr_SetString(PyExc_ValueError, "constant has too many dimensions");
        Py_DECREF(a);
        return NULL;
    }
    for (int i = 0; i < rank; i++)
        shape[i] = PyArray_DIM(a, i);
    hfo_value *v = hfo_const(self->g, dt, rank, shape, PyArray_DATA(a));
    Py_DECREF(a);
    if (v == NULL)
        hfo_py_graph_raise((PyObject *)self);
    return v;
}

static PyObject *graph_constant(GraphObject *self, PyObject *args, PyObject *kwds)
{
    if (graph_check_idle((PyObject *)self) < 0)
        return NULL;
    static char *kwlist[] = {"value", "dtype", NULL};
    PyObject *obj, *dtype_obj = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|O:constant", kwlist, &obj, &dtype_obj))
        return NULL;
    hfo_value *v = make_constant(self, obj, dtype_obj, HFO_UNDEFINED);
    return v ? hfo_py_value_new((PyObject *)self, v) : NULL;
}

/* Convert a Python attribute value to the type the op's schema declares
 * (or, for ops we do not know, to the type its Python value suggests).
 * Strings and arrays are kept alive by `keep` until the node is added. */
static int to_attr(GraphObject *self, const char *op, const char *domain, const char *name,
                   PyObject *val, hfo_attr *a, PyObject *keep)
{
    memset(a, 0, sizeof *a);
    a->name = name;
    hfo_attr_type want = hfo_op_attr_type(op, domain, name);
    if (want == HFO_ATTR_UNDEFINED) {
        if (hfo_op_known(op, domain) && (domain == NULL || domain[0] == '\0')) {
            a->type = HFO_ATTR_INT;   /* let the core report the unknown attribute */
            return 0;
        }
        if (PyBool_Check(val) || PyLong_Check(val)) want = HFO_ATTR_INT;
        else if (PyFloat_Check(val)) want = HFO_ATTR_FLOAT;
        else if (PyUnicode_Check(val) || PyBytes_Check(val)) want = HFO_ATTR_STRING;
        else if (PyArray_Check(val) || is_value(val)) want = HFO_ATTR_TENSOR;
        else if (is_graph(val)) want = HFO_ATTR_GRAPH;
        else if (PySequence_Check(val)) {
            Py_ssize_t n = PySequence_Size(val);
            if (n < 0)
                return -1;
            PyObject *first = n > 0 ? PySequence_GetItem(val, 0) : NULL;
            if (n > 0 && first == NULL)
                return -1;
            want = first == NULL || PyLong_Check(first) ? HFO_ATTR_INTS
                 : PyFloat_Check(first) ? HFO_ATTR_FLOATS : HFO_ATTR_STRINGS;
            Py_XDECREF(first);
        } else {
            PyErr_Format(PyExc_TypeError, "attribute '%s': cannot store a %s", name, Py_TYPE(val)->tp_name);
            return -1;
        }
    }
    a->type = want;
    hfo_py_state *st = hfo_py_state_of_type(Py_TYPE(self));
    switch (want) {
    case HFO_ATTR_INT:
        if (!PyLong_Check(val)) {
            PyErr_Format(st->GraphError, "%s attribute '%s' must be an int, got %s", op, name, Py_TYPE(val)->tp_name);
            return -1;
        }
        a->i = PyLong_AsLongLong(val);
        return a->i == -1 && PyErr_Occurred() ? -1 : 0;
    case HFO_ATTR_FLOAT:
        if (!PyFloat_Check(val) && !PyLong_Check(val)) {
            PyErr_Format(st->GraphError, "%s attribute '%s' must be a float, got %s", op, name, Py_TYPE(val)->tp_name);
            return -1;
        }
        a->f = (float)PyFloat_AsDouble(val);
        return PyErr_Occurred() ? -1 : 0;
    case HFO_ATTR_STRING:
        if (!PyUnicode_Check(val)) {
            PyErr_Format(st->GraphError, "%s attribute '%s' must be a str, got %s", op, name, Py_TYPE(val)->tp_name);
            return -1;
        }
        a->s = PyUnicode_AsUTF8(val);
        return a->s ? 0 : -1;
    case HFO_ATTR_TENSOR: {
        hfo_value *v;
        if (is_value(val)) {
            v = value_of(self, val, "tensor attribute");
        } else if (PyArray_Check(val) || PyNumber_Check(val) || PySequence_Check(val)) {
            v = make_constant(self, val, NULL, HFO_UNDEFINED);
        } else {
            PyErr_Format(st->GraphError, "%s attribute '%s' must be an array, got %s", op, name, Py_TYPE(val)->tp_name);
            return -1;
        }
        if (v == NULL)
            return -1;
        a->tensor = v;
        return 0;
    }
    case HFO_ATTR_GRAPH:
        if (!is_graph(val) || ((GraphObject *)val)->root == NULL
            || root_of(val) != root_of((PyObject *)self)) {
            PyErr_Format(st->GraphError, "%s attribute '%s' must be a subgraph of this graph "
                         "(made with graph.subgraph(name)), got %s", op, name, Py_TYPE(val)->tp_name);
            return -1;
        }
        a->graph = ((GraphObject *)val)->g;
        return 0;
    case HFO_ATTR_INTS:
    case HFO_ATTR_FLOATS:
    case HFO_ATTR_STRINGS: {
        if (PyUnicode_Check(val) || !PySequence_Check(val)) {
            PyErr_Format(st->GraphError, "%s attribute '%s' must be a list, got %s", op, name, Py_TYPE(val)->tp_name);
            return -1;
        }
        PyObject *seq = PySequence_Fast(val, "attribute must be a sequence");
        if (seq == NULL || PyList_Append(keep, seq) < 0) {
            Py_XDECREF(seq);
            return -1;
        }
        Py_DECREF(seq);   /* kept alive by `keep` */
        Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
        size_t es = want == HFO_ATTR_INTS ? sizeof(int64_t) : want == HFO_ATTR_FLOATS ? sizeof(float) : sizeof(char *);
        PyObject *mem = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(es * (size_t)(n ? n : 1)));
        if (mem == NULL || PyList_Append(keep, mem) < 0) {
            Py_XDECREF(mem);
            return -1;
        }
        Py_DECREF(mem);
        char *buf = PyBytes_AS_STRING(mem);
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *it = PySequence_Fast_GET_ITEM(seq, i);
            if (want == HFO_ATTR_INTS) {
                if (!PyLong_Check(it)) {
                    PyErr_Format(st->GraphError, "%s attribute '%s' must be a list of ints; item %zd is %s",
                                 op, name, i, Py_TYPE(it)->tp_name);
                    return -1;
                }
                ((int64_t *)buf)[i] = PyLong_AsLongLong(it);
            } else if (want == HFO_ATTR_FLOATS) {
                if (!PyFloat_Check(it) && !PyLong_Check(it)) {
                    PyErr_Format(st->GraphError, "%s attribute '%s' must be a list of floats; item %zd is %s",
                                 op, name, i, Py_TYPE(it)->tp_name);
                    return -1;
                }
                ((float *)buf)[i] = (float)PyFloat_AsDouble(it);
            } else {
                const char *s = PyUnicode_Check(it) ? PyUnicode_AsUTF8(it) : NULL;
                if (s == NULL) {
                    if (!PyErr_Occurred())
                        PyErr_Format(st->GraphError, "%s attribute '%s' must be a list of str; item %zd is %s",
                                     op, name, i, Py_TYPE(it)->tp_name);
                    return -1;
                }
                ((const char **)buf)[i] = s;
            }
            if (PyErr_Occurred())
                return -1;
        }
        a->n = (size_t)n;
        if (want == HFO_ATTR_INTS) a->ints = (const int64_t *)buf;
        else if (want == HFO_ATTR_FLOATS) a->floats = (const float *)buf;
        else a->strings = (const char *const *)buf;
        return 0;
    }
    default:
        PyErr_Format(st->GraphError, "%s attribute '%s': unsupported attribute kind", op, name);
        return -1;
    }
}

/* graph.op(op_type, *inputs, name=None, domain=None, outputs=None, **attributes) */
static PyObject *graph_op(GraphObject *self, PyObject *args, PyObject *kwds)
{
    if (graph_check_idle((PyObject *)self) < 0)
        return NULL;
    Py_ssize_t nargs = PyTuple_GET_SIZE(args);
    if (nargs < 1 || !PyUnicode_Check(PyTuple_GET_ITEM(args, 0))) {
        PyErr_SetString(PyExc_TypeError, "op() needs the op type (a str) first, e.g. g.op('MatMul', a, b)");
        return NULL;
    }
    const char *op = PyUnicode_AsUTF8(PyTuple_GET_ITEM(args, 0));
    if (op == NULL)
        return NULL;
    const char *name = NULL, *domain = NULL;
    Py_ssize_t n_out = -1;
    size_t n_in = (size_t)(nargs - 1), n_attr = 0;
    hfo_value **in = NULL;
    hfo_attr *attrs = NULL;
    PyObject *keep = PyList_New(0), *result = NULL;
    if (keep == NULL)
        return NULL;
    Py_ssize_t n_kw = kwds ? PyDict_Size(kwds) : 0;
    in = PyMem_Calloc(n_in + 1, sizeof *in);
    attrs = PyMem_Calloc((size_t)n_kw + 1, sizeof *attrs);
    if (in == NULL || attrs == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    /* keyword options first: domain matters for attribute conversion */
    if (kwds) {
        PyObject *k, *v;
        Py_ssize_t pos = 0;
        while (PyDict_Next(kwds, &pos, &k, &v)) {
            const char *key = PyUnicode_AsUTF8(k);
            if (key == NULL)
                goto done;
            if (strcmp(key, "name") == 0 && v != Py_None) {
                if ((name = PyUnicode_AsUTF8(v)) == NULL)
                    goto done;
            } else if (strcmp(key, "domain") == 0 && v != Py_None) {
                if ((domain = PyUnicode_AsUTF8(v)) == NULL)
                    goto done;
            } else if (strcmp(key, "outputs") == 0 && v != Py_None) {
                n_out = PyLong_AsSsize_t(v);
                if (n_out == -1 && PyErr_Occurred())
                    goto done;
                if (n_out < 1) {
                    PyErr_SetString(PyExc_ValueError, "outputs must be at least 1");
                    goto done;
                }
            }
        }
        pos = 0;
        while (PyDict_Next(kwds, &pos, &k, &v)) {
            const char *key = PyUnicode_AsUTF8(k);
            if (strcmp(key, "name") == 0 || strcmp(key, "domain") == 0 || strcmp(key, "outputs") == 0)
                continue;
            if (to_attr(self, op, domain, key, v, &attrs[n_attr], keep) < 0)
                goto done;
            n_attr++;
        }
    }
    /* the dtype Python numbers take: that of the first Value input */
    hfo_dtype like = HFO_UNDEFINED;
    for (size_t i = 0; i < n_in && like == HFO_UNDEFINED; i++) {
        PyObject *o = PyTuple_GET_ITEM(args, (Py_ssize_t)i + 1);
        if (is_value(o) && root_of(((ValueObject *)o)->graph) == root_of((PyObject *)self))
            like = ((ValueObject *)o)->v->dtype;
    }
    for (size_t i = 0; i < n_in; i++) {
        PyObject *o = PyTuple_GET_ITEM(args, (Py_ssize_t)i + 1);
        if (o == Py_None) {
            in[i] = HFO_NO_INPUT;
        } else if (is_value(o)) {
            char what[64];
            snprintf(what, sizeof what, "input %zu", i);
            if ((in[i] = value_of(self, o, what)) == NULL)
                goto done;
        } else if (PyArray_Check(o) || PyArray_IsAnyScalar(o) || PyFloat_Check(o) || PyLong_Check(o)
                   || PyList_Check(o) || PyTuple_Check(o)) {
            if ((in[i] = make_constant(self, o, NULL, like)) == NULL)
                goto done;
        } else {
            PyErr_Format(PyExc_TypeError, "%s input %zu must be an hfonnx.Value, None, a number or an array, got %s",
                         op, i, Py_TYPE(o)->tp_name);
            goto done;
        }
    }
    for (size_t k = 0; n_out < 0 && k < n_attr; k++)   /* If: as many outputs as its branches */
        if (attrs[k].type == HFO_ATTR_GRAPH && strcmp(attrs[k].name, "then_branch") == 0)
            n_out = (Py_ssize_t)hfo_graph_n_outputs(attrs[k].graph);
    if (n_out < 0)
        n_out = hfo_op_default_outputs(op, domain);
    if (n_out < 1) {
        PyErr_Format(PyExc_ValueError, "%s: say how many outputs you want with outputs=N", op);
        goto done;
    }
    hfo_value **out = hfo_op(self->g, op, domain, name, n_in, in, (size_t)n_out, n_attr, attrs);
    if (out == NULL) {
        hfo_py_graph_raise((PyObject *)self);
        goto done;
    }
    if (n_out == 1) {
        result = hfo_py_value_new((PyObject *)self, out[0]);
    } else {
        result = PyTuple_New(n_out);
        for (Py_ssize_t i = 0; result != NULL && i < n_out; i++) {
            PyObject *v = hfo_py_value_new((PyObject *)self, out[i]);
            if (v == NULL)
                Py_CLEAR(result);
            else
                PyTuple_SET_ITEM(result, i, v);
        }
    }
done:
    PyMem_Free(in);
    PyMem_Free(attrs);
    Py_DECREF(keep);
    return result;
}

static PyObject *graph_output(GraphObject *self, PyObject *args, PyObject *kwds)
{
    if (graph_check_idle((PyObject *)self) < 0)
        return NULL;
    static char *kwlist[] = {"value", "name", "shape", NULL};
    PyObject *vobj, *shape = NULL;
    const char *name = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|zO:output", kwlist, &vobj, &name, &shape))
        return NULL;
    hfo_value *v = value_of(self, vobj, "output value");
    if (v == NULL)
        return NULL;
    int rank = v->rank;
    hfo_dim dims[HFO_MAX_RANK];
    PyObject *keep = NULL;
    if (shape != NULL && to_dims(shape, &rank, dims, &keep) < 0)
        return NULL;
    hfo_value *out = hfo_graph_output(self->g, v, name, shape ? rank : -1, shape ? dims : NULL);
    Py_XDECREF(keep);
    return hfo_py_value_new((PyObject *)self, out);
}

/* ---- ExternalData: one external data file shared by several models ------- */

typedef struct {
    PyObject_HEAD
    hfo_external_store *s;
    PyObject *path;        /* str */
    PyObject *graphs;      /* the graphs saved into it: their arrays' memory is referenced */
    int state;             /* 0 open, 1 committed, 2 discarded */
    int busy;              /* a save into it is running with the GIL released */
} StoreObject;

static PyObject *store_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"path", NULL};
    PyObject *path;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O&:ExternalData", kwlist, PyUnicode_FSDecoder, &path))
        return NULL;
    PyObject *bytes = PyUnicode_EncodeFSDefault(path);
    if (bytes == NULL) {
        Py_DECREF(path);
        return NULL;
    }
    char err[1024];
    hfo_external_store *s;
    Py_BEGIN_ALLOW_THREADS
    s = hfo_external_store_open(PyBytes_AS_STRING(bytes), err, sizeof err);
    Py_END_ALLOW_THREADS
    Py_DECREF(bytes);
    if (s == NULL) {
        hfo_py_state *st = hfo_py_state_of_type(type);
        Py_DECREF(path);
        if (st != NULL)
            PyErr_SetString(st->ExportError, err);
        return NULL;
    }
    StoreObject *self = (StoreObject *)type->tp_alloc(type, 0);
    if (self == NULL || (self->graphs = PyList_New(0)) == NULL) {
        hfo_external_store_free(s);
        Py_DECREF(path);
        Py_XDECREF(self);
        return NULL;
    }
    self->s = s;
    self->path = path;
    return (PyObject *)self;
}

static int store_traverse(StoreObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->graphs);
    return 0;
}

static int store_clear(StoreObject *self)
{
    Py_CLEAR(self->graphs);
    return 0;
}

static void store_dealloc(StoreObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    hfo_external_store_free(self->s);   /* removes the file unless committed */
    self->s = NULL;
    store_clear(self);
    Py_CLEAR(self->path);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static int store_check_open(StoreObject *self)
{
    if (self->busy) {
        PyErr_Format(PyExc_RuntimeError, "external data file %R is being written by another thread", self->path);
        return -1;
    }
    if (self->state == 0)
        return 0;
    PyErr_Format(PyExc_ValueError, "external data file %R is already %s", self->path,
                 self->state == 1 ? "committed" : "discarded");
    return -1;
}

static PyObject *store_commit(StoreObject *self, PyObject *unused)
{
    (void)unused;
    if (self->state == 1)
        Py_RETURN_NONE;
    if (store_check_open(self) < 0)
        return NULL;
    char err[1024];
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = hfo_external_store_commit(self->s, err, sizeof err);
    Py_END_ALLOW_THREADS
    if (rc < 0) {
        hfo_py_state *st = hfo_py_state_of_type(Py_TYPE(self));
        if (st != NULL)
            PyErr_SetString(st->ExportError, err);
        return NULL;
    }
    self->state = 1;
    Py_RETURN_NONE;
}

static PyObject *store_discard(StoreObject *self, PyObject *unused)
{
    (void)unused;
    if (self->busy) {
        PyErr_Format(PyExc_RuntimeError, "external data file %R is being written by another thread", self->path);
        return NULL;
    }
    if (self->state == 0) {
        hfo_external_store_free(self->s);
        self->s = NULL;
        self->state = 2;
    }
    Py_RETURN_NONE;
}

static PyObject *store_enter(StoreObject *self, PyObject *unused)
{
    (void)unused;
    if (store_check_open(self) < 0)
        return NULL;
    return Py_NewRef(self);
}

static PyObject *store_exit(StoreObject *self, PyObject *args)
{
    PyObject *exc_type = PyTuple_GET_SIZE(args) > 0 ? PyTuple_GET_ITEM(args, 0) : Py_None;
    PyObject *r = exc_type == Py_None && self->state == 0 ? store_commit(self, NULL) : store_discard(self, NULL);
    if (r == NULL)
        return NULL;
    Py_DECREF(r);
    Py_RETURN_FALSE;
}

static PyObject *store_get_path(StoreObject *self, void *c) { (void)c; return Py_NewRef(self->path); }
static PyObject *store_get_size(StoreObject *self, void *c)
{
    (void)c;
    return PyLong_FromUnsignedLongLong(self->s ? hfo_external_store_size(self->s) : 0);
}

static PyMethodDef store_methods[] = {
    {"commit", (PyCFunction)store_commit, METH_NOARGS, "commit()\n\nMove the data file into place (it is written under a temporary name)."},
    {"discard", (PyCFunction)store_discard, METH_NOARGS, "discard()\n\nRemove the temporary data file."},
    {"__enter__", (PyCFunction)store_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)store_exit, METH_VARARGS, "commit on success, discard on an exception"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef store_getset[] = {
    {"path", (getter)store_get_path, NULL, "the data file's final path", NULL},
    {"size", (getter)store_get_size, NULL, "bytes of tensor data written so far", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot store_slots[] = {
    {Py_tp_new, store_new},
    {Py_tp_dealloc, store_dealloc},
    {Py_tp_traverse, store_traverse},
    {Py_tp_clear, store_clear},
    {Py_tp_methods, store_methods},
    {Py_tp_getset, store_getset},
    {Py_tp_doc, "ExternalData(path)\n\nOne external data file shared by several models saved into the same\n"
                "folder with graph.save(model_path, external_data=store): a weight already in\n"
                "the file is referenced, not written again.  Use as a context manager, or call\n"
                "commit(); without it the file is removed."},
    {0, NULL},
};

static PyType_Spec store_spec = {
    .name = "hfonnx._hfonnx.ExternalData",
    .basicsize = sizeof(StoreObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .slots = store_slots,
};

static int is_store(PyObject *o)
{
    PyObject *module = PyType_GetModuleByDef(Py_TYPE(o), &hfo_py_module_def);
    if (module == NULL) {
        PyErr_Clear();
        return 0;
    }
    return PyObject_TypeCheck(o, (PyTypeObject *)hfo_py_state_of_module(module)->store_type);
}

static PyObject *graph_save(GraphObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"path", "external_data", "external_threshold", "threads", NULL};
    PyObject *path_obj, *ext = Py_None;
    Py_ssize_t threshold = 1024;
    int threads = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O&|On$i:save", kwlist, PyUnicode_FSConverter, &path_obj,
                                     &ext, &threshold, &threads))
        return NULL;
    if (graph_check_idle((PyObject *)self) < 0) {
        Py_DECREF(path_obj);
        return NULL;
    }
    hfo_write_options opts = {.threads = threads};
    opts.external_min_bytes = threshold > 0 ? (size_t)threshold : 1;
    PyObject *ext_bytes = NULL;
    StoreObject *store = NULL;
    if (ext != Py_None && is_store(ext)) {
        store = (StoreObject *)ext;
        if (store_check_open(store) < 0) {
            Py_DECREF(path_obj);
            return NULL;
        }
        opts.store = store->s;
    } else if (ext == Py_True) {
        opts.force_external = 1;
    } else if (ext != Py_None && ext != Py_False) {
        if (!PyUnicode_FSConverter(ext, &ext_bytes)) {
            Py_DECREF(path_obj);
            return NULL;
        }
        opts.external_name = PyBytes_AS_STRING(ext_bytes);
        opts.force_external = 1;
    }
    int rc;
    GraphObject *root = (GraphObject *)root_of((PyObject *)self);
    root->busy = 1;            /* no changes, saves, commits or discards until we are back */
    if (store != NULL)
        store->busy = 1;
    Py_BEGIN_ALLOW_THREADS
    rc = hfo_graph_write(self->g, PyBytes_AS_STRING(path_obj), &opts);
    Py_END_ALLOW_THREADS
    root->busy = 0;
    if (store != NULL)
        store->busy = 0;
    Py_DECREF(path_obj);
    Py_XDECREF(ext_bytes);
    if (rc < 0)
        return hfo_py_graph_raise((PyObject *)self), NULL;
    /* the store now refers to this graph's arrays by address: keep them */
    if (store != NULL && PyList_Append(store->graphs, root_of((PyObject *)self)) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *graph_subgraph(GraphObject *self, PyObject *args)
{
    if (graph_check_idle((PyObject *)self) < 0)
        return NULL;
    const char *name;
    if (!PyArg_ParseTuple(args, "s:subgraph", &name))
        return NULL;
    hfo_graph *sub = hfo_graph_subgraph(self->g, name);
    if (sub == NULL)
        return hfo_py_graph_raise((PyObject *)self), NULL;
    PyTypeObject *tp = Py_TYPE(self);
    GraphObject *obj = (GraphObject *)tp->tp_alloc(tp, 0);
    if (obj == NULL)
        return NULL;
    obj->g = sub;
    obj->keep = Py_NewRef(self->keep);
    obj->root = Py_NewRef(root_of((PyObject *)self));
    return (PyObject *)obj;
}

static PyObject *graph_import_domain(GraphObject *self, PyObject *args)
{
    if (graph_check_idle((PyObject *)self) < 0)
        return NULL;
    const char *domain;
    int version;
    if (!PyArg_ParseTuple(args, "si:import_domain", &domain, &version))
        return NULL;
    if (hfo_graph_import_domain(self->g, domain, version) < 0)
        return hfo_py_graph_raise((PyObject *)self), NULL;
    Py_RETURN_NONE;
}

static PyObject *graph_set_metadata(GraphObject *self, PyObject *args)
{
    if (graph_check_idle((PyObject *)self) < 0)
        return NULL;
    const char *key, *value;
    if (!PyArg_ParseTuple(args, "ss:set_metadata", &key, &value))
        return NULL;
    if (hfo_graph_add_metadata(self->g, key, value) < 0)
        return hfo_py_graph_raise((PyObject *)self), NULL;
    Py_RETURN_NONE;
}

static PyObject *graph_set_producer(GraphObject *self, PyObject *args)
{
    if (graph_check_idle((PyObject *)self) < 0)
        return NULL;
    const char *name, *version = NULL;
    if (!PyArg_ParseTuple(args, "s|z:set_producer", &name, &version))
        return NULL;
    hfo_graph_set_producer(self->g, name, version);
    Py_RETURN_NONE;
}

static PyObject *graph_set_doc(GraphObject *self, PyObject *arg)
{
    if (graph_check_idle((PyObject *)self) < 0)
        return NULL;
    const char *doc = PyUnicode_AsUTF8(arg);
    if (doc == NULL)
        return NULL;
    hfo_graph_set_doc(self->g, doc);
    Py_RETURN_NONE;
}

static PyObject *graph_getitem(GraphObject *self, PyObject *key)
{
    const char *name = PyUnicode_AsUTF8(key);
    if (name == NULL)
        return NULL;
    hfo_value *v = hfo_graph_find(self->g, name);
    if (v == NULL) {
        PyErr_Format(PyExc_KeyError, "the graph has no value named '%s'", name);
        return NULL;
    }
    return hfo_py_value_new((PyObject *)self, v);
}

static PyObject *graph_get_opset(GraphObject *self, void *closure)
{
    (void)closure;
    return PyLong_FromLong(hfo_graph_opset(self->g));
}

static PyObject *graph_get_num_nodes(GraphObject *self, void *closure)
{
    (void)closure;
    return PyLong_FromSize_t(hfo_graph_n_nodes(self->g));
}

static PyMethodDef graph_methods[] = {
    {"input", (PyCFunction)(void (*)(void))graph_input, METH_VARARGS | METH_KEYWORDS,
     "input(name, dtype, shape=None) -> Value\n\nA graph input; shape items are int, str (symbolic) or None."},
    {"initializer", (PyCFunction)(void (*)(void))graph_initializer, METH_VARARGS | METH_KEYWORDS,
     "initializer(name, array, transpose=False, dtype=None, source_dtype=None) -> Value\n\n"
     "A weight whose bytes are borrowed from `array` (kept alive by the graph) and written as they are,\n"
     "transposed (2-D) or converted (float16/bfloat16 -> float32 with dtype='float32') while saving.\n"
     "source_dtype='bfloat16' marks a uint16 array that holds bfloat16 bits."},
    {"constant", (PyCFunction)(void (*)(void))graph_constant, METH_VARARGS | METH_KEYWORDS,
     "constant(value, dtype=None) -> Value\n\nA constant, shared: the same value asked twice is one tensor."},
    {"op", (PyCFunction)(void (*)(void))graph_op, METH_VARARGS | METH_KEYWORDS,
     "op(op_type, *inputs, name=None, domain=None, outputs=None, **attributes) -> Value | tuple\n\n"
     "Add an ONNX node.  The op, its inputs' dtypes and its attributes are checked now.\n"
     "Inputs may be Values, None (an omitted optional input), numbers or arrays (made constants)."},
    {"output", (PyCFunction)(void (*)(void))graph_output, METH_VARARGS | METH_KEYWORDS,
     "output(value, name=None, shape=None) -> Value\n\nDeclare a graph output."},
    {"save", (PyCFunction)(void (*)(void))graph_save, METH_VARARGS | METH_KEYWORDS,
     "save(path, external_data=None, external_threshold=1024, *, threads=0)\n\n"
     "Write the model (to a temporary name, renamed when complete).  external_data=True or a file\n"
     "name puts tensors of at least external_threshold bytes in a file beside the model; models over\n"
     "2 GB always do.  An ExternalData shares one data file between several models.  The weights'\n"
     "bytes are written by `threads` threads (0: one per core)."},
    {"subgraph", (PyCFunction)graph_subgraph, METH_VARARGS,
     "subgraph(name) -> Graph\n\nA subgraph for an If's then_branch / else_branch.  Its ops may read values of\n"
     "this graph; its weights and constants are the main graph's initializers; declare its\n"
     "results with output().  Then g.If(cond, then_branch=a, else_branch=b, outputs=n)."},
    {"import_domain", (PyCFunction)graph_import_domain, METH_VARARGS,
     "import_domain(domain, version)\n\nImport an operator domain such as 'com.microsoft'."},
    {"set_metadata", (PyCFunction)graph_set_metadata, METH_VARARGS, "set_metadata(key, value)"},
    {"set_producer", (PyCFunction)graph_set_producer, METH_VARARGS, "set_producer(name, version=None)"},
    {"set_doc", (PyCFunction)graph_set_doc, METH_O, "set_doc(text)"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef graph_getset[] = {
    {"opset", (getter)graph_get_opset, NULL, "the default domain's opset", NULL},
    {"num_nodes", (getter)graph_get_num_nodes, NULL, "number of nodes so far", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot graph_slots[] = {
    {Py_tp_new, graph_new},
    {Py_tp_dealloc, graph_dealloc},
    {Py_tp_traverse, graph_traverse},
    {Py_tp_clear, graph_clear},
    {Py_tp_methods, graph_methods},
    {Py_tp_getset, graph_getset},
    {Py_mp_subscript, graph_getitem},
    {Py_tp_doc, "Graph(name='graph', opset=17)\n\nAn ONNX graph under construction."},
    {0, NULL},
};

static PyType_Spec graph_spec = {
    .name = "hfonnx._hfonnx.Graph",
    .basicsize = sizeof(GraphObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .slots = graph_slots,
};

/* ---- Value ---------------------------------------------------------------- */

static int value_traverse(ValueObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->graph);
    return 0;
}

static int value_clear(ValueObject *self)
{
    Py_CLEAR(self->graph);
    return 0;
}

static void value_dealloc(ValueObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    value_clear(self);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static PyObject *value_get_name(ValueObject *self, void *c) { (void)c; return PyUnicode_FromString(self->v->name); }
static PyObject *value_get_dtype(ValueObject *self, void *c)
{
    (void)c;
    if (self->v->dtype == HFO_UNDEFINED)
        Py_RETURN_NONE;
    return PyUnicode_FromString(self->v->dtype == HFO_FLOAT ? "float32"
                                : self->v->dtype == HFO_DOUBLE ? "float64" : hfo_dtype_name(self->v->dtype));
}
static PyObject *value_get_shape(ValueObject *self, void *c) { (void)c; return dims_to_tuple(self->v); }
static PyObject *value_get_graph(ValueObject *self, void *c) { (void)c; return Py_NewRef(self->graph); }
static PyObject *value_get_kind(ValueObject *self, void *c)
{
    (void)c;
    return PyUnicode_FromString(self->v->kind == HFO_VALUE_INPUT ? "input"
                                : self->v->kind == HFO_VALUE_WEIGHT ? "initializer" : "node");
}

static PyObject *value_repr(ValueObject *self)
{
    PyObject *shape = dims_to_tuple(self->v);
    if (shape == NULL)
        return NULL;
    PyObject *r = PyUnicode_FromFormat("<hfonnx.Value '%s' %s %R>", self->v->name,
                                       hfo_dtype_name(self->v->dtype), shape);
    Py_DECREF(shape);
    return r;
}

static PyObject *value_richcompare(PyObject *a, PyObject *b, int op)
{
    if ((op != Py_EQ && op != Py_NE) || !is_value(a) || !is_value(b))
        Py_RETURN_NOTIMPLEMENTED;
    int same = ((ValueObject *)a)->v == ((ValueObject *)b)->v;
    return PyBool_FromLong(op == Py_EQ ? same : !same);
}

static Py_hash_t value_hash(ValueObject *self)
{
    return _Py_HashPointer(self->v);
}

/* a <op> b for the number protocol: one of them is a Value. */
static PyObject *value_binary(PyObject *a, PyObject *b, const char *op)
{
    PyObject *graph = is_value(a) ? ((ValueObject *)a)->graph : ((ValueObject *)b)->graph;
    PyObject *op_name = PyUnicode_FromString(op);
    if (op_name == NULL)
        return NULL;
    PyObject *args = PyTuple_Pack(3, op_name, a, b);
    Py_DECREF(op_name);
    if (args == NULL)
        return NULL;
    PyObject *r = graph_op((GraphObject *)graph, args, NULL);
    Py_DECREF(args);
    return r;
}

static PyObject *value_add(PyObject *a, PyObject *b) { return value_binary(a, b, "Add"); }
static PyObject *value_sub(PyObject *a, PyObject *b) { return value_binary(a, b, "Sub"); }
static PyObject *value_mul(PyObject *a, PyObject *b) { return value_binary(a, b, "Mul"); }
static PyObject *value_div(PyObject *a, PyObject *b) { return value_binary(a, b, "Div"); }
static PyObject *value_matmul(PyObject *a, PyObject *b) { return value_binary(a, b, "MatMul"); }
static PyObject *value_pow(PyObject *a, PyObject *b, PyObject *mod)
{
    if (mod != Py_None)
        Py_RETURN_NOTIMPLEMENTED;
    return value_binary(a, b, "Pow");
}
static PyObject *value_neg(PyObject *a)
{
    PyObject *op_name = PyUnicode_FromString("Neg");
    if (op_name == NULL)
        return NULL;
    PyObject *args = PyTuple_Pack(2, op_name, a);
    Py_DECREF(op_name);
    if (args == NULL)
        return NULL;
    PyObject *r = graph_op((GraphObject *)((ValueObject *)a)->graph, args, NULL);
    Py_DECREF(args);
    return r;
}

static PyGetSetDef value_getset[] = {
    {"name", (getter)value_get_name, NULL, "the value's name in the graph", NULL},
    {"dtype", (getter)value_get_dtype, NULL, "element type ('float32', 'int64', ...) or None if unknown", NULL},
    {"shape", (getter)value_get_shape, NULL, "tuple of int | str | None, or None if unknown", NULL},
    {"graph", (getter)value_get_graph, NULL, "the Graph this value belongs to", NULL},
    {"kind", (getter)value_get_kind, NULL, "'input', 'initializer' or 'node'", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot value_slots[] = {
    {Py_tp_dealloc, value_dealloc},
    {Py_tp_traverse, value_traverse},
    {Py_tp_clear, value_clear},
    {Py_tp_getset, value_getset},
    {Py_tp_repr, value_repr},
    {Py_tp_richcompare, value_richcompare},
    {Py_tp_hash, value_hash},
    {Py_nb_add, value_add},
    {Py_nb_subtract, value_sub},
    {Py_nb_multiply, value_mul},
    {Py_nb_true_divide, value_div},
    {Py_nb_matrix_multiply, value_matmul},
    {Py_nb_power, value_pow},
    {Py_nb_negative, value_neg},
    {Py_tp_doc, "A value of an hfonnx.Graph: an input, an initializer or a node's output."},
    {0, NULL},
};

static PyType_Spec value_spec = {
    .name = "hfonnx._hfonnx.Value",
    .basicsize = sizeof(ValueObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = value_slots,
};

/* ---- module-level helpers ------------------------------------------------ */

static PyObject *mod_op_known(PyObject *module, PyObject *args)
{
    (void)module;
    const char *op, *domain = NULL;
    if (!PyArg_ParseTuple(args, "s|z:op_known", &op, &domain))
        return NULL;
    return PyBool_FromLong(hfo_op_known(op, domain));
}

static PyMethodDef graph_module_methods[] = {
    {"op_known", mod_op_known, METH_VARARGS, "op_known(op_type, domain=None) -> bool: whether the builder accepts this op (ops of other domains are not checked)"},
    {NULL, NULL, 0, NULL},
};

int hfo_py_graph_exec(PyObject *module)
{
    hfo_py_state *st = hfo_py_state_of_module(module);
    st->graph_type = PyType_FromModuleAndSpec(module, &graph_spec, NULL);
    if (st->graph_type == NULL || PyModule_AddObjectRef(module, "Graph", st->graph_type) < 0)
        return -1;
    st->value_type = PyType_FromModuleAndSpec(module, &value_spec, NULL);
    if (st->value_type == NULL || PyModule_AddObjectRef(module, "Value", st->value_type) < 0)
        return -1;
    /* numpy defers to Value's reflected operators: array @ value adds a MatMul */
    if (PyObject_SetAttrString(st->value_type, "__array_ufunc__", Py_None) < 0)
        return -1;
    st->store_type = PyType_FromModuleAndSpec(module, &store_spec, NULL);
    if (st->store_type == NULL || PyModule_AddObjectRef(module, "ExternalData", st->store_type) < 0)
        return -1;
    if (PyModule_AddIntConstant(module, "DEFAULT_OPSET", HFO_DEFAULT_OPSET) < 0)
        return -1;
    return PyModule_AddFunctions(module, graph_module_methods);
}
