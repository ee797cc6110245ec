// What the decoders of each format share (not part of the module's interface).
#ifndef CIMG_CODECS_H
#define CIMG_CODECS_H

#include "cimagecodecs.h"

#include <stddef.h>
#include <stdint.h>

/// Writes a one-line reason into err and returns 1.
int cimg_fail(char *err, size_t err_len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/// Refuses sizes without pixels or above the limit (returns 1 with a reason).
int cimg_check_size(long long width, long long height, long long max_pixels, char *err, size_t err_len);
/// Allocates width × height × 3 bytes for out->rgb and sets its size (returns 1 with a reason).
int cimg_allocate(cimg_image *out, int width, int height, char *err, size_t err_len);

/// The orientation tag (1–8) of a TIFF-structured EXIF block (from its byte-order
/// mark), or 1 when it has none or is malformed.
int cimg_exif_orientation(const unsigned char *tiff, size_t size);

/// PIL's reductions of 16-bit samples to 8 bits: grey (mode I;16) clips at 255, every
/// other kind keeps the high byte; with `scale` both round v · 255 / 65535.
static inline unsigned char cimg_grey16(unsigned v, int scale) {
    return scale ? (unsigned char)((v * 255u + 32767u) / 65535u) : (unsigned char)(v > 255 ? 255 : v);
}
static inline unsigned char cimg_colour16(unsigned v, int scale) {
    return scale ? (unsigned char)((v * 255u + 32767u) / 65535u) : (unsigned char)(v >> 8);
}

/// PIL's cmyk2rgb for one pixel: each channel nk − c·nk/255, rounded.
static inline void cimg_cmyk_to_rgb(const unsigned char *cmyk, unsigned char *rgb) {
    const int nk = 255 - cmyk[3];
    for (int i = 0; i < 3; i++) {
        int v = nk - (cmyk[i] * nk + 127) / 255;
        rgb[i] = (unsigned char)(v < 0 ? 0 : v);
    }
}

int cimg_decode_jpeg(const unsigned char *data, size_t size, const cimg_options *o, cimg_image *out, char *err, size_t err_len);
int cimg_decode_png(const unsigned char *data, size_t size, const cimg_options *o, cimg_image *out, char *err, size_t err_len);
int cimg_decode_webp(const unsigned char *data, size_t size, const cimg_options *o, cimg_image *out, char *err, size_t err_len);
int cimg_decode_tiff(const unsigned char *data, size_t size, const cimg_options *o, cimg_image *out, char *err, size_t err_len);
int cimg_decode_bmp(const unsigned char *data, size_t size, const cimg_options *o, cimg_image *out, char *err, size_t err_len);
int cimg_decode_pnm(const unsigned char *data, size_t size, const cimg_options *o, cimg_image *out, char *err, size_t err_len);
int cimg_decode_heif(const unsigned char *data, size_t size, const cimg_options *o, cimg_image *out, char *err, size_t err_len);

#endif
