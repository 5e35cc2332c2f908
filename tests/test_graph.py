"""hfonnx.Graph: build, save, check and run small models; misuse fails at the call.

References are numpy computations of the same math; files must pass
onnx.checker.check_model(full_check=True) and run in onnxruntime.
"""
import os

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import hfonnx


def run(path, feeds):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def test_user_builds_saves_and_runs_a_model(tmp_path):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((3, 4)).astype(np.float32)        # a torch Linear weight: [out, in]
    b = rng.standard_normal(3).astype(np.float32)
    g = hfonnx.Graph("head", opset=17)
    x = g.input("x", "float32", ["batch_size", "sequence_length", 4])
    wt = g.initializer("dense.weight", w, transpose=True)
    h = g.Tanh(x @ wt + g.initializer("dense.bias", b))
    pooled = g.ReduceMean(h, axes=[1], keepdims=0)
    probs = g.Softmax(pooled, axis=-1)
    out = g.output(probs, "probs")
    assert out.shape == ("batch_size", 3)
    assert out.dtype == "float32"
    path = tmp_path / "head.onnx"
    g.save(path)
    onnx.checker.check_model(str(path), full_check=True)

    xv = rng.standard_normal((2, 5, 4)).astype(np.float32)
    got = run(path, {"x": xv})[0]
    hv = np.tanh(xv @ w.T + b).mean(axis=1)
    ref = np.exp(hv) / np.exp(hv).sum(-1, keepdims=True)
    assert np.abs(got - ref).max() < 1e-5
    assert [p.name for p in tmp_path.iterdir()] == ["head.onnx"]    # no temp file left


def test_model_metadata_and_names(tmp_path):
    g = hfonnx.Graph("g")
    x = g.input("x", "float32", [2])
    g.set_producer("hfonnx", hfonnx.__version__)
    g.set_metadata("source_model", "tiny")
    g.output(g.op("Relu", x, name="/block/act/Relu"), "y")
    g.save(tmp_path / "m.onnx")
    m = onnx.load(str(tmp_path / "m.onnx"))
    assert m.producer_name == "hfonnx" and m.producer_version == hfonnx.__version__
    assert {p.key: p.value for p in m.metadata_props} == {"source_model": "tiny"}
    assert [n.name for n in m.graph.node] == ["/block/act/Relu"]
    assert m.opset_import[0].version == hfonnx.DEFAULT_OPSET


def test_constants_are_shared(tmp_path):
    g = hfonnx.Graph("g")
    x = g.input("x", "float32", [2])
    c1, c2 = g.constant(np.float32(2.0)), g.constant(np.float32(2.0))
    assert c1 == c2
    y = (x * 2.0) + (x * 2.0)
    g.output(y, "y")
    g.save(tmp_path / "m.onnx")
    m = onnx.load(str(tmp_path / "m.onnx"))
    assert len(m.graph.initializer) == 1
    assert run(tmp_path / "m.onnx", {"x": np.array([1, 2], np.float32)})[0].tolist() == [4, 8]


@pytest.mark.parametrize("src", ["float16", "bfloat16"])
def test_half_precision_weights_stored_as_float32(tmp_path, src):
    vals = np.array([[1.5, -2.25, 65504.0], [6.1e-05, 0.0, -0.0]], np.float32)
    if src == "float16":
        arr, kw, ref = vals.astype(np.float16), {}, vals.astype(np.float16).astype(np.float32)
    else:
        bits = (vals.view(np.uint32) >> 16).astype(np.uint16)           # truncate to bf16
        arr, kw, ref = bits, {"source_dtype": "bfloat16"}, (bits.astype(np.uint32) << 16).view(np.float32)
    g = hfonnx.Graph("g")
    x = g.input("x", "float32", [3, 2])
    w = g.initializer("w", arr, transpose=True, dtype="float32", **kw)
    g.output(g.Add(x, w), "y")
    g.save(tmp_path / "m.onnx")
    got = run(tmp_path / "m.onnx", {"x": np.zeros((3, 2), np.float32)})[0]
    assert np.array_equal(got, ref.T)


def test_large_transposed_weight_streams_in_chunks(tmp_path):
    # bigger than the writer's 1 MiB chunk, so the transpose crosses chunks
    rng = np.random.default_rng(1)
    w = rng.standard_normal((700, 600)).astype(np.float32)
    g = hfonnx.Graph("g")
    x = g.input("x", "float32", [1, 600])
    g.output(x @ g.initializer("w", w, transpose=True), "y")
    g.save(tmp_path / "m.onnx")
    stored = onnx.numpy_helper.to_array(onnx.load(str(tmp_path / "m.onnx")).graph.initializer[0])
    assert np.array_equal(stored, w.T)


@pytest.mark.parametrize("external", [True, "weights.bin"])
def test_external_data(tmp_path, external):
    w = np.arange(4096, dtype=np.float32).reshape(64, 64)
    g = hfonnx.Graph("g")
    x = g.input("x", "float32", [1, 64])
    g.output(x @ g.initializer("w", w), "y")
    g.save(tmp_path / "model.onnx", external_data=external)
    data_name = "model.onnx_data" if external is True else external
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["model.onnx", data_name])
    onnx.checker.check_model(str(tmp_path / "model.onnx"), full_check=True)
    xv = np.ones((1, 64), np.float32)
    assert np.array_equal(run(tmp_path / "model.onnx", {"x": xv})[0], xv @ w)


# Each misuse, what it raises, and a phrase the message must contain.
MISUSE = [
    ("unknown op", lambda g, x, i: g.op("Matmul", x, x), "unknown ONNX op 'Matmul'"),
    ("unknown attribute", lambda g, x, i: g.op("Softmax", x, axes=1), "unknown attribute 'axes'"),
    ("attribute type", lambda g, x, i: g.op("Softmax", x, axis="1"), "must be an int"),
    ("missing attribute", lambda g, x, i: g.op("Concat", x, x), "required attribute 'axis'"),
    ("dtype mismatch", lambda g, x, i: g.op("Add", x, i), "must have one dtype"),
    ("index dtype", lambda g, x, i: g.op("Gather", x, x), "must be int32 or int64"),
    ("input count", lambda g, x, i: g.op("MatMul", x), "takes 2 inputs"),
    ("op too new", lambda g, x, i: g.op("Gelu", x), "needs opset 20"),
    ("axes input too early", lambda g, x, i: g.op("ReduceMean", x, [1]), "at most 1 inputs"),
    ("attr too late", lambda g, x, i: g.op("Unsqueeze", x, axes=[0]), "does not exist at opset"),
    ("domain not imported", lambda g, x, i: g.op("FastGelu", x, domain="com.microsoft"), "not imported"),
    ("duplicate input name", lambda g, x, i: g.input("x", "float32", [1]), "already has a value named 'x'"),
]


@pytest.mark.parametrize("what,call,phrase", MISUSE, ids=[m[0] for m in MISUSE])
def test_misuse_raises_at_the_call(what, call, phrase):
    g = hfonnx.Graph("g")
    x = g.input("x", "float32", ["n", 4])
    i = g.input("i", "int64", ["n", 4])
    with pytest.raises(hfonnx.GraphError, match=phrase):
        call(g, x, i)
    # the graph stays usable after a caught mistake
    g.output(g.Relu(x), "y")


def test_cannot_write_leaves_nothing(tmp_path):
    g = hfonnx.Graph("g")
    g.output(g.Relu(g.input("x", "float32", [1])), "y")
    with pytest.raises(hfonnx.ExportError, match="No such file"):
        g.save(tmp_path / "missing" / "m.onnx")
    ro = tmp_path / "ro"
    ro.mkdir()
    os.chmod(ro, 0o500)
    try:
        if os.access(ro, os.W_OK):       # root ignores permissions
            pytest.skip("running as a user who can write anywhere")
        with pytest.raises(hfonnx.ExportError):
            g.save(ro / "m.onnx")
        assert list(ro.iterdir()) == []
    finally:
        os.chmod(ro, 0o700)


def test_output_needs_a_known_shape():
    g = hfonnx.Graph("g")
    x = g.input("x", "float32", None)           # unknown rank
    with pytest.raises(hfonnx.GraphError, match="could not be inferred"):
        g.output(g.Relu(x), "y")
    assert g.output(g.Relu(x), "y", shape=["n"]).shape == ("n",)


def test_values_of_another_graph_are_refused():
    g1, g2 = hfonnx.Graph("a"), hfonnx.Graph("b")
    x1 = g1.input("x", "float32", [1])
    x2 = g2.input("x", "float32", [1])
    with pytest.raises(ValueError, match="another graph"):
        g2.op("Add", x1, x2)


def test_shape_inference_through_common_ops():
    g = hfonnx.Graph("g")
    x = g.input("x", "float32", ["batch_size", "sequence_length", 8])
    ids = g.input("ids", "int64", ["batch_size", "sequence_length"])
    emb = g.Gather(g.initializer("e", np.zeros((10, 8), np.float32)), ids)
    assert emb.shape == ("batch_size", "sequence_length", 8)
    heads = g.Transpose(g.Reshape(x, np.array([0, 0, 2, 4])), perm=[0, 2, 1, 3])
    assert heads.shape == ("batch_size", 2, "sequence_length", 4)
    scores = heads @ g.Transpose(heads, perm=[0, 1, 3, 2])
    assert scores.shape == ("batch_size", 2, "sequence_length", "sequence_length")
    cls = g.Gather(x, np.array(0), axis=1)
    assert cls.shape == ("batch_size", 8)
    assert g.Unsqueeze(ids, np.array([1, 2])).shape == ("batch_size", 1, 1, "sequence_length")
    assert g.Concat(x, x, axis=-1).shape == ("batch_size", "sequence_length", 16)
    assert g.Shape(x).shape == (3,)


def test_bfloat16_arrays_from_the_loader_are_recognised(tmp_path):
    from hfonnx.weights import BFloat16Array
    vals = np.array([1.0, -2.5, 3.140625], np.float32)            # exact in bfloat16
    bits = (vals.view(np.uint32) >> 16).astype(np.uint16).view(BFloat16Array)
    g = hfonnx.Graph("g")
    x = g.input("x", "float32", [3])
    w = g.initializer("w", bits, dtype="float32")                  # no source_dtype needed
    g.output(x + w, "y")
    g.save(tmp_path / "m.onnx")
    assert np.array_equal(run(tmp_path / "m.onnx", {"x": np.zeros(3, np.float32)})[0], vals)


def test_numpy_operands_on_either_side(tmp_path):
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    g = hfonnx.Graph("g")
    x = g.input("x", "float32", [3, 2])
    y = a @ x                                  # ndarray on the left: still a MatMul node
    z = 2.0 * y - np.float32(1.0)
    g.output(z, "z")
    g.save(tmp_path / "m.onnx")
    xv = np.ones((3, 2), np.float32)
    assert np.array_equal(run(tmp_path / "m.onnx", {"x": xv})[0], 2.0 * (a @ xv) - 1.0)


def test_if_with_subgraphs(tmp_path):
    g = hfonnx.Graph("g")
    x = g.input("x", "float32", ["n", 3])
    flag = g.input("flag", "bool", [])
    w = np.arange(9, dtype=np.float32).reshape(3, 3)
    then_g, else_g = g.subgraph("then"), g.subgraph("else")
    then_g.output(x @ then_g.initializer("w", w), "then_y")          # weights of a branch live in the main graph
    else_g.output(-x, "else_y")
    y = g.If(flag, then_branch=then_g, else_branch=else_g)
    assert y.shape == ("n", 3)
    g.output(y, "y")
    g.save(tmp_path / "m.onnx")
    m = onnx.load(str(tmp_path / "m.onnx"))
    assert [i.name for i in m.graph.initializer] == ["w"]
    xv = np.ones((2, 3), np.float32)
    assert np.array_equal(run(tmp_path / "m.onnx", {"x": xv, "flag": np.array(True)})[0], xv @ w)
    assert np.array_equal(run(tmp_path / "m.onnx", {"x": xv, "flag": np.array(False)})[0], -xv)


def test_subgraph_scopes_are_checked():
    g = hfonnx.Graph("g")
    x = g.input("x", "float32", [3])
    a, b = g.subgraph("a"), g.subgraph("b")
    inner = a.Relu(x)
    with pytest.raises(hfonnx.GraphError, match="cannot see"):
        b.Neg(inner)                         # a sibling's value
    with pytest.raises(hfonnx.GraphError, match="cannot see"):
        g.Neg(inner)                         # an inner value from outside
    a.output(inner, "a_y")
    b.output(g.constant(np.float32(1.0)) + x, "b_y")
    with pytest.raises(hfonnx.GraphError, match="must be bool"):
        g.If(x, then_branch=a, else_branch=b)
    with pytest.raises(hfonnx.GraphError, match="subgraph"):
        a.save("never.onnx")


def _model_reading(w, name):
    g = hfonnx.Graph(name)
    x = g.input("x", "float32", [1, 64])
    g.output(x @ g.initializer("w", w), "y")
    return g


def test_external_data_shared_by_two_models(tmp_path):
    w = np.arange(4096, dtype=np.float32).reshape(64, 64)
    other = np.ones((64, 64), np.float32)
    a, b = _model_reading(w, "a"), _model_reading(w, "b")
    c = _model_reading(other, "c")
    with hfonnx.ExternalData(tmp_path / "shared.bin") as store:
        a.save(tmp_path / "a.onnx", external_data=store)
        b.save(tmp_path / "b.onnx", external_data=store)      # w is already there
        assert store.size == w.nbytes
        c.save(tmp_path / "c.onnx", external_data=store)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.onnx", "b.onnx", "c.onnx", "shared.bin"]
    assert (tmp_path / "shared.bin").stat().st_size == w.nbytes + other.nbytes   # each stored once
    xv = np.ones((1, 64), np.float32)
    for name, ref in [("a", w), ("b", w), ("c", other)]:
        onnx.checker.check_model(str(tmp_path / f"{name}.onnx"), full_check=True)
        assert np.array_equal(run(tmp_path / f"{name}.onnx", {"x": xv})[0], xv @ ref)


def test_external_data_discarded_on_error(tmp_path):
    w = np.ones((64, 64), np.float32)
    with pytest.raises(hfonnx.GraphError, match="folder of its external data"):
        with hfonnx.ExternalData(tmp_path / "shared.bin") as store:
            _model_reading(w, "a").save(tmp_path / "a.onnx", external_data=store)
            (tmp_path / "sub").mkdir()
            _model_reading(w, "b").save(tmp_path / "sub" / "b.onnx", external_data=store)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.onnx", "sub"]   # no data file, no temp
    with pytest.raises(ValueError, match="discarded"):
        _model_reading(w, "c").save(tmp_path / "c.onnx", external_data=store)


# ---- regressions from review: each once crashed, corrupted or wrote an invalid model ----

def test_attributes_of_other_domains_are_checked_too():
    g = hfonnx.Graph("g")
    g.import_domain("com.microsoft", 1)
    x = g.input("x", "float32", [3])
    with pytest.raises(hfonnx.GraphError, match="tensor attribute"):
        g.op("FusedFoo", x, domain="com.microsoft", t=x)                    # an input is no tensor
    w16 = g.initializer("w", np.ones(4, np.float16), dtype="float32")
    with pytest.raises(hfonnx.GraphError, match="tensor attribute"):
        g.op("FusedFoo", x, domain="com.microsoft", t=w16)                  # converted while writing
    s = g.subgraph("s")
    with pytest.raises(hfonnx.GraphError, match="graph attribute"):
        s.op("Loop", x, domain="com.microsoft", body=s)                     # a graph holding itself


def test_shared_store_tells_apart_views_of_one_array(tmp_path):
    a = np.arange(2048, dtype=np.float32).reshape(64, 32)
    g = hfonnx.Graph("g")
    x = g.input("x", "float32", [1, 64])
    y = g.input("y", "float32", [1, 32])
    g.output(y @ g.initializer("w1", a, transpose=True), "o1")               # [32, 64]
    g.output(x @ g.initializer("w2", a.reshape(32, 64), transpose=True), "o2")   # same bytes, [64, 32]
    with hfonnx.ExternalData(tmp_path / "d.bin") as store:
        g.save(tmp_path / "m.onnx", external_data=store)
    o1, o2 = run(tmp_path / "m.onnx", {"x": np.ones((1, 64), np.float32), "y": np.ones((1, 32), np.float32)})
    assert np.array_equal(o1, np.ones((1, 32), np.float32) @ a.T)
    assert np.array_equal(o2, np.ones((1, 64), np.float32) @ a.reshape(32, 64).T)


def test_big_endian_arrays_are_stored_little_endian(tmp_path):
    g = hfonnx.Graph("g")
    x = g.input("x", "float32", [2])
    w = g.initializer("w", np.array([1.0, 2.0], ">f4"))
    g.output(x + w + g.constant(np.array([3.0, 4.0], ">f4")), "y")
    g.save(tmp_path / "m.onnx")
    assert run(tmp_path / "m.onnx", {"x": np.zeros(2, np.float32)})[0].tolist() == [4.0, 6.0]


def test_derived_names_never_collide(tmp_path):
    g = hfonnx.Graph("g")
    x = g.input("x", "float32", [2])
    g.output(g.Relu(x), "Relu_1_output_0")
    r = g.Relu(x)                        # Relu_1 would name its output Relu_1_output_0
    assert r.name != "Relu_1_output_0"
    g.output(r, "z")
    g.save(tmp_path / "m.onnx")
    onnx.checker.check_model(str(tmp_path / "m.onnx"), full_check=True)


def test_branches_are_complete_and_closed(tmp_path):
    g = hfonnx.Graph("g")
    x = g.input("x", "float32", [2])
    c = g.input("c", "bool", [])
    a, b = g.subgraph("a"), g.subgraph("b")
    with pytest.raises(hfonnx.GraphError, match="no inputs of its own"):
        a.input("z", "float32", [2])
    a.output(x, "a_x")                   # an outer value: handed on through an Identity
    b.output(b.Neg(x), "b_y")
    g.output(g.If(c, then_branch=a, else_branch=b), "y")
    with pytest.raises(hfonnx.GraphError, match="already a branch"):
        a.output(a.Relu(x), "late")
    with pytest.raises(hfonnx.GraphError, match="cannot see"):
        g.output(b["b_y"], "leak")       # a branch's value outside it
    g.save(tmp_path / "m.onnx")
    onnx.checker.check_model(str(tmp_path / "m.onnx"), full_check=True)
    assert run(tmp_path / "m.onnx", {"x": np.array([1, 2], np.float32), "c": np.array(True)})[0].tolist() == [1, 2]


SCHEMA_CASES = [
    ("Pad without pads", lambda g, x: g.op("Pad", x), "takes 2 to 4 inputs"),
    ("Unsqueeze without axes", lambda g, x: g.op("Unsqueeze", x), "axes as input 1"),
    ("Constant without a value", lambda g, x: g.op("Constant"), "exactly one value"),
]


@pytest.mark.parametrize("what,call,phrase", SCHEMA_CASES, ids=[c[0] for c in SCHEMA_CASES])
def test_schema_rejects_what_onnx_rejects(what, call, phrase):
    g = hfonnx.Graph("g")
    with pytest.raises(hfonnx.GraphError, match=phrase):
        call(g, g.input("x", "float32", [2]))


def test_cast_to_string_is_valid(tmp_path):
    g = hfonnx.Graph("g")
    x = g.input("x", "float32", [2])
    s = g.Cast(x, to=8)
    assert s.dtype == "string"
    g.output(s, "s")
    g.save(tmp_path / "m.onnx")
    onnx.checker.check_model(str(tmp_path / "m.onnx"), full_check=True)
