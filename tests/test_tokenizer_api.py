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
    ((["a", "b c d"],), {"return_tensors": "pt"}, ValueError, "padding"),   # np: object arrays
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


def test_pool_splits_every_batch_size(tok, ref):
    """Batches of 1 to 13 rows, on 2, 3 and 5 threads, call after call: each
    worker's range of rows, the rows the others take from it, and the end of
    a job (the caller must not return before the last row is written) give
    transformers' output, as numpy and as lists (streamed in row order)."""
    lines = [ln for ln in _lines() if ln][:13]
    expected = {n: (as_lists(ref(lines[:n], padding=True, return_tensors="np")),
                    as_lists(ref(lines[:n], **KEYS))) for n in range(1, len(lines) + 1)}
    before = hfonnx.get_num_threads()
    try:
        for threads in (2, 3, 5):
            hfonnx.set_num_threads(threads)
            for _ in range(20):
                for n, (np_rows, list_rows) in expected.items():
                    assert as_lists(tok(lines[:n], padding=True, return_tensors="np")) == np_rows, (threads, n)
                    assert as_lists(tok(lines[:n], **KEYS)) == list_rows, (threads, n)
    finally:
        hfonnx.set_num_threads(before)


@pytest.mark.parametrize("kw", [{}, {"padding": True}, KEYS,
                                dict(truncation=True, max_length=8, stride=2, return_overflowing_tokens=True)])
def test_result_lists_stay_out_of_the_gc(tok, ref, kw):
    """Row lists and each key's list of rows hold no container the collector
    must see, so they are untracked (docs/tokenizers.md); the values are still
    transformers', and a collection while the result is alive changes nothing."""
    import gc
    lines = _lines()
    out = tok(lines, **kw)
    for key, rows in dict(out).items():
        assert not gc.is_tracked(rows), key
        assert not any(gc.is_tracked(r) for r in rows), key
    gc.collect()
    assert as_lists(out) == as_lists(ref(lines, **kw))


def test_offset_pairs_shared_and_fresh(tok, ref):
    """Offset pairs the tokenizer keeps (start < 1024, shorter than 32
    characters: shared by every result) and those made fresh (a start past
    1024; one [UNK] word of 120 characters, one of 32) all equal
    transformers', call after call, with and without (left) padding; the
    kept ones are the same objects from call to call, the fresh ones not,
    and none is tracked by the GC."""
    import gc
    texts = ["a" * 120 + " Hello, world! " * 100 + "the end",
             "words " * 300,
             "Short one.", "",
             "x" * 31 + "\u2603 ok"]   # [UNK] at (0, 32): the first length not kept
    for kw in (dict(return_offsets_mapping=True),
               dict(return_offsets_mapping=True, padding=True, padding_side="left")):
        expected = ref(texts, **kw)["offset_mapping"]
        first = tok(texts, **kw)["offset_mapping"]
        second = tok(texts, **kw)["offset_mapping"]
        assert first == expected and second == expected
        assert all(not gc.is_tracked(p) for row in first for p in row)
        unk = next(i for i, p in enumerate(expected[0]) if p == (0, 120))
        late = next(i for i, p in enumerate(expected[0]) if p[0] >= 1024)
        short = next(i for i, p in enumerate(expected[2]) if p == (0, 5))
        assert first[2][short] is second[2][short]
        assert first[0][unk] is not second[0][unk]
        assert first[0][late] is not second[0][late]
        edge = expected[4].index((0, 32))
        assert first[4][edge] is not second[4][edge]
        assert tok(texts[0], **kw)["offset_mapping"] == ref(texts[0], **kw)["offset_mapping"]


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


def test_fork_while_another_thread_streams_lists():
    """fork() from one Python thread while another is inside a call whose
    lists are built as the batch runs (that call takes the GIL between rows,
    and the forking thread holds it): neither the fork nor the child waits
    for the job.  Holding the pool's job lock across fork() hung here
    within a few forks."""
    script = (
        "import os, sys, threading\n"
        "import hfonnx\n"
        "tok = hfonnx.BertTokenizer.from_pretrained(sys.argv[1])\n"
        "with open(sys.argv[2], encoding='utf-8') as f:\n"
        "    lines = [l for l in f.read().split('\\n') if l] * 8\n"
        "hfonnx.set_num_threads(2)\n"
        "expected = tok(lines)['input_ids']\n"
        "stop, wrong = threading.Event(), []\n"
        "def stream():\n"
        "    while not stop.is_set():\n"
        "        if tok(lines)['input_ids'] != expected:\n"
        "            wrong.append(1)\n"
        "th = threading.Thread(target=stream)\n"
        "th.start()\n"
        "try:\n"
        "    for _ in range(40):\n"
        "        pid = os.fork()\n"
        "        if pid == 0:\n"
        "            os._exit(0 if tok(lines)['input_ids'] == expected else 3)\n"
        "        _, status = os.waitpid(pid, 0)\n"
        "        assert os.waitstatus_to_exitcode(status) == 0, status\n"
        "finally:\n"
        "    stop.set()\n"
        "    th.join()\n"
        "assert not wrong\n"
        "print('ok')\n")
    env = dict(os.environ, PYTHONPATH=HFONNX_HOME + os.pathsep + os.environ.get("PYTHONPATH", ""))
    try:
        res = subprocess.run([sys.executable, "-c", script, UNCASED, os.path.join(DATA, "text", "mixed.txt")],
                             capture_output=True, text=True, env=env, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("fork() while another thread streams lists hung (deadlock)")
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr


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
    ("SpÉc", True, True, False, False, False),   # special and normalized: matched normalized too
]
TINY_TEXTS = ["banana", "unaffable bananas", "hello world!", "Hello   MY_TOKEN   world",
              "a<tag>b <TAG> x", "sword word words word!", "xx [SPECIAL] ba", "été ÉTÉ ete",
              "bb", "ununaffable", "", "   ", "baba [MASK] na", "[CLS]x[SEP]", "nañana",
              "spec SpÉc spéc xspec", "²word _word word_ wordé a\u0301word word\u200d \u0663word ‿word"]


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


@pytest.mark.parametrize("single,pair", [("$A $A", "$A $B:1 $A"), ("[CLS] $A [SEP] $A:1", "$B:1 [SEP] $A $B:1")])
def test_template_naming_a_sequence_twice(tmp_path, single, pair):
    """tokenizers accepts a template that repeats a sequence; the output has
    room for every copy (long texts too), as tokenizers gives it."""
    from tokenizers import processors
    tk = _tiny_tokenizer(True)
    tk.post_processor = processors.TemplateProcessing(single=single, pair=pair,
                                                      special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    tk.save(str(tmp_path / "tokenizer.json"))
    ours = hfonnx.BertTokenizer.from_pretrained(str(tmp_path))
    texts = TINY_TEXTS + [" ".join(TINY_TEXTS) * 40]
    for got, ref in ((ours(texts, **KEYS), tk.encode_batch(texts)),
                     (ours(texts, texts[::-1], **KEYS), tk.encode_batch(list(zip(texts, texts[::-1]))))):
        for i, enc in enumerate(ref):
            assert got["input_ids"][i] == enc.ids
            assert got["token_type_ids"][i] == enc.type_ids
            assert got["special_tokens_mask"][i] == enc.special_tokens_mask
            assert [tuple(o) for o in got["offset_mapping"][i]] == [tuple(o) for o in enc.offsets]


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


# --- the rest of transformers' tokenizer API ------------------------------------------
# Every expected value below comes from transformers 5 / tokenizers (BertTokenizerFast,
# T5TokenizerFast loaded from the same folder, put through the same calls), on the
# corpus sample's lines; nothing is an output of our own code.
T5_DIR = os.path.join(DATA, "t5")
SHARED_T5 = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "data", "t5"))
LINES = [line for line in _lines() if line.strip()]
KINDS = {"bert": (hfonnx.BertTokenizer, "BertTokenizerFast", UNCASED),
         "t5": (hfonnx.T5Tokenizer, "T5TokenizerFast", T5_DIR),              # from spiece.model
         "t5-json": (hfonnx.T5Tokenizer, "T5TokenizerFast", SHARED_T5)}      # the real tokenizer.json
NO_SHARED = f"{SHARED_T5} is absent (the shared data folder lives outside the repo)"


def available(kind):
    return os.path.isdir(KINDS[kind][2])


def fresh(kind):
    """(ours, reference) loaded from the same folder, for tests that change them."""
    cls, ref_name, path = KINDS[kind]
    if not os.path.isdir(path):
        pytest.skip(NO_SHARED)
    return cls.from_pretrained(path), getattr(transformers, ref_name).from_pretrained(path)


@pytest.fixture(scope="module", params=sorted(KINDS))
def both(request):
    return fresh(request.param)


def norm(x):
    """Values with their container kind and dtype, comparable with ==."""
    if isinstance(x, np.ndarray):
        return ("np", str(x.dtype), x.shape, norm(x.tolist()) if x.dtype == object else x.tolist())
    if type(x).__module__.startswith("torch"):
        return ("pt", str(x.dtype), tuple(x.shape), x.tolist())
    if isinstance(x, (dict, transformers.BatchEncoding, hfonnx.BatchEncoding)):
        return {k: norm(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [norm(v) for v in x]
    return x


def outcome(fn, *args, **kw):
    """What a call gives: its normalized result, or the kind of exception it raises."""
    try:
        return norm(fn(*args, **kw))
    except Exception as e:  # both libraries must fail alike; tokenizers' Rust errors
        # (impossible truncation) arrive as a bare Exception, ours as TokenizerError
        return ("raises", ValueError if isinstance(e, ValueError) or type(e) is Exception else type(e))


ATTRIBUTES = ["is_fast", "name_or_path", "special_tokens_map", "model_input_names", "padding_side",
              "truncation_side", "model_max_length", "pad_token_type_id", "max_len_single_sentence",
              "max_len_sentences_pair", "all_special_tokens", "all_special_ids", "extra_special_tokens",
              "vocab_size", "pad_token", "pad_token_id", "eos_token_id", "cls_token_id", "sep_token_id",
              "mask_token_id", "unk_token_id", "bos_token_id"]


def check_same_tokenizer(ours, ref, texts=LINES[:60]):
    for a in ATTRIBUTES[2:]:
        assert getattr(ours, a) == getattr(ref, a), a
    assert len(ours) == len(ref)
    assert ours.get_vocab() == ref.get_vocab()
    assert ours.get_added_vocab() == ref.get_added_vocab()
    assert ours.added_tokens_encoder == ref.added_tokens_encoder
    assert ours.added_tokens_decoder == ref.added_tokens_decoder
    assert ref.added_tokens_decoder == ours.added_tokens_decoder
    assert [repr(t) for t in ours.added_tokens_decoder.values()] == \
        [repr(t) for t in ref.added_tokens_decoder.values()]
    kw = dict(return_offsets_mapping=True, return_special_tokens_mask=True)
    a, b = ours(texts, **kw), ref(texts, **kw)
    assert as_lists(a) == as_lists(b)
    assert [a.tokens(i) for i in range(len(texts))] == [b.tokens(i) for i in range(len(texts))]
    half = len(texts) // 2
    pairs = ours(texts[:half], texts[half:2 * half], **kw), ref(texts[:half], texts[half:2 * half], **kw)
    assert as_lists(pairs[0]) == as_lists(pairs[1])
    for t in texts[:10] + texts[-5:]:
        assert ours.tokenize(t) == ref.tokenize(t)
        assert ours.encode(t) == ref.encode(t)
    for skip in (False, True):
        assert ours.batch_decode(b["input_ids"], skip_special_tokens=skip) == \
            ref.batch_decode(b["input_ids"], skip_special_tokens=skip)
        assert ours.convert_ids_to_tokens(b["input_ids"][0], skip_special_tokens=skip) == \
            ref.convert_ids_to_tokens(b["input_ids"][0], skip_special_tokens=skip)


def test_attributes(both):
    ours, ref = both
    for a in ATTRIBUTES:
        assert getattr(ours, a) == getattr(ref, a), a
    check_same_tokenizer(ours, ref)
    assert ours.vocab == ref.vocab and bool(ours) is True
    assert repr(ours) == repr(ref)


# the post-processor's template on ids: BERT [CLS] A [SEP] B [SEP]:1, T5 A </s> B </s>
def test_template_helpers(both):
    ours, ref = both
    for a, b in zip(LINES[:40], LINES[40:80]):
        ia = ref(a, add_special_tokens=False)["input_ids"]
        ib = ref(b, add_special_tokens=False)["input_ids"]
        single = ref(a, return_token_type_ids=True, return_special_tokens_mask=True)
        pair = ref(a, b, return_token_type_ids=True, return_special_tokens_mask=True)
        assert ours.build_inputs_with_special_tokens(ia) == single["input_ids"]
        assert ours.build_inputs_with_special_tokens(ia, ib) == pair["input_ids"]
        assert ours.create_token_type_ids_from_sequences(ia) == single["token_type_ids"]
        assert ours.create_token_type_ids_from_sequences(ia, ib) == pair["token_type_ids"]
        assert ours.get_special_tokens_mask(ia) == single["special_tokens_mask"]
        assert ours.get_special_tokens_mask(ia, ib) == pair["special_tokens_mask"]
        assert ours.get_special_tokens_mask(pair["input_ids"], already_has_special_tokens=True) == \
            ref.get_special_tokens_mask(pair["input_ids"], already_has_special_tokens=True)
        assert ours.build_inputs_with_special_tokens(np.array(ia)) == single["input_ids"]
    with pytest.raises(ValueError):
        ours.get_special_tokens_mask([1, 2], [3], already_has_special_tokens=True)


# --- the call: targets, sides, lengths --------------------------------------------------
SRC, TGT = LINES[:12], LINES[12:24]
TARGET_CALLS = [  # (args, kwargs) of tok(...)
    ((SRC,), dict(text_target=TGT)),
    ((SRC,), dict(text_target=TGT, max_length=12, truncation=True)),
    ((SRC,), dict(text_target=TGT, max_length=12, truncation=True, max_target_length=5)),
    ((SRC,), dict(text_target=TGT, padding=True, return_tensors="pt")),
    ((SRC,), dict(text_target=TGT, padding="max_length", max_length=20, truncation=True,
                  return_tensors="np")),
    ((SRC,), dict(text_target=TGT, padding="max_length", max_length=20, max_target_length=8,
                  truncation=True)),
    ((SRC, SRC[::-1]), dict(text_target=TGT, text_pair_target=TGT[::-1], truncation="only_second",
                            max_length=24)),
    ((SRC[0],), dict(text_target=TGT[0])),
    ((SRC[0],), dict(text_target=TGT[0], return_tensors="pt")),
    ((), dict(text_target=TGT, max_length=10, truncation=True)),
    ((), dict(text_target=TGT[0], text_pair_target=TGT[1])),
    (([s.split() for s in SRC],), dict(text_target=[t.split() for t in TGT], is_split_into_words=True)),
    ((SRC,), dict(text_target=TGT, truncation=True)),   # model_max_length
    ((SRC,), dict(text_target=TGT, tokenizer_kwargs={"max_length": 7, "truncation": True})),
    ((), dict(text_pair=SRC)),                           # neither text nor text_target
]


@pytest.mark.parametrize("args,kw", TARGET_CALLS)
def test_text_target(both, args, kw):
    ours, ref = both
    assert outcome(ours, *args, **kw) == outcome(ref, *args, **kw)


LONG = [" ".join(LINES[i:i + 30]) for i in range(0, 300, 30)]  # longer than model_max_length
SIDE_CALLS = [
    ((LONG,), dict(truncation=True)),
    ((LONG,), dict(truncation=True, padding="max_length")),
    ((LONG[:1],), dict(padding="max_length", truncation=True, return_tensors="np")),
    ((LINES[:9],), dict(padding="max_length")),
    ((LINES[:9],), dict(padding=True, pad_to_multiple_of=8)),
    ((LINES[:9], LINES[9:18]), dict(truncation="longest_first", max_length=20, padding=True)),
    ((LINES[:9], LINES[9:18]), dict(truncation="only_first", max_length=40, padding="max_length")),
    ((LINES[:9], LINES[9:18]), dict(truncation="only_second", max_length=40, stride=4,
                                    return_overflowing_tokens=True)),
    ((LINES[:9],), dict(max_length=10, stride=3, truncation=True, return_overflowing_tokens=True,
                        padding=True, return_offsets_mapping=True)),
]


@pytest.mark.parametrize("padding_side", ["left", "right"])
@pytest.mark.parametrize("truncation_side", ["left", "right"])
@pytest.mark.parametrize("args,kw", SIDE_CALLS)
def test_sides_and_model_max_length(args, kw, padding_side, truncation_side):
    """padding_side / truncation_side set on the tokenizer are honoured, as is
    model_max_length when truncation or padding="max_length" has no max_length."""
    for kind in filter(available, KINDS):
        ours, ref = fresh(kind)
        for t in (ours, ref):
            t.padding_side, t.truncation_side = padding_side, truncation_side
        assert outcome(ours, *args, **kw) == outcome(ref, *args, **kw), kind
        assert outcome(ours, *args, padding_side="left", **kw) == \
            outcome(ref, *args, padding_side="left", **kw), kind


def test_encode_plus_and_batch_encode_plus(both):
    """transformers 4's methods (removed in 5): the call on one input / a batch."""
    ours, ref = both
    kw = dict(max_length=16, truncation=True, padding="max_length", return_special_tokens_mask=True)
    assert as_lists(ours.encode_plus(LINES[0], **kw)) == as_lists(ref(LINES[0], **kw))
    assert as_lists(ours.encode_plus(LINES[0], LINES[1], **kw)) == as_lists(ref(LINES[0], LINES[1], **kw))
    assert as_lists(ours.encode_plus(LINES[0].split(), is_split_into_words=True)) == \
        as_lists(ref(LINES[0].split(), is_split_into_words=True))
    assert norm(ours.encode_plus(LINES[0], return_tensors="pt")) == norm(ref(LINES[0], return_tensors="pt"))
    assert as_lists(ours.batch_encode_plus(LINES[:20], **kw)) == as_lists(ref(LINES[:20], **kw))
    pairs = list(zip(LINES[:20], LINES[20:40]))
    assert as_lists(ours.batch_encode_plus(pairs, **kw)) == as_lists(ref(pairs, **kw))
    words = [line.split() for line in LINES[:20]]
    assert as_lists(ours.batch_encode_plus(words, is_split_into_words=True)) == \
        as_lists(ref(words, is_split_into_words=True))
    with pytest.raises(ValueError, match="batch_encode_plus"):
        ours.encode_plus(LINES[:2])
    with pytest.raises(TypeError):
        ours.batch_encode_plus(LINES[0])


# --- pad and the data collators ---------------------------------------------------------
def _features(tok, n=8, **kw):
    """Dataset rows as a collator gets them: the tokenizer's output per text, with
    extra keys pad must leave alone (an int label, a float label, a list)."""
    rows = []
    for i, line in enumerate(LINES[:n]):
        row = dict(tok(line, **kw))
        row.update(label=i % 3, score=i / 3.0, tags=list(range(i % 4)))
        rows.append(row)
    return rows


PAD_KWARGS = [
    {}, dict(padding="longest"), dict(padding="max_length", max_length=128), dict(padding="max_length"),
    dict(padding=False), dict(pad_to_multiple_of=8), dict(max_length=5), dict(padding_side="left"),
    dict(return_attention_mask=False), dict(return_attention_mask=True), dict(return_tensors="np"),
    dict(return_tensors="pt"), dict(return_tensors="pt", pad_to_multiple_of=16, padding_side="left"),
    dict(padding="sideways"),
]


def _pad_inputs(ref):
    """name -> what is handed to pad (built with the reference tokenizer)."""
    rows = _features(ref, return_special_tokens_mask=True)
    plain = [{k: v for k, v in r.items() if k in ("input_ids", "token_type_ids", "attention_mask")}
             for r in rows]
    enc = ref(LINES[:8], return_special_tokens_mask=True)
    padded_np = ref(LINES[:8], padding=True, return_tensors="np")
    padded_pt = ref(LINES[:8], padding=True, return_tensors="pt")
    return {
        "rows with extra keys": rows,
        "rows without attention_mask": [{"input_ids": r["input_ids"]} for r in rows],
        "rows as numpy": [{k: np.array(v) for k, v in r.items()} for r in plain],
        "rows as torch": [{k: __import__("torch").tensor(v) for k, v in r.items()} for r in plain],
        "a BatchEncoding": enc,
        "a dict of lists": dict(enc),
        "one example": plain[0],
        "one example with extra keys": rows[0],
        "numpy batch": dict(padded_np),
        "torch batch": dict(padded_pt),
        "empty": {"input_ids": []},
        "no input_ids": [{"attention_mask": [1]}],
        "a row with no tokens": plain[:2] + [{"input_ids": [], "token_type_ids": [], "attention_mask": []}],
    }


@pytest.mark.parametrize("kw", PAD_KWARGS, ids=[str(k) for k in PAD_KWARGS])
def test_pad(both, kw):
    pytest.importorskip("torch")
    ours, ref = both
    for name, inputs in _pad_inputs(ref).items():
        before = norm(inputs)
        got = outcome(ours.pad, inputs, **kw)
        assert norm(inputs) == before, name  # ours leaves its input alone (transformers' may not)
        assert got == outcome(ref.pad, inputs, **kw), name


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_pad_without_pad_token(kind):
    ours, ref = fresh(kind)
    rows = _features(ref)
    ours.pad_token = ref.pad_token = None
    assert ours.pad_token_id is ref.pad_token_id is None
    assert outcome(ours.pad, rows) == outcome(ref.pad, rows) == ("raises", ValueError)
    assert outcome(ours, LINES[:3], padding=True) == outcome(ref, LINES[:3], padding=True)
    ours.pad_token = ref.pad_token = ref.eos_token or ref.sep_token  # the usual fix
    assert norm(ours.pad(rows)) == norm(ref.pad(rows))
    ours.pad_token_id = ref.pad_token_id = 5
    assert ours.pad_token == ref.pad_token
    assert norm(ours(LINES[:5], padding=True)) == norm(ref(LINES[:5], padding=True))


COLLATORS = [  # (collator class name, kwargs)
    ("DataCollatorWithPadding", {}),
    ("DataCollatorWithPadding", dict(pad_to_multiple_of=8, return_tensors="np")),
    ("DataCollatorWithPadding", dict(padding="max_length", max_length=200)),
    ("DataCollatorForTokenClassification", {}),
    ("DataCollatorForTokenClassification", dict(return_tensors="np", pad_to_multiple_of=4)),
    ("DataCollatorForSeq2Seq", {}),
    ("DataCollatorForSeq2Seq", dict(pad_to_multiple_of=8)),
    ("DataCollatorForSeq2Seq", dict(padding="max_length", max_length=40)),
    ("DataCollatorForSeq2Seq", dict(return_tensors="np")),
    ("DataCollatorForLanguageModeling", dict(seed=3)),
    ("DataCollatorForLanguageModeling", dict(mlm=False)),
]


@pytest.mark.parametrize("name,kw", COLLATORS, ids=[f"{n}-{k}" for n, k in COLLATORS])
def test_data_collators(both, name, kw):
    """transformers' collators given our tokenizer build the batch they build with theirs."""
    pytest.importorskip("torch")
    ours, ref = both
    cls = getattr(transformers, name)
    if name == "DataCollatorForSeq2Seq":
        enc = ref(SRC, text_target=TGT, max_length=32, truncation=True)
        rows = [{k: enc[k][i] for k in enc} for i in range(len(SRC))]
    elif name == "DataCollatorForTokenClassification":
        rows = [dict(ref(line.split()[:12], is_split_into_words=True)) for line in LINES[:8]]
        for r in rows:
            r["labels"] = [i % 5 for i in range(len(r["input_ids"]))]
    elif name == "DataCollatorForLanguageModeling":
        if ref.mask_token is None and kw.get("mlm", True):
            assert outcome(cls, tokenizer=ours, **kw) == outcome(cls, tokenizer=ref, **kw)
            return
        rows = [{"input_ids": ids} for ids in ref(LINES[:8], truncation=True, max_length=40)["input_ids"]]
    else:
        rows = [{k: v for k, v in r.items() if k not in ("score", "tags")} for r in _features(ref)]
    assert norm(cls(tokenizer=ours, **kw)(rows)) == norm(cls(tokenizer=ref, **kw)(rows))


def test_batch_encoding_tensors_and_to():
    torch = pytest.importorskip("torch")
    data = {"input_ids": [[1, 2], [3, 4]], "score": [0.5, 1.5], "ragged": [[1], [2, 3]], "empty": []}
    for tt in ("np", "pt"):
        for k in data:
            ours = outcome(hfonnx.BatchEncoding, {k: data[k]}, tensor_type=tt)
            assert ours == outcome(transformers.BatchEncoding, {k: data[k]}, tensor_type=tt), (tt, k)
        assert norm(hfonnx.BatchEncoding({"a": [1, 2]}, tensor_type=tt, prepend_batch_axis=True)) == \
            norm(transformers.BatchEncoding({"a": [1, 2]}, tensor_type=tt, prepend_batch_axis=True))
    enc = hfonnx.BatchEncoding({"input_ids": torch.tensor([[1, 2]]), "n": 3}).to("cpu")
    assert enc["input_ids"].device.type == "cpu" and enc["n"] == 3


# --- adding tokens ---------------------------------------------------------------------
def _add_ops(tok, AT, kind):
    """The same calls on either tokenizer; returns what each returned."""
    out = [
        tok.add_tokens(["hello", "newword", "newword", AT("<x>", lstrip=True), "", "Straße"]),
        tok.add_tokens("hello"),                           # again: ignored
        tok.add_tokens([AT(tok.pad_token)]),               # a special one as normal
        tok.add_special_tokens({"additional_special_tokens": ["<s1>", "<s2>"]}),
        tok.add_special_tokens({"additional_special_tokens": ["<s3>"]}),
        tok.add_special_tokens({"extra_special_tokens": ["<s4>", AT("<s5>", rstrip=True)]},
                               replace_extra_special_tokens=False),
        tok.add_special_tokens({"mask_token": "<newmask>", "bos_token": AT("<bos>", lstrip=True)}),
        tok.add_tokens(["<s1>"]),                          # stays special for decoding
        tok.add_tokens([AT("newword", single_word=True)]),  # new flags for a known token
        tok.add_tokens([AT("ÉTÉ", special=True, normalized=True), AT("tok", single_word=True)]),
        tok.add_tokens([AT("Zorg", rstrip=True), "x y"], special_tokens=True),
        tok.add_special_tokens({}),
    ]
    return out


ADD_TEXTS = [
    "hello newword xnewword newword_ newword\u0301 ²newword <x> <s1> [PAD] <pad> <s3>x HELLO",
    "ete ÉTÉ été Zorg   zorg Straße strasse <s5>   a <newmask> <bos> x y x  y",
    "tok _tok tok_ tok1 1tok étok toké a\u0301tok tok! (tok) tok-tok \u0663tok tok\u200dx",
    "<extra_id_0> and </s> and [SEP] and [CLS]x", "",
]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_add_tokens_as_transformers(kind, tmp_path):
    ours, ref = fresh(kind)
    assert _add_ops(ours, hfonnx.AddedToken, kind) == _add_ops(ref, tokenizers.AddedToken, kind)
    check_same_tokenizer(ours, ref, LINES[:40] + ADD_TEXTS)
    assert len(ours) > ours.vocab_size
    assert outcome(ours.add_special_tokens, {"foo_token": "x"}) == outcome(ref.add_special_tokens, {"foo_token": "x"})
    assert outcome(ours.add_tokens, [3]) == outcome(ref.add_tokens, [3])
    # saved, then loaded by hfonnx and by transformers: the tokenizer transformers
    # gets back from its own save
    ours.save_pretrained(str(tmp_path / "ours"))
    ref.save_pretrained(str(tmp_path / "ref"))
    again = transformers.AutoTokenizer.from_pretrained(str(tmp_path / "ref"))
    check_same_tokenizer(hfonnx.AutoTokenizer.from_pretrained(str(tmp_path / "ours")), again, LINES[:40] + ADD_TEXTS)
    check_same_tokenizer(transformers.AutoTokenizer.from_pretrained(str(tmp_path / "ours")), again,
                         LINES[:40] + ADD_TEXTS)
    check_same_tokenizer(hfonnx.AutoTokenizer.from_pretrained(str(tmp_path / "ref")), again,
                         LINES[:40] + ADD_TEXTS)
    check_same_tokenizer(pickle.loads(pickle.dumps(ours)), ref, LINES[:40] + ADD_TEXTS)


SPLIT_TEXTS = ["[CLS] a [SEP] b [PAD][MASK]x[UNK]", "<extra_id_0>. Hello </s> <pad> x<unk>y", "[CLS]", "</s>"]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_split_special_tokens(kind, tmp_path):
    """split_special_tokens=True: a special token in the text is plain text (tokenizers'
    encode_special_tokens), added tokens that are not special still match; as a call
    argument, as the tokenizer's default (loaded, saved, reloaded, pickled), in
    tokenize(), tokens() and pre-tokenized input; special tokens with every flag."""
    ours, ref = fresh(kind)
    _add_ops(ours, hfonnx.AddedToken, kind)
    _add_ops(ref, tokenizers.AddedToken, kind)
    texts = LINES[:40] + ADD_TEXTS + SPLIT_TEXTS
    kw = dict(split_special_tokens=True, return_offsets_mapping=True, return_special_tokens_mask=True)
    a, b = ours(texts, **kw), ref(texts, **kw)
    assert as_lists(a) == as_lists(b)
    assert as_lists(a) != as_lists(ours(texts, **{**kw, "split_special_tokens": False}))
    assert [a.tokens(i) for i in range(len(texts))] == [b.tokens(i) for i in range(len(texts))]
    half = len(texts) // 2
    a, b = ours(texts[:half], texts[half:2 * half], **kw), ref(texts[:half], texts[half:2 * half], **kw)
    assert as_lists(a) == as_lists(b)
    assert [a.tokens(i) for i in range(half)] == [b.tokens(i) for i in range(half)]
    for t in ADD_TEXTS + SPLIT_TEXTS:
        assert ours.tokenize(t, split_special_tokens=True) == ref.tokenize(t, split_special_tokens=True)
    words = [t.split() for t in ADD_TEXTS + SPLIT_TEXTS]
    assert as_lists(ours(words, is_split_into_words=True, **kw)) == \
        as_lists(ref(words, is_split_into_words=True, **kw))
    cls, ref_name, path = KINDS[kind]
    ours, ref = cls.from_pretrained(path, split_special_tokens=True), \
        getattr(transformers, ref_name).from_pretrained(path, split_special_tokens=True)
    assert ours.split_special_tokens is True
    assert as_lists(ours(texts)) == as_lists(ref(texts))
    assert as_lists(ours(texts, split_special_tokens=False)) == as_lists(ref(texts, split_special_tokens=False))
    assert ours.tokenize(SPLIT_TEXTS[0]) == ref.tokenize(SPLIT_TEXTS[0])
    assert ours.tokenize(SPLIT_TEXTS[0], split_special_tokens=None) == \
        ref.tokenize(SPLIT_TEXTS[0], split_special_tokens=None)
    for kw2 in ({"split_special_tokens": None}, {"tokenizer_kwargs": {"split_special_tokens": False}}):
        assert as_lists(ours(texts, **kw2)) == as_lists(ref(texts, **kw2)), kw2
    ours.save_pretrained(str(tmp_path))
    for again in (hfonnx.AutoTokenizer.from_pretrained(str(tmp_path)),
                  transformers.AutoTokenizer.from_pretrained(str(tmp_path)), pickle.loads(pickle.dumps(ours))):
        assert again.split_special_tokens is True
        assert as_lists(again(texts)) == as_lists(ref(texts))
    # pickled with added tokens: the copy splits what the original splits
    # (transformers' pickle forgets which tokens were ever special; see docs)
    ours, _ = fresh(kind)
    _add_ops(ours, hfonnx.AddedToken, kind)
    copy = pickle.loads(pickle.dumps(ours))
    assert as_lists(copy(texts, **kw)) == as_lists(ours(texts, **kw))


def test_add_tokens_mutates_the_added_token_as_tokenizers():
    """add_special_tokens marks a passed AddedToken special; one whose normalized
    flag was never set then stops being normalized (tokenizers' get_token)."""
    for AT in (hfonnx.AddedToken, tokenizers.AddedToken):
        a, b = AT("<q>"), AT("<r>", normalized=True)
        hfonnx.BertTokenizer.from_pretrained(UNCASED).add_tokens([a, b], special_tokens=True)
        ref_a, ref_b = tokenizers.AddedToken("<q>"), tokenizers.AddedToken("<r>", normalized=True)
        transformers.BertTokenizerFast.from_pretrained(UNCASED).add_tokens([ref_a, ref_b], special_tokens=True)
        assert (repr(a), repr(b)) == (repr(ref_a), repr(ref_b))


ADDED_TOKEN_KW = [{}, dict(special=True), dict(special=True, normalized=True), dict(lstrip=True, rstrip=True),
                  dict(single_word=True, normalized=False), dict(special=False, normalized=False)]


@pytest.mark.parametrize("kw", ADDED_TOKEN_KW, ids=[str(k) for k in ADDED_TOKEN_KW])
def test_added_token_class(kw):
    ours, ref = hfonnx.AddedToken("tok", **kw), tokenizers.AddedToken("tok", **kw)
    assert repr(ours) == repr(ref) and str(ours) == str(ref) == "tok"
    assert ours == ref and ref == ours and ours == hfonnx.AddedToken("tok", **kw)
    assert hash(ours) == hash(hfonnx.AddedToken("tok", **kw))
    assert ours != hfonnx.AddedToken("other", **kw) and ours != "tok"
    again = pickle.loads(pickle.dumps(ours))
    assert repr(again) == repr(ours) and ours.__getstate__() == ref.__getstate__()
    ours.special, ref.special = True, True
    assert repr(ours) == repr(ref)


def test_single_word_boundaries_every_code_point(tmp_path):
    """A single_word added token glued to any code point, on either side, is kept
    or dropped as tokenizers does (its regex \\w, our range table)."""
    from tokenizers import AddedToken, Tokenizer
    from tokenizers.models import WordLevel
    tk = Tokenizer(WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    tk.add_tokens([AddedToken("tok", single_word=True, normalized=False)])
    tk.save(str(tmp_path / "tokenizer.json"))
    spec = json.loads((tmp_path / "tokenizer.json").read_text())
    spec["model"] = {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"[UNK]": 0}}
    (tmp_path / "tokenizer.json").write_text(json.dumps(spec))
    ours = hfonnx.BertTokenizer(tokenizer_file=str(tmp_path / "tokenizer.json"))
    tok = tk.token_to_id("tok")
    cps = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    for i in range(0, len(cps), 100000):
        texts = [chr(c) + "tok" for c in cps[i:i + 100000]] + ["tok" + chr(c) for c in cps[i:i + 100000]]
        ref = [tok in e.ids for e in tk.encode_batch(texts, add_special_tokens=False)]
        got = [tok in ids for ids in ours(texts, add_special_tokens=False)["input_ids"]]
        assert got == ref, [t for t, a, b in zip(texts, got, ref) if a != b][:10]


CONFIG_DECODER = {  # tokenizer_config.json's added_tokens_decoder: re-added on load, as transformers
    "30522": {"content": "<new>", "lstrip": False, "normalized": True, "rstrip": True, "single_word": False,
              "special": False},
    "100": {"content": "[UNK]", "lstrip": True, "normalized": False, "rstrip": False, "single_word": False,
            "special": True},
    "0": {"content": "[PAD]", "lstrip": False, "normalized": True, "rstrip": False, "single_word": False,
          "special": False},
}


@pytest.mark.parametrize("files", [["vocab.txt"], ["vocab.txt", "tokenizer.json"]])
def test_config_added_tokens_decoder(tmp_path, files):
    for f in files:
        shutil.copy(os.path.join(UNCASED, f), tmp_path / f)
    cfg = json.loads(open(os.path.join(UNCASED, "tokenizer_config.json")).read())
    cfg.update(tokenizer_class="BertTokenizer", added_tokens_decoder=CONFIG_DECODER)
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(cfg))
    ours = hfonnx.AutoTokenizer.from_pretrained(str(tmp_path))
    ref = transformers.AutoTokenizer.from_pretrained(str(tmp_path))
    check_same_tokenizer(ours, ref, LINES[:20] + ["a <new>  b  [UNK] c [PAD] [pad] <NEW>"])


def _np_view(enc):
    """Each array's shape and dtype, and its values (rows of an object array one by one)."""
    return {k: (v.shape, v.dtype, [(x.dtype, x.shape, x.tolist()) for x in v] if v.dtype == object
                else v.tolist()) for k, v in enc.items()}


@pytest.mark.parametrize("texts,kw", [
    (["a", "a few more words"], {}),                                   # rows of different lengths
    (["", "two words"], dict(add_special_tokens=False, return_length=True)),  # an empty row among them
    ([""], dict(add_special_tokens=False)),                            # no token at all: (1, 0)
    (["one two three four five six"], dict(truncation=True, max_length=5, stride=1,
                                          return_overflowing_tokens=True)),
])
def test_numpy_rows_of_any_length(tok, ref, texts, kw):
    """Without padding, return_tensors="np" gives what transformers does:
    object arrays of rows when their lengths differ, (rows, 0) offsets when
    no row has a token."""
    kw = dict(kw, return_tensors="np", return_offsets_mapping=True, return_special_tokens_mask=True)
    assert _np_view(tok(texts, **kw)) == _np_view(ref(texts, **kw))


@pytest.mark.parametrize("call,exc", [
    (lambda t: t.decode([-1]), OverflowError),
    (lambda t: t.batch_decode([[5, 2 ** 32]]), OverflowError),
    (lambda t: t.convert_ids_to_tokens([7, -3]), OverflowError),
    (lambda t: t.convert_ids_to_tokens(-1), OverflowError),
    (lambda t: t.convert_tokens_to_ids(["a", None]), TypeError),
])
def test_ids_and_tokens_out_of_type(tok, ref, call, exc):
    """Ids that are no unsigned 32-bit number and tokens that are no string
    raise as transformers does (found by differential fuzzing)."""
    with pytest.raises(exc):
        call(ref)
    with pytest.raises(exc):
        call(tok)


# --- ragged output -----------------------------------------------------------------
RAGGED_CALLS = [  # (texts, pairs, kwargs for both)
    ("lines", None, {}),
    ("lines", None, dict(add_special_tokens=False)),
    ("lines", "shifted", dict(truncation=True, max_length=24)),
    ("lines", "short", dict(truncation="only_first", max_length=30)),
    ("many", None, dict(truncation=True, max_length=16)),   # more rows than a chunk (2048)
    ("words", None, dict(is_split_into_words=True)),
    ("one", None, {}),
    ("none", None, {}),
]


@pytest.mark.parametrize("texts,pairs,kw", RAGGED_CALLS)
def test_ragged_ids_are_the_calls_input_ids(tok, ref, texts, pairs, kw):
    """encode_batch_ragged gives transformers' input_ids, rows one after the
    other in one int32 array with int64 row offsets, on one thread and two."""
    lines = [t for t in _lines() if t.strip()]
    inputs = {"lines": lines, "shifted": lines[7:] + lines[:7], "short": [t[:10] for t in lines],
              "many": lines * 12,
              "words": [t.split() for t in lines], "one": lines[3], "none": []}
    text, pair = inputs[texts], inputs[pairs] if pairs else None
    expect = ref(text, pair, **kw)["input_ids"] if text != [] else []
    if isinstance(text, str):
        expect = [expect]
    before = hfonnx.get_num_threads()
    try:
        for threads in (1, 2):
            hfonnx.set_num_threads(threads)
            got = tok.encode_batch_ragged(text, pair, **kw)
            assert got.ids.dtype == np.int32 and got.offsets.dtype == np.int64
            assert got.offsets[0] == 0 and got.offsets[-1] == len(got.ids) and len(got.offsets) == len(expect) + 1
            assert got.to_list() == expect
            assert got.lengths.tolist() == [len(r) for r in expect]
    finally:
        hfonnx.set_num_threads(before)


def test_ragged_arrays_outlive_the_tokenizer_and_pickle():
    tok = hfonnx.BertTokenizer.from_pretrained(UNCASED)
    got = tok.encode_batch_ragged(["hello world", "a b"])
    rows = got.to_list()
    del tok
    import gc
    gc.collect()
    assert got.to_list() == rows
    assert pickle.loads(pickle.dumps(got)).to_list() == rows


@pytest.mark.parametrize("args,kw,exc,msg", [
    ((["ok", 3],), {}, TypeError, r"text\[1\]"),
    ((["a", "b"], ["c"]), {}, ValueError, "batch length"),
    ((["fine"] * 3000 + ["x\udfffy"],), {}, hfonnx.TokenizerError, "batch index 3000"),
    ((["x y z"],), {"truncation": True, "max_length": 1}, hfonnx.TokenizerError, "special tokens"),
])
def test_ragged_bad_input(tok, args, kw, exc, msg):
    with pytest.raises(exc, match=msg):
        tok.encode_batch_ragged(*args, **kw)


@pytest.mark.parametrize("kw", [dict(padding=True), dict(padding="max_length", max_length=40, truncation=True),
                                dict(padding=True, truncation=True, max_length=12, stride=2,
                                     return_overflowing_tokens=True)])
def test_numpy_rows_map_back_to_the_text(tok, ref, kw):
    """A numpy call without offset_mapping keeps no offsets or word indices
    (docs/tokenizers.md); asking a row for them encodes the batch again,
    whole: word_ids, tokens, sequence ids and the char maps of every row are
    still transformers', also for overflowing rows and pairs."""
    lines = [t for t in _lines() if t.strip()][:120]
    pairs = lines[::-1]
    ours, theirs = tok(lines, pairs, return_tensors="np", **kw), ref(lines, pairs, return_tensors="np", **kw)
    assert as_lists(ours) == as_lists(theirs)
    for i in range(len(theirs["input_ids"])):
        assert ours.word_ids(i) == theirs.word_ids(i)
        assert ours.tokens(i) == theirs.tokens(i)
        assert ours.sequence_ids(i) == theirs.sequence_ids(i)
        assert [ours.token_to_chars(i, t) for t in range(4)] == [theirs.token_to_chars(i, t) for t in range(4)]
        assert ours.char_to_token(i, 2) == theirs.char_to_token(i, 2)
