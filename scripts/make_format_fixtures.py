#!/usr/bin/env python3
"""Writes the image-format fixtures of Tests/RANetTests/Fixtures/formats and what PIL
decodes from each (formats.json: size and FNV-1a hash of `Image.open(f).convert('RGB')`).

Every variant the decoders claim PIL parity for is made from one small crop of a real
photo (chelsea.png of the shared reference images): WebP lossy, lossless, with alpha
and animated; TIFF in strips and tiles, uncompressed, LZW, deflate, PackBits and JPEG,
8- and 16-bit, grey, bilevel, palette, RGBA and CMYK; BMP 24- and 32-bit, 16-bit,
palette and RLE8; PBM/PGM/PPM raw and plain, 8- and 16-bit; PNG 16-bit grey and RGB;
an EXIF-rotated JPEG; a large JPEG for DCT-scaled decoding. HEIC and AVIF are encoded
with Debian's heif-enc and compared with what heif-convert writes (PIL reads neither).

Needs Pillow (pip install pillow), numpy, and Debian's libheif-examples, webp and
libtiff-tools. Run from the repository root:
    python3 scripts/make_format_fixtures.py ../shared/reference/images/chelsea.png
"""
import io
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image, ImageOps

OUT = "Tests/RANetTests/Fixtures/formats"


def fnv1a64(data):
    """FNV-1a, 64 bits: enough to tell decoded images apart, and a few lines in any language."""
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def rgb_digest(image):
    rgb = image.convert("RGB")
    return {"width": rgb.width, "height": rgb.height, "fnv1a64": fnv1a64(rgb.tobytes())}


def main(photo):
    os.makedirs(OUT, exist_ok=True)
    base = Image.open(photo).convert("RGB").crop((180, 60, 241, 101))  # 61×41: odd widths pad every row
    base.info = {}  # no ICC profile: heif-convert cannot write the photo's one back to PNG
    grey = base.convert("L")
    rgba = base.copy()
    alpha = Image.linear_gradient("L").resize(base.size)
    rgba.putalpha(alpha)
    palette = base.quantize(colors=16)
    files = {}

    def save(name, image, **kwargs):
        image.save(os.path.join(OUT, name), **kwargs)

    # WebP
    save("lossy.webp", base, quality=80)
    save("lossless.webp", base, lossless=True)
    save("alpha.webp", rgba, quality=80)
    save("alpha-lossless.webp", rgba, lossless=True)
    frames = [base, ImageOps.invert(base), base.rotate(180)]
    frames[0].save(os.path.join(OUT, "animated.webp"), save_all=True, append_images=frames[1:], duration=100, quality=80)
    # TIFF: PIL writes strips; tiffcp re-tiles.
    save("rgb.tif", base)
    save("rgb-lzw.tif", base, compression="tiff_lzw")
    save("rgb-deflate.tif", base, compression="tiff_adobe_deflate")
    save("rgb-packbits.tif", base, compression="packbits")
    save("rgb-jpeg.tif", base, compression="jpeg")
    save("grey.tif", grey, compression="tiff_lzw")
    save("bilevel.tif", grey.point(lambda v: 255 if v > 110 else 0).convert("1"), compression="group4")
    save("palette.tif", palette, compression="tiff_lzw")
    save("rgba.tif", rgba, compression="tiff_lzw")
    save("cmyk.tif", base.convert("CMYK"))
    grey16 = Image.fromarray(np.asarray(grey, dtype=np.uint16) * 3)  # mode I;16, values to 765
    save("grey16.tif", grey16)
    rgb16 = (np.asarray(base, dtype=np.uint16) * 257 - 100).clip(0, 65535).astype(np.uint16)
    write_tiff_rgb16(os.path.join(OUT, "rgb16.tif"), rgb16)
    subprocess.run(["tiffcp", "-t", "-w", "16", "-l", "16", "-c", "lzw", os.path.join(OUT, "rgb.tif"),
                    os.path.join(OUT, "rgb-tiles.tif")], check=True)
    subprocess.run(["tiffcp", "-p", "separate", os.path.join(OUT, "rgb.tif"), os.path.join(OUT, "rgb-planar.tif")], check=True)
    # BMP
    save("rgb24.bmp", base)
    save("rgba32.bmp", rgba)
    save("palette8.bmp", palette.convert("P"))
    save("grey8.bmp", grey)
    save("bilevel1.bmp", grey.convert("1"))
    write_bmp16(os.path.join(OUT, "rgb555.bmp"), base)
    write_bmp_rle8(os.path.join(OUT, "rle8.bmp"), palette)
    # PBM / PGM / PPM
    save("rgb.ppm", base)
    save("grey.pgm", grey)
    save("bilevel.pbm", grey.convert("1"))
    write_pnm_plain(os.path.join(OUT, "plain.ppm"), np.asarray(base), "P3", 255)
    write_pnm_plain(os.path.join(OUT, "plain-maxval100.pgm"), np.asarray(grey) * 100 // 255, "P2", 100)
    write_pnm_raw16(os.path.join(OUT, "grey16.pgm"), np.asarray(grey, dtype=np.uint16) * 3, "P5")
    write_pnm_raw16(os.path.join(OUT, "rgb16.ppm"), rgb16, "P6")
    # PNG, 16 bits
    save("grey16.png", grey16)
    write_png_rgb16(os.path.join(OUT, "rgb16.png"), rgb16)
    # JPEG with an EXIF orientation (6: turned 90° clockwise), and a large one for DCT scaling.
    exif = Image.Exif()
    exif[0x0112] = 6
    save("rotated.jpg", base, quality=90, exif=exif.tobytes())
    save("large.jpg", Image.open(photo).convert("RGB").resize((904, 600), Image.BICUBIC), quality=90)
    # HEIC and AVIF through libheif's tools.
    with tempfile.TemporaryDirectory() as tmp:
        png = os.path.join(tmp, "base.png")
        base.save(png)
        for name, extra in (("photo.heic", []), ("photo.avif", ["-A"])):
            subprocess.run(["heif-enc", *extra, "-q", "80", "-o", os.path.join(OUT, name), png], check=True,
                           stdout=subprocess.DEVNULL)
            subprocess.run(["heif-convert", os.path.join(OUT, name), os.path.join(OUT, name + ".png")], check=True,
                           stdout=subprocess.DEVNULL)

    for name in sorted(os.listdir(OUT)):
        if name.endswith(".json"):
            continue
        path = os.path.join(OUT, name)
        if name.endswith((".heic", ".avif")):
            files[name] = {"parity": "heif-convert", "reference": name + ".png", **rgb_digest(Image.open(path + ".png"))}
            continue
        if name.endswith((".heic.png", ".avif.png")):
            continue
        image = Image.open(path)
        files[name] = {"parity": "PIL", **rgb_digest(image)}
        if name == "rotated.jpg":
            files[name]["exif_orientation"] = rgb_digest(ImageOps.exif_transpose(Image.open(path)))
        if name == "large.jpg":
            drafted = Image.open(path)
            drafted.draft("RGB", (drafted.width // 4, drafted.height // 4))
            files[name]["draft_4"] = rgb_digest(drafted)
        if "16" in name:
            files[name]["scaled"] = scaled_digest(path)
    with open(os.path.join(OUT, "formats.json"), "w") as f:
        json.dump({"pillow": Image.__version__, "files": files}, f, indent=1, sort_keys=True)
        f.write("\n")


def scaled_digest(path):
    """RGB with every 16-bit sample scaled as round(v · 255 / 65535)."""
    name = os.path.basename(path)
    if name.endswith(".pgm") or name.endswith(".ppm"):
        raw = read_pnm16(path)
    elif name.endswith(".png") and "grey" in name or name.endswith(".tif") and "grey" in name:
        raw = np.asarray(Image.open(path)).astype(np.uint32)
    else:
        raw = RGB16[name]
    if raw.ndim == 2:
        raw = np.repeat(raw[:, :, None], 3, axis=2)
    rgb = ((raw.astype(np.uint64) * 255 + 32767) // 65535).astype(np.uint8)
    return {"width": rgb.shape[1], "height": rgb.shape[0], "fnv1a64": fnv1a64(rgb.tobytes())}


RGB16 = {}  # the 16-bit colour arrays written, by file name

def read_pnm16(path):
    data = open(path, "rb").read()
    magic, w, h, maxval, rest = data.split(maxsplit=4)
    channels = 3 if magic == b"P6" else 1
    a = np.frombuffer(rest, dtype=">u2").reshape(int(h), int(w), channels)
    return a[:, :, 0] if channels == 1 else a


def write_tiff_rgb16(path, a):
    RGB16[os.path.basename(path)] = a
    h, w, _ = a.shape
    data = a.astype("<u2").tobytes()
    entries = [(256, 3, 1, w), (257, 3, 1, h), (258, 3, 3, None), (259, 3, 1, 1), (262, 3, 1, 2), (273, 4, 1, None),
               (277, 3, 1, 3), (278, 3, 1, h), (279, 4, 1, len(data))]
    ifd_offset = 8
    extra_offset = ifd_offset + 2 + 12 * len(entries) + 4
    bits_offset, data_offset = extra_offset, extra_offset + 6
    out = bytearray(b"II*\0" + struct.pack("<I", ifd_offset) + struct.pack("<H", len(entries)))
    for tag, kind, count, value in entries:
        if tag == 258:
            value = bits_offset
        if tag == 273:
            value = data_offset
        out += struct.pack("<HHI", tag, kind, count)
        out += struct.pack("<HH", value, 0) if kind == 3 and count == 1 else struct.pack("<I", value)
    out += struct.pack("<I", 0) + struct.pack("<HHH", 16, 16, 16) + data
    open(path, "wb").write(out)


def write_png_rgb16(path, a):
    RGB16[os.path.basename(path)] = a
    import zlib
    h, w, _ = a.shape
    raw = b"".join(b"\0" + a[y].astype(">u2").tobytes() for y in range(h))
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    open(path, "wb").write(png)


def bmp_header(w, h, bits, compression, palette, pixels):
    info = struct.pack("<IiiHHIIiiII", 40, w, h, 1, bits, compression, len(pixels), 2835, 2835, len(palette) // 4, 0)
    offset = 14 + len(info) + len(palette)
    return b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset) + info + palette + pixels


def write_bmp16(path, image):
    a = np.asarray(image).astype(np.uint16)
    w, h = image.size
    rows = []
    for y in range(h - 1, -1, -1):
        px = (a[y, :, 0] >> 3) << 10 | (a[y, :, 1] >> 3) << 5 | a[y, :, 2] >> 3
        row = px.astype("<u2").tobytes()
        rows.append(row + b"\0" * (-len(row) % 4))
    open(path, "wb").write(bmp_header(w, h, 16, 0, b"", b"".join(rows)))


def write_bmp_rle8(path, image):
    """RLE8 with runs, absolute runs, end-of-line and end-of-bitmap codes."""
    index = np.asarray(image)
    w, h = image.size
    colours = image.getpalette()[: 3 * 256]
    palette = b"".join(bytes([colours[3 * i + 2], colours[3 * i + 1], colours[3 * i], 0]) for i in range(len(colours) // 3))
    out = bytearray()
    for y in range(h - 1, -1, -1):
        row = list(index[y])
        x = 0
        while x < w:
            run = 1
            while x + run < w and run < 255 and row[x + run] == row[x]:
                run += 1
            if run >= 3 or w - x < 3:
                out += bytes([run, row[x]])
                x += run
            else:
                n = min(255, w - x)
                n = max(3, min(n, 20))
                out += bytes([0, n]) + bytes(row[x:x + n]) + (b"\0" if n % 2 else b"")
                x += n
        out += b"\0\0"
    out += b"\0\1"
    open(path, "wb").write(bmp_header(w, h, 8, 1, palette, bytes(out)))


def write_pnm_plain(path, a, magic, maxval):
    h, w = a.shape[:2]
    values = " ".join(str(int(v)) for v in a.reshape(-1))
    open(path, "w").write(f"{magic}\n# plain format, written by make_format_fixtures.py\n{w} {h}\n{maxval}\n{values}\n")


def write_pnm_raw16(path, a, magic):
    h, w = a.shape[:2]
    open(path, "wb").write(f"{magic}\n{w} {h}\n65535\n".encode() + a.astype(">u2").tobytes())


if __name__ == "__main__":
    main(sys.argv[1])
