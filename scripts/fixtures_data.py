"""Golden data for tests/data/test_cifar.cpp and tests/data/test_augment.cpp, made by torchvision.

Reads the real binary CIFAR-10 test set, writes it as the python layout torchvision
downloads (Python 2 protocol-2 pickles, every string a BINSTRING, like the official
cifar-10-python.tar.gz), loads that with torchvision.datasets.CIFAR10 itself and
records what its transforms return. Writes to tests/fixtures/:

  cifar_py_test_batch_head  first 5 test images as a python-layout batch (a real
                            file's structure; the official file names are not in
                            the binary layout, so they are made up)
  cifar_py_batches_meta     the python layout's batches.meta
  data_torchvision.json     the cases below, in order, with labels and class names
  data_torchvision.f32      3 x 32 x 32 float32 (little-endian) per case

Cases: test-time transform (ToTensor + Normalize) of test images; train transform
(RandomCrop(32, padding=4) + RandomHorizontalFlip + ToTensor + Normalize) run under
chosen seeds, with the crop offsets and flip that torch's RNG drew for it.

    /usr/bin/python3 scripts/fixtures_data.py [--data ../shared/data]
"""
import argparse
import io
import json
import os
import pickle
import struct
import tempfile

import numpy as np
import torch
from torchvision import datasets, transforms

MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2023, 0.1994, 0.2010)
TEST_INDICES = [0, 1, 2, 3, 9999]
# (top, left, flip) wanted among the train-transform cases: corners, centre, both flips.
CROP_TARGETS = [(0, 0, False), (8, 8, True), (0, 8, True), (8, 0, False), (4, 4, True),
                (2, 7, False)]


class Py2Pickler(pickle._Pickler):
    """Pickles bytes and ASCII str as Python 2's str (SHORT_BINSTRING/BINSTRING)."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_binstring(self, obj):
        if isinstance(obj, str):
            obj = obj.encode("latin-1")
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_binstring
    dispatch[str] = save_binstring


def py2_pickle(obj):
    out = io.BytesIO()
    Py2Pickler(out, protocol=2).dump(obj)
    return out.getvalue()


def read_bin(folder, name):
    records = np.fromfile(os.path.join(folder, name), dtype=np.uint8).reshape(-1, 3073)
    return records[:, 1:].copy(), records[:, 0].astype(int).tolist()


def batch_dict(label, data, labels):
    names = [f"cifar10_test_{i:05d}.png".encode() for i in range(len(labels))]
    return {b"batch_label": label.encode(), b"labels": labels, b"data": data,
            b"filenames": names}


def crop_params(seed):
    """Replays RandomCrop.get_params and RandomHorizontalFlip's draws for `seed`."""
    torch.manual_seed(seed)
    top = torch.randint(0, 9, size=(1,)).item()
    left = torch.randint(0, 9, size=(1,)).item()
    flip = bool(torch.rand(1) < 0.5)
    return top, left, flip


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("GOOGLENET_DATA", "../shared/data"))
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests",
                                                      "fixtures"))
    args = parser.parse_args()
    folder = os.path.join(args.data, "cifar-10-batches-bin")
    data, labels = read_bin(folder, "test_batch.bin")
    with open(os.path.join(folder, "batches.meta.txt")) as f:
        class_names = [line.strip() for line in f if line.strip()]
    meta = {b"num_cases_per_batch": 10000, b"label_names": class_names, b"num_vis": 3072}

    with open(os.path.join(args.out, "cifar_py_test_batch_head"), "wb") as f:
        f.write(py2_pickle(batch_dict("testing batch 1 of 1 (first 5)", data[:5], labels[:5])))
    with open(os.path.join(args.out, "cifar_py_batches_meta"), "wb") as f:
        f.write(py2_pickle(meta))

    with tempfile.TemporaryDirectory() as root:
        py = os.path.join(root, "cifar-10-batches-py")
        os.makedirs(py)
        with open(os.path.join(py, "test_batch"), "wb") as f:
            f.write(py2_pickle(batch_dict("testing batch 1 of 1", data, labels)))
        with open(os.path.join(py, "batches.meta"), "wb") as f:
            f.write(py2_pickle(meta))
        # Our copy is not the official one, so its MD5s differ; the reading is torchvision's.
        datasets.CIFAR10._check_integrity = lambda self: True
        datasets.cifar.check_integrity = lambda path, md5=None: os.path.isfile(path)
        normalize = [transforms.ToTensor(), transforms.Normalize(MEAN, STD)]
        test_set = datasets.CIFAR10(root, train=False, download=False,
                                    transform=transforms.Compose(normalize))
        train_transform = transforms.Compose(
            [transforms.RandomCrop(32, padding=4), transforms.RandomHorizontalFlip()] + normalize)
        assert test_set.classes == class_names

        cases, values = [], []
        for index in TEST_INDICES:
            image, label = test_set[index]
            cases.append({"index": index, "label": label, "transform": "test"})
            values.append(image.numpy())
        test_set.transform = train_transform
        seed = 0
        for case_number, target in enumerate(CROP_TARGETS):
            while crop_params(seed) != target:
                seed += 1
            index = 10 + case_number
            torch.manual_seed(seed)
            image, label = test_set[index]
            top, left, flip = target
            cases.append({"index": index, "label": label, "transform": "train", "seed": seed,
                          "top": top, "left": left, "flip": flip})
            values.append(image.numpy())

    with open(os.path.join(args.out, "data_torchvision.f32"), "wb") as f:
        f.write(np.stack(values).astype("<f4").tobytes())
    with open(os.path.join(args.out, "data_torchvision.json"), "w") as f:
        json.dump({"class_names": class_names, "first_test_labels": labels[:20],
                   "cases": cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
