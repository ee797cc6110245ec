// BMP, decoded here as PIL's BmpImagePlugin does: 1-, 4- and 8-bit palettes
// (uncompressed, RLE8, RLE4), 16-bit 5-5-5 and bit-field masks, 24-bit, 32-bit (alpha
// ignored), bottom-up or top-down rows, and the OS/2 header of 12 bytes.
#include "codecs.h"

#include <stdlib.h>
#include <string.h>

static uint32_t u16(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t u32(const unsigned char *p) { return u16(p) | u16(p + 2) << 16; }

// One channel of a bit-field pixel scaled to 8 bits as PIL's unpackers do: v·255/max.
struct field {
    uint32_t mask;
    int shift;
    uint32_t max;
};

static struct field field_of(uint32_t mask) {
    struct field f = {mask, 0, 0};
    if (!mask) return f;
    while (!(mask >> f.shift & 1)) f.shift++;
    f.max = mask >> f.shift;
    return f;
}

static unsigned char field_value(struct field f, uint32_t pixel) {
    if (!f.max) return 0;
    const uint32_t v = (pixel & f.mask) >> f.shift;
    return (unsigned char)(f.max == 255 ? v : (uint64_t)v * 255 / f.max);
}

// Expands RLE8/RLE4 data into one palette index per pixel, rows in file order;
// pixels the stream skips stay 0. Returns 0, or 1 when the stream runs out early.
static int rle_expand(const unsigned char *data, size_t size, size_t start, int w, int h, int rle4, unsigned char *index) {
    const size_t total = (size_t)w * h;
    size_t at = 0, p = start;
    int x = 0;
    while (at < total) {
        if (p + 2 > size) return 1;
        int count = data[p], byte = data[p + 1];
        p += 2;
        if (count) {
            if (x + count > w) count = w - x > 0 ? w - x : 0;
            for (int i = 0; i < count && at < total; i++)
                index[at++] = (unsigned char)(rle4 ? (i % 2 ? byte & 15 : byte >> 4) : byte);
            x += count;
        } else if (byte == 0) {  // end of line
            if (at % (size_t)w) at += (size_t)w - at % (size_t)w;
            x = 0;
        } else if (byte == 1) {  // end of bitmap
            break;
        } else if (byte == 2) {  // delta: right, up
            if (p + 2 > size) return 1;
            at += data[p] + (size_t)data[p + 1] * w;
            p += 2;
            x = (int)(at % (size_t)w);
        } else {  // absolute run of `byte` pixels, padded to a 16-bit boundary
            const size_t n = byte < total - at ? (size_t)byte : total - at;
            const size_t bytes = rle4 ? (n + 1) / 2 : n;
            if (p + bytes > size) return 1;
            for (size_t i = 0; i < n; i++) index[at + i] = rle4 ? (i % 2 ? data[p + i / 2] & 15 : data[p + i / 2] >> 4) : data[p + i];
            at += n;
            p += bytes;
            x += byte;
            if (p % 2) p++;
        }
    }
    return 0;
}

int cimg_decode_bmp(const unsigned char *d, size_t size, const cimg_options *o, cimg_image *out, char *err,
                    size_t err_len) {
    if (size < 26) return cimg_fail(err, err_len, "BMP: truncated header");
    const uint32_t pixel_offset = u32(d + 10), header = u32(d + 14);
    long long w, h;
    int bits, compression = 0, colours = 0, palette_entry = 4;
    uint32_t masks[3] = {0, 0, 0};
    if (header == 12) {  // OS/2 1.x
        w = u16(d + 18), h = u16(d + 20), bits = (int)u16(d + 24), palette_entry = 3;
    } else if (header >= 40 && header <= 124) {
        if (size < 14 + (size_t)header) return cimg_fail(err, err_len, "BMP: truncated header");
        w = (int32_t)u32(d + 18), h = (int32_t)u32(d + 22), bits = (int)u16(d + 28);
        compression = (int)u32(d + 30), colours = (int)u32(d + 46);
        if (compression == 3 || compression == 6) {
            // Masks live in the header from version 2 on, and after a 40-byte one.
            const size_t at = header >= 52 ? 54 : 14 + (size_t)header;
            if (at + 12 > size) return cimg_fail(err, err_len, "BMP: truncated bit-field masks");
            for (int i = 0; i < 3; i++) masks[i] = u32(d + at + 4 * i);
        }
    } else {
        return cimg_fail(err, err_len, "BMP: unsupported header of %u bytes", header);
    }
    const int top_down = h < 0;
    if (top_down) h = -h;
    if (cimg_check_size(w, h, o->max_pixels, err, err_len)) return 1;
    if (!(bits == 1 || bits == 4 || bits == 8 || bits == 16 || bits == 24 || bits == 32))
        return cimg_fail(err, err_len, "BMP: unsupported pixel depth (%d bits)", bits);
    const int rle = compression == 1 || compression == 2;
    if (compression > 3 && compression != 6) return cimg_fail(err, err_len, "BMP: unsupported compression %d", compression);
    if (rle && bits != (compression == 1 ? 8 : 4)) return cimg_fail(err, err_len, "BMP: RLE with %d bits per pixel", bits);
    if ((compression == 3 || compression == 6) && bits != 16 && bits != 32)
        return cimg_fail(err, err_len, "BMP: bit-field masks with %d bits per pixel", bits);

    // The palette follows the header (and the masks of a 40-byte one).
    unsigned char palette[256][3];
    memset(palette, 0, sizeof palette);
    if (bits <= 8) {
        const int entries = colours > 0 && colours <= 256 ? colours : 1 << bits;
        size_t at = 14 + (size_t)header + (header == 40 && (compression == 3 || compression == 6) ? 12 : 0);
        for (int i = 0; i < entries; i++, at += (size_t)palette_entry) {
            if (at + 3 > size) return cimg_fail(err, err_len, "BMP: truncated palette");
            palette[i][0] = d[at + 2], palette[i][1] = d[at + 1], palette[i][2] = d[at];
        }
    }
    struct field field[3];
    const int no_masks = !masks[0] && !masks[1] && !masks[2];  // PIL reads zero masks as the defaults
    if (bits == 16 && no_masks) masks[0] = 0x7C00, masks[1] = 0x3E0, masks[2] = 0x1F;
    if (bits == 32 && no_masks) masks[0] = 0xFF0000, masks[1] = 0xFF00, masks[2] = 0xFF;
    for (int i = 0; i < 3; i++) field[i] = field_of(masks[i]);

    const int width = (int)w, height = (int)h;
    if (pixel_offset >= size) return cimg_fail(err, err_len, "BMP: no pixel data (truncated?)");
    if (cimg_allocate(out, width, height, err, err_len)) return 1;
    if (rle) {
        unsigned char *index = calloc((size_t)width * height, 1);
        if (!index) return cimg_fail(err, err_len, "out of memory for a %dx%d image", width, height);
        if (rle_expand(d, size, pixel_offset, width, height, compression == 2, index)) {
            free(index);
            return cimg_fail(err, err_len, "BMP: truncated RLE data");
        }
        for (int y = 0; y < height; y++) {
            const unsigned char *row = index + (size_t)(top_down ? y : height - 1 - y) * width;
            for (int x = 0; x < width; x++) memcpy(out->rgb + ((size_t)y * width + x) * 3, palette[row[x]], 3);
        }
        free(index);
        return 0;
    }
    const size_t stride = ((size_t)width * bits + 31) / 32 * 4;
    if ((size - pixel_offset) / stride < (size_t)height) return cimg_fail(err, err_len, "BMP: truncated pixel data");
    for (int y = 0; y < height; y++) {
        const unsigned char *row = d + pixel_offset + (size_t)(top_down ? y : height - 1 - y) * stride;
        unsigned char *target = out->rgb + (size_t)y * width * 3;
        for (int x = 0; x < width; x++, target += 3) {
            if (bits <= 8) {
                const int per_byte = 8 / bits, shift = 8 - bits - (x % per_byte) * bits;
                memcpy(target, palette[(row[x / per_byte] >> shift) & ((1 << bits) - 1)], 3);
            } else if (bits == 24) {
                target[0] = row[3 * x + 2], target[1] = row[3 * x + 1], target[2] = row[3 * x];
            } else {
                const uint32_t pixel = bits == 16 ? u16(row + 2 * x) : u32(row + 4 * x);
                for (int i = 0; i < 3; i++) target[i] = field_value(field[i], pixel);
            }
        }
    }
    return 0;
}
