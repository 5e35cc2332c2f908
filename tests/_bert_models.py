"""Shared helpers of the BERT export tests: tiny random BERTs, padded batches,
and onnxruntime-vs-PyTorch comparison.  References are always transformers."""
import os

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402

TOL = 1e-4

# Four shapes of BertModel: sizes, head counts, activations, eps, vocabularies.
CONFIGS = {
    "gelu-h32-l2": dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, hidden_act="gelu", vocab_size=120,
                        type_vocab_size=2, layer_norm_eps=1e-12, max_position_embeddings=64),
    "gelu_new-h48-l3": dict(hidden_size=48, num_hidden_layers=3, num_attention_heads=6,
                            intermediate_size=96, hidden_act="gelu_new", vocab_size=257,
                            type_vocab_size=3, layer_norm_eps=1e-5, max_position_embeddings=40),
    "relu-h64-l1": dict(hidden_size=64, num_hidden_layers=1, num_attention_heads=4,
                        intermediate_size=160, hidden_act="relu", vocab_size=99,
                        type_vocab_size=1, layer_norm_eps=1e-7, max_position_embeddings=32),
    "silu-h40-l2": dict(hidden_size=40, num_hidden_layers=2, num_attention_heads=5,
                        intermediate_size=72, hidden_act="silu", vocab_size=310,
                        type_vocab_size=4, layer_norm_eps=1e-6, max_position_embeddings=50),
}


def make_model(cls=transformers.BertModel, seed=0, **cfg):
    """A random BERT whose every parameter (LayerNorm too) is perturbed, so a
    swapped or missing weight changes the output."""
    torch.manual_seed(seed)
    config = transformers.BertConfig(initializer_range=0.08, **cfg)
    model = cls(config).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return model


def batch(config, lengths=(11, 7, 3), seed=1):
    """A right-padded batch: int64 input_ids, attention_mask, token_type_ids."""
    rng = np.random.default_rng(seed)
    b, s = len(lengths), max(lengths)
    ids = rng.integers(0, config.vocab_size, (b, s))
    types = rng.integers(0, config.type_vocab_size, (b, s))
    mask = np.zeros((b, s), np.int64)
    for i, n in enumerate(lengths):
        mask[i, :n] = 1
    ids[mask == 0] = 0
    types[mask == 0] = 0
    return {"input_ids": ids.astype(np.int64), "attention_mask": mask,
            "token_type_ids": types.astype(np.int64)}


def torch_run(model, feeds):
    with torch.no_grad():
        return model(**{k: torch.from_numpy(v) for k, v in feeds.items()})


def ort_run(path, feeds, outputs=None):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = outputs or [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, feeds)))


def check_file(path):
    onnx.checker.check_model(str(path), full_check=True)
    return onnx.load(str(path), load_external_data=False)


def max_diff(a, b, mask=None):
    d = np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))
    if mask is not None:
        d = d[mask.astype(bool)]
    return float(d.max())


def reference_pool(hidden, mask, how, pooler_output=None):
    """sentence-transformers' Pooling (cls / mean / max) in numpy, or BertPooler."""
    m = mask[..., None].astype(np.float32)
    if how == "cls":
        return hidden[:, 0]
    if how == "mean":
        return (hidden * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
    if how == "max":
        return np.where(m > 0, hidden, -1e9).max(1)
    if how == "pooler":
        return pooler_output
    raise ValueError(how)
