"""Parity of the word/token/character maps of hfonnx's BatchEncoding
(tokens, word_ids, sequence_ids, token_to_word, word_to_tokens, char_to_token,
token_to_chars, ...) and of is_split_into_words=True with transformers' fast
tokenizers (BertTokenizerFast, T5TokenizerFast) built from the same files.

Every expected value comes from transformers/tokenizers; nothing here is an
output of our own code.  The inputs are the repo's corpus sample
(tests/data/tokenizers/text/mixed.txt), split with str.split() and into words
and punctuation, a table of edge-case word lists, and the shared corpora when
../shared/data is present.
"""
import copy
import json
import os
import pickle
import re

import pytest

transformers = pytest.importorskip("transformers")
import hfonnx  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data", "tokenizers")
SHARED = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "data"))
NO_SHARED = "shared data folder ../shared/data is absent (full corpora live outside the repo)"


def _lines(path):
    with open(path, encoding="utf-8", newline="") as f:
        return f.read().split("\n")


MIXED = _lines(os.path.join(DATA, "text", "mixed.txt"))
TEXTS = [line for line in MIXED if line.strip()]
SHORT = [line[:14] for line in TEXTS]          # first sequences for only_second
SPLIT = [line.split() for line in TEXTS]     # words by whitespace
PUNCT = [re.findall(r"\w+|[^\w\s]", line) for line in TEXTS]  # words and punctuation apart

# Word lists where tokenizers' per-word pipeline shows: empty and blank words,
# punctuation inside a word, CJK, accents, emoji, a word longer than
# WordPiece's 100 characters, special and added tokens inside words.
EDGE_WORDS = [
    ["Hello", "", "wor,ld!", " ", "\t", "中文字", "½", "e\u0301t\u00e9", "[MASK]", "a[SEP]b"],
    ["<extra_id_0>", "x<extra_id_1>y", "</s>", "summarize:", "😀👍🏽", "x" * 120, "  spaced  "],
    ["<Tag>", "a <TAG> b", "QQ", "xQQy", " QQ ", "zzq", "azzq", "zzq zzqs", "[NEW]", "[new]"],
    ["", "", ""],
    [],
    ("tuple", "of", "words"),
    ["Ünïcödé", "ÉTÉ", "İstanbul", "straße", "\u0000nul", "\u200bzw", "\u2028"],
]

# Added tokens of every kind (tokenizers' AddedToken flags) on top of bert-base-uncased.
EXTRA_ADDED = [  # content, special, normalized, lstrip, rstrip, single_word
    ("<Tag>", False, True, True, True, False),
    ("QQ", False, False, True, True, False),
    ("zzq", False, False, False, False, True),
    ("[NEW]", True, False, False, False, False),
]


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    """name -> (hfonnx tokenizer, transformers tokenizer) from the same files."""
    out = {}
    uncased = os.path.join(DATA, "bert-base-uncased")
    out["bert"] = (hfonnx.BertTokenizer.from_pretrained(uncased),
                   transformers.BertTokenizerFast.from_pretrained(uncased))
    chinese = tmp_path_factory.mktemp("bert-base-chinese")
    (chinese / "vocab.txt").write_bytes(open(os.path.join(DATA, "bert-base-chinese", "vocab.txt"), "rb").read())
    (chinese / "tokenizer_config.json").write_text('{"do_lower_case": false}')
    out["bert-chinese"] = (hfonnx.BertTokenizer.from_pretrained(str(chinese)),
                           transformers.BertTokenizerFast.from_pretrained(str(chinese)))
    added = tmp_path_factory.mktemp("bert-added")
    with open(os.path.join(uncased, "tokenizer.json"), encoding="utf-8") as f:
        spec = json.load(f)
    next_id = max(spec["model"]["vocab"].values()) + 1
    for i, (content, special, normalized, lstrip, rstrip, single_word) in enumerate(EXTRA_ADDED):
        spec["added_tokens"].append({"id": next_id + i, "content": content, "single_word": single_word,
                                     "lstrip": lstrip, "rstrip": rstrip, "normalized": normalized,
                                     "special": special})
    (added / "tokenizer.json").write_text(json.dumps(spec), encoding="utf-8")
    out["bert-added"] = (hfonnx.BertTokenizer.from_pretrained(str(added)),
                         transformers.BertTokenizerFast.from_pretrained(str(added)))
    t5 = os.path.join(DATA, "t5")
    out["t5"] = (hfonnx.T5Tokenizer.from_pretrained(t5), transformers.T5TokenizerFast.from_pretrained(t5))
    return out


MODELS = ["bert", "bert-chinese", "bert-added", "t5"]


def as_lists(enc):
    return {k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in dict(enc).items()}


def check_rows(ours, ref, maps=True):
    """Every row: the per-token lists, and (maps) every map method over every
    token, word and character index that occurs (and one past)."""
    n = len(ref.encodings)
    assert ours.n_sequences == ref.n_sequences
    for i in range(n):
        assert ours.tokens(i) == ref.tokens(i), i
        assert ours.word_ids(i) == ref.word_ids(i), i
        assert ours.words(i) == ref.word_ids(i), i
        assert ours.sequence_ids(i) == ref.sequence_ids(i), i
        if not maps:
            continue
        words = ref.word_ids(i)
        for t in range(len(words) + 1):
            assert ours.token_to_word(i, t) == ref.token_to_word(i, t), (i, t)
            assert ours.token_to_sequence(i, t) == ref.token_to_sequence(i, t), (i, t)
            assert ours.token_to_chars(i, t) == ref.token_to_chars(i, t), (i, t)
        top_word = max([w for w in words if w is not None], default=0)
        top_char = max([o[1] for o in ref.encodings[i].offsets], default=0)
        for s in (0, 1):
            for w in range(top_word + 2):
                assert ours.word_to_tokens(i, w, s) == ref.word_to_tokens(i, w, s), (i, w, s)
                if ref.word_to_tokens(i, w, s) is not None:  # transformers raises TypeError otherwise
                    assert ours.word_to_chars(i, w, s) == ref.word_to_chars(i, w, s), (i, w, s)
            for c in range(top_char + 2):
                assert ours.char_to_token(i, c, s) == ref.char_to_token(i, c, s), (i, c, s)
                assert ours.char_to_word(i, c, s) == ref.char_to_word(i, c, s), (i, c, s)
    if n:  # negative batch indices, as a list's
        assert ours.tokens(-1) == ref.tokens(-1)
        assert ours.word_ids(-1) == ref.word_ids(-1)
        assert ours.sequence_ids(-1) == ref.sequence_ids(-1)


def check(ours_tok, ref_tok, *args, maps=True, **kw):
    ours, ref = ours_tok(*args, **kw), ref_tok(*args, **kw)
    assert as_lists(ours) == as_lists(ref)
    for k in ref:
        assert type(ours[k]) is type(ref[k]), k
    check_rows(ours, ref, maps=maps)
    return ours, ref


# --- word/token maps of text inputs ---------------------------------------------
TEXT_CALLS = {  # name -> (args, kwargs); args refer to the lists above
    "batch": ((TEXTS,), {"return_offsets_mapping": True}),
    "pairs": ((TEXTS, TEXTS[::-1]), {"return_special_tokens_mask": True}),
    "pairs-no-specials": ((TEXTS, TEXTS[::-1]), {"add_special_tokens": False}),
    "only_second-stride-overflow": ((SHORT, TEXTS), dict(truncation="only_second", max_length=40, stride=4,
                                                         return_overflowing_tokens=True, padding=True)),
    "longest_first-overflow-left-pad": ((TEXTS, TEXTS[::-1]), dict(
        truncation="longest_first", max_length=64, stride=2, return_overflowing_tokens=True,
        padding="max_length", padding_side="left", pad_to_multiple_of=8)),
    "single-stride-overflow-np": ((TEXTS,), dict(truncation=True, max_length=12, stride=3,
                                                 return_overflowing_tokens=True, padding=True,
                                                 return_tensors="np")),
    "truncation-without-overflow-rows": ((TEXTS, TEXTS[::-1]), dict(truncation=True, max_length=20)),
    "one-text": (("Hello  world, unaffable <extra_id_0>x QQ [MASK] ½ 中文 zzq azzq",), {}),
    "one-pair": (("Hello world", "second <TAG> pair"), {"return_offsets_mapping": True}),
}


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("call", list(TEXT_CALLS))
def test_text_maps(pairs, model, call):
    args, kw = TEXT_CALLS[call]
    ours, ref = pairs[model]
    # the map methods on every token/word/char of 40 rows; the lists on every row
    small = tuple(a[:40] if isinstance(a, list) else a for a in args)
    check(ours, ref, *small, **kw)
    check(ours, ref, *args, maps=False, **kw)


def test_truncation_side_left(pairs):
    ours, ref = pairs["bert"]
    try:
        ours.truncation_side = ref.truncation_side = "left"
        check(ours, ref, TEXTS[:60], TEXTS[:60][::-1], truncation="longest_first", max_length=24,
              stride=2, return_overflowing_tokens=True, padding=True)
    finally:
        ours.truncation_side = ref.truncation_side = "right"


# --- is_split_into_words=True -------------------------------------------------------
WORD_CALLS = {  # name -> (args, kwargs)
    "split": ((SPLIT,), {"return_offsets_mapping": True, "return_special_tokens_mask": True}),
    "punct": ((PUNCT,), {"return_offsets_mapping": True}),
    "split-pairs": ((SPLIT, PUNCT[::-1]), {"return_offsets_mapping": True}),
    "pairs-overflow-left-np": ((SPLIT, PUNCT[::-1]), dict(
        truncation="longest_first", max_length=48, stride=3, return_overflowing_tokens=True,
        padding=True, padding_side="left", return_tensors="np", return_offsets_mapping=True,
        return_length=True)),
    "only_first-overflow": ((PUNCT, [["short", "pair"]] * len(PUNCT)), dict(
        truncation="only_first", max_length=24, stride=5, return_overflowing_tokens=True,
        padding="max_length", return_offsets_mapping=True)),
    "no-specials": ((SPLIT,), {"add_special_tokens": False, "return_offsets_mapping": True}),
    "edge": ((EDGE_WORDS,), {"return_offsets_mapping": True, "return_special_tokens_mask": True}),
    "edge-pairs-padded": ((EDGE_WORDS, EDGE_WORDS[::-1]), dict(padding=True, return_offsets_mapping=True)),
    "edge-truncated": ((EDGE_WORDS, EDGE_WORDS[::-1]), dict(
        truncation=True, max_length=14, stride=1, return_overflowing_tokens=True, padding=True)),
    "one-list": ((EDGE_WORDS[0],), {"return_offsets_mapping": True}),
    "one-pair": ((EDGE_WORDS[0], EDGE_WORDS[2]), {"return_offsets_mapping": True}),
    "one-empty": (([],), {}),
    "one-list-empty-pair": ((["a", "b"], []), {}),
    "one-list-np": ((SPLIT[3],), {"return_tensors": "np"}),
    "one-list-overflow": ((SPLIT[3],), dict(truncation=True, max_length=6, stride=2,
                                            return_overflowing_tokens=True)),
    "batch-of-pair-tuples": (([(a, b) for a, b in zip(SPLIT[:30], PUNCT[30:60])],), {}),
    "batch-of-empty": (([[], ["a"], []],), {"padding": True}),
}


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("call", list(WORD_CALLS))
def test_split_into_words(pairs, model, call):
    args, kw = WORD_CALLS[call]
    ours, ref = pairs[model]
    small = tuple(a[:40] if isinstance(a, list) and a and isinstance(a[0], (list, tuple)) else a
                  for a in args)
    check(ours, ref, *small, is_split_into_words=True, **kw)
    check(ours, ref, *args, is_split_into_words=True, maps=False, **kw)


@pytest.mark.parametrize("model", MODELS)
def test_split_into_words_encode_and_tokenize(pairs, model):
    ours, ref = pairs[model]
    for words in EDGE_WORDS + SPLIT[:50] + PUNCT[:50]:
        assert ours.encode(words, is_split_into_words=True) == ref.encode(words, is_split_into_words=True)
        assert (ours.tokenize(words, is_split_into_words=True)
                == ref.tokenize(words, is_split_into_words=True)), words
        assert (ours.tokenize(words, pair=["a", "pair"], is_split_into_words=True, add_special_tokens=True)
                == ref.tokenize(words, pair=["a", "pair"], is_split_into_words=True, add_special_tokens=True))
    for text in TEXTS[:100] + ["a <TAG> b QQ c [NEW] x<extra_id_3>y ½ zzq"]:
        assert ours.tokenize(text) == ref.tokenize(text), text
        assert ours.tokenize(text, "pair here") == ref.tokenize(text, "pair here"), text


@pytest.mark.parametrize("model", ["bert", "t5"])
def test_split_into_words_threads(pairs, model):
    """The pool gives what one thread gives (and transformers)."""
    ours, ref = pairs[model]
    before = hfonnx.get_num_threads()
    try:
        for n in (1, 3):
            hfonnx.set_num_threads(n)
            check(ours, ref, SPLIT * 3, PUNCT * 3, is_split_into_words=True, maps=False, padding=True,
                  truncation=True, max_length=64, return_tensors="np", return_offsets_mapping=True)
    finally:
        hfonnx.set_num_threads(before)


# --- bad input ----------------------------------------------------------------------
BAD_WORDS = [  # (args, exception, message fragment); transformers raises TypeError too, or a
    # ValueError when its check of the first element already fails
    ((["ok", 3],), TypeError, r"text\[1\] must be a str"),
    (([["a"], ["b", None]],), TypeError, r"text\[1\]\[1\] must be a str"),
    (([["a"], "b c"],), TypeError, r"text\[1\] must be a list or tuple"),
    (("a b c",), TypeError, "list or tuple of words"),
    ((["a"], "b"), TypeError, "text_pair"),
    (([["a"]], [[3]]), TypeError, r"text_pair\[0\]\[0\] must be a str"),
    (([["a"]], ["c"]), TypeError, r"text_pair\[0\] must be a list or tuple"),
    ((["a", "b"], ["c", b"d"]), TypeError, r"text_pair\[1\] must be a str"),
]


@pytest.mark.parametrize("args,exc,msg", BAD_WORDS)
def test_split_into_words_bad_input(pairs, args, exc, msg):
    ours, ref = pairs["bert"]
    with pytest.raises(exc, match=msg):
        ours(*args, is_split_into_words=True)
    with pytest.raises((exc, ValueError)):
        ref(*args, is_split_into_words=True)


def test_split_into_words_other_errors(pairs):
    ours, _ = pairs["bert"]
    with pytest.raises(ValueError, match="batch length"):
        ours([["a"]], [["b"], ["c"]], is_split_into_words=True)
    with pytest.raises(hfonnx.TokenizerError, match=r"word 1: .*surrogate.*batch index 1"):
        ours([["fine"], ["ok", "x\ud800"]], is_split_into_words=True)


# --- the BatchEncoding object -------------------------------------------------------
def test_maps_survive_copy_not_pickle(pairs):
    ours, ref = pairs["bert"]
    enc = ours(TEXTS[:5], TEXTS[5:10])
    expected = ref(TEXTS[:5], TEXTS[5:10])
    dup = copy.copy(enc)
    assert dup.word_ids(3) == expected.word_ids(3) and dup.tokens(4) == expected.tokens(4)
    assert enc.copy().sequence_ids(2) == expected.sequence_ids(2)
    back = pickle.loads(pickle.dumps(enc))
    assert as_lists(back) == as_lists(expected)
    assert not back.is_fast and enc.is_fast
    with pytest.raises(ValueError, match="word_ids"):
        back.word_ids(0)
    with pytest.raises(IndexError):
        enc.word_ids(5)
    hand_made = hfonnx.BatchEncoding({"input_ids": [[1, 2]]})
    assert hand_made.n_sequences is None
    with pytest.raises(ValueError, match="tokens"):
        hand_made.tokens()


def test_pt_tensors_keep_maps(pairs):
    pytest.importorskip("torch")
    ours, ref = pairs["bert"]
    check(ours, ref, TEXTS[:20], padding=True, return_tensors="pt", maps=False)


# --- shared corpora (full files) ---------------------------------------------------------
def _shared_lines():
    c = os.path.join(SHARED, "corpora")
    lines = []
    for f in ("botchan.txt", "wagahaiwa_nekodearu.txt", "hf-sample_text.txt"):
        lines += _lines(os.path.join(c, f))
    udhr = os.path.join(c, "udhr")
    for f in sorted(os.listdir(udhr)):
        lines += _lines(os.path.join(udhr, f))
    return lines


@pytest.mark.parametrize("model", ["bert", "t5"])
def test_shared_corpora(pairs, model):
    """Every line of the shared corpora: word ids, sequence ids and tokens of
    texts and of their str.split() words, identical to transformers'."""
    if not os.path.isdir(SHARED):
        pytest.skip(NO_SHARED)
    ours, ref = pairs[model]
    lines = _shared_lines()
    for chunk in range(0, len(lines), 8192):
        part = lines[chunk:chunk + 8192]
        a, b = ours(part), ref(part)
        for i in range(len(part)):
            assert a.word_ids(i) == b.word_ids(i), part[i]
            assert a.tokens(i) == b.tokens(i), part[i]
        words = [line.split() for line in part]
        a, b = ours(words, is_split_into_words=True), ref(words, is_split_into_words=True)
        assert a["input_ids"] == b["input_ids"]
        for i in range(len(part)):
            assert a.word_ids(i) == b.word_ids(i), part[i]
            assert a.tokens(i) == b.tokens(i), part[i]
            assert a.sequence_ids(i) == b.sequence_ids(i), part[i]
