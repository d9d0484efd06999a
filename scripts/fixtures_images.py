"""Fixtures for tests/data/test_image.cpp: image files stb_image_write cannot make (palette PNG,
16-bit PNG, GIF, progressive JPEG) and resize references computed with PIL and numpy.

Every case is a source image `<name>.<ext>` plus `<name>.rgb`, the 3 x 32 x 32 uint8 planes
(R, G, B) that googlenet::load_image must return. Rerun with Debian's /usr/bin/python3 +
python3-pil + python3-numpy:  /usr/bin/python3 scripts/fixtures_images.py
"""
import pathlib

import numpy as np
from PIL import Image

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "images"
rng = np.random.default_rng(20240601)


def save_expected(name, hwc):
    assert hwc.shape == (32, 32, 3) and hwc.dtype == np.uint8
    (OUT / f"{name}.rgb").write_bytes(hwc.transpose(2, 0, 1).tobytes())


def over_white(rgba):
    """Alpha composited over white, rounded to nearest: the rule in src/data/image.cpp."""
    c, a = rgba[..., :3].astype(np.int64), rgba[..., 3:].astype(np.int64)
    return ((c * a + 255 * (255 - a) + 127) // 255).astype(np.uint8)


def exact_area(hwc):
    """Centred square of side min(h, w) averaged onto 32 x 32 by exact area, half up.

    Independent of the C++ weights: along each axis in turn, every pixel is repeated 64 times
    (the 1/64-pixel grid makes crop and output boundaries whole) and blocks are summed.
    """
    side = min(hwc.shape[:2])
    sums = hwc.astype(np.int64)
    for axis in (0, 1):
        fine = sums.repeat(64, axis=axis)
        start = 32 * (sums.shape[axis] - side)
        fine = np.take(fine, range(start, start + 64 * side), axis=axis)
        shape = list(fine.shape)
        shape[axis : axis + 1] = [32, 2 * side]
        sums = fine.reshape(shape).sum(axis=axis + 1)
    count = (2 * side) ** 2
    return ((sums * 2 + count) // (2 * count)).astype(np.uint8)


def noise(h, w, channels=3):
    return rng.integers(0, 256, size=(h, w, channels), dtype=np.uint8)


def centred_box(w, h):
    side = min(w, h)
    return ((w - side) / 2, (h - side) / 2, (w + side) / 2, (h + side) / 2)


def main():
    OUT.mkdir(parents=True, exist_ok=True)

    # Palette PNG, 4 bits per index, some entries (partly) transparent.
    palette = noise(16, 1)[:, 0, :]
    alpha = np.array([255, 0, 128, 255, 64, 255, 255, 200, 255, 10, 255, 255, 255, 255, 1, 254])
    index = rng.integers(0, 16, size=(32, 32), dtype=np.uint8)
    image = Image.fromarray(index, "P")
    image.putpalette(palette.flatten().tolist())
    image.save(OUT / "palette4.png", bits=4, transparency=bytes(alpha.astype(np.uint8)))
    rgba = np.concatenate([palette[index], alpha.astype(np.uint8)[index][..., None]], axis=2)
    assert (np.asarray(Image.open(OUT / "palette4.png").convert("RGBA")) == rgba).all()
    save_expected("palette4", over_white(rgba))

    # 16-bit grey PNG: stb_image keeps the high byte.
    grey16 = rng.integers(0, 65536, size=(32, 32), dtype=np.uint16)
    Image.fromarray(grey16.astype("<u2"), "I;16").save(OUT / "grey16.png")
    save_expected("grey16", np.repeat((grey16 >> 8).astype(np.uint8)[..., None], 3, axis=2))

    # GIF: a palette of 256 colours is lossless, and the frame is 40 x 32, so it is cropped.
    colours = noise(256, 1)[:, 0, :]
    index = rng.integers(0, 256, size=(32, 40), dtype=np.uint8)
    image = Image.fromarray(index, "P")
    image.putpalette(colours.flatten().tolist())
    image.save(OUT / "crop40x32.gif")
    save_expected("crop40x32", colours[index][:, 4:36])

    # Progressive JPEG of a smooth picture: compared within a tolerance, not exactly.
    y, x = np.mgrid[0:32, 0:32]
    smooth = np.stack([x * 8, y * 8, (x + y) * 4], axis=2).astype(np.uint8)
    Image.fromarray(smooth).save(OUT / "progressive.jpg", quality=95, progressive=True)
    save_expected("progressive", smooth)

    # Shrinking by whole factors: the exact block means, and PIL's resize(BOX) on the centred
    # square, which rounds between its two passes (the test allows it 1 level). PIL's
    # Image.reduce is no exact reference either: for factors 3 and 5 it rounds 128.56 to 128.
    for h, w, factor in [(96, 64, 2), (96, 96, 3), (140, 128, 4)]:
        source = noise(h, w)
        name = f"reduce{w}x{h}"
        Image.fromarray(source).save(OUT / f"{name}.png")
        top, left = (h - 32 * factor) // 2, (w - 32 * factor) // 2
        square = source[top : top + 32 * factor, left : left + 32 * factor].astype(np.int64)
        sums = square.reshape(32, factor, 32, factor, 3).sum(axis=(1, 3))
        means = (2 * sums + factor * factor) // (2 * factor * factor)
        assert (means == exact_area(source)).all()
        save_expected(name, means.astype(np.uint8))
        box = Image.fromarray(source).resize((32, 32), Image.BOX, box=centred_box(w, h))
        save_expected(f"{name}_pilbox", np.asarray(box))

    # Shrinking by fractions and from a half-pixel crop offset: numpy's exact area (PIL's BOX
    # weighs whole pixels only, so it is no reference here).
    for h, w in [(48, 48), (48, 97), (50, 33)]:
        name = f"area{w}x{h}"
        source = noise(h, w)
        Image.fromarray(source).save(OUT / f"{name}.png")
        save_expected(name, exact_area(source))

    # Growing: PIL's BILINEAR on the centred square (float box for the half-pixel offset).
    for h, w in [(16, 16), (13, 20), (31, 200)]:
        name = f"bilinear{w}x{h}"
        source = noise(h, w)
        Image.fromarray(source).save(OUT / f"{name}.png")
        grown = Image.fromarray(source).resize((32, 32), Image.BILINEAR, box=centred_box(w, h))
        save_expected(name, np.asarray(grown))


if __name__ == "__main__":
    main()
