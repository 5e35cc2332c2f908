"""The tokenizer engine in C on its own (tests/c/tok_core.c), built with
AddressSanitizer, UBSan and LeakSanitizer: a deterministic fuzz loop over
texts of every code-unit width, every truncation strategy, pairs and the
thread pool; a batch must equal its items encoded one by one."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CSRC = ROOT / "csrc"
SOURCES = ["added_tokens.c", "encoding.c", "model_wordpiece.c", "normalized.c", "normalizer_bert.c",
           "postproc_template.c", "pretok_bert.c", "threadpool.c", "tokenizer.c", "tokens.c", "unicode.c",
           "unicode_tables.c", "walk_bert.c",
           # tokenizer.c dispatches to the fused T5 walk when its stages are set
           "normalizer_precompiled.c", "pretok_metaspace.c", "walk_t5.c"]


def test_tokenizer_core_under_sanitizers(tmp_path):
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    exe = tmp_path / "tok_core"
    cmd = ["gcc", "-std=c11", "-g", "-O1", "-Wall", "-Wextra", "-Werror", "-D_GNU_SOURCE",
           "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined", "-fno-omit-frame-pointer",
           f"-I{CSRC}", str(ROOT / "tests" / "c" / "tok_core.c"), *[str(CSRC / "tok" / s) for s in SOURCES],
           "-lutf8proc", "-lpthread", "-o", str(exe)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0 and "asan" in r.stderr.lower() and "cannot find" in r.stderr:
        pytest.skip("this gcc has no AddressSanitizer runtime")
    assert r.returncode == 0, r.stderr
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0", UBSAN_OPTIONS="print_stacktrace=1")
    env.pop("LD_PRELOAD", None)
    r = subprocess.run([str(exe)], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "all checks passed" in r.stdout
