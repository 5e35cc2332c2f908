"""T5 export: encoder_model / decoder_model / decoder_with_past_model in
onnxruntime against the same random-init model in PyTorch (transformers).

Each config exercises a different part of the recipe: ReLU with tied
embeddings (t5-small's shape), gated-GELU with an untied LM head (t5 v1.1 /
flan-t5's shape), more decoder than encoder layers, few buckets with a short
max_distance so the inputs reach the logarithmic buckets and beyond.
"""
import numpy as np
import onnx
import onnxruntime as ort
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import hfonnx  # noqa: E402

TOL = 1e-4

CONFIGS = {
    "relu-tied": dict(vocab_size=101, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4,
                      relative_attention_num_buckets=32, relative_attention_max_distance=128),
    "gated-gelu-untied": dict(vocab_size=97, d_model=48, d_kv=16, d_ff=40, num_layers=2, num_heads=3,
                              feed_forward_proj="gated-gelu", tie_word_embeddings=False,
                              relative_attention_num_buckets=16, relative_attention_max_distance=24),
    "deep-decoder": dict(vocab_size=64, d_model=24, d_kv=6, d_ff=32, num_layers=1, num_decoder_layers=3,
                         num_heads=2, layer_norm_epsilon=1e-3, relative_attention_num_buckets=8,
                         relative_attention_max_distance=12),
}


def make_model(name, seed=0):
    torch.manual_seed(seed)
    cfg = transformers.T5Config(decoder_start_token_id=0, pad_token_id=0, eos_token_id=1, **CONFIGS[name])
    return transformers.T5ForConditionalGeneration(cfg).eval()


def session(path):
    onnx.checker.check_model(str(path), full_check=True)
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def batch(vocab, batch_size=3, length=40, seed=1):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(2, vocab, (batch_size, length), generator=g)
    mask = torch.ones_like(ids)
    mask[1, 25:] = 0            # padded rows
    mask[2, 7:] = 0
    return ids, mask


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def exported(request, tmp_path_factory):
    """A model, its saved folder, and its export from that folder."""
    model = make_model(request.param)
    folder = tmp_path_factory.mktemp(request.param)
    model.save_pretrained(folder / "src")
    paths = hfonnx.export(folder / "src", folder / "onnx", task="text2text-generation")
    return model, folder / "onnx", paths


def test_files_and_names(exported):
    model, out, paths = exported
    names = sorted(p.rsplit("/", 1)[-1] for p in map(str, paths))
    for f in ["encoder_model.onnx", "decoder_model.onnx", "decoder_with_past_model.onnx",
              "decoder_model_merged.onnx", "config.json"]:
        assert f in names
    n = model.config.num_decoder_layers
    dec = session(out / "decoder_model.onnx")
    assert [i.name for i in dec.get_inputs()] == ["input_ids", "encoder_attention_mask", "encoder_hidden_states"]
    want = ["logits"] + [f"present.{i}.{s}.{kv}" for i in range(n) for s in ("decoder", "encoder")
                         for kv in ("key", "value")]
    assert sorted(o.name for o in dec.get_outputs()) == sorted(want)
    past = session(out / "decoder_with_past_model.onnx")
    assert sorted(o.name for o in past.get_outputs()) == sorted(
        ["logits"] + [f"present.{i}.decoder.{kv}" for i in range(n) for kv in ("key", "value")])
    assert {f"past_key_values.{i}.encoder.key" for i in range(n)} <= {i.name for i in past.get_inputs()}


def test_encoder_and_decoder_match_pytorch(exported):
    model, out, _ = exported
    ids, mask = batch(model.config.vocab_size)
    dec_ids = torch.randint(0, model.config.vocab_size, (3, 6), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ref = model(input_ids=ids, attention_mask=mask, decoder_input_ids=dec_ids, use_cache=True)
    enc = session(out / "encoder_model.onnx").run(None, {"input_ids": ids.numpy(),
                                                          "attention_mask": mask.numpy()})[0]
    real = mask.numpy().astype(bool)
    assert np.abs(enc - ref.encoder_last_hidden_state.numpy())[real].max() <= TOL

    dec = session(out / "decoder_model.onnx")
    got = dec.run(None, {"input_ids": dec_ids.numpy(), "encoder_attention_mask": mask.numpy(),
                         "encoder_hidden_states": ref.encoder_last_hidden_state.numpy()})
    assert np.abs(got[0] - ref.logits.numpy()).max() <= TOL
    # the caches it presents are transformers' own, layer by layer
    names = [o.name for o in dec.get_outputs()]
    cache = ref.past_key_values
    for i in range(model.config.num_decoder_layers):
        self_k = got[names.index(f"present.{i}.decoder.key")]
        cross_v = got[names.index(f"present.{i}.encoder.value")]
        assert np.abs(self_k - cache.self_attention_cache.layers[i].keys.numpy()).max() <= TOL
        assert np.abs(cross_v - cache.cross_attention_cache.layers[i].values.numpy()).max() <= TOL


class MergedDecoder:
    """decoder_model_merged.onnx behind the two-session interface: the first
    call (no caches) takes the no-cache branch with empty caches."""

    def __init__(self, path, config):
        self.sess = session(path)
        self.n, self.heads, self.d_kv = config.num_decoder_layers, config.num_heads, config.d_kv

    def get_outputs(self):
        return self.sess.get_outputs()

    def run(self, _, feeds):
        feeds = dict(feeds)
        first = "encoder_hidden_states" in feeds
        batch_size = feeds["input_ids"].shape[0]
        if first:
            empty = np.zeros((batch_size, self.heads, 0, self.d_kv), np.float32)
            for i in range(self.n):
                for part in ("decoder", "encoder"):
                    for kv in ("key", "value"):
                        feeds[f"past_key_values.{i}.{part}.{kv}"] = empty
        else:
            feeds["encoder_hidden_states"] = np.zeros((batch_size, 0, self.sess.get_inputs()[2].shape[2]),
                                                      np.float32)
        feeds["use_cache_branch"] = np.array([not first])
        return self.sess.run(None, feeds)


@pytest.mark.parametrize("merged", [False, True], ids=["two-decoders", "merged-decoder"])
def test_greedy_decoding_with_past_matches_pytorch(exported, merged):
    """Decode step by step with the cached decoder; PyTorch recomputes each step
    from the whole prefix (no cache), so the caches are checked too."""
    model, out, _ = exported
    ids, mask = batch(model.config.vocab_size, length=30, seed=3)
    steps = 12
    enc = session(out / "encoder_model.onnx").run(None, {"input_ids": ids.numpy(),
                                                          "attention_mask": mask.numpy()})[0]
    if merged:
        dec = past = MergedDecoder(out / "decoder_model_merged.onnx", model.config)
    else:
        dec = session(out / "decoder_model.onnx")
        past = session(out / "decoder_with_past_model.onnx")
    names = [o.name for o in dec.get_outputs()]
    past_names = [o.name for o in past.get_outputs()]
    tokens = np.full((3, 1), model.config.decoder_start_token_id, np.int64)
    outs = dec.run(None, {"input_ids": tokens, "encoder_attention_mask": mask.numpy(),
                          "encoder_hidden_states": enc})
    caches = {n.replace("present", "past_key_values"): v for n, v in zip(names[1:], outs[1:])}
    with torch.no_grad():
        enc_ref = model.encoder(input_ids=ids, attention_mask=mask)
    for step in range(steps):
        with torch.no_grad():
            ref = model(encoder_outputs=enc_ref, attention_mask=mask,
                        decoder_input_ids=torch.from_numpy(tokens), use_cache=False).logits[:, -1].numpy()
        logits = outs[0][:, -1]
        assert np.abs(logits - ref).max() <= TOL, f"step {step}"
        assert np.array_equal(logits.argmax(-1), ref.argmax(-1))
        nxt = logits.argmax(-1)[:, None].astype(np.int64)
        tokens = np.concatenate([tokens, nxt], 1)
        outs = past.run(None, {"input_ids": nxt, "encoder_attention_mask": mask.numpy(), **caches})
        for n, v in zip(past_names[1:], outs[1:]):
            caches[n.replace("present", "past_key_values")] = v
    assert caches["past_key_values.0.decoder.key"].shape[2] == steps + 1


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_live_model_and_encoder_only(name, tmp_path):
    model = make_model(name, seed=5)
    paths = hfonnx.export(model, tmp_path, task="feature-extraction")
    assert sorted(p.rsplit("/", 1)[-1] for p in map(str, paths)) == ["config.json", "encoder_model.onnx"]
    ids, mask = batch(model.config.vocab_size, seed=6)
    with torch.no_grad():
        ref = model.encoder(input_ids=ids, attention_mask=mask).last_hidden_state.numpy()
    got = session(tmp_path / "encoder_model.onnx").run(None, {"input_ids": ids.numpy(),
                                                               "attention_mask": mask.numpy()})[0]
    assert np.abs(got - ref)[mask.numpy().astype(bool)].max() <= TOL


def test_t5_encoder_model_class(tmp_path):
    torch.manual_seed(0)
    model = transformers.T5EncoderModel(transformers.T5Config(**CONFIGS["relu-tied"])).eval()
    model.save_pretrained(tmp_path / "src")
    hfonnx.export(tmp_path / "src", tmp_path / "out")
    ids, mask = batch(model.config.vocab_size)
    with torch.no_grad():
        ref = model(input_ids=ids, attention_mask=mask).last_hidden_state.numpy()
    got = session(tmp_path / "out" / "encoder_model.onnx").run(None, {"input_ids": ids.numpy(),
                                                                       "attention_mask": mask.numpy()})[0]
    assert np.abs(got - ref)[mask.numpy().astype(bool)].max() <= TOL


def test_errors(tmp_path):
    model = make_model("relu-tied")
    cfg = model.config.to_dict()
    weights = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    bad = dict(weights)
    del bad["decoder.block.1.layer.1.EncDecAttention.k.weight"]
    with pytest.raises(hfonnx.WeightError, match="decoder.block.1.layer.1.EncDecAttention.k.weight"):
        hfonnx.export((cfg, bad), tmp_path / "a", task="text2text-generation")
    assert not (tmp_path / "a").exists()
    bad = dict(weights, **{"encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight":
                           np.zeros((7, 4), np.float32)})
    with pytest.raises(hfonnx.WeightError, match=r"shape \[7, 4\], expected \[32, 4\]"):
        hfonnx.export((cfg, bad), tmp_path / "b")
    with pytest.raises(hfonnx.UnsupportedModelError, match="feed_forward|gated-foo|unsupported"):
        hfonnx.export((dict(cfg, feed_forward_proj="gated-foo", dense_act_fn="foo"), weights), tmp_path / "c")
    with pytest.raises(hfonnx.UnsupportedModelError, match="task 'fill-mask'"):
        hfonnx.export((cfg, weights), tmp_path / "d", task="fill-mask")
    with pytest.raises(hfonnx.UnsupportedModelError, match="pooling head 'pooler'"):
        hfonnx.export((cfg, weights), tmp_path / "e", head="pooler")
    with pytest.raises(hfonnx.UnsupportedModelError, match="feature-extraction task only"):
        hfonnx.export((cfg, weights), tmp_path / "f", task="text2text-generation", head="mean")
    assert list(tmp_path.iterdir()) == []


def test_shared_external_data(tmp_path):
    model = make_model("gated-gelu-untied")
    paths = hfonnx.export(model, tmp_path, task="text2text-generation", external_data=True)
    names = sorted(p.rsplit("/", 1)[-1] for p in map(str, paths))
    assert "model.onnx_data" in names and not any(n.endswith(".onnx_data") and n != "model.onnx_data" for n in names)
    # every weight once: the data file holds no more than the checkpoint (plus alignment)
    weights = sum(t.numel() * 4 for t in model.state_dict().values())
    assert (tmp_path / "model.onnx_data").stat().st_size <= weights + 4096 * len(model.state_dict())
    ids, mask = batch(model.config.vocab_size)
    dec_ids = torch.zeros((3, 2), dtype=torch.long)
    with torch.no_grad():
        ref = model(input_ids=ids, attention_mask=mask, decoder_input_ids=dec_ids)
    enc = session(tmp_path / "encoder_model.onnx").run(None, {"input_ids": ids.numpy(),
                                                               "attention_mask": mask.numpy()})[0]
    for f in ("decoder_model.onnx", "decoder_with_past_model.onnx", "decoder_model_merged.onnx"):
        session(tmp_path / f)
    logits = session(tmp_path / "decoder_model.onnx").run(None, {
        "input_ids": dec_ids.numpy(), "encoder_attention_mask": mask.numpy(), "encoder_hidden_states": enc})[0]
    assert np.abs(logits - ref.logits.numpy()).max() <= TOL


@pytest.mark.parametrize("head", ["mean", "max", "cls", "custom"])
def test_encoder_sentence_embeddings(head, tmp_path):
    """Pooled T5 encoder states (sentence-t5 style), named heads and a user's head."""
    model = make_model("relu-tied", seed=7)
    ids, mask = batch(model.config.vocab_size, seed=8)
    with torch.no_grad():
        h = model.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
    m = mask[..., None].float()
    if head == "mean":
        ref = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
    elif head == "max":
        ref = h.masked_fill(m == 0, -1e9).max(1).values
    elif head == "cls":
        ref = h[:, 0]
    else:
        ref = torch.nn.functional.normalize((h * m).sum(1) / m.sum(1), dim=-1)

    def l2_mean(graph, out):
        fm = graph.Cast(graph.Unsqueeze(out["attention_mask"], np.array([-1])), to=1)
        mean = graph.ReduceSum(out["last_hidden_state"] * fm, np.array([1]), keepdims=0) / \
            graph.ReduceSum(fm, np.array([1]), keepdims=0)
        norm = graph.Sqrt(graph.ReduceSum(mean * mean, np.array([-1]), keepdims=1))
        return {"embedding": mean / norm}

    hfonnx.export(model, tmp_path, head=l2_mean if head == "custom" else head, opset=18)
    sess = session(tmp_path / "encoder_model.onnx")
    want = "embedding" if head == "custom" else "sentence_embedding"
    assert want in [o.name for o in sess.get_outputs()]
    got = sess.run([want], {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})[0]
    assert np.abs(got - ref.numpy()).max() <= TOL


def test_merged_decoder_of_a_deep_model(tmp_path):
    """65 and more If outputs (t5-large has 24 decoder layers: 97)."""
    torch.manual_seed(0)
    cfg = transformers.T5Config(vocab_size=32, d_model=8, d_kv=4, d_ff=8, num_layers=1, num_decoder_layers=24,
                                num_heads=2, decoder_start_token_id=0)
    model = transformers.T5ForConditionalGeneration(cfg).eval()
    hfonnx.export(model, tmp_path, task="text2text-generation")
    merged = MergedDecoder(tmp_path / "decoder_model_merged.onnx", cfg)
    assert len(merged.get_outputs()) == 1 + 4 * 24
    ids, mask = batch(32, batch_size=3, length=5)
    enc = session(tmp_path / "encoder_model.onnx").run(None, {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})[0]
    dec_ids = np.zeros((3, 1), np.int64)
    got = merged.run(None, {"input_ids": dec_ids, "encoder_attention_mask": mask.numpy(), "encoder_hidden_states": enc})[0]
    with torch.no_grad():
        ref = model(input_ids=ids, attention_mask=mask, decoder_input_ids=torch.from_numpy(dec_ids)).logits.numpy()
    assert np.abs(got - ref).max() <= TOL
