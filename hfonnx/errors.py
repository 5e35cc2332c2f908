"""The exceptions hfonnx raises.

Everything derives from :class:`HfonnxError`; each subclass also derives from
the built-in exception users would naturally catch (``ValueError`` for bad
input, ``KeyError`` for a missing weight), so ``except ValueError`` keeps
working in code written for ``transformers``.
"""

__all__ = [
    "HfonnxError",
    "TokenizerError",
    "GraphError",
    "WeightError",
    "UnsupportedModelError",
    "ExportError",
]


class HfonnxError(Exception):
    """Base class of every error hfonnx raises on purpose."""


class TokenizerError(HfonnxError, ValueError):
    """A tokenizer file is missing or malformed, or a call's arguments conflict."""


class GraphError(HfonnxError, ValueError):
    """The graph builder was misused: unknown op, wrong attribute, dtype mismatch."""


class WeightError(HfonnxError, KeyError):
    """A weight is missing, misshaped or unreadable; the message names the tensor."""

    def __str__(self):  # KeyError would repr() the message; keep it readable
        return str(self.args[0]) if self.args else ""


class UnsupportedModelError(HfonnxError, ValueError):
    """The config asks for something hfonnx cannot export (architecture, activation, task)."""


class ExportError(HfonnxError, OSError):
    """Writing the exported files failed; nothing half-written is left behind."""
