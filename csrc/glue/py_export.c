/* py_export.c: glue for the export subsystem (placeholder until it lands). */
#include "glue.h"

int hfo_py_export_exec(PyObject *module)
{
    (void)module;
    return 0;
}
