"""The graph engine in C on its own, built with AddressSanitizer, UBSan and
LeakSanitizer: the files it writes must pass onnx's checker and run."""
import numpy as np
import onnx
import onnxruntime as ort

from _sanitized import CSRC, build, onnx_protobuf, run


def _build(tmp_path):
    gen, pb = onnx_protobuf(tmp_path)
    sources = [p for p in sorted((CSRC / "graph").glob("*.c")) if not p.name.endswith(".pb-c.c")]
    sources.append(CSRC / "common" / "arena.c")
    return build(tmp_path, "graph_core.c", [*sources, pb], includes=[gen, CSRC / "graph"],
                 libs=["-lprotobuf-c"])


def test_graph_core_under_sanitizers(tmp_path):
    exe = _build(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    r = run(exe, out)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "all checks passed" in r.stdout
    assert sorted(p.name for p in out.iterdir()) == ["branches.onnx", "core.data", "core.onnx", "core_ext.onnx",
                                                     "one.onnx", "shared.bin", "three.onnx", "two.onnx"]
    w = (np.arange(64 * 64) % 7).astype(np.float32).reshape(64, 64)
    ones = np.ones((1, 64), np.float32)
    assert np.array_equal(ort.InferenceSession(str(out / "one.onnx")).run(None, {"x": ones})[0], ones @ w)
    assert np.array_equal(ort.InferenceSession(str(out / "three.onnx")).run(None, {"x": ones})[0], ones @ w.T)
    assert (out / "shared.bin").stat().st_size == 2 * w.nbytes and list((out / "two.onnx").iterdir()) == []
    onnx.checker.check_model(str(out / "branches.onnx"), full_check=True)
    branches = ort.InferenceSession(str(out / "branches.onnx"))
    xv = np.array([1.5, -3.0], np.float32)
    assert branches.run(None, {"x": xv, "flag": np.array(True)})[0].tolist() == [3.0, -6.0]
    assert branches.run(None, {"x": xv, "flag": np.array(False)})[0].tolist() == [-1.5, 3.0]

    x = np.random.default_rng(0).standard_normal((2, 3, 8)).astype(np.float32)
    results = []
    for name in ["core.onnx", "core_ext.onnx"]:
        onnx.checker.check_model(str(out / name), full_check=True)
        results.append(ort.InferenceSession(str(out / name)).run(None, {"x": x})[0])
    # the same math in numpy (weights as the C program made them)
    w = (np.arange(64, dtype=np.float32) / 64).reshape(8, 8)
    wk = np.ones((8, 8), np.float32)
    q = (x @ w.T).reshape(2, 3, 2, 4).transpose(0, 2, 1, 3)
    k = (x @ wk.T).reshape(2, 3, 2, 4).transpose(0, 2, 3, 1)
    s = q @ k / 2
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    ref = (p @ q).mean(axis=1)
    for got in results:
        assert np.abs(got - ref).max() < 1e-4
