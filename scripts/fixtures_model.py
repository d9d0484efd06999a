#!/usr/bin/python3
"""Writes the weight-file fixtures under tests/fixtures/ with the reference module.

Run from the repository root with Debian's /usr/bin/python3 (python3-torch 1.13):
    /usr/bin/python3 scripts/fixtures_model.py [--data ../shared/data]

reference_names.txt    name and shape of every state_dict entry of GoogLeNet(3, 10)
reference_weights.pt   torch.save(model.state_dict()): seed 0, Xavier-uniform weights,
                       zero biases
golden_logits.pt       {'indices', 'logits'}: eval-mode logits of those weights on the
                       first 8 test images (ToTensor + Normalize)
python_bn_state.pt     a Conv2d+BatchNorm2d Sequential after one training step (BN
                       buffers, the int64 scalar num_batches_tracked)
python_mixed.pt        views, shared storages, several dtypes, numbers, lists, tuples
resnet18_names.txt     torchvision resnet18's state_dict names and shapes
malicious.pt           a torch.save-like zip whose pickle calls os.system
"""
import argparse
import collections
import io
import os
import pickle
import sys
import zipfile

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference import GoogLeNet  # noqa: E402

MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2023, 0.1994, 0.2010)
RECORD = 1 + 3 * 32 * 32  # label byte + R, G, B planes


def write_names(path, state_dict, total=None):
    with open(path, "w") as f:
        f.write("# name and shape of each state_dict entry, in order (scripts/fixtures_model.py)\n")
        if total is not None:
            f.write(f"# parameters {total}\n")
        for name, tensor in state_dict.items():
            f.write(" ".join([name] + [str(d) for d in tensor.shape]) + "\n")


def test_images(data_dir, count):
    with open(os.path.join(data_dir, "cifar-10-batches-bin", "test_batch.bin"), "rb") as f:
        raw = f.read(RECORD * count)
    records = torch.frombuffer(bytearray(raw), dtype=torch.uint8).view(count, RECORD)
    x = records[:, 1:].reshape(count, 3, 32, 32).float() / 255  # ToTensor
    return (x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)


class SystemCall:
    """Pickles as os.system('echo pwned'): what a hostile weights file does."""

    def __reduce__(self):
        return (os.system, ("echo pwned",))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data", help="folder holding cifar-10-batches-bin")
    parser.add_argument("--out", default="tests/fixtures")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    out = lambda name: os.path.join(args.out, name)  # noqa: E731

    torch.manual_seed(0)
    model = GoogLeNet(3, 10)
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    total = sum(p.numel() for p in model.parameters())
    write_names(out("reference_names.txt"), model.state_dict(), total)
    torch.save(model.state_dict(), out("reference_weights.pt"))

    model.eval()
    with torch.no_grad():
        logits = model(test_images(args.data, 8))
    torch.save({"indices": torch.arange(8, dtype=torch.int64), "logits": logits.float()},
               out("golden_logits.pt"))

    bn = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    bn.train()(torch.randn(2, 3, 8, 8))  # running stats move, num_batches_tracked = 1
    torch.save(bn.state_dict(), out("python_bn_state.pt"))

    base = torch.arange(24, dtype=torch.float32).view(4, 6)
    torch.save({
        "base": base,
        "view": base[1:, ::2],  # offset 6, strides (6, 2), same storage as base
        "row": base[2],
        "half": torch.tensor([1.5, -2.0], dtype=torch.float16),
        "double": torch.tensor([[0.1]], dtype=torch.float64),
        "long": torch.tensor(7),
        "mask": torch.tensor([True, False]),
        "bytes": torch.tensor([0, 255], dtype=torch.uint8),
        "empty": torch.zeros(0, 3),
        "int": 3, "float": 0.25, "flag": True, "none": None, "text": "caf\u00e9",
        "list": [1, "two", 3.0], "tuple": (1, 2),
        "nested": collections.OrderedDict([("k", torch.ones(2))]),
    }, out("python_mixed.pt"))

    import torchvision
    write_names(out("resnet18_names.txt"), torchvision.models.resnet18().state_dict())

    with zipfile.ZipFile(out("malicious.pt"), "w") as z:
        z.writestr("malicious/data.pkl", pickle.dumps(SystemCall(), protocol=2))
        z.writestr("malicious/version", "3\n")
    print("wrote", ", ".join(sorted(os.listdir(args.out))))


if __name__ == "__main__":
    main()
