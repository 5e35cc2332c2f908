"""The Unigram model and the Metaspace pre-tokenizer on tiny hand-made
vocabularies, against tokenizers' own Unigram/Metaspace (the reference):
Viterbi ties, fused unknowns, byte fallback, duplicate pieces, every
prepend_scheme with and without split and WhitespaceSplit.  The T5 files
exercise none of these options (transformers fixes them for T5)."""
import os
import random

import pytest

tokenizers = pytest.importorskip("tokenizers")
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers  # noqa: E402

import hfonnx  # noqa: E402
from hfonnx import _hfonnx  # noqa: E402

SCHEMES = {"always": 0, "first": 1, "never": 2}

# (name, vocab, unk_id, byte_fallback)
VOCABS = [
    ("banana", [("<unk>", 0.0), ("\u2581", -1.0), ("b", -2.0), ("a", -2.0), ("n", -2.0), ("ba", -1.5),
                ("na", -1.5), ("nana", -2.0), ("ban", -3.0), ("\u2581ba", -1.0), ("\u2581banana", -4.5)], 0, False),
    ("ties", [("<unk>", 0.0), ("\u2581", -1.0), ("a", -1.0), ("aa", -2.0), ("aaa", -3.0), ("b", -1.0),
              ("ab", -2.0), ("ba", -2.0), ("\u2581a", -2.0)], 0, False),
    ("fused-unk-in-vocab", [("<unk>", 0.0), ("\u2581", -1.0), ("a", -1.0), ("xy", -30.0), ("\u2581a", -1.5)], 0, False),
    ("duplicates", [("<unk>", 0.0), ("\u2581", -1.0), ("a", -1.0), ("b", -2.0), ("a", -0.5), ("ab", -9.0),
                    ("ab", -1.0)], 0, False),
    ("byte-fallback", [("<unk>", 0.0), ("\u2581", -1.0), ("a", -1.0), ("b", -1.0)]
     + [(f"<0x{b:02X}>", -5.0) for b in range(256)], 0, True),
    ("byte-fallback-partial", [("<unk>", 0.0), ("\u2581", -1.0), ("a", -1.0), ("<0xC3>", -5.0),
                               ("<0xA9>", -5.0)], 0, True),
    ("unk-not-first", [("\u2581", -1.0), ("a", -1.0), ("b", -2.0), ("<unk>", 0.0)], 3, False),
]

ALPHABET = "aabbnnxy\u00e9\u65e5 \u2581\t"


def texts(seed, n=400):
    rng = random.Random(seed)
    out = ["", " ", "a", "banana", "bananas", "xy", "xyxy a", "\u00e9\u00e9", "a\u2581b", "\u2581\u2581a",
           "  lead", "trail  ", "a  b", "\u65e5\u672c"]
    for _ in range(n):
        out.append("".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 14))))
    return out


def build(vocab, unk_id, byte_fallback, scheme="always", split=True, ws_split=True, charsmap=None):
    ref = Tokenizer(models.Unigram(vocab, unk_id=unk_id if unk_id >= 0 else None, byte_fallback=byte_fallback))
    if charsmap is not None:
        ref.normalizer = normalizers.Precompiled(charsmap)
    meta = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme=scheme, split=split)
    ref.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), meta]) if ws_split else meta
    core = _hfonnx._TokenizerCore([], -1, "", 0, None, None, [], [(0, 0, [])], [(0, 0, []), (1, 0, [])])
    _hfonnx._core_set_unigram(core, [list(v) for v in vocab], unk_id, byte_fallback, charsmap,
                              ("\u2581", SCHEMES[scheme], split, ws_split))
    return ref, core


def encode(core, lines):
    out, _ = core.encode_batch(lines, None, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 1)
    return out["input_ids"], [[tuple(o) for o in row] for row in out["offset_mapping"]]


@pytest.mark.parametrize("name,vocab,unk_id,byte_fallback", VOCABS, ids=[v[0] for v in VOCABS])
def test_unigram_vs_tokenizers(name, vocab, unk_id, byte_fallback):
    ref, core = build(vocab, unk_id, byte_fallback)
    lines = texts(sum(map(ord, name)))
    ids, offs = encode(core, lines)
    for i, line in enumerate(lines):
        e = ref.encode(line)
        assert (ids[i], offs[i]) == (e.ids, [tuple(o) for o in e.offsets]), repr(line)


@pytest.mark.parametrize("scheme", ["always", "first", "never"])
@pytest.mark.parametrize("split", [True, False])
@pytest.mark.parametrize("ws_split", [True, False])
def test_metaspace_options(scheme, split, ws_split):
    vocab = VOCABS[0][1] + [("\u2581a", -1.2), ("a\u2581", -1.2), ("\u2581\u2581", -1.0), ("n\u2581b", -1.0)]
    ref, core = build(vocab, 0, False, scheme, split, ws_split)
    lines = texts(7)
    ids, offs = encode(core, lines)
    for i, line in enumerate(lines):
        e = ref.encode(line)
        assert (ids[i], offs[i]) == (e.ids, [tuple(o) for o in e.offsets]), repr(line)


def test_no_unk_token_is_an_error():
    _, core = build([("\u2581", -1.0), ("a", -1.0)], -1, False)
    assert encode(core, ["a a"])[0] == [[0, 1, 0, 1]]
    with pytest.raises(hfonnx.TokenizerError, match="unk"):
        encode(core, ["ab"])


def test_bad_vocab_entries():
    core = _hfonnx._TokenizerCore([], -1, "", 0, None, None, [], [(0, 0, [])], [(0, 0, [])])
    for bad in ([("a",)], [("a", "x")], [(1, 0.0)], ["ab"]):
        with pytest.raises((hfonnx.TokenizerError, TypeError)):
            _hfonnx._core_set_unigram(core, bad, 0, False, None, None)
    with pytest.raises(hfonnx.TokenizerError, match="unk_id"):
        _hfonnx._core_set_unigram(core, [("a", 0.0)], 5, False, None, None)
    with pytest.raises(TypeError):
        _hfonnx._core_set_unigram(object(), [("a", 0.0)], 0, False, None, None)


def test_large_alphabet():
    # more characters than the trie gives a symbol of their own (255): the
    # rarer ones take two steps; pieces mix frequent and rare characters
    rng = random.Random(5)
    chars = [chr(0x4E00 + i) for i in range(700)]
    vocab = [("<unk>", 0.0), ("\u2581", -1.0)] + [(c, -5.0 - rng.random()) for c in chars]
    seen = {v[0] for v in vocab}
    while len(vocab) < 3000:
        p = "".join(rng.choice(chars[:40] if rng.random() < 0.5 else chars) for _ in range(rng.randint(2, 5)))
        if p not in seen:
            seen.add(p)
            vocab.append((p, -3.0 - 6 * rng.random()))
    ref, core = build(vocab, 0, False)
    alphabet = chars[:60] + chars[-60:] + ["\u00e9", " "]
    lines = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30))) for _ in range(300)]
    lines += [p for p, _ in vocab[-200:]]
    ids, offs = encode(core, lines)
    for i, line in enumerate(lines):
        e = ref.encode(line)
        assert (ids[i], offs[i]) == (e.ids, [tuple(o) for o in e.offsets]), repr(line)


T5_SPM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "tokenizers", "t5", "spiece.model")
# characters the Precompiled normalizer changes, removes or joins into clusters
NORM_ALPHABET = ["a", "b", "e", " ", "  ", "\u2581", "\t", "\n", "\r\n", "\x01", "\x7f", "\u00e9", "e\u0301",
                 "a\u0300\u0316", "\ufb01", "\u2474", "\uff21", "\u3000", "\u00a0", "\u200b", "\u1100\u1161",
                 "\U0001f600", "\U0001f1e6\U0001f1e7", "\u0915\u094d", "\u4e00", "\ufdfa", "\u00ad", "."]


@pytest.mark.parametrize("scheme", ["always", "first", "never"])
@pytest.mark.parametrize("split", [True, False])
@pytest.mark.parametrize("ws_split", [True, False])
def test_precompiled_with_metaspace(scheme, split, ws_split):
    # the T5 stages with the other Metaspace options: with WhitespaceSplit
    # they run fused into one pass (walk_t5.c), without it stage by stage
    spm = _hfonnx._spm_load(open(T5_SPM, "rb").read())
    charsmap = spm["precompiled_charsmap"]
    vocab = [(p, float(s)) for p, s, *_ in spm["pieces"]]
    ref, core = build(vocab, 2, False, scheme, split, ws_split, charsmap)
    rng = random.Random(11)
    lines = ["".join(rng.choice(NORM_ALPHABET) for _ in range(rng.randint(0, 16))) for _ in range(400)]
    lines += ["\x01abc", "\ufb01\x01x", "\u2474\x01", " \u2581a\u2581\u2581b ", "\u3000x\u00a0y"]
    ids, offs = encode(core, lines)
    for i, line in enumerate(lines):
        e = ref.encode(line)
        assert (ids[i], offs[i]) == (e.ids, [tuple(o) for o in e.offsets]), repr(line)
