#!/usr/bin/env python3
"""Writes the demo's samples from the Fashion-MNIST test set in Debian's
dataset-fashion-mnist package: Samples/fashion-mnist-test.npy (and -labels.npy), the
first N images preprocessed the way the bundled model was trained (pixel/255,
zero-padded by 2 to 32x32, normalized with mean 0.2860 and std 0.3530, repeated to 3
channels), and Samples/images/, the first N as 28x28 grey PNG files named by index
and true class. Standard library only.

    apt-get install dataset-fashion-mnist
    python3 scripts/make_fashion_mnist_samples.py [--count 16]
"""
import argparse
import gzip
import os
import struct
import zlib

SOURCE = "/usr/share/datasets/fashion-mnist"
CLASSES = ["t-shirt-top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle-boot"]
MEAN, STD, PAD = 0.2860, 0.3530, 2


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    dims = struct.unpack(">" + "I" * (magic & 0xFF), data[4:4 + 4 * (magic & 0xFF)])
    return dims, data[4 + 4 * len(dims):]


def write_npy(path, descr, shape, payload):
    dims = "(%s,)" % shape[0] if len(shape) == 1 else "(" + ", ".join(map(str, shape)) + ")"
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, dims)
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    with open(path + ".tmp", "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + payload)
    os.replace(path + ".tmp", path)


def write_png(path, width, height, grey):
    """An 8-bit greyscale PNG: signature, IHDR, one IDAT, IEND."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + bytes(grey[y * width:(y + 1) * width]) for y in range(height))
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=16)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "Samples"))
    args = parser.parse_args()
    (n, h, w), pixels = read_idx(os.path.join(SOURCE, "t10k-images-idx3-ubyte.gz"))
    (_,), labels = read_idx(os.path.join(SOURCE, "t10k-labels-idx1-ubyte.gz"))
    count = min(args.count, n)
    size = h + 2 * PAD
    values = []
    for i in range(count):
        image = pixels[i * h * w:(i + 1) * h * w]
        plane = []
        for y in range(size):
            for x in range(size):
                inside = PAD <= y < h + PAD and PAD <= x < w + PAD
                p = image[(y - PAD) * w + (x - PAD)] / 255.0 if inside else 0.0
                plane.append((p - MEAN) / STD)
        values.extend(plane * 3)
    write_npy(os.path.join(args.out, "fashion-mnist-test.npy"), "<f4", (count, 3, size, size),
              struct.pack("<%df" % len(values), *values))
    write_npy(os.path.join(args.out, "fashion-mnist-test-labels.npy"), "<i8", (count,),
              struct.pack("<%dq" % count, *labels[:count]))
    folder = os.path.join(args.out, "images")
    os.makedirs(folder, exist_ok=True)
    for i in range(count):
        write_png(os.path.join(folder, "%04d-%s.png" % (i, CLASSES[labels[i]])), w, h, pixels[i * h * w:(i + 1) * h * w])
    print("wrote %d images to %s" % (count, os.path.abspath(args.out)))


if __name__ == "__main__":
    main()
