"""Generate csrc/tok/unicode_tables.c: the character classes BERT's normalizer
and pre-tokenizer use, exactly as Hugging Face `tokenizers` sees them.

Why not straight from utf8proc: `tokenizers` takes its categories from the
`unicode_categories` crate (old Unicode tables: punctuation and Mn marks added
since then are not P*/Mn for it, and Cn is not "other"), `char::is_whitespace`
and `char::to_lowercase` from Rust's std (newer than utf8proc 2.8's Unicode
15), and NFD from `unicode-normalization-alignments`.  We probe the reference
library once, over every code point, and record:
  - a flag per code point: CONTROL (dropped by clean_text), WHITESPACE,
    PUNCT (isolated by BertPreTokenizer), MN (dropped by strip_accents), CJK;
  - the ranges of word characters for an added token's single_word check
    (the `regex` crate's Unicode \w, probed through that check; a sorted
    range list, off the flags table the BERT walk reads);
  - the code points whose lowercase differs from utf8proc_tolower;
  - the code points whose NFD differs from utf8proc's canonical decomposition;
  - the code points utf8proc gives a combining class that the reference's
    NFD does not know (characters newer than its tables): canonical ordering
    treats them as starters there.
Run: python csrc/tok/tools/gen_unicode_tables.py > csrc/tok/unicode_tables.c
(needs `tokenizers` and libutf8proc; the output is committed).
"""
import ctypes
import sys

import tokenizers
from tokenizers import AddedToken, Tokenizer, normalizers, pre_tokenizers
from tokenizers.models import WordLevel

U = ctypes.CDLL("libutf8proc.so.2")
U.utf8proc_unicode_version.restype = ctypes.c_char_p
CPS = [c for c in range(0x110000) if not (0xD800 <= c <= 0xDFFF)]
F_CONTROL, F_WS, F_PUNCT, F_MN, F_CJK = 1, 2, 4, 8, 16
CJK = [(0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
       (0x2B740, 0x2B81F), (0x2B920, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)]


def mapped(norm, sep):
    """{cp: normalized text} for every cp the normalizer changes (one call per chunk)."""
    out = {}
    for i in range(0, len(CPS), 20000):
        cs = [c for c in CPS[i:i + 20000] if chr(c) != sep]
        res = norm.normalize_str(sep.join(chr(c) for c in cs)).split(sep)
        assert len(res) == len(cs)
        out.update((c, r) for c, r in zip(cs, res) if r != chr(c))
    return out


def word_chars():
    """Code points that block a single_word added token "tok" when glued to it,
    on both sides (AddedVocabulary::find_matches: ends_with_word / starts_with_word)."""
    tk = Tokenizer(WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    tk.add_tokens([AddedToken("tok", single_word=True, normalized=False)])
    tok = tk.token_to_id("tok")
    out = set()
    for i in range(0, len(CPS), 50000):
        cs = CPS[i:i + 50000]
        before = tk.encode_batch([chr(c) + "tok" for c in cs], add_special_tokens=False)
        after = tk.encode_batch(["tok" + chr(c) for c in cs], add_special_tokens=False)
        for c, b, a in zip(cs, before, after):
            assert (tok in b.ids) == (tok in a.ids), hex(c)
            if tok not in b.ids:
                out.add(c)
    return out


def main():
    flags = [0] * 0x110000
    words = word_chars()
    clean = mapped(normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=False,
                                              strip_accents=False, lowercase=False), "x")
    for c, r in clean.items():
        if r == "":
            flags[c] |= F_CONTROL
    ws_like = {c for c, r in clean.items() if r == " "}
    pt = pre_tokenizers.BertPreTokenizer()
    for i in range(0, len(CPS), 20000):
        cs = [c for c in CPS[i:i + 20000] if c != ord("a")]
        present = set()
        for piece, (a, b) in pt.pre_tokenize_str("a".join(chr(c) for c in cs)):
            if b - a == 1 and piece != "a":
                flags[ord(piece)] |= F_PUNCT
            present.update(range(a, b))
        for j, c in enumerate(cs):
            if 2 * j not in present:
                flags[c] |= F_WS
    assert ws_like <= {c for c in CPS if flags[c] & F_WS} | {ord("x")}
    nfd = mapped(normalizers.NFD(), "\0")
    strip = mapped(normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False,
                                              strip_accents=True, lowercase=False), "\0")
    for c in CPS:
        if c and nfd.get(c, chr(c)) == chr(c) and strip.get(c) == "":
            flags[c] |= F_MN
    for lo, hi in CJK:
        for c in range(lo, hi + 1):
            flags[c] |= F_CJK
    low = mapped(normalizers.Lowercase(), "\0")
    buf = (ctypes.c_int32 * 32)()
    last = ctypes.c_int(0)

    def u_nfd(c):
        n = U.utf8proc_decompose_char(c, buf, 32, 1 << 3, ctypes.byref(last))
        return "".join(chr(buf[k]) for k in range(n))

    low_exc = [(c, low.get(c, chr(c))) for c in CPS
               if c and low.get(c, chr(c)) != chr(U.utf8proc_tolower(c))]
    nfd_exc = [(c, nfd.get(c, chr(c))) for c in CPS if c and nfd.get(c, chr(c)) != u_nfd(c)]

    # combining classes the reference's NFD lacks: a known non-starter c moves
    # past U+0334 (class 1) after it, or, itself of class 1, past U+0345 (240)
    U.utf8proc_get_property.restype = ctypes.POINTER(ctypes.c_int16)

    def u_ccc(c):
        return U.utf8proc_get_property(c)[1]   # category, combining_class, ...
    probe = {}
    for c in CPS:
        v = u_ccc(c)
        if v and nfd.get(c, chr(c)) == chr(c):
            probe[c] = ("a" + chr(c) + "\u0334", "a\u0334" + chr(c)) if v > 1 else \
                       ("a\u0345" + chr(c), "a" + chr(c) + "\u0345")
    keys = sorted(probe)
    got = normalizers.NFD().normalize_str("\0".join(probe[c][0] for c in keys)).split("\0")
    ccc_zero = [c for c, g in zip(keys, got) if g != probe[c][1]]

    # two-stage table: 128-code-point blocks, deduplicated
    blocks, index, stage1 = [], {}, []
    for b in range(0, 0x110000, 128):
        blk = tuple(flags[b:b + 128])
        if blk not in index:
            index[blk] = len(blocks)
            blocks.append(blk)
        stage1.append(index[blk])
    w = sys.stdout.write
    w("/* unicode_tables.c: GENERATED by csrc/tok/tools/gen_unicode_tables.py from\n"
      f" * tokenizers {tokenizers.__version__} and utf8proc (Unicode {U.utf8proc_unicode_version().decode()}). Do not edit. */\n")
    w('#include "unicode.h"\n\n')
    w(f"const uint16_t hfo_uc_stage1[{len(stage1)}] = {{\n")
    for i in range(0, len(stage1), 16):
        w("    " + ", ".join(str(x) for x in stage1[i:i + 16]) + ",\n")
    w("};\n\n")
    w(f"const uint8_t hfo_uc_stage2[{len(blocks)}][128] = {{\n")
    for blk in blocks:
        w("    {" + ",".join(str(x) for x in blk) + "},\n")
    w("};\n\n")

    def seq(s):
        return "{" + ", ".join("0x%X" % ord(ch) for ch in s) + "}"
    w(f"const hfo_uc_map hfo_uc_lower_exceptions[{len(low_exc)}] = {{\n")
    for c, s in low_exc:
        assert len(s) <= 3
        w(f"    {{0x{c:X}, {len(s)}, {seq(s)}}},\n")
    w("};\n")
    w(f"const size_t hfo_uc_n_lower_exceptions = {len(low_exc)};\n\n")
    w(f"const hfo_uc_map hfo_uc_nfd_exceptions[{len(nfd_exc)}] = {{\n")
    for c, s in nfd_exc:
        assert len(s) <= 3
        w(f"    {{0x{c:X}, {len(s)}, {seq(s)}}},\n")
    w("};\n")
    w(f"const size_t hfo_uc_n_nfd_exceptions = {len(nfd_exc)};\n\n")
    w(f"const uint32_t hfo_uc_ccc_zero[{len(ccc_zero)}] = {{\n")
    for i in range(0, len(ccc_zero), 8):
        w("    " + " ".join(f"0x{c:X}," for c in ccc_zero[i:i + 8]) + "\n")
    w("};\n")
    w(f"const size_t hfo_uc_n_ccc_zero = {len(ccc_zero)};\n\n")
    ranges = []
    for c in sorted(words):
        if ranges and ranges[-1][1] == c - 1:
            ranges[-1][1] = c
        else:
            ranges.append([c, c])
    w(f"const uint32_t hfo_uc_word_ranges[{len(ranges)}][2] = {{\n")
    for i in range(0, len(ranges), 6):
        w("    " + " ".join(f"{{0x{a:X}, 0x{b:X}}}," for a, b in ranges[i:i + 6]) + "\n")
    w("};\n")
    w(f"const size_t hfo_uc_n_word_ranges = {len(ranges)};\n")


if __name__ == "__main__":
    main()
