"""hfonnx.load_config: folder or file, errors name the file."""
import json

import pytest

import hfonnx


def test_folder_and_file(tmp_path):
    cfg = {"model_type": "bert", "hidden_size": 32}
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    assert hfonnx.load_config(tmp_path) == cfg
    assert hfonnx.load_config(str(tmp_path / "config.json")) == cfg


def test_matches_transformers(tmp_path):
    transformers = pytest.importorskip("transformers")
    c = transformers.BertConfig(hidden_size=48, num_attention_heads=3, hidden_act="gelu_new")
    c.save_pretrained(tmp_path)
    got = hfonnx.load_config(tmp_path)
    assert got["hidden_size"] == 48 and got["hidden_act"] == "gelu_new"
    assert got["model_type"] == "bert"


@pytest.mark.parametrize("content, what", [
    (None, "no such file"),
    (b"{not json", "not valid JSON"),
    (b"[1, 2]", "expected a JSON object"),
    (b"\xff\xfe", "not valid JSON"),
])
def test_errors_name_the_file(tmp_path, content, what):
    if content is not None:
        (tmp_path / "config.json").write_bytes(content)
    with pytest.raises(hfonnx.HfonnxError) as e:
        hfonnx.load_config(tmp_path)
    assert what in str(e.value) and "config.json" in str(e.value)
