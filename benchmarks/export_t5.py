"""T5 (t5-small's shape) exported with hfonnx vs the seed article's
torch.onnx.export recipe, then greedy generation in onnxruntime with each.

    python benchmarks/export_t5.py [--layers 6] [--new-tokens 32] [--runs 5]

A random-init T5ForConditionalGeneration (d_model 512, 8 heads, d_ff 2048,
vocab 32128, 6 + 6 layers) is saved as safetensors in a temporary folder.
Each exporter runs in its own subprocess (wall time of the export call; peak
resident memory of the child, VmHWM, the memory-mapped weights included):
  hfonnx       hfonnx.export(folder, task="text2text-generation"): encoder,
               decoder, decoder with past, merged decoder
  torchscript  the seed's recipe: one traced graph of the whole model over
               input_ids, attention_mask, decoder_input_ids,
               decoder_attention_mask (torch.onnx.export, dynamo=False)
Generation: 1 source of 64 tokens, --new-tokens greedy steps.  hfonnx runs
the encoder once and the cached decoder per step; the traced graph has no
caches, so each step reruns the whole model on the growing prefix, as a user
of that file must.  PyTorch's own generate() is the third column.  Tokens are
checked to be the same.  Results: table on stdout, benchmarks/results/export_t5.json.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SRC_LEN = 64


def export_child(kind, src, out):
    os.environ["HF_HUB_OFFLINE"] = "1"
    if kind == "hfonnx":
        import hfonnx
        t0 = time.perf_counter()
        hfonnx.export(src, out, task="text2text-generation")
        wall = time.perf_counter() - t0
    else:
        import torch
        import transformers
        model = transformers.T5ForConditionalGeneration.from_pretrained(src).eval()
        ids = torch.ones(2, 8, dtype=torch.int64)
        dec = torch.ones(2, 4, dtype=torch.int64)
        names = ["input_ids", "attention_mask", "decoder_input_ids", "decoder_attention_mask"]
        axes = {"input_ids": {0: "batch_size", 1: "encoder_sequence_length"},
                "attention_mask": {0: "batch_size", 1: "encoder_sequence_length"},
                "decoder_input_ids": {0: "batch_size", 1: "decoder_sequence_length"},
                "decoder_attention_mask": {0: "batch_size", 1: "decoder_sequence_length"},
                "logits": {0: "batch_size", 1: "decoder_sequence_length"}}

        class LogitsOnly(torch.nn.Module):
            def __init__(self, m):
                super().__init__()
                self.m = m

            def forward(self, input_ids, attention_mask, decoder_input_ids, decoder_attention_mask):
                return self.m(input_ids=input_ids, attention_mask=attention_mask,
                              decoder_input_ids=decoder_input_ids,
                              decoder_attention_mask=decoder_attention_mask, use_cache=False).logits

        os.makedirs(out, exist_ok=True)
        t0 = time.perf_counter()
        with torch.no_grad():
            torch.onnx.export(LogitsOnly(model), (ids, torch.ones_like(ids), dec, torch.ones_like(dec)),
                              os.path.join(out, "t5_model.onnx"), input_names=names,
                              output_names=["logits"], dynamic_axes=axes, opset_version=17, dynamo=False)
        wall = time.perf_counter() - t0
    print("RESULT", json.dumps({"wall_s": wall, "peak_rss_mb": _peak_rss_mb()}), flush=True)


def _peak_rss_mb():
    """VmHWM: this process's own peak.  (ru_maxrss would carry the parent's
    peak over fork and exec on Linux.)"""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _sessions(paths):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = os.cpu_count() or 1
    return [ort.InferenceSession(p, so, providers=["CPUExecutionProvider"]) for p in paths]


def generate_hfonnx(folder, ids, mask, steps):
    import numpy as np
    enc, dec, past = _sessions([os.path.join(folder, f) for f in
                                ("encoder_model.onnx", "decoder_model.onnx", "decoder_with_past_model.onnx")])
    names = [o.name for o in dec.get_outputs()]
    past_names = [o.name for o in past.get_outputs()]

    def run():
        hidden = enc.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        tokens = np.zeros((ids.shape[0], 1), np.int64)
        out = dec.run(None, {"input_ids": tokens, "encoder_attention_mask": mask, "encoder_hidden_states": hidden})
        cache = {n.replace("present", "past_key_values"): v for n, v in zip(names[1:], out[1:])}
        result = []
        for _ in range(steps):
            nxt = out[0][:, -1].argmax(-1)[:, None].astype(np.int64)
            result.append(nxt)
            out = past.run(None, {"input_ids": nxt, "encoder_attention_mask": mask, **cache})
            cache.update({n.replace("present", "past_key_values"): v for n, v in zip(past_names[1:], out[1:])})
        return np.concatenate(result, 1)
    return run


def generate_traced(folder, ids, mask, steps):
    import numpy as np
    sess, = _sessions([os.path.join(folder, "t5_model.onnx")])

    def run():
        tokens = np.zeros((ids.shape[0], 1), np.int64)
        for _ in range(steps):
            logits = sess.run(None, {"input_ids": ids, "attention_mask": mask, "decoder_input_ids": tokens,
                                     "decoder_attention_mask": np.ones_like(tokens)})[0]
            tokens = np.concatenate([tokens, logits[:, -1].argmax(-1)[:, None].astype(np.int64)], 1)
        return tokens[:, 1:]
    return run


def generate_torch(folder, ids, mask, steps):
    import torch
    import transformers
    torch.set_num_threads(os.cpu_count() or 1)
    model = transformers.T5ForConditionalGeneration.from_pretrained(folder).eval()
    t_ids, t_mask = torch.from_numpy(ids), torch.from_numpy(mask)

    def run():
        with torch.no_grad():
            out = model.generate(input_ids=t_ids, attention_mask=t_mask, max_new_tokens=steps,
                                 min_new_tokens=steps, do_sample=False, num_beams=1)
        return out[:, 1:].numpy()
    return run


def time_it(run, runs):
    import numpy as np
    tokens = run()                      # warm-up, and the tokens to compare
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return tokens, 1000 * float(np.median(times))


def run_export(kind, src, out):
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    p = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", kind, src, out],
                       env=env, capture_output=True, text=True)
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    return {"error": (p.stderr.strip().splitlines() or ["no output"])[-1][:300]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--new-tokens", type=int, default=32)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", default=os.path.join(HERE, "results", "export_t5.json"))
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return export_child(*args.child)

    import numpy as np
    import torch
    import transformers
    with tempfile.TemporaryDirectory(prefix="hfonnx-bench-t5-") as tmp:
        src = os.path.join(tmp, "t5")
        torch.manual_seed(0)
        cfg = transformers.T5Config(num_layers=args.layers, num_decoder_layers=args.layers,
                                    decoder_start_token_id=0, pad_token_id=0, eos_token_id=1)
        transformers.T5ForConditionalGeneration(cfg).eval().save_pretrained(src)
        weights_mb = os.path.getsize(os.path.join(src, "model.safetensors")) / 1e6
        results = {"config": {"layers": args.layers, "d_model": cfg.d_model, "vocab": cfg.vocab_size,
                              "weights_mb": weights_mb, "new_tokens": args.new_tokens,
                              "source_tokens": SRC_LEN},
                   "versions": {"torch": torch.__version__, "transformers": transformers.__version__}}
        exports = {kind: run_export(kind, src, os.path.join(tmp, kind)) for kind in ("hfonnx", "torchscript")}
        results["export"] = exports

        rng = np.random.default_rng(0)
        ids = rng.integers(2, cfg.vocab_size, (1, SRC_LEN)).astype(np.int64)
        mask = np.ones_like(ids)
        gens = {}
        runners = {"hfonnx": lambda: generate_hfonnx(os.path.join(tmp, "hfonnx"), ids, mask, args.new_tokens),
                   "torchscript": lambda: generate_traced(os.path.join(tmp, "torchscript"), ids, mask,
                                                          args.new_tokens),
                   "pytorch": lambda: generate_torch(src, ids, mask, args.new_tokens)}
        tokens = {}
        for kind, make in runners.items():
            if kind in exports and "error" in exports[kind]:
                continue
            tokens[kind], ms = time_it(make(), args.runs)
            gens[kind] = {"ms": ms}
        for kind in gens:
            gens[kind]["same_tokens_as_pytorch"] = bool(np.array_equal(tokens[kind], tokens.get("pytorch")))
        results["generate"] = gens

    print(f"T5 {args.layers}+{args.layers} layers, d_model {cfg.d_model}, weights {weights_mb:.0f} MB")
    print(f"{'export':<14}{'wall s':>10}{'peak RSS MB':>14}{'vs hfonnx':>11}")
    h = exports["hfonnx"].get("wall_s")
    for kind, r in exports.items():
        if "error" in r:
            print(f"{kind:<14} failed: {r['error']}")
            continue
        ratio = f"{r['wall_s'] / h:>10.1f}x" if h else ""
        print(f"{kind:<14}{r['wall_s']:>10.2f}{r['peak_rss_mb']:>14.0f}{ratio}")
    print(f"\ngreedy generation, 1 x {SRC_LEN} source tokens, {args.new_tokens} new tokens (median of {args.runs})")
    print(f"{'runtime':<14}{'ms':>10}{'vs hfonnx':>11}  same tokens as PyTorch")
    hg = gens.get("hfonnx", {}).get("ms")
    for kind, r in gens.items():
        ratio = f"{r['ms'] / hg:>10.1f}x" if hg else ""
        print(f"{kind:<14}{r['ms']:>10.1f}{ratio}  {r['same_tokens_as_pytorch']}")
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(results, f, indent=2)
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
