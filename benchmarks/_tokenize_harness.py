"""What the tokenizer benchmarks share: the datasets, the worker that times
one contender in its own process, the driver that runs every contender with
1 thread and with all threads, and the table.

A benchmark script supplies the reference tokenizer (transformers' fast one),
its contenders and a `make_runner(name, mode, folder, threads)` returning
`(run, to_ids, with_specials)`: `run(lines)` tokenizes, `to_ids(out)` turns
its result into lists of ids, `with_specials` says whether those ids include
the special tokens.
"""
import argparse
import gc
import glob
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def best_of(f, repeat):
    """The best wall time of `repeat` calls of f after one untimed call,
    each after a collector pass."""
    f()
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t0)
    return best


def read_lines(path):
    with open(path, encoding="utf-8", newline="") as f:
        return f.read().split("\n")


def build_datasets(data):
    """Every line of the shared corpora, and >= 10 MB of their English lines."""
    c = os.path.join(data, "corpora")
    corpora = []
    for f in ["botchan.txt", "wagahaiwa_nekodearu.txt", "hf-sample_text.txt"]:
        corpora += read_lines(os.path.join(c, f))
    for f in sorted(glob.glob(os.path.join(c, "udhr", "*.txt"))):
        corpora += read_lines(f)
    english_src = (read_lines(os.path.join(c, "botchan.txt")) + read_lines(os.path.join(c, "hf-sample_text.txt"))
                   + read_lines(os.path.join(c, "udhr", "eng.txt")))
    english_src = [line.strip("\ufeff\r") for line in english_src if line.strip()]
    english, size = [], 0
    while size < 10_000_000:
        for line in english_src:
            english.append(line)
            size += len(line.encode("utf-8")) + 1
    return {"corpora (all lines)": corpora, "english >= 10 MB": english}


# contenders called the transformers way, whose every key is checked
HF_STYLE = {"hfonnx", "transformers", "nanotoken-hf"}


def hf_style(tok, mode):
    """A runner for tokenizers called the transformers way (hfonnx, transformers)."""
    if mode == "np":
        def run(lines):
            return [tok(lines[i:i + 256], padding=True, return_tensors="np")["input_ids"]
                    for i in range(0, len(lines), 256)]

        def ids(out):
            rows = []
            for a in out:
                for r in a.tolist():
                    while r and r[-1] == 0:
                        r.pop()
                    rows.append(r)
            return rows
        return run, ids, True
    kw = {"return_offsets_mapping": True} if mode == "offsets" else {}
    if mode == "ids-only":  # what ids-only libraries return: one list of ids per line
        kw = {"return_token_type_ids": False, "return_attention_mask": False}

    def run(lines):
        return tok(lines, **kw)
    return run, (lambda out: out), True


def shared_runner(name, mode, folder, threads, hfonnx_class, transformers_class):
    """The runners both benchmarks have: hfonnx and transformers (called the
    transformers way, classes named by the script), tokenizers'
    encode_batch and tokie's; None for any other contender."""
    tj = os.path.join(folder, "tokenizer.json")
    if name == "hfonnx":
        sys.path.insert(0, REPO)
        import hfonnx
        hfonnx.set_num_threads(threads)
        tok = getattr(hfonnx, hfonnx_class).from_pretrained(folder)
        if mode == "ragged":   # every line's ids in one flat array (nanotoken's encode_batch's output)
            return tok.encode_batch_ragged, (lambda out: out.to_list()), True
        return hf_style(tok, mode)
    if name == "transformers":
        import transformers
        return hf_style(getattr(transformers, transformers_class).from_pretrained(folder), mode)
    if name == "tokenizers":
        import tokenizers
        tok = tokenizers.Tokenizer.from_file(tj)
        tok.no_truncation()
        tok.no_padding()

        def run(lines):
            return tok.encode_batch(lines)
        return run, lambda out: [e.ids for e in out], True
    if name == "tokie":
        import tokie
        tok = tokie.Tokenizer.from_json(tj)
        if mode == "lists":
            # its Encoding objects' ids become Python lists only when read:
            # timed with that step, the output hfonnx's input_ids lists are
            def run(lines):
                return [e.ids for e in tok.encode_batch(lines)]
            return run, lambda out: out, True

        def run(lines):
            return tok.encode_batch(lines)
        return run, lambda out: [e.ids for e in out], True
    return None


def parse_args(doc, default_out):
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.join(REPO, "..", "shared", "data"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="only the first 20000 lines of each dataset")
    ap.add_argument("--only", default="", help="comma-separated contender names")
    ap.add_argument("--out", default=default_out)
    ap.add_argument("--worker-data")
    ap.add_argument("--name")
    ap.add_argument("--mode")
    ap.add_argument("--threads", type=int)
    return ap.parse_args()


def worker(args, make_runner):
    """One contender, one thread setting, one dataset: check, then time; prints JSON."""
    if args.threads == 1 and hasattr(os, "sched_setaffinity"):
        # one thread means one core: a library that starts helper threads
        # anyway (tokie's encode_batch used 1.7 cores when asked for one) is
        # timed on one core like the others.  The last core: on the VM the
        # first one also takes the interrupts (everything ran 10-25% slower
        # pinned there)
        os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})
    with open(args.worker_data, "rb") as f:
        job = pickle.load(f)
    lines, ref = job["lines"], job["ref"]
    res = {"name": args.name, "mode": args.mode, "threads": args.threads}
    try:
        run, to_ids, specials = make_runner(args.name, args.mode, job["folder"], args.threads)
    except Exception as e:  # not installed, or refuses the files
        res["error"] = f"{type(e).__name__}: {e}"
        print(json.dumps(res))
        return
    out = run(lines)
    if args.name in HF_STYLE and args.mode not in ("np", "ragged"):
        got = dict(out)
        expect = ref["offsets"] if args.mode == "offsets" else ref["plain"]
        if args.mode == "ids-only":
            expect = {"input_ids": expect["input_ids"]}
        same = sum(all(got[k][i] == expect[k][i] for k in expect) for i in range(len(lines)))
    else:
        got = to_ids(out)
        expect = ref["plain"]["input_ids"] if specials else ref["nospecial"]
        same = sum(list(a) == b for a, b in zip(got, expect))
        if specials and same < len(lines):  # some libraries leave the special tokens out
            same = max(same, sum(list(a) == b for a, b in zip(got, ref["nospecial"])))
    res["identical_lines"], res["lines"] = same, len(lines)
    # time a steady state: the check's output and the reference (millions of
    # objects) are dropped first, so no contender's timed calls pay for
    # fresh memory or collector passes over them
    del out, got, expect, ref, job
    gc.collect()
    best, best_cpu = float("inf"), float("inf")
    for _ in range(args.repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        run(lines)
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    res["seconds"] = best
    res["cpu_seconds"] = best_cpu  # all threads' CPU time: on a loaded machine, x1 rows are fairer by this
    print(json.dumps(res))


def drive(args, script, model_label, folder, ref_tok, contenders, bases, third_party):
    """Run every contender in its own process on every dataset; print and write JSON.

    bases: contenders the others are compared with (same thread count);
    third_party: contenders whose ratio is shown only when their output is identical."""
    import transformers
    ncores = len(os.sched_getaffinity(0))
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    results = {"machine": {"cores": ncores, "python": sys.version.split()[0],
                           "transformers": transformers.__version__},
               "command": " ".join([os.path.basename(sys.executable)] + sys.argv), "runs": []}
    tmp = tempfile.mkdtemp(prefix="hfonnx-bench-")
    for dname, lines in build_datasets(args.data).items():
        if args.quick:
            lines = lines[:20000]
        mb = sum(len(s.encode("utf-8")) for s in lines) / 1e6
        plain = dict(ref_tok(lines))
        offs = dict(ref_tok(lines, return_offsets_mapping=True))
        nospecial = ref_tok(lines, add_special_tokens=False)["input_ids"]
        n_tokens = sum(len(r) for r in plain["input_ids"])
        job = os.path.join(tmp, "job.pkl")
        with open(job, "wb") as f:
            pickle.dump({"lines": lines, "folder": folder, "ref": {
                "plain": plain, "offsets": offs, "nospecial": nospecial}}, f)
        print(f"\n== {dname}: {len(lines)} lines, {mb:.1f} MB, {n_tokens} tokens "
              f"({model_label}), {ncores} cores, load average {os.getloadavg()[0]:.1f}")
        rows = []
        for threads in sorted({1, ncores}):
            for name, mode in contenders:
                if only and name not in only:
                    continue
                env = dict(os.environ)
                env["RAYON_NUM_THREADS"] = str(threads)
                env["OMP_NUM_THREADS"] = "1"
                env["TOKENIZERS_PARALLELISM"] = "true" if threads > 1 else "false"
                cmd = [sys.executable, os.path.abspath(script), "--worker-data", job, "--name", name,
                       "--mode", mode, "--threads", str(threads), "--repeat", str(args.repeat)]
                p = subprocess.run(cmd, capture_output=True, text=True, env=env)
                try:
                    r = json.loads(p.stdout.strip().splitlines()[-1])
                except (IndexError, json.JSONDecodeError):
                    r = {"name": name, "mode": mode, "threads": threads,
                         "error": (p.stderr.strip().splitlines() or ["crashed"])[-1]}
                r.update(dataset=dname, mb=mb, tokens=n_tokens)
                if "seconds" in r:
                    r["mb_per_s"] = mb / r["seconds"]
                    r["tokens_per_s"] = n_tokens / r["seconds"]
                    r["mb_per_cpu_s"] = mb / r["cpu_seconds"]
                    r["identical"] = r["identical_lines"] == r["lines"]
                rows.append(r)
                results["runs"].append(r)
                _print_row(r, rows, bases, third_party)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=1)
    print(f"\nwrote {args.out}")


def _print_row(r, rows, bases, third_party):
    label = f"{r['name']} [{r['mode']}] x{r['threads']}"
    if "error" in r:
        print(f"  {label:38s} not run: {r['error'][:90]}")
        return
    ratios = []
    for base_name in bases:
        base = next((x for x in rows if x["name"] == base_name and x["threads"] == r["threads"]
                     and "seconds" in x), None)
        if base is None:
            continue
        r[f"ratio_{base_name}"] = r["mb_per_s"] / base["mb_per_s"]
        if base is not r and (r.get("identical") or r["name"] not in third_party):
            ratios.append(f"{r['mb_per_s'] / base['mb_per_s']:6.2f}x {base_name[:10]}")
    h1 = next((x for x in rows if x["name"] == r["name"] and x["mode"] == r["mode"] and x["threads"] == 1), None)
    scale = f"  {h1['seconds'] / r['seconds']:.2f}x its 1 thread" if h1 and r["threads"] > 1 else ""
    same = "identical" if r["identical"] else f"DIFFERS ({r['identical_lines']}/{r['lines']} lines same)"
    print(f"  {label:34s} {r['mb_per_s']:7.2f} MB/s {r['tokens_per_s'] / 1e6:6.2f} Mtok/s "
          f"({r['mb_per_cpu_s']:6.2f} MB/cpu-s)  {'  '.join(ratios):36s}{scale}  {same}")
