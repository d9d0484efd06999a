#!/usr/bin/python3
"""Golden training steps for tests/train/test_step.cpp: two SGD steps of the
reference recipe on the first 8 CIFAR-10 training images.

Start weights: torch.manual_seed(0), construct the reference module (its default
init consumes the generator), then xavier_uniform_ on every Conv2d/Linear weight
and zeros on every bias, in module order. LibTorch's torch::manual_seed(0) + the
C++ GoogLeNet + initialize(kXavierUniform) reproduces these numbers exactly on
CPU, so only the seed is stored (the sums of the start weights guard that claim).

The step's gradients are small (the output is nearly constant at init), so the
BLAS's summation order shows at the 1e-5 level: make the fixture with the BLAS the
C++ side uses (scripts/install-deps.sh installs OpenBLAS; Debian's python3-torch and
libtorch-dev both take the system's libblas.so.3) and its kernels pinned as ctest
pins them: OPENBLAS_CORETYPE=Haswell /usr/bin/python3 scripts/fixtures_train.py

Writes tests/fixtures/train_step.pt: a plain dict (torch::pickle_load reads it).
Run with Debian's python3-torch:
  /usr/bin/python3 scripts/fixtures_train.py [--data DIR/cifar-10-batches-bin]
"""
import argparse
import pathlib
import sys

import numpy as np
import torch
import torchvision.transforms as T
from PIL import Image
from torch import nn

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from reference import GoogLeNet  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
MEAN, STD = (0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)  # the reference's
RECORD = 1 + 3 * 32 * 32  # label byte + R, G, B planes
BATCH, SEED, TOTAL_STEPS = 8, 0, 10
TRACKED = ["stage1.0.weight", "stage3.0.p3_2.weight", "stage5.1.p4_2.bias", "fc.weight",
           "fc.bias"]


def first_train_images(bin_dir, n):
    raw = np.fromfile(bin_dir / "data_batch_1.bin", dtype=np.uint8, count=n * RECORD)
    raw = raw.reshape(n, RECORD)
    labels = torch.from_numpy(raw[:, 0].astype(np.int64))
    hwc = raw[:, 1:].reshape(n, 3, 32, 32).transpose(0, 2, 3, 1)  # as torchvision's CIFAR10
    transform = T.Compose([T.ToTensor(), T.Normalize(MEAN, STD)])  # test-time transform
    images = torch.stack([transform(Image.fromarray(img)) for img in hwc])
    return images, labels


def xavier_model(seed):
    torch.manual_seed(seed)
    model = GoogLeNet()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)
    return model


def sums(model):
    state = model.state_dict()
    return ({k: float(v.double().sum()) for k, v in state.items()},
            {k: float(v.double().abs().sum()) for k, v in state.items()})


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=pathlib.Path,
                        default=ROOT.parent / "shared" / "data" / "cifar-10-batches-bin")
    parser.add_argument("--out", type=pathlib.Path,
                        default=ROOT / "tests" / "fixtures" / "train_step.pt")
    args = parser.parse_args()

    images, labels = first_train_images(args.data, BATCH)
    model = xavier_model(SEED)
    model.train()  # no BN/dropout in the reference: only for symmetry with C++
    start_sums, start_abs_sums = sums(model)
    start = {k: model.state_dict()[k].clone() for k in TRACKED}

    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, weight_decay=5e-4)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1,
                                                    total_steps=TOTAL_STEPS)
    losses, lrs, momenta, logits0 = [], [], [], None
    for _ in range(2):
        lrs.append(optimizer.param_groups[0]["lr"])
        momenta.append(optimizer.param_groups[0]["momentum"])
        optimizer.zero_grad()
        logits = model(images)
        loss = criterion(logits, labels)
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
        logits0 = logits.detach().clone() if logits0 is None else logits0

    end_sums, end_abs_sums = sums(model)
    fixture = {
        "seed": SEED,
        "total_steps": TOTAL_STEPS,
        "images": images.contiguous(),
        "labels": labels,
        "logits0": logits0,
        "losses": torch.tensor(losses, dtype=torch.float64),
        "lrs": torch.tensor(lrs, dtype=torch.float64),
        "momenta": torch.tensor(momenta, dtype=torch.float64),
        "start_sums": start_sums,
        "start_abs_sums": start_abs_sums,
        "start": start,
        "sums": end_sums,
        "abs_sums": end_abs_sums,
        "tensors": {k: model.state_dict()[k].clone() for k in TRACKED},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(fixture, args.out)
    print(f"{args.out}: losses {losses}, lrs {lrs}, momenta {momenta}")


if __name__ == "__main__":
    main()
