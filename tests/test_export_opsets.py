"""Every opset hfonnx accepts (14..23) gives files that pass onnx's checker
and compute what PyTorch computes: before 17 LayerNormalization is
decomposed, from 18 the reductions take their axes as an input."""
import numpy as np
import onnx
import onnxruntime as ort
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import hfonnx  # noqa: E402

OPSETS = [14, 16, 17, 18, 21, 23]


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    bert = transformers.BertModel(transformers.BertConfig(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37, vocab_size=50)).eval()
    t5 = transformers.T5ForConditionalGeneration(transformers.T5Config(
        vocab_size=99, d_model=32, d_kv=8, d_ff=48, num_layers=2, num_heads=4, decoder_start_token_id=0)).eval()
    return bert, t5


def run(path, feeds):
    onnx.checker.check_model(str(path), full_check=True)
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feeds)


@pytest.mark.parametrize("opset", OPSETS)
def test_opsets(models, opset, tmp_path):
    bert, t5 = models
    ids = torch.randint(0, 50, (2, 9), generator=torch.Generator().manual_seed(opset))
    mask = torch.ones_like(ids)
    mask[1, 6:] = 0
    real = mask.numpy().astype(bool)

    hfonnx.export(bert, tmp_path / "bert", opset=opset)
    assert onnx.load(str(tmp_path / "bert" / "model.onnx")).opset_import[0].version == opset
    got = run(tmp_path / "bert" / "model.onnx", {"input_ids": ids.numpy(), "attention_mask": mask.numpy(),
                                                 "token_type_ids": np.zeros_like(ids.numpy())})[0]
    with torch.no_grad():
        ref = bert(input_ids=ids, attention_mask=mask).last_hidden_state.numpy()
    assert np.abs(got - ref)[real].max() <= 1e-4

    hfonnx.export(t5, tmp_path / "t5", opset=opset, task="text2text-generation", with_past=False)
    enc = run(tmp_path / "t5" / "encoder_model.onnx", {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})[0]
    dec_ids = np.zeros((2, 3), np.int64)
    logits = run(tmp_path / "t5" / "decoder_model.onnx", {"input_ids": dec_ids, "encoder_attention_mask": mask.numpy(),
                                                          "encoder_hidden_states": enc})[0]
    with torch.no_grad():
        ref = t5(input_ids=ids, attention_mask=mask, decoder_input_ids=torch.from_numpy(dec_ids)).logits.numpy()
    assert np.abs(logits - ref).max() <= 1e-4


@pytest.mark.parametrize("opset", [12, 24])
def test_unsupported_opsets_are_refused(models, opset, tmp_path):
    with pytest.raises((hfonnx.UnsupportedModelError, ValueError), match=str(opset)):
        hfonnx.export(models[0], tmp_path / "x", opset=opset)
    assert not (tmp_path / "x").exists()
