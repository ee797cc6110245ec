// Image decoding through Debian's codec libraries (libjpeg-turbo, libpng, libwebp,
// libtiff, libheif) and decoders of our own for BMP and PBM/PGM/PPM, to 8-bit RGB as
// PIL's `Image.open(...).convert('RGB')` gives it: grey replicated, palettes
// expanded, alpha dropped (not composited), CMYK converted, and 16-bit samples as PIL
// reduces them (grey clipped at 255, colour and grey+alpha by their high byte) unless
// the caller asks for them scaled.
//
// Call sequence: cimg_sniff on the first bytes (is this an image at all?), then
// cimg_decode with cimg_options, cimg_apply_orientation when the caller wants the EXIF
// orientation applied, and cimg_free. cimg_encode_png writes PNG (for thumbnails).
#ifndef CIMAGECODECS_H
#define CIMAGECODECS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    CIMG_UNKNOWN = 0,
    CIMG_JPEG = 1,
    CIMG_PNG = 2,
    CIMG_WEBP = 3,
    CIMG_TIFF = 4,
    CIMG_BMP = 5,
    CIMG_PNM = 6,   // PBM, PGM, PPM (P1–P6)
    CIMG_HEIF = 7,  // HEIC and AVIF, through libheif
} cimg_format;

/// How to decode.
typedef struct {
    /// Images of more pixels are refused before any pixel memory is allocated.
    long long max_pixels;
    /// 0: 16-bit samples as PIL reduces them; 1: scaled, round(v · 255 / 65535).
    int scale_16bit;
    /// 0: decode at full size. n > 0: a JPEG may decode at 1/2, 1/4 or 1/8 of its size
    /// (libjpeg-turbo's DCT scaling) as long as its shorter side stays at least n, as
    /// PIL's draft() would for a resize to n.
    int min_shorter_side;
} cimg_options;

/// A decoded image: width × height pixels of interleaved R, G, B bytes.
typedef struct {
    int width;
    int height;
    unsigned char *rgb;
    /// The EXIF orientation the file records (1–8; 1 when it records none). Not applied.
    int orientation;
    /// The format decoded.
    cimg_format format;
    /// The DCT scale denominator a JPEG was decoded at (1, 2, 4 or 8; 1 for other formats).
    int scale_denominator;
} cimg_image;

/// The format of encoded data, judged from its first bytes (at least 16 for every
/// format; not from a file name).
cimg_format cimg_sniff(const unsigned char *data, size_t size);

/// A format's name, such as "JPEG" or "WebP".
const char *cimg_format_name(cimg_format format);

/// Decodes an image of any sniffed format. Returns 0 on success; otherwise writes a
/// one-line reason into `err`. Free the result with cimg_free.
int cimg_decode(const unsigned char *data, size_t size, const cimg_options *options, cimg_image *out,
                char *err, size_t err_len);

/// Rotates and flips a decoded image as its EXIF orientation says, so that it stands
/// as a viewer shows it; sets its orientation to 1. Returns 0, or 1 when out of memory.
int cimg_apply_orientation(cimg_image *image);

void cimg_free(cimg_image *image);

/// Encodes width × height RGB pixels as a PNG into a buffer the caller frees with free().
/// Returns 0, or 1 on bad sizes or when out of memory.
int cimg_encode_png(const unsigned char *rgb, int width, int height, unsigned char **out, size_t *size);

#ifdef __cplusplus
}
#endif

#endif
