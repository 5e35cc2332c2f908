"""Bad input to hfonnx.export: each a clear exception naming what is wrong,
and no file left behind in the output folder."""
import json
import os

import pytest
import torch
import transformers
from safetensors.torch import load_file, save_file

import hfonnx
from _bert_models import CONFIGS, make_model


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A saved tiny BertModel folder (copied per test before being damaged)."""
    d = tmp_path_factory.mktemp("src")
    model = make_model(**CONFIGS["gelu-h32-l2"])
    model.save_pretrained(d, safe_serialization=True)
    (d / "vocab.txt").write_text("[PAD]\n[UNK]\n")
    return d


def _copy(src, dst):
    dst.mkdir()
    for f in os.listdir(src):
        (dst / f).write_bytes((src / f).read_bytes())
    return dst


def _edit_config(folder, **changes):
    cfg = json.loads((folder / "config.json").read_text())
    cfg.update(changes)
    (folder / "config.json").write_text(json.dumps(cfg))


def _edit_weights(folder, fn):
    w = load_file(folder / "model.safetensors")
    fn(w)
    save_file(w, folder / "model.safetensors", metadata={"format": "pt"})


def _fails(src, out, exc, *fragments, **kw):
    with pytest.raises(exc) as e:
        hfonnx.export(src, out, **kw)
    msg = str(e.value)
    for f in fragments:
        assert f in msg, (f, msg)
    assert not out.exists() or os.listdir(out) == [], os.listdir(out)
    return msg


def test_missing_weight(source, tmp_path):
    src = _copy(source, tmp_path / "src")
    _edit_weights(src, lambda w: w.pop("encoder.layer.1.attention.self.key.weight"))
    msg = _fails(src, tmp_path / "out", hfonnx.WeightError,
                 "missing weight", "encoder.layer.1.attention.self.key.weight")
    assert "bert.encoder.layer.1.attention.self.key.weight" in msg  # the prefixes tried
    with pytest.raises(KeyError):  # WeightError is a KeyError too
        hfonnx.export(src, tmp_path / "out")


def test_wrong_shape_weight(source, tmp_path):
    src = _copy(source, tmp_path / "src")
    _edit_weights(src, lambda w: w.__setitem__("encoder.layer.0.intermediate.dense.weight",
                                               torch.zeros(64, 31)))
    _fails(src, tmp_path / "out", hfonnx.WeightError,
           "encoder.layer.0.intermediate.dense.weight", "[64, 31]", "expected [64, 32]")


def test_missing_head_weight(source, tmp_path):
    _fails(source, tmp_path / "out", hfonnx.WeightError, "classifier.weight",
           task="text-classification")


@pytest.mark.parametrize("act", ["mish", "gelu_10"])
def test_unsupported_hidden_act(source, tmp_path, act):
    src = _copy(source, tmp_path / "src")
    _edit_config(src, hidden_act=act)
    _fails(src, tmp_path / "out", hfonnx.UnsupportedModelError, f"'{act}'", "gelu_new", "silu")


@pytest.mark.parametrize("changes, fragment", [
    (dict(model_type="gpt2", architectures=["GPT2LMHeadModel"]), "'gpt2'"),
    (dict(architectures=["RobertaModel"]), "'RobertaModel'"),
    (dict(position_embedding_type="relative_key"), "'relative_key'"),
    (dict(hidden_size=33), "not a multiple of num_attention_heads"),
])
def test_unsupported_model(source, tmp_path, changes, fragment):
    src = _copy(source, tmp_path / "src")
    _edit_config(src, **changes)
    _fails(src, tmp_path / "out", hfonnx.UnsupportedModelError, fragment)


@pytest.mark.parametrize("kw, fragment", [
    (dict(task="summarization"), "'summarization'"),
    (dict(head="median"), "'median'"),
    (dict(task="fill-mask", head="mean"), "feature-extraction"),
    (dict(opset=13), "opset 13"),
])
def test_unsupported_arguments(source, tmp_path, kw, fragment):
    _fails(source, tmp_path / "out", hfonnx.UnsupportedModelError, fragment, **kw)


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_bad_safetensors(source, tmp_path, damage):
    src = _copy(source, tmp_path / "src")
    p = src / "model.safetensors"
    raw = p.read_bytes()
    p.write_bytes(raw[: len(raw) // 2] if damage == "truncate" else b"\x00\x01garbage" * 100)
    _fails(src, tmp_path / "out", hfonnx.WeightError, str(p))


def test_unwritable_output(source, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(hfonnx.ExportError) as e:
        hfonnx.export(source, blocker / "out")
    assert str(blocker) in str(e.value)
    assert blocker.read_text() == "x"
    with pytest.raises(hfonnx.ExportError):
        hfonnx.export(source, blocker)  # a file, not a folder
    assert os.listdir(tmp_path) == ["a_file"]


def test_failed_export_keeps_existing_files(source, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    src = _copy(source, tmp_path / "src")
    _edit_config(src, hidden_act="mish")
    with pytest.raises(hfonnx.UnsupportedModelError):
        hfonnx.export(src, out)
    assert os.listdir(out) == ["keep.txt"]


def test_not_a_model(tmp_path):
    with pytest.raises(hfonnx.HfonnxError, match="not a model folder"):
        hfonnx.export(tmp_path / "nope", tmp_path / "out")
    with pytest.raises(hfonnx.HfonnxError, match="transformers model"):
        hfonnx.export(42, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cli_reports_errors(source, tmp_path, capsys):
    from hfonnx.__main__ import main
    src = _copy(source, tmp_path / "src")
    _edit_config(src, hidden_act="mish")
    assert main(["export", str(src), str(tmp_path / "out")]) == 1
    assert "'mish'" in capsys.readouterr().err
    assert main([]) == 0
    assert "export" in capsys.readouterr().out
