// Image decoding through Debian's libjpeg-turbo and libpng, to 8-bit RGB as PIL's
// convert('RGB') gives it: grey replicated, palettes expanded, alpha dropped (not
// composited), 16-bit samples scaled to 8 bits, CMYK converted.
#ifndef CIMAGECODECS_H
#define CIMAGECODECS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { CIMG_UNKNOWN = 0, CIMG_JPEG = 1, CIMG_PNG = 2 } cimg_format;

/// A decoded image: width × height pixels of interleaved R, G, B bytes.
typedef struct {
    int width;
    int height;
    unsigned char *rgb;
} cimg_image;

/// The format of encoded data, judged from its first bytes (not from a file name).
cimg_format cimg_sniff(const unsigned char *data, size_t size);

/// Decodes JPEG or PNG data. Images of more than `max_pixels` pixels are refused before
/// any pixel memory is allocated. Returns 0 on success; otherwise writes a one-line
/// reason into `err`. Free the result with cimg_free.
int cimg_decode(const unsigned char *data, size_t size, long long max_pixels, cimg_image *out,
                char *err, size_t err_len);

void cimg_free(cimg_image *image);

#ifdef __cplusplus
}
#endif

#endif
