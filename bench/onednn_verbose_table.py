#!/usr/bin/env python3
"""Sums the oneDNN primitive time of googlenet's training steps from ONEDNN_VERBOSE output.

Every oneDNN primitive the training engine and LibTorch run prints one `exec` line with
its time when ONEDNN_VERBOSE=1; this table adds them up per primitive kind and kernel, per
training step. Set against the step time `googlenet bench` reports, it splits a step
into oneDNN's part (convolutions, GEMMs, reorders) and everything else (LibTorch's pooling,
ReLU masks, gradient sums, fills, the optimizer, autograd). Verbose output itself slows
the run by a few percent.

  ONEDNN_VERBOSE=1 build/googlenet bench --no-data --threads 2 --repeats 1 \
      --iterations 10 --warmup 3 --eval-batch-size 10 > /tmp/verbose.log 2>&1
  bench/onednn_verbose_table.py /tmp/verbose.log [--skip 4]

Training steps are counted by the stem's forward-training convolution (the one whose
source is plain NCHW, `abcd`, f32 or bf16: once a step); the evaluation that follows
(forward_inference) is left out. --skip drops the
first steps (the engine's layout pass and the warm-up, which include JIT compilation).
"""
import argparse
import collections
import re
import sys


def is_stem_forward(fields):
    """The first convolution's forward: its source (the images) stays NCHW."""
    return (fields[3] == "convolution" and fields[5] == "forward_training"
            and re.search(r"src_(f32|bf16)::blocked:abcd:", fields[6]) is not None)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("log", help="output of a googlenet run with ONEDNN_VERBOSE=1")
    parser.add_argument("--skip", type=int, default=4, help="steps to leave out at the start")
    args = parser.parse_args()

    executions = []
    with open(args.log) as log:
        for line in log:
            if not line.startswith("onednn_verbose,exec,"):
                continue
            fields = line.rstrip("\n").split(",")
            if fields[5] == "forward_inference":
                break  # the evaluation phase starts
            executions.append(fields)

    start, stems = None, 0
    for index, fields in enumerate(executions):
        if is_stem_forward(fields):
            stems += 1
            if stems == args.skip + 1:
                start = index
    steps = stems - args.skip
    if start is None or steps < 1:
        sys.exit(f"{args.log}: fewer than {args.skip + 1} training steps of oneDNN output "
                 "(was ONEDNN_VERBOSE=1 set, and the training engine onednn?)")

    totals = collections.defaultdict(lambda: [0, 0.0])
    for fields in executions[start:]:
        key = (fields[3], fields[4], fields[5])
        totals[key][0] += 1
        totals[key][1] += float(fields[-1])
    print(f"{args.log}: {steps:g} training steps")
    print(f"{'primitive':<14}{'kernel':<22}{'pass':<18}{'calls/step':>10}{'ms/step':>9}")
    overall = 0.0
    for (kind, kernel, prop), (calls, ms) in sorted(totals.items(), key=lambda kv: -kv[1][1]):
        print(f"{kind:<14}{kernel:<22}{prop:<18}{calls / steps:>10.1f}{ms / steps:>9.2f}")
        overall += ms / steps
    print(f"{'oneDNN total':<54}{overall:>9.2f}")


if __name__ == "__main__":
    main()
