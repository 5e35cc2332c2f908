"""Tokenizers with exactly the output of Hugging Face's fast tokenizers.

The pipeline runs in C (``csrc/tok/``); this module finds and reads the files
(``tokenizer.json``, or ``vocab.txt`` + ``tokenizer_config.json`` +
``special_tokens_map.json``), resolves the call's arguments the way
``transformers`` does, and wraps the result in a :class:`BatchEncoding`.

    >>> tok = hfonnx.AutoTokenizer.from_pretrained("bert-base-uncased/")
    >>> enc = tok(["Hello world!", "Bonjour"], padding=True, return_tensors="np")
    >>> enc["input_ids"].shape
    (2, 5)

Internally every tokenizer is described by a ``tokenizer.json``-shaped dict
(``self._spec``); it is what gets pickled and saved, and what the C core is
built from.  A new model (T5) subclasses :class:`PreTrainedTokenizerBase` and
provides ``_spec_from_files`` and its defaults; the call, padding,
truncation, batching and decoding code is shared.
"""
from __future__ import annotations

import collections
import json
import os
import sys
import warnings
from collections.abc import Mapping, Sized
from typing import Any, Iterable, NamedTuple

import numpy as np

from . import _hfonnx
from .added_tokens import AddedToken, AddedVocab, as_token, is_added_token
from .errors import TokenizerError

__all__ = ["BatchEncoding", "TokenSpan", "CharSpan", "AddedToken", "PreTrainedTokenizerBase",
           "BertTokenizer", "AutoTokenizer", "set_num_threads", "get_num_threads"]

VERY_LARGE_INTEGER = int(1e30)  # transformers: model_max_length when unknown
LARGE_INTEGER = int(1e20)

_WANT_TYPE_IDS, _WANT_ATTENTION, _WANT_SPECIAL, _WANT_OFFSETS, _WANT_LENGTH, _WANT_OVERFLOW = (
    1, 2, 4, 8, 16, 32)
_ADDED_SPECIAL, _ADDED_NORMALIZED, _ADDED_LSTRIP, _ADDED_RSTRIP, _ADDED_SINGLE_WORD = 1, 2, 4, 8, 16
_TRUNCATION = {"longest_first": 1, "only_first": 2, "only_second": 3, "do_not_truncate": 0}
_PADDING = {"longest": 1, "max_length": 2, "do_not_pad": 0}
_PAD_LONGEST, _PAD_MAX_LENGTH = 1, 2
# the keyword arguments a call passes on (_call)
_CALL_ARGS = frozenset((
    "add_special_tokens", "padding", "truncation", "max_length", "stride", "is_split_into_words",
    "pad_to_multiple_of", "padding_side", "return_tensors", "return_token_type_ids",
    "return_attention_mask", "return_overflowing_tokens", "return_special_tokens_mask",
    "return_offsets_mapping", "return_length", "verbose", "split_special_tokens"))
# Rust's char::is_whitespace (the White_Space property); not Python's isspace()
_RUST_WHITESPACE = ("\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
                    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
_SPECIAL_NAMES = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token",
                  "mask_token")


# No idle pool threads when the process forks (Python 3.12+ warns about forking a
# multi-threaded process); the child and the parent restart the pool on next use.
if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_hfonnx._tok_pool_shutdown)


def set_num_threads(n: int) -> None:
    """Set how many threads batch tokenization uses (``n <= 0``: all cores)."""
    _hfonnx.set_num_threads(int(n))


def get_num_threads() -> int:
    """How many threads batch tokenization uses."""
    return _hfonnx.get_num_threads()


class TokenSpan(NamedTuple):
    """Tokens ``[start, end)`` of an encoded row (``transformers.TokenSpan``)."""
    start: int
    end: int


class CharSpan(NamedTuple):
    """Characters ``[start, end)`` of an input string (``transformers.CharSpan``)."""
    start: int
    end: int


class RaggedIds(NamedTuple):
    """The token ids of a batch in one flat array (:meth:`encode_batch_ragged`):
    row ``r`` is ``ids[offsets[r]:offsets[r + 1]]``, the layout of an Arrow
    list array (what ``datasets`` stores) and of nanotoken's ``RaggedIds``."""
    ids: np.ndarray       # int32, every row's ids one after the other
    offsets: np.ndarray   # int64, len(rows) + 1: where each row starts, then the end

    @property
    def lengths(self) -> np.ndarray:
        """Tokens per row."""
        return np.diff(self.offsets)

    def to_list(self) -> list[list[int]]:
        """The rows as lists of ids (what ``tokenizer(texts)["input_ids"]`` gives)."""
        flat, o = self.ids.tolist(), self.offsets.tolist()
        return [flat[o[r]:o[r + 1]] for r in range(len(o) - 1)]


def _check_id(i: int) -> int:
    """A token id as the reference takes it (an unsigned 32-bit number):
    OverflowError otherwise, as transformers raises."""
    if i < 0 or i > 0xFFFFFFFF:
        raise OverflowError(f"token id {i} is not an unsigned 32-bit number")
    return i


class BatchEncoding(collections.UserDict):
    """The result of a tokenizer call: a mapping like ``transformers.BatchEncoding``.

    Keys are ``input_ids``, ``token_type_ids``, ``attention_mask`` and, when
    asked for, ``special_tokens_mask``, ``offset_mapping``, ``length`` and
    ``overflow_to_sample_mapping``; values are lists, numpy arrays
    (``return_tensors="np"``) or torch tensors (``"pt"``).

    As with transformers' fast tokenizers, a row of the result (a text, a
    pair, or an overflowing part when ``return_overflowing_tokens=True``) can
    be mapped back to the input: :meth:`tokens`, :meth:`word_ids`,
    :meth:`sequence_ids`, :meth:`token_to_word`, :meth:`word_to_tokens`,
    :meth:`char_to_token`, :meth:`token_to_chars`, ...  The engine keeps
    what they need from the call and builds a row's lists on first use.
    """

    def __init__(self, data=None, encodings=None, tokenizer=None, *, tensor_type=None,
                 prepend_batch_axis: bool = False):
        # UserDict's own __init__ copies key by key through MutableMapping.update
        # (a third of a small call's Python time); a dict copy is the same here
        self.data = {} if data is None else dict(data)
        self._encodings = encodings      # _hfonnx._Encodings, or None
        self._tokenizer = tokenizer
        self._rows: dict[int, tuple] = {}
        if tensor_type is not None:
            self.convert_to_tensors(tensor_type, prepend_batch_axis)

    def __getattr__(self, item: str):
        if item.startswith("_"):  # not set (an unpickled object): not a data key either
            raise AttributeError(item)
        try:
            return self.data[item]
        except KeyError:
            raise AttributeError(item) from None

    def __getstate__(self):
        # the engine's encodings do not pickle: an unpickled BatchEncoding
        # has the data only (word_ids() etc. then raise ValueError)
        return {"data": self.data}

    def __setstate__(self, state):
        self.data = state["data"]
        self._encodings, self._tokenizer, self._rows = None, None, {}

    def __copy__(self):
        return BatchEncoding(dict(self.data), self._encodings, self._tokenizer)

    # ---- what transformers' Encoding objects answer ---------------------------
    @property
    def is_fast(self) -> bool:
        """Whether the token/word/character maps are available (as transformers)."""
        return self._encodings is not None

    @property
    def n_sequences(self) -> int | None:
        """How many sequences make each row: 1 (texts) or 2 (pairs); None when unknown."""
        if self._encodings is None or len(self._encodings) == 0:
            return None
        return self._n_seq(self._row(0, "n_sequences")[1])

    @staticmethod
    def _n_seq(ranges) -> int:
        return sum(r is not None for r in ranges) or 1

    def _row(self, batch_index: int, what: str) -> tuple:
        """(words, ranges, offsets) of a row: cached lists from the engine."""
        if self._encodings is None:
            raise ValueError(f"{what}() is not available: this BatchEncoding does not come from "
                             "a tokenizer call (or was pickled)")
        n = len(self._encodings)
        i = int(batch_index)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"batch index {batch_index} out of range ({n} rows)")
        row = self._rows.get(i)
        if row is None:
            row = self._rows[i] = self._encodings.row(i)
        return row

    @staticmethod
    def _seq_range(ranges, n: int, sequence_index: int) -> tuple[int, int]:
        # Encoding::sequence_range: the whole row when that sequence has no range
        if 0 <= sequence_index < 2 and ranges[sequence_index] is not None:
            return ranges[sequence_index]
        return (0, n)

    @staticmethod
    def _split(first: int, second: int | None) -> tuple[int, int]:
        """transformers' `(batch_or_x_index, x_index=None)` convention."""
        return (first, second) if second is not None else (0, first)

    def tokens(self, batch_index: int = 0) -> list[str]:
        """The token strings of a row: vocabulary entries (``"##ing"``, ``"▁Hello"``),
        an added token's matched text, the pad token for padding."""
        self._row(batch_index, "tokens")  # checks the index
        n = len(self._encodings)
        i = batch_index + n if batch_index < 0 else batch_index
        tok = self._tokenizer
        raw = self._encodings.tokens(i, tok._text_tokens)
        return [t if isinstance(t, str) else tok.pad_token if t is None else tok._id_to_token_str(t)
                for t in raw]

    def word_ids(self, batch_index: int = 0) -> list[int | None]:
        """Per token of a row, the index of the word it comes from (words counted
        per sequence; the words of the list with ``is_split_into_words=True``);
        None for special tokens and padding."""
        return list(self._row(batch_index, "word_ids")[0])

    def words(self, batch_index: int = 0) -> list[int | None]:
        """Same as :meth:`word_ids` (transformers 4's older name; transformers 5 dropped it)."""
        return self.word_ids(batch_index)

    def sequence_ids(self, batch_index: int = 0) -> list[int | None]:
        """Per token of a row: 0 (text), 1 (text_pair), None (special tokens, padding)."""
        words, ranges, _ = self._row(batch_index, "sequence_ids")
        out: list[int | None] = [None] * len(words)
        present = {s: r for s, r in enumerate(ranges) if r is not None}
        # Encoding::get_sequence_ids
        for s in range(len(present) or 1):
            a, b = present.get(s, (0, len(words)))
            out[a:b] = [s] * (b - a)
        return out

    def token_to_sequence(self, batch_or_token_index: int, token_index: int | None = None) -> int | None:
        """The sequence (0 or 1) a token comes from; None for special tokens."""
        b, t = self._split(batch_or_token_index, token_index)
        words, ranges, _ = self._row(b, "token_to_sequence")
        if t < 0:
            t += len(words)
        # Encoding::token_to_sequence
        if t > len(words):
            return None
        if all(r is None for r in ranges):
            return 0
        for s, r in enumerate(ranges):
            if r is not None and r[0] <= t < r[1]:
                return s
        return None

    def token_to_word(self, batch_or_token_index: int, token_index: int | None = None) -> int | None:
        """The index of the word a token comes from (in its sequence); None for special tokens."""
        b, t = self._split(batch_or_token_index, token_index)
        words = self._row(b, "token_to_word")[0]
        if t < 0:
            t += len(words)
        if self.token_to_sequence(b, t) is None or not 0 <= t < len(words):
            return None
        return words[t]

    def word_to_tokens(self, batch_or_word_index: int, word_index: int | None = None,
                       sequence_index: int = 0) -> TokenSpan | None:
        """The tokens ``[start, end)`` of a word of sequence ``sequence_index``; None
        when the word has no token (an empty word, or cut off by truncation)."""
        b, w = self._split(batch_or_word_index, word_index)
        words, ranges, _ = self._row(b, "word_to_tokens")
        if w < 0:
            w += len(words)  # what transformers means (it reads an attribute it never sets)
        a, z = self._seq_range(ranges, len(words), sequence_index)
        # Encoding::word_to_tokens: scan while word <= w (None sorts first)
        start = end = None
        for i in range(a, z):
            x = words[i]
            if x is not None and x > w:
                break
            if x == w:
                if start is None:
                    start = i
                end = i + 1
        return None if start is None else TokenSpan(start, end)

    def word_to_chars(self, batch_or_word_index: int, word_index: int | None = None,
                      sequence_index: int = 0) -> CharSpan | None:
        """The characters ``[start, end)`` of a word in its input string (None when
        the word has no token; transformers raises TypeError there)."""
        b, w = self._split(batch_or_word_index, word_index)
        span = self.word_to_tokens(b, w, sequence_index)
        if span is None or span.end == 0:
            return None
        offsets = self._row(b, "word_to_chars")[2]
        return CharSpan(offsets[span.start][0], offsets[span.end - 1][1])

    def token_to_chars(self, batch_or_token_index: int, token_index: int | None = None) -> CharSpan | None:
        """The characters ``[start, end)`` of a token in its input string; None for
        special tokens and padding."""
        b, t = self._split(batch_or_token_index, token_index)
        words, _, offsets = self._row(b, "token_to_chars")
        if t < 0:
            t += len(words)
        if self.token_to_sequence(b, t) is None or not 0 <= t < len(offsets):
            return None
        return CharSpan(*offsets[t])

    def char_to_token(self, batch_or_char_index: int, char_index: int | None = None,
                      sequence_index: int = 0) -> int | None:
        """The token covering character ``char_index`` of sequence ``sequence_index``'s
        input string; None when no token covers it (a space)."""
        b, c = self._split(batch_or_char_index, char_index)
        words, ranges, offsets = self._row(b, "char_to_token")
        a, z = self._seq_range(ranges, len(words), sequence_index)
        for i in range(a, min(z, len(offsets))):
            if offsets[i][0] <= c < offsets[i][1]:
                return i
        return None

    def char_to_word(self, batch_or_char_index: int, char_index: int | None = None,
                     sequence_index: int = 0) -> int | None:
        """The word containing character ``char_index`` of sequence ``sequence_index``."""
        b, c = self._split(batch_or_char_index, char_index)
        t = self.char_to_token(b, c, sequence_index)
        return None if t is None else self.token_to_word(b, t)

    def convert_to_tensors(self, tensor_type: str | None = None,
                           prepend_batch_axis: bool = False) -> "BatchEncoding":
        """Convert the values in place to ``"np"`` arrays or ``"pt"`` tensors, as
        transformers' ``BatchEncoding.convert_to_tensors``: dtypes follow the
        values (int64 for token ids, float for float labels), values that are
        already arrays/tensors are kept, ragged rows give a numpy object array
        and a ValueError for torch."""
        if tensor_type is None:
            return self
        tensor_type = str(getattr(tensor_type, "value", tensor_type))
        if tensor_type == "np" and not prepend_batch_axis and all(
                type(v) is np.ndarray for v in self.data.values()):
            return self  # the C side's padded output: arrays already
        if tensor_type == "pt":
            import torch

            def as_tensor(value):
                if isinstance(value, np.ndarray):  # our C output: same values and dtype, no copy
                    return torch.from_numpy(value)
                if isinstance(value, list) and len(value) > 0 and isinstance(value[0], np.ndarray):
                    return torch.from_numpy(np.array(value))
                return torch.tensor(value, dtype=torch.int64 if _is_empty(value) else None)
            is_tensor = torch.is_tensor
        elif tensor_type == "np":
            def as_tensor(value):
                if (isinstance(value, (list, tuple)) and len(value) > 0
                        and isinstance(value[0], (list, tuple, np.ndarray))
                        and len({len(v) for v in value}) > 1):
                    return np.asarray([np.asarray(v) for v in value], dtype=object)  # ragged
                return np.asarray(value, dtype=np.int64 if _is_empty(value) else None)

            def is_tensor(value):
                return isinstance(value, np.ndarray)
        else:
            raise TokenizerError(f"return_tensors={tensor_type!r} is not supported "
                                 "(use None, 'np' or 'pt')")
        for key, value in list(self.data.items()):
            if prepend_batch_axis:
                value = [value]
            if is_tensor(value):
                continue
            try:
                self.data[key] = as_tensor(value)
            except Exception as e:
                raise ValueError(
                    "Unable to create tensor, you should probably activate truncation and/or padding "
                    "with 'padding=True' 'truncation=True' to have batched tensors with the same length. "
                    f"Perhaps your features (`{key}` in this case) have excessive nesting (inputs type "
                    "`list` where type `int` is expected).") from e
        return self

    def to(self, device, *, non_blocking: bool = False) -> "BatchEncoding":
        """Move every torch tensor to ``device`` (as transformers); other values stay."""
        torch = sys.modules.get("torch")
        if isinstance(device, (str, int)) or (torch is not None and isinstance(device, torch.device)):
            self.data = {k: v.to(device=device, non_blocking=non_blocking)
                         if hasattr(v, "to") and callable(v.to) else v for k, v in self.data.items()}
        else:
            warnings.warn(f"Attempting to cast a BatchEncoding to type {device}. This is not supported.")
        return self


def _is_empty(arr) -> bool:
    """transformers' _is_empty: no leaf element (nested empty lists/tuples)."""
    if len(arr) == 0:
        return True
    if not isinstance(arr[0], (list, tuple)):
        return False
    return all(_is_empty(a) for a in arr)


def _is_torch_tensor(x) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _to_py_obj(obj):
    """transformers' to_py_obj: tensors and arrays (nested in lists, tuples and
    dicts) to Python lists; lists of numbers are copied as they are."""
    if isinstance(obj, (int, float)):
        return obj
    if isinstance(obj, (dict, collections.UserDict)):
        return {k: _to_py_obj(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        if all(isinstance(x, (int, float, np.number)) for x in obj):
            return list(obj)
        return [_to_py_obj(o) for o in obj]
    if _is_torch_tensor(obj) or isinstance(obj, (np.ndarray, np.number)):
        return obj.tolist()
    return obj


def _read_json(path: str) -> Any:
    try:
        with open(path, "r", encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise TokenizerError(f"{path}: file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise TokenizerError(f"{path}: not valid JSON ({e})") from None
    except OSError as e:
        raise TokenizerError(f"{path}: cannot read ({e})") from None


def _token_content(v: Any) -> str | None:
    """A special token value: a str, an AddedToken (hfonnx's or tokenizers') or
    an AddedToken dict from a config."""
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, dict) and isinstance(v.get("content"), str):
        return v["content"]
    if is_added_token(v):
        return v.content
    raise TokenizerError(f"special token must be a string or an AddedToken dict, got {v!r}")


def _extra_special(config: dict) -> list[str]:
    """The extra special tokens a config lists: transformers 5's
    ``extra_special_tokens`` when present, else 4's ``additional_special_tokens``."""
    extra = config.get("extra_special_tokens")
    if extra is None:
        extra = config.get("additional_special_tokens")
    return [_token_content(t) for t in extra] if isinstance(extra, (list, tuple)) else []


def load_vocab(path: str) -> dict[str, int]:
    """Read a WordPiece ``vocab.txt``: one token per line, split on ``\\n`` only
    (bert-base-chinese has U+2028 as a token), later duplicates win as in
    transformers' ``load_vocab``."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise TokenizerError(f"{path}: vocabulary file not found") from None
    except OSError as e:
        raise TokenizerError(f"{path}: cannot read ({e})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise TokenizerError(f"{path}: not UTF-8 ({e})") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        raise TokenizerError(f"{path}: empty vocabulary")
    vocab: dict[str, int] = {}
    for i, tok in enumerate(lines):
        # Parity: transformers hands vocab.txt to tokenizers' WordPiece::read_file,
        # which reads lines and applies Rust's trim_end() (Unicode White_Space):
        # bert-base-chinese's "\u2028" token becomes "" and "##\u2028" becomes "##".
        vocab[tok.rstrip(_RUST_WHITESPACE)] = i
    return vocab


class PreTrainedTokenizerBase:
    """What every hfonnx tokenizer shares: the call, padding, encode/decode,
    special and added tokens, saving and pickling.  Subclasses build
    ``self._spec`` (a ``tokenizer.json``-shaped dict) and the C core from it."""

    model_input_names = ["input_ids", "token_type_ids", "attention_mask"]
    padding_side = "right"
    truncation_side = "right"
    SPECIAL_TOKENS_ATTRIBUTES = list(_SPECIAL_NAMES)
    tokenizer_class_name = "PreTrainedTokenizer"
    # a model token's string is the text it covers (Unigram), not its vocabulary entry (WordPiece)
    _text_tokens = False
    _default_special: dict[str, str | None] = {}

    # ---- construction -------------------------------------------------------
    def _setup(self, spec: dict, config: dict, source: str = "", loading: bool = True) -> None:
        self._spec = dict(spec)
        self._config = dict(config)
        self._source = source
        self.name_or_path = str(config.get("name_or_path") or "")
        self.model_max_length = int(config.get("model_max_length") or VERY_LARGE_INTEGER)
        self.padding_side = config.get("padding_side", type(self).padding_side)
        self.truncation_side = config.get("truncation_side", type(self).truncation_side)
        for what, side in (("Padding", self.padding_side), ("Truncation", self.truncation_side)):
            if side not in ("left", "right"):
                raise ValueError(f"{what} side should be selected between 'right' and 'left', "
                                 f"current value: {side}")
        self.model_input_names = list(config.get("model_input_names") or type(self).model_input_names)
        self.clean_up_tokenization_spaces = bool(config.get("clean_up_tokenization_spaces", False))
        # the default of the calls' split_special_tokens, as transformers
        self.split_special_tokens = bool(config.get("split_special_tokens", False))
        self.deprecation_warnings: dict = {}  # transformers' collators read and write it
        self._vocab: dict[str, int] = self._read_vocab(spec.get("model") or {}, source)
        self._id_to_token: dict[int, str] = {v: k for k, v in self._vocab.items()}
        tokens = []
        for t in spec.get("added_tokens") or []:
            if not isinstance(t, dict) or not isinstance(t.get("content"), str) or not isinstance(t.get("id"), int):
                raise TokenizerError(f"{source or 'tokenizer'}: bad added token {t!r}")
            tokens.append(as_token(t))
        # as tokenizers loads a tokenizer.json: the tokens are added in file order
        # (ids come from the vocabulary or are assigned after it)
        self._av = AddedVocab()
        self._av.add(tokens, self._vocab.get, self._model_vocab_size())
        self._templates = _templates(spec.get("post_processor"), self, source or "tokenizer")
        for name in _SPECIAL_NAMES:
            val = config.get(name, self._default_special.get(name))
            setattr(self, "_" + name, _token_content(val))
        self._additional_special_tokens = _extra_special(config)
        if loading:
            self._register_special_tokens()
        self._refresh_added()

    def _register_special_tokens(self) -> None:
        """What transformers' fast tokenizers do when loaded (TokenizersBackend.__init__):
        the added tokens of tokenizer_config.json's ``added_tokens_decoder`` (else of
        the tokenizer.json) are added again, by id, an added token named as a
        special token (pad_token, ...) becoming special; then the named and extra
        special tokens the vocabulary lacks are added."""
        av = self._av
        named = [getattr(self, "_" + n) for n in _SPECIAL_NAMES if getattr(self, "_" + n) is not None]
        decoder = self._config.get("added_tokens_decoder")
        if isinstance(decoder, dict):
            try:
                listed = [as_token(t) for _i, t in sorted(decoder.items(), key=lambda kv: int(kv[0]))]
            except (TypeError, ValueError) as e:
                raise TokenizerError(f"{self._source or 'tokenizer'}: bad added_tokens_decoder ({e})") from None
        else:
            listed = [t for _i, t in sorted(av.map_r.items())]
        tokens = [t._replace(special=True) if not t.special and t.content in named else t for t in listed]
        known = set(av.map) | {t.content for t in tokens}
        for t in named + self._additional_special_tokens:
            if t not in known:
                tokens.append(as_token(t, special=True))
                known.add(t)
        av.add(tokens, self._vocab.get, self._model_vocab_size())

    def _refresh_added(self) -> None:
        """After the added tokens changed: the spec's ``added_tokens``, the maps
        the Python side reads, and a new C core built from them."""
        av = self._av
        self._added: list[dict] = av.entries()
        self._spec["added_tokens"] = [dict(t) for t in self._added]
        self._added_by_content = dict(av.map)
        self._core = self._build_core()
        # Parity: tokenizers' AddedVocabulary::simple_id_to_token (used by id_to_token
        # and decode) gives a normalized added token as its normalized content
        self._added_id_to_token = {i: (self._core.normalize(t.content) if t.normalized else t.content)
                                   for i, t in av.map_r.items()}

    def _core_added(self) -> list[tuple[str, int, int]]:
        """The added tokens as the C core takes them: (content, id, flags).  The
        special flag is membership of tokenizers' special_tokens_set (a token once
        added as special stays in it), which split_special_tokens consults."""
        added = []
        for t in self._added:
            flags = ((_ADDED_SPECIAL if t["content"] in self._av.special else 0)
                     | (_ADDED_NORMALIZED if t.get("normalized", not t.get("special")) else 0)
                     | (_ADDED_LSTRIP if t.get("lstrip") else 0)
                     | (_ADDED_RSTRIP if t.get("rstrip") else 0)
                     | (_ADDED_SINGLE_WORD if t.get("single_word") else 0))
            added.append((t["content"], t["id"], flags))
        return added

    def _model_vocab_size(self) -> int:
        """The model's own vocabulary size (tokenizers' Model::get_vocab_size)."""
        return len(self._vocab)

    def _read_vocab(self, model: dict, source: str) -> dict[str, int]:
        """token -> id from the spec's model section (a WordPiece-style dict;
        the Unigram tokenizer overrides this for its [piece, score] list)."""
        vocab = model.get("vocab")
        if not isinstance(vocab, dict) or not vocab:
            raise TokenizerError(f"{source or 'tokenizer'}: model.vocab is missing or empty")
        out: dict[str, int] = {}
        for k, v in vocab.items():
            if not isinstance(k, str) or not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise TokenizerError(f"{source or 'tokenizer'}: bad vocabulary entry {k!r}: {v!r}")
            out[k] = v
        return out

    def _build_core(self):
        raise NotImplementedError

    # ---- special tokens -----------------------------------------------------
    def _special(name):  # noqa: N805  (descriptor factory)
        def get(self):
            return getattr(self, "_" + name)

        def set_(self, value):
            # as transformers: only remembered (an unknown token is not added to the vocabulary)
            if value is not None and not isinstance(value, str) and not is_added_token(value):
                raise ValueError(f"Cannot set a non-string value as the {name}")
            setattr(self, "_" + name, _token_content(value))

        def get_id(self):
            tok = getattr(self, "_" + name)
            return None if tok is None else self.convert_tokens_to_ids(tok)

        def set_id(self, value):
            set_(self, None if value is None else self.convert_ids_to_tokens(value))
        doc = f"The {name.replace('_', ' ')} (a str, or None); settable."
        return property(get, set_, doc=doc), property(get_id, set_id, doc=f"Id of the {name}; settable.")

    bos_token, bos_token_id = _special("bos_token")
    eos_token, eos_token_id = _special("eos_token")
    unk_token, unk_token_id = _special("unk_token")
    sep_token, sep_token_id = _special("sep_token")
    pad_token, pad_token_id = _special("pad_token")
    cls_token, cls_token_id = _special("cls_token")
    mask_token, mask_token_id = _special("mask_token")
    del _special

    @property
    def pad_token_type_id(self) -> int:
        return 0

    @property
    def extra_special_tokens(self) -> list[str]:
        """Special tokens besides the named ones (transformers 5's name; settable)."""
        return list(self._additional_special_tokens)

    @extra_special_tokens.setter
    def extra_special_tokens(self, value) -> None:
        if value is not None and not isinstance(value, (list, tuple)):
            raise ValueError(f"extra_special_tokens must be a list or tuple, got {type(value)}")
        self._additional_special_tokens = [_token_content(t) for t in value or []]

    additional_special_tokens = extra_special_tokens  # transformers 4's name

    @property
    def extra_special_tokens_ids(self) -> list[int]:
        return self.convert_tokens_to_ids(self._additional_special_tokens)

    additional_special_tokens_ids = extra_special_tokens_ids

    @property
    def special_tokens_map(self) -> dict[str, str]:
        """The named special tokens that are set, as transformers 5 (without the extra ones)."""
        return {name: getattr(self, "_" + name) for name in _SPECIAL_NAMES
                if getattr(self, "_" + name) is not None}

    @property
    def all_special_tokens(self) -> list[str]:
        out = []
        for name in _SPECIAL_NAMES:
            t = getattr(self, "_" + name)
            if t is not None and t not in out:
                out.append(t)
        for t in self._additional_special_tokens:
            if t not in out:
                out.append(t)
        return out

    @property
    def all_special_ids(self) -> list[int]:
        return self.convert_tokens_to_ids(self.all_special_tokens)

    def add_special_tokens(self, special_tokens_dict: dict, replace_extra_special_tokens: bool = True) -> int:
        """Set named special tokens (``{"pad_token": "[NEWPAD]"}``) and/or the extra ones
        (``{"additional_special_tokens": [...]}``, or ``extra_special_tokens``, which
        replace the current list unless ``replace_extra_special_tokens=False``), adding
        to the vocabulary those it lacks; returns the number of tokens added, as
        transformers (a token already known with other flags counts)."""
        # Parity: transformers 5's PreTrainedTokenizerBase.add_special_tokens
        if not special_tokens_dict:
            return 0
        d = dict(special_tokens_dict)
        if "additional_special_tokens" in d and not d.get("extra_special_tokens"):
            d["extra_special_tokens"] = d.pop("additional_special_tokens")
        allowed = list(_SPECIAL_NAMES) + ["extra_special_tokens"]
        to_add = []
        for key, value in d.items():
            if key not in allowed:
                raise ValueError(f"Key {key} is not a valid special token. Valid keys are: {allowed}")
            if key == "extra_special_tokens":
                if not isinstance(value, (list, tuple)) or not all(
                        isinstance(t, str) or is_added_token(t) for t in value):
                    raise ValueError(f"Tokens {value} for key {key} should all be str or AddedToken instances")
                current = self._additional_special_tokens
                new = [AddedToken(t, normalized=False, special=True) if isinstance(t, str) else t
                       for t in value if replace_extra_special_tokens or _token_content(t) not in current]
                if replace_extra_special_tokens and new:
                    self._additional_special_tokens = [_token_content(t) for t in new]
                else:
                    self._additional_special_tokens.extend(_token_content(t) for t in new)
                to_add.extend(new)
            else:
                if not isinstance(value, str) and not is_added_token(value):
                    raise ValueError(f"Token {value} for key {key} should be a str or an AddedToken instance")
                if isinstance(value, str):
                    value = AddedToken(value, normalized=False, special=True)
                setattr(self, "_" + key, _token_content(value))
                to_add.append(value)
        return self.add_tokens(to_add, special_tokens=True)

    def add_tokens(self, new_tokens, special_tokens: bool = False) -> int:
        """Add tokens (str, :class:`AddedToken` or ``tokenizers.AddedToken``) to the
        vocabulary, as transformers' fast tokenizers: a str is normalized and not
        special (``special_tokens=True``: special, not normalized, and an
        AddedToken passed gets ``special=True``); a token already in the
        vocabulary keeps its id, a new one gets the next id; the tokens are then
        matched in the text.  Returns how many tokens were added or updated (an
        empty one, or one already added with the same flags, does not count)."""
        if not new_tokens:
            return 0
        if not isinstance(new_tokens, (list, tuple)):
            new_tokens = [new_tokens]
        toks = []
        for t in new_tokens:
            if isinstance(t, str):
                toks.append(as_token(t, special=bool(special_tokens)))
            elif is_added_token(t):
                if special_tokens:
                    t.special = True  # Parity: tokenizers' add_special_tokens sets it on the object
                toks.append(as_token(t))
            else:
                raise TypeError("Input must be a List[Union[str, AddedToken]]")
        n = self._av.add(toks, self._vocab.get, self._model_vocab_size())
        if n:
            self._refresh_added()
        return n

    @property
    def added_tokens_decoder(self) -> dict[int, AddedToken]:
        """id -> :class:`AddedToken` of every added token, by id."""
        return {i: AddedToken(t.content, t.single_word, t.lstrip, t.rstrip, t.normalized, t.special)
                for i, t in sorted(self._av.map_r.items())}

    @property
    def added_tokens_encoder(self) -> dict[str, int]:
        """content -> id of every added token, by id."""
        return {t.content: i for i, t in sorted(self._av.map_r.items())}

    def get_added_vocab(self) -> dict[str, int]:
        """content -> id of every added token, by id."""
        return self.added_tokens_encoder

    # ---- vocabulary ---------------------------------------------------------
    @property
    def is_fast(self) -> bool:
        """True: word/token/character maps are available, as with transformers' fast tokenizers."""
        return True

    @property
    def vocab_size(self) -> int:
        """Size of the model's vocabulary (without added tokens), as transformers."""
        return self._model_vocab_size()

    def __len__(self) -> int:
        """Size of the vocabulary with the added tokens."""
        # Parity: tokenizers' Tokenizer::get_vocab_size(with_added_tokens=True)
        added = self._av.map
        return self._model_vocab_size() + len(added) - sum(1 for t in added if t in self._vocab)

    def __bool__(self) -> bool:
        return True

    def get_vocab(self) -> dict[str, int]:
        v = dict(self._vocab)
        v.update(self._added_by_content)
        return v

    @property
    def vocab(self) -> dict[str, int]:
        return self.get_vocab()

    @property
    def max_len_single_sentence(self) -> int:
        return self.model_max_length - self.num_special_tokens_to_add(pair=False)

    @property
    def max_len_sentences_pair(self) -> int:
        return self.model_max_length - self.num_special_tokens_to_add(pair=True)

    def _token_to_id(self, token: str) -> int | None:
        i = self._added_by_content.get(token)
        return i if i is not None else self._vocab.get(token)

    def _id_to_token_str(self, i: int) -> str | None:
        t = self._added_id_to_token.get(i)
        return t if t is not None else self._id_to_token.get(i)

    def convert_tokens_to_ids(self, tokens: str | Iterable[str]):
        """Token(s) to id(s); unknown tokens give ``unk_token_id``."""
        if tokens is None:
            return None
        if isinstance(tokens, str):
            i = self._token_to_id(tokens)
            if i is None:
                unk = self._unk_token
                return None if unk is None else self._token_to_id(unk)
            return i
        out = []
        for k, t in enumerate(tokens):
            if not isinstance(t, str):  # as transformers: no None (or other) in the list
                raise TypeError(f"token {k} is {type(t).__name__}, not str")
            out.append(self.convert_tokens_to_ids(t))
        return out

    def convert_ids_to_tokens(self, ids, skip_special_tokens: bool = False):
        """Id(s) to token(s); ids outside the vocabulary give ``None``;
        ``skip_special_tokens`` drops the ids of ``all_special_tokens``."""
        ids = _to_py(ids)
        if isinstance(ids, int):
            return self._id_to_token_str(_check_id(ids))
        skip = set(self.all_special_ids) if skip_special_tokens else ()
        return [self._id_to_token_str(_check_id(int(i))) for i in ids if int(i) not in skip]

    # ---- the call -----------------------------------------------------------
    def __call__(self, text=None, text_pair=None, text_target=None, text_pair_target=None,
                 add_special_tokens: bool = True, padding: bool | str = False,
                 truncation: bool | str | None = None, max_length: int | None = None, stride: int = 0,
                 is_split_into_words: bool = False, pad_to_multiple_of: int | None = None,
                 padding_side: str | None = None, return_tensors: str | None = None,
                 return_token_type_ids: bool | None = None, return_attention_mask: bool | None = None,
                 return_overflowing_tokens: bool = False, return_special_tokens_mask: bool = False,
                 return_offsets_mapping: bool = False, return_length: bool = False,
                 verbose: bool = True, tokenizer_kwargs: dict | None = None, **kwargs) -> BatchEncoding:
        """Tokenize a text, a pair, or a batch of either; same arguments, keys and
        values as ``transformers``' fast tokenizers.  With
        ``is_split_into_words=True`` a text is a list of words (each tokenized
        on its own; word index = position in the list, offsets relative to
        the word) and a batch a list of such lists.  ``text_target`` (and
        ``text_pair_target``) are encoded with the same arguments (``max_length``
        replaced by ``max_target_length`` when given) and their ``input_ids``
        returned as ``labels`` (alone: the targets' encoding)."""
        if kwargs or tokenizer_kwargs or self.split_special_tokens:
            # as transformers: tokenizer_kwargs, then the other keyword arguments, over the named ones
            args = dict(split_special_tokens=kwargs.pop("split_special_tokens", self.split_special_tokens),
                        add_special_tokens=add_special_tokens, padding=padding, truncation=truncation,
                        max_length=max_length, stride=stride, is_split_into_words=is_split_into_words,
                        pad_to_multiple_of=pad_to_multiple_of, padding_side=padding_side,
                        return_tensors=return_tensors, return_token_type_ids=return_token_type_ids,
                        return_attention_mask=return_attention_mask,
                        return_overflowing_tokens=return_overflowing_tokens,
                        return_special_tokens_mask=return_special_tokens_mask,
                        return_offsets_mapping=return_offsets_mapping, return_length=return_length,
                        verbose=verbose)
            max_target_length = kwargs.pop("max_target_length", None)
            args.update(tokenizer_kwargs or {})
            args.update(kwargs)
            unknown = set(args) - _CALL_ARGS
            if unknown:
                raise TypeError(f"unsupported arguments: {', '.join(sorted(unknown))}")
            return self._call(text, text_pair, text_target, text_pair_target, max_target_length, **args)
        if text_target is not None or text_pair_target is not None or text is None:
            return self._call(text, text_pair, text_target, text_pair_target, None, add_special_tokens,
                              padding, truncation, max_length, stride, is_split_into_words,
                              pad_to_multiple_of, padding_side, return_tensors, return_token_type_ids,
                              return_attention_mask, return_overflowing_tokens,
                              return_special_tokens_mask, return_offsets_mapping, return_length, verbose)
        # the common call (inputs only, the tokenizer's split_special_tokens): _call's work inline
        pad_mode, trunc_mode, max_length, pad_id = self._strategies(padding, truncation, max_length,
                                                                    pad_to_multiple_of, verbose)
        return self._encode_texts(text, text_pair, pad_mode, trunc_mode, max_length, pad_id,
                                  add_special_tokens, stride, is_split_into_words, pad_to_multiple_of,
                                  padding_side, return_tensors, return_token_type_ids,
                                  return_attention_mask, return_overflowing_tokens,
                                  return_special_tokens_mask, return_offsets_mapping, return_length, False)

    def _call(self, text, text_pair, text_target, text_pair_target, max_target_length,
              add_special_tokens=True, padding=False, truncation=None, max_length=None, stride=0,
              is_split_into_words=False, pad_to_multiple_of=None, padding_side=None, return_tensors=None,
              return_token_type_ids=None, return_attention_mask=None, return_overflowing_tokens=False,
              return_special_tokens_mask=False, return_offsets_mapping=False, return_length=False,
              verbose=True, split_special_tokens=None) -> BatchEncoding:
        if text is None and text_target is None:
            raise ValueError("You need to specify either `text` or `text_target`.")
        pad_mode, trunc_mode, max_length, pad_id = self._strategies(padding, truncation, max_length,
                                                                    pad_to_multiple_of, verbose)
        rest = (add_special_tokens, stride, is_split_into_words, pad_to_multiple_of, padding_side, return_tensors,
                return_token_type_ids, return_attention_mask, return_overflowing_tokens,
                return_special_tokens_mask, return_offsets_mapping, return_length,
                self._split_special(split_special_tokens))
        if text_target is None:
            return self._encode_texts(text, text_pair, pad_mode, trunc_mode, max_length, pad_id, *rest)
        target = self._encode_texts(text_target, text_pair_target, pad_mode, trunc_mode,
                                    max_target_length if max_target_length is not None else max_length,
                                    pad_id, *rest)
        if text is None:
            return target
        enc = self._encode_texts(text, text_pair, pad_mode, trunc_mode, max_length, pad_id, *rest)
        enc["labels"] = target["input_ids"]
        return enc

    def _encode_texts(self, text, text_pair, pad_mode: int, trunc_mode: int, max_length: int | None,
                      pad_id: int, add_special_tokens: bool = True, stride: int = 0, is_split_into_words: bool = False,
                      pad_to_multiple_of: int | None = None, padding_side: str | None = None,
                      return_tensors: str | None = None, return_token_type_ids: bool | None = None,
                      return_attention_mask: bool | None = None, return_overflowing_tokens: bool = False,
                      return_special_tokens_mask: bool = False, return_offsets_mapping: bool = False,
                      return_length: bool = False, split_special_tokens: bool = False) -> BatchEncoding:
        """One side of a call (inputs or targets) once the strategies are resolved."""
        if is_split_into_words:
            texts, pairs, is_batched, pretok = self._words_inputs(text, text_pair)
        else:
            texts, pairs, is_batched = self._text_inputs(text, text_pair)
            pretok = 0
        if return_token_type_ids is None:
            return_token_type_ids = "token_type_ids" in self.model_input_names
        if return_attention_mask is None:
            return_attention_mask = "attention_mask" in self.model_input_names
        want = ((_WANT_TYPE_IDS if return_token_type_ids else 0)
                | (_WANT_ATTENTION if return_attention_mask else 0)
                | (_WANT_SPECIAL if return_special_tokens_mask else 0)
                | (_WANT_OFFSETS if return_offsets_mapping else 0)
                | (_WANT_LENGTH if return_length else 0)
                | (_WANT_OVERFLOW if return_overflowing_tokens else 0))
        if return_tensors is not None and return_tensors.__class__ is not str:   # a TensorType
            return_tensors = str(getattr(return_tensors, "value", return_tensors))
        if return_tensors is not None:
            if return_tensors not in ("np", "pt"):
                raise TokenizerError(f"return_tensors={return_tensors!r} is not supported "
                                     "(use None, 'np' or 'pt')")
        side = padding_side if padding_side is not None else self.padding_side
        if side not in ("left", "right"):
            raise ValueError(f"padding_side must be 'left' or 'right', got {side!r}")
        stride = int(stride or 0)
        if stride < 0:
            raise ValueError("stride must be >= 0")
        if trunc_mode and max_length is not None:
            # refused before any text is read, whether or not a text is long
            # enough to be cut, and with or without add_special_tokens, as
            # tokenizers' truncation settings are (a max_length below the
            # special tokens is the C side's error)
            room = int(max_length) - self.num_special_tokens_to_add(pair=False)
            if room >= 0 and stride > room:
                raise TokenizerError(
                    f"stride={stride} is more than the {room} tokens max_length={int(max_length)} leaves "
                    "after the special tokens of one sequence: each overflowing row would repeat "
                    "all of the previous one")
        if self.truncation_side not in ("left", "right"):
            raise ValueError(f"truncation_side must be 'left' or 'right', got {self.truncation_side!r}")
        out = self._core.encode_batch(
            texts, pairs, bool(add_special_tokens), trunc_mode,
            int(max_length) if (trunc_mode and max_length is not None) else 0, stride,
            pad_mode, int(max_length) if pad_mode == 2 else 0, int(pad_to_multiple_of or 0),
            side == "left", int(pad_id if pad_id is not None else 0), self.pad_token_type_id,
            want, return_tensors is not None, 0, self.truncation_side == "left", pretok,
            split_special_tokens)
        enc = BatchEncoding(*out, self)
        if return_tensors is not None and not (return_tensors == "np"
                                               and out[0]["input_ids"].__class__ is np.ndarray):
            # arrays from C are kept (np) or wrapped (pt); rows of different
            # lengths came back as lists: numpy object arrays, or torch's refusal
            enc.convert_to_tensors(return_tensors)
        elif not is_batched and not return_overflowing_tokens:
            enc = BatchEncoding({k: (v[0] if len(v) > 0 and isinstance(v[0], list) else v)
                                 for k, v in enc.items()}, out[1], self)
        return enc

    def encode_plus(self, text, text_pair=None, add_special_tokens: bool = True, padding: bool | str = False,
                    truncation: bool | str | None = None, max_length: int | None = None, stride: int = 0,
                    is_split_into_words: bool = False, pad_to_multiple_of: int | None = None,
                    padding_side: str | None = None, return_tensors: str | None = None,
                    **kwargs) -> BatchEncoding:
        """One text (or pair) through :meth:`__call__` (transformers 4's method,
        which transformers 5 removed)."""
        one = isinstance(text, (list, tuple)) and not (text and isinstance(text[0], (list, tuple))) \
            if is_split_into_words else isinstance(text, str)
        if not one:
            raise ValueError("encode_plus takes one text (a str, or a list of words with "
                             "is_split_into_words=True); use batch_encode_plus or the call for batches")
        return self(text, text_pair, add_special_tokens=add_special_tokens, padding=padding,
                    truncation=truncation, max_length=max_length, stride=stride,
                    is_split_into_words=is_split_into_words, pad_to_multiple_of=pad_to_multiple_of,
                    padding_side=padding_side, return_tensors=return_tensors, **kwargs)

    def batch_encode_plus(self, batch_text_or_text_pairs, add_special_tokens: bool = True,
                          padding: bool | str = False, truncation: bool | str | None = None,
                          max_length: int | None = None, stride: int = 0, is_split_into_words: bool = False,
                          pad_to_multiple_of: int | None = None, padding_side: str | None = None,
                          return_tensors: str | None = None, **kwargs) -> BatchEncoding:
        """A batch of texts or of ``(text, text_pair)`` tuples through :meth:`__call__`
        (transformers 4's method, which transformers 5 removed)."""
        if not isinstance(batch_text_or_text_pairs, (list, tuple)):
            raise TypeError("batch_text_or_text_pairs has to be a list or a tuple "
                            f"(got {type(batch_text_or_text_pairs)})")
        if is_split_into_words and batch_text_or_text_pairs \
                and not isinstance(batch_text_or_text_pairs[0], (list, tuple)):
            raise ValueError("with is_split_into_words=True, batch_encode_plus takes a list of word lists")
        return self(list(batch_text_or_text_pairs), add_special_tokens=add_special_tokens, padding=padding,
                    truncation=truncation, max_length=max_length, stride=stride,
                    is_split_into_words=is_split_into_words, pad_to_multiple_of=pad_to_multiple_of,
                    padding_side=padding_side, return_tensors=return_tensors, **kwargs)

    def encode_batch_ragged(self, text, text_pair=None, *, add_special_tokens: bool = True,
                            truncation: bool | str | None = None, max_length: int | None = None,
                            is_split_into_words: bool = False) -> RaggedIds:
        """The ``input_ids`` of a batch (the rows ``self(text, text_pair, ...)``
        gives) as one flat int32 array and the rows' offsets into it: no Python
        list per row and no padding, the fastest way to tokenize a dataset
        for storage or packing.  Arguments as for the call; a single text
        (or list of words) is a batch of one."""
        pad_mode, trunc_mode, max_length, _ = self._strategies(False, truncation, max_length, None)
        if is_split_into_words:
            texts, pairs, _, pretok = self._words_inputs(text, text_pair)
        else:
            texts, pairs, _ = self._text_inputs(text, text_pair)
            pretok = 0
        ids, offsets = self._core.encode_ragged(
            texts, pairs, bool(add_special_tokens), trunc_mode,
            int(max_length) if (trunc_mode and max_length is not None) else 0,
            self.truncation_side == "left", pretok, self.split_special_tokens, 0)
        return RaggedIds(ids, offsets)

    @staticmethod
    def _text_inputs(text, text_pair):
        """(texts, pairs or None, is_batched) for text inputs, as transformers reads them."""
        is_batched = isinstance(text, (list, tuple))
        if not is_batched and not isinstance(text, str):
            raise ValueError("text input must be of type `str` (single example) or `list[str]` "
                             f"(batch), got {type(text).__name__}")
        if text_pair is not None and not isinstance(text_pair, (str, list, tuple)):
            raise ValueError("text_pair must be a str or a list of str, got "
                             f"{type(text_pair).__name__}")
        if is_batched:
            if isinstance(text_pair, str):
                raise TypeError("when tokenizing batches of text, `text_pair` must be a list or "
                                "tuple with the same length as `text`.")
            if text_pair is not None and len(text) != len(text_pair):
                raise ValueError(f"batch length of `text`: {len(text)} does not match batch "
                                 f"length of `text_pair`: {len(text_pair)}.")
            texts, pairs = text, text_pair
            if text_pair is None and len(text) and isinstance(text[0], (list, tuple)):
                # a batch of (text, text_pair) tuples, as transformers accepts
                for i, item in enumerate(text):
                    if not isinstance(item, (list, tuple)) or len(item) != 2:
                        raise ValueError(f"text[{i}] must be a (text, text_pair) pair in a batch of pairs")
                texts, pairs = [a for a, _ in text], [b for _, b in text]
        else:
            if isinstance(text_pair, (list, tuple)):
                raise ValueError("text_pair must be a str when text is a str")
            texts = [text]
            pairs = [text_pair] if text_pair else None  # transformers: "" means no pair
        return texts, pairs, is_batched

    @staticmethod
    def _words_inputs(text, text_pair):
        """(texts, pairs or None, is_batched, pretok) for is_split_into_words=True:
        a list of words, or a batch of them (also of (words, words) pairs)."""
        if not isinstance(text, (list, tuple)):
            raise TypeError("with is_split_into_words=True, text must be a list or tuple of words "
                            f"(str) or a batch of them, got {type(text).__name__}")
        if text_pair is not None and not isinstance(text_pair, (list, tuple)):
            raise TypeError("with is_split_into_words=True, text_pair must be a list or tuple of "
                            f"words (str) or a batch of them, got {type(text_pair).__name__}")
        is_batched = bool(text) and isinstance(text[0], (list, tuple))
        if not is_batched:
            # transformers: an empty text_pair means no pair
            return [text], ([text_pair] if text_pair else None), False, 2
        if text_pair is not None and len(text) != len(text_pair):
            raise ValueError(f"batch length of `text`: {len(text)} does not match batch "
                             f"length of `text_pair`: {len(text_pair)}.")
        if text_pair is None and text[0] and isinstance(text[0][0], (list, tuple)):
            # a batch of (words, words) pairs, as tokenizers reads them
            for i, item in enumerate(text):
                if (not isinstance(item, (list, tuple)) or len(item) != 2
                        or not all(isinstance(x, (list, tuple)) for x in item)):
                    raise TypeError(f"text[{i}] must be a (words, words) pair in a batch of "
                                    "pre-tokenized pairs")
            return [a for a, _ in text], [b for _, b in text], True, 1
        return text, text_pair, True, 1

    def _strategies(self, padding, truncation, max_length, pad_to_multiple_of, verbose: bool = True):
        """transformers' _get_padding_truncation_strategies, as modes for the
        core: (pad_mode, trunc_mode, max_length, the padding id or 0)."""
        if max_length is not None and padding is False and truncation is None:
            truncation = "longest_first"
        if (padding is True and verbose and max_length is not None
                and (truncation is None or truncation is False or truncation == "do_not_truncate")):
            warnings.warn("`max_length` is ignored when `padding`=`True` and there is no truncation "
                          "strategy. To pad to max length, use `padding='max_length'`.", stacklevel=3)
        if padding is True:
            pad_mode = 1
        elif padding is False or padding is None:
            pad_mode = 0
        else:
            p = str(getattr(padding, "value", padding))
            if p not in _PADDING:
                raise ValueError(f"{padding!r} is not a valid padding strategy "
                                 f"(use {', '.join(_PADDING)})")
            pad_mode = _PADDING[p]
        if truncation is True:
            trunc_mode = 1
        elif truncation is False or truncation is None:
            trunc_mode = 0
        else:
            t = str(getattr(truncation, "value", truncation))
            if t not in _TRUNCATION:
                raise ValueError(f"{truncation!r} is not a valid truncation strategy "
                                 f"(use {', '.join(_TRUNCATION)})")
            trunc_mode = _TRUNCATION[t]
        if max_length is None:
            if pad_mode == 2:
                if self.model_max_length > LARGE_INTEGER:
                    pad_mode = 0
                else:
                    max_length = self.model_max_length
            if trunc_mode:
                if self.model_max_length > LARGE_INTEGER:
                    trunc_mode = 0
                else:
                    max_length = self.model_max_length
        if max_length is not None:
            if isinstance(max_length, bool) or not isinstance(max_length, (int, np.integer)) or max_length < 0:
                raise ValueError(f"max_length must be a non-negative int, got {max_length!r}")
        if pad_to_multiple_of is not None and (not isinstance(pad_to_multiple_of, (int, np.integer))
                                               or pad_to_multiple_of < 0):
            raise ValueError(f"pad_to_multiple_of must be a non-negative int, got {pad_to_multiple_of!r}")
        pad_id = 0
        if pad_mode:
            pad_token = self._pad_token
            pad_id = None if pad_token is None else self._token_to_id(pad_token)
            if pad_id is None:
                pad_id = self.pad_token_id   # an unknown pad token: unk's id, as transformers
            if pad_token is None or pad_id is None or pad_id < 0:
                raise ValueError("Asking to pad but the tokenizer does not have a padding token.")
        if (trunc_mode and pad_mode and pad_to_multiple_of is not None and max_length is not None
                and pad_to_multiple_of and max_length % pad_to_multiple_of != 0):
            raise ValueError("Truncation and padding are both activated but truncation length "
                             f"({max_length}) is not a multiple of pad_to_multiple_of "
                             f"({pad_to_multiple_of}).")
        return pad_mode, trunc_mode, max_length, pad_id

    def encode(self, text, text_pair=None, add_special_tokens: bool = True, **kwargs) -> list[int]:
        """``input_ids`` of one text (or pair)."""
        return self(text, text_pair=text_pair, add_special_tokens=add_special_tokens,
                    **kwargs)["input_ids"]

    def _split_special(self, value) -> bool:
        """A call's ``split_special_tokens``: None means the tokenizer's own."""
        return self.split_special_tokens if value is None else bool(value)

    def tokenize(self, text, pair=None, add_special_tokens: bool = False, **kwargs) -> list[str]:
        """The tokens (strings) of a text (and pair), without special tokens by
        default: ``self(text, pair, ...).tokens()``, as transformers."""
        pretok = bool(kwargs.get("is_split_into_words"))
        split = self._split_special(kwargs.get("split_special_tokens"))
        if (not add_special_tokens and set(kwargs) <= {"is_split_into_words", "split_special_tokens"}
                and (isinstance(text, (list, tuple)) if pretok else isinstance(text, str))
                and (not pair or isinstance(pair, (list, tuple)) == pretok)
                and not (pretok and text and isinstance(text[0], (list, tuple)))):
            # one sequence (or pair) without the post-processor: the walk alone
            out = []
            for t in (text, pair) if pair else (text,):
                out += [s if added or self._text_tokens else self._id_to_token_str(i)
                        for i, s, added in self._core.strings(t, pretok, split)]
            return out
        return self(text, text_pair=pair, add_special_tokens=add_special_tokens, **kwargs).tokens()

    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        return self._core.n_special(bool(pair))

    # ---- the post-processor's template on ids --------------------------------
    def _template_apply(self, token_ids_0, token_ids_1, what: str) -> list[int]:
        """The template (``[CLS] $A [SEP] $B:1 [SEP]:1``, ``$A </s> $B </s>``) over two
        id lists: the ids, the type ids or the special-tokens mask it gives."""
        a = list(_to_py(token_ids_0))
        b = None if token_ids_1 is None else list(_to_py(token_ids_1))
        out: list[int] = []
        for seq, type_id, ids in self._templates[0 if b is None else 1]:
            part = ids if seq < 0 else (a if seq == 0 else b)
            if what == "ids":
                out += part
            elif what == "type_ids":
                out += [type_id] * len(part)
            else:
                out += [1 if seq < 0 else 0] * len(part)
        return out

    def build_inputs_with_special_tokens(self, token_ids_0: list[int],
                                         token_ids_1: list[int] | None = None) -> list[int]:
        """Add the special tokens to ids (``[CLS] A [SEP] B [SEP]`` for BERT,
        ``A </s> B </s>`` for T5), as the tokenizer's post-processor does."""
        return self._template_apply(token_ids_0, token_ids_1, "ids")

    def create_token_type_ids_from_sequences(self, token_ids_0: list[int],
                                             token_ids_1: list[int] | None = None) -> list[int]:
        """The token type ids of :meth:`build_inputs_with_special_tokens`'s output."""
        return self._template_apply(token_ids_0, token_ids_1, "type_ids")

    def get_special_tokens_mask(self, token_ids_0: list[int], token_ids_1: list[int] | None = None,
                                already_has_special_tokens: bool = False) -> list[int]:
        """1 for a special token, 0 for a sequence token.  With
        ``already_has_special_tokens=True`` (what transformers' data collators
        pass): whether each id is one of ``all_special_ids``.  Otherwise the mask
        of :meth:`build_inputs_with_special_tokens`'s output (transformers' fast
        tokenizers raise NotImplementedError there; its slow ones give this)."""
        if already_has_special_tokens:
            if token_ids_1 is not None:
                raise ValueError("You should not supply a second sequence if the provided sequence of "
                                 "ids is already formatted with special tokens for the model.")
            special = set(self.all_special_ids)
            return [1 if int(t) in special else 0 for t in _to_py(token_ids_0)]
        return self._template_apply(token_ids_0, token_ids_1, "mask")

    # ---- padding what was encoded --------------------------------------------
    def pad(self, encoded_inputs, padding: bool | str = True, max_length: int | None = None,
            pad_to_multiple_of: int | None = None, padding_side: str | None = None,
            return_attention_mask: bool | None = None, return_tensors: str | None = None,
            verbose: bool = True) -> BatchEncoding:
        """Pad encoded inputs, as transformers' ``tokenizer.pad`` (what
        ``DataCollatorWithPadding`` calls): one example or a batch, given as a
        mapping of lists (a BatchEncoding), of numpy arrays or torch tensors
        (the result is then of that kind unless ``return_tensors`` says
        otherwise), or as a list of mappings (a batch of dataset rows).
        ``input_ids`` are padded with ``pad_token_id``, ``token_type_ids`` with
        ``pad_token_type_id``, ``special_tokens_mask`` with 1,
        ``attention_mask`` with 0 (created when ``return_attention_mask`` or the
        model's input names ask for it); other keys (``labels``, ...) are left
        as they are.  The input is not modified."""
        # Parity: transformers 5's PreTrainedTokenizerBase.pad and _pad, step by step
        if (isinstance(encoded_inputs, (list, tuple)) and len(encoded_inputs) > 0
                and isinstance(encoded_inputs[0], Mapping)):
            encoded_inputs = {key: [example[key] for example in encoded_inputs]
                              for key in encoded_inputs[0].keys()}
        elif isinstance(encoded_inputs, Mapping):
            encoded_inputs = dict(encoded_inputs)
        else:
            raise ValueError("pad takes a BatchEncoding or dict of lists, or a list of dicts, "
                             f"got {type(encoded_inputs).__name__}")
        preserved_attention_mask = None
        if "attention_mask" in encoded_inputs:
            mask = encoded_inputs["attention_mask"]
            if isinstance(mask, list) and mask and getattr(mask[0], "ndim", 0) > 1:
                preserved_attention_mask = encoded_inputs.pop("attention_mask")
        main = self.model_input_names[0]
        if main not in encoded_inputs:
            raise ValueError("You should supply an encoding or a list of encodings to this method "
                             f"that includes {main}, but you provided {list(encoded_inputs.keys())}")
        required = encoded_inputs[main]
        if required is None or (isinstance(required, Sized) and len(required) == 0):
            if return_attention_mask:
                encoded_inputs["attention_mask"] = []
            return BatchEncoding(encoded_inputs)
        first = required[0]
        if isinstance(first, (list, tuple)):
            for item in required:
                if len(item) != 0:
                    first = item[0]
                    break
        if not isinstance(first, (int, list, tuple)):
            if _is_torch_tensor(first):
                return_tensors = "pt" if return_tensors is None else return_tensors
            elif isinstance(first, (np.ndarray, np.generic)):  # transformers rejects np.generic
                return_tensors = "np" if return_tensors is None else return_tensors
            else:
                raise ValueError(f"type of {first} unknown: {type(first)}. "
                                 "Should be one of a python, numpy, or pytorch object.")
            encoded_inputs = {k: _to_py_obj(v) for k, v in encoded_inputs.items()}
        pad_mode, _, max_length, _ = self._strategies(padding, None, max_length, None, verbose)
        pad_args = (pad_to_multiple_of, padding_side, return_attention_mask)
        required = encoded_inputs[main]
        if required and not isinstance(required[0], (list, tuple)):
            return BatchEncoding(self._pad_one(encoded_inputs, max_length, pad_mode, *pad_args),
                                 tensor_type=return_tensors)
        batch_size = len(required)
        if not all(len(v) == batch_size for v in encoded_inputs.values()):
            raise ValueError("Some items in the output dictionary have a different batch size than others.")
        if pad_mode == _PAD_LONGEST:
            max_length = max(len(inputs) for inputs in required)
            pad_mode = _PAD_MAX_LENGTH
        batch: dict[str, list] = {}
        for i in range(batch_size):
            row = self._pad_one({k: v[i] for k, v in encoded_inputs.items()}, max_length, pad_mode, *pad_args)
            for key, value in row.items():
                batch.setdefault(key, []).append(value)
        if preserved_attention_mask is not None:
            sample = preserved_attention_mask[0]
            if _is_torch_tensor(sample):
                import torch
                batch["attention_mask"] = torch.stack(preserved_attention_mask)
            elif isinstance(sample, np.ndarray):
                batch["attention_mask"] = np.stack(preserved_attention_mask)
            else:
                batch["attention_mask"] = np.array(preserved_attention_mask)
        return BatchEncoding(batch, tensor_type=return_tensors)

    def _pad_one(self, inputs: dict, max_length: int | None, pad_mode: int, pad_to_multiple_of: int | None,
                 padding_side: str | None, return_attention_mask: bool | None) -> dict:
        """transformers' _pad: one example's lists (a new dict; the lists are not modified)."""
        if return_attention_mask is None:
            return_attention_mask = "attention_mask" in self.model_input_names
        main = self.model_input_names[0]
        required = inputs[main]
        if pad_mode == _PAD_LONGEST:
            max_length = len(required)
        if max_length is not None and pad_to_multiple_of and max_length % pad_to_multiple_of != 0:
            max_length = (max_length // pad_to_multiple_of + 1) * pad_to_multiple_of
        out = dict(inputs)
        if return_attention_mask and "attention_mask" not in out:
            out["attention_mask"] = [1] * len(required)
        if not pad_mode or len(required) == max_length:
            return out
        difference = max_length - len(required)
        side = padding_side if padding_side is not None else self.padding_side
        if side not in ("left", "right"):
            raise ValueError(f"Invalid padding strategy:{side}")
        fills = [("token_type_ids", self.pad_token_type_id), ("special_tokens_mask", 1)]
        if return_attention_mask:
            fills.insert(0, ("attention_mask", 0))
        fills.append((main, self.pad_token_id))
        for key, value in fills:
            if key in out:
                pad = [value] * difference
                out[key] = list(out[key]) + pad if side == "right" else pad + list(out[key])
        return out

    # ---- decoding -----------------------------------------------------------
    def _decode_tokens(self, tokens: list[str]) -> str:
        raise NotImplementedError

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        return self._decode_tokens(list(tokens))

    def decode(self, token_ids, skip_special_tokens: bool = False,
               clean_up_tokenization_spaces: bool | None = None, **kwargs):
        """Ids to text, as transformers: a list of lists decodes to a list of strings."""
        token_ids = _to_py(token_ids)
        if isinstance(token_ids, dict) or isinstance(token_ids, BatchEncoding):
            token_ids = token_ids["input_ids"]
        if isinstance(token_ids, (list, tuple)) and token_ids and isinstance(token_ids[0], (list, tuple)):
            return [self._decode(s, skip_special_tokens, clean_up_tokenization_spaces) for s in token_ids]
        return self._decode(token_ids, skip_special_tokens, clean_up_tokenization_spaces)

    def batch_decode(self, sequences, skip_special_tokens: bool = False,
                     clean_up_tokenization_spaces: bool | None = None, **kwargs) -> list[str]:
        sequences = _to_py(sequences)
        return [self._decode(s, skip_special_tokens, clean_up_tokenization_spaces) for s in sequences]

    def _decode(self, ids, skip_special_tokens, clean_up_tokenization_spaces) -> str:
        if isinstance(ids, int):
            ids = [ids]
        tokens = []
        for i in ids:
            i = _check_id(int(i))
            t = self._added_id_to_token.get(i)
            if t is None:
                t = self._id_to_token.get(i)
            # Parity: tokenizers' Tokenizer::decode skips by the token's string
            # (AddedVocabulary::is_special_token), not by id
            if t is not None and not (skip_special_tokens and t in self._av.special):
                tokens.append(t)
        text = self._decode_tokens(tokens)
        if clean_up_tokenization_spaces is None:
            clean_up_tokenization_spaces = self.clean_up_tokenization_spaces
        if clean_up_tokenization_spaces:
            text = clean_up_tokenization(text)
        return text

    # ---- saving and pickling ------------------------------------------------
    def _state_config(self) -> dict:
        """The config that rebuilds this tokenizer as it is now (its special
        tokens, sides, lengths), for pickling and saving."""
        cfg = {k: v for k, v in self._config.items()
               if k not in ("added_tokens_decoder", "additional_special_tokens")}
        cfg["name_or_path"] = self.name_or_path
        cfg["model_max_length"] = self.model_max_length
        cfg["padding_side"] = self.padding_side
        cfg["truncation_side"] = self.truncation_side
        cfg["clean_up_tokenization_spaces"] = self.clean_up_tokenization_spaces
        if self.split_special_tokens:
            cfg["split_special_tokens"] = True
        else:
            cfg.pop("split_special_tokens", None)
        if "model_input_names" in cfg or self.model_input_names != type(self).model_input_names:
            cfg["model_input_names"] = list(self.model_input_names)
        for name in _SPECIAL_NAMES:
            value = getattr(self, "_" + name)
            if value is not None or self._default_special.get(name) is not None:
                cfg[name] = value  # an explicit None keeps a default from coming back
            else:
                cfg.pop(name, None)
        cfg["extra_special_tokens"] = list(self._additional_special_tokens)  # transformers 5's key
        return cfg

    def _tokenizer_config(self) -> dict:
        cfg = self._state_config()
        del cfg["name_or_path"]
        cfg["tokenizer_class"] = self.tokenizer_class_name
        return cfg

    def save_pretrained(self, save_directory: str, **kwargs) -> tuple[str, ...]:
        """Write tokenizer.json, tokenizer_config.json, special_tokens_map.json (and
        the model's own files) so that hfonnx and transformers load it alike."""
        if os.path.isfile(save_directory):
            raise TokenizerError(f"{save_directory}: is a file, expected a directory")
        os.makedirs(save_directory, exist_ok=True)
        written = []
        p = os.path.join(save_directory, "tokenizer_config.json")
        with open(p, "w", encoding="utf-8") as f:
            json.dump(self._tokenizer_config(), f, indent=2, ensure_ascii=False)
            f.write("\n")
        written.append(p)
        p = os.path.join(save_directory, "special_tokens_map.json")
        with open(p, "w", encoding="utf-8") as f:
            json.dump(self.special_tokens_map, f, indent=2, ensure_ascii=False)
            f.write("\n")
        written.append(p)
        written.extend(self._save_model_files(save_directory))
        p = os.path.join(save_directory, "tokenizer.json")
        with open(p, "w", encoding="utf-8") as f:
            json.dump(self._spec, f, ensure_ascii=False)
        written.append(p)
        return tuple(written)

    def _save_model_files(self, directory: str) -> list[str]:
        return []

    def __reduce__(self):
        return (_rebuild, (type(self), self._spec, self._state_config(), self._source), self._pickle_state())

    def _pickle_state(self) -> dict:
        # the contents decoding skips: a token added as special stays there even
        # when re-added as a normal one, which the spec's flags cannot say
        return {"special": sorted(self._av.special)}

    def __setstate__(self, state: dict) -> None:
        special = set(state.get("special", ()))
        if special != self._av.special:
            self._av.special = special
            self._refresh_added()   # the core's special flags follow the set

    def __repr__(self) -> str:
        added = "\n\t".join(f"{k}: {v!r}," for k, v in self.added_tokens_decoder.items())
        added = f"\n\t{added}\n" if added else ""
        return (f"{type(self).__name__}(name_or_path='{self.name_or_path}', vocab_size={self.vocab_size}, "
                f"model_max_length={self.model_max_length}, padding_side='{self.padding_side}', "
                f"truncation_side='{self.truncation_side}', special_tokens={self.special_tokens_map}, "
                f"added_tokens_decoder={{{added}}})")


def _rebuild(cls, spec, config, source):
    obj = cls.__new__(cls)
    obj._setup(spec, config, source, loading=False)
    return obj


def _to_py(x):
    if hasattr(x, "tolist"):
        return x.tolist()
    return x


def clean_up_tokenization(text: str) -> str:
    """transformers' clean_up_tokenization."""
    return (text.replace(" .", ".").replace(" ?", "?").replace(" !", "!").replace(" ,", ",")
            .replace(" ' ", "'").replace(" n't", "n't").replace(" 'm", "'m").replace(" 's", "'s")
            .replace(" 've", "'ve").replace(" 're", "'re"))


def _wordpiece_cleanup(s: str) -> str:
    """tokenizers' decoders::wordpiece::cleanup (applied per token)."""
    return (s.replace(" .", ".").replace(" ?", "?").replace(" !", "!").replace(" ,", ",")
            .replace(" ' ", "'").replace(" n't", "n't").replace(" 'm", "'m")
            .replace(" do not", " don't").replace(" 's", "'s").replace(" 've", "'ve")
            .replace(" 're", "'re"))


class BertTokenizer(PreTrainedTokenizerBase):
    """BERT's WordPiece tokenizer (same output as ``transformers.BertTokenizerFast``).

    ``BertTokenizer(vocab_file, do_lower_case=True, ...)`` builds it from a
    ``vocab.txt``; ``BertTokenizer.from_pretrained(folder)`` reads
    ``tokenizer.json`` when the folder has one, else ``vocab.txt`` and the
    JSON configs.
    """

    tokenizer_class_name = "BertTokenizer"
    _default_special = {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]",
                        "cls_token": "[CLS]", "mask_token": "[MASK]"}

    def __init__(self, vocab_file: str | None = None, do_lower_case: bool = True,
                 unk_token: str = "[UNK]", sep_token: str = "[SEP]", pad_token: str = "[PAD]",
                 cls_token: str = "[CLS]", mask_token: str = "[MASK]",
                 tokenize_chinese_chars: bool = True, strip_accents: bool | None = None,
                 tokenizer_file: str | None = None, vocab: dict | None = None, **kwargs):
        config = dict(kwargs)
        config.update(do_lower_case=do_lower_case, unk_token=unk_token, sep_token=sep_token,
                      pad_token=pad_token, cls_token=cls_token, mask_token=mask_token,
                      tokenize_chinese_chars=tokenize_chinese_chars, strip_accents=strip_accents)
        if tokenizer_file is not None:
            spec = _read_json(tokenizer_file)
            _check_bert_spec(spec, tokenizer_file)
            self._setup(spec, config, tokenizer_file)
            return
        if vocab is None:
            if vocab_file is None:
                raise TokenizerError("BertTokenizer needs a vocab_file (vocab.txt) or a tokenizer_file")
            vocab = load_vocab(vocab_file)
        spec = _bert_spec(vocab, config)
        self._setup(spec, config, vocab_file or "")

    @classmethod
    def from_pretrained(cls, path: str, **kwargs) -> "BertTokenizer":
        """Load from a folder (tokenizer.json, or vocab.txt + tokenizer_config.json +
        special_tokens_map.json) or from a tokenizer.json / vocab.txt file."""
        path = os.fspath(path)
        kwargs.setdefault("name_or_path", path)
        if os.path.isfile(path):
            if path.endswith(".json"):
                return cls(tokenizer_file=path, **kwargs)
            return cls(vocab_file=path, **kwargs)
        if not os.path.isdir(path):
            raise TokenizerError(f"{path}: no such folder or file")
        config = _folder_config(path)
        config.update(kwargs)
        tj = os.path.join(path, "tokenizer.json")
        if os.path.exists(tj):
            return cls(tokenizer_file=tj, **config)
        vf = os.path.join(path, "vocab.txt")
        if not os.path.exists(vf):
            raise TokenizerError(f"{path}: neither tokenizer.json nor vocab.txt found")
        return cls(vocab_file=vf, **config)

    def _build_core(self):
        spec, src = self._spec, self._source or "tokenizer"
        model = spec["model"]
        unk = model.get("unk_token", "[UNK]")
        unk_id = self._vocab.get(unk, -1)
        norm = spec.get("normalizer")
        if norm is None:
            norm_t = None
        elif norm.get("type") == "BertNormalizer":
            lower = bool(norm.get("lowercase", True))
            strip = norm.get("strip_accents")
            norm_t = (bool(norm.get("clean_text", True)), bool(norm.get("handle_chinese_chars", True)),
                      lower if strip is None else bool(strip), lower)
        else:
            raise TokenizerError(f"{src}: unsupported normalizer {norm.get('type')!r} for BERT")
        pre = spec.get("pre_tokenizer")
        if pre is None:
            pre_t = None
        elif pre.get("type") == "BertPreTokenizer":
            pre_t = "bert"
        else:
            raise TokenizerError(f"{src}: unsupported pre_tokenizer {pre.get('type')!r} for BERT")
        added = self._core_added()
        single, pair = _templates(spec.get("post_processor"), self, src)
        return _hfonnx._TokenizerCore(
            list(self._vocab.items()), unk_id, model.get("continuing_subword_prefix", "##") or "",
            int(model.get("max_input_chars_per_word", 100)), norm_t, pre_t, added, single, pair)

    def _decode_tokens(self, tokens: list[str]) -> str:
        dec = self._spec.get("decoder") or {"type": "WordPiece", "prefix": "##", "cleanup": True}
        if dec.get("type") != "WordPiece":
            return " ".join(tokens)
        prefix, cleanup = dec.get("prefix", "##"), dec.get("cleanup", True)
        out = []
        for i, t in enumerate(tokens):
            if i != 0:
                t = t[len(prefix):] if t.startswith(prefix) else " " + t
            if cleanup:
                t = _wordpiece_cleanup(t)
            out.append(t)
        return "".join(out)

    @property
    def do_lower_case(self) -> bool:
        n = self._spec.get("normalizer") or {}
        return bool(n.get("lowercase", False))

    def _tokenizer_config(self) -> dict:
        cfg = super()._tokenizer_config()
        n = self._spec.get("normalizer") or {}
        cfg["do_lower_case"] = bool(n.get("lowercase", False))
        cfg["strip_accents"] = n.get("strip_accents")
        cfg["tokenize_chinese_chars"] = bool(n.get("handle_chinese_chars", True))
        return cfg

    def _save_model_files(self, directory: str) -> list[str]:
        by_id = sorted(self._vocab.items(), key=lambda kv: kv[1])
        if [i for _, i in by_id] != list(range(len(by_id))):
            return []  # ids with holes: tokenizer.json alone describes it
        p = os.path.join(directory, "vocab.txt")
        with open(p, "w", encoding="utf-8", newline="\n") as f:
            for tok, _ in by_id:
                f.write(tok + "\n")
        return [p]


def _check_bert_spec(spec: Any, path: str) -> None:
    if not isinstance(spec, dict):
        raise TokenizerError(f"{path}: expected a JSON object")
    model = spec.get("model")
    if not isinstance(model, dict):
        raise TokenizerError(f"{path}: no 'model' section")
    mtype = model.get("type") or ("WordPiece" if "continuing_subword_prefix" in model
                                  and "max_input_chars_per_word" in model else None)
    if mtype != "WordPiece":
        raise TokenizerError(f"{path}: model type {model.get('type')!r} is not WordPiece "
                             "(BertTokenizer needs a WordPiece model)")
    if not isinstance(model.get("vocab"), dict) or not model["vocab"]:
        raise TokenizerError(f"{path}: model.vocab is missing or empty")


def _bert_spec(vocab: dict[str, int], config: dict) -> dict:
    """The tokenizer.json transformers' BertTokenizer builds from a vocab."""
    specials = []
    for name in ("pad_token", "unk_token", "cls_token", "sep_token", "mask_token"):
        t = _token_content(config.get(name))
        if t is not None and t not in specials:
            specials.append(t)
    for t in _extra_special(config):
        if t not in specials:
            specials.append(t)
    added, next_id = [], max(vocab.values()) + 1
    for t in specials:
        i = vocab.get(t)
        if i is None:
            i, next_id = next_id, next_id + 1
        added.append({"id": i, "content": t, "single_word": False, "lstrip": False,
                      "rstrip": False, "normalized": False, "special": True})
    added.sort(key=lambda a: a["id"])
    cls_t, sep_t = _token_content(config.get("cls_token")), _token_content(config.get("sep_token"))
    ids = {a["content"]: a["id"] for a in added}
    cls_id, sep_id = ids.get(cls_t, 2), ids.get(sep_t, 3)
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": {"type": "BertNormalizer", "clean_text": True,
                       "handle_chinese_chars": bool(config.get("tokenize_chinese_chars", True)),
                       "strip_accents": config.get("strip_accents"),
                       "lowercase": bool(config.get("do_lower_case", True))},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": cls_t, "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": sep_t, "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": cls_t, "type_id": 0}},
                     {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": sep_t, "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": sep_t, "type_id": 1}}],
            "special_tokens": {cls_t: {"id": cls_t, "ids": [cls_id], "tokens": [cls_t]},
                               sep_t: {"id": sep_t, "ids": [sep_id], "tokens": [sep_t]}}},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": _token_content(config.get("unk_token")) or "[UNK]",
                  "continuing_subword_prefix": "##", "max_input_chars_per_word": 100,
                  "vocab": dict(vocab)},
    }


def _templates(pp: dict | None, tok: PreTrainedTokenizerBase, src: str):
    """Post-processor -> (single, pair) piece lists for the core."""
    if pp is None:
        return [(0, 0, [])], [(0, 0, []), (1, 1, [])]
    kind = pp.get("type")
    if kind == "BertProcessing":
        (sep_t, sep_id), (cls_t, cls_id) = pp["sep"], pp["cls"]
        return ([(-1, 0, [cls_id]), (0, 0, []), (-1, 0, [sep_id])],
                [(-1, 0, [cls_id]), (0, 0, []), (-1, 0, [sep_id]), (1, 1, []), (-1, 1, [sep_id])])
    if kind != "TemplateProcessing":
        raise TokenizerError(f"{src}: unsupported post_processor {kind!r}")
    specials = pp.get("special_tokens") or {}

    def conv(pieces):
        out = []
        for p in pieces:
            if "Sequence" in p:
                out.append((0 if p["Sequence"]["id"] == "A" else 1, int(p["Sequence"].get("type_id", 0)), []))
            elif "SpecialToken" in p:
                name = p["SpecialToken"]["id"]
                if name not in specials:
                    raise TokenizerError(f"{src}: post_processor uses undefined special token {name!r}")
                out.append((-1, int(p["SpecialToken"].get("type_id", 0)), [int(i) for i in specials[name]["ids"]]))
            else:
                raise TokenizerError(f"{src}: bad template piece {p!r}")
        return out
    return conv(pp.get("single") or []), conv(pp.get("pair") or [])


def _folder_config(path: str) -> dict:
    """tokenizer_config.json, then special_tokens_map.json over it (as transformers)."""
    config: dict = {}
    p = os.path.join(path, "tokenizer_config.json")
    if os.path.exists(p):
        c = _read_json(p)
        if not isinstance(c, dict):
            raise TokenizerError(f"{p}: expected a JSON object")
        config.update(c)
    p = os.path.join(path, "special_tokens_map.json")
    if os.path.exists(p):
        c = _read_json(p)
        if not isinstance(c, dict):
            raise TokenizerError(f"{p}: expected a JSON object")
        for k, v in c.items():
            config.setdefault(k, v)
    for k in ("tokenizer_class", "auto_map", "name_or_path", "tokenizer_file", "vocab_file"):
        config.pop(k, None)
    return config


# Registry: names in tokenizer_config's tokenizer_class / config.json's
# model_type / tokenizer.json's model type -> class.  T5Tokenizer adds itself here.
TOKENIZER_CLASSES: dict[str, type] = {
    "BertTokenizer": BertTokenizer, "BertTokenizerFast": BertTokenizer,
}
MODEL_TYPES: dict[str, type] = {"bert": BertTokenizer}
JSON_MODEL_TYPES: dict[str, type] = {"WordPiece": BertTokenizer}
VOCAB_FILES: dict[str, type] = {"vocab.txt": BertTokenizer}


class AutoTokenizer:
    """Pick the tokenizer class from a folder's files."""

    @staticmethod
    def from_pretrained(path: str, **kwargs) -> PreTrainedTokenizerBase:
        """tokenizer_config.json's ``tokenizer_class``, else tokenizer.json's model
        type, else config.json's ``model_type``, else the vocabulary files present."""
        path = os.fspath(path)
        if not os.path.isdir(path):
            raise TokenizerError(f"{path}: not a folder")
        cls = None
        p = os.path.join(path, "tokenizer_config.json")
        if os.path.exists(p):
            name = (_read_json(p) or {}).get("tokenizer_class")
            if name:
                cls = TOKENIZER_CLASSES.get(name)
                if cls is None:
                    raise TokenizerError(f"{p}: tokenizer_class {name!r} is not supported by hfonnx "
                                         f"(supported: {', '.join(sorted(TOKENIZER_CLASSES))})")
        if cls is None and os.path.exists(os.path.join(path, "tokenizer.json")):
            tj = os.path.join(path, "tokenizer.json")
            spec = _read_json(tj)
            model = spec.get("model") if isinstance(spec, dict) else None
            if not isinstance(model, dict):
                raise TokenizerError(f"{tj}: no 'model' section")
            mtype = model.get("type") or ("WordPiece" if "continuing_subword_prefix" in model else None)
            cls = JSON_MODEL_TYPES.get(mtype)
            if cls is None:
                raise TokenizerError(f"{tj}: model type {mtype!r} is not supported by hfonnx "
                                     f"(supported: {', '.join(sorted(JSON_MODEL_TYPES))})")
        if cls is None and os.path.exists(os.path.join(path, "config.json")):
            mt = (_read_json(os.path.join(path, "config.json")) or {}).get("model_type")
            cls = MODEL_TYPES.get(mt)
            if cls is None and mt is not None:
                raise TokenizerError(f"{path}/config.json: model_type {mt!r} has no hfonnx tokenizer "
                                     f"(supported: {', '.join(sorted(MODEL_TYPES))})")
        if cls is None:
            for fname, c in VOCAB_FILES.items():
                if os.path.exists(os.path.join(path, fname)):
                    cls = c
                    break
        if cls is None:
            raise TokenizerError(f"{path}: no tokenizer files found (looked for tokenizer_config.json, "
                                 f"tokenizer.json, config.json, {', '.join(VOCAB_FILES)})")
        return cls.from_pretrained(path, **kwargs)
