"""Build the hfonnx C extension.

The ONNX and SentencePiece schemas we emit/read live as our own `.proto`
subsets under csrc/; protoc-c (Debian: protobuf-c-compiler) turns them into
C at build time, so generated code is never stale and never committed.
"""
import glob
import os
import shutil
import subprocess
import sys

import numpy
from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))
CSRC = os.path.join(HERE, "csrc")


def generate_protobuf_c():
    protoc = shutil.which("protoc-c")
    protos = sorted(glob.glob(os.path.join(CSRC, "**", "*.proto"), recursive=True))
    for proto in protos:
        folder = os.path.dirname(proto)
        stem = os.path.splitext(os.path.basename(proto))[0]
        out_c = os.path.join(folder, stem + ".pb-c.c")
        if os.path.exists(out_c) and os.path.getmtime(out_c) >= os.path.getmtime(proto):
            continue
        if protoc is None:
            sys.exit("hfonnx: protoc-c not found; install Debian's protobuf-c-compiler "
                     "(apt-get install protobuf-c-compiler libprotobuf-c-dev libutf8proc-dev)")
        subprocess.check_call([protoc, "--proto_path=" + folder, "--c_out=" + folder, proto])


generate_protobuf_c()
sources = sorted(os.path.relpath(p, HERE)
                 for p in glob.glob(os.path.join(CSRC, "**", "*.c"), recursive=True)
                 if "/tools/" not in p)

ext = Extension(
    "hfonnx._hfonnx",
    sources=sources,
    include_dirs=[CSRC, numpy.get_include()],
    libraries=["protobuf-c", "utf8proc", "pthread"],
    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    extra_compile_args=["-std=c11", "-O3", "-Wall", "-Wextra", "-fvisibility=hidden",
                        "-D_GNU_SOURCE"],
)

setup(ext_modules=[ext])
