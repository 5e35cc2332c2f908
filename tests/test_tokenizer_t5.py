"""hfonnx.T5Tokenizer: loading, the Python face, saving, pickling, threads and
bad input.  References are transformers' T5TokenizerFast and the sentencepiece
library built from the same files; nothing here is an output of our own code
except where a round trip (save, pickle) is compared with the original."""
import os
import pickle
import shutil
import threading

import numpy as np
import pytest

transformers = pytest.importorskip("transformers")
import hfonnx  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
T5_DIR = os.path.join(HERE, "data", "tokenizers", "t5")
SPIECE = os.path.join(T5_DIR, "spiece.model")
SHARED = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "data"))
with open(os.path.join(HERE, "data", "tokenizers", "text", "mixed.txt"), encoding="utf-8", newline="") as _f:
    MIXED = _f.read().split("\n")


@pytest.fixture(scope="module")
def tok():
    return hfonnx.T5Tokenizer.from_pretrained(T5_DIR)


@pytest.fixture(scope="module")
def ref():
    return transformers.T5TokenizerFast.from_pretrained(T5_DIR)


# --- loading -------------------------------------------------------------------
def test_known_ids(tok):
    """Values published with the t5 files (../shared/data/SOURCES.md §3, from sentencepiece)."""
    assert tok("Hello world")["input_ids"] == [8774, 296, 1]
    assert tok("translate English to German: The house is wonderful.")["input_ids"] == \
        [13959, 1566, 12, 2968, 10, 37, 629, 19, 1627, 5, 1]
    assert tok.convert_ids_to_tokens([0, 1, 2, 3, 4, 5]) == ["<pad>", "</s>", "<unk>", "\u2581", "X", "."]
    assert tok.convert_tokens_to_ids("<extra_id_0>") == 32099
    assert tok.convert_tokens_to_ids("<extra_id_99>") == 32000
    assert len(tok) == 32100 and tok.vocab_size == 32100


def test_word_cache_lengths(tok, ref):
    """Words of every length around the word cache's limits (12 and 28 code
    points with the prefix; longer ones are never cached), repeated so
    that the second and later sightings replay the cache, in one batch and
    call after call, with hfonnx on one thread and on several: ids and
    offsets equal transformers'.  Includes words of more than 6 and more
    than 12 tokens, <unk> runs (a BMP character the vocabulary lacks) and
    characters outside the BMP (never cached)."""
    stems = ["internationalisation", "Antidisestablishmentarianism", "qwzxkjvbpqwzxkjvbpqwzx",
             "übermäßigkeitsgefühle", "e\u0301tonnamment", "ab\U0001F600cdefghijklmnopq", "xyzzy" * 7,
             "snow\u2603manlandscapes\u2603\u2603ofthenorth"]   # U+2603: not in the vocabulary
    words = [stem[:n] for stem in stems for n in range(10, 32)]
    texts = [" ".join(words[k:] + words[:k]) for k in range(0, len(words), 7)] * 3
    kw = dict(return_offsets_mapping=True)
    expected = ref(texts, **kw)
    before = hfonnx.get_num_threads()
    try:
        for threads in (1, 2):
            hfonnx.set_num_threads(threads)
            for _ in range(2):
                got = tok(texts, **kw)
                assert got["input_ids"] == expected["input_ids"]
                assert got["offset_mapping"] == expected["offset_mapping"]
    finally:
        hfonnx.set_num_threads(before)


def test_auto_tokenizer_picks_t5(tmp_path):
    assert type(hfonnx.AutoTokenizer.from_pretrained(T5_DIR)) is hfonnx.T5Tokenizer
    shutil.copy(SPIECE, tmp_path / "spiece.model")  # spiece.model alone
    assert type(hfonnx.AutoTokenizer.from_pretrained(str(tmp_path))) is hfonnx.T5Tokenizer
    (tmp_path / "config.json").write_text('{"model_type": "t5"}')
    assert type(hfonnx.AutoTokenizer.from_pretrained(str(tmp_path))) is hfonnx.T5Tokenizer


def test_constructor_from_vocab_file(ref):
    """T5Tokenizer(vocab_file=..., extra_ids=100) equals from_pretrained of the
    folder.  (transformers 5.24's T5TokenizerFast(vocab_file=...) ignores the
    file and builds a 4-piece vocabulary, so the reference is from_pretrained.)"""
    ours = hfonnx.T5Tokenizer(vocab_file=SPIECE, extra_ids=100)
    assert ours(MIXED)["input_ids"] == ref(MIXED)["input_ids"]
    assert ours.get_vocab() == ref.get_vocab()
    assert ours.eos_token == "</s>" and ours.pad_token_id == 0 and ours.unk_token_id == 2
    few = hfonnx.T5Tokenizer(vocab_file=SPIECE, extra_ids=3)
    assert len(few) == 32003 and few.convert_tokens_to_ids("<extra_id_0>") == 32002
    assert few("a <extra_id_2> b")["input_ids"] == [3, 9, 32000, 3, 115, 1]
    with pytest.raises(hfonnx.TokenizerError, match="extra_ids"):
        hfonnx.T5Tokenizer(vocab_file=SPIECE, extra_ids=2, additional_special_tokens=["<extra_id_0>"])


def test_load_spm_fields():
    from hfonnx.tokenization_t5 import load_spm
    spm = pytest.importorskip("sentencepiece")
    info = load_spm(SPIECE)
    sp = spm.SentencePieceProcessor(model_file=SPIECE)
    assert len(info["pieces"]) == sp.get_piece_size() == 32000
    assert [p for p, _s, _t in info["pieces"][:6]] == [sp.id_to_piece(i) for i in range(6)]
    assert all(abs(s - sp.get_score(i)) == 0 for i, (_p, s, _t) in enumerate(info["pieces"][:2000]))
    assert (info["unk_id"], info["eos_id"], info["pad_id"], info["bos_id"]) == \
        (sp.unk_id(), sp.eos_id(), sp.pad_id(), sp.bos_id())
    assert info["model_type"] == 1 and info["normalizer_name"] == "nmt_nfkc"
    assert len(info["precompiled_charsmap"]) > 100000


# --- the call ------------------------------------------------------------------
def test_keys_and_tensors(tok, ref):
    texts = ["Hello world", "a much longer second text for padding <extra_id_3>"]
    for kw in (dict(), dict(padding=True, return_tensors="np"), dict(padding=True, return_tensors="pt"),
               dict(return_token_type_ids=True, return_special_tokens_mask=True, return_length=True)):
        a, b = tok(texts, **kw), ref(texts, **kw)
        assert set(a.keys()) == set(b.keys()), kw
        for k in b:
            av, bv = a[k], b[k]
            if kw.get("return_tensors"):
                assert type(av) is type(bv) and av.dtype == bv.dtype
            assert (av.tolist() if hasattr(av, "tolist") else av) == \
                (bv.tolist() if hasattr(bv, "tolist") else bv), (kw, k)
    assert "token_type_ids" not in tok("x")


def test_batches_on_threads_equal_single_thread(tok):
    lines = MIXED * 8
    prev = hfonnx.get_num_threads()
    try:
        hfonnx.set_num_threads(1)
        one = tok(lines, return_offsets_mapping=True)
        hfonnx.set_num_threads(4)
        many = tok(lines, return_offsets_mapping=True)
    finally:
        hfonnx.set_num_threads(prev)
    assert one["input_ids"] == many["input_ids"] and one["offset_mapping"] == many["offset_mapping"]
    # several Python threads at once (the GIL is released while encoding)
    results = [None] * 4

    def work(i):
        results[i] = tok(lines[i::4])["input_ids"]
    ths = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    for i in range(4):
        assert results[i] == one["input_ids"][i::4]


def test_pickle_and_save_pretrained(tok, ref, tmp_path):
    clone = pickle.loads(pickle.dumps(tok))
    assert clone(MIXED)["input_ids"] == tok(MIXED)["input_ids"]
    assert clone.decode(clone("Hello <extra_id_0> x")["input_ids"]) == "Hello<extra_id_0> x</s>"
    written = tok.save_pretrained(str(tmp_path))
    names = sorted(os.path.basename(p) for p in written)
    assert names == ["special_tokens_map.json", "spiece.model", "tokenizer.json", "tokenizer_config.json"]
    # both libraries load what we wrote and give the original's output
    for loaded in (hfonnx.T5Tokenizer.from_pretrained(str(tmp_path)),
                   hfonnx.AutoTokenizer.from_pretrained(str(tmp_path)),
                   transformers.T5TokenizerFast.from_pretrained(str(tmp_path))):
        enc = loaded(MIXED, return_offsets_mapping=True)
        exp = ref(MIXED, return_offsets_mapping=True)
        assert enc["input_ids"] == exp["input_ids"] and enc["offset_mapping"] == exp["offset_mapping"]
        assert loaded.model_max_length == 512
    # and tokenizers reads the tokenizer.json alone
    from tokenizers import Tokenizer
    t = Tokenizer.from_file(str(tmp_path / "tokenizer.json"))
    assert t.encode("Hello world").ids == [8774, 296, 1]


def test_decode(tok, ref):
    ids = ref(MIXED)["input_ids"]
    for skip in (False, True):
        assert tok.batch_decode(ids, skip_special_tokens=skip) == ref.batch_decode(ids, skip_special_tokens=skip)
    assert tok.decode(tok("<extra_id_0>. Hello")["input_ids"]) == ref.decode(ref("<extra_id_0>. Hello")["input_ids"])


# --- bad input ------------------------------------------------------------------
def _write(path, data):
    with open(path, "wb") as f:
        f.write(data)
    return str(path)


BAD_MODELS = [
    ("truncated", lambda b: b[:1000]),
    ("truncated in the charsmap", lambda b: b[:-1000]),
    ("empty", lambda b: b""),
    ("garbage", lambda b: bytes(range(256)) * 64),
    ("text file", lambda b: b"this is not a protobuf\n" * 10),
    ("flipped tag bytes", lambda b: bytes([0xFF] * 8) + b[8:]),
]


@pytest.mark.parametrize("name,mangle", BAD_MODELS, ids=[n for n, _ in BAD_MODELS])
def test_corrupt_spiece_model(tmp_path, name, mangle):
    with open(SPIECE, "rb") as f:
        data = f.read()
    path = _write(tmp_path / "spiece.model", mangle(data))
    with pytest.raises(hfonnx.TokenizerError) as e:
        hfonnx.T5Tokenizer(vocab_file=path)
    assert "spiece.model" in str(e.value)
    with pytest.raises(hfonnx.TokenizerError):
        hfonnx.T5Tokenizer.from_pretrained(str(tmp_path))


def test_corrupt_charsmap_is_refused(tmp_path):
    import base64
    import json
    src = os.path.join(SHARED, "t5", "tokenizer.json")
    if not os.path.exists(src):
        pytest.skip("shared data folder ../shared/data is absent")
    with open(src, encoding="utf-8") as f:
        spec = json.load(f)
    cm = base64.b64decode(spec["normalizer"]["precompiled_charsmap"])
    spec["normalizer"]["precompiled_charsmap"] = base64.b64encode(cm[:100]).decode()  # trie cut short
    (tmp_path / "tokenizer.json").write_text(json.dumps(spec))
    with pytest.raises(hfonnx.TokenizerError, match="precompiled_charsmap"):
        hfonnx.T5Tokenizer.from_pretrained(str(tmp_path))


@pytest.mark.parametrize("model", [
    {"type": "BPE", "vocab": {"a": 0}, "merges": []},
    {"type": "WordPiece", "vocab": {"a": 0}, "unk_token": "a"},
    {"type": "Unigram", "vocab": []},
    {"type": "Unigram", "vocab": [["a", "not a score"]]},
    {"type": "Unigram", "vocab": {"a": 0}},
])
def test_bad_tokenizer_json(tmp_path, model):
    import json
    (tmp_path / "tokenizer.json").write_text(json.dumps({"model": model, "added_tokens": []}))
    with pytest.raises(hfonnx.TokenizerError):
        hfonnx.T5Tokenizer.from_pretrained(str(tmp_path))


def test_unsupported_model_type_via_auto(tmp_path):
    import json
    (tmp_path / "tokenizer.json").write_text(json.dumps({"model": {"type": "WordLevel", "vocab": {"a": 0}}}))
    with pytest.raises(hfonnx.TokenizerError, match="WordLevel"):
        hfonnx.AutoTokenizer.from_pretrained(str(tmp_path))


@pytest.mark.parametrize("bad", [123, None, b"bytes", ["ok", 5], [["nested"]], 4.5, {"a": 1}])
def test_non_string_inputs(tok, bad):
    with pytest.raises((TypeError, ValueError)):
        tok(bad)


def test_lone_surrogate(tok):
    with pytest.raises(hfonnx.TokenizerError, match="surrogate"):
        tok("a\ud800b")
    with pytest.raises((TypeError, hfonnx.TokenizerError)):
        tok.tokenize("a\udc00")


def test_transformers5_saved_folder(tmp_path, ref):
    """A folder written by transformers 5 (tokenizer.json, and the sentinels under
    extra_special_tokens in tokenizer_config.json)."""
    ref.save_pretrained(str(tmp_path))
    ours = hfonnx.AutoTokenizer.from_pretrained(str(tmp_path))
    again = transformers.T5TokenizerFast.from_pretrained(str(tmp_path))
    assert type(ours) is hfonnx.T5Tokenizer
    assert ours(MIXED, return_offsets_mapping=True)["offset_mapping"] == \
        again(MIXED, return_offsets_mapping=True)["offset_mapping"]
    assert ours.additional_special_tokens[:2] == ["<extra_id_0>", "<extra_id_1>"]
    assert ours.decode(ours("<extra_id_5> x")["input_ids"], skip_special_tokens=True) == \
        again.decode(again("<extra_id_5> x")["input_ids"], skip_special_tokens=True)


def test_old_style_tokenizer_json(tmp_path, ref):
    """An older T5 tokenizer.json (normalizer Sequence[Precompiled, Replace], a
    Metaspace without WhitespaceSplit): transformers 5 keeps only the charsmap
    and its own pre-tokenizer, and so do we."""
    import json
    ref.save_pretrained(str(tmp_path))
    with open(tmp_path / "tokenizer.json", encoding="utf-8") as f:
        spec = json.load(f)
    pc = spec["normalizer"]
    spec["normalizer"] = {"type": "Sequence", "normalizers": [
        pc, {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": "\u2581"}]}
    spec["pre_tokenizer"] = {"type": "Metaspace", "replacement": "\u2581", "add_prefix_space": True,
                             "prepend_scheme": "first", "split": True}
    with open(tmp_path / "tokenizer.json", "w", encoding="utf-8") as f:
        json.dump(spec, f, ensure_ascii=False)
    ours = hfonnx.T5Tokenizer.from_pretrained(str(tmp_path))
    again = transformers.T5TokenizerFast.from_pretrained(str(tmp_path))
    texts = MIXED + ["a  b   c", "  lead <extra_id_0>  x", "\t tab"]
    assert ours(texts, return_offsets_mapping=True)["offset_mapping"] == \
        again(texts, return_offsets_mapping=True)["offset_mapping"]
    assert ours(texts)["input_ids"] == again(texts)["input_ids"]


# Grapheme clusters as the reference's segmentation (Unicode 16/17) cuts them
# where utf8proc's Unicode 15 differs: marks assigned since then join the
# cluster before them, U+113D1 is Prepend, U+11A3A no longer is; U+113C1 is
# still unassigned there.  The charsmap rewrites "e" + U+0301 only as a whole
# cluster, so the cut decides the ids.  Found by differential fuzzing.
NEWER_CLUSTERS = ["e\u0301\u1ada", "e\u0301\u0897 x", "\U000113d1e\u0301", "\U00011a3ae\u0301",
                  "e\u0301\U000113c1\u0301", "e\u0301\U0001611e", "e\u0301\U000113b8a"]


@pytest.mark.parametrize("text", NEWER_CLUSTERS, ids=[ascii(t) for t in NEWER_CLUSTERS])
def test_newer_grapheme_clusters(tok, ref, text):
    kw = dict(return_offsets_mapping=True, return_special_tokens_mask=True)
    assert dict(tok(text, **kw)) == dict(ref(text, **kw))
    assert tok.tokenize(text) == ref.tokenize(text)


@pytest.mark.parametrize("kw", [{}, dict(add_special_tokens=False), dict(truncation=True, max_length=12)])
def test_ragged_ids(tok, ref, kw):
    """encode_batch_ragged: transformers' input_ids, as one flat array, also
    for more rows than a chunk of the C side (2048)."""
    lines = [t for t in MIXED if t.strip()] * 6
    got = tok.encode_batch_ragged(lines, **kw)
    assert got.to_list() == ref(lines, **kw)["input_ids"]
