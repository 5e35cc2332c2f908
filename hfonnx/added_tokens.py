"""Added tokens: :class:`AddedToken` and the bookkeeping ``tokenizers`` does
when tokens are added (``AddedVocabulary`` in
tokenizers/src/tokenizer/added_vocabulary.rs, 0.23).

The matching itself (leftmost-longest, ``single_word``, ``lstrip``,
``rstrip``, normalized or raw) is the C engine's (``csrc/tok/added_tokens.c``);
this module only decides which tokens exist, with which ids and flags, and
which contents count as special when decoding:

    >>> av = AddedVocab()
    >>> av.add([as_token("[NEW]", special=True)], {"a": 0, "b": 1}.get, 2)
    1
    >>> av.map, sorted(av.special)
    ({'[NEW]': 2}, ['[NEW]'])
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

__all__ = ["AddedToken", "AddedVocab", "TokenFlags", "as_token", "is_added_token"]


class AddedToken:
    """A token added on top of the model's vocabulary, with the fields, defaults
    and ``repr`` of ``tokenizers.AddedToken`` (hfonnx also accepts that class,
    or any object with these attributes).

    ``normalized`` defaults to ``not special`` while it is not set explicitly,
    so a token made special later (``add_special_tokens`` sets ``special``)
    stops being normalized, as in tokenizers.
    """

    __slots__ = ("content", "single_word", "lstrip", "rstrip", "_normalized", "special")

    def __init__(self, content: str = "", single_word: bool = False, lstrip: bool = False,
                 rstrip: bool = False, normalized: bool | None = None, special: bool = False):
        if not isinstance(content, str):
            raise TypeError(f"AddedToken content must be a str, got {type(content).__name__}")
        self.content = content
        self.single_word = bool(single_word)
        self.lstrip = bool(lstrip)
        self.rstrip = bool(rstrip)
        self._normalized = None if normalized is None else bool(normalized)
        self.special = bool(special)

    @property
    def normalized(self) -> bool:
        return (not self.special) if self._normalized is None else self._normalized

    @normalized.setter
    def normalized(self, value: bool) -> None:
        self._normalized = bool(value)

    def _flags(self) -> "TokenFlags":
        return TokenFlags(self.content, self.single_word, self.lstrip, self.rstrip, self.normalized,
                          self.special)

    def __str__(self) -> str:
        return self.content

    def __repr__(self) -> str:
        return (f'AddedToken("{self.content}", rstrip={self.rstrip}, lstrip={self.lstrip}, '
                f"single_word={self.single_word}, normalized={self.normalized}, special={self.special})")

    def __eq__(self, other: object) -> bool:
        if not is_added_token(other):
            return NotImplemented
        return self._flags() == as_token(other)

    def __hash__(self) -> int:
        return hash(self._flags())

    def __getstate__(self) -> dict:
        return self._flags()._asdict()

    def __setstate__(self, state: dict) -> None:
        self.__init__(**state)


class TokenFlags(NamedTuple):
    """An added token as tokenizers' Rust side stores it (all fields resolved);
    tuples compare field by field, as ``AddedToken``'s derived ``PartialEq``."""
    content: str
    single_word: bool = False
    lstrip: bool = False
    rstrip: bool = False
    normalized: bool = True
    special: bool = False


def is_added_token(obj: Any) -> bool:
    """An hfonnx/tokenizers AddedToken, or anything with the same attributes."""
    return isinstance(obj, AddedToken) or (
        not isinstance(obj, (str, dict)) and isinstance(getattr(obj, "content", None), str)
        and all(hasattr(obj, a) for a in ("single_word", "lstrip", "rstrip", "normalized", "special")))


def as_token(obj: Any, special: bool | None = None) -> TokenFlags:
    """A str (normalized unless special, as ``AddedToken.from(content, special)``),
    an AddedToken-like object or a tokenizer.json ``added_tokens`` entry, as TokenFlags."""
    if isinstance(obj, str):
        sp = bool(special)
        return TokenFlags(obj, False, False, False, not sp, sp)
    if isinstance(obj, dict):
        content = obj.get("content")
        if not isinstance(content, str):
            raise TypeError(f"added token entry needs a str 'content', got {obj!r}")
        sp = bool(obj.get("special", False))
        return TokenFlags(content, bool(obj.get("single_word", False)), bool(obj.get("lstrip", False)),
                          bool(obj.get("rstrip", False)), bool(obj.get("normalized", not sp)), sp)
    if is_added_token(obj):
        return TokenFlags(obj.content, bool(obj.single_word), bool(obj.lstrip), bool(obj.rstrip),
                          bool(obj.normalized), bool(obj.special))
    raise TypeError(f"Input must be a List[Union[str, AddedToken]], got {type(obj).__name__}")


class AddedVocab:
    """tokenizers' AddedVocabulary, without the matching: ``map`` (content ->
    id), ``map_r`` (id -> TokenFlags, what tokenizer.json's ``added_tokens``
    serialises and what the engine matches) and ``special`` (the contents
    that decoding skips; a content stays there once added as special)."""

    def __init__(self) -> None:
        self.map: dict[str, int] = {}
        self.map_r: dict[int, TokenFlags] = {}
        self.special: set[str] = set()

    def add(self, tokens: list[TokenFlags], model_token_to_id: Callable[[str], int | None],
            model_vocab_size: int) -> int:
        """Add tokens; returns how many were not ignored (an empty content, or
        a content already added with identical flags, is ignored).  A token
        already in the model's vocabulary keeps its id; a new one gets the
        next id after the model's vocabulary and the added tokens."""
        # Parity: AddedVocabulary::add_tokens (tokenizers 0.23.3), statement by statement
        ignored = total = 0
        if self.map_r:
            top = max(self.map_r)
            next_id = top + 1 if top >= model_vocab_size or model_vocab_size == 0 else model_vocab_size
        else:
            next_id = model_vocab_size
        for tok in tokens:
            total += 1
            if not tok.content:
                ignored += 1
                continue
            old = self.map.get(tok.content)
            if old is not None and self.map_r.get(old) == tok:
                ignored += 1
                continue
            new_id = old if old is not None else model_token_to_id(tok.content)
            if new_id is None:
                new_id, next_id = next_id, next_id + 1
            self.map[tok.content] = new_id
            if tok.special:
                self.special.add(tok.content)
            self.map_r[new_id] = tok
        return total - ignored

    def entries(self) -> list[dict]:
        """tokenizer.json's ``added_tokens``: by ascending id."""
        return [{"id": i, **t._asdict()} for i, t in sorted(self.map_r.items())]
