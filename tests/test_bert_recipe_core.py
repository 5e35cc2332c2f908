"""The BERT recipe in C (csrc/models/) over the graph engine, without Python
glue, built with AddressSanitizer, UBSan and LeakSanitizer: every task's file
must pass onnx's checker and match transformers given the same weights."""
import numpy as np

from _bert_models import TOL, batch, check_file, max_diff, ort_run, torch_run
from _sanitized import CSRC, build, onnx_protobuf, run


def _build(tmp_path):
    gen, pb = onnx_protobuf(tmp_path)
    sources = [p for d in ("common", "graph", "models") for p in sorted((CSRC / d).glob("*.c"))
               if not p.name.endswith(".pb-c.c")]
    return build(tmp_path, "bert_recipe.c", [*sources, pb], includes=[gen, CSRC / "graph"],
                 libs=["-lprotobuf-c", "-lm"])


def _transformers_model(cls, table, **extra):
    """The C program's weights (0.1 sin(0.37 k + i), LayerNorm scales 1 + that) in `cls`."""
    import torch
    import transformers
    cfg = transformers.BertConfig(vocab_size=11, hidden_size=8, num_hidden_layers=2,
                                  num_attention_heads=2, intermediate_size=16,
                                  max_position_embeddings=9, type_vocab_size=3,
                                  layer_norm_eps=1e-5, hidden_act="gelu_new", **extra)
    model = cls(cfg).eval()
    sd = model.state_dict()
    base = "" if cls is transformers.BertModel else "bert."
    new = {}
    for i, name in table:
        key = name[len("bert."):] if name.startswith("bert.") else name
        key = base + key if not key.startswith(("classifier", "qa_outputs", "cls.")) else key
        if key not in sd:
            continue
        k = np.arange(sd[key].numel(), dtype=np.float64)
        v = (1.0 if "LayerNorm.weight" in name else 0.0) + 0.1 * np.sin(0.37 * k + i)
        new[key] = torch.from_numpy(v.astype(np.float32).reshape(tuple(sd[key].shape)))
    if "cls.predictions.decoder.bias" in sd:
        new["cls.predictions.decoder.bias"] = new["cls.predictions.bias"]
    missing = set(sd) - set(new) - {"cls.predictions.decoder.weight", "embeddings.position_ids",
                                    "bert.embeddings.position_ids"}
    assert not missing, missing
    model.load_state_dict(new, strict=False)
    if hasattr(model, "tie_weights"):
        model.tie_weights()
    return model


def test_bert_recipe_under_sanitizers(tmp_path):
    import transformers
    exe = _build(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    r = run(exe, out, timeout=None)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr
    assert "all checks passed" in r.stdout
    table = [(int(ln.split()[1]), ln.split()[2]) for ln in r.stdout.splitlines() if ln.startswith("W ")]

    base = _transformers_model(transformers.BertModel, table)
    feeds = batch(base.config, lengths=(9, 4, 1))
    ref = torch_run(base, feeds)
    mask = feeds["attention_mask"]
    m = mask[..., None].astype(np.float32)
    h = ref.last_hidden_state.numpy()
    pooled = {"mean": (h * m).sum(1) / np.clip(m.sum(1), 1e-9, None),
              "max": np.where(m > 0, h, -1e9).max(1), "pooler": ref.pooler_output.numpy()}
    for how, want in pooled.items():
        check_file(out / f"bert_{how}.onnx")
        got = ort_run(out / f"bert_{how}.onnx", feeds)
        assert max_diff(got["last_hidden_state"], h, mask) <= TOL
        assert max_diff(got["sentence_embedding"], want) <= TOL, how

    heads = [("text-classification", transformers.BertForSequenceClassification,
              dict(num_labels=3), lambda o: {"logits": o.logits}),
             ("token-classification", transformers.BertForTokenClassification,
              dict(num_labels=3), lambda o: {"logits": o.logits}),
             ("question-answering", transformers.BertForQuestionAnswering, {},
              lambda o: {"start_logits": o.start_logits, "end_logits": o.end_logits}),
             ("fill-mask", transformers.BertForMaskedLM, {}, lambda o: {"logits": o.logits})]
    for task, cls, extra, outs in heads:
        model = _transformers_model(cls, table, **extra)
        want = {k: v.numpy() for k, v in outs(torch_run(model, feeds)).items()}
        check_file(out / f"bert_{task}.onnx")
        got = ort_run(out / f"bert_{task}.onnx", feeds)
        for k, v in want.items():
            per_token = v.ndim >= 2 and v.shape[1] == mask.shape[1]
            assert max_diff(got[k], v, mask if per_token else None) <= TOL, (task, k)
