// Format sniffing, dispatch to each format's decoder, EXIF orientation.
#include "codecs.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cimg_fail(char *err, size_t err_len, const char *fmt, ...) {
    if (err && err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
        // One line, whatever a library's message holds.
        size_t n = strlen(err);
        for (size_t i = 0; i < n; i++)
            if (err[i] == '\n' || err[i] == '\r' || err[i] == '\t') err[i] = ' ';
        while (n > 0 && err[n - 1] == ' ') err[--n] = 0;
    }
    return 1;
}

int cimg_check_size(long long width, long long height, long long max_pixels, char *err, size_t err_len) {
    if (width <= 0 || height <= 0) return cimg_fail(err, err_len, "image has no pixels");
    if (width > (1 << 30) || height > (1 << 30) || width * height > max_pixels)
        return cimg_fail(err, err_len, "image of %lldx%lld pixels exceeds the limit of %lld pixels", width, height, max_pixels);
    return 0;
}

int cimg_allocate(cimg_image *out, int width, int height, char *err, size_t err_len) {
    out->rgb = malloc((size_t)width * height * 3);
    if (!out->rgb) return cimg_fail(err, err_len, "out of memory for a %dx%d image", width, height);
    out->width = width;
    out->height = height;
    return 0;
}

// ISO base media files (HEIF, AVIF) start with an `ftyp` box naming their brands.
static int is_heif(const unsigned char *d, size_t size) {
    if (size < 16 || memcmp(d + 4, "ftyp", 4) != 0) return 0;
    static const char *const brands[] = {"heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1", "avif", "avis"};
    for (size_t i = 0; i < sizeof brands / sizeof brands[0]; i++)
        if (memcmp(d + 8, brands[i], 4) == 0) return 1;
    return 0;
}

cimg_format cimg_sniff(const unsigned char *d, size_t size) {
    if (!d) return CIMG_UNKNOWN;
    if (size >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) return CIMG_JPEG;
    static const unsigned char png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    if (size >= 8 && memcmp(d, png_magic, 8) == 0) return CIMG_PNG;
    if (size >= 12 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WEBP", 4) == 0) return CIMG_WEBP;
    if (size >= 4 && (memcmp(d, "II*\0", 4) == 0 || memcmp(d, "MM\0*", 4) == 0 || memcmp(d, "II+\0", 4) == 0 ||
                      memcmp(d, "MM\0+", 4) == 0))
        return CIMG_TIFF;
    if (size >= 14 && d[0] == 'B' && d[1] == 'M') return CIMG_BMP;
    if (size >= 3 && d[0] == 'P' && d[1] >= '1' && d[1] <= '6' &&
        (d[2] == ' ' || d[2] == '\t' || d[2] == '\n' || d[2] == '\r' || d[2] == '\f' || d[2] == '\v' || d[2] == '#'))
        return CIMG_PNM;
    if (is_heif(d, size)) return CIMG_HEIF;
    return CIMG_UNKNOWN;
}

const char *cimg_format_name(cimg_format format) {
    switch (format) {
    case CIMG_JPEG: return "JPEG";
    case CIMG_PNG: return "PNG";
    case CIMG_WEBP: return "WebP";
    case CIMG_TIFF: return "TIFF";
    case CIMG_BMP: return "BMP";
    case CIMG_PNM: return "PNM";
    case CIMG_HEIF: return "HEIF";
    default: return "unknown";
    }
}

void cimg_free(cimg_image *image) {
    if (!image) return;
    free(image->rgb);
    image->rgb = NULL;
}

int cimg_decode(const unsigned char *data, size_t size, const cimg_options *options, cimg_image *out, char *err,
                size_t err_len) {
    memset(out, 0, sizeof *out);
    out->orientation = 1;
    out->scale_denominator = 1;
    if (size == 0) return cimg_fail(err, err_len, "empty file");
    const cimg_options defaults = {100000000, 0, 0};
    const cimg_options *o = options ? options : &defaults;
    const cimg_format format = cimg_sniff(data, size);
    int status;
    switch (format) {
    case CIMG_JPEG: status = cimg_decode_jpeg(data, size, o, out, err, err_len); break;
    case CIMG_PNG: status = cimg_decode_png(data, size, o, out, err, err_len); break;
    case CIMG_WEBP: status = cimg_decode_webp(data, size, o, out, err, err_len); break;
    case CIMG_TIFF: status = cimg_decode_tiff(data, size, o, out, err, err_len); break;
    case CIMG_BMP: status = cimg_decode_bmp(data, size, o, out, err, err_len); break;
    case CIMG_PNM: status = cimg_decode_pnm(data, size, o, out, err, err_len); break;
    case CIMG_HEIF: status = cimg_decode_heif(data, size, o, out, err, err_len); break;
    default: return cimg_fail(err, err_len, "not an image (JPEG, PNG, WebP, TIFF, BMP, PNM, HEIF or AVIF)");
    }
    if (status) {
        cimg_free(out);
        return status;
    }
    out->format = format;
    if (out->orientation < 1 || out->orientation > 8) out->orientation = 1;
    return 0;
}

// ---- EXIF ----

static unsigned read16(const unsigned char *p, int big) { return big ? (unsigned)p[0] << 8 | p[1] : (unsigned)p[1] << 8 | p[0]; }
static uint32_t read32(const unsigned char *p, int big) {
    return big ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
               : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

int cimg_exif_orientation(const unsigned char *t, size_t size) {
    if (!t || size < 8) return 1;
    int big;
    if (t[0] == 'I' && t[1] == 'I') big = 0;
    else if (t[0] == 'M' && t[1] == 'M') big = 1;
    else return 1;
    if (read16(t + 2, big) != 42) return 1;
    const uint32_t ifd = read32(t + 4, big);
    if (ifd > size - 2) return 1;
    const unsigned entries = read16(t + ifd, big);
    for (unsigned i = 0; i < entries; i++) {
        const size_t e = (size_t)ifd + 2 + (size_t)i * 12;
        if (e + 12 > size) return 1;
        if (read16(t + e, big) == 0x0112 && read16(t + e + 2, big) == 3) {  // Orientation, SHORT
            const unsigned v = read16(t + e + 8, big);
            return v >= 1 && v <= 8 ? (int)v : 1;
        }
    }
    return 1;
}

// Orientation n maps the stored pixel (x, y) of a w×h image to its place in the
// upright image: 2 mirrors, 3 turns 180°, 4 flips, 5 transposes, 6 turns 90°
// clockwise, 7 transverses, 8 turns 90° counter-clockwise.
int cimg_apply_orientation(cimg_image *image) {
    const int n = image->orientation, w = image->width, h = image->height;
    if (n <= 1 || n > 8) {
        image->orientation = 1;
        return 0;
    }
    const int swap = n >= 5, ow = swap ? h : w, oh = swap ? w : h;
    unsigned char *out = malloc((size_t)w * h * 3);
    if (!out) return 1;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int ox, oy;
            switch (n) {
            case 2: ox = w - 1 - x, oy = y; break;
            case 3: ox = w - 1 - x, oy = h - 1 - y; break;
            case 4: ox = x, oy = h - 1 - y; break;
            case 5: ox = y, oy = x; break;
            case 6: ox = h - 1 - y, oy = x; break;
            case 7: ox = h - 1 - y, oy = w - 1 - x; break;
            default: ox = y, oy = w - 1 - x; break;  // 8
            }
            memcpy(out + ((size_t)oy * ow + ox) * 3, image->rgb + ((size_t)y * w + x) * 3, 3);
        }
    free(image->rgb);
    image->rgb = out;
    image->width = ow;
    image->height = oh;
    image->orientation = 1;
    return 0;
}
