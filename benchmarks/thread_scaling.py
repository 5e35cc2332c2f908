"""How two threads speed up hfonnx's numpy calls, by rows per call.

    python benchmarks/thread_scaling.py [--data ../shared/data] [--repeat 5] [--processes 3]

tokenize_bert.py times return_tensors="np" in batches of 256 rows, as a
training loop calls a tokenizer.  A call's threads share its rows only: the
Python work of the call (arguments, the BatchEncoding), setting up and
freeing the batch, and starting the pool's run are the calling thread's
alone, so the fewer rows a call has, the less a second thread can give
(Amdahl: with one-thread time T and serial part F, two threads reach at most
2T / (T + F)).  For the English text of tokenize_bert.py (bert-base-uncased,
every row kept as the benchmark keeps input_ids), this prints MB/s on one
core and on two, and their ratio, for calls of 64 to 4096 rows, and the
time of a call of one one-character text (what every call costs whatever
its rows).
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

import _tokenize_harness as harness  # noqa: E402


def worker(args):
    """One setting in a fresh process (the allocator's state of an earlier
    run changes a numpy call's time by up to a third): prints its MB/s."""
    import pickle
    import hfonnx
    cores = sorted(os.sched_getaffinity(0))[-2:]
    os.sched_setaffinity(0, set(cores[-args.threads:]))   # the last core: the VM's first takes the interrupts
    hfonnx.set_num_threads(args.threads)
    with open(args.worker, "rb") as f:
        lines = pickle.load(f)
    tok = hfonnx.BertTokenizer.from_pretrained(os.path.join(args.data, "bert-base-uncased"))
    rows = args.rows
    if rows == 0:   # the fixed cost: a call of one one-character text
        def calls():
            for _ in range(1000):
                tok(["a"], padding=True, return_tensors="np")
        print(harness.best_of(calls, args.repeat) * 1e3)   # us per call
        return

    def run():
        return [tok(lines[i:i + rows], padding=True, return_tensors="np")["input_ids"]
                for i in range(0, len(lines), rows)]
    print(sum(len(s.encode("utf-8")) for s in lines) / 1e6 / harness.best_of(run, args.repeat))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.join(harness.REPO, "..", "shared", "data"))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--processes", type=int, default=3, help="fresh processes per setting (best kept)")
    ap.add_argument("--worker")
    ap.add_argument("--rows", type=int)
    ap.add_argument("--threads", type=int)
    args = ap.parse_args()
    if args.worker:
        return worker(args)
    if not os.path.isdir(os.path.join(args.data, "corpora")):
        sys.exit(f"skipped: the shared corpora are not in {args.data} (pass --data)")
    if not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2:
        sys.exit("skipped: needs two cores and sched_setaffinity")
    import pickle
    import subprocess
    import tempfile
    lines = harness.build_datasets(args.data)["english >= 10 MB"]
    mb = sum(len(s.encode("utf-8")) for s in lines) / 1e6
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "lines.pkl")
        with open(path, "wb") as f:
            pickle.dump(lines, f)

        def measure(rows, threads):
            cmd = [sys.executable, os.path.abspath(__file__), "--worker", path, "--rows", str(rows),
                   "--threads", str(threads), "--repeat", str(args.repeat), "--data", args.data]
            return float(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.split()[-1])

        print(f"== english >= 10 MB: {len(lines)} lines, {mb:.1f} MB; return_tensors='np', padding=True; "
              f"each setting the best of {args.processes} fresh processes")
        print(f"  a call of one one-character text: {measure(0, 1):.2f} us (one thread)")
        for rows in (64, 256, 1024, 4096):
            # the best of --processes fresh processes each, one and two threads
            # in turn: a process's allocator state moves a setting by up to a third
            runs = [(measure(rows, 1), measure(rows, 2)) for _ in range(args.processes)]
            one, two = max(r[0] for r in runs), max(r[1] for r in runs)
            print(f"  {rows:5d} rows a call: one thread {one:7.1f} MB/s, two {two:7.1f} MB/s "
                  f"({two / one:.2f}x)")


if __name__ == "__main__":
    main()
