/* module.c: the hfonnx._hfonnx extension module: multi-phase init, module
 * state (exception classes and heap types), and the exec slot that lets each
 * subsystem's glue add its part. */
#define HFO_GLUE_DEFINES_NUMPY
#include "glue.h"

static int import_errors(hfo_py_state *st)
{
    PyObject *errors = PyImport_ImportModule("hfonnx.errors");
    if (errors == NULL)
        return -1;
    struct { PyObject **slot; const char *name; } names[] = {
        {&st->HfonnxError, "HfonnxError"},
        {&st->TokenizerError, "TokenizerError"},
        {&st->GraphError, "GraphError"},
        {&st->WeightError, "WeightError"},
        {&st->UnsupportedModelError, "UnsupportedModelError"},
        {&st->ExportError, "ExportError"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        *names[i].slot = PyObject_GetAttrString(errors, names[i].name);
        if (*names[i].slot == NULL) {
            Py_DECREF(errors);
            return -1;
        }
    }
    Py_DECREF(errors);
    return 0;
}

static int module_exec(PyObject *module)
{
    if (PyArray_ImportNumPyAPI() < 0)
        return -1;
    hfo_py_state *st = hfo_py_state_of_module(module);
    if (import_errors(st) < 0)
        return -1;
    if (hfo_py_graph_exec(module) < 0)
        return -1;
    if (hfo_py_export_exec(module) < 0)
        return -1;
    if (hfo_py_tokenizer_exec(module) < 0)
        return -1;
    if (hfo_py_t5_exec(module) < 0)
        return -1;
    return 0;
}

hfo_py_state *hfo_py_state_of_module(PyObject *module)
{
    return (hfo_py_state *)PyModule_GetState(module);
}

hfo_py_state *hfo_py_state_of_type(PyTypeObject *type)
{
    PyObject *module = PyType_GetModuleByDef(type, &hfo_py_module_def);
    return module ? hfo_py_state_of_module(module) : NULL;
}

#define HFO_STATE_OBJECTS(X)                                                 \
    X(HfonnxError) X(TokenizerError) X(GraphError) X(WeightError)           \
    X(UnsupportedModelError) X(ExportError) X(graph_type) X(value_type)     \
    X(store_type)                                                            \
    X(tokenizer_type) X(encodings_type)

static int module_traverse(PyObject *module, visitproc visit, void *arg)
{
    hfo_py_state *st = hfo_py_state_of_module(module);
#define VISIT(f) Py_VISIT(st->f);
    HFO_STATE_OBJECTS(VISIT)
#undef VISIT
    return 0;
}

static int module_clear(PyObject *module)
{
    hfo_py_state *st = hfo_py_state_of_module(module);
#define CLEAR(f) Py_CLEAR(st->f);
    HFO_STATE_OBJECTS(CLEAR)
#undef CLEAR
    return 0;
}

static void module_free(void *module)
{
    module_clear((PyObject *)module);
}

static PyModuleDef_Slot module_slots[] = {
    {Py_mod_exec, module_exec},
    {0, NULL},
};

PyModuleDef hfo_py_module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "hfonnx._hfonnx",
    .m_doc = "hfonnx's C core: tokenizers and the ONNX graph builder.",
    .m_size = sizeof(hfo_py_state),
    .m_slots = module_slots,
    .m_traverse = module_traverse,
    .m_clear = module_clear,
    .m_free = module_free,
};

PyMODINIT_FUNC PyInit__hfonnx(void)
{
    return PyModuleDef_Init(&hfo_py_module_def);
}
