"""hfonnx.load_weights against the safetensors and torch libraries' own readers."""
import json
import os
import struct

import numpy as np
import pytest

import hfonnx
from hfonnx.weights import BFloat16Array

torch = pytest.importorskip("torch")
st_torch = pytest.importorskip("safetensors.torch")


def _tensors():
    g = torch.Generator().manual_seed(0)
    return {
        "a.f32": torch.randn(3, 5, generator=g),
        "b.f16": torch.randn(7, generator=g).half(),
        "c.bf16": torch.randn(4, 2, generator=g).bfloat16(),
        "d.i64": torch.arange(6).reshape(2, 3),
        "e.i32": torch.arange(4, dtype=torch.int32),
        "f.u8": torch.arange(9, dtype=torch.uint8),
        "g.bool": torch.tensor([True, False]),
        "h.scalar": torch.tensor(1.5),
        "i.empty": torch.zeros(0, 3),
    }


def _check(got, ref):
    assert set(got) == set(ref)
    for k, t in ref.items():
        a = got[k]
        assert tuple(a.shape) == tuple(t.shape), k
        if t.dtype == torch.bfloat16:
            assert isinstance(a, BFloat16Array) and a.dtype == np.uint16
            np.testing.assert_array_equal(a.to_float32(), t.float().numpy())
        else:
            np.testing.assert_array_equal(a, t.numpy())
            assert a.dtype == t.numpy().dtype


def test_safetensors_all_dtypes(tmp_path):
    ref = _tensors()
    st_torch.save_file(ref, tmp_path / "model.safetensors", metadata={"format": "pt"})
    got = hfonnx.load_weights(tmp_path)
    _check(got, ref)
    # memory-mapped views, no copies
    assert not got["a.f32"].flags.owndata and not got["a.f32"].flags.writeable
    assert hfonnx.load_weights(tmp_path / "model.safetensors").keys() == got.keys()


def test_sharded_safetensors_from_transformers(tmp_path):
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    m = transformers.BertModel(transformers.BertConfig(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        vocab_size=500)).eval()
    m.save_pretrained(tmp_path, safe_serialization=True, max_shard_size="100KB")
    assert (tmp_path / "model.safetensors.index.json").exists()
    got = hfonnx.load_weights(tmp_path)
    sd = m.state_dict()
    for k, v in sd.items():
        if k in got:
            np.testing.assert_array_equal(got[k], v.numpy())
    index = json.loads((tmp_path / "model.safetensors.index.json").read_text())
    assert set(index["weight_map"]) <= set(got)


def test_pytorch_model_bin(tmp_path):
    ref = _tensors()
    torch.save(ref, tmp_path / "pytorch_model.bin")
    _check(hfonnx.load_weights(tmp_path), ref)


def test_sharded_pytorch_bin(tmp_path):
    ref = _tensors()
    names = sorted(ref)
    shards = {"pytorch_model-00001-of-00002.bin": names[:4],
              "pytorch_model-00002-of-00002.bin": names[4:]}
    wmap = {}
    for f, ks in shards.items():
        torch.save({k: ref[k] for k in ks}, tmp_path / f)
        wmap.update({k: f for k in ks})
    (tmp_path / "pytorch_model.bin.index.json").write_text(json.dumps({"weight_map": wmap}))
    _check(hfonnx.load_weights(tmp_path), ref)


def test_from_state_dict_shares_memory():
    from hfonnx.weights import from_state_dict
    sd = {"w": torch.randn(4, 4), "b": torch.randn(3).bfloat16()}
    got = from_state_dict(sd)
    assert np.shares_memory(got["w"], sd["w"].numpy())
    np.testing.assert_array_equal(got["b"].to_float32(), sd["b"].float().numpy())


def _good_file(tmp_path):
    p = tmp_path / "model.safetensors"
    st_torch.save_file({"w": torch.randn(16, 16), "v": torch.randn(8)}, p)
    return p


def _corrupt(p, how):
    raw = p.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    if how == "truncated":
        p.write_bytes(raw[:len(raw) - 100])
    elif how == "tiny":
        p.write_bytes(raw[:5])
    elif how == "empty":
        p.write_bytes(b"")
    elif how == "garbage":
        p.write_bytes(os.urandom(4) + b"\xff" * 4 + b"garbage" * 50)
    elif how == "header-json":
        p.write_bytes(raw[:8] + b"x" + raw[9:])
    elif how in ("dtype", "offsets", "shape"):
        if how == "dtype":
            header["w"]["dtype"] = "F99"
        elif how == "offsets":
            header["w"]["data_offsets"][1] -= 4
        else:
            header["w"]["shape"] = [16, -16]
        h = json.dumps(header).encode()
        h += b" " * (-len(h) % 8)
        p.write_bytes(struct.pack("<Q", len(h)) + h + raw[8 + n:])
    return p


@pytest.mark.parametrize("how, what", [
    ("truncated", "truncated"),
    ("tiny", "truncated"),
    ("empty", "truncated"),
    ("garbage", "not a safetensors file"),
    ("header-json", "not JSON"),
    ("dtype", "unsupported dtype 'F99'"),
    ("offsets", "needs 1024"),
    ("shape", "bad shape"),
])
def test_corrupt_safetensors(tmp_path, how, what):
    p = _corrupt(_good_file(tmp_path), how)
    with pytest.raises(hfonnx.WeightError) as e:
        hfonnx.load_weights(tmp_path)
    msg = str(e.value)
    assert what in msg and str(p) in msg


def test_no_weights_in_folder(tmp_path):
    with pytest.raises(hfonnx.WeightError, match="no weights found"):
        hfonnx.load_weights(tmp_path)


def test_bad_index(tmp_path):
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {"w": "x.safetensors"}}))
    with pytest.raises(hfonnx.WeightError, match="x.safetensors"):
        hfonnx.load_weights(tmp_path)


def test_bin_without_torch_is_a_clear_error(tmp_path, monkeypatch):
    torch.save({"w": torch.zeros(2)}, tmp_path / "pytorch_model.bin")
    monkeypatch.setitem(__import__("sys").modules, "torch", None)  # import torch -> ImportError
    with pytest.raises(hfonnx.HfonnxError, match="needs torch") as e:
        hfonnx.load_weights(tmp_path)
    assert "pytorch_model.bin" in str(e.value)


def test_sharded_index_bad_json(tmp_path):
    (tmp_path / "model.safetensors.index.json").write_text("{nope")
    with pytest.raises(hfonnx.WeightError, match="not valid JSON"):
        hfonnx.load_weights(tmp_path)
