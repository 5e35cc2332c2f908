"""The tokenizer engine in C on its own (tests/c/tok_core.c), built with
AddressSanitizer, UBSan and LeakSanitizer: a deterministic fuzz loop over
texts of every code-unit width, every truncation strategy, pairs and the
thread pool; a batch must equal its items encoded one by one."""
from _sanitized import CSRC, build, run

SOURCES = ["added_tokens.c", "encoding.c", "model_wordpiece.c", "normalized.c", "normalizer_bert.c",
           "postproc_template.c", "pretok_bert.c", "threadpool.c", "tokenizer.c", "tokens.c", "unicode.c",
           "unicode_tables.c", "walk_bert.c", "word_cache.c",
           # tokenizer.c dispatches to the fused T5 walk when its stages are set
           "normalizer_precompiled.c", "pretok_metaspace.c", "walk_t5.c"]


def test_tokenizer_core_under_sanitizers(tmp_path):
    exe = build(tmp_path, "tok_core.c", [CSRC / "tok" / s for s in SOURCES] + [CSRC / "common" / "arena.c"], libs=["-lutf8proc", "-lpthread"])
    r = run(exe, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "all checks passed" in r.stdout
