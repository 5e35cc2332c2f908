"""The graph builder: write ONNX models (and custom heads) with real ONNX ops.

    import numpy as np, hfonnx
    g = hfonnx.Graph("tiny")
    x = g.input("x", "float32", ["batch_size", 4])
    w = g.initializer("w", np.ones((4, 2), np.float32))
    y = g.Relu(x @ w + 1.0)            # g.Relu is g.op("Relu", ...)
    g.output(y, "y", ["batch_size", 2])
    g.save("tiny.onnx")

Every op call is checked when it is made: an unknown op, an attribute of the
wrong name or type, or inputs of mismatched dtypes raise
:class:`hfonnx.GraphError` at that line, not when onnxruntime loads the file.
"""
from . import _hfonnx

__all__ = ["Graph", "Value", "ExternalData", "DEFAULT_OPSET"]

Value = _hfonnx.Value
ExternalData = _hfonnx.ExternalData
DEFAULT_OPSET = _hfonnx.DEFAULT_OPSET


class Graph(_hfonnx.Graph):
    """An ONNX graph under construction: ``Graph(name="graph", opset=17)``.

    Ops can be added with ``g.op("MatMul", a, b)`` or, equally, ``g.MatMul(a, b)``;
    Values support ``+ - * / @ **`` and unary ``-``.
    """

    def __getattr__(self, name):
        if name[:1].isupper() and _hfonnx.op_known(name):
            def add_op(*inputs, **attributes):
                return self.op(name, *inputs, **attributes)
            add_op.__name__ = name
            add_op.__doc__ = f"Add a {name} node: g.op({name!r}, *inputs, **attributes)."
            return add_op
        raise AttributeError(f"{type(self).__name__!s} has no attribute {name!r}"
                             + (f" (and {name!r} is not an ONNX op hfonnx knows)" if name[:1].isupper() else ""))
