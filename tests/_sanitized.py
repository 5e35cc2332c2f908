"""Build a C test program with AddressSanitizer, UBSan and LeakSanitizer and
run it: what the *_core tests share.  Each test keeps its own assertions."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CSRC = ROOT / "csrc"


def onnx_protobuf(tmp_path):
    """protoc-c's C for csrc/graph/onnx.proto, in tmp_path/gen: (folder, .pb-c.c)."""
    if shutil.which("protoc-c") is None:
        pytest.skip("protoc-c is not installed")
    gen = tmp_path / "gen"
    gen.mkdir()
    shutil.copy(CSRC / "graph" / "onnx.proto", gen)
    subprocess.run(["protoc-c", f"--proto_path={gen}", f"--c_out={gen}", str(gen / "onnx.proto")],
                   check=True)
    return gen, gen / "onnx.pb-c.c"


def build(tmp_path, main, sources, includes=(), libs=()):
    """Compile tests/c/<main> with sources under the sanitizers; the executable's path.
    Skips when gcc or its AddressSanitizer runtime is missing."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    exe = tmp_path / Path(main).stem
    cmd = ["gcc", "-std=c11", "-g", "-O1", "-Wall", "-Wextra", "-Werror", "-D_GNU_SOURCE",
           "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined", "-fno-omit-frame-pointer",
           f"-I{CSRC}", *[f"-I{d}" for d in includes], str(ROOT / "tests" / "c" / main),
           *[str(s) for s in sources], *libs, "-o", str(exe)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0 and "asan" in r.stderr.lower() and "cannot find" in r.stderr:
        pytest.skip("this gcc has no AddressSanitizer runtime")
    assert r.returncode == 0, r.stderr
    return exe


def run(exe, *args, timeout=600):
    """Run a sanitized program (leak checks on); the CompletedProcess."""
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0", UBSAN_OPTIONS="print_stacktrace=1")
    env.pop("LD_PRELOAD", None)
    return subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, env=env,
                          timeout=timeout)
