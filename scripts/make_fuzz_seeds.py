#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora to Tests/Fuzz/corpus/TARGET/: small valid files of
every format the readers take (a torch-format checkpoint and its pickle and zip, a
safetensors file, .npy arrays, args.txt lines, JSON configs, and images of every format).
Standard library only; the checkpoint is pickled exactly as torch.save lays it out."""
import io
import json
import os
import struct
import sys
import zipfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "Tests", "Fuzz", "corpus")
SHARED = os.path.join(ROOT, "..", "shared")


def state_dict_pickle(tensors):
    """The pickle torch.save writes for {"epoch": 1, "state_dict": OrderedDict(...)}, opcode by
    opcode (protocol 2): tensors rebuilt by torch._utils._rebuild_tensor_v2 from persistent
    storages ('storage', torch.FloatStorage, key, 'cpu', numel)."""
    def unicode(s):
        return b"X" + struct.pack("<I", len(s)) + s.encode()
    def integer(v):
        return b"J" + struct.pack("<i", v)
    def tup(values):
        return b"(" + b"".join(integer(v) for v in values) + b"t"
    p = b"\x80\x02}(" + unicode("epoch") + integer(1) + unicode("state_dict")
    p += b"ccollections\nOrderedDict\n)R("
    for index, (key, shape, storage) in enumerate(tensors):
        count = 1
        for d in shape:
            count *= d
        strides = [1] * len(shape)
        for d in range(len(shape) - 2, -1, -1):
            strides[d] = strides[d + 1] * shape[d + 1]
        p += unicode("module." + key) + b"ctorch._utils\n_rebuild_tensor_v2\n(("
        p += unicode("storage") + b"ctorch\n" + storage.encode() + b"\n" + unicode(str(index)) + unicode("cpu") + integer(count)
        p += b"tQ" + integer(0) + tup(shape) + tup(strides) + b"\x89ccollections\nOrderedDict\n)RtR"
    return p + b"uu."


def checkpoint():
    pkl = state_dict_pickle([("a.weight", [2, 3], "FloatStorage"), ("a.num_batches_tracked", [], "LongStorage")])
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pkl)
        z.writestr("archive/data/0", struct.pack("<6f", 1, 2, 3, 4, 5, 6))
        z.writestr("archive/data/1", struct.pack("<q", 7))
        z.writestr("archive/version", "3\n")
    return pkl, archive.getvalue()


def npy(descr, shape, payload):
    dims = "(%d,)" % shape[0] if len(shape) == 1 else "(" + ", ".join(map(str, shape)) + ")"
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, dims)
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + payload


def write(target, name, data):
    folder = os.path.join(OUT, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def main():
    pkl, archive = checkpoint()
    write("pickle", "state_dict.pkl", pkl)
    write("checkpoint", "model.pth.tar", archive)
    write("zip", "model.pth.tar", archive)
    header = json.dumps({"__metadata__": {"ranet.config": "{}"}, "w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    write("safetensors", "model.safetensors", struct.pack("<Q", len(header)) + header + struct.pack("<2f", 1, 2))
    write("npy", "f32.npy", npy("<f4", (2, 3), struct.pack("<6f", *range(6))))
    write("npy", "i64.npy", npy("<i8", (3,), struct.pack("<3q", 1, 2, 3)))
    write("npy", "u8.npy", npy("|u1", (4,), bytes(range(4))))
    write("args", "args.txt", open(os.path.join(SHARED, "models", "fashion-mnist", "args.txt"), "rb").read())
    write("args", "tiny.txt", open(os.path.join(SHARED, "reference", "models", "tiny-c2-lg", "args.txt"), "rb").read())
    specs = json.load(open(os.path.join(SHARED, "reference", "specs.json")))
    for name in ("cifar-c1", "imagenet-1"):
        write("json", name + ".json", json.dumps(specs[name]["config"]).encode())
    images = os.path.join(SHARED, "reference", "images")
    for name in ("palette_color.png", "ramp16.png", "truncated.jpg", "chelsea_progressive.jpg", "camera_grey_alpha.png"):
        if os.path.getsize(os.path.join(images, name)) < 40_000:
            write("image", name, open(os.path.join(images, name), "rb").read())
    sample = os.path.join(ROOT, "Samples", "images", "0000-ankle-boot.png")
    write("image", "sample.png", open(sample, "rb").read())
    # One file of every other format, from the format fixtures (scripts/make_format_fixtures.py).
    formats = os.path.join(ROOT, "Tests", "RANetTests", "Fixtures", "formats")
    for name in ("alpha.webp", "animated.webp", "rgb-tiles.tif", "palette.tif", "rgb-jpeg.tif", "rle8.bmp", "rgb555.bmp",
                 "plain.ppm", "grey16.pgm", "bilevel.pbm", "photo.heic", "photo.avif", "rotated.jpg"):
        write("image", name, open(os.path.join(formats, name), "rb").read())
    print("seeds written to", os.path.relpath(OUT, ROOT))


if __name__ == "__main__":
    main()
