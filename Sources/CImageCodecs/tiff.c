// TIFF through libtiff: libtiff decompresses each strip or tile (and puts 16-bit
// samples in host order, bits in MSB-first order); the samples are then turned into
// RGB here as PIL's TiffImagePlugin does for grey (1–16 bits, either photometric),
// RGB and RGBA (8 or 16 bits, contiguous or planar, alpha associated or not),
// palette (1–8 bits, colormap by its high bytes) and CMYK (8 bits). JPEG-compressed
// YCbCr is read as RGB, as PIL asks libtiff to; any other layout libtiff can read
// goes through its RGBA reader, without a parity claim.
#include "codecs.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>

struct source {
    const unsigned char *data;
    tmsize_t size;
    toff_t offset;
    char message[256];
};

static tmsize_t source_read(thandle_t h, void *buffer, tmsize_t n) {
    struct source *s = h;
    if (s->offset >= (toff_t)s->size) return 0;
    const tmsize_t left = s->size - (tmsize_t)s->offset, count = n < left ? n : left;
    memcpy(buffer, s->data + s->offset, (size_t)count);
    s->offset += (toff_t)count;
    return count;
}
static tmsize_t source_write(thandle_t h, void *buffer, tmsize_t n) {
    (void)h, (void)buffer, (void)n;
    return -1;
}
static toff_t source_seek(thandle_t h, toff_t offset, int whence) {
    struct source *s = h;
    const toff_t base = whence == SEEK_CUR ? s->offset : whence == SEEK_END ? (toff_t)s->size : 0;
    s->offset = base + offset;
    return s->offset;
}
static int source_close(thandle_t h) {
    (void)h;
    return 0;
}
static toff_t source_size(thandle_t h) { return (toff_t)((struct source *)h)->size; }

static int on_error(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap) {
    (void)tif, (void)module;
    struct source *s = user;
    if (!s->message[0]) vsnprintf(s->message, sizeof s->message, fmt, ap);
    return 1;
}
static int on_warning(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap) {
    (void)tif, (void)user, (void)module, (void)fmt, (void)ap;
    return 1;
}

struct layout {
    uint32_t width, height;
    uint16_t bits, channels, photometric, planar, extra_kind;
};

// Every sample of the image, row by row, as uint16 (sub-byte samples unpacked). Each
// strip or tile row starts on a byte boundary.
static uint16_t *read_samples(TIFF *tif, const struct layout *l, char *err, size_t err_len) {
    const size_t per_pixel = l->planar == PLANARCONFIG_SEPARATE ? 1 : l->channels;
    const int planes = l->planar == PLANARCONFIG_SEPARATE ? l->channels : 1;
    uint16_t *samples = malloc((size_t)l->width * l->height * l->channels * sizeof(uint16_t));
    if (!samples) {
        cimg_fail(err, err_len, "out of memory for a %ux%u image", l->width, l->height);
        return NULL;
    }
    const int tiled = TIFFIsTiled(tif);
    uint32_t block_w = l->width, block_h = 0;
    if (tiled) {
        TIFFGetField(tif, TIFFTAG_TILEWIDTH, &block_w);
        TIFFGetField(tif, TIFFTAG_TILELENGTH, &block_h);
    } else {
        TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &block_h);
        if (block_h > l->height) block_h = l->height;
    }
    const tmsize_t block_size = tiled ? TIFFTileSize(tif) : TIFFStripSize(tif);
    if (!block_w || !block_h || block_size <= 0) {
        free(samples);
        cimg_fail(err, err_len, "TIFF: malformed strip or tile layout");
        return NULL;
    }
    const size_t row_bytes = ((size_t)block_w * per_pixel * l->bits + 7) / 8;
    if (row_bytes * block_h > (size_t)block_size) {
        free(samples);
        cimg_fail(err, err_len, "TIFF: strips or tiles smaller than their rows");
        return NULL;
    }
    unsigned char *block = malloc((size_t)block_size);
    if (!block) {
        free(samples);
        cimg_fail(err, err_len, "TIFF: out of memory");
        return NULL;
    }
    for (int plane = 0; plane < planes; plane++)
        for (uint32_t y0 = 0; y0 < l->height; y0 += block_h)
            for (uint32_t x0 = 0; x0 < l->width; x0 += block_w) {
                const tmsize_t got = tiled ? TIFFReadEncodedTile(tif, TIFFComputeTile(tif, x0, y0, 0, (uint16_t)plane), block, block_size)
                                           : TIFFReadEncodedStrip(tif, TIFFComputeStrip(tif, y0, (uint16_t)plane), block, block_size);
                if (got < 0) {
                    free(block);
                    free(samples);
                    cimg_fail(err, err_len, "TIFF: cannot decode a %s (truncated or corrupt)", tiled ? "tile" : "strip");
                    return NULL;
                }
                for (uint32_t by = 0; by < block_h && y0 + by < l->height; by++) {
                    const unsigned char *row = block + by * row_bytes;
                    for (uint32_t bx = 0; bx < block_w && x0 + bx < l->width; bx++)
                        for (size_t c = 0; c < per_pixel; c++) {
                            const size_t i = bx * per_pixel + c;
                            uint16_t v;
                            if (l->bits == 16) v = ((const uint16_t *)row)[i];
                            else if (l->bits == 8) v = row[i];
                            else v = (uint16_t)(row[i * l->bits / 8] >> (8 - l->bits - (i * l->bits) % 8) & ((1u << l->bits) - 1));
                            const size_t pixel = (size_t)(y0 + by) * l->width + x0 + bx;
                            samples[pixel * l->channels + (planes > 1 ? (size_t)plane : c)] = v;
                        }
                }
            }
    free(block);
    return samples;
}

// Anything else libtiff reads, through its RGBA reader.
static int read_rgba(TIFF *tif, uint32_t w, uint32_t h, cimg_image *out, char *err, size_t err_len) {
    char message[1024] = "";
    if (!TIFFRGBAImageOK(tif, message)) return cimg_fail(err, err_len, "TIFF: unsupported layout (%s)", message);
    uint32_t *rgba = malloc((size_t)w * h * 4);
    if (!rgba) return cimg_fail(err, err_len, "out of memory for a %ux%u image", w, h);
    if (!TIFFReadRGBAImageOriented(tif, w, h, rgba, ORIENTATION_TOPLEFT, 0)) {
        free(rgba);
        return cimg_fail(err, err_len, "TIFF: cannot decode the image (truncated or corrupt)");
    }
    if (cimg_allocate(out, (int)w, (int)h, err, err_len)) {
        free(rgba);
        return 1;
    }
    for (size_t i = 0; i < (size_t)w * h; i++) {
        out->rgb[3 * i] = (unsigned char)TIFFGetR(rgba[i]);
        out->rgb[3 * i + 1] = (unsigned char)TIFFGetG(rgba[i]);
        out->rgb[3 * i + 2] = (unsigned char)TIFFGetB(rgba[i]);
    }
    free(rgba);
    return 0;
}

static int convert(TIFF *tif, const struct layout *l, const cimg_options *o, cimg_image *out, char *err, size_t err_len) {
    const int grey = l->photometric == PHOTOMETRIC_MINISBLACK || l->photometric == PHOTOMETRIC_MINISWHITE;
    uint16_t *red = NULL, *green = NULL, *blue = NULL;
    if (l->photometric == PHOTOMETRIC_PALETTE && !TIFFGetField(tif, TIFFTAG_COLORMAP, &red, &green, &blue))
        return cimg_fail(err, err_len, "TIFF: palette image without a colormap");
    uint16_t *samples = read_samples(tif, l, err, err_len);
    if (!samples) return 1;
    if (cimg_allocate(out, (int)l->width, (int)l->height, err, err_len)) {
        free(samples);
        return 1;
    }
    const unsigned top = (1u << l->bits) - 1;
    for (size_t p = 0; p < (size_t)l->width * l->height; p++) {
        const uint16_t *s = samples + p * l->channels;
        unsigned char *rgb = out->rgb + p * 3;
        if (grey) {
            unsigned v;
            if (l->bits == 16) {
                v = cimg_grey16(s[0], o->scale_16bit);  // PIL's I;16, whichever photometric
            } else {
                v = l->bits == 8 ? s[0] : s[0] * 255u / top;
                if (l->photometric == PHOTOMETRIC_MINISWHITE) v = 255 - v;
            }
            memset(rgb, (int)v, 3);
        } else if (l->photometric == PHOTOMETRIC_PALETTE) {
            const unsigned i = s[0];
            rgb[0] = (unsigned char)(red[i] >> 8), rgb[1] = (unsigned char)(green[i] >> 8), rgb[2] = (unsigned char)(blue[i] >> 8);
        } else if (l->photometric == PHOTOMETRIC_SEPARATED) {
            const unsigned char cmyk[4] = {(unsigned char)s[0], (unsigned char)s[1], (unsigned char)s[2], (unsigned char)s[3]};
            cimg_cmyk_to_rgb(cmyk, rgb);
        } else if (l->bits == 16) {
            for (int c = 0; c < 3; c++) rgb[c] = cimg_colour16(s[c], o->scale_16bit);
        } else if (l->extra_kind == EXTRASAMPLE_ASSOCALPHA && l->channels >= 4) {
            // PIL's RGBa: premultiplied colour divided back by alpha, 0 where alpha is 0.
            const unsigned a = s[3];
            for (int c = 0; c < 3; c++) {
                const unsigned v = a == 0 ? 0 : a == 255 ? s[c] : s[c] * 255u / a;
                rgb[c] = (unsigned char)(v > 255 ? 255 : v);
            }
        } else {
            for (int c = 0; c < 3; c++) rgb[c] = (unsigned char)s[c];
        }
    }
    free(samples);
    return 0;
}

int cimg_decode_tiff(const unsigned char *data, size_t size, const cimg_options *o, cimg_image *out, char *err,
                     size_t err_len) {
    struct source source = {data, (tmsize_t)size, 0, ""};
    TIFFOpenOptions *options = TIFFOpenOptionsAlloc();
    if (!options) return cimg_fail(err, err_len, "TIFF: out of memory");
    TIFFOpenOptionsSetErrorHandlerExtR(options, on_error, &source);
    TIFFOpenOptionsSetWarningHandlerExtR(options, on_warning, &source);
    // No single allocation may exceed what the pixel limit allows (16-bit RGBA).
    TIFFOpenOptionsSetMaxSingleMemAlloc(options, (tmsize_t)(o->max_pixels < (1ll << 40) ? o->max_pixels * 8 + (1 << 20) : 0));
    TIFF *tif = TIFFClientOpenExt("image", "rm", &source, source_read, source_write, source_seek, source_close,
                                  source_size, NULL, NULL, options);
    TIFFOpenOptionsFree(options);
    if (!tif) return cimg_fail(err, err_len, "TIFF: %s", source.message[0] ? source.message : "corrupt data");
    struct layout l = {0, 0, 1, 1, 0, PLANARCONFIG_CONTIG, EXTRASAMPLE_UNSPECIFIED};
    uint16_t compression = COMPRESSION_NONE, sample_format = SAMPLEFORMAT_UINT, orientation = ORIENTATION_TOPLEFT;
    TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &l.width);
    TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &l.height);
    TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &l.bits);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &l.channels);
    TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &l.planar);
    TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &compression);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &sample_format);
    TIFFGetFieldDefaulted(tif, TIFFTAG_ORIENTATION, &orientation);
    uint16_t extras = 0, *extra_kinds = NULL;
    if (TIFFGetField(tif, TIFFTAG_EXTRASAMPLES, &extras, &extra_kinds) && extras > 0) l.extra_kind = extra_kinds[0];
    if (!TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &l.photometric))
        l.photometric = l.channels >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK;
    int status;
    if (cimg_check_size(l.width, l.height, o->max_pixels, err, err_len)) {
        status = 1;
    } else {
        if (l.photometric == PHOTOMETRIC_YCBCR && compression == COMPRESSION_JPEG) {
            TIFFSetField(tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
            l.photometric = PHOTOMETRIC_RGB;
        }
        const int grey = l.photometric == PHOTOMETRIC_MINISBLACK || l.photometric == PHOTOMETRIC_MINISWHITE;
        const int ours = sample_format == SAMPLEFORMAT_UINT && l.channels >= 1 && l.channels <= 8 &&
                         ((grey && (l.bits == 1 || l.bits == 2 || l.bits == 4 || l.bits == 8 || l.bits == 16)) ||
                          (l.photometric == PHOTOMETRIC_PALETTE && l.bits <= 8 && (l.bits & (l.bits - 1)) == 0) ||
                          (l.photometric == PHOTOMETRIC_RGB && l.channels >= 3 && (l.bits == 8 || l.bits == 16)) ||
                          (l.photometric == PHOTOMETRIC_SEPARATED && l.channels >= 4 && l.bits == 8));
        status = ours ? convert(tif, &l, o, out, err, err_len) : read_rgba(tif, l.width, l.height, out, err, err_len);
        // libtiff's RGBA reader already turns the image to the top-left orientation it is asked for.
        out->orientation = ours ? orientation : 1;
    }
    TIFFClose(tif);
    return status;
}
