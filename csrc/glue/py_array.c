/* py_array.c: the ONNX element type of a numpy array, bfloat16 included.
 *
 * numpy has no bfloat16: hfonnx's loaders return such tensors as
 * hfonnx.weights.BFloat16Array (a uint16 ndarray subclass whose class
 * attribute hfonnx_dtype is "bfloat16"); ml_dtypes' bfloat16 dtype is
 * recognised by name. */
#include "glue.h"
#include "graph/graph.h"

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

int hfo_py_array_dtype(PyArrayObject *arr)
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

