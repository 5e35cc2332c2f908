"""Benchmark: hfonnx's BERT tokenizer against what users would pick instead.

    python benchmarks/tokenize_bert.py [--data ../shared/data] [--repeat 3] [--quick]

Data: every line of the shared corpora (botchan, wagahaiwa_nekodearu,
hf-sample_text, the 532 UDHR translations: mixed languages and scripts) and an
English-only text of >= 10 MB built from their English parts.  Model:
bert-base-uncased (tokenizer.json).

Contenders, each in its own subprocess (so RAYON_NUM_THREADS=1 really gives
the Rust libraries one thread), with 1 thread and with all threads:
  hfonnx            tok(lines) -> lists (as transformers returns), with and
                    without return_offsets_mapping; "ids-only": only the
                    input_ids lists (return_token_type_ids/attention_mask
                    False), the output of the ids-only libraries below; and
                    return_tensors="np" in batches of 256 with padding;
                    "ragged": encode_batch_ragged(lines), every line's ids
                    in one flat numpy array with row offsets (the output of
                    nanotoken's encode_batch)
  transformers      BertTokenizerFast.__call__, same calls
  tokenizers        Tokenizer.encode_batch (offsets are always computed)
  nanotoken         if importable: "ids" is its encode_batch (RaggedIds: flat
                    numpy ids and row offsets, no Python lists), "lists" its
                    encode_batch_list; "nanotoken-hf" is its drop-in wrapper
                    (Tokenizer.as_hf()) called exactly as hfonnx and
                    transformers are (lists, and numpy in batches of 256)
  flash-tokenizer, tokie, kitoken   if importable
  tokie [lists]     tokie timed with reading each Encoding's ids (its
                    encode_batch returns Encoding objects whose ids become
                    Python lists when read): the same output as hfonnx's
                    input_ids lists
Before timing, each contender's ids are compared with transformers' for every
line (hfonnx: every key, offsets included); a contender whose output differs
is reported as such and left out of the ratios.

Prints a table (MB/s of UTF-8 input by wall clock, tokens/s, MB per CPU
second, ratio to tokenizers with the same thread count, speed-up over the
same contender's 1-thread run) and writes benchmarks/results/tokenize_bert.json.
Wall-clock numbers depend on the machine and its load; nothing here is a test.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

import _tokenize_harness as harness  # noqa: E402  (beside this script)

CONTENDERS = [  # (name, mode) ; modes: "ids" = no offsets, "offsets", "np" (batches of 256, padded)
    ("tokenizers", "offsets"),
    ("hfonnx", "ids"), ("hfonnx", "ids-only"), ("hfonnx", "offsets"), ("hfonnx", "np"),
    ("hfonnx", "ragged"),
    ("transformers", "ids"), ("transformers", "offsets"), ("transformers", "np"),
    ("nanotoken", "ids"), ("nanotoken", "lists"), ("nanotoken-hf", "ids"), ("nanotoken-hf", "np"),
    ("flash-tokenizer", "ids"), ("tokie", "ids"), ("tokie", "lists"),
    ("kitoken", "ids"),
]
THIRD_PARTY = {"nanotoken", "nanotoken-hf", "flash-tokenizer", "tokie", "kitoken"}


# --- worker: one contender, one thread setting, one dataset ----------------------
def make_runner(name, mode, folder, threads):
    shared = harness.shared_runner(name, mode, folder, threads, "BertTokenizer", "BertTokenizerFast")
    if shared is not None:
        return shared
    tj = os.path.join(folder, "tokenizer.json")
    if name == "nanotoken":
        import nanotoken
        tok = nanotoken.Tokenizer(tj)
        par = threads != 1
        if mode == "lists":
            def run(lines):
                return tok.encode_batch_list(lines, parallel=par)
            return run, lambda out: out, True

        def run(lines):
            return tok.encode_batch(lines, parallel=par)
        return run, lambda out: out.to_list(), True
    if name == "nanotoken-hf":
        import nanotoken
        # its pool follows RAYON_NUM_THREADS, which the driver sets per run
        return harness.hf_style(nanotoken.Tokenizer(tj).as_hf(), mode)
    if name == "flash-tokenizer":
        import flash_tokenizer
        tok = flash_tokenizer.BertTokenizerFlash(os.path.join(folder, "vocab.txt"), do_lower_case=True,
                                                 model_max_length=-1)
        par = threads != 1

        def run(lines):
            return tok.tokenizer.batch_encode(lines, "longest", -1, par)
        return run, lambda out: [[i for i in row if i != 0] for row in out], True
    if name == "kitoken":
        import kitoken
        tok = kitoken.Kitoken.from_tokenizers_file(tj)

        def run(lines):
            return tok.encode_all(lines, True)
        return run, lambda out: out, False  # no [CLS]/[SEP]: compared without special tokens
    raise ValueError(name)


# --- driver ----------------------------------------------------------------------------
def main():
    args = harness.parse_args(__doc__, os.path.join(HERE, "results", "tokenize_bert.json"))
    if args.worker_data:
        return harness.worker(args, make_runner)
    import transformers
    folder = os.path.join(args.data, "bert-base-uncased")
    if not os.path.isdir(folder):
        sys.exit(f"data folder {args.data} not found (pass --data)")
    ref_tok = transformers.BertTokenizerFast.from_pretrained(folder)
    harness.drive(args, __file__, "bert-base-uncased", folder, ref_tok, CONTENDERS,
                  bases=("tokenizers",), third_party=THIRD_PARTY)


if __name__ == "__main__":
    main()
