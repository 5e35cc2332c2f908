"""Read checkpoint weights into numpy arrays, without torch for safetensors.

    >>> w = hfonnx.load_weights("all-MiniLM-L6-v2")   # folder, or a weights file
    >>> w["embeddings.word_embeddings.weight"].shape
    (30522, 384)

Safetensors files are parsed here (8-byte little-endian header length, a JSON
header, then the raw tensors) and memory-mapped: every array is a read-only
view into the mapping, so loading costs no copy and the pages are read only
when the exporter streams them to disk.  Sharded checkpoints are followed
through ``model.safetensors.index.json``.  ``pytorch_model.bin`` (and its
sharded index) is read with ``torch.load`` when torch is installed.

bfloat16
    numpy has no bfloat16.  Such tensors are returned as :class:`BFloat16Array`,
    an ``ndarray`` subclass holding the raw ``uint16`` bit patterns (the upper
    half of a float32).  ``arr.to_float32()`` widens them; the exporter reads
    the class attribute ``hfonnx_dtype == "bfloat16"`` (C side) and converts to
    float32 while writing.  Arrays whose numpy dtype is named ``"bfloat16"``
    (``ml_dtypes``) are accepted by the exporter too.
"""
import json
import mmap
import os

import numpy as np

from .errors import HfonnxError, WeightError

__all__ = ["load_weights", "load_safetensors", "BFloat16Array", "from_state_dict",
           "find_weights"]

# safetensors dtype tag -> numpy dtype (little-endian, as the format specifies)
_ST_DTYPES = {
    "F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),
    "I64": np.dtype("<i8"), "I32": np.dtype("<i4"), "I16": np.dtype("<i2"), "I8": np.dtype("i1"),
    "U64": np.dtype("<u8"), "U32": np.dtype("<u4"), "U16": np.dtype("<u2"), "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}
_MAX_HEADER = 100 * 1024 * 1024  # the reference implementation's limit

# Folder contents we recognise, in the order transformers prefers them.
_WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json",
                 "pytorch_model.bin", "pytorch_model.bin.index.json")


class BFloat16Array(np.ndarray):
    """bfloat16 tensor stored as its ``uint16`` bit patterns.

    Create one with ``np.asarray(bits, np.uint16).view(BFloat16Array)``.
    """

    hfonnx_dtype = "bfloat16"

    def to_float32(self):
        """A new float32 array with the same values (exact: bfloat16 is float32's top half)."""
        bits = np.asarray(self, dtype=np.uint16).view(np.ndarray).astype(np.uint32) << 16
        return bits.view(np.float32)

    def __repr__(self):
        return f"BFloat16Array(shape={self.shape})"


def find_weights(folder):
    """The weights file of a model folder (first of safetensors, its index,
    pytorch_model.bin, its index), or raise WeightError listing what was looked for."""
    for name in _WEIGHT_FILES:
        p = os.path.join(folder, name)
        if os.path.isfile(p):
            return p
    raise WeightError(f"{folder}: no weights found (looked for {', '.join(_WEIGHT_FILES)})")


def load_weights(path):
    """Load every tensor of a checkpoint as ``{name: numpy array}``.

    ``path`` is a model folder or a weights file: ``*.safetensors``,
    ``*.safetensors.index.json``, ``*.bin`` or ``*.bin.index.json``.
    Safetensors arrays are read-only views of a memory mapping (no copy).
    Raises :class:`hfonnx.WeightError` naming the file and what is wrong when a
    file is missing, truncated or corrupt.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        path = find_weights(path)
    if not os.path.exists(path):
        raise WeightError(f"{path}: no such file")
    if path.endswith(".index.json"):
        return _load_index(path)
    if path.endswith(".bin") or path.endswith(".pt") or path.endswith(".pth"):
        return _load_torch(path)
    return load_safetensors(path)


def load_safetensors(path):
    """Parse one safetensors file; arrays are read-only views of an mmap."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size < 8:
                raise WeightError(f"{path}: truncated safetensors file: {size} bytes, "
                                  "shorter than the 8-byte header length")
            n = int.from_bytes(f.read(8), "little")
            if n > min(size - 8, _MAX_HEADER):
                raise WeightError(f"{path}: not a safetensors file or truncated: header length "
                                  f"{n} bytes but the file has {size - 8} bytes after it")
            try:
                header = json.loads(f.read(n).decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as e:
                raise WeightError(f"{path}: not a safetensors file: header is not JSON ({e})") from None
            mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size > 8 + n else None
    except OSError as e:
        raise WeightError(f"{path}: cannot read: {e.strerror or e}") from None
    if not isinstance(header, dict):
        raise WeightError(f"{path}: not a safetensors file: header is {type(header).__name__}, "
                          "not a JSON object")
    data_start = 8 + n
    data_len = size - data_start
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        out[name] = _tensor(path, name, info, mm, data_start, data_len)
    return out


def _tensor(path, name, info, mm, data_start, data_len):
    def bad(what):
        return WeightError(f"{path}: tensor '{name}': {what}")

    if not isinstance(info, dict):
        raise bad("header entry is not an object")
    tag, shape, offs = info.get("dtype"), info.get("shape"), info.get("data_offsets")
    if tag not in _ST_DTYPES:
        raise bad(f"unsupported dtype {tag!r} (supported: {', '.join(_ST_DTYPES)})")
    if (not isinstance(shape, list) or
            not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)):
        raise bad(f"bad shape {shape!r}")
    if (not isinstance(offs, list) or len(offs) != 2 or
            not all(isinstance(o, int) and not isinstance(o, bool) for o in offs) or
            not 0 <= offs[0] <= offs[1]):
        raise bad(f"bad data_offsets {offs!r}")
    dt = _ST_DTYPES[tag]
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    nbytes = offs[1] - offs[0]
    if nbytes != count * dt.itemsize:
        raise bad(f"data_offsets {offs} span {nbytes} bytes but shape {shape} of {tag} "
                  f"needs {count * dt.itemsize}")
    if offs[1] > data_len:
        raise bad(f"truncated file: the tensor ends at byte {offs[1]} of the data but the file "
                  f"holds only {data_len} bytes of data")
    if count == 0:
        arr = np.empty(shape, dt)
    else:
        arr = np.frombuffer(mm, dtype=dt, count=count, offset=data_start + offs[0]).reshape(shape)
    if tag == "BF16":
        arr = arr.view(BFloat16Array)
    return arr


def _load_index(path):
    try:
        with open(path, "rb") as f:
            index = json.loads(f.read().decode("utf-8"))
    except OSError as e:
        raise WeightError(f"{path}: cannot read: {e.strerror or e}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise WeightError(f"{path}: not valid JSON: {e}") from None
    wmap = index.get("weight_map") if isinstance(index, dict) else None
    if not isinstance(wmap, dict):
        raise WeightError(f"{path}: no 'weight_map' object in the index")
    folder = os.path.dirname(path)
    out = {}
    for shard in sorted(set(wmap.values())):
        if not isinstance(shard, str) or os.path.basename(shard) != shard:
            raise WeightError(f"{path}: bad shard file name {shard!r}")
        out.update(load_weights(os.path.join(folder, shard)))
    missing = [k for k in wmap if k not in out]
    if missing:
        raise WeightError(f"{path}: the index lists {missing[0]!r} but its shard "
                          f"{wmap[missing[0]]!r} does not contain it"
                          + (f" ({len(missing) - 1} more missing)" if len(missing) > 1 else ""))
    return out


def _load_torch(path):
    try:
        import torch
    except ImportError:
        raise HfonnxError(f"{path}: reading pytorch_model.bin needs torch (pip install torch), "
                          "or save the model with safetensors") from None
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as e:  # torch raises many kinds for corrupt pickles/zips
        raise WeightError(f"{path}: cannot load with torch.load: {e}") from None
    if isinstance(sd, dict) and "state_dict" in sd and isinstance(sd["state_dict"], dict):
        sd = sd["state_dict"]
    if not isinstance(sd, dict):
        raise WeightError(f"{path}: expected a state dict, got {type(sd).__name__}")
    return from_state_dict(sd)


def from_state_dict(state_dict):
    """``{name: numpy array}`` from a torch state dict, sharing memory where possible.

    bfloat16 tensors become :class:`BFloat16Array` views of the same memory;
    non-contiguous tensors are made contiguous (a copy).
    """
    import torch

    out = {}
    for name, t in state_dict.items():
        if not isinstance(t, torch.Tensor):
            continue
        t = t.detach()
        if t.device.type != "cpu":
            t = t.cpu()
        if not t.is_contiguous():
            t = t.contiguous()
        if t.dtype == torch.bfloat16:
            out[name] = t.view(torch.int16).numpy().view(np.uint16).view(BFloat16Array)
        else:
            try:
                out[name] = t.numpy()
            except (TypeError, RuntimeError) as e:
                raise WeightError(f"tensor '{name}': dtype {t.dtype} has no numpy equivalent "
                                  f"({e})") from None
    return out
