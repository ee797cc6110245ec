// PNG encoding through libpng, into memory: the thumbnails of `ranet predict --report`.
#include "codecs.h"

#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

struct sink {
    unsigned char *data;
    size_t size, capacity;
    int failed;
};

static void sink_write(png_structp png, png_bytep bytes, png_size_t n) {
    struct sink *s = png_get_io_ptr(png);
    if (s->failed) return;
    if (s->size + n > s->capacity) {
        size_t capacity = s->capacity ? s->capacity * 2 : 4096;
        while (capacity < s->size + n) capacity *= 2;
        unsigned char *grown = realloc(s->data, capacity);
        if (!grown) {
            s->failed = 1;
            png_error(png, "out of memory");
        }
        s->data = grown, s->capacity = capacity;
    }
    memcpy(s->data + s->size, bytes, n);
    s->size += n;
}

static void sink_flush(png_structp png) { (void)png; }

int cimg_encode_png(const unsigned char *rgb, int width, int height, unsigned char **out, size_t *size) {
    *out = NULL;
    *size = 0;
    if (width <= 0 || height <= 0) return 1;
    struct sink sink = {NULL, 0, 0, 0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    if (!png) return 1;
    png_infop info = png_create_info_struct(png);
    if (!info || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, info ? &info : NULL);
        free(sink.data);
        return 1;
    }
    png_set_write_fn(png, &sink, sink_write, sink_flush);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < height; y++) png_write_row(png, (png_const_bytep)(rgb + (size_t)y * width * 3));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    *out = sink.data;
    *size = sink.size;
    return 0;
}
