"""What the output alone costs: a floor under every tokenizer's time.

    python benchmarks/output_floor.py [--data ../shared/data] [--repeat 5]

The tokenizer benchmarks time calls that return Python objects: lists of
ids, or numpy arrays padded per batch of 256 (the benchmarks keep every
batch's input_ids, as a loop collecting a dataset does).  Making those
objects costs time no tokenizer can avoid, however fast it splits text.
For each dataset of the benchmarks, on one core, this script times:

  sentencepiece      SentencePieceProcessor.encode(lines) (T5's spiece.model)
  numpy output alone the arrays a T5 call with return_tensors="np" returns,
                     of the same shapes, made and filled with numpy and kept
                     as the benchmark keeps them (input_ids and
                     attention_mask per batch, input_ids kept)
  list output alone  a copy of each row's list of ids (the input_ids lists
                     a call returns), made and freed
  hfonnx             the same two calls, for reference

and prints the best ratio to sentencepiece any tokenizer could reach with
each output: sentencepiece's time over the output's time.  BERT's three
lists (input_ids, token_type_ids, attention_mask) are timed too: freeing
them is work only the thread holding the GIL can do, which bounds how much
a second thread can speed up a call returning them (Amdahl: with one-thread
time T and serial part F, two threads reach at most 2T / (T + F)).
"""
import argparse
import gc
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

import _tokenize_harness as harness  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.join(harness.REPO, "..", "shared", "data"))
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    if not os.path.isdir(os.path.join(args.data, "corpora")):
        sys.exit(f"skipped: the shared corpora are not in {args.data} (pass --data)")
    if hasattr(os, "sched_setaffinity"):   # one core, as the benchmarks' one-thread runs
        os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})
    import numpy as np
    import sentencepiece
    import hfonnx
    hfonnx.set_num_threads(1)
    t5_dir, bert_dir = os.path.join(args.data, "t5"), os.path.join(args.data, "bert-base-uncased")
    sp = sentencepiece.SentencePieceProcessor(model_file=os.path.join(t5_dir, "spiece.model"))
    t5 = hfonnx.T5Tokenizer.from_pretrained(t5_dir)
    bert = hfonnx.BertTokenizer.from_pretrained(bert_dir)
    for name, lines in harness.build_datasets(args.data).items():
        ids = t5(lines, return_attention_mask=False)["input_ids"]
        shapes = [(len(ids[i:i + 256]), max(map(len, ids[i:i + 256]))) for i in range(0, len(lines), 256)]

        def np_output():
            kept = []
            for rows, width in shapes:
                a = np.empty((rows, width), np.int64)
                a.fill(1)
                m = np.empty((rows, width), np.int64)
                m.fill(1)
                kept.append(a)
            return kept

        def t5_np():
            return [t5(lines[i:i + 256], padding=True, return_tensors="np")["input_ids"]
                    for i in range(0, len(lines), 256)]

        t_sp = harness.best_of(lambda: sp.encode(lines), args.repeat)
        t_np = harness.best_of(np_output, args.repeat)
        t_list = harness.best_of(lambda: [r[:] for r in ids], args.repeat)
        t_ours_np = harness.best_of(t5_np, args.repeat)
        t_ours_ids = harness.best_of(lambda: t5(lines, return_attention_mask=False), args.repeat)
        mb = sum(len(s.encode("utf-8")) for s in lines) / 1e6
        print(f"\n== {name}: {len(lines)} lines, {mb:.1f} MB, one core")
        print(f"  sentencepiece encode        {t_sp * 1e3:8.1f} ms")
        print(f"  numpy output alone          {t_np * 1e3:8.1f} ms   -> at most {t_sp / t_np:5.2f}x sentencepiece")
        print(f"  input_ids lists alone       {t_list * 1e3:8.1f} ms   -> at most {t_sp / t_list:5.2f}x sentencepiece")
        print(f"  hfonnx T5, numpy            {t_ours_np * 1e3:8.1f} ms   ({t_sp / t_ours_np:5.2f}x sentencepiece)")
        print(f"  hfonnx T5, input_ids lists  {t_ours_ids * 1e3:8.1f} ms   ({t_sp / t_ours_ids:5.2f}x sentencepiece)")

        # BERT's three lists: one-thread call time, and the part only the
        # GIL's thread can do (freeing the result; lists Python itself made
        # cost the same to free)
        t_call = harness.best_of(lambda: bert(lines), args.repeat)
        out = dict(bert(lines))
        copies = {k: [r[:] for r in v] for k, v in out.items()}
        del out
        gc.collect()
        t0 = time.perf_counter()
        del copies
        t_free = time.perf_counter() - t0
        print(f"  hfonnx BERT, three lists    {t_call * 1e3:8.1f} ms, of which freeing the lists "
              f"{t_free * 1e3:.1f} ms -> 2 threads at most {2 * t_call / (t_call + t_free):4.2f}x")


if __name__ == "__main__":
    main()
