"""Benchmark: hfonnx's T5 tokenizer against what users would pick instead.

    python benchmarks/tokenize_t5.py [--data ../shared/data] [--repeat 3] [--quick]

Data: every line of the shared corpora (botchan, wagahaiwa_nekodearu,
hf-sample_text, the 532 UDHR translations: mixed languages and scripts) and an
English-only text of >= 10 MB built from their English parts.  Model: T5
(t5-small/base/large spiece.model and tokenizer.json, whose truncation and
padding sections, max_length 32, are removed for every contender).

Contenders, each in its own subprocess (so RAYON_NUM_THREADS=1 really gives
the Rust libraries one thread), with 1 thread and with all threads:
  hfonnx            tok(lines) -> lists (as transformers returns), with and
                    without return_offsets_mapping; "ids-only": only the
                    input_ids lists (return_attention_mask=False), the
                    output of the ids-only libraries below; and
                    return_tensors="np" in batches of 256 with padding;
                    "ragged": encode_batch_ragged(lines), every line's ids
                    in one flat numpy array with row offsets
  transformers      T5TokenizerFast.__call__, same calls
  tokenizers        Tokenizer.encode_batch (offsets are always computed)
  sentencepiece     SentencePieceProcessor.encode(lines, num_threads=N) (+ </s>)
  gigatoken         its Hugging Face compatibility mode (Tokenizer(hf).as_hf())
  tokie, kitoken    if importable
  tokie [lists]     tokie timed with reading each Encoding's ids (its
                    encode_batch returns Encoding objects whose ids become
                    Python lists when read): the same output as hfonnx's
                    input_ids lists
Before timing, each contender's ids are compared with transformers' for every
line (hfonnx: every key, offsets included); a third-party contender whose
output differs is reported as such and left out of the ratios.  SentencePiece
itself differs from transformers on a few lines (see the parity tests); its
ratio is shown anyway, with its line count.

Prints a table (MB/s of UTF-8 input, tokens/s, ratios to tokenizers and to
sentencepiece with the same thread count) and writes
benchmarks/results/tokenize_t5.json.
Wall-clock numbers depend on the machine and its load; nothing here is a test.
"""
import json
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

import _tokenize_harness as harness  # noqa: E402  (beside this script)

CONTENDERS = [  # (name, mode) ; modes: "ids" = no offsets, "offsets", "np" (batches of 256, padded)
    ("tokenizers", "offsets"), ("sentencepiece", "ids"),
    ("hfonnx", "ids"), ("hfonnx", "ids-only"), ("hfonnx", "offsets"), ("hfonnx", "np"),
    ("hfonnx", "ragged"),
    ("transformers", "ids"), ("transformers", "offsets"),
    ("gigatoken", "ids"), ("tokie", "ids"), ("tokie", "lists"), ("kitoken", "ids"),
]
THIRD_PARTY = {"gigatoken", "tokie", "kitoken"}


# --- worker: one contender, one thread setting, one dataset ----------------------
def make_runner(name, mode, folder, threads):
    shared = harness.shared_runner(name, mode, folder, threads, "T5Tokenizer", "T5TokenizerFast")
    if shared is not None:
        return shared
    tj = os.path.join(folder, "tokenizer.json")
    if name == "sentencepiece":
        import sentencepiece
        sp = sentencepiece.SentencePieceProcessor(model_file=os.path.join(folder, "spiece.model"))

        def run(lines):
            return sp.encode(lines, num_threads=threads)
        return run, lambda out: out, False  # no </s>: compared without special tokens
    if name == "gigatoken":
        import gigatoken
        import transformers
        tok = gigatoken.Tokenizer(transformers.T5TokenizerFast.from_pretrained(folder)).as_hf()

        def run(lines):
            return tok(lines)["input_ids"]
        return run, lambda out: [list(r) for r in out], True
    if name == "kitoken":
        import kitoken
        tok = kitoken.Kitoken.from_tokenizers_file(tj)

        def run(lines):
            return tok.encode_all(lines, True)
        return run, lambda out: out, True
    raise ValueError(name)


# --- driver ----------------------------------------------------------------------------
def main():
    args = harness.parse_args(__doc__, os.path.join(HERE, "results", "tokenize_t5.json"))
    if args.worker_data:
        return harness.worker(args, make_runner)
    import transformers
    src = os.path.join(args.data, "t5")
    if not os.path.isdir(src):
        sys.exit(f"data folder {args.data} not found (pass --data)")
    tmp = tempfile.mkdtemp(prefix="hfonnx-bench-")
    folder = os.path.join(tmp, "t5")
    shutil.copytree(src, folder)
    with open(os.path.join(folder, "tokenizer.json"), encoding="utf-8") as f:
        spec = json.load(f)
    spec["truncation"] = spec["padding"] = None  # max_length 32 in this file: not for a benchmark
    with open(os.path.join(folder, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(spec, f, ensure_ascii=False)
    ref_tok = transformers.T5TokenizerFast.from_pretrained(folder)
    harness.drive(args, __file__, "t5", folder, ref_tok, CONTENDERS,
                  bases=("tokenizers", "sentencepiece"), third_party=THIRD_PARTY)


if __name__ == "__main__":
    main()
