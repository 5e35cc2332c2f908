"""Read a model's ``config.json`` into a plain dict.

    >>> cfg = hfonnx.load_config("all-MiniLM-L6-v2")        # a folder ...
    >>> cfg = hfonnx.load_config("all-MiniLM-L6-v2/config.json")  # ... or the file
    >>> cfg["model_type"], cfg["hidden_size"]
    ('bert', 384)

The dict is what the C recipes read; absent keys take the architecture's
defaults there (``transformers.BertConfig``'s defaults for BERT).
"""
import json
import os

from .errors import HfonnxError

__all__ = ["load_config", "config_path"]


def config_path(path):
    """The ``config.json`` a folder or file argument designates (not checked to exist)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        return os.path.join(path, "config.json")
    return path


def load_config(path):
    """Load ``config.json`` from a model folder or a path to the file itself.

    Returns a new ``dict``.  Raises :class:`hfonnx.HfonnxError` naming the
    file when it is missing, unreadable, not JSON, or not a JSON object.
    """
    file = config_path(path)
    try:
        with open(file, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise HfonnxError(f"{file}: no such file (a model folder must contain config.json)") from None
    except OSError as e:
        raise HfonnxError(f"{file}: cannot read: {e.strerror or e}") from None
    try:
        cfg = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise HfonnxError(f"{file}: not valid JSON: {e}") from None
    if not isinstance(cfg, dict):
        raise HfonnxError(f"{file}: expected a JSON object, got {type(cfg).__name__}")
    return cfg
