/* py_tokenizer.c: glue for the tokenizer subsystem (placeholder until it lands). */
#include "glue.h"

int hfo_py_tokenizer_exec(PyObject *module)
{
    (void)module;
    return 0;
}
