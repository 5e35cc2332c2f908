"""Export BERT-base with hfonnx vs torch.onnx.export (TorchScript and the
default dynamo exporter) vs optimum; then onnxruntime latency of each graph, as written and after
onnxruntime.transformers' offline optimizer ("opt": it fuses Attention,
SkipLayerNormalization, ... where the graph's shape allows), the median of
runs taken round-robin over all graphs in one process.

    python benchmarks/export_bert.py [--layers 12] [--keep DIR] [--runs 20]

A random-init BERT-base (hidden 768, 12 layers, 12 heads, vocab 30522) is
saved as safetensors in a temporary folder.  Every exporter runs in its own
subprocess, so wall time and memory are its own:
  wall     the export call (torch: also reported with the model load); the
           median of 3 runs for the copies and hfonnx; os.sync() before each run
  peak     the child's VmHWM (peak resident set, /proc/self/status)
  +anon    peak anonymous memory above the child's level just before the
           export, sampled every 2 ms from /proc/PID/status by this process:
           the memory the export allocates itself, excluding the memory-mapped
           weights file (page cache)
The reference is copying model.safetensors (warm page cache, like the exports).
Results: a table on stdout and benchmarks/results/export_bert.json.

optimum's exporter needs transformers<4.58, which conflicts with transformers 5
in the main environment; it is run from an isolated folder when one is given:
    pip install --target /tmp/bench-env/optimum --no-deps optimum-onnx==0.1.0 \
        optimum==2.1.0 transformers==4.57.6 tokenizers==0.22.2 huggingface_hub==0.36.2
    pip install --target /tmp/bench-env/onnxscript --no-deps onnxscript onnx-ir
    python benchmarks/export_bert.py --optimum-path /tmp/bench-env/optimum \
        --onnxscript-path /tmp/bench-env/onnxscript
(torch's default exporter needs onnxscript too.)
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def _status():
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
                out[k] = int(v.split()[0]) * 1024
    return out


# ---- child side: one exporter -------------------------------------------------

def child(kind, src, out):
    os.environ["HF_HUB_OFFLINE"] = "1"
    import numpy as np
    t_load = 0.0
    if kind == "hfonnx":
        sys.path.insert(0, ROOT)
        import hfonnx
        before = _status()
        print("READY", json.dumps(before), flush=True)
        t0 = time.perf_counter()
        hfonnx.export(src, out)
        wall = time.perf_counter() - t0
    elif kind == "copy":
        before = _status()
        print("READY", json.dumps(before), flush=True)
        os.makedirs(out, exist_ok=True)
        t0 = time.perf_counter()
        shutil.copyfile(os.path.join(src, "model.safetensors"), os.path.join(out, "model.safetensors"))
        wall = time.perf_counter() - t0
    elif kind == "copy-rw":   # the same through a 1 MB user-space buffer
        before = _status()
        print("READY", json.dumps(before), flush=True)
        os.makedirs(out, exist_ok=True)
        t0 = time.perf_counter()
        with open(os.path.join(src, "model.safetensors"), "rb") as f, \
                open(os.path.join(out, "model.safetensors"), "wb") as g:
            while True:
                buf = f.read(1 << 20)
                if not buf:
                    break
                g.write(buf)
        wall = time.perf_counter() - t0
    elif kind in ("torchscript", "dynamo"):
        import torch
        import transformers
        t0 = time.perf_counter()
        model = transformers.BertModel.from_pretrained(src).eval()
        t_load = time.perf_counter() - t0
        ids = torch.ones(1, 16, dtype=torch.int64)
        args = (ids, torch.ones_like(ids), torch.zeros_like(ids))
        names = ["input_ids", "attention_mask", "token_type_ids"]
        axes = {n: {0: "batch_size", 1: "sequence_length"} for n in names}
        axes["last_hidden_state"] = {0: "batch_size", 1: "sequence_length"}

        class Wrapped(torch.nn.Module):   # last_hidden_state only, like the others
            def __init__(self, m):
                super().__init__()
                self.m = m

            def forward(self, input_ids, attention_mask, token_type_ids):
                return self.m(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

        os.makedirs(out, exist_ok=True)
        before = _status()
        print("READY", json.dumps(before), flush=True)
        t0 = time.perf_counter()
        with torch.no_grad():
            kw = dict(input_names=names, output_names=["last_hidden_state"], opset_version=17)
            if kind == "torchscript":
                torch.onnx.export(Wrapped(model), args, os.path.join(out, "model.onnx"),
                                  dynamic_axes=axes, dynamo=False, **kw)
            else:
                torch.onnx.export(Wrapped(model), args, os.path.join(out, "model.onnx"),
                                  dynamic_axes=axes, **kw)
        wall = time.perf_counter() - t0
    elif kind == "optimum":
        from optimum.exporters.onnx import main_export
        before = _status()
        print("READY", json.dumps(before), flush=True)
        t0 = time.perf_counter()
        main_export(src, out, task="feature-extraction", opset=17, do_validation=False)
        wall = time.perf_counter() - t0
    else:
        raise SystemExit(f"unknown exporter {kind}")
    after = _status()
    import resource
    print("RESULT", json.dumps({"wall": wall, "load": t_load, "before": before, "after": after,
                                "ru_maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                                "numpy": np.__version__}), flush=True)


def latency_child(paths, runs):
    """All graphs in one process, timed round-robin (one run of each in turn)
    so that background load on the machine hits every graph alike."""
    import numpy as np
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = os.cpu_count() or 1
    sessions, res = {}, {}
    for kind, path in paths.items():
        t0 = time.perf_counter()
        sessions[kind] = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        res[kind] = {"session_s": time.perf_counter() - t0}
    rng = np.random.default_rng(0)
    for b, s in ((1, 128), (8, 128)):
        feeds = {"input_ids": rng.integers(0, 30522, (b, s)).astype(np.int64),
                 "attention_mask": np.ones((b, s), np.int64),
                 "token_type_ids": np.zeros((b, s), np.int64)}
        times = {k: [] for k in sessions}
        for k, sess in sessions.items():
            for _ in range(2):
                sess.run(None, feeds)
        for _ in range(runs if b == 1 else max(3, runs // 3)):
            for k, sess in sessions.items():
                t0 = time.perf_counter()
                sess.run(None, feeds)
                times[k].append(time.perf_counter() - t0)
        for k, t in times.items():
            res[k][f"{b}x{s}_ms"] = 1000 * float(np.median(t))
            res[k][f"{b}x{s}_min_ms"] = 1000 * float(np.min(t))
    print("RESULT", json.dumps(res), flush=True)


def optimize_child(src, dst):
    """onnxruntime's offline transformer optimizer (fuses Attention,
    SkipLayerNormalization, BiasGelu, ... where the graph's shape allows)."""
    import collections
    import logging
    logging.disable(logging.WARNING)
    from onnxruntime.transformers.optimizer import optimize_model
    m = optimize_model(src, model_type="bert", num_heads=12, hidden_size=768)
    m.save_model_to_file(dst)
    ops = collections.Counter(n.op_type for n in m.model.graph.node)
    print("RESULT", json.dumps({"nodes": sum(ops.values()), "ops": dict(ops)}), flush=True)


# ---- parent side ----------------------------------------------------------------

def _proc_status(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "RssAnon", "RssFile"):
                    out[k] = int(v.split()[0]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return out


def run_child(args, env_extra=None, timeout=3600):
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    if env_extra:
        env["PYTHONPATH"] = os.pathsep.join([*env_extra, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    p = subprocess.Popen([sys.executable, os.path.abspath(__file__), *args], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines, err_lines = [], []
    readers = [threading.Thread(target=lambda: lines.extend(p.stdout), daemon=True),
               threading.Thread(target=lambda: err_lines.extend(p.stderr), daemon=True)]
    for t in readers:
        t.start()
    peak_anon = peak_rss = 0
    t_start = time.time()
    while p.poll() is None:
        if any(line.startswith("READY") for line in lines):
            st = _proc_status(p.pid)
            peak_anon = max(peak_anon, st.get("RssAnon", 0))
            peak_rss = max(peak_rss, st.get("VmRSS", 0))
        if time.time() - t_start > timeout:
            p.kill()
            break
        time.sleep(0.002)
    p.wait()
    for t in readers:
        t.join()
    buf = "".join(lines)
    err = "".join(err_lines)
    result = None
    for line in buf.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[7:])
    if result is None:
        tail = err.strip().splitlines()[-3:] if err else ["no output"]
        return {"error": " | ".join(tail)[:500]}
    if "before" in result:
        result["peak_anon_above_start"] = max(0, peak_anon - result["before"].get("RssAnon", 0))
        result["peak_rss_sampled"] = peak_rss
    return result


def make_model(folder, layers):
    import torch
    import transformers
    torch.manual_seed(0)
    cfg = transformers.BertConfig(hidden_size=768, num_hidden_layers=layers, num_attention_heads=12,
                                  intermediate_size=3072, vocab_size=30522)
    transformers.BertModel(cfg).eval().save_pretrained(folder, safe_serialization=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--runs", type=int, default=20, help="timed onnxruntime runs at 1x128")
    ap.add_argument("--keep", default=None, help="work folder to keep (default: a temporary one)")
    ap.add_argument("--optimum-path", default="/tmp/bench-env/optimum")
    ap.add_argument("--onnxscript-path", default="/tmp/bench-env/onnxscript")
    ap.add_argument("--no-ort-optimizer", dest="ort_optimizer", action="store_false",
                    help="skip timing the graphs after onnxruntime.transformers' optimizer")
    ap.add_argument("--only", default=None, help="comma-separated exporters to run")
    ap.add_argument("--json", default=os.path.join(HERE, "results", "export_bert.json"))
    a = ap.parse_args()

    work = a.keep or tempfile.mkdtemp(prefix="hfonnx-bench-")
    os.makedirs(work, exist_ok=True)
    src = os.path.join(work, "bert-base-random")
    t0 = time.perf_counter()
    if not os.path.exists(os.path.join(src, "model.safetensors")):
        make_model(src, a.layers)
    weights_bytes = os.path.getsize(os.path.join(src, "model.safetensors"))
    print(f"model: BERT-base random init, {a.layers} layers, weights {weights_bytes / 1e6:.0f} MB "
          f"(made in {time.perf_counter() - t0:.1f} s) in {src}", flush=True)

    osc = [a.onnxscript_path] if os.path.isdir(a.onnxscript_path) else None
    runs = [("copy", "copy weights file (shutil.copyfile)", None),
            ("copy-rw", "copy weights file (read/write 1 MB)", None),
            ("hfonnx", "hfonnx.export", None),
            ("torchscript", "torch.onnx.export dynamo=False", None),
            ("dynamo", "torch.onnx.export (default, dynamo)", osc),
            ("optimum", "optimum main_export",
             [a.optimum_path] + (osc or []) if os.path.isdir(a.optimum_path) else None)]
    if a.only:
        keep = set(a.only.split(","))
        runs = [r for r in runs if r[0] in keep]
    results = {"weights_bytes": weights_bytes, "layers": a.layers, "cpu_count": os.cpu_count(),
               "exporters": {}}
    models = {}
    for kind, label, path in runs:
        out = os.path.join(work, "out-" + kind)
        shutil.rmtree(out, ignore_errors=True)
        if kind == "optimum" and path is None:
            r = {"error": f"optimum not installed at {a.optimum_path} (see the docstring)"}
        else:
            print(f"running {label} ...", flush=True)
            # the fast ones are repeated (median wall time); each run starts
            # with no dirty pages of the previous one still being written back
            tries = []
            for _ in range(3 if kind in ("copy", "copy-rw", "hfonnx") else 1):
                shutil.rmtree(out, ignore_errors=True)
                os.sync()
                tries.append(run_child(["--child", kind, src, out], env_extra=path))
                if "error" in tries[-1]:
                    break
            ok = [t for t in tries if "error" not in t]
            r = sorted(ok, key=lambda t: t["wall"])[len(ok) // 2] if ok else tries[-1]
            if len(ok) > 1:
                r["wall_runs"] = [t["wall"] for t in ok]
        r["label"] = label
        model = os.path.join(out, "model.onnx")
        if "error" not in r and not kind.startswith("copy") and os.path.exists(model):
            r["onnx_bytes"] = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out)
                                  if f.startswith("model.onnx"))
            models[kind] = model
        results["exporters"][kind] = r
        if "error" in r:
            print(f"  {label}: FAILED: {r['error']}", flush=True)

    ex = results["exporters"]
    if models and a.ort_optimizer:
        for kind, model in list(models.items()):
            print(f"onnxruntime.transformers optimizer on {kind} ...", flush=True)
            dst = model[:-len(".onnx")] + "_ortopt.onnx"
            opt = run_child(["--optimize", model, dst])
            ex[kind]["ort_optimizer"] = opt
            if "error" not in opt:
                models[kind + "+ortopt"] = dst
    if models:
        print("timing onnxruntime on every graph (round-robin) ...", flush=True)
        lat = run_child(["--latency", json.dumps(models), str(a.runs)])
        for kind in models:
            base, _, opt = kind.partition("+")
            ex[base]["latency_ortopt" if opt else "latency"] = lat.get(
                kind, {"error": lat.get("error", "?")})

    def wall(k):
        return ex.get(k, {}).get("wall")
    summary = {}
    if wall("hfonnx"):
        for k in ("torchscript", "dynamo", "optimum", "copy", "copy-rw"):
            if wall(k):
                summary[f"{k}_over_hfonnx"] = wall(k) / wall("hfonnx")
        summary["hfonnx_over_copy"] = wall("hfonnx") / wall("copy") if wall("copy") else None
        summary["hfonnx_over_copy_rw"] = wall("hfonnx") / wall("copy-rw") if wall("copy-rw") else None
        summary["hfonnx_peak_anon_over_weights"] = ex["hfonnx"]["peak_anon_above_start"] / weights_bytes
        lat = ex["hfonnx"].get("latency", {})
        tl = ex.get("torchscript", {}).get("latency", {})
        if lat.get("1x128_ms") and tl.get("1x128_ms"):
            summary["latency_hfonnx_over_torchscript_1x128"] = lat["1x128_ms"] / tl["1x128_ms"]
            summary["latency_hfonnx_over_torchscript_8x128"] = lat["8x128_ms"] / tl["8x128_ms"]
        ol = ex["hfonnx"].get("latency_ortopt", {})
        tol = ex.get("torchscript", {}).get("latency_ortopt", {})
        if ol.get("1x128_ms") and tol.get("1x128_ms"):
            summary["ortopt_latency_hfonnx_over_torchscript_1x128"] = ol["1x128_ms"] / tol["1x128_ms"]
            summary["ortopt_latency_hfonnx_over_torchscript_8x128"] = ol["8x128_ms"] / tol["8x128_ms"]
    results["summary"] = summary

    print()
    print(f"{'exporter':<38} {'wall s':>8} {'x hfonnx':>8} {'peak MB':>8} {'+anon MB':>9} "
          f"{'ORT 1x128':>10} {'ORT 8x128':>10} {'opt 1x128':>10} {'opt 8x128':>10}")
    for kind, r in ex.items():
        if "error" in r:
            print(f"{r['label']:<38} failed: {r['error'][:80]}")
            continue
        lat = r.get("latency", {})
        olat = r.get("latency_ortopt", {})
        ratio = r["wall"] / wall("hfonnx") if wall("hfonnx") else float("nan")
        load = f" (+{r['load']:.1f} load)" if r.get("load") else ""
        print(f"{r['label']:<38} {r['wall']:8.2f} {ratio:8.1f} {r['after']['VmHWM'] / 1e6:8.0f} "
              f"{r['peak_anon_above_start'] / 1e6:9.0f} "
              f"{lat.get('1x128_ms', float('nan')):8.1f}ms {lat.get('8x128_ms', float('nan')):8.1f}ms"
              f" {olat.get('1x128_ms', float('nan')):8.1f}ms {olat.get('8x128_ms', float('nan')):8.1f}ms"
              f"{load}")
    print()
    for k, v in summary.items():
        if v is not None:
            print(f"  {k:<42} {v:8.3f}")
    os.makedirs(os.path.dirname(a.json), exist_ok=True)
    with open(a.json, "w") as f:
        json.dump(results, f, indent=2, sort_keys=True)
    print(f"\nwrote {a.json}")
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:5])
    elif len(sys.argv) > 1 and sys.argv[1] == "--optimize":
        optimize_child(sys.argv[2], sys.argv[3])
    elif len(sys.argv) > 1 and sys.argv[1] == "--latency":
        latency_child(json.loads(sys.argv[2]), int(sys.argv[3]))
    else:
        main()
