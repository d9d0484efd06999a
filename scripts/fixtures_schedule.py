#!/usr/bin/python3
"""Golden one-cycle schedules from PyTorch's OneCycleLR, for tests/train/test_schedule.cpp.

Builds the optimizer exactly as the reference does -- SGD(params, lr=0.1,
weight_decay=5e-4) with no momentum argument -- attaches OneCycleLR and records the
param group's lr and momentum before every step, until PyTorch refuses to step.

Note what the reference really trains with: SGD's momentum defaults to 0, but
OneCycleLR(cycle_momentum=True) overwrites group['momentum'] with 0.95 at
construction and then cycles it 0.95 -> 0.85 -> 0.95, so SGD keeps a momentum
buffer after all.

Writes tests/fixtures/schedule/<name>.f64 (little-endian float64 pairs lr, momentum
per step) and configs.json (options, steps recorded, where and how PyTorch failed).
Run with Debian's python3-torch: /usr/bin/python3 scripts/fixtures_schedule.py
"""
import json
import pathlib
import sys
import warnings

import numpy as np
import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from reference import GoogLeNet  # noqa: E402

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "schedule"

REFERENCE = dict(max_lr=0.1, pct_start=0.3, anneal_strategy="cos", cycle_momentum=True,
                 base_momentum=0.85, max_momentum=0.95, div_factor=25.0,
                 final_div_factor=1e4, three_phase=False)
STEPS_PER_EPOCH = 391  # len(DataLoader(50000 images, batch_size=128))

CONFIGS = {
    # The reference declares 150 epochs (but stops after 60), so its schedule never
    # finishes; 60 is the schedule the run would need; 3 is a quick smoke run.
    "reference_150x391": dict(REFERENCE, total_steps=150 * STEPS_PER_EPOCH),
    "reference_60x391": dict(REFERENCE, total_steps=60 * STEPS_PER_EPOCH),
    "reference_3x391": dict(REFERENCE, total_steps=3 * STEPS_PER_EPOCH),
    "three_phase_cos": dict(REFERENCE, total_steps=997, three_phase=True),
    "three_phase_linear": dict(REFERENCE, total_steps=1000, three_phase=True,
                               anneal_strategy="linear", pct_start=0.25, max_lr=0.5,
                               div_factor=10.0, final_div_factor=100.0,
                               base_momentum=0.8, max_momentum=0.9),
    "linear_no_momentum": dict(REFERENCE, total_steps=500, anneal_strategy="linear",
                               cycle_momentum=False),
    "one_step": dict(REFERENCE, total_steps=1),
    "two_steps": dict(REFERENCE, total_steps=2),
    # Phase 2 is empty: PyTorch divides by zero on the step after the last batch.
    "pct_start_one": dict(REFERENCE, total_steps=10, pct_start=1.0),
    # Phase 1 ends at step 0: PyTorch divides 0 by 0 in the constructor.
    "empty_first_phase": dict(REFERENCE, total_steps=10, pct_start=0.1),
}


def record(options):
    model = GoogLeNet()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, weight_decay=5e-4)
    values, error = [], None
    try:
        scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, **options)
    except Exception as e:  # noqa: BLE001 - the failure itself is the fixture
        return values, (0, type(e).__name__, str(e))
    group = optimizer.param_groups[0]
    while True:
        values.append((group["lr"], group["momentum"]))
        optimizer.step()  # no gradients: only keeps the scheduler's call-order check quiet
        try:
            scheduler.step()
        except Exception as e:  # noqa: BLE001
            error = (len(values), type(e).__name__, str(e))
            break
    return values, error


def main():
    warnings.simplefilter("ignore")
    OUT.mkdir(parents=True, exist_ok=True)
    index = {}
    for name, options in CONFIGS.items():
        values, (error_step, error_type, error_message) = record(options)
        np.asarray(values, dtype="<f8").reshape(-1, 2).tofile(OUT / f"{name}.f64")
        index[name] = dict(options=options, steps=len(values), error_at_step=error_step,
                           error_type=error_type, error_message=error_message)
        print(f"{name}: {len(values)} steps, then {error_type} at step {error_step}: "
              f"{error_message}")
    (OUT / "configs.json").write_text(json.dumps(index, indent=1) + "\n")


if __name__ == "__main__":
    main()
