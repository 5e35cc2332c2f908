"""The graph engine in C on its own, built with AddressSanitizer, UBSan and
LeakSanitizer: the files it writes must pass onnx's checker and run."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

ROOT = Path(__file__).resolve().parent.parent
CSRC = ROOT / "csrc"


def build(tmp_path):
    if shutil.which("protoc-c") is None or shutil.which("gcc") is None:
        pytest.skip("protoc-c or gcc is not installed")
    gen = tmp_path / "gen"
    gen.mkdir()
    shutil.copy(CSRC / "graph" / "onnx.proto", gen)
    subprocess.run(["protoc-c", f"--proto_path={gen}", f"--c_out={gen}", str(gen / "onnx.proto")], check=True)
    sources = [str(p) for p in sorted((CSRC / "graph").glob("*.c")) if not p.name.endswith(".pb-c.c")]
    exe = tmp_path / "graph_core"
    cmd = ["gcc", "-std=c11", "-g", "-O1", "-Wall", "-Wextra", "-Werror", "-D_GNU_SOURCE",
           "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined", "-fno-omit-frame-pointer",
           f"-I{CSRC}", f"-I{gen}", f"-I{CSRC / 'graph'}", str(ROOT / "tests" / "c" / "graph_core.c"),
           *sources, str(gen / "onnx.pb-c.c"), "-lprotobuf-c", "-o", str(exe)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0 and "asan" in r.stderr.lower() and "cannot find" in r.stderr:
        pytest.skip("this gcc has no AddressSanitizer runtime")
    assert r.returncode == 0, r.stderr
    return exe


def test_graph_core_under_sanitizers(tmp_path):
    exe = build(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0", UBSAN_OPTIONS="print_stacktrace=1")
    env.pop("LD_PRELOAD", None)
    r = subprocess.run([str(exe), str(out)], capture_output=True, text=True, env=env)
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
