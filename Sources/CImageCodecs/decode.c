// JPEG through libjpeg-turbo, PNG through libpng; both report errors by longjmp.
#include "cimagecodecs.h"

#include <stdio.h>  // before jpeglib.h, which uses FILE

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *err, size_t err_len, const char *fmt, ...) {
    if (err && err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return 1;
}

cimg_format cimg_sniff(const unsigned char *data, size_t size) {
    if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) return CIMG_JPEG;
    static const unsigned char png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    if (size >= 8 && memcmp(data, png_magic, 8) == 0) return CIMG_PNG;
    return CIMG_UNKNOWN;
}

void cimg_free(cimg_image *image) {
    if (!image) return;
    free(image->rgb);
    image->rgb = NULL;
}

static int too_large(long long width, long long height, long long max_pixels, char *err, size_t err_len) {
    if (width <= 0 || height <= 0) return fail(err, err_len, "image has no pixels");
    if (width * height > max_pixels)
        return fail(err, err_len, "image of %lldx%lld pixels exceeds the limit of %lld pixels", width, height, max_pixels);
    return 0;
}

// ---- JPEG ----

struct jpeg_failure {
    struct jpeg_error_mgr base;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
};

static void jpeg_fail_exit(j_common_ptr cinfo) {
    struct jpeg_failure *f = (struct jpeg_failure *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, f->message);
    longjmp(f->jump, 1);
}

// A truncated file is an error (PIL refuses it too); other warnings are not.
static void jpeg_warning(j_common_ptr cinfo, int level) {
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) jpeg_fail_exit(cinfo);
}

static int decode_jpeg(const unsigned char *data, size_t size, long long max_pixels, cimg_image *out,
                       char *err, size_t err_len) {
    struct jpeg_decompress_struct cinfo;
    struct jpeg_failure failure;
    unsigned char *volatile pixels = NULL;
    unsigned char *volatile row = NULL;
    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = jpeg_std_error(&failure.base);
    failure.base.error_exit = jpeg_fail_exit;
    failure.base.emit_message = jpeg_warning;
    failure.message[0] = 0;
    if (setjmp(failure.jump)) {
        free(pixels);
        free(row);
        jpeg_destroy_decompress(&cinfo);
        return fail(err, err_len, "JPEG: %s", failure.message[0] ? failure.message : "corrupt data");
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    if (too_large(cinfo.image_width, cinfo.image_height, max_pixels, err, err_len)) {
        jpeg_destroy_decompress(&cinfo);
        return 1;
    }
    int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_start_decompress(&cinfo);
    const int w = (int)cinfo.output_width, h = (int)cinfo.output_height, comps = cinfo.output_components;
    pixels = malloc((size_t)w * h * 3);
    row = malloc((size_t)w * comps);
    if (!pixels || !row) {
        free(pixels);
        free(row);
        jpeg_destroy_decompress(&cinfo);
        return fail(err, err_len, "out of memory for a %dx%d image", w, h);
    }
    // Adobe writes CMYK inverted; libjpeg reports it through saw_Adobe_marker.
    const int inverted = cinfo.saw_Adobe_marker;
    while (cinfo.output_scanline < (JDIMENSION)h) {
        unsigned char *target = pixels + (size_t)cinfo.output_scanline * w * 3;
        JSAMPROW rows[1] = {cmyk ? row : target};
        jpeg_read_scanlines(&cinfo, rows, 1);
        if (!cmyk) continue;
        for (int x = 0; x < w; x++) {
            int c[4];
            for (int i = 0; i < 4; i++) c[i] = inverted ? 255 - row[x * 4 + i] : row[x * 4 + i];
            const int nk = 255 - c[3];
            for (int i = 0; i < 3; i++) {  // PIL's cmyk2rgb: nk − c·nk/255
                int v = nk - (c[i] * nk + 127) / 255;
                target[x * 3 + i] = (unsigned char)(v < 0 ? 0 : v);
            }
        }
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(row);
    out->width = w;
    out->height = h;
    out->rgb = pixels;
    return 0;
}

// ---- PNG ----

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

static int decode_png(const unsigned char *data, size_t size, long long max_pixels, cimg_image *out,
                      char *err, size_t err_len) {
    char message[256] = "corrupt data";
    struct png_source source = {data, size, 0};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, message, png_fail, png_warn);
    if (!png) return fail(err, err_len, "PNG: out of memory");
    png_infop info = png_create_info_struct(png);
    unsigned char *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    if (!info || setjmp(png_jmpbuf(png))) {
        free(pixels);
        free(rows);
        png_destroy_read_struct(&png, info ? &info : NULL, NULL);
        return fail(err, err_len, "PNG: %s", message);
    }
    png_set_read_fn(png, &source, png_read_memory);
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    if (too_large(w, h, max_pixels, err, err_len)) {
        png_destroy_read_struct(&png, &info, NULL);
        return 1;
    }
    int color = png_get_color_type(png, info);
    png_set_expand(png);  // palette → RGB, grey < 8 bits → 8 bits, tRNS → alpha
    png_set_scale_16(png);
    png_set_strip_alpha(png);
    if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != (size_t)w * 3) png_error(png, "unexpected pixel layout after conversion");
    pixels = malloc((size_t)w * h * 3);
    rows = malloc(sizeof(png_bytep) * h);
    if (!pixels || !rows) png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < h; y++) rows[y] = pixels + (size_t)y * w * 3;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    out->width = (int)w;
    out->height = (int)h;
    out->rgb = pixels;
    return 0;
}

int cimg_decode(const unsigned char *data, size_t size, long long max_pixels, cimg_image *out,
                char *err, size_t err_len) {
    memset(out, 0, sizeof *out);
    if (size == 0) return fail(err, err_len, "empty file");
    switch (cimg_sniff(data, size)) {
    case CIMG_JPEG: return decode_jpeg(data, size, max_pixels, out, err, err_len);
    case CIMG_PNG: return decode_png(data, size, max_pixels, out, err, err_len);
    default: return fail(err, err_len, "not a JPEG or PNG image");
    }
}
