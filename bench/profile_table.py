#!/usr/bin/env python3
"""Sums a `googlenet bench --profile FILE` trace per operation.

    build/googlenet bench --no-data --threads 2 --iterations 10 --profile /tmp/step.json
    python3 bench/profile_table.py /tmp/step.json --steps 10

The trace is LibTorch's legacy autograd profiler's Chrome format: one complete ("X")
event per operator call, nested on each thread. Exclusive time (the call's duration less
its children's) says where a step's time goes: a custom autograd function's exclusive
time is the oneDNN work inside it, which the profiler does not see. Standard library only.
"""
import argparse
import collections
import json
import sys


def exclusive_times(events):
    """Per name: (exclusive microseconds, inclusive microseconds, calls)."""
    exclusive = collections.Counter()
    inclusive = collections.Counter()
    calls = collections.Counter()
    by_thread = collections.defaultdict(list)
    for event in events:
        if event.get("ph") == "X" and "dur" in event:
            by_thread[event.get("tid")].append(event)
    for thread_events in by_thread.values():
        # Parents start no later and last no shorter than their children.
        thread_events.sort(key=lambda e: (float(e["ts"]), -float(e["dur"])))
        open_calls = []  # (end, name) of the calls enclosing the current one
        for event in thread_events:
            start, duration = float(event["ts"]), float(event["dur"])
            while open_calls and open_calls[-1][0] <= start:
                open_calls.pop()
            name = event["name"]
            exclusive[name] += duration
            inclusive[name] += duration
            calls[name] += 1
            if open_calls:
                exclusive[open_calls[-1][1]] -= duration
            open_calls.append((start + duration, name))
    return exclusive, inclusive, calls


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("trace", help="the file `googlenet bench --profile` wrote")
    parser.add_argument("--steps", type=int, default=10,
                        help="training steps in the trace (bench's --iterations)")
    parser.add_argument("--top", type=int, default=25, help="rows to print")
    args = parser.parse_args()
    try:
        with open(args.trace) as f:
            trace = json.load(f)
    except (OSError, json.JSONDecodeError) as error:
        sys.exit(f"{args.trace}: cannot read a Chrome trace ({error}); write one with "
                 "`googlenet bench --profile FILE`")
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    exclusive, inclusive, calls = exclusive_times(events)
    if not calls:
        sys.exit(f"{args.trace}: no operator calls in the trace")
    total = sum(exclusive.values())
    print(f"{args.trace}: {total / 1000 / args.steps:.1f} ms of operators per step "
          f"({args.steps} steps)")
    print(f"{'operation':<44} {'ms/step':>8} {'share':>6} {'calls/step':>10} {'incl. ms':>9}")
    for name, micros in exclusive.most_common(args.top):
        print(f"{name[:44]:<44} {micros / 1000 / args.steps:8.2f} {micros / total:6.1%} "
              f"{calls[name] / args.steps:10.1f} {inclusive[name] / 1000 / args.steps:9.2f}")


if __name__ == "__main__":
    main()
