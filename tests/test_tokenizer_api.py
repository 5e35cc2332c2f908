"""hfonnx tokenizers: loading, saving, pickling, threads, fork, bad input, and
small hand-made pipelines checked against the `tokenizers` library itself."""
import json
import os
import pickle
import shutil
import subprocess
import sys
import threading

import numpy as np
import pytest

transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")
import hfonnx  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
# where the hfonnx being tested lives (the checkout after an in-place build, or
# site-packages after pip install): a child process must import the same one
HFONNX_HOME = os.path.dirname(os.path.dirname(os.path.abspath(hfonnx.__file__)))
DATA = os.path.join(HERE, "data", "tokenizers")
UNCASED = os.path.join(DATA, "bert-base-uncased")
CHINESE_VOCAB = os.path.join(DATA, "bert-base-chinese", "vocab.txt")
KEYS = dict(return_offsets_mapping=True, return_special_tokens_mask=True)


def _lines():
    with open(os.path.join(DATA, "text", "mixed.txt"), encoding="utf-8", newline="") as f:
        return f.read().split("\n")


def as_lists(enc):
    return {k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in dict(enc).items()}


@pytest.fixture(scope="module")
def ref():
    return transformers.BertTokenizerFast.from_pretrained(UNCASED)


@pytest.fixture(scope="module")
def tok():
    return hfonnx.BertTokenizer.from_pretrained(UNCASED)


# --- loading -----------------------------------------------------------------
def test_constructor_from_vocab_file():
    lines = _lines()
    for lower in (True, False):
        ours = hfonnx.BertTokenizer(CHINESE_VOCAB, do_lower_case=lower)
        ref = transformers.BertTokenizer(vocab=CHINESE_VOCAB, do_lower_case=lower)
        assert as_lists(ours(lines, **KEYS)) == as_lists(ref(lines, **KEYS))
    ours = hfonnx.BertTokenizer(CHINESE_VOCAB, do_lower_case=True, strip_accents=False,
                                tokenize_chinese_chars=False)
    ref = transformers.BertTokenizer(vocab=CHINESE_VOCAB, do_lower_case=True, strip_accents=False,
                                     tokenize_chinese_chars=False)
    assert as_lists(ours(lines, **KEYS)) == as_lists(ref(lines, **KEYS))


def test_vocab_txt_line_separator():
    """vocab.txt is split on \\n only: bert-base-chinese line 344 is U+2028."""
    ours = hfonnx.BertTokenizer(CHINESE_VOCAB, do_lower_case=False)
    ref = transformers.BertTokenizer(vocab=CHINESE_VOCAB, do_lower_case=False)
    assert ours.vocab_size == ref.vocab_size == 21128
    assert ours.get_vocab() == ref.get_vocab()


@pytest.mark.parametrize("files", [
    {"tokenizer.json"},
    {"vocab.txt"},
    {"vocab.txt", "tokenizer_config.json"},
    {"vocab.txt", "config.json"},
    {"tokenizer.json", "tokenizer_config.json", "config.json", "vocab.txt"},
])
def test_auto_tokenizer_picks_bert(tmp_path, files, ref):
    for f in files:
        shutil.copy(os.path.join(UNCASED, f), tmp_path / f)
    ours = hfonnx.AutoTokenizer.from_pretrained(str(tmp_path))
    assert isinstance(ours, hfonnx.BertTokenizer)
    lines = _lines()
    assert as_lists(ours(lines, **KEYS)) == as_lists(ref(lines, **KEYS))


BAD_FOLDERS = [  # (files to write, message fragment)
    ({"tokenizer_config.json": '{"tokenizer_class": "T5Tokenizer"}'}, "T5Tokenizer"),
    ({"tokenizer.json": '{"model": {"type": "WordLevel", "vocab": {"a": 0}}}'}, "WordLevel"),
    ({"config.json": '{"model_type": "gpt2"}'}, "gpt2"),
    ({}, "no tokenizer files"),
    ({"tokenizer.json": "{not json"}, "tokenizer.json: not valid JSON"),
    ({"tokenizer_config.json": "[1, 2"}, "tokenizer_config.json: not valid JSON"),
    ({"tokenizer.json": '{"model": {"type": "WordPiece"}}'}, "model.vocab is missing"),
    ({"tokenizer.json": '{"added_tokens": []}'}, "no 'model' section"),
    ({"vocab.txt": ""}, "empty vocabulary"),
    ({"vocab.txt": b"\xff\xfe[PAD]\n"}, "vocab.txt: not UTF-8"),
]


@pytest.mark.parametrize("files,message", BAD_FOLDERS)
def test_auto_tokenizer_errors(tmp_path, files, message):
    for name, content in files.items():
        mode = "wb" if isinstance(content, bytes) else "w"
        with open(tmp_path / name, mode) as f:
            f.write(content)
    with pytest.raises(hfonnx.TokenizerError, match=message):
        hfonnx.AutoTokenizer.from_pretrained(str(tmp_path))


def test_missing_files_name_the_file(tmp_path):
    with pytest.raises(hfonnx.TokenizerError, match="nope.txt"):
        hfonnx.BertTokenizer(str(tmp_path / "nope.txt"))
    with pytest.raises(hfonnx.TokenizerError, match="not a folder"):
        hfonnx.AutoTokenizer.from_pretrained(str(tmp_path / "missing"))
    with pytest.raises(hfonnx.TokenizerError):
        hfonnx.BertTokenizer.from_pretrained(str(tmp_path))
    assert issubclass(hfonnx.TokenizerError, ValueError)


# --- saving and pickling -----------------------------------------------------------
@pytest.mark.parametrize("source", ["tokenizer.json", "vocab.txt"])
def test_save_pretrained_round_trip(tmp_path, source, ref):
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(os.path.join(UNCASED, source), src / source)
    shutil.copy(os.path.join(UNCASED, "tokenizer_config.json"), src / "tokenizer_config.json")
    ours = hfonnx.BertTokenizer.from_pretrained(str(src))
    out = tmp_path / "saved"
    written = ours.save_pretrained(str(out))
    assert all(os.path.exists(p) for p in written)
    again = hfonnx.AutoTokenizer.from_pretrained(str(out))
    theirs = transformers.AutoTokenizer.from_pretrained(str(out))
    lines = _lines()
    expected = as_lists(ref(lines, **KEYS))
    assert as_lists(again(lines, **KEYS)) == expected
    assert as_lists(theirs(lines, **KEYS)) == expected
    assert again.model_max_length == theirs.model_max_length == ref.model_max_length
    assert again.get_vocab() == theirs.get_vocab()


def test_pickle_in_another_process(tmp_path, tok, ref):
    lines = _lines()[:100]
    path = tmp_path / "tok.pkl"
    path.write_bytes(pickle.dumps(tok))
    script = (
        "import json, pickle, sys\n"
        "tok = pickle.load(open(sys.argv[1], 'rb'))\n"
        "lines = json.load(open(sys.argv[2]))\n"
        "enc = tok(lines, return_offsets_mapping=True, return_special_tokens_mask=True)\n"
        "print(json.dumps({k: v for k, v in enc.items()}))\n")
    (tmp_path / "lines.json").write_text(json.dumps(lines))
    env = dict(os.environ, PYTHONPATH=HFONNX_HOME + os.pathsep + os.environ.get("PYTHONPATH", ""))
    res = subprocess.run([sys.executable, "-c", script, str(path), str(tmp_path / "lines.json")],
                         capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    got = json.loads(res.stdout)
    expected = json.loads(json.dumps(as_lists(ref(lines, **KEYS))))
    assert got == expected
    assert as_lists(pickle.loads(pickle.dumps(tok))(lines, **KEYS)) == as_lists(tok(lines, **KEYS))


# --- bad input ----------------------------------------------------------------------
BAD_CALLS = [  # (args, kwargs, exception, message fragment)
    ((["ok", 3, "x"],), {}, TypeError, r"text\[1\]"),
    ((["ok", None],), {}, TypeError, r"text\[1\]"),
    ((["a", "b"], ["c", b"d"]), {}, TypeError, r"text_pair\[1\]"),
    ((["a", "b"], ["c"]), {}, ValueError, "batch length"),
    ((["a"], "b"), {}, TypeError, "text_pair"),
    ((3,), {}, ValueError, "text input"),
    ((None,), {}, ValueError, "text"),
    (("ok \ud800 bad",), {}, hfonnx.TokenizerError, "surrogate"),
    ((["fine", "x\udfffy"],), {}, hfonnx.TokenizerError, "batch index 1"),
    (("x",), {"padding": "sideways"}, ValueError, "padding"),
    (("x",), {"truncation": "middle"}, ValueError, "truncation"),
    (("x",), {"max_length": -1}, ValueError, "max_length"),
    (("x",), {"return_tensors": "tf"}, hfonnx.TokenizerError, "return_tensors"),
    (("x",), {"padding_side": "up", "padding": True}, ValueError, "padding_side"),
    ((["a", "b c d"],), {"return_tensors": "np"}, ValueError, "padding"),
    (("x",), {"bogus_argument": 1}, TypeError, "bogus_argument"),
]


@pytest.mark.parametrize("args,kw,exc,msg", BAD_CALLS)
def test_bad_input(tok, args, kw, exc, msg):
    with pytest.raises(exc, match=msg):
        tok(*args, **kw)


def test_surrogates_are_clear_in_transformers_too(ref):
    with pytest.raises(Exception):
        ref("ok \ud800 bad")


# --- threads and fork ------------------------------------------------------------
def test_threads_give_identical_output(tok):
    lines = _lines() * 20
    before = hfonnx.get_num_threads()
    try:
        hfonnx.set_num_threads(1)
        one = as_lists(tok(lines, padding=True, return_tensors="np", **KEYS))
        hfonnx.set_num_threads(4)
        four = as_lists(tok(lines, padding=True, return_tensors="np", **KEYS))
        assert one == four
        hfonnx.set_num_threads(0)
        assert hfonnx.get_num_threads() >= 1
    finally:
        hfonnx.set_num_threads(before)


def test_concurrent_python_threads(tok):
    lines = _lines() * 5
    expected = as_lists(tok(lines, **KEYS))
    results, errors = [], []

    def work():
        try:
            for _ in range(3):
                results.append(as_lists(tok(lines, **KEYS)))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)
    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    assert len(results) == 12 and all(r == expected for r in results)


def test_fork_after_use(tmp_path):
    script = (
        "import os, sys, json\n"
        "import hfonnx\n"
        "tok = hfonnx.BertTokenizer.from_pretrained(sys.argv[1])\n"
        "with open(sys.argv[2], encoding='utf-8') as f:\n"
        "    lines = f.read().split('\\n') * 10\n"
        "hfonnx.set_num_threads(2)\n"
        "base = len(os.listdir('/proc/self/task'))\n"
        "parent = tok(lines)['input_ids']\n"
        "assert len(os.listdir('/proc/self/task')) > base  # the pool is running\n"
        "for _ in range(2):\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        child = tok(lines)['input_ids']\n"
        "        os._exit(0 if child == parent else 3)\n"
        "    assert len(os.listdir('/proc/self/task')) <= base  # no idle workers across fork (OpenBLAS stops its own too)\n"
        "    _, status = os.waitpid(pid, 0)\n"
        "    assert tok(lines)['input_ids'] == parent\n"
        "    assert os.waitstatus_to_exitcode(status) == 0, status\n"
        "print('ok')\n")
    env = dict(os.environ, PYTHONPATH=HFONNX_HOME + os.pathsep + os.environ.get("PYTHONPATH", ""))
    res = subprocess.run([sys.executable, "-W", "error", "-c", script, UNCASED,
                          os.path.join(DATA, "text", "mixed.txt")],
                         capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr
    assert res.stderr == ""


# --- hand-made pipelines vs the tokenizers library ----------------------------------
TINY_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "ba", "##na", "un", "##aff", "##able",
              "a", "b", "##b", "hello", "world", "!", "##s", "<tag>", "new", "token", "é", "e",
              "##é", "x", "##x", "[", "]"]
ADDED = [  # (content, special, normalized, lstrip, rstrip, single_word)
    ("<tag>", False, True, False, False, False),
    ("MY_TOKEN", False, False, True, True, False),
    ("word", False, False, False, False, True),
    ("[SPECIAL]", True, False, True, False, False),
    ("ÉTÉ", False, True, False, False, False),
]
TINY_TEXTS = ["banana", "unaffable bananas", "hello world!", "Hello   MY_TOKEN   world",
              "a<tag>b <TAG> x", "sword word words word!", "xx [SPECIAL] ba", "été ÉTÉ ete",
              "bb", "ununaffable", "", "   ", "baba [MASK] na", "[CLS]x[SEP]", "nañana"]


def _tiny_tokenizer(lowercase, max_chars=100):
    from tokenizers import AddedToken, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece
    vocab = {t: i for i, t in enumerate(TINY_VOCAB)}
    tk = Tokenizer(WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=max_chars))
    tk.normalizer = normalizers.BertNormalizer(lowercase=lowercase)
    tk.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tk.decoder = decoders.WordPiece()
    tk.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    tk.add_special_tokens([AddedToken(t, normalized=False) for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")])
    for content, special, normalized, lstrip, rstrip, single_word in ADDED:
        at = AddedToken(content, special=special, normalized=normalized, lstrip=lstrip, rstrip=rstrip,
                        single_word=single_word)
        if special:
            tk.add_special_tokens([at])
        else:
            tk.add_tokens([at])
    return tk


@pytest.mark.parametrize("lowercase", [True, False])
@pytest.mark.parametrize("max_chars", [100, 5])
def test_tiny_pipeline_vs_tokenizers(tmp_path, lowercase, max_chars):
    tk = _tiny_tokenizer(lowercase, max_chars)
    tk.save(str(tmp_path / "tokenizer.json"))
    ours = hfonnx.BertTokenizer.from_pretrained(str(tmp_path))
    got = ours(TINY_TEXTS, **KEYS)
    for i, enc in enumerate(tk.encode_batch(TINY_TEXTS)):
        assert got["input_ids"][i] == enc.ids, TINY_TEXTS[i]
        assert got["token_type_ids"][i] == enc.type_ids
        assert got["special_tokens_mask"][i] == enc.special_tokens_mask
        assert [tuple(o) for o in got["offset_mapping"][i]] == [tuple(o) for o in enc.offsets], TINY_TEXTS[i]
        assert ours.decode(enc.ids) == tk.decode(enc.ids, skip_special_tokens=False)
        assert ours.decode(enc.ids, skip_special_tokens=True) == tk.decode(enc.ids)
    pairs = tk.encode_batch(list(zip(TINY_TEXTS, reversed(TINY_TEXTS))))
    got = ours(TINY_TEXTS, list(reversed(TINY_TEXTS)), **KEYS)
    for i, enc in enumerate(pairs):
        assert got["input_ids"][i] == enc.ids
        assert got["token_type_ids"][i] == enc.type_ids


def test_numpy_and_torch_outputs(tok, ref):
    lines = _lines()[:64]
    for rt in ("np", "pt"):
        a = tok(lines, padding=True, truncation=True, max_length=32, return_tensors=rt, **KEYS)
        b = ref(lines, padding=True, truncation=True, max_length=32, return_tensors=rt, **KEYS)
        for k in b:
            assert type(a[k]) is type(b[k]) and a[k].dtype == b[k].dtype
            assert np.array_equal(np.asarray(a[k]), np.asarray(b[k])), k
    enc = tok("hello")
    assert enc.input_ids == enc["input_ids"]
    with pytest.raises(AttributeError):
        enc.nonexistent  # noqa: B018
