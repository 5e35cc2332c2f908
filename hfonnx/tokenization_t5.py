"""T5's SentencePiece (Unigram) tokenizer, with exactly the output of
``transformers.T5TokenizerFast``.

The pipeline runs in C (``csrc/tok/``: Precompiled normalizer, WhitespaceSplit
+ Metaspace pre-tokenizer, Unigram model, the shared added-tokens matcher and
template); this module reads ``tokenizer.json`` or ``spiece.model`` (parsed in
C with protobuf-c) and builds the same tokenizer transformers 5 builds:

    >>> tok = hfonnx.T5Tokenizer.from_pretrained("t5-small/")
    >>> tok("translate English to German: Hello")["input_ids"]
    [13959, 1566, 12, 2968, 10, 8774, 1]

What transformers' T5 tokenizer does, and so do we (``T5Tokenizer.__init__``
in transformers/models/t5/tokenization_t5.py): the Unigram model with
``unk_id`` 2 and no byte fallback whatever the file says; the normalizer is
only the ``Precompiled`` charsmap (other normalizers in a tokenizer.json
Sequence are dropped); the pre-tokenizer is always WhitespaceSplit then
Metaspace(prepend_scheme="always", split=True), so ``legacy`` changes
nothing; ``$A </s>`` / ``$A </s> $B </s>``.  From ``spiece.model`` the
vocabulary is the model's pieces followed by ``<extra_id_{extra_ids-1}>`` ...
``<extra_id_0>``.
"""
from __future__ import annotations

import base64
import os
import shutil

from . import _hfonnx
from .errors import TokenizerError
from .tokenization import (PreTrainedTokenizerBase, _folder_config, _read_json, _token_content,
                           _templates)

__all__ = ["T5Tokenizer", "load_spm"]

_REPLACEMENT = "\u2581"
_PREPEND = {"always": 0, "first": 1, "never": 2}
# sentencepiece_model.proto piece types
_SPM_CONTROL, _SPM_USER_DEFINED = 3, 4
_SPM_MODEL_TYPES = {1: "UNIGRAM", 2: "BPE", 3: "WORD", 4: "CHAR"}


def load_spm(path: str) -> dict:
    """Read a SentencePiece model file (``spiece.model``) into a dict:
    ``pieces`` (list of ``(piece, score, type)``), ``unk_id``, ``eos_id``, ...,
    ``precompiled_charsmap`` (bytes).  Parsed in C with protobuf-c; a
    truncated or corrupt file raises :class:`TokenizerError`."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise TokenizerError(f"{path}: SentencePiece model not found") from None
    except OSError as e:
        raise TokenizerError(f"{path}: cannot read ({e})") from None
    try:
        return _hfonnx._spm_load(data)
    except TokenizerError as e:
        raise TokenizerError(f"{path}: {e}") from None


def _find_precompiled(normalizer) -> str | None:
    """The base64 charsmap of the first Precompiled normalizer (alone or in a Sequence)."""
    if not isinstance(normalizer, dict):
        return None
    items = normalizer.get("normalizers") if normalizer.get("type") == "Sequence" else [normalizer]
    for n in items or []:
        if isinstance(n, dict) and n.get("type") == "Precompiled" and n.get("precompiled_charsmap"):
            return n["precompiled_charsmap"]
    return None


def _t5_spec(vocab: list, charsmap_b64: str | None, added: list[dict], eos_id: int,
             eos: str) -> dict:
    """The tokenizer.json transformers' T5Tokenizer builds."""
    meta = {"type": "Metaspace", "replacement": _REPLACEMENT, "prepend_scheme": "always",
            "split": True}
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": ({"type": "Precompiled", "precompiled_charsmap": charsmap_b64}
                       if charsmap_b64 else None),
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"}, meta]},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": eos, "type_id": 0}}],
            "pair": [{"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": eos, "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 0}},
                     {"SpecialToken": {"id": eos, "type_id": 0}}],
            "special_tokens": {eos: {"id": eos, "ids": [eos_id], "tokens": [eos]}}},
        "decoder": dict(meta),
        "model": {"type": "Unigram", "unk_id": 2, "vocab": vocab, "byte_fallback": False},
    }


def _added_entry(content: str, i: int, special: bool = True) -> dict:
    return {"id": i, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
            "normalized": False, "special": special}


class T5Tokenizer(PreTrainedTokenizerBase):
    """T5's tokenizer (same output as ``transformers.T5TokenizerFast``).

    ``T5Tokenizer(vocab_file="spiece.model", extra_ids=100)`` builds it from a
    SentencePiece model; ``T5Tokenizer.from_pretrained(folder)`` reads
    ``tokenizer.json`` when the folder has one, else ``spiece.model``, with
    ``tokenizer_config.json`` and ``special_tokens_map.json``.  Sentinels
    ``<extra_id_0>`` ... are special tokens matched in the raw text.
    """

    model_input_names = ["input_ids", "attention_mask"]
    tokenizer_class_name = "T5Tokenizer"
    _text_tokens = True   # Encoding.tokens of a Unigram model: an unknown token is its text
    _default_special = {"eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"}

    def __init__(self, vocab_file: str | None = None, eos_token="</s>", unk_token="<unk>",
                 pad_token="<pad>", extra_ids: int = 100, additional_special_tokens=None,
                 tokenizer_file: str | None = None, legacy: bool | None = None, **kwargs):
        config = dict(kwargs)
        if isinstance(extra_ids, bool) or not isinstance(extra_ids, int) or extra_ids < 0:
            raise TokenizerError(f"extra_ids must be a non-negative int, got {extra_ids!r}")
        eos, unk, pad = (_token_content(eos_token), _token_content(unk_token),
                         _token_content(pad_token))
        config.update(eos_token=eos, unk_token=unk, pad_token=pad, extra_ids=extra_ids)
        if legacy is not None:
            config["legacy"] = legacy  # kept for save_pretrained; transformers 5 ignores it for T5
        # transformers 5 saves the extra special tokens as extra_special_tokens: that list
        # is what the tokenizer reports; additional_special_tokens (else the sentinels)
        # is checked against extra_ids as T5Tokenizer.__init__ does
        extra_list = config.pop("extra_special_tokens", None)
        if isinstance(additional_special_tokens, dict):
            additional_special_tokens = list(additional_special_tokens)
        extra = [_token_content(t) for t in (additional_special_tokens or [])]
        sentinels = [t for t in extra if "<extra_id_" in str(t)]
        if not sentinels:
            extra += [f"<extra_id_{i}>" for i in range(extra_ids)]
        elif extra_ids > 0 and extra_ids != len(sentinels):
            raise TokenizerError(
                f"Both extra_ids ({extra_ids}) and additional_special_tokens ({extra}) are provided "
                "to T5Tokenizer. In this case the additional_special_tokens must include the "
                "extra_ids tokens")
        config["additional_special_tokens"] = extra
        if isinstance(extra_list, (list, tuple)):
            config["extra_special_tokens"] = [_token_content(t) for t in extra_list]
        if tokenizer_file is not None:
            spec = self._spec_from_json(tokenizer_file, config)
            source = tokenizer_file
        elif vocab_file is not None:
            spec = self._spec_from_spm(vocab_file, config)
            source = vocab_file
            self._vocab_file = vocab_file
        else:
            raise TokenizerError("T5Tokenizer needs a vocab_file (spiece.model) or a tokenizer_file "
                                 "(tokenizer.json)")
        self._setup(spec, config, source)

    # ---- building the spec -------------------------------------------------
    @staticmethod
    def _specials(config: dict) -> list[str]:
        out = []
        for name in ("eos_token", "unk_token", "pad_token"):
            t = config.get(name)
            if t is not None and t not in out:
                out.append(t)
        for t in (config.get("additional_special_tokens") or []) + (config.get("extra_special_tokens") or []):
            if t is not None and t not in out:
                out.append(t)
        return out

    @classmethod
    def _finish_spec(cls, vocab: list, charsmap_b64, added: list[dict], config: dict) -> dict:
        """Register the special tokens as added tokens (existing ids kept, new ones
        appended after the vocabulary) and build the spec."""
        by_content = {a["content"]: a for a in added}
        piece_id = {}
        for i, (p, _s) in enumerate(vocab):
            piece_id[p] = i  # last duplicate wins, as tokenizers' token_to_ids
        next_id = max([len(vocab) - 1] + [a["id"] for a in added]) + 1
        for t in cls._specials(config):
            if t in by_content:
                continue
            i = piece_id.get(t)
            if i is None:
                i, next_id = next_id, next_id + 1
            by_content[t] = _added_entry(t, i)
        added = sorted(by_content.values(), key=lambda a: a["id"])
        eos = config.get("eos_token") or "</s>"
        ids = {a["content"]: a["id"] for a in added}
        eos_id = ids.get(eos, piece_id.get(eos, 1))
        return _t5_spec(vocab, charsmap_b64, added, eos_id, eos)

    @classmethod
    def _spec_from_json(cls, path: str, config: dict) -> dict:
        spec = _read_json(path)
        if not isinstance(spec, dict) or not isinstance(spec.get("model"), dict):
            raise TokenizerError(f"{path}: no 'model' section")
        model = spec["model"]
        mtype = model.get("type") or ("Unigram" if isinstance(model.get("vocab"), list) else None)
        if mtype != "Unigram":
            raise TokenizerError(f"{path}: model type {model.get('type')!r} is not Unigram "
                                 "(T5Tokenizer needs a SentencePiece Unigram model)")
        vocab = cls._check_vocab(model.get("vocab"), path)
        added = []
        for t in spec.get("added_tokens") or []:
            if not isinstance(t, dict) or not isinstance(t.get("content"), str) or \
                    not isinstance(t.get("id"), int):
                raise TokenizerError(f"{path}: bad added token {t!r}")
            added.append({k: t.get(k, d) for k, d in _added_entry("", 0).items()})
        return cls._finish_spec(vocab, _find_precompiled(spec.get("normalizer")), added, config)

    @classmethod
    def _spec_from_spm(cls, path: str, config: dict) -> dict:
        info = load_spm(path)
        mt = info["model_type"]
        if mt != 1:
            raise TokenizerError(
                f"{path}: this SentencePiece model is {_SPM_MODEL_TYPES.get(mt, mt)}, not UNIGRAM; "
                "hfonnx's T5Tokenizer supports Unigram models only")
        vocab = [[p, s] for p, s, _t in info["pieces"]]
        n = int(config.get("extra_ids", 100))
        vocab += [[f"<extra_id_{i}>", 0.0] for i in range(n - 1, -1, -1)]
        # control and user-defined pieces are added tokens (transformers' SentencePieceExtractor)
        added = [_added_entry(p, i, special=(t == _SPM_CONTROL))
                 for i, (p, _s, t) in enumerate(info["pieces"]) if t in (_SPM_CONTROL, _SPM_USER_DEFINED)]
        cm = info["precompiled_charsmap"]
        return cls._finish_spec(vocab, base64.b64encode(cm).decode("ascii") if cm else None,
                                added, config)

    @staticmethod
    def _check_vocab(vocab, src: str) -> list:
        if not isinstance(vocab, list) or not vocab:
            raise TokenizerError(f"{src}: model.vocab is missing or empty")
        out = []
        for i, e in enumerate(vocab):
            if (not isinstance(e, (list, tuple)) or len(e) != 2 or not isinstance(e[0], str)
                    or isinstance(e[1], bool) or not isinstance(e[1], (int, float))):
                raise TokenizerError(f"{src}: Unigram vocab entry {i} must be [piece, score], "
                                     f"got {e!r}")
            out.append([e[0], float(e[1])])
        return out

    # ---- PreTrainedTokenizerBase hooks --------------------------------------
    def _read_vocab(self, model: dict, source: str) -> dict[str, int]:
        vocab = self._check_vocab(model.get("vocab"), source or "tokenizer")
        self._pieces = [p for p, _s in vocab]
        return {p: i for i, p in enumerate(self._pieces)}

    def _model_vocab_size(self) -> int:
        return len(self._pieces)  # tokenizers' Unigram::get_vocab_size: duplicates count

    def _build_core(self):
        spec, src = self._spec, self._source or "tokenizer"
        # ids whose piece is a duplicate still decode to their own piece (tokenizers' id_to_token)
        self._id_to_token = dict(enumerate(self._pieces))
        charsmap = None
        b64 = _find_precompiled(spec.get("normalizer"))
        if b64:
            try:
                charsmap = base64.b64decode(b64, validate=True)
            except (ValueError, TypeError) as e:
                raise TokenizerError(f"{src}: precompiled_charsmap is not base64 ({e})") from None
        added = self._core_added()
        single, pair = _templates(spec.get("post_processor"), self, src)
        model = spec["model"]
        core = _hfonnx._TokenizerCore([], -1, "", 0, None, None, added, single, pair)
        _hfonnx._core_set_unigram(core, model["vocab"], int(model.get("unk_id", 2)),
                                  bool(model.get("byte_fallback", False)), charsmap,
                                  (_REPLACEMENT, _PREPEND["always"], True, True))
        return core

    def _decode_tokens(self, tokens: list[str]) -> str:
        # tokenizers' Metaspace decoder: '▁' -> ' ', except in the first token,
        # where every '▁' is dropped (prepend_scheme "always")
        return "".join(t.replace(_REPLACEMENT, "" if i == 0 else " ") for i, t in enumerate(tokens))

    # ---- T5 extras -----------------------------------------------------------
    @property
    def vocab_file(self) -> str | None:
        return getattr(self, "_vocab_file", None)

    def get_sentinel_tokens(self) -> list[str]:
        """The ``<extra_id_N>`` tokens."""
        return [t for t in self.additional_special_tokens if t.startswith("<extra_id_")]

    def get_sentinel_token_ids(self) -> list[int]:
        return [self.convert_tokens_to_ids(t) for t in self.get_sentinel_tokens()]

    def _tokenizer_config(self) -> dict:
        cfg = super()._tokenizer_config()
        cfg["extra_ids"] = int(self._config.get("extra_ids", 100))
        return cfg

    def _save_model_files(self, directory: str) -> list[str]:
        src = self.vocab_file
        if src and os.path.isfile(src):
            dst = os.path.join(directory, "spiece.model")
            if os.path.abspath(src) != os.path.abspath(dst):
                shutil.copyfile(src, dst)
            return [dst]
        return []

    @classmethod
    def from_pretrained(cls, path: str, **kwargs) -> "T5Tokenizer":
        """Load from a folder (tokenizer.json, or spiece.model, with
        tokenizer_config.json and special_tokens_map.json) or from a
        tokenizer.json / spiece.model file."""
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
        for k in ("tokenizer_class", "auto_map", "tokenizer_file", "vocab_file"):
            config.pop(k, None)
        tj = os.path.join(path, "tokenizer.json")
        sp = os.path.join(path, "spiece.model")
        if os.path.exists(tj):
            tok = cls(tokenizer_file=tj, **config)
            if os.path.exists(sp):
                tok._vocab_file = sp
            return tok
        if not os.path.exists(sp):
            raise TokenizerError(f"{path}: T5Tokenizer needs tokenizer.json or spiece.model; "
                                 "neither was found")
        return cls(vocab_file=sp, **config)

    def __reduce__(self):
        return (_rebuild_t5, (type(self), self._spec, self._state_config(), self._source,
                              self.vocab_file), self._pickle_state())


def _rebuild_t5(cls, spec, config, source, vocab_file):
    obj = cls.__new__(cls)
    obj._vocab_file = vocab_file
    obj._setup(spec, config, source, loading=False)
    return obj


def _register() -> None:
    from . import tokenization as _t
    for name in ("T5Tokenizer", "T5TokenizerFast"):
        _t.TOKENIZER_CLASSES[name] = T5Tokenizer
    _t.MODEL_TYPES["t5"] = T5Tokenizer
    _t.MODEL_TYPES["mt5"] = T5Tokenizer
    _t.JSON_MODEL_TYPES["Unigram"] = T5Tokenizer
    _t.VOCAB_FILES["spiece.model"] = T5Tokenizer


_register()
