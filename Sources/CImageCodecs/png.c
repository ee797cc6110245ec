// PNG through libpng, which reports errors by longjmp.
#include "codecs.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct png_source {
    const unsigned char *data;
    size_t size;
    size_t offset;
};

static void png_read_memory(png_structp png, png_bytep target, png_size_t length) {
    struct png_source *src = png_get_io_ptr(png);
    if (length > src->size - src->offset) png_error(png, "unexpected end of data (truncated?)");
    memcpy(target, src->data + src->offset, length);
    src->offset += length;
}

static void png_fail(png_structp png, png_const_charp message) {
    char *buffer = png_get_error_ptr(png);
    snprintf(buffer, 256, "%s", message);
    png_longjmp(png, 1);
}

static void png_warn(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;
}

// 16-bit samples are read as they are and reduced here (codecs.h): PIL clips 16-bit
// grey and keeps the high byte of everything else, which no libpng transform does.
int cimg_decode_png(const unsigned char *data, size_t size, const cimg_options *o, cimg_image *out, char *err,
                    size_t err_len) {
    char message[256] = "corrupt data";
    struct png_source source = {data, size, 0};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, message, png_fail, png_warn);
    if (!png) return cimg_fail(err, err_len, "PNG: out of memory");
    png_infop info = png_create_info_struct(png);
    unsigned char *volatile samples = NULL;
    png_bytep *volatile rows = NULL;
    if (!info || setjmp(png_jmpbuf(png))) {
        free(samples);
        free(rows);
        png_destroy_read_struct(&png, info ? &info : NULL, NULL);
        return cimg_fail(err, err_len, "PNG: %s", message);
    }
    png_set_read_fn(png, &source, png_read_memory);
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_read_info(png, info);
    const png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    if (cimg_check_size(w, h, o->max_pixels, err, err_len)) {
        png_destroy_read_struct(&png, &info, NULL);
        return 1;
    }
    const int color = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
    const int grey = color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA;
    png_set_expand(png);  // palette → RGB, grey < 8 bits → 8 bits, tRNS → alpha
    png_set_strip_alpha(png);
    if (grey) png_set_gray_to_rgb(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    const size_t bytes = depth == 16 ? 6 : 3;
    if (png_get_rowbytes(png, info) != (size_t)w * bytes) png_error(png, "unexpected pixel layout after conversion");
    samples = malloc((size_t)w * h * bytes);
    rows = malloc(sizeof(png_bytep) * h);
    if (!samples || !rows) png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < h; y++) rows[y] = samples + (size_t)y * w * bytes;
    png_read_image(png, rows);
    png_read_end(png, info);
    png_bytep exif = NULL;
    png_uint_32 exif_size = 0;
    if (png_get_eXIf_1(png, info, &exif_size, &exif) && exif) out->orientation = cimg_exif_orientation(exif, exif_size);
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    if (depth != 16) {
        out->width = (int)w;
        out->height = (int)h;
        out->rgb = samples;
        return 0;
    }
    if (cimg_allocate(out, (int)w, (int)h, err, err_len)) {
        free(samples);
        return 1;
    }
    // PIL opens 16-bit grey as I;16, and 16-bit grey+alpha, RGB and RGBA by their high bytes.
    const int clip = color == PNG_COLOR_TYPE_GRAY;
    for (size_t i = 0; i < (size_t)w * h * 3; i++) {
        const unsigned v = (unsigned)samples[2 * i] << 8 | samples[2 * i + 1];
        out->rgb[i] = clip ? cimg_grey16(v, o->scale_16bit) : cimg_colour16(v, o->scale_16bit);
    }
    free(samples);
    return 0;
}
