"""Export Hugging Face models to ONNX with hfonnx's C graph builder.

    >>> paths = hfonnx.export("all-MiniLM-L6-v2", "onnx/", head="mean")
    >>> paths
    ['onnx/model.onnx', 'onnx/config.json', 'onnx/tokenizer.json', ...]

No tracing: the recipes in C (BERT, T5) read the config and look the weights
up by their Hugging Face names, and each graph is written straight from the
(memory-mapped) weights to disk.  The output folder is a complete model
folder (model, config, tokenizer files) with optimum's file and tensor names.
"""
import json
import os

import numpy as np

from . import _hfonnx
from .config import load_config
from .errors import ExportError, HfonnxError, UnsupportedModelError
from .graph import Graph   # the Python subclass: g.Gather(...) sugar for custom heads
from .weights import BFloat16Array, from_state_dict, load_weights

__all__ = ["export", "load_config", "load_weights", "DEFAULT_OPSET", "TASKS", "POOLING_HEADS"]

#: ONNX opset the graphs use unless asked otherwise.
DEFAULT_OPSET = _hfonnx.DEFAULT_OPSET
#: Oldest opset accepted (LayerNormalization is decomposed before 17).
MIN_OPSET = 14

#: Task names (optimum's) per model type; aliases map to them.
TASKS = {
    "bert": ("feature-extraction", "text-classification", "token-classification",
             "question-answering", "fill-mask"),
    "t5": ("feature-extraction", "text2text-generation"),
    "mt5": ("feature-extraction", "text2text-generation"),
}
_TASK_ALIASES = {
    "default": "feature-extraction",
    "sequence-classification": "text-classification",
    "masked-lm": "fill-mask",
    "seq2seq-lm": "text2text-generation",
    "text2text-generation-with-past": "text2text-generation",
    "seq2seq-lm-with-past": "text2text-generation",
}
# The class-name prefix of the architectures each model type covers.
_ARCH_PREFIX = {"bert": "Bert", "t5": "T5", "mt5": "MT5"}
#: Named feature-extraction heads (sentence embeddings), output `sentence_embedding`.
POOLING_HEADS = ("cls", "mean", "max", "pooler")

#: The external data file T5's files share when their weights go external.
SHARED_DATA_FILE = "model.onnx_data"
_SHARED_DATA_ABOVE = 1 << 30   # stored bytes; each file alone could pass 2 GB soon after

# Files copied from the source folder so the output is a complete model folder.
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                    "vocab.txt", "spiece.model", "added_tokens.json", "generation_config.json")


def export(model, output_dir, task=None, head=None, opset=None, with_past=True,
           external_data=None):
    """Export ``model`` to ONNX in ``output_dir``; returns the written paths.

    model
        A folder (``config.json`` + ``model.safetensors`` / sharded / ``pytorch_model.bin``),
        a ``transformers`` model (its ``state_dict`` shared without copies where
        possible), or a ``(config, weights)`` pair (a dict or path each).
    task
        optimum's task name.  BERT: ``feature-extraction`` (default),
        ``text-classification`` (alias ``sequence-classification``),
        ``token-classification``, ``question-answering``, ``fill-mask``.
        T5: ``feature-extraction`` (the encoder: ``encoder_model.onnx``) and
        ``text2text-generation`` (``encoder_model.onnx``, ``decoder_model.onnx``
        and, with ``with_past``, ``decoder_with_past_model.onnx`` and
        ``decoder_model_merged.onnx``).
    head
        Feature extraction only (BERT, and T5's encoder): ``"cls"``, ``"mean"``,
        ``"max"`` or (BERT) ``"pooler"``
        adds the output ``sentence_embedding`` beside ``last_hidden_state``; a
        callable ``head(graph, outputs) -> {name: value}`` builds custom outputs
        with :class:`hfonnx.Graph` ops (``outputs`` holds ``last_hidden_state``
        and the inputs ``input_ids``, ``attention_mask``, ``token_type_ids``);
        its results are the graph's only outputs.
    opset
        ONNX opset (default :data:`DEFAULT_OPSET`).
    with_past
        T5 text2text-generation: also write ``decoder_with_past_model.onnx``,
        the decoder that takes the key/value caches, and
        ``decoder_model_merged.onnx``, both decoders in one file behind an
        ``If`` on the input ``use_cache_branch`` (what transformers.js and
        optimum load by default); default ``True``.
    external_data
        ``None``: weights go to ``model.onnx_data`` only beyond protobuf's
        2 GB limit; ``True``: always; ``False``: never.  T5's files share
        one ``model.onnx_data`` (each weight stored once) when their weights
        go external: when asked, or past 1 GB of weights.

    Errors: :class:`UnsupportedModelError` (architecture, activation, task,
    head), :class:`WeightError` (missing / misshaped weight, named),
    :class:`ExportError` (the output cannot be written).  On error nothing is
    left in ``output_dir``.
    """
    config, weights, source_dir, source_name = _resolve(model)
    model_type = _model_type(config)
    task = _task(model_type, task)
    opset = _opset(opset)
    pooling, head_fn = _head(task, head)
    if model_type != "bert":
        return _export_t5(config, weights, source_dir, source_name, output_dir, task,
                          with_past, opset, external_data, pooling, head_fn)

    graph = Graph(source_name or model_type, opset)
    weights = _prepare_weights(weights)
    if head_fn is None:
        _hfonnx.build_bert(graph, config, weights, task=task, pooling=pooling)
    else:
        _apply_head(graph, head_fn, _hfonnx.build_bert(graph, config, weights, task=task,
                                                       declare_outputs=False))
    _stamp(graph, source_name, task, pooling, head_fn)
    return _write_folder([("model.onnx", graph)], output_dir, config, source_dir, external_data)


def _apply_head(graph, head_fn, values):
    """Run a user's head on the model's values and declare what it returns."""
    results = head_fn(graph, dict(values))
    if not isinstance(results, dict) or not results:
        raise HfonnxError("a head must return a non-empty dict {output name: Value}, got "
                          f"{type(results).__name__}")
    for name, value in results.items():
        graph.output(value, name)


def _export_t5(config, weights, source_dir, source_name, output_dir, task, with_past, opset,
               external_data, pooling=None, head_fn=None):
    """T5's files as optimum names them: the encoder, and for text2text-generation
    the decoder and (with_past) the decoder that takes the caches."""
    weights = _prepare_weights(weights)
    parts = [("encoder", "encoder_model.onnx")]
    if task == "text2text-generation":
        parts.append(("decoder", "decoder_model.onnx"))
        if with_past:
            parts.append(("decoder_with_past", "decoder_with_past_model.onnx"))
            parts.append(("decoder_merged", "decoder_model_merged.onnx"))
    graphs = []
    for part, file_name in parts:
        graph = Graph(f"{source_name or config.get('model_type', 't5')} {part}", opset)
        if head_fn is not None:
            _apply_head(graph, head_fn, _hfonnx.build_t5(graph, config, weights, part,
                                                         declare_outputs=False))
        else:
            _hfonnx.build_t5(graph, config, weights, part, pooling=pooling)
        _stamp(graph, source_name, task, pooling, head_fn)
        graphs.append((file_name, graph))
    # The files read the same weights: past protobuf's limit, or when asked,
    # they share one data file rather than each writing its own copy.
    stored = sum(a.nbytes * (2 if a.dtype.itemsize == 2 else 1) for a in weights.values())
    shared = external_data is True or (external_data is None and stored > _SHARED_DATA_ABOVE)
    return _write_folder(graphs, output_dir, config, source_dir, external_data,
                         shared_data=SHARED_DATA_FILE if shared else None)


def _stamp(graph, source_name, task, pooling=None, head_fn=None):
    """Producer and metadata every exported file carries."""
    from . import __version__
    graph.set_producer("hfonnx", __version__)
    if source_name:
        graph.set_metadata("source_model", source_name)
    graph.set_metadata("task", task)
    if pooling or head_fn is not None:
        graph.set_metadata("head", pooling or getattr(head_fn, "__name__", "custom"))


# ---- resolving the model argument -------------------------------------------

def _resolve(model):
    """-> (config dict, weights dict, source folder or None, source model name or None)"""
    if isinstance(model, (str, os.PathLike)):
        folder = os.fspath(model)
        if not os.path.isdir(folder):
            raise HfonnxError(f"{folder}: not a model folder (expected a folder with config.json "
                              "and model.safetensors)")
        config = load_config(folder)
        weights = load_weights(folder)
        name = config.get("_name_or_path") or os.path.basename(os.path.normpath(folder))
        return config, weights, folder, name
    if isinstance(model, tuple) and len(model) == 2:
        config, weights = model
        source_dir = None
        if isinstance(config, (str, os.PathLike)):
            source_dir = os.fspath(config) if os.path.isdir(config) else os.path.dirname(os.fspath(config))
            config = load_config(config)
        if isinstance(weights, (str, os.PathLike)):
            weights = load_weights(weights)
        if not isinstance(config, dict):
            raise HfonnxError(f"config must be a dict or a path, got {type(config).__name__}")
        if not isinstance(weights, dict):
            raise HfonnxError(f"weights must be a dict or a path, got {type(weights).__name__}")
        return config, weights, source_dir, config.get("_name_or_path") or None
    if hasattr(model, "state_dict") and hasattr(model, "config") and hasattr(model.config, "to_dict"):
        config = model.config.to_dict()
        weights = from_state_dict(model.state_dict())
        name = config.get("_name_or_path") or None
        source_dir = name if name and os.path.isdir(name) else None
        return config, weights, source_dir, name or type(model).__name__
    raise HfonnxError("model must be a folder, a transformers model or a (config, weights) pair, "
                      f"got {type(model).__name__}")


def _model_type(config):
    mt = config.get("model_type")
    if mt is None:
        archs = config.get("architectures") or []
        if any(isinstance(a, str) and a.startswith("Bert") for a in archs):
            mt = "bert"
    if mt not in TASKS:
        archs = config.get("architectures")
        raise UnsupportedModelError(
            f"unsupported model_type {mt!r}" + (f" (architectures {archs})" if archs else "")
            + f"; hfonnx exports: {', '.join(sorted(TASKS))}")
    prefix = _ARCH_PREFIX[mt]
    for a in config.get("architectures") or []:
        if isinstance(a, str) and not a.startswith(prefix):
            raise UnsupportedModelError(f"unsupported architecture {a!r} for model_type {mt!r} "
                                        f"(supported: {prefix}Model and {prefix}For... classes)")
    return mt


def _task(model_type, task):
    task = "feature-extraction" if task is None else _TASK_ALIASES.get(task, task)
    if task not in TASKS[model_type]:
        raise UnsupportedModelError(f"unsupported task {task!r} for {model_type} "
                                    f"(supported: {', '.join(TASKS[model_type])})")
    return task


def _head(task, head):
    if head is None:
        return None, None
    if task != "feature-extraction":
        raise UnsupportedModelError(f"head={head!r} applies to the feature-extraction task only, "
                                    f"not {task!r}")
    if callable(head):
        return None, head
    if head not in POOLING_HEADS:
        raise UnsupportedModelError(f"unsupported head {head!r} (supported: "
                                    f"{', '.join(POOLING_HEADS)}, or a callable)")
    return head, None


def _opset(opset):
    if opset is None:
        return DEFAULT_OPSET
    if isinstance(opset, bool) or not isinstance(opset, int):
        raise UnsupportedModelError(f"opset must be an integer, got {opset!r}")
    if opset < MIN_OPSET:
        raise UnsupportedModelError(f"opset {opset} is too old: the graphs use "
                                    f"LayerNormalization (opset {MIN_OPSET} or newer)")
    return opset


def _prepare_weights(weights):
    """Arrays the C side can borrow: C-contiguous, aligned, native, float64 narrowed."""
    out = {}
    for name, a in weights.items():
        if not isinstance(a, np.ndarray):
            if hasattr(a, "detach"):  # a stray torch tensor
                a = from_state_dict({name: a})[name]
            else:
                a = np.asarray(a)
        if a.dtype == np.float64:
            a = a.astype(np.float32)
        if not (a.flags.c_contiguous and a.flags.aligned) or not a.dtype.isnative:
            a = np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("="))
            if isinstance(weights[name], BFloat16Array):
                a = a.view(BFloat16Array)
        out[name] = a
    return out


# ---- writing the folder ----------------------------------------------------

def _write_folder(graphs, output_dir, config, source_dir, external_data, shared_data=None):
    """Write [(file name, graph)], config.json and the tokenizer files; on any
    failure remove what was written and the folders made.  shared_data: the
    name of one external data file all the graphs write their weights to."""
    output_dir = os.fspath(output_dir)
    created = []                      # folders we made, removed again on failure
    written = []
    store = None
    try:
        _makedirs(output_dir, created)
        if shared_data:
            store = _hfonnx.ExternalData(os.path.join(output_dir, shared_data))
        for file_name, graph in graphs:
            model_path = os.path.join(output_dir, file_name)
            data_path = model_path + "_data"
            had_data = os.path.exists(data_path)
            graph.save(model_path, external_data=store if store is not None else external_data)
            written.append(model_path)
            if store is None and os.path.exists(data_path) and (external_data or not had_data):
                written.append(data_path)
        if store is not None:
            store.commit()
            written.append(store.path)
        cfg_path = os.path.join(output_dir, "config.json")
        src_cfg = os.path.join(source_dir, "config.json") if source_dir else None
        if src_cfg and os.path.isfile(src_cfg):
            _copy(src_cfg, cfg_path)
        else:
            _write_bytes(cfg_path, (json.dumps(config, indent=2, sort_keys=True, default=str)
                                    + "\n").encode())
        written.append(cfg_path)
        if source_dir:
            for f in _TOKENIZER_FILES:
                src = os.path.join(source_dir, f)
                if os.path.isfile(src):
                    dst = os.path.join(output_dir, f)
                    _copy(src, dst)
                    written.append(dst)
    except BaseException as e:
        if store is not None:
            store.discard()
        for p in reversed(written):
            try:
                os.unlink(p)
            except OSError:
                pass
        for d in reversed(created):
            try:
                os.rmdir(d)
            except OSError:
                pass
        if isinstance(e, OSError) and not isinstance(e, HfonnxError):
            raise ExportError(f"cannot write to {output_dir}: {e.strerror or e}") from None
        raise
    return written


def _makedirs(path, created):
    path = os.path.abspath(path)
    if os.path.isdir(path):
        return
    parent = os.path.dirname(path)
    if parent != path:
        _makedirs(parent, created)
    try:
        os.mkdir(path)
    except FileExistsError:
        if not os.path.isdir(path):
            raise ExportError(f"cannot write to {path}: it exists and is not a folder") from None
        return
    except OSError as e:
        raise ExportError(f"cannot create the output folder {path}: {e.strerror or e}") from None
    created.append(path)


def _write_bytes(dst, data):
    tmp = f"{dst}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, dst)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _copy(src, dst):
    with open(src, "rb") as f:
        _write_bytes(dst, f.read())
